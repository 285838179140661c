//! Hard eviction thresholds (upstream's `--eviction-hard`, `evictionHard`): the signals that put
//! the node under memory, disk or PID pressure, and what they take from allocatable.
//!
//! When `memory.available` is crossed, the agent evicts running pods one at a time (upstream's
//! eviction manager): [`rank_for_memory`] orders them, [`memory_eviction_message`] says why.
//!
//! A threshold is `signal<quantity` or `signal<percent%` of the signal's capacity. Signals:
//! `memory.available` (MemAvailable), `nodefs.available` and `nodefs.inodesFree` (the file
//! system of the agent's data dir), `imagefs.available` and `imagefs.inodesFree` (the file
//! system of the runtime's images), `pid.available`. As upstream, a configured set replaces the
//! defaults as a whole: a signal left out is not watched.

use std::fmt;
use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use krs_apimachinery::quantity::{Format, Quantity};

use crate::node::host::{self, FsStats};

/// The amount below which a signal is under pressure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// An absolute amount (bytes, inodes or PIDs).
    Amount(u64),
    /// A share of the signal's capacity, in percent (0 to 100).
    Percent(f64),
}

impl Threshold {
    /// The threshold as an amount of `capacity`.
    pub fn amount(self, capacity: u64) -> u64 {
        match self {
            Threshold::Amount(a) => a,
            Threshold::Percent(p) => (capacity as f64 * p / 100.0) as u64,
        }
    }

    fn crossed(self, available: u64, capacity: u64) -> bool {
        available < self.amount(capacity)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Amount(a) => write!(f, "{a}"),
            Threshold::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The hard eviction thresholds of a node. [`Default`] is upstream's Linux default
/// (`memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%,imagefs.inodesFree<5%`).
#[derive(Clone, Debug, PartialEq)]
pub struct EvictionHard {
    pub memory_available: Option<Threshold>,
    pub nodefs_available: Option<Threshold>,
    pub nodefs_inodes_free: Option<Threshold>,
    pub imagefs_available: Option<Threshold>,
    pub imagefs_inodes_free: Option<Threshold>,
    pub pid_available: Option<Threshold>,
}

impl Default for EvictionHard {
    fn default() -> EvictionHard {
        EvictionHard {
            memory_available: Some(Threshold::Amount(100 << 20)),
            nodefs_available: Some(Threshold::Percent(10.0)),
            nodefs_inodes_free: Some(Threshold::Percent(5.0)),
            imagefs_available: Some(Threshold::Percent(15.0)),
            imagefs_inodes_free: Some(Threshold::Percent(5.0)),
            pid_available: None,
        }
    }
}

/// What the host has now, for the thresholds to judge.
#[derive(Clone, Copy, Debug, Default)]
pub struct Observations {
    /// (available, capacity) bytes of memory.
    pub memory: Option<(u64, u64)>,
    pub nodefs: Option<FsStats>,
    pub imagefs: Option<FsStats>,
    /// (available, capacity) process IDs.
    pub pids: Option<(u64, u64)>,
}

impl Observations {
    /// Reads the host: memory, the file systems holding `nodefs` and `imagefs`, PIDs.
    pub fn read(nodefs: &Path, imagefs: &Path) -> Observations {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = host::meminfo_field(&meminfo, "MemAvailable").zip(host::meminfo_field(&meminfo, "MemTotal"));
        Observations {
            memory,
            nodefs: host::fs_stats(nodefs),
            imagefs: host::fs_stats(imagefs),
            pids: host::pid_usage().map(|(max, used)| (max.saturating_sub(used), max)),
        }
    }
}

/// The pressure conditions the thresholds give: for each, the signals crossed, as a message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pressure {
    pub memory: Option<String>,
    pub disk: Option<String>,
    pub pid: Option<String>,
}

impl EvictionHard {
    /// No thresholds at all: the node never reports pressure.
    pub fn none() -> EvictionHard {
        EvictionHard {
            memory_available: None,
            nodefs_available: None,
            nodefs_inodes_free: None,
            imagefs_available: None,
            imagefs_inodes_free: None,
            pid_available: None,
        }
    }

