//! Networking, discovery, coordination, scheduling, node and storage printers.

use serde_json::{Value, json};

use super::super::coordination::{LEASE, LEASE_CANDIDATE};
use super::super::discovery::ENDPOINT_SLICE;
use super::super::networking::{INGRESS, INGRESS_CLASS, IP_ADDRESS, NETWORK_POLICY, SERVICE_CIDR};
use super::super::node::RUNTIME_CLASS;
use super::super::scheduling::PRIORITY_CLASS;
use super::super::storage::{CSI_DRIVER, CSI_NODE, STORAGE_CLASS, VOLUME_ATTACHMENT, VOLUME_ATTRIBUTES_CLASS};
use super::{DAY, MINUTE, ago, almost_now, assert_columns, cells, check, named, raw_cells};

#[test]
fn ingress_tables() {
    assert_columns(
        &INGRESS,
        &[
            "Name|string|name|0",
            "Class|string||0",
            "Hosts|string||0",
            "Address|string||0",
            "Ports|string||0",
            "Age|string||0",
        ],
    );
    let ten_years = ago(10 * 365 * DAY);
    check(
        &INGRESS,
        &[
            (
                named(
                    "test1",
                    ten_years.clone(),
                    json!({"spec": {"ingressClassName": "foo", "defaultBackend": {"service": {"name": "default-backend", "port": {"number": 80}}}},
                    "status": {"loadBalancer": {"ingress": [{"ip": "2.3.4.5", "hostname": "localhost.localdomain"}]}}}),
                ),
                json!(["test1", "foo", "*", "2.3.4.5", "80", "10y"]),
            ),
            (
                named(
                    "hosts",
                    ten_years.clone(),
                    json!({"spec": {"tls": [{}], "rules": [{"host": "a"}, {}, {"host": "b"}, {"host": "c"}, {"host": "d"}]}}),
                ),
                json!(["hosts", "<none>", "a,b,c + 2 more...", "", "80, 443", "10y"]),
            ),
        ],
    );

    assert_columns(
        &INGRESS_CLASS,
        &["Name|string|name|0", "Controller|string||0", "Parameters|string||0", "Age|string||0"],
    );
    check(
        &INGRESS_CLASS,
        &[
            (
                named(
                    "test1",
                    ten_years.clone(),
                    json!({"spec": {"controller": "example.com/controller", "parameters": {"kind": "customgroup", "name": "example"}}}),
                ),
                json!(["test1", "example.com/controller", "customgroup/example", "10y"]),
            ),
            (
                named(
                    "test1",
                    ten_years,
                    json!({"spec": {"controller": "example.com/controller", "parameters": {"apiGroup": "example.com", "kind": "customgroup", "name": "example"}}}),
                ),
                json!(["test1", "example.com/controller", "customgroup.example.com/example", "10y"]),
            ),
            (
                named("test2", ago(11 * 365 * DAY), json!({"spec": {"controller": "example.com/controller2"}})),
                json!(["test2", "example.com/controller2", "<none>", "11y"]),
            ),
        ],
    );
}

#[test]
fn network_policy_service_cidr_ip_address_tables() {
    assert_columns(&NETWORK_POLICY, &["Name|string|name|0", "Pod-Selector|string||0", "Age|string||0"]);
    check(
        &NETWORK_POLICY,
        &[
            (named("policy1", almost_now(), json!({"spec": {}})), json!(["policy1", "<none>", "0s"])),
            (
                named("policy2", almost_now(), json!({"spec": {"podSelector": {"matchLabels": {"foo": "bar"}}}})),
                json!(["policy2", "foo=bar", "0s"]),
            ),
        ],
    );

    assert_columns(&SERVICE_CIDR, &["Name|string|name|0", "CIDRs|string||0", "Age|string||0"]);
    let cidr = json!({"metadata": {"name": "test9"}, "spec": {"cidrs": ["10.1.0.0/16", "fd00:1:1::/64"]}});
    assert_eq!(Value::from(cells(&SERVICE_CIDR, &cidr)), json!(["test9", "10.1.0.0/16,fd00:1:1::/64", "<unknown>"]));

    // Upstream declares no Age column for IP addresses, yet prints an age cell.
    assert_columns(&IP_ADDRESS, &["Name|string|name|0", "ParentRef|string||0"]);
    let ip = named(
        "192.168.2.2",
        ago(10 * 365 * DAY),
        json!({"spec": {"parentRef": {"group": "mygroup", "resource": "myresource", "namespace": "mynamespace", "name": "myname"}}}),
    );
    assert_eq!(
        Value::from(raw_cells(&IP_ADDRESS, &ip)),
        json!(["192.168.2.2", "myresource.mygroup/mynamespace/myname", "10y"])
    );
    let ip = json!({"metadata": {"name": "10.96.0.1"}, "spec": {"parentRef": {"resource": "Services", "namespace": "default", "name": "kubernetes"}}});
    assert_eq!(
        Value::from(raw_cells(&IP_ADDRESS, &ip)),
        json!(["10.96.0.1", "services/default/kubernetes", "<unknown>"])
    );
}

