//! The components beside the API server: run in-process by `krs server` (through
//! [`krs_apiserver::inprocess::InProcess`], as a fixed user) or alone from a kubeconfig.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{ArgAction, Args};
use k8s_openapi::api::core::v1::Taint;
use krs_agent::{AgentOptions, EvictionHard, RuntimeKind, SimOptions};
use krs_apiserver::Server;
use krs_apiserver::auth::UserInfo;
use krs_apiserver::inprocess::InProcess;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Flags every standalone component has.
#[derive(Args)]
pub struct CommonArgs {
    /// The kubeconfig to reach the API server with [default: $KUBECONFIG, else ~/.kube/config]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Log filter, as RUST_LOG (e.g. "info", "krs_scheduler=debug").
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log_level: String,

    /// The Linux scheduling policy of this process's threads.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = CpuScheduling::Batch)]
    pub cpu_scheduling: CpuScheduling,
}

/// The Linux scheduling policy of every thread of a krs process (`--cpu-scheduling`).
//
// Batch is the default: the threads of a krs process hand work to each other all the time (a
// request to the store's writer, a binding from the scheduling thread, a response to the
// connection's task), and with wake-up preemption each hand-off on a busy machine is a context
// switch. A woken thread still runs at once on an idle CPU; on a busy one it waits at most for
// the running thread's time slice (a few ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CpuScheduling {
    /// SCHED_BATCH: a thread that wakes does not preempt the one running on its CPU.
    Batch,
    /// SCHED_OTHER, the kernel's default: a woken thread may preempt the running one.
    Normal,
}

impl CpuScheduling {
    fn policy(self) -> libc::c_int {
        match self {
            CpuScheduling::Batch => libc::SCHED_BATCH,
            CpuScheduling::Normal => libc::SCHED_OTHER,
        }
    }

    /// Sets the calling thread's policy; threads it starts afterwards inherit it. Processes
    /// the agent starts (containerd, and through it every container) are set back to
    /// `SCHED_OTHER` (`krs_agent::containerd::default_cpu_scheduling`).
    pub fn apply(self) -> std::io::Result<()> {
        krs_agent::containerd::set_cpu_policy(self.policy())
    }
}

#[derive(Args)]
pub struct SchedulerArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// A KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Elect a leader through the kube-system/kube-scheduler Lease before scheduling.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub leader_elect: bool,
}

#[derive(Args)]
pub struct ControllerManagerArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Controllers to run: `*` for all that are on by default, `foo` to add one, `-foo` to
    /// leave one out.
    #[arg(long, value_name = "NAMES", value_delimiter = ',', default_value = "*")]
    pub controllers: Vec<String>,

    /// Elect a leader through the kube-system/kube-controller-manager Lease first.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub leader_elect: bool,

    /// The CA bundle published as the kube-root-ca.crt ConfigMap in every namespace.
    #[arg(long, value_name = "FILE")]
    pub root_ca_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct AgentArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub node: NodeArgs,

    /// The agent's state: pods' volumes, logs, containerd's root and state
    /// [default: /var/lib/krs/agent as root, else ~/.local/share/krs/agent]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// The kubelet API's serving certificate (PEM); without it the API is not served.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,

    /// The key of --tls-cert-file (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_private_key_file: Option<PathBuf>,

    /// Accept kubelet API clients with certificates signed by this CA (the API server's).
    #[arg(long, value_name = "FILE")]
    pub client_ca_file: Option<PathBuf>,

    /// Run this many simulated nodes (pods without containers) instead of one real node.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub sim_nodes: usize,
}

/// The node agent's flags (upstream kubelet's names where they exist).
#[derive(Args)]
pub struct NodeArgs {
    /// The Node's name [default: the host name, lowercased]
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,

    /// The address reported as the Node's InternalIP [default: the default route's source]
    #[arg(long, value_name = "IP")]
    pub node_ip: Option<IpAddr>,

    /// A running containerd's socket (unix:///run/containerd/containerd.sock); without it the
    /// agent starts and supervises its own containerd.
    #[arg(long, value_name = "ENDPOINT")]
    pub container_runtime_endpoint: Option<String>,

