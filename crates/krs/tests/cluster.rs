//! Whole clusters: `krs server` with its scheduler, controller manager and node agent running
//! in-process, driven with kubectl as a user would. One cluster runs simulated nodes; the other
//! runs real containers through the containerd the agent supervises (inside a network
//! namespace of the test's own, so its bridge, pod addresses and kubelet port never touch the
//! host).

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use common::{Cluster, Kubectl, V1_33, WHOLE_CLUSTER};

fn ready_nodes(k: &Kubectl) -> Vec<String> {
    let template = r#"{range .items[*]}{.metadata.name}{" "}{range .status.conditions[?(@.type=="Ready")]}{.status}{end}{"\n"}{end}"#;
    k.jsonpath(&["nodes"], template).lines().filter_map(|l| l.strip_suffix(" True").map(str::to_string)).collect()
}

#[test]
fn simulated_nodes_run_deployments_jobs_and_namespace_cleanup() {
    if !common::have_kubectl(V1_33) {
        return;
    }
    let cluster = Cluster::start_with_flags(&[WHOLE_CLUSTER, "--sim-nodes", "2"]);
    let k = cluster.client(V1_33);
    let nodes = k.eventually("two Ready simulated nodes", || {
        let ready = ready_nodes(&k);
        (ready.len() == 2).then_some(ready)
    });
    assert_eq!(nodes, ["krs-sim-0", "krs-sim-1"]);

    // The controller manager's service account and root CA publishers fill every namespace.
    k.eventually("the default service account", || {
        k.run(&["get", "serviceaccount", "default"]).status.success().then_some(())
    });
    k.eventually("kube-root-ca.crt", || {
        k.run(&["get", "configmap", "kube-root-ca.crt"]).status.success().then_some(())
    });

    // Deployment -> ReplicaSet -> pods (controllers) -> bound (scheduler) -> Running (agent).
    k.ok(&["create", "deployment", "web", "--image=nginx", "--replicas=3"]);
    k.eventually("3 ready replicas", || {
        (k.jsonpath(&["deployment", "web"], "{.status.readyReplicas}") == "3").then_some(())
    });
    let placed = k.jsonpath(&["pods", "-l", "app=web"], r#"{range .items[*]}{.spec.nodeName}{"\n"}{end}"#);
    assert_eq!(placed.lines().count(), 3, "{placed}");
    assert!(placed.lines().all(|n| n.starts_with("krs-sim-")), "{placed}");
    // Each component writes under its own name (the first word of its User-Agent), as
    // upstream's do: the ReplicaSet controller created the pods, the kubelet wrote their status.
    let pods = k.get_json(&["pods", "-l", "app=web", "--show-managed-fields"]);
    let managers: std::collections::BTreeSet<(String, String)> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["metadata"]["managedFields"].as_array().cloned().unwrap_or_default())
        .map(|e| (e["manager"].as_str().unwrap_or("").to_string(), e["subresource"].as_str().unwrap_or("").to_string()))
        .collect();
    for expected in [("kube-controller-manager", ""), ("kubelet", "status")] {
        let expected = (expected.0.to_string(), expected.1.to_string());
        assert!(managers.contains(&expected), "{expected:?} not among {managers:?}");
    }
    // The in-server scheduler's metrics are served with the API server's.
    let metrics = k.ok(&["get", "--raw", "/metrics"]);
    let scheduled = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"} ")
        })
        .and_then(|n| n.parse::<u64>().ok());
    assert!(scheduled.is_some_and(|n| n >= 3), "{metrics}");
    assert!(metrics.contains("# TYPE scheduler_pending_pods gauge\n"), "{metrics}");
    k.ok(&["scale", "deployment", "web", "--replicas=1"]);
    k.eventually("one pod left", || (k.names(&["pods", "-l", "app=web"]).len() == 1).then_some(()));

    // A Job's pod runs and succeeds; the Job completes.
    k.ok(&["create", "job", "once", "--image=busybox", "--", "true"]);
    k.eventually("the job to succeed", || (k.jsonpath(&["job", "once"], "{.status.succeeded}") == "1").then_some(()));

    // The namespace controller empties and removes a deleted namespace.
    let ns = k.in_new_namespace("doomed");
    ns.ok(&["create", "deployment", "d", "--image=nginx"]);
    ns.eventually("a pod in the doomed namespace", || (!ns.names(&["pods"]).is_empty()).then_some(()));
    k.ok(&["delete", "namespace", ns.namespace(), "--wait=false"]);
    k.eventually("the namespace to disappear", || {
        let out = k.run(&["get", "namespace", ns.namespace()]);
        String::from_utf8_lossy(&out.stderr).contains("NotFound").then_some(())
    });
}