#[test]
fn endpoint_slice_table() {
    assert_columns(
        &ENDPOINT_SLICE,
        &["Name|string|name|0", "AddressType|string||0", "Ports|string||0", "Endpoints|string||0", "Age|string||0"],
    );
    let port = |name: &str, port: i64| json!({"name": name, "port": port, "protocol": "TCP"});
    let endpoints =
        json!([{"addresses": ["10.1.2.3", "2001:db8::1234:5678"]}, {"addresses": ["10.2.3.4", "2001:db8::2345:6789"]}]);
    check(
        &ENDPOINT_SLICE,
        &[
            (
                named(
                    "abcslice.123",
                    almost_now(),
                    json!({"addressType": "IPv4", "ports": [port("http", 80)], "endpoints": [{"addresses": ["10.1.2.3", "2001:db8::1234:5678"]}]}),
                ),
                json!(["abcslice.123", "IPv4", "80", "10.1.2.3,2001:db8::1234:5678", "0s"]),
            ),
            (
                named(
                    "longerslicename.123",
                    ago(5 * MINUTE),
                    json!({"addressType": "IPv6", "ports": [port("http", 80), port("https", 443)], "endpoints": endpoints}),
                ),
                json!([
                    "longerslicename.123",
                    "IPv6",
                    "80,443",
                    "10.1.2.3,2001:db8::1234:5678,10.2.3.4 + 1 more...",
                    "5m"
                ]),
            ),
            (
                named(
                    "multiportslice.123",
                    ago(5 * MINUTE),
                    json!({"addressType": "IPv4",
                    "ports": [port("http", 80), port("https", 443), port("extra1", 3000), port("extra2", 3001)], "endpoints": endpoints}),
                ),
                json!([
                    "multiportslice.123",
                    "IPv4",
                    "80,443,3000 + 1 more...",
                    "10.1.2.3,2001:db8::1234:5678,10.2.3.4 + 1 more...",
                    "5m"
                ]),
            ),
            (
                named("empty", ago(5 * MINUTE), json!({"addressType": "FQDN", "ports": [{"name": "dns"}, {}]})),
                json!(["empty", "FQDN", "dns,*", "<unset>", "5m"]),
            ),
        ],
    );
}

#[test]
fn lease_priority_runtime_class_tables() {
    assert_columns(&LEASE, &["Name|string|name|0", "Holder|string||0", "Age|string||0"]);
    check(
        &LEASE,
        &[
            (
                named("lease1", almost_now(), json!({"spec": {"holderIdentity": "holder1"}})),
                json!(["lease1", "holder1", "0s"]),
            ),
            (
                named("lease2", ago(5 * MINUTE), json!({"spec": {"holderIdentity": "holder2"}})),
                json!(["lease2", "holder2", "5m"]),
            ),
        ],
    );
    assert_columns(
        &LEASE_CANDIDATE,
        &[
            "Name|string|name|0",
            "LeaseName|string||0",
            "BinaryVersion|string||0",
            "EmulationVersion|string||0",
            "Age|string||0",
        ],
    );
    let candidate = named(
        "test-lease",
        ago(5 * MINUTE),
        json!({"spec": {"binaryVersion": "test-binary-version", "emulationVersion": "test-emulation-version", "leaseName": "test-lease-name"}}),
    );
    assert_eq!(
        Value::from(cells(&LEASE_CANDIDATE, &candidate)),
        json!(["test-lease", "test-lease-name", "test-binary-version", "test-emulation-version", "5m"])
    );

    assert_columns(
        &PRIORITY_CLASS,
        &[
            "Name|string|name|0",
            "Value|integer||0",
            "Global-Default|boolean||0",
            "Age|string||0",
            "PreemptionPolicy|string||0",
        ],
    );
    check(
        &PRIORITY_CLASS,
        &[
            (
                named("pc1", almost_now(), json!({"value": 1, "preemptionPolicy": "Never"})),
                json!(["pc1", 1, false, "0s", "Never"]),
            ),
            (
                named(
                    "pc2",
                    ago(5 * MINUTE),
                    json!({"value": 1_000_000_000, "globalDefault": true, "preemptionPolicy": "PreemptLowerPriority"}),
                ),
                json!(["pc2", 1_000_000_000, true, "5m", "PreemptLowerPriority"]),
            ),
            (
                named("pc2", ago(5 * MINUTE), json!({"value": 1_000_000_000, "globalDefault": true})),
                json!(["pc2", 1_000_000_000, true, "5m", ""]),
            ),
        ],
    );

    assert_columns(&RUNTIME_CLASS, &["Name|string|name|0", "Handler|string||0", "Age|string||0"]);
    check(
        &RUNTIME_CLASS,
        &[
            (named("rc1", almost_now(), json!({"handler": "h1"})), json!(["rc1", "h1", "0s"])),
            (named("rc2", ago(5 * MINUTE), json!({"handler": "h2"})), json!(["rc2", "h2", "5m"])),
        ],
    );
}

