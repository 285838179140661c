//! Pods: upstream's TestPrintPod, TestPrintPodWithRestartableInitContainer, TestPrintPodwide,
//! TestPrintPodConditions and TestPrintNonTerminatedPod cases, and the common waiting reasons.

use serde_json::{Value, json};

use super::super::Printer;
use super::super::pod::POD;
use super::{DAY, MINUTE, ago, assert_columns, cells};

/// The default (non-wide) cells: Name, Ready, Status, Restarts, Age.
fn short(pod: &Value) -> Vec<Value> {
    cells(&POD, pod)[..5].to_vec()
}

fn pod(name: &str, containers: usize, status: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"containers": vec![json!({}); containers]}, "status": status})
}

fn running() -> Value {
    json!({"running": {}})
}

fn terminated_ago(secs: i64) -> Value {
    json!({"terminated": {"finishedAt": ago(secs)}})
}

#[test]
fn pod_columns() {
    assert_columns(
        &POD,
        &[
            "Name|string|name|0",
            "Ready|string||0",
            "Status|string||0",
            "Restarts|string||0",
            "Age|string||0",
            "IP|string||1",
            "Node|string||1",
            "Nominated Node|string||1",
            "Readiness Gates|string||1",
        ],
    );
}

#[test]
fn pod_status_from_containers() {
    let cases = [
        // Name, container count, ready status.
        (
            pod(
                "test1",
                2,
                json!({"phase": "podPhase", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running()},
                    {"restartCount": 3},
                ]}),
            ),
            json!(["test1", "1/2", "podPhase", "6", "<unknown>"]),
        ),
        // A container's waiting reason overrides the phase.
        (
            pod(
                "test2",
                2,
                json!({"phase": "podPhase", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running()},
                    {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
                ]}),
            ),
            json!(["test2", "1/2", "ContainerWaitingReason", "6", "<unknown>"]),
        ),
        // The first container's state wins over later ones.
        (
            pod(
                "test3",
                2,
                json!({"phase": "podPhase", "containerStatuses": [
                    {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
                    {"restartCount": 3, "state": {"terminated": {"reason": "ContainerTerminatedReason"}}},
                ]}),
            ),
            json!(["test3", "0/2", "ContainerWaitingReason", "6", "<unknown>"]),
        ),
        // Ready without running is not counted.
        (
            pod(
                "test4",
                2,
                json!({"phase": "podPhase", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running()},
                    {"ready": true, "restartCount": 3},
                ]}),
            ),
            json!(["test4", "1/2", "podPhase", "6", "<unknown>"]),
        ),
        // The pod's reason overrides its phase.
        (
            pod(
                "test5",
                2,
                json!({"reason": "podReason", "phase": "podPhase", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running()},
                    {"ready": true, "restartCount": 3},
                ]}),
            ),
            json!(["test5", "1/2", "podReason", "6", "<unknown>"]),
        ),
        // One container completed, one running, no Ready condition.
        (
            pod(
                "test6",
                2,
                json!({"phase": "Running", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                    {"ready": true, "restartCount": 3, "state": running()},
                ]}),
            ),
            json!(["test6", "1/2", "NotReady", "6", "<unknown>"]),
        ),
        // The same with the Ready condition.
        (
            pod(
                "test6",
                2,
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                    {"ready": true, "restartCount": 3, "state": running()},
                ]}),
            ),
            json!(["test6", "1/2", "Running", "6", "<unknown>"]),
        ),
        // A container that restarted 5 days ago.
        (
            pod(
                "test12",
                1,
                json!({"phase": "Running", "containerStatuses": [
                    {"ready": true, "restartCount": 3, "state": running(), "lastState": terminated_ago(5 * DAY)},
                ]}),
            ),
            json!(["test12", "1/1", "Running", "3 (5d ago)", "<unknown>"]),
        ),
        // One never restarted, the other 10 days ago.
        (
            pod(
                "test13",
                2,
                json!({"phase": "Running", "containerStatuses": [
                    {"ready": true, "restartCount": 0, "state": running()},
                    {"ready": true, "restartCount": 3, "state": running(), "lastState": terminated_ago(10 * DAY)},
                ]}),
            ),
            json!(["test13", "2/2", "Running", "3 (10d ago)", "<unknown>"]),
        ),
        // The latest restart is shown.
        (
            pod(
                "test14",
                2,
                json!({"phase": "Running", "containerStatuses": [
                    {"ready": true, "restartCount": 6, "state": running(), "lastState": terminated_ago(5 * DAY)},
                    {"ready": true, "restartCount": 3, "state": running(), "lastState": terminated_ago(20 * DAY)},
                ]}),
            ),
            json!(["test14", "2/2", "Running", "9 (5d ago)", "<unknown>"]),
        ),
        // Scheduling gates hold the pod.
        (
            pod(
                "test15",
                2,
                json!({"phase": "podPhase", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
                ]}),
            ),
            json!(["test15", "0/2", "SchedulingGated", "0", "<unknown>"]),
        ),
    ];
    for (pod, expected) in cases {
        assert_eq!(Value::from(short(&pod)), expected, "{pod}");
    }
}

