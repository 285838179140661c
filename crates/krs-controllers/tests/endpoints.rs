//! The Endpoints and EndpointSlice controllers against a real API server.

use crate::common;

use common::*;
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

async fn pod(client: &kube::Client, name: &str, port: i32, ip: &str, ready: bool, node: &str, finalizer: bool) -> Pod {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut p = json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx", "ports": [{"name": "http", "containerPort": port}]}]}
    });
    if finalizer {
        p["metadata"]["finalizers"] = json!(["example.com/hold"]);
    }
    api.create(&PostParams::default(), &serde_json::from_value(p).expect("pod")).await.expect("create pod");
    let now = jiff::Timestamp::now().to_string();
    let status = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": now}]}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("status")
}

async fn slices(client: &kube::Client, svc: &str) -> Vec<EndpointSlice> {
    Api::<EndpointSlice>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={svc}")))
        .await
        .expect("slices")
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_and_slices_follow_pods_named_ports_and_readiness() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    for (n, zone) in [("node-a", "zone-a"), ("node-b", "zone-b")] {
        let node: Node =
            serde_json::from_value(json!({"metadata": {"name": n, "labels": {"topology.kubernetes.io/zone": zone}}}))
                .expect("node");
        nodes.create(&PostParams::default(), &node).await.expect("node");
    }
    let _m = Manager::start(client.clone(), &["endpoint", "endpointslice"], None);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {"team": "x"}},
        "spec": {"selector": {"app": "web"}, "trafficDistribution": "PreferClose",
                 "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    }))
    .expect("service");
    Api::<Service>::namespaced(client.clone(), "default").create(&PostParams::default(), &svc).await.expect("service");
    pod(&client, "a", 8080, "10.0.0.1", true, "node-a", false).await;
    pod(&client, "b", 8080, "10.0.0.2", false, "node-b", false).await;
    pod(&client, "c", 9090, "10.0.0.3", true, "node-a", true).await;

    let eps: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    let ep = wait_for("endpoints with three pods", || async {
        let ep = eps.get_opt("web").await.ok().flatten()?;
        let n: usize = ep
            .subsets
            .iter()
            .flatten()
            .map(|s| s.addresses.as_ref().map_or(0, Vec::len) + s.not_ready_addresses.as_ref().map_or(0, Vec::len))
            .sum();
        (n == 3).then_some(ep)
    })
    .await;
    let subsets = ep.subsets.clone().unwrap_or_default();
    let on = |port: i32| {
        subsets.iter().find(|s| s.ports.as_ref().is_some_and(|p| p[0].port == port)).cloned().expect("subset")
    };
    let s8080 = on(8080);
    assert_eq!(s8080.addresses.as_ref().map(|a| a[0].ip.clone()), Some("10.0.0.1".into()));
    assert_eq!(s8080.not_ready_addresses.as_ref().map(|a| a[0].ip.clone()), Some("10.0.0.2".into()));
    assert_eq!(on(9090).addresses.as_ref().map(|a| a.len()), Some(1));
    assert_eq!(ep.metadata.labels.as_ref().and_then(|l| l.get("team")).map(String::as_str), Some("x"));

    let list = wait_for("two slices (one per port mapping)", || async {
        let list = slices(&client, "web").await;
        (list.len() == 2 && list.iter().map(|s| s.endpoints.len()).sum::<usize>() == 3).then_some(list)
    })
    .await;
    let s = list.iter().find(|s| s.ports.as_ref().is_some_and(|p| p[0].port == Some(8080))).expect("slice for 8080");
    assert_eq!(s.address_type, "IPv4");
    assert_eq!(
        s.metadata.labels.as_ref().and_then(|l| l.get("endpointslice.kubernetes.io/managed-by")).map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    assert_eq!(s.metadata.owner_references.as_ref().map(|o| o[0].kind.clone()), Some("Service".into()));
    let b = s.endpoints.iter().find(|e| e.addresses[0] == "10.0.0.2").expect("b");
    let c = b.conditions.clone().unwrap_or_default();
    assert_eq!((c.ready, c.serving, c.terminating), (Some(false), Some(false), Some(false)));
    assert_eq!(b.zone.as_deref(), Some("zone-b"));
    assert_eq!(b.hints.as_ref().and_then(|h| h.for_zones.as_ref()).map(|z| z[0].name.clone()), Some("zone-b".into()));

    // A terminating pod stays, serving but not ready; the Endpoints drop it.
    Api::<Pod>::namespaced(client.clone(), "default").delete("c", &Default::default()).await.expect("delete c");
    wait_for("c terminating in its slice", || async {
        let list = slices(&client, "web").await;
        let e = list.iter().flat_map(|s| s.endpoints.iter()).find(|e| e.addresses[0] == "10.0.0.3")?.clone();
        let c = e.conditions?;
        (c.terminating == Some(true) && c.serving == Some(true) && c.ready == Some(false)).then_some(())
    })
    .await;
    wait_for("c out of the Endpoints", || async {
        let ep = eps.get("web").await.ok()?;
        (!ep.subsets.iter().flatten().flat_map(|s| s.addresses.iter().flatten()).any(|a| a.ip == "10.0.0.3"))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slices_hold_at_most_100_endpoints() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = Manager::start(client.clone(), &["endpointslice"], None);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    }))
    .expect("service");
    Api::<Service>::namespaced(client.clone(), "default").create(&PostParams::default(), &svc).await.expect("service");
    let placeholder =
        wait_for("the placeholder slice", || async { slices(&client, "web").await.into_iter().next() }).await;
    assert!(placeholder.endpoints.is_empty());
    for i in 0..130 {
        pod(&client, &format!("p{i}"), 8080, &format!("10.1.{}.{}", i / 200, i % 200 + 1), true, "node-a", false).await;
    }
    let list = wait_for("130 endpoints over two slices", || async {
        let list = slices(&client, "web").await;
        (list.iter().map(|s| s.endpoints.len()).sum::<usize>() == 130).then_some(list)
    })
    .await;
    assert_eq!(list.len(), 2, "{:?}", list.iter().map(|s| s.endpoints.len()).collect::<Vec<_>>());
    assert!(list.iter().all(|s| s.endpoints.len() <= 100));
}
