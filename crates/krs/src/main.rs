//! The krs binary. `krs server` runs a whole cluster in one process: the API server on the
//! embedded store (or etcd), the scheduler, the controller manager and a node agent, the last
//! three talking to the API server in-process. `krs scheduler`, `krs controller-manager` and
//! `krs agent` run one component against a remote API server, from a kubeconfig.

mod components;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// With the `mimalloc` feature (the default): mimalloc rather than glibc's malloc. The API
/// server's request path allocates and frees many small objects across threads, where glibc's
/// arenas cost about a third of the server's CPU.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// krs: Kubernetes, written in Rust.
#[derive(Parser)]
#[command(name = "krs", version, about = "krs: Kubernetes, written in Rust", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a cluster: the API server on the embedded store (or etcd), the scheduler, the
    /// controller manager and a node agent (containerd when installed).
    Server(ServerArgs),
    /// Run the scheduler against the API server of a kubeconfig.
    Scheduler(components::SchedulerArgs),
    /// Run the controller manager against the API server of a kubeconfig.
    ControllerManager(components::ControllerManagerArgs),
    /// Run a node agent (kubelet) against the API server of a kubeconfig.
    Agent(components::AgentArgs),
}

#[derive(Args)]
struct ServerArgs {
    /// Directory of the cluster's state: database, PKI, the admin kubeconfig and the node
    /// agent's files [default: /var/lib/krs as root, else ~/.local/share/krs]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// The IP address to listen on (0.0.0.0 for all interfaces).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    bind_address: IpAddr,

    /// The port to serve HTTPS on.
    #[arg(long, value_name = "PORT", default_value_t = 6443)]
    secure_port: u16,

    /// Use these etcd v3 servers (comma-separated URLs) instead of the embedded store. The
    /// scheduler and controller manager then elect leaders, so several servers can share etcd.
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

    /// Admission plugins to turn off (comma-separated); only Priority and ServiceAccount can be,
    /// as upstream's scheduler benchmarks do (pods give priorities directly and mount no token).
    #[arg(long, value_name = "PLUGINS", value_delimiter = ',', value_parser = optional_admission_plugin)]
    disable_admission_plugins: Vec<String>,

    /// Admission plugins to turn on besides the default ones (comma-separated):
    /// DenyServiceExternalIPs; default plugins may be named too.
    #[arg(long, value_name = "PLUGINS", value_delimiter = ',', value_parser = known_admission_plugin)]
    enable_admission_plugins: Vec<String>,

    /// Metrics to leave out of the API server's /metrics (comma-separated names).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    disabled_metrics: Vec<String>,

    /// Do not run the scheduler in this process.
    #[arg(long)]
    no_scheduler: bool,

    /// Do not run the controller manager in this process.
    #[arg(long)]
    no_controller_manager: bool,

    /// Do not run a node agent in this process.
    #[arg(long)]
    no_agent: bool,

    /// Run this many simulated nodes (pods without containers) instead of a node agent on
    /// containerd.
    #[arg(long, value_name = "N", default_value_t = 0)]
    sim_nodes: usize,

    #[command(flatten)]
    node: components::NodeArgs,

    /// Log filter, as RUST_LOG (e.g. "info", "krs::request=debug").
    #[arg(long, value_name = "FILTER", default_value = "info")]
    log_level: String,

    /// The Linux scheduling policy of this process's threads.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = components::CpuScheduling::Batch)]
    cpu_scheduling: components::CpuScheduling,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_level = match &cli.command {
        Command::Server(a) => a.log_level.clone(),
        Command::Scheduler(a) => a.common.log_level.clone(),
        Command::ControllerManager(a) => a.common.log_level.clone(),
        Command::Agent(a) => a.common.log_level.clone(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&log_level));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    // Before the runtime starts a thread: every thread of the process inherits the policy.
    let cpu_scheduling = match &cli.command {
        Command::Server(a) => a.cpu_scheduling,
        Command::Scheduler(a) => a.common.cpu_scheduling,
        Command::ControllerManager(a) => a.common.cpu_scheduling,
        Command::Agent(a) => a.common.cpu_scheduling,
    };
    if let Err(e) = cpu_scheduling.apply() {
        tracing::warn!(error = %e, "cannot set the CPU scheduling policy; the kernel's default applies");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("krs: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Server(args) => server(args).await,
            Command::Scheduler(args) => components::scheduler(args, wait_for_signal()).await,
            Command::ControllerManager(args) => components::controller_manager(args, wait_for_signal()).await,
            Command::Agent(args) => components::agent(args, wait_for_signal()).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("krs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn optional_admission_plugin(name: &str) -> Result<String, String> {
    if krs_apiserver::admission::OPTIONAL_PLUGINS.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{name} cannot be disabled (admission plugins that can: {})",
            krs_apiserver::admission::OPTIONAL_PLUGINS.join(", ")
        ))
    }
}

fn known_admission_plugin(name: &str) -> Result<String, String> {
    use krs_apiserver::admission::{DEFAULT_PLUGINS, OFF_BY_DEFAULT_PLUGINS};
    if DEFAULT_PLUGINS.contains(&name) || OFF_BY_DEFAULT_PLUGINS.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "plugin {name:?} is unknown (admission plugins: {})",
            DEFAULT_PLUGINS.iter().chain(OFF_BY_DEFAULT_PLUGINS).copied().collect::<Vec<_>>().join(", ")
        ))
    }
}

async fn server(args: ServerArgs) -> Result<(), String> {
    let run_controllers = !args.no_controller_manager;
    let mut config = krs_apiserver::Config {
        bind_address: args.bind_address,
        secure_port: args.secure_port,
        etcd_servers: args.etcd_servers.clone(),
        tls_san: args.tls_san,
        compaction_interval: Duration::from_secs(args.etcd_compaction_interval),
        compaction_retention: Duration::from_secs(args.compaction_retention),
        service_cluster_ip_range: args.service_cluster_ip_range,
        service_node_port_range: args.service_node_port_range,
        // The controller manager's namespace controller does this job when it runs here.
        namespace_deleter: !run_controllers,
        disable_admission_plugins: args.disable_admission_plugins,
        enable_admission_plugins: args.enable_admission_plugins,
        disabled_metrics: args.disabled_metrics,
        ..Default::default()
    };
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    let data_dir = config.data_dir.clone();
    let server = krs_apiserver::Server::start(config).await.map_err(|e| e.to_string())?;
    println!("krs: serving on https://{}", server.addr);
    println!("krs: admin kubeconfig: {}", server.kubeconfig_path.display());

    // Several servers on one etcd elect one scheduler and one controller manager; a lone
    // server on its embedded store has nobody to elect against.
    let leader_elect = !args.etcd_servers.is_empty();
    let mut running = components::Running::default();
    if !args.no_scheduler {
        running.start_scheduler(&server, leader_elect);
    }
    if run_controllers {
        running.start_controller_manager(&server, leader_elect);
    }
    if args.sim_nodes > 0 {
        running.start_sim_nodes(&server, args.sim_nodes);
    } else if !args.no_agent {
        running.start_agent(&server, &data_dir, &args.node).map_err(|e| format!("node agent: {e}"))?;
    }

    wait_for_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    server.shutdown().await;
    Ok(())
}

/// Waits for SIGTERM or SIGINT.
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers the process still runs; it stops when killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
