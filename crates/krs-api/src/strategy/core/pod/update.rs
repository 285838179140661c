//! What an update may change in a pod (upstream `ValidatePodUpdate`) and what a status update
//! must respect (`ValidatePodStatusUpdate`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, NodeAffinity, NodeSelectorTerm, Pod, PodSchedulingGate, PodSpec, Toleration,
};
use krs_apimachinery::validation::{
    BadValue, ErrorList, FIELD_IMMUTABLE_ERROR_MSG, Path, field, inclusive_range_error, is_valid_ip,
    name_is_dns_subdomain,
};

use crate::strategy::core::podspec::semantic::{semantically_equal, top_level_diff};
use crate::strategy::core::podspec::{
    is_restartable_init_container, name_errors, qualified_name, s, validate_tolerations,
};
use crate::strategy::or_default;

/// What the "may not change fields" message lists as updatable.
const UPDATABLE_POD_SPEC_FIELDS: &[&str] = &[
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

/// Annotations that may be neither added, changed nor removed.
fn is_protected_annotation(key: &str) -> bool {
    key == "kubernetes.io/config.mirror" || key.starts_with("container.apparmor.security.beta.kubernetes.io/")
}

/// The annotation rules of a pod update (`ValidatePodSpecificAnnotationUpdates`, without the
/// annotation checks that the caller makes on the new pod anyway).
pub(crate) fn validate_annotation_updates(new: &Pod, old: &Pod) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = Path::new("metadata").child("annotations");
    let empty = BTreeMap::new();
    let new_a = new.metadata.annotations.as_ref().unwrap_or(&empty);
    let old_a = old.metadata.annotations.as_ref().unwrap_or(&empty);
    for (k, v) in old_a {
        if new_a.get(k) == Some(v) || !is_protected_annotation(k) {
            continue;
        }
        let what = if k.starts_with("container.apparmor") { "AppArmor annotations" } else { "mirror pod annotation" };
        errs.push(field::forbidden(&path.key(k.clone()), format!("may not remove or update {what}")));
    }
    for k in new_a.keys() {
        if old_a.contains_key(k) || !is_protected_annotation(k) {
            continue;
        }
        let what = if k.starts_with("container.apparmor") { "AppArmor annotations" } else { "mirror pod annotation" };
        errs.push(field::forbidden(&path.key(k.clone()), format!("may not add {what}")));
    }
    errs
}