/// Cleanup of the agent's containerd, also when the test fails: pods are removed through the
/// CRI while containerd still runs, the server (which stops containerd) is stopped, then
/// leftover shims and mounts are removed.
struct RealNode {
    cluster: Cluster,
    agent_dir: PathBuf,
}

impl Drop for RealNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What the node saw: the pods' status and the runtime's own log.
            let out = self.cluster.client(V1_33).run(&["get", "pods", "-A", "-o", "yaml"]);
            eprintln!("--- pods ---\n{}", String::from_utf8_lossy(&out.stdout));
            let layout = krs_agent::containerd::Layout::new(&self.agent_dir);
            let log = std::fs::read_to_string(layout.log()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of the containerd log ---");
            tail.iter().rev().for_each(|l| eprintln!("{l}"));
        }
        let socket = krs_agent::containerd::Layout::new(&self.agent_dir).socket();
        if std::os::unix::net::UnixStream::connect(&socket).is_ok()
            && let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build()
        {
            rt.block_on(krs_agent::testing::remove_all_pods(&socket));
        }
        self.cluster.stop();
        krs_agent::testing::remove_leftovers(&self.agent_dir, &socket);
    }
}

fn missing_prerequisites() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    for bin in ["containerd", "runc", "ctr", "ip"] {
        if krs_agent::containerd::which(bin).is_none() {
            return Some(format!("{bin} is not installed"));
        }
    }
    if krs_agent::containerd::config::find_cni_bin_dir().is_none() {
        return Some("the CNI plugins are not installed".into());
    }
    if !std::path::Path::new("/bin/busybox").is_file() {
        return Some("busybox-static is not installed".into());
    }
    None
}

#[test]
fn containerd_node_runs_a_pod_with_logs_and_exec() {
    if let Some(why) = missing_prerequisites() {
        eprintln!("skipping: {why}");
        return;
    }
    if !common::have_kubectl(V1_33) {
        return;
    }
    // A network namespace of this test: krs server, containerd and kubectl all start from this
    // thread and live in it.
    // SAFETY: unshare affects only the calling thread's namespaces.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
    let up = Command::new("ip").args(["link", "set", "lo", "up"]).status().expect("ip link");
    assert!(up.success(), "ip link set lo up");

    let cluster = Cluster::start_with_flags(&[WHOLE_CLUSTER, "--node-name", "real-node"]);
    let agent_dir = cluster.kubeconfig.parent().expect("data dir").join("agent");
    let node = RealNode { cluster, agent_dir };
    let k = node.cluster.client(V1_33);
    k.eventually("the node to be Ready", || (ready_nodes(&k) == ["real-node"]).then_some(()));
    // `krs server`'s own node watches no disk thresholds unless told to: a nearly full disk of
    // the machine (CI's) keeps no pod off it.
    let disk = k.jsonpath(&["node", "real-node"], r#"{.status.conditions[?(@.type=="DiskPressure")].status}"#);
    assert_eq!(disk, "False");

    k.ok(&[
        "run",
        "bb",
        "--image=krs.local/busybox:1",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "echo hello from krs; exec sleep 3600",
    ]);
    k.eventually("the pod to run", || (k.jsonpath(&["pod", "bb"], "{.status.phase}") == "Running").then_some(()));
    let pod = k.get_json(&["pod", "bb"]);
    assert_eq!(pod["spec"]["nodeName"], "real-node", "{pod}");
    assert!(pod["status"]["podIP"].as_str().is_some_and(|ip| ip.starts_with("10.42.0.")), "{pod}");
    k.eventually("the pod's log", || (k.ok(&["logs", "bb"]) == "hello from krs\n").then_some(()));
    assert_eq!(k.ok(&["exec", "bb", "--", "echo", "hi"]), "hi\n");

    k.ok(&["delete", "pod", "bb", "--grace-period=1"]);
    k.eventually("the pod to be gone", || {
        let out = k.run(&["get", "pod", "bb"]);
        String::from_utf8_lossy(&out.stderr).contains("NotFound").then_some(())
    });
    drop(node);
}
