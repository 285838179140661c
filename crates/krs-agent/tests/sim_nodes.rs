//! Simulated nodes against a real `krs server`: registration, leases, and pod lifecycles.

use crate::common;

use std::time::Duration;

use common::{Cluster, RunningAgent, eventually};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

fn pod(name: &str, node: &str, annotations: serde_json::Value, restart: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "nodeName": node,
            "restartPolicy": restart,
            "initContainers": [{"name": "setup", "image": "busybox"}],
            "containers": [{"name": "main", "image": "busybox"}, {"name": "side", "image": "nginx"}]
        }
    }))
    .expect("pod")
}

fn condition(pod: &Pod, type_: &str) -> Option<String> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_).map(|c| c.status.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_nodes_register_renew_and_run_pods() {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    let sim = krs_agent::SimOptions {
        nodes: 3,
        start_delay: Duration::from_millis(300),
        job_duration: Duration::from_secs(1),
        ..Default::default()
    };
    let mut options = krs_agent::AgentOptions::new("unused", cluster.dir.path().join("agent"));
    options.runtime = krs_agent::RuntimeKind::Sim(sim);
    let agent = RunningAgent::start(client.clone(), options);

    // Three Ready nodes with their leases.
    let nodes: Api<Node> = Api::all(client.clone());
    eventually(Duration::from_secs(30), "3 ready simulated nodes", || async {
        let list = nodes.list(&ListParams::default().labels("node.krs.io/simulated=true")).await.ok()?;
        let ready = list
            .items
            .iter()
            .filter(|n| {
                n.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        (ready == 3).then_some(())
    })
    .await;
    let node = nodes.get("krs-sim-1").await.expect("node");
    let alloc = node.status.as_ref().and_then(|s| s.allocatable.clone()).unwrap_or_default();
    assert_eq!(alloc.get("pods").map(|q| q.0.as_str()), Some("110"));
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let first =
        eventually(Duration::from_secs(30), "lease", || async { leases.get("krs-sim-1").await.ok()?.spec?.renew_time })
            .await;
    let lease = leases.get("krs-sim-1").await.expect("lease");
    assert_eq!(lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()), Some("krs-sim-1"));
    let owner = lease.metadata.owner_references.unwrap_or_default();
    assert_eq!(owner.first().map(|o| o.uid.clone()), node.metadata.uid.clone(), "the node owns its lease");

    // A long-running pod becomes Running and Ready with an IP.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("web", "krs-sim-1", serde_json::json!({}), "Always"))
        .await
        .expect("create");
    let running = eventually(Duration::from_secs(30), "web Running", || async {
        let p = pods.get("web").await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await;
    assert_eq!(condition(&running, "Ready").as_deref(), Some("True"));
    assert_eq!(condition(&running, "Initialized").as_deref(), Some("True"));
    let status = running.status.clone().unwrap_or_default();
    assert!(status.pod_ip.as_deref().is_some_and(|ip| ip.starts_with("10.")), "{:?}", status.pod_ip);
    assert_eq!(status.container_statuses.as_ref().map(Vec::len), Some(2));
    assert_eq!(status.init_container_statuses.as_ref().map(Vec::len), Some(1));

    // A pod told to exit 3 under restartPolicy Never fails with that code.
    let annotations = serde_json::json!({"sim.krs.io/run-seconds": "0.5", "sim.krs.io/exit-code": "3"});
    pods.create(&PostParams::default(), &pod("job", "krs-sim-2", annotations, "Never")).await.expect("create");
    let failed = eventually(Duration::from_secs(30), "job Failed", || async {
        let p = pods.get("job").await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Failed")).then_some(p)
    })
    .await;
    let code = failed
        .status
        .and_then(|s| s.container_statuses)
        .and_then(|cs| cs.into_iter().next())
        .and_then(|c| c.state?.terminated)
        .map(|t| t.exit_code);
    assert_eq!(code, Some(3));

    // Deleting a running pod ends with the agent's final deletion.
    pods.delete("web", &DeleteParams::default()).await.expect("delete");
    eventually(Duration::from_secs(30), "web gone", || async {
        matches!(pods.get("web").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(())
    })
    .await;

    // The lease keeps being renewed.
    eventually(Duration::from_secs(30), "lease renewal", || async {
        let t = leases.get("krs-sim-1").await.ok()?.spec?.renew_time?;
        (t.0 > first.0).then_some(())
    })
    .await;
    agent.stop().await.expect("agent stopped cleanly");
}
