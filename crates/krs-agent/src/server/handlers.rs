//! The plain (non-streaming-protocol) kubelet API handlers: /pods, /containerLogs, /metrics,
//! /stats/summary.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::json;

use super::logs::{self, Options};
use super::stream::query_pairs;
use super::{Body, full, text};
use crate::kubelet::Kubelet;
use crate::runtime::ContainerState;

pub fn pods(kubelet: &Kubelet) -> Response<Body> {
    let items: Vec<_> = kubelet.pods().iter().map(|p| p.as_ref().clone()).collect();
    let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items});
    full(StatusCode::OK, "application/json", serde_json::to_vec(&list).unwrap_or_default())
}

pub async fn container_logs(
    kubelet: &Arc<Kubelet>,
    ns: &str,
    pod: &str,
    container: &str,
    query: Option<&str>,
) -> Response<Body> {
    let q = query_pairs(query);
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let on = |k: &str| get(k).is_some_and(|v| matches!(v, "1" | "true" | "True" | ""));
    let Some(p) = kubelet.pod(ns, pod) else { return text(StatusCode::NOT_FOUND, format!("pod {ns}/{pod} not found")) };
    let uid = p.metadata.uid.clone().unwrap_or_default();
    let status = match kubelet.runtime().pod_status(&uid).await {
        Ok(s) => s,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let previous = on("previous");
    let record = if previous { status.previous(container) } else { status.latest(container) };
    let Some(record) = record.cloned() else {
        let why = if previous {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        } else {
            format!("container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating")
        };
        return text(StatusCode::BAD_REQUEST, why);
    };
    let path = crate::runtime::cri::sandbox::log_directory(kubelet.log_root(), &p)
        .join(container)
        .join(format!("{}.log", record.attempt));
    let since = get("sinceTime").and_then(|t| t.parse::<jiff::Timestamp>().ok()).or_else(|| {
        let secs: i64 = get("sinceSeconds")?.parse().ok()?;
        jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(secs)).ok()
    });
    let opts = Options {
        tail_lines: get("tailLines").and_then(|v| v.parse().ok()),
        since,
        timestamps: on("timestamps"),
        limit_bytes: get("limitBytes").and_then(|v| v.parse().ok()),
    };
    let (initial, pos) = match logs::read(&path, &opts) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("reading {}: {e}", path.display())),
    };
    let follow = on("follow") && !previous && record.state == ContainerState::Running;
    if !follow {
        return full(StatusCode::OK, "text/plain", initial);
    }
    // Follow: the current content, then new lines as they are written, until the container
    // stops (or the client goes away).
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let kubelet = kubelet.clone();
    let container = container.to_owned();
    let timestamps = opts.timestamps;
    let mut remaining = opts.limit_bytes;
    tokio::spawn(async move {
        if !initial.is_empty() {
            if let Some(r) = remaining.as_mut() {
                *r = r.saturating_sub(initial.len());
            }
            if tx.send(Bytes::from(initial)).await.is_err() {
                return;
            }
        }
        let mut pos = pos;
        let mut checks = 0u32;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (lines, next) = logs::read_from(&path, pos).unwrap_or((Vec::new(), pos));
            pos = next;
            let mut out = Vec::new();
            for l in &lines {
                if let Some(parsed) = logs::parse(l) {
                    logs::render(&parsed, timestamps, &mut out);
                }
            }
            if let Some(r) = remaining.as_mut() {
                out.truncate(*r);
                *r -= out.len();
            }
            if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
                return;
            }
            if remaining == Some(0) || tx.is_closed() {
                return;
            }
            checks += 1;
            if lines.is_empty() && checks.is_multiple_of(5) {
                let running = kubelet.runtime().pod_status(&uid).await.ok().and_then(|s| {
                    s.latest(&container).map(|c| c.id == record.id && c.state == ContainerState::Running)
                });
                if running != Some(true) {
                    return;
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(Frame::data(b)), rx))
    });
    let mut r = Response::new(StreamBody::new(stream).boxed());
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    r
}