/// The spec rules of a pod update (the part of `ValidatePodUpdate` after the new pod's own
/// validation): only images, the active deadline (shorter), tolerations (additions), scheduling
/// gates (removals) and, for gated pods, node selection (tightening) may change.
pub(crate) fn validate_pod_spec_update(new: &PodSpec, old: &PodSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec_path = Path::new("spec");
    let (container_errs, stop) =
        validate_container_updates(&new.containers, &old.containers, &spec_path.child("containers"));
    errs.append(container_errs);
    if stop {
        return errs;
    }
    let (container_errs, stop) = validate_container_updates(
        new.init_containers.as_deref().unwrap_or_default(),
        old.init_containers.as_deref().unwrap_or_default(),
        &spec_path.child("initContainers"),
    );
    errs.append(container_errs);
    if stop {
        return errs;
    }
    let deadline_path = spec_path.child("activeDeadlineSeconds");
    match (new.active_deadline_seconds, old.active_deadline_seconds) {
        (Some(new_deadline), old_deadline) => {
            if !(0..=i64::from(i32::MAX)).contains(&new_deadline) {
                errs.push(field::invalid(&deadline_path, new_deadline, inclusive_range_error(0, i64::from(i32::MAX))));
                return errs;
            }
            if old_deadline.is_some_and(|old| old < new_deadline) {
                errs.push(field::invalid(&deadline_path, new_deadline, "must be less than or equal to previous value"));
                return errs;
            }
        }
        (None, Some(_)) => errs.push(field::invalid(
            &deadline_path,
            BadValue::null(),
            "must not update from a positive integer to nil value",
        )),
        (None, None) => {}
    }
    errs.append(validate_only_added_tolerations(
        new.tolerations.as_deref().unwrap_or_default(),
        old.tolerations.as_deref().unwrap_or_default(),
        &spec_path.child("tolerations"),
    ));
    errs.append(validate_only_deleted_scheduling_gates(
        new.scheduling_gates.as_deref().unwrap_or_default(),
        old.scheduling_gates.as_deref().unwrap_or_default(),
        &spec_path.child("schedulingGates"),
    ));
    if semantically_equal(new, old) {
        return errs;
    }

    // Take over from the old spec everything an update may change, then compare.
    let mut munged = new.clone();
    for (c, o) in munged.containers.iter_mut().zip(&old.containers) {
        c.image = o.image.clone();
    }
    for (c, o) in munged.init_containers.iter_mut().flatten().zip(old.init_containers.iter().flatten()) {
        c.image = o.image.clone();
    }
    munged.active_deadline_seconds = old.active_deadline_seconds;
    munged.scheduling_gates = old.scheduling_gates.clone();
    munged.tolerations = old.tolerations.clone();
    if old.termination_grace_period_seconds.is_some_and(|g| g < 0) && munged.termination_grace_period_seconds == Some(1)
    {
        munged.termination_grace_period_seconds = old.termination_grace_period_seconds;
    }
    let gated = old.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty());
    if gated {
        if !semantically_equal(&munged.node_selector, &old.node_selector) {
            errs.append(validate_node_selector_mutation(
                &spec_path.child("nodeSelector"),
                munged.node_selector.as_ref(),
                old.node_selector.as_ref(),
            ));
            munged.node_selector = old.node_selector.clone();
        }
        let old_na = old.affinity.as_ref().and_then(|a| a.node_affinity.clone());
        let new_na = munged.affinity.as_ref().and_then(|a| a.node_affinity.clone());
        if !semantically_equal(&old_na, &new_na) {
            errs.append(validate_node_affinity_mutation(
                &spec_path.child("affinity").child("nodeAffinity"),
                new_na.as_ref(),
                old_na.as_ref(),
            ));
            match (&mut munged.affinity, &old_na) {
                (None, None) => {}
                (None, Some(_)) => {
                    munged.affinity = Some(k8s_openapi::api::core::v1::Affinity {
                        node_affinity: old_na.clone(),
                        ..Default::default()
                    });
                }
                (Some(a), _) if old.affinity.is_none() && a.pod_affinity.is_none() && a.pod_anti_affinity.is_none() => {
                    munged.affinity = None;
                }
                (Some(a), _) => a.node_affinity = old_na.clone(),
            }
        }
    }
    if !semantically_equal(&munged, old) {
        errs.push(field::forbidden(
            &spec_path,
            format!(
                "pod updates may not change fields other than {}\n{}",
                UPDATABLE_POD_SPEC_FIELDS.join(","),
                top_level_diff(old, &munged)
            ),
        ));
    }
    errs
}

