//! The krs binary: `krs server` runs a cluster (for now its API server) on the embedded store
//! or on etcd.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// krs: Kubernetes, written in Rust.
#[derive(Parser)]
#[command(name = "krs", version, about = "krs: Kubernetes, written in Rust", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a cluster: the Kubernetes API server on the embedded store (or etcd).
    Server(ServerArgs),
}

#[derive(Args)]
struct ServerArgs {
    /// Directory of the cluster's state: database, PKI and the admin kubeconfig
    /// [default: /var/lib/krs as root, else ~/.local/share/krs]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// The IP address to listen on (0.0.0.0 for all interfaces).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    bind_address: IpAddr,

    /// The port to serve HTTPS on.
    #[arg(long, value_name = "PORT", default_value_t = 6443)]
    secure_port: u16,

    /// Use these etcd v3 servers (comma-separated URLs) instead of the embedded store.
    #[arg(long, value_name = "URLS", value_delimiter = ',')]
    etcd_servers: Vec<String>,

    /// Extra subject alternative names (DNS names or IPs) for the serving certificate.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    tls_san: Vec<String>,

    /// How often the embedded store compacts its history, in seconds (0 disables).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    etcd_compaction_interval: u64,

    /// How much history (in seconds) the embedded store keeps when it compacts.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    compaction_retention: u64,

    /// Service cluster IP range(s): one CIDR, or an IPv4 and an IPv6 CIDR separated by a comma.
    #[arg(long, value_name = "CIDRS", default_value = "10.43.0.0/16")]
    service_cluster_ip_range: String,

    /// The port range of NodePort services.
    #[arg(long, value_name = "RANGE", default_value = "30000-32767")]
    service_node_port_range: String,

    /// Log filter, as RUST_LOG (e.g. "info", "krs::request=debug").
    #[arg(long, value_name = "FILTER", default_value = "info")]
    log_level: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => server(args),
    }
}

fn server(args: ServerArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&args.log_level));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("krs: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = krs_apiserver::Config {
        bind_address: args.bind_address,
        secure_port: args.secure_port,
        etcd_servers: args.etcd_servers,
        tls_san: args.tls_san,
        compaction_interval: Duration::from_secs(args.etcd_compaction_interval),
        compaction_retention: Duration::from_secs(args.compaction_retention),
        service_cluster_ip_range: args.service_cluster_ip_range,
        service_node_port_range: args.service_node_port_range,
        ..Default::default()
    };
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    runtime.block_on(async move {
        let server = match krs_apiserver::Server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("krs: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("krs: serving on https://{}", server.addr);
        println!("krs: admin kubeconfig: {}", server.kubeconfig_path.display());
        wait_for_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Waits for SIGTERM or SIGINT.
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers the server still serves; it stops when killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