pub async fn metrics(kubelet: &Arc<Kubelet>) -> Response<Body> {
    let pods = kubelet.pods().len();
    let list = kubelet.runtime().list().await.unwrap_or_default();
    let (mut running, mut exited, mut created) = (0, 0, 0);
    for p in list.values() {
        for c in &p.containers {
            match c.state {
                ContainerState::Running => running += 1,
                ContainerState::Exited => exited += 1,
                _ => created += 1,
            }
        }
    }
    let node = &kubelet.options().node_name;
    let body = format!(
        "# HELP kubelet_node_name The node's name. The count is always 1.\n# TYPE kubelet_node_name gauge\nkubelet_node_name{{node=\"{node}\"}} 1\n\
# HELP kubelet_running_pods Number of pods that have a running pod sandbox\n# TYPE kubelet_running_pods gauge\nkubelet_running_pods {}\n\
# HELP kubelet_desired_pods The number of pods the kubelet is being instructed to run.\n# TYPE kubelet_desired_pods gauge\nkubelet_desired_pods {pods}\n\
# HELP kubelet_running_containers Number of containers currently running\n# TYPE kubelet_running_containers gauge\n\
kubelet_running_containers{{container_state=\"running\"}} {running}\nkubelet_running_containers{{container_state=\"exited\"}} {exited}\nkubelet_running_containers{{container_state=\"created\"}} {created}\n",
        list.values().filter(|p| p.sandboxes.iter().any(|s| s.ready)).count(),
    );
    full(StatusCode::OK, "text/plain; version=0.0.4", body)
}

fn node_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else { return 0 };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    let busy: u64 = v.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 4).take(8).map(|(_, x)| x).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    busy * (1_000_000_000 / hz)
}

pub async fn summary(kubelet: &Arc<Kubelet>) -> Response<Body> {
    let now = jiff::Timestamp::now().to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total = crate::node::host::meminfo_field(&meminfo, "MemTotal").unwrap_or(0);
    let avail = crate::node::host::meminfo_field(&meminfo, "MemAvailable").unwrap_or(0);
    let fs = crate::node::host::fs_stats(&kubelet.options().data_dir);
    let fs_json = fs.map(|s| {
        json!({"time": now, "availableBytes": s.available, "capacityBytes": s.capacity,
               "usedBytes": s.capacity.saturating_sub(s.available), "inodesFree": s.inodes_free, "inodes": s.inodes,
               "inodesUsed": s.inodes.saturating_sub(s.inodes_free)})
    });
    let stats = kubelet.runtime().container_stats().await.unwrap_or_default();
    let mut pods = Vec::new();
    for p in kubelet.pods() {
        let uid = p.metadata.uid.clone().unwrap_or_default();
        let containers: Vec<_> = stats
            .iter()
            .filter(|s| s.pod_uid == uid)
            .map(|s| {
                json!({"name": s.name, "startTime": now,
                       "cpu": {"time": now, "usageCoreNanoSeconds": s.cpu_ns},
                       "memory": {"time": now, "workingSetBytes": s.memory_working_set}})
            })
            .collect();
        let cpu: u64 = stats.iter().filter(|s| s.pod_uid == uid).map(|s| s.cpu_ns).sum();
        let mem: u64 = stats.iter().filter(|s| s.pod_uid == uid).map(|s| s.memory_working_set).sum();
        pods.push(json!({
            "podRef": {"name": p.metadata.name, "namespace": p.metadata.namespace, "uid": uid},
            "startTime": p.status.as_ref().and_then(|s| s.start_time.clone()),
            "containers": containers,
            "cpu": {"time": now, "usageCoreNanoSeconds": cpu},
            "memory": {"time": now, "workingSetBytes": mem},
        }));
    }
    let body = json!({
        "node": {
            "nodeName": kubelet.options().node_name,
            "cpu": {"time": now, "usageCoreNanoSeconds": node_cpu_ns()},
            "memory": {"time": now, "availableBytes": avail, "usageBytes": total.saturating_sub(avail),
                       "workingSetBytes": total.saturating_sub(avail)},
            "fs": fs_json,
        },
        "pods": pods,
    });
    full(StatusCode::OK, "application/json", serde_json::to_vec(&body).unwrap_or_default())
}
