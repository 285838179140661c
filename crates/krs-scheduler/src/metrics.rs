//! The scheduler's metrics in Prometheus text format, with upstream's names: pending pods by
//! queue, attempts and their latency, end-to-end scheduling latency, incoming pods by event,
//! and the pod resource request/limit metrics of KEP 1748 (`/metrics/resources`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::framework::resource;
use crate::framework::types::PodInfo;

/// A histogram with fixed upper bounds.
struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn exponential(start: f64, factor: f64, n: usize) -> Histogram {
        let bounds: Vec<f64> = (0..n).map(|i| start * factor.powi(i as i32)).collect();
        Histogram { counts: vec![0; bounds.len()], bounds, sum: 0.0, count: 0 }
    }

    fn observe(&mut self, v: f64) {
        for (i, b) in self.bounds.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The scheduler's metrics. Cheap to update from the scheduling loop: gauges are atomics,
/// histograms sit behind one short lock.
pub struct Metrics {
    pending: [AtomicU64; 4],
    attempts: Mutex<BTreeMap<(String, String), u64>>,
    attempt_duration: Mutex<BTreeMap<(String, String), Histogram>>,
    e2e_duration: Mutex<BTreeMap<String, Histogram>>,
    pod_attempts: Mutex<Histogram>,
    incoming: Mutex<HashMap<(String, String), u64>>,
    preemption_attempts: AtomicU64,
    bound: AtomicU64,
    preemption_victims: Mutex<Histogram>,
    /// The pods the scheduler knows of, for the resource metrics.
    pods: RwLock<HashMap<String, Arc<PodInfo>>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            pending: Default::default(),
            attempts: Mutex::default(),
            attempt_duration: Mutex::default(),
            e2e_duration: Mutex::default(),
            pod_attempts: Mutex::new(Histogram::exponential(1.0, 2.0, 5)),
            incoming: Mutex::default(),
            preemption_attempts: AtomicU64::new(0),
            bound: AtomicU64::new(0),
            preemption_victims: Mutex::new(Histogram::exponential(1.0, 2.0, 7)),
            pods: RwLock::default(),
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    pub(crate) fn set_pending(&self, active: usize, backoff: usize, unschedulable: usize, gated: usize) {
        for (i, v) in [active, backoff, unschedulable, gated].into_iter().enumerate() {
            self.pending[i].store(v as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn queue_incoming(&self, queue: &str, event: &str) {
        *self.incoming.lock().entry((queue.to_string(), event.to_string())).or_default() += 1;
    }

    /// One scheduling attempt finished with `result` (scheduled, unschedulable, error).
    pub(crate) fn observe_attempt(&self, result: &str, profile: &str, took: Duration) {
        let key = (result.to_string(), profile.to_string());
        *self.attempts.lock().entry(key.clone()).or_default() += 1;
        self.attempt_duration
            .lock()
            .entry(key)
            .or_insert_with(|| Histogram::exponential(0.001, 2.0, 15))
            .observe(took.as_secs_f64());
    }

    /// A pod was scheduled after `attempts` attempts, `e2e` after its first attempt started.
    pub(crate) fn observe_scheduled(&self, attempts: u32, e2e: Duration) {
        self.bound.fetch_add(1, Ordering::Relaxed);
        let bucket = attempts.min(16).to_string();
        self.e2e_duration
            .lock()
            .entry(bucket)
            .or_insert_with(|| Histogram::exponential(0.01, 2.0, 20))
            .observe(e2e.as_secs_f64());
        self.pod_attempts.lock().observe(f64::from(attempts));
    }

    pub(crate) fn observe_preemption(&self, victims: usize) {
        self.preemption_attempts.fetch_add(1, Ordering::Relaxed);
        self.preemption_victims.lock().observe(victims as f64);
    }

    pub(crate) fn set_pod(&self, pod: Arc<PodInfo>) {
        self.pods.write().insert(pod.key.clone(), pod);
    }

    pub(crate) fn remove_pod(&self, key: &str) {
        self.pods.write().remove(key);
    }

    /// How many pods this scheduler bound (binding accepted by the API server).
    pub fn scheduled_pods(&self) -> u64 {
        self.bound.load(Ordering::Relaxed)
    }

    /// How many pods are pending in `queue` (active, backoff, unschedulable, gated).
    pub fn pending_pods(&self, queue: &str) -> u64 {
        let i = match queue {
            "active" => 0,
            "backoff" => 1,
            "unschedulable" => 2,
            _ => 3,
        };
        self.pending[i].load(Ordering::Relaxed)
    }

    /// The scheduler metrics (`/metrics`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP scheduler_pending_pods [STABLE] Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.\n# TYPE scheduler_pending_pods gauge\n");
        for (i, q) in ["active", "backoff", "unschedulable", "gated"].iter().enumerate() {
            let _ =
                writeln!(out, "scheduler_pending_pods{{queue=\"{q}\"}} {}", self.pending[i].load(Ordering::Relaxed));
        }
        out.push_str("# HELP scheduler_schedule_attempts_total [STABLE] Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.\n# TYPE scheduler_schedule_attempts_total counter\n");
        for ((result, profile), v) in self.attempts.lock().iter() {
            let _ = writeln!(out, "scheduler_schedule_attempts_total{{profile=\"{profile}\",result=\"{result}\"}} {v}");
        }
        out.push_str("# HELP scheduler_scheduling_attempt_duration_seconds [STABLE] Scheduling attempt latency in seconds (scheduling algorithm + binding)\n# TYPE scheduler_scheduling_attempt_duration_seconds histogram\n");
        for ((result, profile), h) in self.attempt_duration.lock().iter() {
            h.render(
                &mut out,
                "scheduler_scheduling_attempt_duration_seconds",
                &format!("profile=\"{profile}\",result=\"{result}\""),
            );
        }
        out.push_str("# HELP scheduler_pod_scheduling_sli_duration_seconds [BETA] E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.\n# TYPE scheduler_pod_scheduling_sli_duration_seconds histogram\n");
        for (attempts, h) in self.e2e_duration.lock().iter() {
            h.render(&mut out, "scheduler_pod_scheduling_sli_duration_seconds", &format!("attempts=\"{attempts}\""));
        }
        out.push_str("# HELP scheduler_pod_scheduling_attempts [STABLE] Number of attempts to successfully schedule a pod.\n# TYPE scheduler_pod_scheduling_attempts histogram\n");
        self.pod_attempts.lock().render(&mut out, "scheduler_pod_scheduling_attempts", "");
        out.push_str("# HELP scheduler_queue_incoming_pods_total [STABLE] Number of pods added to scheduling queues by event and queue type.\n# TYPE scheduler_queue_incoming_pods_total counter\n");
        let incoming: BTreeMap<_, _> = self.incoming.lock().iter().map(|(k, v)| (k.clone(), *v)).collect();
        for ((queue, event), v) in incoming {
            let _ = writeln!(out, "scheduler_queue_incoming_pods_total{{event=\"{event}\",queue=\"{queue}\"}} {v}");
        }
        out.push_str("# HELP scheduler_preemption_attempts_total [STABLE] Total preemption attempts in the cluster till now\n# TYPE scheduler_preemption_attempts_total counter\n");
        let _ =
            writeln!(out, "scheduler_preemption_attempts_total {}", self.preemption_attempts.load(Ordering::Relaxed));
        out.push_str("# HELP scheduler_preemption_victims [STABLE] Number of selected preemption victims\n# TYPE scheduler_preemption_victims histogram\n");
        self.preemption_victims.lock().render(&mut out, "scheduler_preemption_victims", "");
        out
    }

    /// The pod resource metrics of KEP 1748 (`/metrics/resources`): one series per pod and
    /// resource with a request (or limit), labelled with namespace, pod, node, scheduler,
    /// priority, resource and unit. Terminal pods are not reported.
    pub fn render_resources(&self) -> String {
        let mut out = String::new();
        let pods = self.pods.read();
        let mut sorted: Vec<&Arc<PodInfo>> = pods.values().collect();
        sorted.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        for (metric, help, limits) in [
            (
                "kube_pod_resource_request",
                "Resources requested by workloads on the cluster, broken down by pod. This shows the resource usage the scheduler and kubelet expect per pod for resources along with the unit for the resource if any.",
                false,
            ),
            (
                "kube_pod_resource_limit",
                "Resources limit for workloads on the cluster, broken down by pod. This shows the resource usage the scheduler and kubelet expect per pod for resources along with the unit for the resource if any.",
                true,
            ),
        ] {
            let _ = writeln!(out, "# HELP {metric} [STABLE] {help}\n# TYPE {metric} gauge");
            for pod in &sorted {
                let phase = pod.pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default();
                if phase == "Succeeded" || phase == "Failed" {
                    continue;
                }
                let values =
                    if limits { resource::pod_limits(&pod.pod) } else { resource::pod_requests_by_name(&pod.pod) };
                let priority =
                    pod.pod.spec.as_ref().and_then(|s| s.priority).map(|p| p.to_string()).unwrap_or_default();
                for (name, v) in values {
                    let (value, unit) = match name.as_str() {
                        resource::CPU => (v as f64 / 1000.0, "cores"),
                        resource::MEMORY | resource::EPHEMERAL_STORAGE => (v as f64, "bytes"),
                        n if n.starts_with("hugepages-") => (v as f64, "bytes"),
                        _ => (v as f64, ""),
                    };
                    let _ = writeln!(
                        out,
                        "{metric}{{namespace=\"{}\",node=\"{}\",pod=\"{}\",priority=\"{priority}\",resource=\"{name}\",scheduler=\"{}\",unit=\"{unit}\"}} {value}",
                        pod.namespace,
                        pod.node_name(),
                        pod.name,
                        pod.scheduler_name()
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
