//! krs-scheduler: kube-scheduler 1.34 as a kube-rs client. It watches the cluster through
//! informers, keeps a cache of nodes and scheduled pods, queues unscheduled pods, runs the
//! scheduling framework's plugins for one pod at a time and binds through pods/binding,
//! reporting what users see upstream: the PodScheduled condition, FailedScheduling and
//! Scheduled events, nominatedNodeName, and the scheduler metrics.
//!
//! It runs inside `krs server` (on an in-process client) or standalone (`krs scheduler
//! --kubeconfig FILE`), elects a leader through the kube-system/kube-scheduler Lease, and is
//! configured by a `KubeSchedulerConfiguration` file.

pub mod admission;
pub mod api;
pub mod cache;
pub mod config;
pub mod framework;
pub mod informers;
pub mod leader;
pub mod metrics;
pub mod plugins;
pub mod queue;
pub mod scheduler;

#[cfg(test)]
pub(crate) mod testing;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

pub use config::{ConfigError, KubeSchedulerConfiguration, load_config};
pub use metrics::Metrics;

use crate::api::EventRecorder;
use crate::cache::Cache;
use crate::framework::{Framework, Handle, Listers};
use crate::queue::{QueueConfig, SchedulingQueue};
use crate::scheduler::{Loop, Scheduler};

/// How often pods whose backoff completed move to activeQ (`flushBackoffQCompleted`).
const BACKOFF_FLUSH_PERIOD: Duration = Duration::from_secs(1);
/// How often long-unschedulable pods are retried (`flushUnschedulablePodsLeftover`).
const UNSCHEDULABLE_FLUSH_PERIOD: Duration = Duration::from_secs(30);

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("leaderelection lost")]
    LeaderElectionLost,
    #[error("scheduling loop: {0}")]
    Loop(String),
}

/// How to run the scheduler.
pub struct SchedulerOptions {
    /// The configuration; `None` is upstream's default (one default-scheduler profile).
    pub config: Option<KubeSchedulerConfiguration>,
    /// Elect a leader through the kube-system/kube-scheduler Lease before scheduling.
    pub leader_elect: bool,
    /// This instance's identity in the Lease and in events (`hostname_<uuid>` upstream).
    pub identity: Option<String>,
    /// Where the scheduler reports its metrics; render them with `Metrics::render`.
    pub metrics: Arc<Metrics>,
}

impl Default for SchedulerOptions {
    fn default() -> SchedulerOptions {
        SchedulerOptions { config: None, leader_elect: true, identity: None, metrics: Metrics::new() }
    }
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "krs".into());
    let n: u64 = rand::random();
    format!("{host}_{n:016x}")
}

/// The profiles and the queue built from a configuration.
pub(crate) struct Built {
    pub profiles: HashMap<String, Arc<Framework>>,
    pub queue: Arc<SchedulingQueue>,
}

/// Builds every profile's framework and the shared queue.
pub(crate) fn build(
    config: &KubeSchedulerConfiguration,
    handle: Arc<Handle>,
    metrics: Arc<Metrics>,
) -> Result<Built, ConfigError> {
    let mut profiles = HashMap::new();
    let mut pre_enqueue = HashMap::new();
    let mut events = HashMap::new();
    let mut less = None;
    for p in &config.profiles {
        let fw = plugins::build_framework(p, config.percentage_of_nodes_to_score, handle.clone())?;
        let name = fw.profile_name.clone();
        pre_enqueue.insert(name.clone(), fw.pre_enqueue_plugins().to_vec());
        for plugin in fw.plugins() {
            events.insert(plugin.name(), plugin.events_to_register());
        }
        if less.is_none() {
            less = fw.queue_sort_plugin().cloned();
        }
        profiles.insert(name, Arc::new(fw));
    }
    let less = less.ok_or_else(|| ConfigError::Invalid("one queue sort plugin required for profile".into()))?;
    let queue = Arc::new(SchedulingQueue::new(
        QueueConfig {
            less,
            pre_enqueue,
            events,
            initial_backoff: Duration::from_secs(config.pod_initial_backoff_seconds.unwrap_or(1).max(0) as u64),
            max_backoff: Duration::from_secs(config.pod_max_backoff_seconds.unwrap_or(10).max(0) as u64),
            nominator: handle.nominator.clone(),
        },
        metrics,
    ));
    Ok(Built { profiles, queue })
}