#[test]
fn pod_status_from_init_containers() {
    let with_init = |name: &str, inits: usize, status: Value| {
        json!({"metadata": {"name": name}, "spec": {
            "initContainers": vec![json!({}); inits], "containers": [{}],
        }, "status": status})
    };
    let cases = [
        // One init container restarting.
        (
            with_init(
                "test7",
                1,
                json!({"phase": "podPhase",
                    "initContainerStatuses": [{"restartCount": 3, "state": running(), "lastState": terminated_ago(10)}],
                    "containerStatuses": [{"restartCount": 0, "state": {"waiting": {}}}],
                }),
            ),
            json!(["test7", "0/1", "Init:0/1", "3 (10s ago)", "<unknown>"]),
        ),
        // Two init containers, the first restarting.
        (
            with_init(
                "test8",
                2,
                json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        {"restartCount": 3, "state": running(), "lastState": terminated_ago(10)},
                        {"state": {"waiting": {}}},
                    ],
                    "containerStatuses": [{"state": {"waiting": {}}}],
                }),
            ),
            json!(["test8", "0/1", "Init:0/2", "3 (10s ago)", "<unknown>"]),
        ),
        // The first completed, the second restarting.
        (
            with_init(
                "test9",
                2,
                json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        {"state": {"terminated": {}}},
                        {"restartCount": 3, "state": running(), "lastState": terminated_ago(10)},
                    ],
                    "containerStatuses": [{"state": {"waiting": {}}}],
                }),
            ),
            json!(["test9", "0/1", "Init:1/2", "3 (10s ago)", "<unknown>"]),
        ),
        // The first completed after restarts, the second restarting.
        (
            with_init(
                "test10",
                2,
                json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        {"restartCount": 2, "state": {"terminated": {}}, "lastState": terminated_ago(2 * MINUTE)},
                        {"restartCount": 3, "state": running(), "lastState": terminated_ago(10)},
                    ],
                    "containerStatuses": [{"state": {"waiting": {}}}],
                }),
            ),
            json!(["test10", "0/1", "Init:1/2", "5 (10s ago)", "<unknown>"]),
        ),
        // Once initialized, only the containers' restarts count.
        (
            with_init(
                "test11",
                1,
                json!({"phase": "Running",
                    "initContainerStatuses": [
                        {"restartCount": 2, "state": {"terminated": {}}, "lastState": terminated_ago(2 * MINUTE)},
                    ],
                    "containerStatuses": [{"restartCount": 4, "state": running(), "lastState": terminated_ago(20)}],
                }),
            ),
            json!(["test11", "0/1", "Running", "4 (20s ago)", "<unknown>"]),
        ),
        // Init container failures and waiting reasons.
        (
            with_init(
                "crash",
                1,
                json!({"phase": "Pending",
                    "initContainerStatuses": [{"restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
                }),
            ),
            json!(["crash", "0/1", "Init:CrashLoopBackOff", "1", "<unknown>"]),
        ),
        (
            with_init(
                "error",
                1,
                json!({"phase": "Pending",
                    "initContainerStatuses": [{"state": {"terminated": {"reason": "Error", "exitCode": 2}}}],
                }),
            ),
            json!(["error", "0/1", "Init:Error", "0", "<unknown>"]),
        ),
        (
            with_init(
                "exit",
                1,
                json!({"phase": "Pending",
                    "initContainerStatuses": [{"state": {"terminated": {"exitCode": 2}}}],
                }),
            ),
            json!(["exit", "0/1", "Init:ExitCode:2", "0", "<unknown>"]),
        ),
        (
            with_init(
                "signal",
                1,
                json!({"phase": "Pending",
                    "initContainerStatuses": [{"state": {"terminated": {"exitCode": 137, "signal": 9}}}],
                }),
            ),
            json!(["signal", "0/1", "Init:Signal:9", "0", "<unknown>"]),
        ),
        // PodInitializing is not an init failure.
        (
            with_init(
                "initializing",
                1,
                json!({"phase": "Pending",
                    "initContainerStatuses": [{"state": {"waiting": {"reason": "PodInitializing"}}}],
                }),
            ),
            json!(["initializing", "0/1", "Init:0/1", "0", "<unknown>"]),
        ),
    ];
    for (pod, expected) in cases {
        assert_eq!(Value::from(short(&pod)), expected, "{pod}");
    }
}

