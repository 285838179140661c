//! Core printers: pod templates, replication controllers, services, endpoints, secrets,
//! config maps, service accounts.

use serde_json::{Value, json};

use super::super::core::{
    CONFIG_MAP, ENDPOINTS, POD_TEMPLATE, REPLICATION_CONTROLLER, SECRET, SERVICE, SERVICE_ACCOUNT,
};
use super::{MINUTE, ago, almost_now, assert_columns, cells};

#[test]
fn pod_template_table() {
    assert_columns(
        &POD_TEMPLATE,
        &["Name|string|name|0", "Containers|string||0", "Images|string||0", "Pod Labels|string||0"],
    );
    let cases = [
        (
            json!({"metadata": {"name": "pod-template-1"}, "template": {"spec": {"containers": []}}}),
            json!(["pod-template-1", "", "", "<none>"]),
        ),
        (
            json!({"metadata": {"name": "pod-template-2"}, "template": {"spec": {"containers": [
                {"name": "fake-container1", "image": "fake-image1"},
                {"name": "fake-container2", "image": "fake-image2"},
            ]}}}),
            json!(["pod-template-2", "fake-container1,fake-container2", "fake-image1,fake-image2", "<none>"]),
        ),
        (
            json!({"metadata": {"name": "pod-template-3"}, "template": {"metadata": {"labels": {"foo": "bar"}}, "spec": {"containers": []}}}),
            json!(["pod-template-3", "", "", "foo=bar"]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&POD_TEMPLATE, &obj)), expected);
    }
}

#[test]
fn replication_controller_table() {
    assert_columns(
        &REPLICATION_CONTROLLER,
        &[
            "Name|string|name|0",
            "Desired|integer||0",
            "Current|integer||0",
            "Ready|integer||0",
            "Age|string||0",
            "Containers|string||1",
            "Images|string||1",
            "Selector|string||1",
        ],
    );
    let rc = json!({"metadata": {"name": "rc1", "namespace": "test-namespace"},
        "spec": {"replicas": 5, "selector": {"a": "b"}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "test", "image": "test_image"}]},
        }},
        "status": {"replicas": 3, "readyReplicas": 1}});
    assert_eq!(
        Value::from(cells(&REPLICATION_CONTROLLER, &rc)),
        json!(["rc1", 5, 3, 1, "<unknown>", "test", "test_image", "a=b"])
    );
    // A bookmark-like object without a template or selector.
    let bare = json!({"metadata": {"annotations": {"k8s.io/initial-events-end": "true"}}, "spec": {"replicas": 0}});
    assert_eq!(Value::from(cells(&REPLICATION_CONTROLLER, &bare)), json!(["", 0, 0, 0, "<unknown>", "", "", "<none>"]));
}

