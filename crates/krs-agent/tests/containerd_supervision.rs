//! The agent runs containerd itself when no CRI socket is given, and says in one line what to
//! install when containerd is missing.

use crate::common;

use std::time::Duration;

use common::cri::{CriNode, NODE, enter_netns, missing_prerequisites};
use common::{Cluster, RunningAgent, eventually, phase, pod, prepare_namespace, wait_pod};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::events::v1::Event;
use krs_agent::testing::BUSYBOX_IMAGE;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

const T: Duration = Duration::from_secs(90);

#[test]
fn agent_starts_and_stops_its_own_containerd() {
    if let Some(why) = missing_prerequisites() {
        eprintln!("skipping: {why}");
        return;
    }
    enter_netns();
    let cluster = Cluster::start();
    let dir = cluster.dir.path().join("agent");
    // Cleanup duty even if the test fails half-way (declared after the cluster: dropped first).
    let guard = CriNode::adopt(&dir);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = cluster.client().await;
        prepare_namespace(&client, "default").await;
        let mut o = krs_agent::AgentOptions::new(NODE, &dir);
        o.runtime = krs_agent::RuntimeKind::Cri { socket: None };
        o.sandbox_image = krs_agent::testing::PAUSE_IMAGE.into();
        o.pod_cidr = "10.89.0.0/24".into();
        // Thresholds this node is bound to cross (no file system is 100% free) on the image
        // file system, the supervised containerd's root in the data dir.
        o.eviction_hard =
            krs_agent::EvictionHard::parse("memory.available<100Mi,imagefs.available<100%").expect("thresholds");
        let agent = RunningAgent::start(client.clone(), o);
        let socket = krs_agent::containerd::Layout::new(&dir).socket();
        eventually(T, "containerd's socket", || async {
            std::os::unix::net::UnixStream::connect(&socket).ok().map(|_| ())
        })
        .await;
        let config = std::fs::read_to_string(krs_agent::containerd::Layout::new(&dir).config()).unwrap_or_default();
        assert!(
            config.contains("restrict_oom_score_adj = true") && config.contains("SystemdCgroup = false"),
            "{config}"
        );
        // With the local sandbox image the agent builds and imports the busybox images itself,
        // before it registers the node (importing them here too would race it on the same files).

        // The node becomes Ready once the runtime and its network are.
        let nodes: Api<Node> = Api::all(client.clone());
        eventually(T, "node Ready", || async {
            let n = nodes.get(NODE).await.ok()?;
            let ready = n.status?.conditions?.into_iter().any(|c| c.type_ == "Ready" && c.status == "True");
            ready.then_some(())
        })
        .await;
        let n = nodes.get(NODE).await.expect("node");
        let info = n.status.clone().and_then(|s| s.node_info).unwrap_or_default();
        assert!(info.container_runtime_version.starts_with("containerd://"), "{info:?}");
        let cap = n.status.as_ref().and_then(|s| s.capacity.clone()).unwrap_or_default();
        for r in ["cpu", "memory", "ephemeral-storage", "pods", "hugepages-2Mi"] {
            assert!(cap.contains_key(r), "capacity has {r}: {cap:?}");
        }
        let condition = |n: &Node, type_: &str| {
            let c = n.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_)?.clone();
            Some((c.status, c.message.unwrap_or_default()))
        };
        let disk = condition(&n, "DiskPressure").expect("DiskPressure condition");
        assert_eq!(
            disk,
            ("True".into(), "kubelet has disk pressure: imagefs.available is below the threshold 100%".into())
        );
        assert_eq!(condition(&n, "MemoryPressure").map(|c| c.0).as_deref(), Some("False"));
        assert_eq!(condition(&n, "PIDPressure").map(|c| c.0).as_deref(), Some("False"));
        // The node's status events, as upstream's kubelet records them.
        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        eventually(T, "the node's events", || async {
            let list = events.list(&Default::default()).await.ok()?;
            let reasons: Vec<String> = list
                .items
                .into_iter()
                .filter(|e| {
                    e.regarding
                        .as_ref()
                        .is_some_and(|r| r.kind.as_deref() == Some("Node") && r.name.as_deref() == Some(NODE))
                })
                .filter_map(|e| e.reason)
                .collect();
            ["Starting", "NodeHasDiskPressure", "NodeHasSufficientMemory", "NodeReady"]
                .iter()
                .all(|r| reasons.iter().any(|x| x == r))
                .then_some(())
        })
        .await;
        // Allocatable keeps the memory threshold back; no nodefs threshold, no storage kept.
        let alloc = n.status.as_ref().and_then(|s| s.allocatable.clone()).unwrap_or_default();
        let bytes =
            |m: &std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
             r: &str| { krs_apimachinery::quantity::Quantity::parse(&m[r].0).expect("quantity").value() };
        let hugepages: i64 = cap.keys().filter(|k| k.starts_with("hugepages-")).map(|k| bytes(&cap, k)).sum();
        assert_eq!(bytes(&cap, "memory") - bytes(&alloc, "memory"), (100 << 20) + hugepages, "{cap:?} {alloc:?}");
        assert_eq!(bytes(&cap, "ephemeral-storage"), bytes(&alloc, "ephemeral-storage"), "{cap:?} {alloc:?}");

        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        // Under disk pressure only critical pods are admitted (upstream's eviction admission).
        let q = pod(
            NODE,
            serde_json::json!({
                "metadata": {"name": "q"},
                "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "600"]}]}
            }),
        );
        pods.create(&PostParams::default(), &q).await.expect("create");
        let q = wait_pod(&pods, "q", T, "rejected", |p| phase(p) == "Failed").await;
        let s = q.status.unwrap_or_default();
        assert_eq!(
            (s.reason.as_deref(), s.message.as_deref()),
            (Some("Evicted"), Some("Pod was rejected: The node had condition: [DiskPressure]. "))
        );
        let p = pod(
            NODE,
            serde_json::json!({
                "metadata": {"name": "p"},
                "spec": {"terminationGracePeriodSeconds": 1, "priorityClassName": "system-node-critical",
                    "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "600"]}]}
            }),
        );
        pods.create(&PostParams::default(), &p).await.expect("create");
        wait_pod(&pods, "p", T, "Running", |p| phase(p) == "Running").await;
        pods.delete("q", &DeleteParams::default()).await.expect("delete");
        pods.delete("p", &DeleteParams::default()).await.expect("delete");
        eventually(T, "pod gone", || async { pods.get("p").await.is_err().then_some(()) }).await;
        agent.stop().await.expect("agent");
        // containerd went with the agent.
        assert!(std::os::unix::net::UnixStream::connect(&socket).is_err(), "containerd still answers");
    });
    drop(rt);
    drop(guard);
}

#[test]
fn missing_containerd_is_one_clear_line() {
    let empty = tempfile::tempdir().expect("tempdir");
    // SAFETY: this test's process is single-threaded here (nextest runs each test in its own
    // process) and nothing else reads the environment concurrently.
    unsafe { std::env::set_var("PATH", empty.path()) };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let err = rt.block_on(async {
        let config = kube::Config::new("https://127.0.0.1:1".parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        let mut o = krs_agent::AgentOptions::new("n", empty.path().join("data"));
        o.runtime = krs_agent::RuntimeKind::Cri { socket: None };
        krs_agent::run(client, o, std::future::pending()).await
    });
    let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("containerd is not installed") && msg.contains("apt-get install containerd"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}
