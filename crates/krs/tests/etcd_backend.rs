//! krs on etcd (`--etcd-servers`): the state lives in etcd, so it outlives a krs process, and
//! several krs servers on one etcd serve the same objects and see each other's writes in their
//! watches (upstream's highly available API servers). The scenario files run their core
//! scenarios on etcd too (modules `etcd_kubectl_1_33`).

use crate::common;

use common::{Cluster, V1_33, have_kubectl, start_etcd};

#[test]
fn objects_survive_restart_on_same_etcd() {
    if !have_kubectl(V1_33) {
        return;
    }
    let Some(etcd) = start_etcd() else {
        return;
    };
    let endpoint = etcd.endpoint(0);
    let dir = tempfile::tempdir().expect("temporary directory");
    let rv = {
        let mut first = Cluster::start_in(&dir.path().join("data-1"), Some(&endpoint), &dir.path().join("first"));
        let k = first.client(V1_33).in_new_namespace("durable");
        k.ok(&["create", "configmap", "x", "--from-literal=a=1"]);
        let rv = k.jsonpath(&["configmap", "x"], "{.metadata.resourceVersion}");
        assert!(first.stop().is_some_and(|s| s.success()), "krs did not exit cleanly:\n{}", first.log());
        rv
    };
    // A new data directory (new PKI, nothing local): everything comes from etcd.
    let second = Cluster::start_in(&dir.path().join("data-2"), Some(&endpoint), &dir.path().join("second"));
    let k = second.client(V1_33).in_namespace("durable");
    assert_eq!(k.jsonpath(&["configmap", "x"], "{.metadata.resourceVersion}={.data.a}"), format!("{rv}=1"));
    assert_eq!(k.names(&["namespace", "durable"]), ["namespace/durable"]);
    k.ok(&["create", "configmap", "y"]);
    let next: u64 =
        k.jsonpath(&["configmap", "y"], "{.metadata.resourceVersion}").parse().expect("numeric resourceVersion");
    assert!(next > rv.parse().expect("numeric resourceVersion"), "resourceVersion went back: {rv} then {next}");
}

#[test]
fn two_servers_on_one_etcd_see_each_others_writes() {
    if !have_kubectl(V1_33) {
        return;
    }
    let Some(etcd) = start_etcd() else {
        return;
    };
    let endpoint = etcd.endpoint(0);
    let dir = tempfile::tempdir().expect("temporary directory");
    let a = Cluster::start_in(&dir.path().join("data-a"), Some(&endpoint), &dir.path().join("a"));
    let b = Cluster::start_in(&dir.path().join("data-b"), Some(&endpoint), &dir.path().join("b"));
    let ka = a.client(V1_33).in_new_namespace("shared");
    let kb = b.client(V1_33).in_namespace("shared");

    ka.ok(&["create", "configmap", "x", "--from-literal=a=1"]);
    // Reads are consistent: a write acknowledged by one server is visible at once on the other.
    assert_eq!(kb.jsonpath(&["configmap", "x"], "{.data.a}"), "1");
    assert_eq!(kb.names(&["configmaps"]), ["configmap/x"]);

    let mut watch = kb.spawn(&[
        "get",
        "configmaps",
        "-w",
        "--output-watch-events",
        "-o",
        r#"jsonpath={.type} {.object.metadata.name}{"\n"}"#,
    ]);
    watch.expect_line("ADDED x");
    ka.ok(&["create", "configmap", "y"]);
    ka.ok(&["delete", "configmap", "x"]);
    assert_eq!(watch.expect_line("ADDED y"), Vec::<String>::new());
    assert_eq!(watch.expect_line("DELETED x"), Vec::<String>::new());

    // And the other way round.
    kb.ok(&["label", "configmap", "y", "from=b"]);
    assert_eq!(ka.jsonpath(&["configmap", "y"], "{.metadata.labels.from}"), "b");
}
