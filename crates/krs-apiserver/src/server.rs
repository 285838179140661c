//! Starting and stopping the API server: PKI, store, catalog, bootstrap objects, the admin
//! kubeconfig, and the HTTPS listener.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use krs_api::Catalog;
use krs_store::Store;
use krs_store::embedded::{EmbeddedOptions, EmbeddedStore};
use krs_store::etcd::{EtcdOptions, EtcdStore};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::allocators::cidr::Cidr;
use crate::allocators::{NodePortAllocator, ServiceAllocations, ServiceIpAllocator};
use crate::auth::{MastersOnly, SYSTEM_MASTERS, UserInfo};
use crate::handler::App;
use crate::pki::Pki;
use crate::registry::{self, WriteContext};
use crate::tokens::{DEFAULT_ISSUER, TokenIssuer};

/// What `krs server` is told on its command line (upstream's flag names where they exist).
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the database, the PKI and the admin kubeconfig live.
    pub data_dir: PathBuf,
    pub bind_address: IpAddr,
    pub secure_port: u16,
    /// etcd endpoints; empty means the embedded store in the data dir.
    pub etcd_servers: Vec<String>,
    /// Extra names and addresses for the serving certificate.
    pub tls_san: Vec<String>,
    /// How often the embedded store compacts its history (upstream's
    /// --etcd-compaction-interval). Zero disables it.
    pub compaction_interval: Duration,
    /// How much history the embedded store keeps at compaction.
    pub compaction_retention: Duration,
    /// How long shutdown waits for open requests.
    pub shutdown_grace: Duration,
    /// Service cluster IP ranges, one per IP family, primary first (upstream's
    /// --service-cluster-ip-range).
    pub service_cluster_ip_range: String,
    /// Node port range (upstream's --service-node-port-range).
    pub service_node_port_range: String,
    /// Run the API server's own namespace deleter (empties and removes terminating
    /// namespaces). Off when a controller manager, whose namespace controller does the same,
    /// runs beside it.
    pub namespace_deleter: bool,
    /// Admission plugins turned off (upstream's --disable-admission-plugins); only those in
    /// [`crate::admission::OPTIONAL_PLUGINS`] can be.
    pub disable_admission_plugins: Vec<String>,
    /// Admission plugins turned on beside the default ones (upstream's
    /// --enable-admission-plugins): those in [`crate::admission::OFF_BY_DEFAULT_PLUGINS`].
    pub enable_admission_plugins: Vec<String>,
    /// Metrics left out of /metrics (upstream's --disabled-metrics).
    pub disabled_metrics: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: default_data_dir(),
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            secure_port: 6443,
            etcd_servers: Vec::new(),
            tls_san: Vec::new(),
            compaction_interval: Duration::from_secs(300),
            compaction_retention: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(5),
            service_cluster_ip_range: "10.43.0.0/16".into(),
            service_node_port_range: "30000-32767".into(),
            namespace_deleter: true,
            disable_admission_plugins: Vec::new(),
            enable_admission_plugins: Vec::new(),
            disabled_metrics: Vec::new(),
        }
    }
}

/// /var/lib/krs as root, else ~/.local/share/krs.
pub fn default_data_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from("/var/lib/krs");
    }
    match std::env::var_os("HOME") {
        Some(home) => Path::new(&home).join(".local/share/krs"),
        None => PathBuf::from("/var/lib/krs"),
    }
}

