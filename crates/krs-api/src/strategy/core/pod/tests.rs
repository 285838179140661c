//! The pod strategy through its hooks, in the order the registry calls them.

use k8s_openapi::api::core::v1::{Container, Pod, PodSchedulingGate, PodSpec, PodStatus, Toleration, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use krs_kinds::Object;

use super::*;

fn pod(spec: PodSpec) -> Pod {
    Pod {
        metadata: ObjectMeta { name: Some("web".into()), namespace: Some("default".into()), ..Default::default() },
        spec: Some(spec),
        status: None,
    }
}

fn nginx() -> PodSpec {
    PodSpec {
        containers: vec![Container { name: "nginx".into(), image: Some("nginx".into()), ..Default::default() }],
        ..Default::default()
    }
}

/// The create path: defaults, the ServiceAccount admission plugin (on by default), then what
/// the strategy prepares; the registry's own steps (uid, timestamps) do not matter here.
fn created(spec: PodSpec) -> Pod {
    let mut p = pod(spec);
    POD.default(&mut p);
    admit_service_account(&mut p);
    POD.prepare_for_create(&mut p);
    p
}

#[test]
fn new_pod_is_pending_with_its_qos_class() {
    let p = created(nginx());
    let status = p.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
}

#[test]
fn new_pod_gets_admission_defaults() {
    let p = created(nginx());
    let spec = p.spec.unwrap();
    assert_eq!(spec.service_account_name.as_deref(), Some("default"));
    assert_eq!(spec.service_account.as_deref(), Some("default"));
    assert_eq!(spec.priority, None, "the API server's Priority admission sets it");
    assert_eq!(spec.enable_service_links, Some(true));
    let tolerations = spec.tolerations.unwrap();
    assert_eq!(tolerations.len(), 2);
    assert_eq!(tolerations[0].key.as_deref(), Some("node.kubernetes.io/not-ready"));
    assert_eq!(tolerations[1].toleration_seconds, Some(300));
}

#[test]
fn service_account_token_is_projected_and_mounted_read_only() {
    let p = created(nginx());
    let spec = p.spec.unwrap();
    let volume = &spec.volumes.as_ref().unwrap()[0];
    assert!(volume.name.starts_with("kube-api-access-"));
    assert_eq!(volume.name.len(), "kube-api-access-".len() + 5);
    let json = serde_json::to_value(volume.projected.as_ref().unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]
        })
    );
    let mount = &spec.containers[0].volume_mounts.as_ref().unwrap()[0];
    assert_eq!(mount.name, volume.name);
    assert_eq!(mount.mount_path, TOKEN_MOUNT_PATH);
    assert_eq!(mount.read_only, Some(true));
    // The defaulted, admitted pod is valid.
    assert!(POD.validate(&p_with(spec)).is_empty());
}

fn p_with(spec: PodSpec) -> Pod {
    let mut p = pod(spec);
    p.status = Some(PodStatus::default());
    p
}

#[test]
fn automount_false_mounts_no_token() {
    let mut spec = nginx();
    spec.automount_service_account_token = Some(false);
    let spec = created(spec).spec.unwrap();
    assert!(spec.volumes.is_none());
    assert!(spec.containers[0].volume_mounts.is_none());
}

#[test]
fn an_existing_mount_at_the_token_path_is_kept() {
    let mut spec = nginx();
    spec.containers[0].volume_mounts =
        Some(vec![VolumeMount { name: "mine".into(), mount_path: TOKEN_MOUNT_PATH.into(), ..Default::default() }]);
    let spec = created(spec).spec.unwrap();
    assert!(spec.volumes.is_none());
    assert_eq!(spec.containers[0].volume_mounts.as_ref().unwrap().len(), 1);
}

#[test]
fn gated_pod_gets_a_scheduling_gated_condition() {
    let mut spec = nginx();
    spec.scheduling_gates = Some(vec![PodSchedulingGate { name: "example.com/gate".into() }]);
    let status = created(spec).status.unwrap();
    let condition = &status.conditions.unwrap()[0];
    assert_eq!((condition.type_.as_str(), condition.status.as_str()), ("PodScheduled", "False"));
    assert_eq!(condition.reason.as_deref(), Some("SchedulingGated"));
}

#[test]
fn missing_image_is_reported_on_create() {
    let mut spec = nginx();
    spec.containers[0].image = None;
    let p = created(spec);
    assert_eq!(POD.validate(&p).to_string(), "spec.containers[0].image: Required value");
}

#[test]
fn ephemeral_containers_cannot_be_set_on_create() {
    let mut spec = nginx();
    spec.ephemeral_containers = Some(vec![Default::default()]);
    let p = created(spec);
    let out = POD.validate(&p).to_string();
    assert!(out.ends_with("spec.ephemeralContainers: Forbidden: cannot be set on create]"), "{out}");
}

#[test]
fn update_may_change_images() {
    let old = created(nginx());
    let mut new = old.clone();
    new.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.27".into());
    POD.default(&mut new);
    assert!(POD.validate_update(&new, &old).is_empty());
}

#[test]
fn update_may_not_change_other_fields() {
    let old = created(nginx());
    let mut new = old.clone();
    new.spec.as_mut().unwrap().restart_policy = Some("Never".into());
    let out = POD.validate_update(&new, &old).to_string();
    assert!(
        out.starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"),
        "{out}"
    );
    assert!(out.contains("- restartPolicy: \"Always\"\n+ restartPolicy: \"Never\""), "{out}");
}

