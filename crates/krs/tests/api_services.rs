//! Service IP and node port allocation over the raw API (upstream's MultiCIDRServiceAllocator:
//! every cluster IP is an IPAddress object whose parentRef names its service; node ports come
//! from --service-node-port-range). Two krs servers on one etcd never hand out one IP twice.

use crate::common;

use std::collections::BTreeSet;

use common::http::Api;
use common::{Cluster, Kubectl, start_etcd};
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    cluster_ip_service_gets_ip_in_default_range_and_ipaddress,
    taken_cluster_ip_is_refused_as_already_allocated,
    cluster_ip_outside_range_is_refused_naming_range,
    deleting_service_releases_its_cluster_ip,
    node_port_service_gets_ports_in_range_and_taken_port_is_refused,
    headless_service_gets_no_ipaddress,
    kubernetes_service_and_service_cidr_exist,
);

scenarios!(etcd, Etcd, V1_33:
    cluster_ip_service_gets_ip_in_default_range_and_ipaddress,
    taken_cluster_ip_is_refused_as_already_allocated,
    deleting_service_releases_its_cluster_ip,
    node_port_service_gets_ports_in_range_and_taken_port_is_refused,
);

const SERVICES: &str = "/api/v1/namespaces/default/services";

fn service(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    if spec.get("ports").is_none() {
        spec["ports"] = json!([{"port": 80, "targetPort": 8080}]);
    }
    if spec.get("selector").is_none() {
        spec["selector"] = json!({"app": name});
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

fn ipaddress(ip: &str) -> String {
    format!("/apis/networking.k8s.io/v1/ipaddresses/{ip}")
}

fn in_default_range(ip: &str) -> bool {
    let octets: Vec<u8> = ip.split('.').filter_map(|o| o.parse().ok()).collect();
    octets.len() == 4 && octets[0] == 10 && octets[1] == 43
}

fn cluster_ip_service_gets_ip_in_default_range_and_ipaddress(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let svc = api.post(SERVICES, &service("web", json!({}))).expect(201);
    let ip = svc["spec"]["clusterIP"].as_str().unwrap_or_default().to_string();
    assert!(in_default_range(&ip), "clusterIP {ip:?} not in 10.43.0.0/16: {svc}");
    assert_eq!(svc["spec"]["clusterIPs"], json!([ip]), "{svc}");
    assert_eq!(svc["spec"]["ipFamilies"], json!(["IPv4"]), "{svc}");
    assert_eq!(svc["spec"]["type"], "ClusterIP", "{svc}");

    let addr = api.get(&ipaddress(&ip)).expect(200);
    assert_eq!(addr["kind"], "IPAddress");
    let parent = &addr["spec"]["parentRef"];
    assert_eq!(
        (parent["group"].as_str().unwrap_or_default(), &parent["resource"], &parent["namespace"], &parent["name"]),
        ("", &json!("services"), &json!("default"), &json!("web")),
        "parentRef of {ip}: {addr}"
    );
    // A GET of the service agrees with the create's answer.
    assert_eq!(api.get(&format!("{SERVICES}/web")).expect(200)["spec"]["clusterIP"], json!(ip));
}

fn taken_cluster_ip_is_refused_as_already_allocated(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let a = api.post(SERVICES, &service("a", json!({"clusterIP": "10.43.0.50"}))).expect(201);
    assert_eq!(a["spec"]["clusterIP"], "10.43.0.50");
    let r = api.post(SERVICES, &service("b", json!({"clusterIP": "10.43.0.50"})));
    let status = r.expect(422);
    assert_eq!(status["reason"], "Invalid", "{status}");
    assert_eq!(
        status["message"],
        "Service \"b\" is invalid: spec.clusterIPs: Invalid value: [\"10.43.0.50\"]: failed to allocate IP 10.43.0.50: provided IP is already allocated",
    );
    assert_eq!(status["details"]["causes"][0]["field"], "spec.clusterIPs", "{status}");
    // Nothing of b was kept: the IP still belongs to a.
    assert_eq!(api.get(&format!("{SERVICES}/b")).status, 404);
    assert_eq!(api.get(&ipaddress("10.43.0.50")).expect(200)["spec"]["parentRef"]["name"], "a");
}

fn cluster_ip_outside_range_is_refused_naming_range(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let status = api.post(SERVICES, &service("far", json!({"clusterIP": "192.168.7.7"}))).expect(422);
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Service \"far\" is invalid: spec.clusterIPs: Invalid value: [\"192.168.7.7\"]: failed to allocate IP 192.168.7.7: "),
        "{message}"
    );
    assert!(message.contains("The range of valid IPs is 10.43.0.0/16"), "the range is not named: {message}");
    assert_eq!(api.get(&ipaddress("192.168.7.7")).status, 404);
}

fn deleting_service_releases_its_cluster_ip(k: &Kubectl) {
    let api = Api::new(k.cluster);
    api.post(SERVICES, &service("first", json!({"clusterIP": "10.43.0.77"}))).expect(201);
    api.get(&ipaddress("10.43.0.77")).expect(200);
    api.delete(&format!("{SERVICES}/first")).expect(200);
    api.eventually("the IPAddress of a deleted service to go away", || {
        (api.get(&ipaddress("10.43.0.77")).status == 404).then_some(())
    });
    // The IP can be taken again, by another service.
    let second = api.post(SERVICES, &service("second", json!({"clusterIP": "10.43.0.77"}))).expect(201);
    assert_eq!(second["spec"]["clusterIP"], "10.43.0.77");
    assert_eq!(api.get(&ipaddress("10.43.0.77")).expect(200)["spec"]["parentRef"]["name"], "second");
}