fn is_root() -> bool {
    // /proc/self/status carries the effective uid without any FFI.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    #[error(transparent)]
    Tls(#[from] crate::serve::TlsError),
    #[error("store: {0}")]
    Store(#[from] krs_store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("bootstrap: {0}")]
    Bootstrap(String),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A running API server.
pub struct Server {
    pub app: Arc<App>,
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    pub kubeconfig_path: PathBuf,
    pub pki: Pki,
    shutdown: watch::Sender<bool>,
    serving: JoinHandle<()>,
    /// Loops that run beside serving (the namespace deleter).
    background: Vec<JoinHandle<()>>,
}

/// The namespaces every cluster has from its first start.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

impl Server {
    /// Starts serving. Returns once the server accepts requests and bootstrap is done.
    pub async fn start(config: Config) -> Result<Server, ServerError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| ServerError::DataDir { path: config.data_dir.clone(), source })?;
        let mut sans = vec!["127.0.0.1".to_string(), "localhost".to_string(), "::1".to_string()];
        if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            let h = h.trim();
            if !h.is_empty() {
                sans.push(h.to_string());
            }
        }
        if !config.bind_address.is_unspecified() {
            sans.push(config.bind_address.to_string());
        }
        sans.extend(config.tls_san.iter().cloned());
        sans.sort();
        sans.dedup();
        let service_cidrs = config
            .service_cluster_ip_range
            .split(',')
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ServerError::Config(format!("--service-cluster-ip-range: {e}")))?;
        if service_cidrs.is_empty()
            || service_cidrs.len() > 2
            || (service_cidrs.len() == 2 && service_cidrs[0].is_ipv4() == service_cidrs[1].is_ipv4())
        {
            return Err(ServerError::Config(
                "--service-cluster-ip-range: one CIDR, or one IPv4 and one IPv6 CIDR".into(),
            ));
        }
        let node_ports = NodePortAllocator::parse(&config.service_node_port_range)
            .map_err(|e| ServerError::Config(format!("--service-node-port-range: {e}")))?;
        let pki = Pki::load_or_create(&config.data_dir.join("pki"), &sans)?;
        let tls = crate::serve::tls_config(&pki)?;

        let store: Arc<dyn Store> = if config.etcd_servers.is_empty() {
            let db_dir = config.data_dir.join("db");
            std::fs::create_dir_all(&db_dir).map_err(|source| ServerError::DataDir { path: db_dir.clone(), source })?;
            let options = EmbeddedOptions {
                compaction_interval: (!config.compaction_interval.is_zero()).then_some(config.compaction_interval),
                compaction_retention: config.compaction_retention,
                ..Default::default()
            };
            let path = db_dir.join("state.db");
            Arc::new(
                tokio::task::spawn_blocking(move || EmbeddedStore::open(path, options))
                    .await
                    .map_err(|e| ServerError::Bootstrap(format!("opening the store: {e}")))??,
            )
        } else {
            Arc::new(EtcdStore::connect(&config.etcd_servers, EtcdOptions::default()).await?)
        };

        let addr = SocketAddr::new(config.bind_address, config.secure_port);
        let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Listen { addr, source })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Listen { addr, source })?;
        let client_host =
            if config.bind_address.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { config.bind_address };
        let client_addr = SocketAddr::new(client_host, addr.port());

        let catalog = Arc::new(Catalog::builtin());
        let allocations =
            Arc::new(ServiceAllocations { ips: ServiceIpAllocator::new(service_cidrs.clone()), ports: node_ports });
        let (kubelet_cert, kubelet_key) =
            pki.issue_client_cert("kube-apiserver-kubelet-client", &["system:masters"])?;
        let kubelet =
            crate::proxy::KubeletClient::new(&pki.ca_cert, &kubelet_cert, &kubelet_key).map_err(ServerError::Config)?;
        let sa_key = pki.service_account_key_der()?;
        let tokens = TokenIssuer::new(&sa_key, DEFAULT_ISSUER, vec![DEFAULT_ISSUER.to_string()])
            .map_err(|e| ServerError::Config(e.to_string()))?;
        let app = Arc::new(
            App::new(catalog, store, Box::new(MastersOnly), client_addr.to_string())
                .with_hooks("services", allocations)
                .with_tokens(Arc::new(tokens))
                .with_kubelet_client(kubelet)
                .without_admission_plugins(&config.disable_admission_plugins)
                .with_admission_plugins(&config.enable_admission_plugins)
                .with_disabled_metrics(&config.disabled_metrics),
        );
        let (shutdown, shutdown_rx) = watch::channel(false);
        let serving = tokio::spawn(crate::serve::serve(listener, tls, app.clone(), shutdown_rx, config.shutdown_grace));

        bootstrap(&app, &service_cidrs, client_addr).await?;
        let kubeconfig_path = config.data_dir.join("kubeconfig.yaml");
        write_private(&kubeconfig_path, &pki.admin_kubeconfig(&format!("https://{client_addr}")))
            .map_err(|source| ServerError::DataDir { path: kubeconfig_path.clone(), source })?;
        let mut background = Vec::new();
        if config.namespace_deleter {
            background.push(crate::namespace_deleter::spawn(app.clone()));
        }
        app.ready.store(true, Ordering::Release);
        Ok(Server { app, addr, kubeconfig_path, pki, shutdown, serving, background })
    }

    /// Stops accepting, lets open requests finish (up to the grace period) and returns.
    pub async fn shutdown(self) {
        for task in &self.background {
            task.abort();
        }
        // End watches first, so that connections can close instead of waiting out the grace.
        self.app.stopping.send_replace(true);
        let _ = self.shutdown.send(true);
        let _ = self.serving.await;
    }
}