    /// Upstream's memory threshold alone: what kind and minikube configure, and what `krs
    /// server`'s own node uses, so that a nearly full disk of a development machine keeps no pod
    /// off its only node.
    pub fn memory_only() -> EvictionHard {
        EvictionHard { memory_available: EvictionHard::default().memory_available, ..EvictionHard::none() }
    }

    /// Parses upstream's flag syntax: comma-separated `signal<threshold`. The empty string is
    /// [`EvictionHard::none`].
    pub fn parse(spec: &str) -> Result<EvictionHard, String> {
        let mut out = EvictionHard::none();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (signal, value) = item
                .split_once('<')
                .ok_or_else(|| format!("eviction threshold {item:?} is not signal<quantity or signal<percent%"))?;
            let slot = match signal.trim() {
                "memory.available" => &mut out.memory_available,
                "nodefs.available" => &mut out.nodefs_available,
                "nodefs.inodesFree" => &mut out.nodefs_inodes_free,
                "imagefs.available" => &mut out.imagefs_available,
                "imagefs.inodesFree" => &mut out.imagefs_inodes_free,
                "pid.available" => &mut out.pid_available,
                other => {
                    return Err(format!(
                        "unknown eviction signal {other:?} (known: memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available)"
                    ));
                }
            };
            if slot.is_some() {
                return Err(format!("eviction signal {signal:?} is given twice"));
            }
            *slot = Some(parse_threshold(value.trim()).map_err(|e| format!("eviction threshold {item:?}: {e}"))?);
        }
        Ok(out)
    }

    /// Which pressure conditions the observations put the node under.
    pub fn pressure(&self, o: &Observations) -> Pressure {
        let check = |threshold: Option<Threshold>, observed: Option<(u64, u64)>, signal: &str| {
            let (t, (available, capacity)) = threshold.zip(observed)?;
            // The message stays the same while the signal stays crossed: a changed condition is
            // written at once, an unchanged one only every nodeStatusReportFrequency.
            t.crossed(available, capacity).then(|| format!("{signal} is below the threshold {t}"))
        };
        let fs_space = |s: Option<FsStats>| s.map(|s| (s.available, s.capacity));
        let fs_inodes = |s: Option<FsStats>| s.map(|s| (s.inodes_free, s.inodes));
        let join = |crossed: Vec<Option<String>>| {
            let crossed: Vec<String> = crossed.into_iter().flatten().collect();
            (!crossed.is_empty()).then(|| crossed.join("; "))
        };
        Pressure {
            memory: check(self.memory_available, o.memory, "memory.available"),
            disk: join(vec![
                check(self.nodefs_available, fs_space(o.nodefs), "nodefs.available"),
                check(self.nodefs_inodes_free, fs_inodes(o.nodefs), "nodefs.inodesFree"),
                check(self.imagefs_available, fs_space(o.imagefs), "imagefs.available"),
                check(self.imagefs_inodes_free, fs_inodes(o.imagefs), "imagefs.inodesFree"),
            ]),
            pid: check(self.pid_available, o.pids, "pid.available"),
        }
    }
}

/// A running pod the eviction manager may pick: the working set of each of its containers.
pub struct Candidate<'a> {
    pub pod: &'a Pod,
    pub containers: Vec<(String, u64)>,
}

impl Candidate<'_> {
    fn usage(&self) -> u64 {
        self.containers.iter().map(|(_, m)| m).sum()
    }

    /// The pod's effective memory request (init containers and sidecars counted as upstream).
    fn request(&self) -> u64 {
        let requests = krs_apimachinery::quota::pods::requests(self.pod);
        requests.get("memory").map(|q| q.value().max(0) as u64).unwrap_or(0)
    }

    fn priority(&self) -> i32 {
        self.pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
    }
}

