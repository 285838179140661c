//! The krs process: it stops cleanly on SIGTERM (with clients still connected) and keeps its
//! objects across a restart on the same data directory (embedded store).

use crate::common;

use common::{Backend, Cluster, V1_33, have_kubectl};

#[test]
fn server_exits_cleanly_on_sigterm_with_open_watch() {
    if !have_kubectl(V1_33) {
        return;
    }
    let Some(mut cluster) = Cluster::start(Backend::Embedded) else {
        return;
    };
    let k = cluster.client(V1_33);
    k.ok(&["create", "configmap", "x"]);
    let mut watch = k.spawn(&["get", "configmaps", "-w", "-o", "name"]);
    watch.expect_line("configmap/x");
    let status = cluster.stop();
    assert!(status.is_some_and(|s| s.success()), "krs did not exit cleanly on SIGTERM: {status:?}\n{}", cluster.log());
}

#[test]
fn objects_survive_restart_on_same_data_dir() {
    if !have_kubectl(V1_33) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let rv = {
        let mut first = Cluster::start_in(&data, None, &dir.path().join("first"));
        let k = first.client(V1_33).in_new_namespace("durable");
        k.ok(&["create", "configmap", "x", "--from-literal=a=1"]);
        let rv = k.jsonpath(&["configmap", "x"], "{.metadata.resourceVersion}");
        assert!(first.stop().is_some_and(|s| s.success()), "krs did not exit cleanly:\n{}", first.log());
        rv
    };
    let second = Cluster::start_in(&data, None, &dir.path().join("second"));
    let k = second.client(V1_33).in_namespace("durable");
    assert_eq!(k.jsonpath(&["configmap", "x"], "{.metadata.resourceVersion}={.data.a}"), format!("{rv}=1"));
    k.ok(&["create", "configmap", "y"]);
    let next: u64 =
        k.jsonpath(&["configmap", "y"], "{.metadata.resourceVersion}").parse().expect("numeric resourceVersion");
    assert!(next > rv.parse().expect("numeric resourceVersion"), "resourceVersion went back: {rv} then {next}");
}
