//! Selecting, starting and stopping the controllers, under leader election.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use kube::Client;
use tokio::task::JoinHandle;

use crate::Error;
use crate::events::EventBroadcaster;
use crate::informer::SharedInformerFactory;
use crate::leaderelection::{LeaderElectionConfig, LeaderElector};
use crate::queue::WorkQueue;

/// Upstream's controller names (canonical, then the alias --controllers also accepts).
pub const CONTROLLERS: &[(&str, &str)] = &[
    ("serviceaccount-controller", "serviceaccount"),
    ("root-ca-certificate-publisher-controller", "root-ca-cert-publisher"),
    ("replicaset-controller", "replicaset"),
    ("replicationcontroller-controller", "replicationcontroller"),
    ("deployment-controller", "deployment"),
    ("garbage-collector-controller", "garbagecollector"),
    ("job-controller", "job"),
    ("ttl-after-finished-controller", "ttl-after-finished"),
    ("cronjob-controller", "cronjob"),
    ("namespace-controller", "namespace"),
    ("endpoints-controller", "endpoint"),
    ("endpointslice-controller", "endpointslice"),
    ("statefulset-controller", "statefulset"),
    ("daemonset-controller", "daemonset"),
    ("disruption-controller", "disruption"),
    ("node-lifecycle-controller", "nodelifecycle"),
    ("pod-garbage-collector-controller", "podgc"),
    ("resourcequota-controller", "resourcequota"),
];

/// kube-controller-manager's options that krs honours, with upstream's flag names and defaults.
#[derive(Clone, Debug)]
pub struct ControllerManagerOptions {
    /// --controllers: `*` enables every controller on by default, `foo` enables one, `-foo`
    /// disables one.
    pub controllers: Vec<String>,
    /// --leader-elect
    pub leader_elect: bool,
    /// The lease holder identity; defaults to hostname_random.
    pub identity: Option<String>,
    /// --root-ca-file: the CA bundle published as kube-root-ca.crt in every namespace.
    pub root_ca_file: Option<PathBuf>,
    /// The same bundle given in memory (in-process use); wins over root_ca_file.
    pub root_ca_pem: Option<String>,
    /// --concurrent-replicaset-syncs
    pub concurrent_replicaset_syncs: usize,
    /// --concurrent-rc-syncs
    pub concurrent_rc_syncs: usize,
    /// --concurrent-deployment-syncs
    pub concurrent_deployment_syncs: usize,
    /// --concurrent-statefulset-syncs
    pub concurrent_statefulset_syncs: usize,
    /// --concurrent-daemonset-syncs
    pub concurrent_daemonset_syncs: usize,
    /// --concurrent-job-syncs
    pub concurrent_job_syncs: usize,
    /// --concurrent-cron-job-syncs
    pub concurrent_cron_job_syncs: usize,
    /// --concurrent-ttl-after-finished-syncs
    pub concurrent_ttl_after_finished_syncs: usize,
    /// --concurrent-gc-syncs
    pub concurrent_gc_syncs: usize,
    /// --concurrent-namespace-syncs
    pub concurrent_namespace_syncs: usize,
    /// --concurrent-service-endpoint-syncs
    pub concurrent_service_endpoint_syncs: usize,
    /// --concurrent-endpoint-syncs
    pub concurrent_endpoint_syncs: usize,
    /// --concurrent-resource-quota-syncs
    pub concurrent_resource_quota_syncs: usize,
    /// --resource-quota-sync-period: how often every quota's usage is recalculated in full.
    pub resource_quota_sync_period: std::time::Duration,
    /// --concurrent-serviceaccount-token-syncs (also the service account and root CA
    /// publisher workers)
    pub concurrent_serviceaccount_token_syncs: usize,
    /// The first delay before a failed Job pod is replaced, doubling per consecutive failure
    /// up to six minutes (upstream's DefaultJobPodFailureBackOff, 10 s; not a flag upstream,
    /// where integration tests lower it the same way).
    pub job_pod_failure_backoff: std::time::Duration,
    /// --max-endpoints-per-slice
    pub max_endpoints_per_slice: usize,
    /// --node-monitor-period
    pub node_monitor_period: std::time::Duration,
    /// --node-monitor-grace-period
    pub node_monitor_grace_period: std::time::Duration,
    /// --node-startup-grace-period
    pub node_startup_grace_period: std::time::Duration,
    /// --terminated-pod-gc-threshold
    pub terminated_pod_gc_threshold: usize,
}