/// Runs the scheduler until `shutdown` resolves (then `Ok`), or until leadership is lost.
pub async fn run(
    client: kube::Client,
    options: SchedulerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let mut config = options.config.unwrap_or_default();
    config.set_defaults();
    config.validate()?;
    let identity = options.identity.unwrap_or_else(default_identity);
    let metrics = options.metrics;
    tokio::pin!(shutdown);

    let mut elector = None;
    if options.leader_elect {
        let mut e = leader::LeaderElector::new(client.clone(), lease_config(&config, identity.clone()));
        tokio::select! {
            _ = e.acquire() => {}
            _ = &mut shutdown => return Ok(()),
        }
        elector = Some(e);
    }

    let listers: Arc<Listers> = Arc::default();
    // Two cores: filtering in parallel pays off only for large node counts (see `parallel`).
    let parallelism = config
        .parallelism
        .unwrap_or(16)
        .clamp(1, std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as i32)
        as usize;
    let events = EventRecorder::start(client.clone(), format!("{}-{identity}", api::REPORTING_CONTROLLER));
    let handle = Arc::new(Handle {
        client: Some(client.clone()),
        listers: listers.clone(),
        nominator: Arc::default(),
        metrics: metrics.clone(),
        events: events.clone(),
        parallelism,
    });
    let built = build(&config, handle, metrics.clone())?;
    let scheduler = Arc::new(Scheduler {
        profiles: built.profiles,
        queue: built.queue.clone(),
        cache: Arc::new(Mutex::new(Cache::new())),
        client: Some(client.clone()),
        events,
        metrics,
        runtime: Some(tokio::runtime::Handle::current()),
        binding_slots: Scheduler::new_binding_slots(),
    });

    let sync = Arc::new(informers::SyncState::default());
    let n = informers::start(client, scheduler.clone(), listers, sync.clone());
    tokio::select! {
        _ = sync.wait(n) => {}
        _ = &mut shutdown => return Ok(()),
    }

    let queue = built.queue;
    let flusher = {
        let queue = queue.clone();
        tokio::spawn(async move {
            let mut backoff = tokio::time::interval(BACKOFF_FLUSH_PERIOD);
            let mut leftover = tokio::time::interval(UNSCHEDULABLE_FLUSH_PERIOD);
            loop {
                tokio::select! {
                    _ = backoff.tick() => queue.flush_backoff_completed(),
                    _ = leftover.tick() => queue.flush_unschedulable_leftover(),
                }
            }
        })
    };
    let looper = Loop::new(scheduler.clone());
    let rt = tokio::runtime::Handle::current();
    let thread = std::thread::Builder::new()
        .name("krs-scheduler".into())
        .spawn(move || {
            // Plugins spawn API calls (preemption) from the scheduling thread.
            let _runtime = rt.enter();
            looper.run()
        })
        .map_err(|e| Error::Loop(e.to_string()))?;

    let result = match elector.as_mut() {
        Some(e) => tokio::select! {
            _ = e.renew_until_lost() => Err(Error::LeaderElectionLost),
            _ = &mut shutdown => Ok(()),
        },
        None => {
            shutdown.await;
            Ok(())
        }
    };
    queue.close();
    flusher.abort();
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    scheduler::drain_bindings(&scheduler.binding_slots, Duration::from_secs(5)).await;
    if let (Some(e), Ok(())) = (elector.as_mut(), &result) {
        e.release().await;
    }
    result
}

fn parse_duration(s: Option<&str>, default: Duration) -> Duration {
    let Some(s) = s else { return default };
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let Ok(v) = num.parse::<f64>() else { return default };
    match unit {
        "ms" => Duration::from_secs_f64(v / 1000.0),
        "s" | "" => Duration::from_secs_f64(v),
        "m" => Duration::from_secs_f64(v * 60.0),
        "h" => Duration::from_secs_f64(v * 3600.0),
        _ => default,
    }
}

fn lease_config(config: &KubeSchedulerConfiguration, identity: String) -> leader::LeaseConfig {
    let mut lc = leader::LeaseConfig::new(identity);
    if let Some(le) = &config.leader_election {
        lc.lease_duration = parse_duration(le.lease_duration.as_deref(), lc.lease_duration);
        lc.renew_deadline = parse_duration(le.renew_deadline.as_deref(), lc.renew_deadline);
        lc.retry_period = parse_duration(le.retry_period.as_deref(), lc.retry_period);
        if let Some(n) = &le.resource_name {
            lc.name = n.clone();
        }
        if let Some(ns) = &le.resource_namespace {
            lc.namespace = ns.clone();
        }
    }
    lc
}