    /// The port of the kubelet API (upstream kubelet's --port).
    #[arg(long, value_name = "PORT", default_value_t = 10250)]
    pub kubelet_port: u16,

    /// The sandbox image of every pod. The default is built from busybox-static and imported
    /// into the supervised containerd, so pods start without a registry.
    #[arg(long, value_name = "IMAGE", default_value = krs_agent::testing::PAUSE_IMAGE)]
    pub pod_infra_container_image: String,

    /// Pods this node accepts.
    #[arg(long, value_name = "N", default_value_t = 110)]
    pub max_pods: u32,

    /// The pod CIDR used while the Node has no spec.podCIDR.
    #[arg(long, value_name = "CIDR", default_value = "10.42.0.0/24")]
    pub pod_cidr: String,

    /// Labels added at registration (key=value, comma-separated).
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    pub node_labels: Vec<String>,

    /// Taints added at registration (key=value:Effect, comma-separated).
    #[arg(long, value_name = "TAINTS", value_delimiter = ',')]
    pub register_with_taints: Vec<String>,

    /// DNS servers given to pods with dnsPolicy ClusterFirst (comma-separated).
    #[arg(long, value_name = "IPS", value_delimiter = ',')]
    pub cluster_dns: Vec<IpAddr>,

    /// The cluster's DNS domain.
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,

    /// A directory of static pod manifests (upstream's --pod-manifest-path).
    #[arg(long, value_name = "DIR")]
    pub pod_manifest_path: Option<PathBuf>,

    /// Registries (host:port) the supervised containerd speaks plain HTTP to.
    #[arg(long, value_name = "HOSTS", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,

    /// Hard eviction thresholds, upstream's syntax (memory.available<100Mi,nodefs.available<10%,
    /// ...); crossing one puts the node under memory, disk or PID pressure, and the empty string
    /// watches nothing. [default of `krs agent`: upstream's memory.available<100Mi,
    /// nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%,imagefs.inodesFree<5%;
    /// of `krs server`'s own node: memory.available<100Mi, as kind and minikube, since a
    /// development machine's nearly full disk would otherwise keep every pod off it]
    #[arg(long, value_name = "THRESHOLDS", value_parser = EvictionHard::parse)]
    pub eviction_hard: Option<EvictionHard>,

    /// Unsafe sysctls pods may set besides the safe ones (names or prefixes ending in `*`,
    /// comma-separated, e.g. 'kernel.msg*,net.core.somaxconn'); only namespaced ones are
    /// accepted. Pods with other sysctls are rejected (SysctlForbidden).
    #[arg(long, value_name = "SYSCTLS", value_delimiter = ',', value_parser = sysctl_pattern)]
    pub allowed_unsafe_sysctls: Vec<String>,
}

impl NodeArgs {
    fn options(&self, data_dir: PathBuf, default_eviction: EvictionHard) -> Result<AgentOptions, String> {
        let name = self.node_name.clone().unwrap_or_else(krs_agent::node::host::hostname).to_lowercase();
        let mut o = AgentOptions::new(name, data_dir);
        o.runtime = RuntimeKind::Cri {
            socket: self.container_runtime_endpoint.as_deref().map(|e| PathBuf::from(e.trim_start_matches("unix://"))),
        };
        o.node_ip = self.node_ip;
        o.port = self.kubelet_port;
        o.sandbox_image = self.pod_infra_container_image.clone();
        o.max_pods = self.max_pods;
        o.pod_cidr = self.pod_cidr.clone();
        o.node_labels = parse_labels(&self.node_labels)?;
        o.register_with_taints = self.register_with_taints.iter().map(|t| parse_taint(t)).collect::<Result<_, _>>()?;
        o.cluster_dns = self.cluster_dns.clone();
        o.cluster_domain = self.cluster_domain.clone();
        o.static_pod_path = self.pod_manifest_path.clone();
        o.insecure_registries = self.insecure_registry.clone();
        o.eviction_hard = self.eviction_hard.clone().unwrap_or(default_eviction);
        o.allowed_unsafe_sysctls = self.allowed_unsafe_sysctls.clone();
        Ok(o)
    }
}

/// One `--allowed-unsafe-sysctls` entry, checked as the agent will check it.
fn sysctl_pattern(s: &str) -> Result<String, String> {
    krs_agent::admission::SysctlAllowlist::new(&[s.to_owned()], "").map(|_| s.to_owned())
}