/// Orders pods for eviction under memory pressure as upstream's `rankMemoryPressure`: pods
/// using more than they request first, then lower priority first, then the largest use above
/// the request first.
pub fn rank_for_memory(candidates: &mut [Candidate<'_>]) {
    candidates.sort_by(|a, b| {
        let exceeds = |c: &Candidate<'_>| c.usage() > c.request();
        let above = |c: &Candidate<'_>| c.usage() as i128 - c.request() as i128;
        exceeds(b).cmp(&exceeds(a)).then(a.priority().cmp(&b.priority())).then(above(b).cmp(&above(a)))
    });
}

/// The reason an evicted pod's status and event give (upstream's `evictionMessage`): the
/// starved resource, the threshold and what was available, and each container using more
/// than it requests.
pub fn memory_eviction_message(threshold: u64, available: u64, c: &Candidate<'_>) -> String {
    let bytes = |n: u64| Quantity::new(n as i64, Format::BinarySI).to_string();
    let mut message = format!(
        "The node was low on resource: memory. Threshold quantity: {}, available: {}. ",
        bytes(threshold),
        bytes(available)
    );
    let spec_containers = c.pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
    for (name, usage) in &c.containers {
        let Some(container) = spec_containers.iter().find(|s| &s.name == name) else { continue };
        let request = container
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("memory"))
            .and_then(|q| Quantity::try_from(q).ok())
            .unwrap_or_else(|| Quantity::new(0, Format::DecimalSI));
        let used = Quantity::new(*usage as i64, Format::BinarySI);
        if used > request {
            message.push_str(&format!(
                "Container {name} was using {used}, request is {request}, has larger consumption of memory. "
            ));
        }
    }
    message
}

impl fmt::Display for EvictionHard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = [
            ("memory.available", self.memory_available),
            ("nodefs.available", self.nodefs_available),
            ("nodefs.inodesFree", self.nodefs_inodes_free),
            ("imagefs.available", self.imagefs_available),
            ("imagefs.inodesFree", self.imagefs_inodes_free),
            ("pid.available", self.pid_available),
        ];
        let mut first = true;
        for (signal, t) in items {
            if let Some(t) = t {
                write!(f, "{}{signal}<{t}", if first { "" } else { "," })?;
                first = false;
            }
        }
        Ok(())
    }
}

