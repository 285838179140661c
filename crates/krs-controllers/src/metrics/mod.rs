//! Prometheus text exposition of the controller manager's metrics: the work queues' (as
//! client-go's workqueue metrics provider names them) and leader election's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::Mutex;

/// Bucket bounds (seconds) of the workqueue histograms: client-go's 10^-8 … 10^1.
const BUCKETS: [f64; 10] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

/// A histogram of durations with client-go's workqueue buckets.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds, so it can be an atomic integer.
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, metric: &str, labels: &str) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{metric}_bucket{{{labels},le=\"{bound:e}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{metric}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{metric}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{metric}_count{{{labels}}} {count}");
    }
}

/// The metrics of one work queue.
#[derive(Default)]
pub struct QueueMetrics {
    pub depth: AtomicI64,
    pub adds: AtomicU64,
    pub retries: AtomicU64,
    pub queue_duration: Histogram,
    pub work_duration: Histogram,
}

/// Every metric of this process.
#[derive(Default)]
pub struct Registry {
    queues: Mutex<BTreeMap<String, Arc<QueueMetrics>>>,
    /// Lease name → whether this process holds it.
    leader: Mutex<BTreeMap<String, bool>>,
    /// Controller → number of syncs that returned an error.
    sync_errors: Mutex<BTreeMap<String, u64>>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);

pub fn registry() -> &'static Registry {
    &REGISTRY
}

impl Registry {
    /// The metrics of queue `name`; a queue recreated under the same name (a new leadership
    /// term) continues its counters, as one process's metrics do upstream.
    pub fn queue(&self, name: &str) -> Arc<QueueMetrics> {
        self.queues.lock().entry(name.to_string()).or_default().clone()
    }

    pub fn set_leader(&self, lease: &str, is_leader: bool) {
        self.leader.lock().insert(lease.to_string(), is_leader);
    }

    pub fn sync_error(&self, controller: &str) {
        *self.sync_errors.lock().entry(controller.to_string()).or_default() += 1;
    }

    /// The Prometheus text format (version 0.0.4) of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let queues = self.queues.lock().clone();
        let gauge = |out: &mut String, metric: &str, help: &str, kind: &str, f: &dyn Fn(&QueueMetrics) -> String| {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
            for (name, m) in &queues {
                let _ = writeln!(out, "{metric}{{name=\"{name}\"}} {}", f(m));
            }
        };
        gauge(&mut out, "workqueue_depth", "Current depth of workqueue", "gauge", &|m| {
            m.depth.load(Ordering::Relaxed).to_string()
        });
        gauge(&mut out, "workqueue_adds_total", "Total number of adds handled by workqueue", "counter", &|m| {
            m.adds.load(Ordering::Relaxed).to_string()
        });
        gauge(&mut out, "workqueue_retries_total", "Total number of retries handled by workqueue", "counter", &|m| {
            m.retries.load(Ordering::Relaxed).to_string()
        });
        for (metric, help) in [
            (
                "workqueue_queue_duration_seconds",
                "How long in seconds an item stays in workqueue before being requested.",
            ),
            ("workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes."),
        ] {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} histogram");
            for (name, m) in &queues {
                let h = if metric.contains("queue_duration") { &m.queue_duration } else { &m.work_duration };
                h.render(&mut out, metric, &format!("name=\"{name}\""));
            }
        }
        let _ = writeln!(
            out,
            "# HELP leader_election_master_status Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.\n# TYPE leader_election_master_status gauge"
        );
        for (lease, leader) in self.leader.lock().iter() {
            let _ = writeln!(out, "leader_election_master_status{{name=\"{lease}\"}} {}", u8::from(*leader));
        }
        let _ = writeln!(
            out,
            "# HELP krs_controller_sync_errors_total Syncs of a controller that failed and were requeued.\n# TYPE krs_controller_sync_errors_total counter"
        );
        for (controller, n) in self.sync_errors.lock().iter() {
            let _ = writeln!(out, "krs_controller_sync_errors_total{{controller=\"{controller}\"}} {n}");
        }
        out
    }
}