/// Creates what every cluster has from its first start: the system namespaces, the default
/// ServiceCIDR and the `kubernetes` Service that points at the API server.
async fn bootstrap(app: &Arc<App>, service_cidrs: &[Cidr], api_addr: SocketAddr) -> Result<(), ServerError> {
    let ns_res = app
        .catalog
        .lookup("", "v1", "namespaces")
        .cloned()
        .ok_or_else(|| ServerError::Bootstrap("namespaces are missing from the catalog".into()))?;
    let system = UserInfo::authenticated("system:apiserver".into(), vec![SYSTEM_MASTERS.into()]);
    for name in SYSTEM_NAMESPACES {
        let key = format!("/registry/namespaces/{name}");
        let (existing, _) = app.store.get(&key, None).await?;
        if existing.is_some() {
            continue;
        }
        let ns = k8s_openapi::api::core::v1::Namespace {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut ctx = WriteContext { user: system.name.clone(), ..Default::default() };
        match registry::create(app, &ns_res, &mut ctx, "", Box::new(ns)).await {
            Ok(_) => {}
            // Another API server on the same etcd created it first.
            Err(e) if e.code() == 409 => {}
            Err(e) => {
                return Err(ServerError::Bootstrap(format!("creating namespace {name}: {e}")));
            }
        }
    }
    // Built typed rather than decoded from JSON: the strict decoder of each kind is code that a
    // fresh server would otherwise page in only for this.
    use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
    use k8s_openapi::api::networking::v1::{ServiceCIDR, ServiceCIDRSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let named = |name: &str| ObjectMeta { name: Some(name.into()), ..Default::default() };
    let cidr = ServiceCIDR {
        metadata: named("kubernetes"),
        spec: Some(ServiceCIDRSpec { cidrs: Some(service_cidrs.iter().map(|c| c.to_string()).collect()) }),
        ..Default::default()
    };
    create_if_absent(app, "networking.k8s.io", "servicecidrs", "", Box::new(cidr)).await?;
    let first_ips: Vec<String> = service_cidrs.iter().filter_map(|c| c.nth(1)).map(|ip| ip.to_string()).collect();
    let labels = [("component", "apiserver"), ("provider", "kubernetes")];
    let service = Service {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..named("kubernetes")
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: first_ips.first().cloned(),
            cluster_ips: Some(first_ips),
            ports: Some(vec![ServicePort {
                name: Some("https".into()),
                port: 443,
                protocol: Some("TCP".into()),
                target_port: Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(
                    api_addr.port().into(),
                )),
                ..Default::default()
            }]),
            session_affinity: Some("None".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    create_if_absent(app, "", "services", "default", Box::new(service)).await?;
    // The system's priority classes, as upstream's scheduling post-start hook makes them.
    use k8s_openapi::api::scheduling::v1::PriorityClass;
    for (name, value, description) in [
        (
            "system-node-critical",
            2_000_001_000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
        (
            "system-cluster-critical",
            2_000_000_000,
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
        ),
    ] {
        let pc = PriorityClass {
            metadata: named(name),
            value,
            description: Some(description.into()),
            preemption_policy: Some("PreemptLowerPriority".into()),
            ..Default::default()
        };
        create_if_absent(app, "scheduling.k8s.io", "priorityclasses", "", Box::new(pc)).await?;
    }
    Ok(())
}

/// Creates an object through the registry unless it exists.
async fn create_if_absent(
    app: &Arc<App>,
    group: &str,
    resource: &str,
    namespace: &str,
    obj: Box<dyn krs_kinds::Object>,
) -> Result<(), ServerError> {
    let res = app
        .catalog
        .resources()
        .find(|r| r.group == group && r.resource == resource)
        .cloned()
        .ok_or_else(|| ServerError::Bootstrap(format!("{resource} are missing from the catalog")))?;
    let name = obj.meta().name.clone().unwrap_or_default();
    let key = registry::key(&res, namespace, &name).map_err(|e| ServerError::Bootstrap(e.to_string()))?;
    if app.store.get(&key, None).await?.0.is_some() {
        return Ok(());
    }
    let mut ctx = WriteContext { user: "system:apiserver".into(), ..Default::default() };
    match registry::create(app, &res, &mut ctx, namespace, obj).await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == 409 => Ok(()),
        Err(e) => Err(ServerError::Bootstrap(format!("creating {resource} {name}: {e}"))),
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