#[test]
fn update_may_not_add_containers() {
    let old = created(nginx());
    let mut new = old.clone();
    let extra = new.spec.as_ref().unwrap().containers[0].clone();
    new.spec.as_mut().unwrap().containers.push(Container { name: "two".into(), ..extra });
    assert_eq!(
        POD.validate_update(&new, &old).to_string(),
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    );
}

#[test]
fn active_deadline_may_only_shrink() {
    let mut old = created(nginx());
    old.spec.as_mut().unwrap().active_deadline_seconds = Some(100);
    let mut new = old.clone();
    new.spec.as_mut().unwrap().active_deadline_seconds = Some(50);
    assert!(POD.validate_update(&new, &old).is_empty());
    new.spec.as_mut().unwrap().active_deadline_seconds = Some(200);
    assert_eq!(
        POD.validate_update(&new, &old).to_string(),
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
    );
}

#[test]
fn tolerations_may_only_be_added() {
    let old = created(nginx());
    let mut new = old.clone();
    let tolerations = new.spec.as_mut().unwrap().tolerations.as_mut().unwrap();
    tolerations.push(Toleration {
        key: Some("dedicated".into()),
        operator: Some("Exists".into()),
        ..Default::default()
    });
    assert!(POD.validate_update(&new, &old).is_empty());
    new.spec.as_mut().unwrap().tolerations.as_mut().unwrap().remove(0);
    assert_eq!(
        POD.validate_update(&new, &old).to_string(),
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
    );
}

#[test]
fn scheduling_gates_may_only_be_removed() {
    let mut spec = nginx();
    spec.scheduling_gates = Some(vec![PodSchedulingGate { name: "a".into() }]);
    let old = created(spec);
    let mut new = old.clone();
    new.spec.as_mut().unwrap().scheduling_gates = Some(vec![]);
    assert!(POD.validate_update(&new, &old).is_empty());
    new.spec.as_mut().unwrap().scheduling_gates =
        Some(vec![PodSchedulingGate { name: "a".into() }, PodSchedulingGate { name: "b".into() }]);
    assert_eq!(
        POD.validate_update(&new, &old).to_string(),
        "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'b'"
    );
}

#[test]
fn gated_pods_may_add_node_selectors() {
    let mut spec = nginx();
    spec.scheduling_gates = Some(vec![PodSchedulingGate { name: "a".into() }]);
    let old = created(spec);
    let mut new = old.clone();
    new.spec.as_mut().unwrap().node_selector = Some([("zone".to_owned(), "a".to_owned())].into());
    assert!(POD.validate_update(&new, &old).is_empty());
}

fn scheduled(node: Option<&str>, phase: &str, grace: i64) -> Pod {
    let mut spec = nginx();
    spec.node_name = node.map(str::to_owned);
    spec.termination_grace_period_seconds = Some(grace);
    let mut p = pod(spec);
    p.status = Some(PodStatus { phase: Some(phase.into()), ..Default::default() });
    p
}

#[test]
fn graceful_delete_periods_follow_upstream() {
    // A pod on a node waits for its node agent: the requested period, else the pod's own.
    assert_eq!(POD.graceful_delete_period(&scheduled(Some("n1"), "Running", 30), None), Some(30));
    assert_eq!(POD.graceful_delete_period(&scheduled(Some("n1"), "Running", 30), Some(5)), Some(5));
    // Unscheduled and finished pods go at once; a negative period becomes 1.
    assert_eq!(POD.graceful_delete_period(&scheduled(None, "Pending", 30), None), Some(0));
    assert_eq!(POD.graceful_delete_period(&scheduled(Some("n1"), "Succeeded", 30), None), Some(0));
    assert_eq!(POD.graceful_delete_period(&scheduled(Some("n1"), "Failed", 30), Some(10)), Some(0));
    assert_eq!(POD.graceful_delete_period(&scheduled(Some("n1"), "Running", -5), None), Some(1));
}

#[test]
fn field_labels_render_go_zero_values() {
    let p = created(nginx());
    let json = p.to_value();
    let values: Vec<(&str, String)> = POD.field_labels().iter().map(|l| (l.name, l.value_in(&json))).collect();
    assert_eq!(
        values,
        [
            ("spec.nodeName", String::new()),
            ("spec.restartPolicy", "Always".to_owned()),
            ("spec.schedulerName", "default-scheduler".to_owned()),
            ("spec.serviceAccountName", "default".to_owned()),
            ("spec.hostNetwork", "false".to_owned()),
            ("status.phase", "Pending".to_owned()),
            ("status.podIP", String::new()),
            ("status.nominatedNodeName", String::new()),
        ]
    );
}

#[test]
fn status_update_keeps_qos_and_may_not_move_the_pod() {
    let old = created(nginx());
    let mut new = old.clone();
    new.status.as_mut().unwrap().qos_class = None;
    POD.prepare_for_status_update(&mut new, &old);
    assert_eq!(new.status.as_ref().unwrap().qos_class.as_deref(), Some("BestEffort"));
    new.status.as_mut().unwrap().qos_class = Some("Guaranteed".into());
    assert_eq!(
        POD.validate_status_update(&new, &old).to_string(),
        "status.qosClass: Invalid value: \"Guaranteed\": field is immutable"
    );
}

#[test]
fn pod_names_that_are_not_dns_labels_warn() {
    let mut p = created(nginx());
    p.metadata.name = Some("web.v1".into());
    assert_eq!(
        POD.warnings_on_create(&p),
        vec!["metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]".to_owned()]
    );
}