impl Default for ControllerManagerOptions {
    fn default() -> Self {
        ControllerManagerOptions {
            controllers: vec!["*".into()],
            leader_elect: true,
            identity: None,
            root_ca_file: None,
            root_ca_pem: None,
            concurrent_replicaset_syncs: 5,
            concurrent_rc_syncs: 5,
            concurrent_deployment_syncs: 5,
            concurrent_statefulset_syncs: 5,
            concurrent_daemonset_syncs: 2,
            concurrent_job_syncs: 5,
            concurrent_cron_job_syncs: 5,
            concurrent_ttl_after_finished_syncs: 5,
            concurrent_gc_syncs: 20,
            concurrent_namespace_syncs: 10,
            concurrent_service_endpoint_syncs: 5,
            concurrent_endpoint_syncs: 5,
            concurrent_resource_quota_syncs: 5,
            resource_quota_sync_period: std::time::Duration::from_secs(5 * 60),
            concurrent_serviceaccount_token_syncs: 5,
            job_pod_failure_backoff: std::time::Duration::from_secs(10),
            max_endpoints_per_slice: 100,
            node_monitor_period: std::time::Duration::from_secs(5),
            node_monitor_grace_period: std::time::Duration::from_secs(50),
            node_startup_grace_period: std::time::Duration::from_secs(60),
            terminated_pod_gc_threshold: 12500,
        }
    }
}

impl ControllerManagerOptions {
    /// Whether controller `canonical` is enabled by --controllers.
    pub fn enabled(&self, canonical: &str) -> bool {
        let alias = CONTROLLERS.iter().find(|(c, _)| *c == canonical).map(|(_, a)| *a).unwrap_or(canonical);
        let named = |n: &str| n == canonical || n == alias;
        let mut star = false;
        for c in &self.controllers {
            if let Some(off) = c.strip_prefix('-')
                && named(off)
            {
                return false;
            }
            if named(c) {
                return true;
            }
            star |= c == "*";
        }
        star
    }

    fn validate(&self) -> Result<(), Error> {
        for c in &self.controllers {
            let name = c.strip_prefix('-').unwrap_or(c);
            if name != "*" && !CONTROLLERS.iter().any(|(canon, alias)| name == *canon || name == *alias) {
                return Err(Error::UnknownController(c.clone()));
            }
        }
        Ok(())
    }

    fn root_ca(&self) -> Result<Option<String>, Error> {
        if let Some(pem) = &self.root_ca_pem {
            return Ok(Some(pem.clone()));
        }
        match &self.root_ca_file {
            Some(path) => std::fs::read_to_string(path)
                .map(Some)
                .map_err(|source| Error::Io { path: path.display().to_string(), source }),
            None => Ok(None),
        }
    }
}

/// What every controller is built from.
pub(crate) struct Ctx {
    pub client: Client,
    pub factory: Arc<SharedInformerFactory>,
    pub events: EventBroadcaster,
    pub options: ControllerManagerOptions,
    pub root_ca: Option<String>,
}