#[test]
fn pod_status_with_sidecars() {
    let sidecars = |status: Value| {
        json!({"metadata": {"name": "test1"}, "spec": {
            "initContainers": [
                {"name": "restartable-init-1", "restartPolicy": "Always"},
                {"name": "restartable-init-2", "restartPolicy": "Always"},
            ],
            "containers": [{}],
        }, "status": status})
    };
    let cases = [
        // The first sidecar running but not started.
        (
            sidecars(json!({"phase": "Pending",
                "initContainerStatuses": [
                    {"name": "restartable-init-1", "restartCount": 3, "state": running(), "started": false, "lastState": terminated_ago(10)},
                    {"name": "restartable-init-2", "state": {"waiting": {}}, "started": false},
                ],
                "containerStatuses": [{"state": {"waiting": {}}}],
                "conditions": [{"type": "Initialized", "status": "False"}],
            })),
            json!(["test1", "0/3", "Init:0/2", "3 (10s ago)", "<unknown>"]),
        ),
        // The first started, the second running but not started.
        (
            sidecars(json!({"phase": "Pending",
                "initContainerStatuses": [
                    {"name": "restartable-init-1", "restartCount": 3, "state": running(), "started": true, "lastState": terminated_ago(10)},
                    {"name": "restartable-init-2", "state": running(), "started": false},
                ],
                "containerStatuses": [{"state": {"waiting": {}}}],
                "conditions": [{"type": "Initialized", "status": "False"}],
            })),
            json!(["test1", "0/3", "Init:1/2", "3 (10s ago)", "<unknown>"]),
        ),
        // Both started and the container running: sidecar restarts count.
        (
            sidecars(json!({"phase": "Running",
                "initContainerStatuses": [
                    {"name": "restartable-init-1", "restartCount": 3, "state": running(), "started": true, "lastState": terminated_ago(10)},
                    {"name": "restartable-init-2", "state": running(), "started": true},
                ],
                "containerStatuses": [{"ready": true, "restartCount": 4, "state": running(), "lastState": terminated_ago(20)}],
                "conditions": [{"type": "Initialized", "status": "True"}],
            })),
            json!(["test1", "1/3", "Running", "7 (10s ago)", "<unknown>"]),
        ),
        // Sidecars killed after the container completed.
        (
            sidecars(json!({"phase": "Succeeded",
                "initContainerStatuses": [
                    {"name": "restartable-init-1", "restartCount": 3, "state": {"terminated": {"reason": "Error", "exitCode": 137}}, "started": false, "lastState": terminated_ago(10)},
                    {"name": "restartable-init-2", "state": {"terminated": {"reason": "Error", "exitCode": 137}}, "started": false},
                ],
                "containerStatuses": [{"restartCount": 4, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}, "lastState": terminated_ago(20)}],
                "conditions": [{"type": "Initialized", "status": "True"}],
            })),
            json!(["test1", "0/3", "Completed", "7 (10s ago)", "<unknown>"]),
        ),
    ];
    for (pod, expected) in cases {
        assert_eq!(Value::from(short(&pod)), expected, "{pod}");
    }

    // Statuses of containers the spec does not list.
    let unknown = json!({"metadata": {"name": "test4"}, "spec": {
        "initContainers": [
            {"name": "init1", "image": "initimage"},
            {"name": "sidecar1", "image": "sidecarimage", "restartPolicy": "Always"},
        ],
        "containers": [{"name": "container1", "image": "containerimage"}],
    }, "status": {"phase": "Running",
        "initContainerStatuses": [{"name": "initinvalid"}, {"name": "init1"}, {"name": "sidecar1"}],
        "containerStatuses": [{"name": "containerinvalid"}, {"name": "container1"}],
    }});
    assert_eq!(Value::from(short(&unknown)), json!(["test4", "0/2", "Init:0/2", "0", "<unknown>"]));
}

