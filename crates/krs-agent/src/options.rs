//! The agent's configuration: what `krs server` and `krs agent` pass to [`crate::run`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;

use crate::eviction::EvictionHard;

/// Which container runtime the agent drives.
#[derive(Clone, Debug)]
pub enum RuntimeKind {
    /// Real containers through the CRI (containerd). Without a socket, the agent starts and
    /// supervises containerd itself with a generated configuration in the data dir.
    Cri { socket: Option<PathBuf> },
    /// Simulated nodes whose pods run without containers.
    Sim(SimOptions),
}

/// Simulated nodes ("hollow" kubelets, as KWOK's): their pods go through realistic phase and
/// condition transitions without containers.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// How many nodes to register.
    pub nodes: usize,
    /// Node names are this prefix and the node's index (`krs-sim-0`, `krs-sim-1`, ...).
    pub name_prefix: String,
    /// Allocatable CPU of each node (a Kubernetes quantity).
    pub cpu: String,
    /// Allocatable memory of each node (a Kubernetes quantity).
    pub memory: String,
    /// Pods per node.
    pub max_pods: u32,
    /// From binding to the pod's Running status.
    pub start_delay: Duration,
    /// Whether a Pending status (containers ContainerCreating) is written before Running: more
    /// realistic, one more write per pod.
    pub report_pending: bool,
    /// How long a Job's pod runs before its containers exit.
    pub job_duration: Duration,
    /// The exit code of a Job pod's containers (0: the pod Succeeds).
    pub job_exit_code: i32,
    /// From a pod's deletion request to its terminal status and final deletion.
    pub delete_delay: Duration,
    /// Pod IPs: node i gets the /24 with index i in this IPv4 range (e.g. 10.128.0.0/9).
    pub pod_ip_range: String,
    /// Concurrent API writes of the whole fleet (status patches, deletions, leases).
    pub write_concurrency: usize,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            nodes: 1,
            name_prefix: "krs-sim-".into(),
            cpu: "32".into(),
            memory: "256Gi".into(),
            max_pods: 110,
            start_delay: Duration::from_millis(500),
            report_pending: true,
            job_duration: Duration::from_secs(5),
            job_exit_code: 0,
            delete_delay: Duration::ZERO,
            pod_ip_range: "10.128.0.0/9".into(),
            write_concurrency: 64,
        }
    }
}

/// How the agent runs. `AgentOptions::new(node_name, data_dir)` gives upstream's defaults.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// The Node's name (upstream: the hostname, lowercased).
    pub node_name: String,
    /// The agent's state: pods' volumes, containerd's root and state, CNI config, logs.
    pub data_dir: PathBuf,
    pub runtime: RuntimeKind,
    /// The address reported as InternalIP and used to reach the kubelet API; detected from the
    /// default route when unset.
    pub node_ip: Option<IpAddr>,
    /// The pod CIDR used when the Node has no spec.podCIDR (the IPAM controller may set one).
    pub pod_cidr: String,
    pub max_pods: u32,
    /// Labels added at registration (upstream --node-labels).
    pub node_labels: BTreeMap<String, String>,
    /// Taints added at registration (upstream --register-with-taints).
    pub register_with_taints: Vec<Taint>,
    /// Use RuntimeDefault as the seccomp profile of containers that do not name one
    /// (upstream --seccomp-default).
    pub seccomp_default: bool,
    /// Rotate a container's log when it reaches this many bytes (containerLogMaxSize, 10Mi).
    pub container_log_max_size: u64,
    /// Keep at most this many log files per container, the live one included (5).
    pub container_log_max_files: u32,
    /// A directory of static pod manifests (YAML or JSON).
    pub static_pod_path: Option<PathBuf>,
    /// Where the kubelet API listens (upstream --address, --port: 0.0.0.0:10250).
    pub bind_address: IpAddr,
    pub port: u16,
    /// The kubelet API's serving certificate and key (PEM). Without them the API is not served.
    pub serving_cert_pem: Option<String>,
    pub serving_key_pem: Option<String>,
    /// Client certificates signed by this CA (PEM) are accepted by the kubelet API (the API
    /// server connects with one).
    pub client_ca_pem: Option<String>,
    /// The sandbox ("pause") image of every pod.
    pub sandbox_image: String,
    /// Cluster DNS servers and domain for pods with dnsPolicy ClusterFirst.
    pub cluster_dns: Vec<IpAddr>,
    pub cluster_domain: String,
    /// Client-side rate limit of API requests (upstream kubeAPIQPS 50, kubeAPIBurst 100).
    pub kube_api_qps: f64,
    pub kube_api_burst: u32,
    /// Registries spoken to over plain HTTP (host:port), for containerd's generated config.
    pub insecure_registries: Vec<String>,
    /// Graceful node shutdown: how long pods get when the agent shuts the node down, and how
    /// much of it is reserved for critical pods. Zero disables (the agent leaves pods running
    /// when it stops, so a restarted agent picks them up again).
    pub shutdown_grace_period: Duration,
    pub shutdown_grace_period_critical_pods: Duration,
    /// How often the Node's status is computed (upstream nodeStatusUpdateFrequency, 10 s); it is
    /// written when it changed or after nodeStatusReportFrequency (5 min).
    pub node_status_update_frequency: Duration,
    pub node_status_report_frequency: Duration,
    /// How often the pod lifecycle event generator relists the runtime (1 s).
    pub pleg_relist_period: Duration,
    /// Hard eviction thresholds: crossing one puts the node under memory, disk or PID
    /// pressure; memory's and nodefs's are kept out of allocatable (upstream's defaults).
    pub eviction_hard: EvictionHard,
    /// How often the eviction manager compares memory.available with its threshold and, while
    /// it is crossed, evicts one pod (upstream's monitoring interval, 10 s).
    pub eviction_monitoring_interval: Duration,
    /// Unsafe sysctls (names, or prefixes ending in `*`) pods may set besides the safe ones
    /// (upstream --allowed-unsafe-sysctls).
    pub allowed_unsafe_sysctls: Vec<String>,
}

impl AgentOptions {
    pub fn new(node_name: impl Into<String>, data_dir: impl Into<PathBuf>) -> AgentOptions {
        AgentOptions {
            node_name: node_name.into(),
            data_dir: data_dir.into(),
            runtime: RuntimeKind::Cri { socket: None },
            node_ip: None,
            pod_cidr: "10.42.0.0/24".into(),
            max_pods: 110,
            node_labels: BTreeMap::new(),
            register_with_taints: Vec::new(),
            seccomp_default: false,
            container_log_max_size: 10 * 1024 * 1024,
            container_log_max_files: 5,
            static_pod_path: None,
            bind_address: IpAddr::from([0, 0, 0, 0]),
            port: 10250,
            serving_cert_pem: None,
            serving_key_pem: None,
            client_ca_pem: None,
            sandbox_image: "registry.k8s.io/pause:3.10".into(),
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".into(),
            kube_api_qps: 50.0,
            kube_api_burst: 100,
            insecure_registries: Vec::new(),
            shutdown_grace_period: Duration::ZERO,
            shutdown_grace_period_critical_pods: Duration::ZERO,
            node_status_update_frequency: Duration::from_secs(10),
            node_status_report_frequency: Duration::from_secs(300),
            pleg_relist_period: Duration::from_secs(1),
            eviction_hard: EvictionHard::default(),
            eviction_monitoring_interval: Duration::from_secs(10),
            allowed_unsafe_sysctls: Vec::new(),
        }
    }
}