fn parse_labels(labels: &[String]) -> Result<BTreeMap<String, String>, String> {
    labels
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').ok_or_else(|| format!("--node-labels: {l:?} is not key=value"))?;
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// `key[=value]:Effect`, as kubectl taint and the kubelet's --register-with-taints.
fn parse_taint(spec: &str) -> Result<Taint, String> {
    let (kv, effect) =
        spec.rsplit_once(':').ok_or_else(|| format!("--register-with-taints: {spec:?} is not key=value:Effect"))?;
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!("--register-with-taints: unknown effect {effect:?} in {spec:?}"));
    }
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (kv, None),
    };
    Ok(Taint { key: key.to_string(), value, effect: effect.to_string(), time_added: None })
}

/// A client of `component` that hands requests to `server` in-process, as `user` in `groups`.
fn in_process_client(server: &Server, component: &str, user: &str, groups: &[&str]) -> kube::Client {
    let groups = groups.iter().map(|g| g.to_string()).collect();
    let user = UserInfo::authenticated(user.to_string(), groups);
    kube::Client::new(InProcess::new(server.app.clone(), user).with_component(component), "default")
}

/// Components running inside `krs server`, stopped together.
pub struct Running {
    shutdown: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Running {
    fn default() -> Running {
        Running { shutdown: watch::channel(false).0, tasks: Vec::new() }
    }
}

impl Running {
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    fn spawn<E: std::fmt::Display>(
        &mut self,
        name: &'static str,
        run: impl Future<Output = Result<(), E>> + Send + 'static,
    ) {
        let task = tokio::spawn(async move {
            match run.await {
                Ok(()) => tracing::info!(component = name, "stopped"),
                Err(e) => tracing::error!(component = name, error = %e, "stopped with an error"),
            }
        });
        self.tasks.push((name, task));
    }

    pub fn start_scheduler(&mut self, server: &Server, leader_elect: bool) {
        // Until RBAC, components act as members of system:masters.
        let client = in_process_client(server, "kube-scheduler", "system:kube-scheduler", &["system:masters"]);
        let options = krs_scheduler::SchedulerOptions { leader_elect, ..Default::default() };
        // The scheduler's metrics are served with the API server's at /metrics.
        let metrics = options.metrics.clone();
        server.app.metrics.add_source(move || metrics.render());
        let stopped = self.stopped();
        self.spawn("scheduler", async move { krs_scheduler::run(client, options, stopped).await });
    }

    pub fn start_controller_manager(&mut self, server: &Server, leader_elect: bool) {
        let client =
            in_process_client(server, "kube-controller-manager", "system:kube-controller-manager", &["system:masters"]);
        let options = krs_controllers::ControllerManagerOptions {
            leader_elect,
            root_ca_pem: Some(server.pki.ca_cert.clone()),
            ..Default::default()
        };
        let stopped = self.stopped();
        self.spawn("controller-manager", async move { krs_controllers::run(client, options, stopped).await });
    }

    pub fn start_sim_nodes(&mut self, server: &Server, nodes: usize) {
        let client = in_process_client(server, "kubelet", "system:node:krs-sim", &["system:nodes", "system:masters"]);
        let mut options = AgentOptions::new("krs-sim", PathBuf::new());
        options.runtime = RuntimeKind::Sim(SimOptions { nodes, ..Default::default() });
        let stopped = self.stopped();
        self.spawn("simulated nodes", async move { krs_agent::run(client, options, stopped).await });
    }