fn node_port_service_gets_ports_in_range_and_taken_port_is_refused(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let spec = json!({"type": "NodePort", "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]});
    let svc = api.post(SERVICES, &service("np", spec)).expect(201);
    let ports: Vec<i64> =
        svc["spec"]["ports"].as_array().expect("ports").iter().map(|p| p["nodePort"].as_i64().unwrap_or(0)).collect();
    assert_eq!(ports.len(), 2, "{svc}");
    assert!(ports.iter().all(|p| (30000..=32767).contains(p)), "nodePorts {ports:?} not in 30000-32767");
    assert_ne!(ports[0], ports[1], "one node port for two service ports: {svc}");
    assert!(in_default_range(svc["spec"]["clusterIP"].as_str().unwrap_or_default()), "{svc}");

    let explicit = json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]});
    let taken = api.post(SERVICES, &service("np-explicit", explicit.clone())).expect(201);
    assert_eq!(taken["spec"]["ports"][0]["nodePort"], 30080);
    let status = api.post(SERVICES, &service("np-again", explicit)).expect(422);
    assert_eq!(
        status["message"],
        "Service \"np-again\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
    );
    // A refused service keeps nothing: its cluster IP went back too (no IPAddress names it).
    let addrs = api.get("/apis/networking.k8s.io/v1/ipaddresses").expect(200);
    let parents: Vec<&Value> =
        addrs["items"].as_array().expect("items").iter().map(|a| &a["spec"]["parentRef"]["name"]).collect();
    assert!(!parents.contains(&&json!("np-again")), "a refused service holds an IP: {addrs}");
}

fn headless_service_gets_no_ipaddress(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let before = api.get("/apis/networking.k8s.io/v1/ipaddresses").expect(200)["items"].as_array().map(Vec::len);
    let svc = api.post(SERVICES, &service("headless", json!({"clusterIP": "None"}))).expect(201);
    assert_eq!(svc["spec"]["clusterIP"], "None", "{svc}");
    assert_eq!(svc["spec"]["clusterIPs"], json!(["None"]), "{svc}");
    let after = api.get("/apis/networking.k8s.io/v1/ipaddresses").expect(200)["items"].as_array().map(Vec::len);
    assert_eq!(before, after, "a headless service got an IPAddress");
}

fn kubernetes_service_and_service_cidr_exist(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let svc = api.get(&format!("{SERVICES}/kubernetes")).expect(200);
    assert_eq!(svc["spec"]["clusterIP"], "10.43.0.1", "{svc}");
    assert_eq!(svc["spec"]["ports"][0]["port"], 443, "{svc}");
    assert_eq!(api.get(&ipaddress("10.43.0.1")).expect(200)["spec"]["parentRef"]["name"], "kubernetes");
    let cidr = api.get("/apis/networking.k8s.io/v1/servicecidrs/kubernetes").expect(200);
    assert_eq!(cidr["spec"]["cidrs"], json!(["10.43.0.0/16"]), "{cidr}");
    // An explicit request for the kubernetes service's IP is refused.
    let status = api.post(SERVICES, &service("thief", json!({"clusterIP": "10.43.0.1"}))).expect(422);
    assert!(status["message"].as_str().unwrap_or_default().contains("provided IP is already allocated"), "{status}");
}

/// Two API servers on one etcd allocate from one pool: 20 services created at once, half on
/// each server, get 20 different IPs, each with its own IPAddress.
#[test]
fn two_servers_on_one_etcd_never_allocate_the_same_ip() {
    let Some(etcd) = start_etcd() else {
        return;
    };
    let endpoint = etcd.endpoint(0);
    let dir = tempfile::tempdir().expect("temporary directory");
    let a = Cluster::start_in(&dir.path().join("data-a"), Some(&endpoint), &dir.path().join("a"));
    let b = Cluster::start_in(&dir.path().join("data-b"), Some(&endpoint), &dir.path().join("b"));
    let (api_a, api_b) = (Api::new(&a), Api::new(&b));
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let api = if i % 2 == 0 { api_a.clone() } else { api_b.clone() };
            std::thread::spawn(move || {
                let svc = api.post(SERVICES, &service(&format!("svc-{i}"), json!({}))).expect(201);
                svc["spec"]["clusterIP"].as_str().unwrap_or_default().to_string()
            })
        })
        .collect();
    let ips: Vec<String> = threads.into_iter().map(|t| t.join().expect("create thread")).collect();
    let distinct: BTreeSet<&String> = ips.iter().collect();
    assert_eq!(distinct.len(), ips.len(), "an IP was handed out twice: {ips:?}");
    for (i, ip) in ips.iter().enumerate() {
        assert!(in_default_range(ip), "{ip}");
        let addr = api_b.get(&ipaddress(ip)).expect(200);
        assert_eq!(addr["spec"]["parentRef"]["name"], json!(format!("svc-{i}")), "IPAddress {ip}: {addr}");
    }
}