fn parse_threshold(value: &str) -> Result<Threshold, String> {
    if let Some(p) = value.strip_suffix('%') {
        let p: f64 = p.trim().parse().map_err(|_| format!("{value:?} is not a percentage"))?;
        if !(0.0..=100.0).contains(&p) {
            return Err(format!("percentage {value:?} is not between 0% and 100%"));
        }
        return Ok(Threshold::Percent(p));
    }
    let q = Quantity::parse(value).map_err(|e| format!("{value:?} is not a quantity: {e}"))?;
    let amount = q.value();
    if amount < 0 {
        return Err(format!("{value:?} is negative"));
    }
    Ok(Threshold::Amount(amount as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, priority: i32, request: Option<&str>) -> Pod {
        let resources = request.map(|r| serde_json::json!({"requests": {"memory": r}})).unwrap_or_default();
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "spec": {"priority": priority,
            "containers": [{"name": "c", "image": "busybox", "resources": resources}]}}))
        .expect("pod")
    }

    #[test]
    fn memory_pressure_evicts_pods_over_their_request_then_low_priority_then_the_largest() {
        let pods = [
            pod("within-request", 0, Some("100Mi")),
            pod("over-high-priority", 1000, Some("10Mi")),
            pod("over-small", 0, Some("10Mi")),
            pod("over-large", 0, None),
        ];
        let usage = [50 << 20, 20 << 20, 11 << 20, 30 << 20];
        let mut candidates: Vec<Candidate<'_>> =
            pods.iter().zip(usage).map(|(pod, u)| Candidate { pod, containers: vec![("c".to_string(), u)] }).collect();
        rank_for_memory(&mut candidates);
        let order: Vec<&str> = candidates.iter().map(|c| c.pod.metadata.name.as_deref().unwrap_or_default()).collect();
        assert_eq!(order, ["over-large", "over-small", "over-high-priority", "within-request"]);
        assert_eq!(
            memory_eviction_message(100 << 20, 50 << 20, &candidates[0]),
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c was using 30Mi, request is 0, has larger consumption of memory. "
        );
        assert_eq!(
            memory_eviction_message(100 << 20, 50 << 20, &candidates[3]),
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "
        );
    }

    #[test]
    fn parses_upstream_syntax_and_prints_it_back() {
        let e = EvictionHard::parse("memory.available<100Mi, nodefs.available<10%,pid.available<1k").expect("parse");
        assert_eq!(e.memory_available, Some(Threshold::Amount(100 << 20)));
        assert_eq!(e.nodefs_available, Some(Threshold::Percent(10.0)));
        assert_eq!(e.pid_available, Some(Threshold::Amount(1000)));
        assert_eq!(e.imagefs_available, None, "a signal left out is not watched");
        assert_eq!(e.to_string(), "memory.available<104857600,nodefs.available<10%,pid.available<1000");
        assert_eq!(EvictionHard::parse("").expect("empty"), EvictionHard::none());
        let d = EvictionHard::default();
        assert_eq!(EvictionHard::parse(&d.to_string()).expect("default round-trips"), d);
    }

    #[test]
    fn bad_thresholds_are_clear_errors() {
        for (spec, says) in [
            ("memory.available=100Mi", "is not signal<quantity"),
            ("disk.available<10%", "unknown eviction signal \"disk.available\""),
            ("nodefs.available<110%", "not between 0% and 100%"),
            ("nodefs.available<ten%", "is not a percentage"),
            ("memory.available<lots", "is not a quantity"),
            ("memory.available<-1Mi", "is negative"),
            ("memory.available<1Mi,memory.available<2Mi", "given twice"),
        ] {
            let e = EvictionHard::parse(spec).expect_err(spec);
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn crossed_thresholds_name_their_signals() {
        let fs = |available, capacity| FsStats { capacity, available, inodes: 1000, inodes_free: 900 };
        let o = Observations {
            memory: Some((50 << 20, 1 << 30)),
            nodefs: Some(fs(9, 100)),
            imagefs: Some(fs(20, 100)),
            pids: Some((100, 1000)),
        };
        let p = EvictionHard::default().pressure(&o);
        assert_eq!(p.memory.as_deref(), Some("memory.available is below the threshold 104857600"));
        assert_eq!(p.disk.as_deref(), Some("nodefs.available is below the threshold 10%"));
        assert_eq!(p.pid, None, "no PID threshold by default");
        let p = EvictionHard::parse("imagefs.available<25%,nodefs.inodesFree<95%,pid.available<20%")
            .expect("parse")
            .pressure(&o);
        assert_eq!(p.memory, None);
        assert_eq!(
            p.disk.as_deref(),
            Some("nodefs.inodesFree is below the threshold 95%; imagefs.available is below the threshold 25%")
        );
        assert_eq!(p.pid.as_deref(), Some("pid.available is below the threshold 20%"));
        assert_eq!(EvictionHard::none().pressure(&o), Pressure::default());
        // Nothing observed (a file system that cannot be read): no pressure claimed.
        assert_eq!(EvictionHard::default().pressure(&Observations::default()), Pressure::default());
    }

    #[test]
    fn the_hosts_own_file_systems_are_observed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let o = Observations::read(dir.path(), dir.path());
        let fs = o.nodefs.expect("statvfs of a temp dir");
        assert!(fs.capacity > 0 && fs.available <= fs.capacity, "{fs:?}");
        assert!(o.memory.is_some_and(|(a, c)| a > 0 && a <= c), "{:?}", o.memory);
        // Everything but a completely empty file system is under 100% free.
        let all = EvictionHard::parse("nodefs.available<100%").expect("parse");
        assert!(all.pressure(&o).disk.is_some_and(|m| m == "nodefs.available is below the threshold 100%"));
        assert_eq!(EvictionHard::parse("nodefs.available<0%").expect("parse").pressure(&o).disk, None);
    }
}