#[test]
fn pod_common_waiting_reasons() {
    for reason in ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ContainerCreating", "PodInitializing"] {
        let p = pod(
            "p",
            1,
            json!({"phase": "Pending", "containerStatuses": [
                {"restartCount": 5, "state": {"waiting": {"reason": reason}}, "lastState": terminated_ago(5 * MINUTE + 3)},
            ]}),
        );
        assert_eq!(Value::from(short(&p)), json!(["p", "0/1", reason, "5 (5m3s ago)", "<unknown>"]));
    }
    let p = pod(
        "p",
        1,
        json!({"phase": "Running", "containerStatuses": [
            {"state": {"terminated": {"exitCode": 1}}},
        ]}),
    );
    assert_eq!(short(&p)[2], json!("ExitCode:1"));
}

#[test]
fn pod_phase_conditions_and_deletion() {
    let deleted = ago(10);
    let with_meta = |name: &str, phase: &str, statuses: Value| {
        json!({"metadata": {"name": name, "deletionTimestamp": deleted}, "spec": {"containers": [{}]},
            "status": {"phase": phase, "containerStatuses": statuses}})
    };
    let completed = json!([{"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]);
    let success = json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]);
    let failure = json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]);

    let succeeded = pod("test16", 1, json!({"phase": "Succeeded", "containerStatuses": completed}));
    assert_eq!(Value::from(short(&succeeded)), json!(["test16", "0/1", "Completed", "0", "<unknown>"]));
    assert_eq!(POD.conditions(&succeeded), Some(success.clone()));

    let failed = pod(
        "test17",
        1,
        json!({"phase": "Failed", "containerStatuses": [
            {"state": {"terminated": {"reason": "Error", "exitCode": 1}}},
        ]}),
    );
    assert_eq!(Value::from(short(&failed)), json!(["test17", "0/1", "Error", "0", "<unknown>"]));
    assert_eq!(POD.conditions(&failed), Some(failure));

    // A terminal pod being deleted keeps its status; others are Terminating.
    let cases = [
        (with_meta("test18", "Succeeded", completed), "Completed"),
        (with_meta("test19", "Running", json!([{"state": running()}])), "Terminating"),
        (with_meta("test20", "Pending", json!([])), "Terminating"),
    ];
    for (pod, status) in cases {
        assert_eq!(short(&pod)[2], json!(status), "{pod}");
    }
    let lost = json!({"metadata": {"name": "lost", "deletionTimestamp": deleted}, "spec": {"containers": [{}]},
        "status": {"phase": "Running", "reason": "NodeLost"}});
    assert_eq!(short(&lost)[2], json!("Unknown"));

    // Running, Pending and Unknown pods have no row conditions.
    for phase in ["Running", "Pending", "Unknown"] {
        let p = pod("test", 2, json!({"phase": phase}));
        assert_eq!(POD.conditions(&p), None);
        assert_eq!(short(&p)[2], json!(phase));
    }
}

#[test]
fn pod_wide_cells() {
    let p = json!({"metadata": {"name": "test1"},
    "spec": {"containers": [{}, {}], "nodeName": "test1", "readinessGates": [
        {"conditionType": "condition1"}, {"conditionType": "condition2"}, {"conditionType": "condition3"},
    ]},
    "status": {"phase": "podPhase", "nominatedNodeName": "node1",
        "podIPs": [{"ip": "1.1.1.1"}, {"ip": "2001:db8::"}],
        "conditions": [{"type": "condition1", "status": "False"}, {"type": "condition2", "status": "True"}],
        "containerStatuses": [{"ready": true, "restartCount": 3, "state": running()}, {"restartCount": 3}],
    }});
    assert_eq!(
        Value::from(cells(&POD, &p)),
        json!(["test1", "1/2", "podPhase", "6", "<unknown>", "1.1.1.1", "test1", "node1", "1/3"])
    );
    let p = pod(
        "test2",
        2,
        json!({"phase": "podPhase", "containerStatuses": [
            {"ready": true, "restartCount": 3, "state": running()},
            {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
        ]}),
    );
    assert_eq!(
        Value::from(cells(&POD, &p)),
        json!(["test2", "1/2", "ContainerWaitingReason", "6", "<unknown>", "<none>", "<none>", "<none>", "<none>"])
    );
}

#[test]
fn pod_empty_object() {
    assert_eq!(
        Value::from(cells(&POD, &json!({}))),
        json!(["", "0/0", "", "0", "<unknown>", "<none>", "<none>", "<none>", "<none>"])
    );
    let created = json!({"metadata": {"name": "p", "creationTimestamp": ago(3 * MINUTE)}});
    assert_eq!(cells(&POD, &created)[4], json!("3m"));
}