#[test]
fn service_table() {
    assert_columns(
        &SERVICE,
        &[
            "Name|string|name|0",
            "Type|string||0",
            "Cluster-IP|string||0",
            "External-IP|string||0",
            "Port(s)|string||0",
            "Age|string||0",
            "Selector|string||1",
        ],
    );
    let lb = |name: &str, ports: Value, ingress: Value| {
        json!({"metadata": {"name": name}, "spec": {"clusterIPs": ["1.2.3.4"], "type": "LoadBalancer", "ports": ports, "selector": {"foo": "bar"}},
            "status": {"loadBalancer": {"ingress": ingress}}})
    };
    let tcp80 = json!([{"port": 80, "protocol": "TCP"}]);
    let three =
        json!([{"port": 80, "protocol": "TCP"}, {"port": 8090, "protocol": "UDP"}, {"port": 8000, "protocol": "TCP"}]);
    let cases = [
        (
            lb("service1", tcp80.clone(), json!([{"ip": "2.3.4.5"}, {"ip": "3.4.5.6"}])),
            json!(["service1", "LoadBalancer", "1.2.3.4", "2.3.4.5,3.4.5.6", "80/TCP"]),
        ),
        (
            lb(
                "service2",
                json!([{"port": 80, "protocol": "TCP"}, {"port": 8090, "protocol": "UDP"}, {"port": 8000, "protocol": "TCP"}, {"port": 7777, "protocol": "SCTP"}]),
                json!([]),
            ),
            json!(["service2", "LoadBalancer", "1.2.3.4", "<pending>", "80/TCP,8090/UDP,8000/TCP,7777/SCTP"]),
        ),
        (
            lb("service3", three.clone(), json!([{"ip": "2.3.4.5"}])),
            json!(["service3", "LoadBalancer", "1.2.3.4", "2.3.4.5", "80/TCP,8090/UDP,8000/TCP"]),
        ),
        // The server prints wide: a long list is not elided.
        (
            lb(
                "service4",
                three,
                json!([{"ip": "2.3.4.5"}, {"ip": "3.4.5.6"}, {"ip": "5.6.7.8", "hostname": "host5678"}]),
            ),
            json!(["service4", "LoadBalancer", "1.2.3.4", "2.3.4.5,3.4.5.6,5.6.7.8", "80/TCP,8090/UDP,8000/TCP"]),
        ),
        // Hostnames stand in for missing IPs; external IPs follow the load balancer's.
        (
            json!({"metadata": {"name": "mixed"}, "spec": {"clusterIPs": ["10.0.0.1"], "type": "LoadBalancer", "externalIPs": ["9.9.9.9"], "ports": tcp80},
                "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}}),
            json!(["mixed", "LoadBalancer", "10.0.0.1", "lb.example.com,9.9.9.9", "80/TCP"]),
        ),
        (
            json!({"metadata": {"name": "np"}, "spec": {"clusterIPs": ["10.0.0.2"], "type": "NodePort", "ports": [
                {"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"},
            ]}}),
            json!(["np", "NodePort", "10.0.0.2", "<none>", "80:30080/TCP,443:30443/TCP"]),
        ),
        (
            json!({"metadata": {"name": "cip"}, "spec": {"clusterIPs": ["None"], "type": "ClusterIP", "externalIPs": ["1.1.1.1", "2.2.2.2"]}}),
            json!(["cip", "ClusterIP", "None", "1.1.1.1,2.2.2.2", "<none>"]),
        ),
        (
            json!({"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
            json!(["ext", "ExternalName", "<none>", "db.example.com", "<none>"]),
        ),
        (json!({"metadata": {"name": "odd"}, "spec": {}}), json!(["odd", "", "<none>", "<unknown>", "<none>"])),
    ];
    for (svc, expected) in cases {
        assert_eq!(Value::from(cells(&SERVICE, &svc)[..5].to_vec()), expected, "{svc}");
    }
    let svc = json!({"metadata": {"name": "s", "creationTimestamp": ago(5 * MINUTE)}, "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.3", "selector": {"b": "2", "a": "1"}}});
    assert_eq!(
        Value::from(cells(&SERVICE, &svc)),
        json!(["s", "ClusterIP", "10.0.0.3", "<none>", "<none>", "5m", "a=1,b=2"])
    );
}

#[test]
fn endpoints_table() {
    assert_columns(&ENDPOINTS, &["Name|string|name|0", "Endpoints|string||0", "Age|string||0"]);
    let cases = [
        (
            json!({"metadata": {"name": "endpoint1", "creationTimestamp": almost_now()}}),
            json!(["endpoint1", "<none>", "0s"]),
        ),
        (
            json!({"metadata": {"name": "endpoint3", "creationTimestamp": ago(5 * MINUTE)}, "subsets": [{"addresses": [{"ip": "1.2.3.4"}, {"ip": "5.6.7.8"}]}]}),
            json!(["endpoint3", "1.2.3.4,5.6.7.8", "5m"]),
        ),
        (
            json!({"metadata": {"name": "endpoint2", "creationTimestamp": almost_now()}, "subsets": [{
                "addresses": [{"ip": "1.2.3.4"}, {"ip": "5.6.7.8"}], "ports": [{"port": 8001, "protocol": "tcp"}],
            }]}),
            json!(["endpoint2", "1.2.3.4:8001,5.6.7.8:8001", "0s"]),
        ),
        (
            json!({"metadata": {"name": "endpoint2", "creationTimestamp": almost_now()}, "subsets": [{
                "addresses": [{"ip": "1.2.3.4"}, {"ip": "5.6.7.8"}, {"ip": "9.8.7.6"}, {"ip": "6.6.6.6"}],
                "ports": [{"port": 8001, "protocol": "tcp"}],
            }]}),
            json!(["endpoint2", "1.2.3.4:8001,5.6.7.8:8001,9.8.7.6:8001 + 1 more...", "0s"]),
        ),
        (
            json!({"metadata": {"name": "v6"}, "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]}),
            json!(["v6", "[fd00::1]:80", "<unknown>"]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&ENDPOINTS, &obj)), expected);
    }
}

#[test]
fn secret_config_map_service_account_tables() {
    assert_columns(&SECRET, &["Name|string|name|0", "Type|string||0", "Data|string||0", "Age|string||0"]);
    let secret = json!({"metadata": {"name": "secret1", "creationTimestamp": almost_now()}, "type": "kubernetes.io/service-account-token", "data": {"token": "c2VjcmV0IGRhdGE="}});
    assert_eq!(
        Value::from(cells(&SECRET, &secret)),
        json!(["secret1", "kubernetes.io/service-account-token", 1, "0s"])
    );
    let empty = json!({"metadata": {"name": "secret1", "creationTimestamp": almost_now()}, "type": "kubernetes.io/service-account-token"});
    assert_eq!(Value::from(cells(&SECRET, &empty)), json!(["secret1", "kubernetes.io/service-account-token", 0, "0s"]));

    assert_columns(&CONFIG_MAP, &["Name|string|name|0", "Data|string||0", "Age|string||0"]);
    let cases = [
        (
            json!({"metadata": {"name": "configmap1", "creationTimestamp": almost_now()}}),
            json!(["configmap1", 0, "0s"]),
        ),
        (
            json!({"metadata": {"name": "configmap2", "creationTimestamp": almost_now()}, "data": {"foo": "bar"}}),
            json!(["configmap2", 1, "0s"]),
        ),
        (
            json!({"metadata": {"name": "configmap3", "creationTimestamp": almost_now()}, "data": {"foo": "bar"}, "binaryData": {"bin": "YmluYXJ5IGRhdGE="}}),
            json!(["configmap3", 2, "0s"]),
        ),
    ];
    for (obj, expected) in cases {
        assert_eq!(Value::from(cells(&CONFIG_MAP, &obj)), expected);
    }

    assert_columns(&SERVICE_ACCOUNT, &["Name|string|name|0", "Secrets|string||0", "Age|string||0"]);
    let sa = json!({"metadata": {"name": "sa1", "creationTimestamp": almost_now()}, "secrets": []});
    assert_eq!(Value::from(cells(&SERVICE_ACCOUNT, &sa)), json!(["sa1", 0, "0s"]));
    let sa = json!({"metadata": {"name": "sa1", "creationTimestamp": almost_now()}, "secrets": [{"name": "Secret1"}, {"name": "Secret2"}]});
    assert_eq!(Value::from(cells(&SERVICE_ACCOUNT, &sa)), json!(["sa1", 2, "0s"]));
}