/// A controller whose handlers are registered: its queues, and how to start its workers once
/// the informers have synced.
pub(crate) struct Started {
    pub queues: Vec<WorkQueue>,
    pub run: Box<dyn FnOnce() -> Vec<JoinHandle<()>> + Send>,
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Runs the controller manager until `shutdown` completes (Ok) or leadership is lost
/// (Err(LeaderElectionLost): upstream exits the process then, and so should the caller).
pub async fn run(
    client: Client,
    options: ControllerManagerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    options.validate()?;
    let root_ca = options.root_ca()?;
    let host = hostname();
    let identity = options.identity.clone().unwrap_or_else(|| format!("{host}_{}", random_suffix()));
    let mut shutdown = std::pin::pin!(shutdown);

    let mut elector = None;
    if options.leader_elect {
        let mut e = LeaderElector::new(client.clone(), LeaderElectionConfig::controller_manager(identity.clone()));
        tokio::select! {
            _ = e.acquire() => {}
            _ = &mut shutdown => return Ok(()),
        }
        elector = Some(e);
    }

    let ctx = Ctx {
        factory: SharedInformerFactory::new(client.clone()),
        events: EventBroadcaster::start(client.clone(), &host),
        client,
        options,
        root_ca,
    };
    let started = start_controllers(&ctx);
    ctx.factory.start();
    let mut tasks = Vec::new();
    let mut queues = Vec::new();
    let run_all = async {
        ctx.factory.wait_synced().await;
        tracing::info!(controllers = started.len(), "caches synced; starting controllers");
        for s in started {
            queues.extend(s.queues);
            tasks.extend((s.run)());
        }
        futures::future::pending::<()>().await;
    };
    let result = match elector.as_mut() {
        Some(e) => tokio::select! {
            _ = run_all => Ok(()),
            _ = e.hold() => Err(Error::LeaderElectionLost),
            _ = &mut shutdown => Ok(()),
        },
        None => tokio::select! {
            _ = run_all => Ok(()),
            _ = &mut shutdown => Ok(()),
        },
    };
    for q in &queues {
        q.shut_down();
    }
    for t in &tasks {
        t.abort();
    }
    ctx.factory.shutdown();
    if result.is_ok()
        && let Some(e) = elector.as_mut()
    {
        e.release().await;
    }
    result
}

fn random_suffix() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn start_controllers(ctx: &Ctx) -> Vec<Started> {
    let mut started = Vec::new();
    let o = &ctx.options;
    if o.enabled("serviceaccount-controller") {
        started.push(crate::serviceaccount::start(ctx));
    }
    if o.enabled("root-ca-certificate-publisher-controller") {
        match &ctx.root_ca {
            Some(ca) => started.push(crate::rootcacertpublisher::start(ctx, ca.clone())),
            None => tracing::warn!("root-ca-certificate-publisher-controller disabled: no root CA (--root-ca-file)"),
        }
    }
    if o.enabled("replicaset-controller") {
        started.push(crate::replicaset::start_replicasets(ctx));
    }
    if o.enabled("replicationcontroller-controller") {
        started.push(crate::replicaset::start_replication_controllers(ctx));
    }
    if o.enabled("deployment-controller") {
        started.push(crate::deployment::start(ctx));
    }
    if o.enabled("job-controller") {
        started.push(crate::job::start(ctx));
    }
    if o.enabled("cronjob-controller") {
        started.push(crate::cronjob::start(ctx));
    }
    if o.enabled("ttl-after-finished-controller") {
        started.push(crate::ttlafterfinished::start(ctx));
    }
    if o.enabled("namespace-controller") {
        started.push(crate::namespace::start(ctx));
    }
    if o.enabled("endpoints-controller") {
        started.push(crate::endpoints::start(ctx));
    }
    if o.enabled("endpointslice-controller") {
        started.push(crate::endpointslice::start(ctx));
    }
    if o.enabled("statefulset-controller") {
        started.push(crate::statefulset::start(ctx));
    }
    if o.enabled("daemonset-controller") {
        started.push(crate::daemonset::start(ctx));
    }
    if o.enabled("disruption-controller") {
        started.push(crate::disruption::start(ctx));
    }
    if o.enabled("node-lifecycle-controller") {
        started.push(crate::nodelifecycle::start(ctx));
    }
    if o.enabled("pod-garbage-collector-controller") {
        started.push(crate::podgc::start(ctx));
    }
    if o.enabled("resourcequota-controller") {
        started.push(crate::resourcequota::start(ctx));
    }
    if o.enabled("garbage-collector-controller") {
        started.push(crate::garbagecollector::start(ctx));
    }
    started
}
