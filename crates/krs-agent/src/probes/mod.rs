//! The ProbeManager: one worker per container and probe kind (startup, liveness, readiness)
//! that runs the probe every period and keeps the result with upstream's thresholds. Results
//! feed pod status (ready, started) and pod sync (containers failing liveness are restarted).

pub mod handlers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use self::handlers::{HttpGet, Outcome};
use crate::events::WARNING;
use crate::runtime::{ContainerState, DynRuntime, RuntimePodStatus};

/// A named or numbered container port.
pub fn resolve_port(port: &IntOrString, c: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).map_err(|_| format!("invalid port {p}")),
        IntOrString::String(name) => {
            if let Ok(p) = name.parse::<u16>() {
                return Ok(p);
            }
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| format!("couldn't find port {name:?} in container {:?}", c.name))
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Startup,
    Liveness,
    Readiness,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
        }
    }
}

/// What the probes say about one container instance.
#[derive(Clone, Debug, Default)]
struct Results {
    container_id: String,
    ready: bool,
    started: bool,
    /// Why the liveness or startup probe failed (the container is to be restarted).
    unhealthy: Option<String>,
}

type Key = (String, String); // pod UID, container name
type WorkerKey = (String, String, Kind);

struct Inner {
    runtime: DynRuntime,
    results: Mutex<HashMap<Key, Results>>,
    workers: Mutex<HashMap<WorkerKey, (String, JoinHandle<()>)>>,
    /// Pod UIDs whose probe results changed: their pod worker syncs again.
    changed: mpsc::UnboundedSender<String>,
    /// Failed probes are Unhealthy events.
    events: crate::events::Events,
}

#[derive(Clone)]
pub struct ProbeManager {
    inner: Arc<Inner>,
}

fn has(c: &Container, kind: Kind) -> Option<&Probe> {
    match kind {
        Kind::Startup => c.startup_probe.as_ref(),
        Kind::Liveness => c.liveness_probe.as_ref(),
        Kind::Readiness => c.readiness_probe.as_ref(),
    }
}

impl ProbeManager {
    pub fn new(
        runtime: DynRuntime,
        changed: mpsc::UnboundedSender<String>,
        events: crate::events::Events,
    ) -> ProbeManager {
        ProbeManager {
            inner: Arc::new(Inner {
                runtime,
                results: Mutex::new(HashMap::new()),
                workers: Mutex::new(HashMap::new()),
                changed,
                events,
            }),
        }
    }

