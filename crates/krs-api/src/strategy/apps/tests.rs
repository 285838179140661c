//! The apps strategies through their hooks, pinned to upstream's defaults and messages.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy as RolloutStrategy, ReplicaSet,
    ReplicaSetSpec, RollingUpdateDeployment, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_kinds::Object;

use super::*;
use crate::strategy::Strategy;

fn labels(app: &str) -> Option<BTreeMap<String, String>> {
    Some([("app".to_owned(), app.to_owned())].into())
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() }
}

fn template(app: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: labels(app), ..Default::default() }),
        spec: Some(PodSpec {
            containers: vec![Container { name: "nginx".into(), image: Some("nginx".into()), ..Default::default() }],
            ..Default::default()
        }),
    }
}

fn selector(app: &str) -> LabelSelector {
    LabelSelector { match_labels: labels(app), match_expressions: None }
}

/// What `kubectl create deployment d --image=nginx` sends.
fn kubectl_deployment() -> Deployment {
    Deployment {
        metadata: ObjectMeta { labels: labels("d"), ..meta("d") },
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: selector("d"),
            template: template("d"),
            ..Default::default()
        }),
        status: None,
    }
}

fn defaulted<T: Object>(strategy: &dyn Strategy, mut obj: T) -> T {
    strategy.default(&mut obj);
    strategy.prepare_for_create(&mut obj);
    obj
}

#[test]
fn kubectl_created_deployment_gets_upstream_defaults() {
    let d = defaulted(&DEPLOYMENT, kubectl_deployment());
    let spec = serde_json::to_value(d.spec.as_ref().unwrap()).unwrap();
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(
        spec["strategy"],
        serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["schedulerName"], "default-scheduler");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["securityContext"], serde_json::json!({}));
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(pod["containers"][0]["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(pod["containers"][0]["terminationMessagePolicy"], "File");
    // Templates get no pod-only defaults.
    assert!(pod.get("enableServiceLinks").is_none());
    assert!(DEPLOYMENT.validate(&d).is_empty());
}

#[test]
fn deployment_selector_must_match_template_labels() {
    let mut d = kubectl_deployment();
    d.spec.as_mut().unwrap().template = template("x");
    let d = defaulted(&DEPLOYMENT, d);
    assert_eq!(
        DEPLOYMENT.validate(&d).to_string(),
        "spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"
    );
}

#[test]
fn deployment_without_selector_reports_it_required() {
    let mut d = kubectl_deployment();
    d.spec.as_mut().unwrap().selector = LabelSelector::default();
    let d = defaulted(&DEPLOYMENT, d);
    assert_eq!(
        DEPLOYMENT.validate(&d).to_string(),
        "[spec.selector: Required value, spec.template.metadata.labels: Invalid value: {\"app\":\"d\"}: `selector` does not match template `labels`]"
    );
}

#[test]
fn deployment_selector_is_immutable() {
    let old = defaulted(&DEPLOYMENT, kubectl_deployment());
    let mut new = old.clone();
    let spec = new.spec.as_mut().unwrap();
    spec.selector = selector("y");
    spec.template = template("y");
    DEPLOYMENT.default(&mut new);
    assert_eq!(
        DEPLOYMENT.validate_update(&new, &old).to_string(),
        "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"y\"}}: field is immutable"
    );
}

#[test]
fn deployment_template_must_restart_always() {
    let mut d = defaulted(&DEPLOYMENT, kubectl_deployment());
    d.spec.as_mut().unwrap().template.spec.as_mut().unwrap().restart_policy = Some("Never".into());
    assert_eq!(
        DEPLOYMENT.validate(&d).to_string(),
        "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""
    );
}

#[test]
fn deployment_rollout_budget_may_not_be_zero() {
    let mut d = kubectl_deployment();
    d.spec.as_mut().unwrap().strategy = Some(RolloutStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(IntOrString::Int(0)),
            max_unavailable: Some(IntOrString::String("0%".into())),
        }),
    });
    let d = defaulted(&DEPLOYMENT, d);
    assert_eq!(
        DEPLOYMENT.validate(&d).to_string(),
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0%: may not be 0 when `maxSurge` is 0"
    );
}