#[test]
fn storage_tables() {
    assert_columns(
        &STORAGE_CLASS,
        &[
            "Name|string|name|0",
            "Provisioner|string||0",
            "ReclaimPolicy|string||0",
            "VolumeBindingMode|string||0",
            "AllowVolumeExpansion|string||0",
            "Age|string||0",
        ],
    );
    check(
        &STORAGE_CLASS,
        &[
            (
                named("sc1", almost_now(), json!({"provisioner": "kubernetes.io/glusterfs"})),
                json!(["sc1", "kubernetes.io/glusterfs", "Delete", "Immediate", false, "0s"]),
            ),
            (
                named(
                    "sc4",
                    ago(5 * MINUTE),
                    json!({"provisioner": "kubernetes.io/nfs", "reclaimPolicy": "Retain", "volumeBindingMode": "Immediate"}),
                ),
                json!(["sc4", "kubernetes.io/nfs", "Retain", "Immediate", false, "5m"]),
            ),
            (
                named(
                    "sc6",
                    ago(5 * MINUTE),
                    json!({"provisioner": "kubernetes.io/nfs", "reclaimPolicy": "Retain", "allowVolumeExpansion": true, "volumeBindingMode": "WaitForFirstConsumer"}),
                ),
                json!(["sc6", "kubernetes.io/nfs", "Retain", "WaitForFirstConsumer", true, "5m"]),
            ),
            (
                json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rancher.io/local-path"}),
                json!(["standard (default)", "rancher.io/local-path", "Delete", "Immediate", false, "<unknown>"]),
            ),
        ],
    );

    assert_columns(&VOLUME_ATTRIBUTES_CLASS, &["Name|string|name|0", "DriverName|string||0", "Age|string||0"]);
    check(
        &VOLUME_ATTRIBUTES_CLASS,
        &[
            (named("vac1", almost_now(), json!({"driverName": "fake"})), json!(["vac1", "fake", "0s"])),
            (
                named("vac2", ago(5 * MINUTE), json!({"driverName": "fake", "parameters": {"iops": "500"}})),
                json!(["vac2", "fake", "5m"]),
            ),
            (
                json!({"metadata": {"name": "gold", "annotations": {"volumeattributesclass.kubernetes.io/is-default-class": "true"}}, "driverName": "d"}),
                json!(["gold (default)", "d", "<unknown>"]),
            ),
        ],
    );

    assert_columns(
        &CSI_DRIVER,
        &[
            "Name|string|name|0",
            "AttachRequired|boolean||0",
            "PodInfoOnMount|boolean||0",
            "StorageCapacity|boolean||0",
            "TokenRequests|string||0",
            "RequiresRepublish|boolean||0",
            "Modes|string||0",
            "Age|string||0",
        ],
    );
    check(
        &CSI_DRIVER,
        &[
            (
                named("csi.example.com", ago(2 * MINUTE), json!({"spec": {}})),
                json!(["csi.example.com", true, false, false, "<unset>", false, "<none>", "2m"]),
            ),
            (
                named(
                    "d2",
                    ago(DAY),
                    json!({"spec": {"attachRequired": false, "podInfoOnMount": true, "storageCapacity": true, "requiresRepublish": true,
                    "tokenRequests": [{"audience": "a"}, {"audience": "b"}], "volumeLifecycleModes": ["Persistent", "Ephemeral"]}}),
                ),
                json!(["d2", false, true, true, "a,b", true, "Persistent,Ephemeral", "24h"]),
            ),
        ],
    );

    assert_columns(&CSI_NODE, &["Name|string|name|0", "Drivers|integer||0", "Age|string||0"]);
    check(
        &CSI_NODE,
        &[(
            named("node1", almost_now(), json!({"spec": {"drivers": [{"name": "a"}, {"name": "b"}]}})),
            json!(["node1", 2, "0s"]),
        )],
    );

    assert_columns(
        &VOLUME_ATTACHMENT,
        &[
            "Name|string|name|0",
            "Attacher|string|name|0",
            "PV|string||0",
            "Node|string||0",
            "Attached|boolean||0",
            "Age|string||0",
        ],
    );
    check(
        &VOLUME_ATTACHMENT,
        &[(
            named(
                "va",
                almost_now(),
                json!({"spec": {"attacher": "csi.example.com", "nodeName": "n1", "source": {"persistentVolumeName": "pv1"}}, "status": {"attached": true}}),
            ),
            json!(["va", "csi.example.com", "pv1", "n1", true, "0s"]),
        )],
    );
}