    /// Starts, replaces or stops workers to match the pod's running containers.
    pub fn update_pod(&self, pod: &Pod, status: &RuntimePodStatus) {
        let Some(spec) = pod.spec.as_ref() else { return };
        let uid = status.uid.clone();
        let pod_ip = status.sandbox().and_then(|s| s.ips.first().cloned());
        let sidecars = spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
        for c in spec.containers.iter().chain(sidecars) {
            let running = status
                .latest(&c.name)
                .filter(|r| r.state == ContainerState::Running)
                .map(|r| (r.id.clone(), r.started_at));
            let key = (uid.clone(), c.name.clone());
            {
                let mut results = self.inner.results.lock();
                match &running {
                    Some((id, _)) => {
                        let entry = results.entry(key.clone()).or_default();
                        if &entry.container_id != id {
                            // A new instance: probes start over.
                            *entry = Results {
                                container_id: id.clone(),
                                ready: c.readiness_probe.is_none(),
                                started: c.startup_probe.is_none(),
                                unhealthy: None,
                            };
                        }
                    }
                    None => {
                        results.remove(&key);
                    }
                }
            }
            for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
                let wkey = (uid.clone(), c.name.clone(), kind);
                let mut workers = self.inner.workers.lock();
                match (&running, has(c, kind)) {
                    (Some((id, started_at)), Some(probe)) => {
                        if workers.get(&wkey).is_some_and(|(wid, _)| wid == id) {
                            continue;
                        }
                        if let Some((_, old)) = workers.remove(&wkey) {
                            old.abort();
                        }
                        let worker = Worker {
                            inner: self.inner.clone(),
                            key: key.clone(),
                            container_id: id.clone(),
                            container: c.clone(),
                            pod: Arc::new(pod.clone()),
                            probe: probe.clone(),
                            kind,
                            pod_ip: pod_ip.clone(),
                            started_at: *started_at,
                        };
                        workers.insert(wkey, (id.clone(), tokio::spawn(worker.run())));
                    }
                    _ => {
                        if let Some((_, old)) = workers.remove(&wkey) {
                            old.abort();
                        }
                    }
                }
            }
        }
    }

    pub fn remove_pod(&self, uid: &str) {
        self.inner.results.lock().retain(|(u, _), _| u != uid);
        self.inner.workers.lock().retain(|(u, _, _), (_, h)| {
            if u == uid {
                h.abort();
                false
            } else {
                true
            }
        });
    }

    /// Whether the container instance is ready (readiness probe, or running without one).
    pub fn ready(&self, uid: &str, name: &str, container_id: &str) -> bool {
        let r = self.inner.results.lock();
        r.get(&(uid.to_owned(), name.to_owned()))
            .is_some_and(|r| r.container_id == container_id && r.ready && r.started)
    }

    pub fn started(&self, uid: &str, name: &str, container_id: &str) -> bool {
        let r = self.inner.results.lock();
        r.get(&(uid.to_owned(), name.to_owned())).is_some_and(|r| r.container_id == container_id && r.started)
    }

    /// Containers of the pod to restart, with why.
    pub fn unhealthy(&self, uid: &str) -> HashMap<String, String> {
        let r = self.inner.results.lock();
        r.iter()
            .filter(|((u, _), _)| u == uid)
            .filter_map(|((_, n), r)| Some((n.clone(), r.unhealthy.clone()?)))
            .collect()
    }

    /// Container name → started, for the pod's running containers.
    pub fn started_map(&self, uid: &str) -> HashMap<String, bool> {
        let r = self.inner.results.lock();
        r.iter().filter(|((u, _), _)| u == uid).map(|((_, n), r)| (n.clone(), r.started)).collect()
    }
}

struct Worker {
    inner: Arc<Inner>,
    key: Key,
    container_id: String,
    container: Container,
    pod: Arc<Pod>,
    probe: Probe,
    kind: Kind,
    pod_ip: Option<String>,
    started_at: i64,
}