#[test]
fn deployment_annotation_changes_bump_generation() {
    let mut old = defaulted(&DEPLOYMENT, kubectl_deployment());
    old.metadata.generation = Some(3);
    let mut new = old.clone();
    new.metadata.annotations = Some([("a".to_owned(), "b".to_owned())].into());
    DEPLOYMENT.prepare_for_update(&mut new, &old);
    assert_eq!(new.metadata.generation, Some(4));
}

#[test]
fn replicaset_defaults_and_field_label() {
    let rs = defaulted(
        &REPLICA_SET,
        ReplicaSet {
            metadata: meta("rs"),
            spec: Some(ReplicaSetSpec { selector: selector("a"), template: Some(template("a")), ..Default::default() }),
            status: None,
        },
    );
    assert_eq!(rs.spec.as_ref().unwrap().replicas, Some(1));
    assert!(REPLICA_SET.validate(&rs).is_empty());
    let value = REPLICA_SET.field_labels()[0].value_in(&rs.to_value());
    assert_eq!((REPLICA_SET.field_labels()[0].name, value.as_str()), ("status.replicas", "0"));
}

fn statefulset() -> StatefulSet {
    StatefulSet {
        metadata: meta("db"),
        spec: Some(StatefulSetSpec {
            selector: selector("db"),
            service_name: Some("db".into()),
            template: template("db"),
            ..Default::default()
        }),
        status: None,
    }
}

#[test]
fn statefulset_gets_upstream_defaults() {
    let sts = defaulted(&STATEFUL_SET, statefulset());
    let spec = serde_json::to_value(sts.spec.as_ref().unwrap()).unwrap();
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["updateStrategy"], serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        serde_json::json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert!(STATEFUL_SET.validate(&sts).is_empty());
}

#[test]
fn statefulset_updates_are_limited_to_some_fields() {
    let old = defaulted(&STATEFUL_SET, statefulset());
    let mut new = old.clone();
    new.spec.as_mut().unwrap().replicas = Some(3);
    assert!(STATEFUL_SET.validate_update(&new, &old).is_empty());
    new.spec.as_mut().unwrap().service_name = Some("other".into());
    assert_eq!(
        STATEFUL_SET.validate_update(&new, &old).to_string(),
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    );
}

#[test]
fn statefulset_names_are_dns_labels() {
    assert!(!(STATEFUL_SET.name_validator())("db.v1", false).is_empty());
    assert!((STATEFUL_SET.name_validator())("db-v1", false).is_empty());
}

fn daemonset() -> DaemonSet {
    DaemonSet {
        metadata: meta("agent"),
        spec: Some(DaemonSetSpec { selector: selector("agent"), template: template("agent"), ..Default::default() }),
        status: None,
    }
}

#[test]
fn daemonset_gets_upstream_defaults_and_template_generation() {
    let ds = defaulted(&DAEMON_SET, daemonset());
    let spec = serde_json::to_value(ds.spec.as_ref().unwrap()).unwrap();
    assert_eq!(
        spec["updateStrategy"],
        serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    let generation =
        |ds: &DaemonSet| ds.metadata.annotations.as_ref().unwrap()["deprecated.daemonset.template.generation"].clone();
    assert_eq!(generation(&ds), "1");
    assert!(DAEMON_SET.validate(&ds).is_empty());
    let mut new = ds.clone();
    new.spec.as_mut().unwrap().template.spec.as_mut().unwrap().containers[0].image = Some("nginx:2".into());
    DAEMON_SET.prepare_for_update(&mut new, &ds);
    assert_eq!(generation(&new), "2");
}

#[test]
fn daemonset_rolling_update_needs_exactly_one_budget() {
    let mut ds = defaulted(&DAEMON_SET, daemonset());
    let rolling = ds.spec.as_mut().unwrap().update_strategy.as_mut().unwrap().rolling_update.as_mut().unwrap();
    rolling.max_surge = Some(IntOrString::Int(1));
    assert_eq!(
        DAEMON_SET.validate(&ds).to_string(),
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"
    );
}

#[test]
fn controller_revision_needs_data() {
    let rev = k8s_openapi::api::apps::v1::ControllerRevision { metadata: meta("r"), data: None, revision: -1 };
    assert_eq!(
        CONTROLLER_REVISION.validate(&rev).to_string(),
        "[data: Required value: data is mandatory, revision: Invalid value: -1: must be greater than or equal to 0]"
    );
}