/// Containers may not be added or removed, and keep an image (`ValidateContainerUpdates`).
fn validate_container_updates(new: &[Container], old: &[Container], path: &Path) -> (ErrorList, bool) {
    let mut errs = ErrorList::new();
    if new.len() != old.len() {
        errs.push(field::forbidden(path, "pod updates may not add or remove containers"));
        return (errs, true);
    }
    for (i, c) in new.iter().enumerate() {
        let image = s(&c.image);
        if image.is_empty() {
            errs.push(field::required(&path.index(i).child("image"), ""));
        }
        if image.trim() != image {
            errs.push(field::invalid(
                &path.index(i).child("image"),
                image,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    (errs, false)
}

/// Existing tolerations stay (only their seconds may change); new ones may be added.
fn validate_only_added_tolerations(new: &[Toleration], old: &[Toleration], path: &Path) -> ErrorList {
    for o in old {
        let kept = new.iter().any(|n| {
            let mut clone = o.clone();
            clone.toleration_seconds = n.toleration_seconds;
            clone == *n
        });
        if !kept {
            return ErrorList::from(field::forbidden(
                path,
                "existing toleration can not be modified except its tolerationSeconds",
            ));
        }
    }
    validate_tolerations(new, path)
}

/// Scheduling gates may only be removed.
fn validate_only_deleted_scheduling_gates(
    new: &[PodSchedulingGate],
    old: &[PodSchedulingGate],
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut added: BTreeMap<&str, usize> = new.iter().enumerate().map(|(i, g)| (g.name.as_str(), i)).collect();
    for gate in old {
        added.remove(gate.name.as_str());
    }
    for (name, i) in added {
        errs.push(field::forbidden(
            &path.index(i).child("name"),
            format!("only deletion is allowed, but found new scheduling gate '{name}'"),
        ));
    }
    errs
}

fn validate_node_selector_mutation(
    path: &Path,
    new: Option<&BTreeMap<String, String>>,
    old: Option<&BTreeMap<String, String>>,
) -> ErrorList {
    for (k, v) in old.into_iter().flatten() {
        if new.and_then(|n| n.get(k)) != Some(v) {
            return ErrorList::from(field::invalid(
                path,
                BadValue::json(&new),
                "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
            ));
        }
    }
    ErrorList::new()
}

fn validate_node_affinity_mutation(path: &Path, new: Option<&NodeAffinity>, old: Option<&NodeAffinity>) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(old_required) = old.and_then(|o| o.required_during_scheduling_ignored_during_execution.as_ref()) else {
        return errs;
    };
    let old_terms = &old_required.node_selector_terms;
    let new_terms: Vec<NodeSelectorTerm> = new
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|r| r.node_selector_terms.clone())
        .unwrap_or_default();
    let terms_path = path.child("requiredDuringSchedulingIgnoredDuringExecution").child("nodeSelectorTerms");
    if !old_terms.is_empty() && old_terms.len() != new_terms.len() {
        errs.push(field::invalid(
            &terms_path,
            BadValue::json(&new_terms),
            "no additions/deletions to non-empty NodeSelectorTerms list are allowed",
        ));
        return errs;
    }
    for (i, (old_term, new_term)) in old_terms.iter().zip(&new_terms).enumerate() {
        if !term_only_adds(new_term, old_term) {
            errs.push(field::invalid(
                &terms_path.index(i),
                BadValue::json(new_term),
                "only additions are allowed (no mutations or deletions)",
            ));
        }
    }
    errs
}

fn term_only_adds(new: &NodeSelectorTerm, old: &NodeSelectorTerm) -> bool {
    let (old_exprs, new_exprs) =
        (old.match_expressions.as_deref().unwrap_or_default(), new.match_expressions.as_deref().unwrap_or_default());
    let (old_fields, new_fields) =
        (old.match_fields.as_deref().unwrap_or_default(), new.match_fields.as_deref().unwrap_or_default());
    if old_exprs.is_empty() && old_fields.is_empty() && (!new_exprs.is_empty() || !new_fields.is_empty()) {
        return false;
    }
    let prefix_kept =
        |old: &[_], new: &[_]| old.is_empty() || (new.len() >= old.len() && semantically_equal(&new[..old.len()], old));
    prefix_kept(old_exprs, new_exprs) && prefix_kept(old_fields, new_fields)
}

/// The checks of a status update (`ValidatePodStatusUpdate`, without the allocated-resources
/// and user checks of kubelet-only fields).
pub(crate) fn validate_status_update(new: &Pod, old: &Pod) -> ErrorList {
    let mut errs = validate_annotation_updates(new, old);
    let status = or_default(&new.status);
    let old_status = or_default(&old.status);
    for (i, condition) in status.conditions.iter().flatten().enumerate() {
        if matches!(condition.type_.as_str(), "PodScheduled" | "Ready" | "Initialized") {
            continue;
        }
        // Upstream reports condition problems under `metadata.conditions[i].Type`.
        errs.append(qualified_name(
            &condition.type_,
            &Path::new("metadata").child("conditions").index(i).child("Type"),
        ));
    }
    let status_path = Path::new("status");
    let node = |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
    if node(new) != node(old) {
        errs.push(field::forbidden(&status_path.child("nodeName"), "may not be changed directly"));
    }
    let nominated = s(&status.nominated_node_name);
    if nominated != s(&old_status.nominated_node_name) && !nominated.is_empty() {
        errs.append(name_errors(
            name_is_dns_subdomain(nominated, false),
            nominated,
            &status_path.child("nominatedNodeName"),
        ));
    }
    if status.qos_class != old_status.qos_class {
        errs.push(field::invalid(&status_path.child("qosClass"), s(&status.qos_class), FIELD_IMMUTABLE_ERROR_MSG));
    }
    let old_spec = or_default(&old.spec);
    let restart_policy = s(&old_spec.restart_policy);
    errs.append(validate_state_transitions(
        status.container_statuses.as_deref().unwrap_or_default(),
        old_status.container_statuses.as_deref().unwrap_or_default(),
        &status_path.child("containerStatuses"),
        restart_policy,
        &[],
    ));
    errs.append(validate_state_transitions(
        status.init_container_statuses.as_deref().unwrap_or_default(),
        old_status.init_container_statuses.as_deref().unwrap_or_default(),
        &status_path.child("initContainerStatuses"),
        restart_policy,
        old_spec.init_containers.as_deref().unwrap_or_default(),
    ));
    errs.append(validate_state_transitions(
        status.ephemeral_container_statuses.as_deref().unwrap_or_default(),
        old_status.ephemeral_container_statuses.as_deref().unwrap_or_default(),
        &status_path.child("ephemeralContainerStatuses"),
        "Never",
        &[],
    ));
    let pod_ips: Vec<&str> = status.pod_ips.iter().flatten().map(|p| p.ip.as_str()).collect();
    errs.append(validate_ips(&pod_ips, &status_path.child("podIPs"), BadValue::json(&status.pod_ips)));
    let host_ips: Vec<&str> = status.host_ips.iter().flatten().map(|p| p.ip.as_str()).collect();
    if let Some(first) = host_ips.first()
        && s(&status.host_ip) != *first
    {
        errs.push(field::invalid(
            &status_path.child("hostIPs").index(0).child("ip"),
            *first,
            "must be equal to `hostIP`",
        ));
    }
    errs.append(validate_ips(&host_ips, &status_path.child("hostIPs"), BadValue::json(&status.host_ips)));
    errs
}

/// Terminated containers of pods that do not restart them stay terminated
/// (`ValidateContainerStateTransition`); sidecars may restart.
fn validate_state_transitions(
    new: &[ContainerStatus],
    old: &[ContainerStatus],
    path: &Path,
    restart_policy: &str,
    init_containers: &[Container],
) -> ErrorList {
    let mut errs = ErrorList::new();
    if restart_policy == "Always" {
        return errs;
    }
    for (i, o) in old.iter().enumerate() {
        let Some(terminated) = o.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            continue;
        };
        if terminated.exit_code != 0 && restart_policy == "OnFailure" {
            continue;
        }
        if init_containers.iter().any(|c| c.name == o.name && is_restartable_init_container(c)) {
            continue;
        }
        for n in new {
            if n.name == o.name && n.state.as_ref().and_then(|s| s.terminated.as_ref()).is_none() {
                errs.push(field::forbidden(
                    &path.index(i).child("state"),
                    "may not be transitioned to non-terminated state",
                ));
            }
        }
    }
    errs
}

/// Valid IPs, at most one per family, no duplicates (`validatePodIPs`, `validateHostIPs`).
fn validate_ips(ips: &[&str], path: &Path, whole: BadValue) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, ip) in ips.iter().enumerate() {
        errs.append(is_valid_ip(&path.index(i), ip));
    }
    if ips.len() > 1 {
        let families: Vec<Option<bool>> = ips.iter().map(|ip| ip.parse::<IpAddr>().ok().map(|a| a.is_ipv4())).collect();
        let dual = ips.len() == 2 && families.iter().all(Option::is_some) && families[0] != families[1];
        if !dual {
            errs.push(field::invalid(path, whole, "may specify no more than one IP for each IP family"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, ip) in ips.iter().enumerate() {
            if !seen.insert(*ip) {
                errs.push(field::duplicate(&path.index(i), BadValue::json(&serde_json::json!({"ip": ip}))));
            }
        }
    }
    errs
}