impl Worker {
    async fn run(self) {
        let p = &self.probe;
        let period = Duration::from_secs(p.period_seconds.unwrap_or(10).max(1) as u64);
        let timeout = Duration::from_secs(p.timeout_seconds.unwrap_or(1).max(1) as u64);
        let success_threshold = p.success_threshold.unwrap_or(1).max(1);
        let failure_threshold = p.failure_threshold.unwrap_or(3).max(1);
        // The initial delay counts from the container's start.
        let initial = Duration::from_secs(p.initial_delay_seconds.unwrap_or(0).max(0) as u64);
        let now_ns = jiff::Timestamp::now().as_nanosecond() as i64;
        let since_start = Duration::from_nanos(now_ns.saturating_sub(self.started_at).max(0) as u64);
        if initial > since_start {
            tokio::time::sleep(initial - since_start).await;
        }
        let (mut successes, mut failures) = (0, 0);
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let state = self.inner.results.lock().get(&self.key).cloned();
            let Some(state) = state.filter(|s| s.container_id == self.container_id) else { return };
            match self.kind {
                Kind::Startup if state.started => return,
                // Liveness and readiness wait for the startup probe.
                Kind::Liveness | Kind::Readiness if !state.started => continue,
                // After a liveness failure the container is being restarted.
                Kind::Liveness if state.unhealthy.is_some() => continue,
                _ => {}
            }
            let outcome = self.probe_once(timeout).await;
            match outcome {
                Outcome::Success => {
                    failures = 0;
                    successes += 1;
                    if successes >= success_threshold {
                        self.record(true, None);
                    }
                }
                Outcome::Failure(why) => {
                    successes = 0;
                    failures += 1;
                    tracing::debug!(pod = %self.key.0, container = %self.key.1, kind = self.kind.name(), %why, "probe failed");
                    let note = format!("{} probe failed: {why}", self.kind.name());
                    self.inner.events.container(&self.pod, &self.container.name, WARNING, "Unhealthy", note);
                    if failures >= failure_threshold {
                        self.record(false, Some(why));
                        failures = 0;
                    }
                }
            }
        }
    }

    fn record(&self, success: bool, why: Option<String>) {
        let changed = {
            let mut results = self.inner.results.lock();
            let Some(r) = results.get_mut(&self.key).filter(|r| r.container_id == self.container_id) else { return };
            match self.kind {
                Kind::Readiness => std::mem::replace(&mut r.ready, success) != success,
                Kind::Startup if success => !std::mem::replace(&mut r.started, true),
                Kind::Startup | Kind::Liveness if !success => {
                    let kind = if self.kind == Kind::Startup { "startup" } else { "liveness" };
                    let reason = format!(
                        "Container {} failed {kind} probe, will be restarted: {}",
                        self.container.name,
                        why.unwrap_or_default()
                    );
                    r.unhealthy = Some(reason);
                    true
                }
                _ => false,
            }
        };
        if changed {
            let _ = self.inner.changed.send(self.key.0.clone());
        }
    }

    async fn probe_once(&self, timeout: Duration) -> Outcome {
        let p = &self.probe;
        let host = self.pod_ip.as_deref().unwrap_or("127.0.0.1");
        if let Some(exec) = &p.exec {
            let cmd = exec.command.clone().unwrap_or_default();
            let secs = timeout.as_secs() as i64;
            return match self.inner.runtime.exec_sync(&self.container_id, cmd, secs).await {
                Ok(r) if r.exit_code == 0 => Outcome::Success,
                Ok(r) => Outcome::Failure(format!(
                    "command exited with {}: {}{}",
                    r.exit_code,
                    String::from_utf8_lossy(&r.stdout),
                    String::from_utf8_lossy(&r.stderr)
                )),
                Err(e) => Outcome::Failure(e.to_string()),
            };
        }
        if let Some(get) = &p.http_get {
            let port = match resolve_port(&get.port, &self.container) {
                Ok(p) => p,
                Err(e) => return Outcome::Failure(e),
            };
            let g = HttpGet {
                host: get.host.as_deref().filter(|h| !h.is_empty()).unwrap_or(host),
                port,
                path: get.path.as_deref().unwrap_or("/"),
                https: get.scheme.as_deref() == Some("HTTPS"),
                headers: get.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect(),
            };
            return handlers::http_get(&g, timeout).await;
        }
        if let Some(tcp) = &p.tcp_socket {
            return match resolve_port(&tcp.port, &self.container) {
                Ok(port) => {
                    handlers::tcp(tcp.host.as_deref().filter(|h| !h.is_empty()).unwrap_or(host), port, timeout).await
                }
                Err(e) => Outcome::Failure(e),
            };
        }
        if let Some(g) = &p.grpc {
            let Ok(port) = u16::try_from(g.port) else { return Outcome::Failure(format!("invalid port {}", g.port)) };
            return handlers::grpc(host, port, g.service.as_deref().unwrap_or_default(), timeout).await;
        }
        Outcome::Failure("the probe has no handler".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let c: Container = serde_json::from_value(serde_json::json!({
            "name": "c", "ports": [{"name": "http", "containerPort": 8080}]
        }))
        .expect("container");
        assert_eq!(resolve_port(&IntOrString::Int(80), &c), Ok(80));
        assert_eq!(resolve_port(&IntOrString::String("http".into()), &c), Ok(8080));
        assert_eq!(resolve_port(&IntOrString::String("81".into()), &c), Ok(81));
        assert!(resolve_port(&IntOrString::String("grpc".into()), &c).is_err());
        assert!(resolve_port(&IntOrString::Int(70000), &c).is_err());
    }
}