    /// Starts the node agent on containerd, unless containerd is missing (then the cluster
    /// runs without a node, and says so).
    pub fn start_agent(&mut self, server: &Server, data_dir: &Path, node: &NodeArgs) -> Result<(), String> {
        if node.container_runtime_endpoint.is_none() && !installed("containerd") {
            tracing::warn!(
                "containerd is not installed, so this server runs no node agent: \
                 apt-get install containerd runc containernetworking-plugins busybox-static, \
                 or pass --sim-nodes N for simulated nodes"
            );
            return Ok(());
        }
        let mut options = node.options(data_dir.join("agent"), EvictionHard::memory_only())?;
        let ip = *options.node_ip.get_or_insert_with(krs_agent::node::host::default_ip);
        let names = vec![options.node_name.clone(), ip.to_string(), "127.0.0.1".into(), "localhost".into()];
        let (cert, key) = server
            .pki
            .issue_serving_cert(&format!("system:node:{}", options.node_name), &names)
            .map_err(|e| e.to_string())?;
        options.serving_cert_pem = Some(cert);
        options.serving_key_pem = Some(key);
        options.client_ca_pem = Some(server.pki.ca_cert.clone());
        let user = format!("system:node:{}", options.node_name);
        let client = in_process_client(server, "kubelet", &user, &["system:nodes", "system:masters"]);
        let stopped = self.stopped();
        self.spawn("node agent", async move { krs_agent::run(client, options, stopped).await });
        Ok(())
    }

    /// Stops every component and waits for them (the agent stops its containerd).
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        for (name, task) in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(component = name, error = %e, "did not stop cleanly");
            }
        }
    }
}

/// Whether `program` is on the PATH.
fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// A client of `component` from the kubeconfig of `common` (or the inferred one).
async fn remote_client(common: &CommonArgs, component: &str) -> Result<kube::Client, String> {
    let mut config = match &common.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("reading the kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| format!("the kubeconfig {}: {e}", path.display()))?
        }
        None => kube::Config::infer().await.map_err(|e| format!("no kubeconfig: {e}"))?,
    };
    if let Ok(ua) = http::HeaderValue::from_str(&krs_apiserver::inprocess::user_agent(component)) {
        config.headers.push((http::header::USER_AGENT, ua));
    }
    kube::Client::try_from(config).map_err(|e| format!("building the API client: {e}"))
}

pub async fn scheduler(args: SchedulerArgs, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let client = remote_client(&args.common, "kube-scheduler").await?;
    let config = match &args.config {
        Some(path) => Some(krs_scheduler::load_config(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let options = krs_scheduler::SchedulerOptions { config, leader_elect: args.leader_elect, ..Default::default() };
    krs_scheduler::run(client, options, shutdown).await.map_err(|e| e.to_string())
}

pub async fn controller_manager(args: ControllerManagerArgs, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let client = remote_client(&args.common, "kube-controller-manager").await?;
    let options = krs_controllers::ControllerManagerOptions {
        controllers: args.controllers,
        leader_elect: args.leader_elect,
        root_ca_file: args.root_ca_file,
        ..Default::default()
    };
    krs_controllers::run(client, options, shutdown).await.map_err(|e| e.to_string())
}

pub async fn agent(args: AgentArgs, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let client = remote_client(&args.common, "kubelet").await?;
    let data_dir = args.data_dir.clone().unwrap_or_else(|| krs_apiserver::server::default_data_dir().join("agent"));
    let mut options = args.node.options(data_dir, EvictionHard::default())?;
    if args.sim_nodes > 0 {
        options.runtime = RuntimeKind::Sim(SimOptions { nodes: args.sim_nodes, ..Default::default() });
    }
    let read = |p: &Option<PathBuf>| -> Result<Option<String>, String> {
        p.as_ref().map(|p| std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))).transpose()
    };
    options.serving_cert_pem = read(&args.tls_cert_file)?;
    options.serving_key_pem = read(&args.tls_private_key_file)?;
    options.client_ca_pem = read(&args.client_ca_file)?;
    krs_agent::run(client, options, shutdown).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod cpu_scheduling_tests {
    use super::CpuScheduling;

    fn thread_policy() -> i32 {
        // SAFETY: no arguments but the calling thread's id (0).
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn the_policy_is_set_on_the_thread_and_inherited_by_the_threads_it_starts() {
        std::thread::spawn(|| {
            CpuScheduling::Batch.apply().expect("SCHED_BATCH");
            assert_eq!(thread_policy(), libc::SCHED_BATCH);
            let inherited = std::thread::spawn(thread_policy).join().expect("child thread");
            assert_eq!(inherited, libc::SCHED_BATCH);
            CpuScheduling::Normal.apply().expect("SCHED_OTHER");
            assert_eq!(thread_policy(), libc::SCHED_OTHER);
        })
        .join()
        .expect("test thread");
    }
}
