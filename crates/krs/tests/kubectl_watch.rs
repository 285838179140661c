//! kubectl get -w: a running watch sees the changes made while it runs, in order, filtered by
//! name and by label selector (objects entering and leaving a selector are ADDED and DELETED, as
//! upstream's watch cache reports them).

use crate::common;

use std::time::Duration;

use common::{Background, Kubectl};

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    get_watch_sees_changes_made_while_running,
    get_watch_only_skips_existing_objects,
    get_watch_by_name_ignores_other_objects,
    get_watch_with_label_selector_sees_objects_enter_and_leave,
);

scenarios!(embedded_kubectl_1_33, Embedded, V1_33:
    get_watch_sees_changes_made_while_running,
    get_watch_only_skips_existing_objects,
    get_watch_by_name_ignores_other_objects,
    get_watch_with_label_selector_sees_objects_enter_and_leave,
);

scenarios!(etcd_kubectl_1_33, Etcd, V1_33:
    get_watch_sees_changes_made_while_running,
    get_watch_with_label_selector_sees_objects_enter_and_leave,
);

/// One line per event: "ADDED name".
const EVENT_LINE: &str = r#"jsonpath={.type} {.object.metadata.name}{"\n"}"#;

fn watch(k: &Kubectl, args: &[&str]) -> Background {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-w", "--output-watch-events", "-o", EVENT_LINE]);
    k.spawn(&all)
}

fn get_watch_sees_changes_made_while_running(k: &Kubectl) {
    let k = k.in_new_namespace("watch");
    k.ok(&["create", "configmap", "before"]);
    let mut w = watch(&k, &["configmaps"]);
    // The initial list comes first, as ADDED events.
    assert_eq!(w.expect_line("ADDED before"), Vec::<String>::new());

    k.ok(&["create", "configmap", "during", "--from-literal=a=1"]);
    k.ok(&["label", "configmap", "during", "app=web"]);
    k.ok(&["patch", "configmap", "during", "--type=merge", "-p", r#"{"data":{"a":"2"}}"#]);
    k.ok(&["delete", "configmap", "during"]);
    k.ok(&["delete", "configmap", "before"]);

    assert_eq!(w.expect_line("ADDED during"), Vec::<String>::new());
    assert_eq!(w.expect_line("MODIFIED during"), Vec::<String>::new());
    assert_eq!(w.expect_line("MODIFIED during"), Vec::<String>::new());
    assert_eq!(w.expect_line("DELETED during"), Vec::<String>::new());
    assert_eq!(w.expect_line("DELETED before"), Vec::<String>::new());
}

fn get_watch_only_skips_existing_objects(k: &Kubectl) {
    let k = k.in_new_namespace("watchonly");
    k.ok(&["create", "configmap", "old"]);
    let mut w = k.spawn(&["get", "configmaps", "--watch-only", "--output-watch-events", "-o", EVENT_LINE]);
    // --watch-only prints nothing until a change: change "old" until the watch reports it (a
    // change made before kubectl's initial list is in the list, not in the watch).
    for probe in 0.. {
        k.ok(&["label", "configmap", "old", &format!("probe={probe}"), "--overwrite"]);
        if let Some(before) = w.line_within("MODIFIED old", Duration::from_secs(3)) {
            assert_eq!(before, Vec::<String>::new(), "existing objects were shown");
            break;
        }
        assert!(probe < 20, "the watch never reported a change: {:?}", w.seen());
    }
    k.ok(&["create", "configmap", "new"]);
    let before = w.expect_line("ADDED new");
    assert!(before.iter().all(|l| l == "MODIFIED old"), "{before:?}");
    k.ok(&["delete", "configmap", "old"]);
    assert_eq!(w.expect_line("DELETED old"), Vec::<String>::new());
}

fn get_watch_by_name_ignores_other_objects(k: &Kubectl) {
    let k = k.in_new_namespace("watchname");
    k.ok(&["create", "configmap", "x"]);
    k.ok(&["create", "configmap", "other"]);
    let mut w = watch(&k, &["configmap", "x"]);
    assert_eq!(w.expect_line("ADDED x"), Vec::<String>::new());

    k.ok(&["label", "configmap", "other", "a=1"]);
    k.ok(&["label", "configmap", "x", "a=1"]);
    k.ok(&["delete", "configmap", "other"]);
    k.ok(&["delete", "configmap", "x"]);
    // kubectl watches a single object from resourceVersion "0", which may repeat its current
    // state as an ADDED event first.
    let before = w.expect_line("MODIFIED x");
    assert!(before.iter().all(|l| l == "ADDED x"), "{before:?}");
    assert_eq!(w.expect_line("DELETED x"), Vec::<String>::new());
    assert!(!w.seen().iter().any(|l| l.ends_with(" other")), "events of another object: {:?}", w.seen());
}

fn get_watch_with_label_selector_sees_objects_enter_and_leave(k: &Kubectl) {
    let k = k.in_new_namespace("watchsel");
    k.ok(&["create", "configmap", "in"]);
    k.ok(&["label", "configmap", "in", "app=web"]);
    k.ok(&["create", "configmap", "out"]);
    let mut w = watch(&k, &["configmaps", "-l", "app=web"]);
    assert_eq!(w.expect_line("ADDED in"), Vec::<String>::new());

    // Starts matching: ADDED; changes while matching: MODIFIED; stops matching: DELETED.
    k.ok(&["label", "configmap", "out", "app=web"]);
    k.ok(&["annotate", "configmap", "out", "note=1"]);
    k.ok(&["label", "configmap", "out", "app=db", "--overwrite"]);
    k.ok(&["annotate", "configmap", "out", "note=2", "--overwrite"]);
    k.ok(&["label", "configmap", "in", "app-"]);
    assert_eq!(w.expect_line("ADDED out"), Vec::<String>::new());
    assert_eq!(w.expect_line("MODIFIED out"), Vec::<String>::new());
    assert_eq!(w.expect_line("DELETED out"), Vec::<String>::new());
    assert_eq!(w.expect_line("DELETED in"), Vec::<String>::new(), "changes outside the selector were shown");
}
