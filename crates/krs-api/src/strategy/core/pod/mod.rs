//! The pod strategy (upstream `pkg/registry/core/pod/strategy.go`): pod defaults and the
//! admission defaults a new pod gets, its initial status and QoS class, the narrow set of
//! fields an update may change, status updates, field selectors, and graceful deletion by the
//! node agent.

mod admission;
mod subresources;
mod update;

#[cfg(test)]
mod tests;

use k8s_openapi::api::core::v1::{HostIP, Pod, PodCondition, PodIP, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use krs_apimachinery::validation::{ErrorList, Path, field, is_dns1123_label};
use krs_kinds::Object;

use super::podspec::{
    self, PodValidationOptions, compute_pod_qos, drop_disabled_pod_spec_fields, set_defaults_pod, validate_pod_spec,
    validate_pod_spec_annotations, warnings_for_pod_spec,
};
use crate::strategy::{FieldLabel, Strategy, or_default, typed, typed_mut};

pub use admission::{TOKEN_MOUNT_PATH, admit_service_account};

/// The strategy of `pods`.
pub struct PodStrategy;

/// The pod strategy instance the catalog refers to.
pub static POD: PodStrategy = PodStrategy;

static FIELD_LABELS: &[FieldLabel] = &[
    FieldLabel::string("spec.nodeName"),
    FieldLabel::string("spec.restartPolicy"),
    FieldLabel::string("spec.schedulerName"),
    FieldLabel::string("spec.serviceAccountName"),
    FieldLabel::boolean("spec.hostNetwork"),
    FieldLabel::string("status.phase"),
    FieldLabel::string("status.podIP"),
    FieldLabel::string("status.nominatedNodeName"),
];

impl Strategy for PodStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(pod) = typed_mut::<Pod>(obj) else {
            return;
        };
        set_defaults_pod(pod.spec.get_or_insert_with(Default::default));
        if let Some(status) = &mut pod.status {
            sync_status_ips(status);
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        let Some(pod) = typed_mut::<Pod>(obj) else {
            return;
        };
        admission::admit_new_pod(pod);
        let spec = pod.spec.get_or_insert_with(Default::default);
        drop_disabled_pod_spec_fields(spec, None);
        apply_match_label_keys_to_affinity(spec, pod.metadata.labels.as_ref());
        let mut status = PodStatus {
            phase: Some("Pending".to_owned()),
            qos_class: Some(compute_pod_qos(spec).to_owned()),
            ..Default::default()
        };
        if spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()) {
            status.conditions = Some(vec![PodCondition {
                type_: "PodScheduled".to_owned(),
                status: "False".to_owned(),
                reason: Some("SchedulingGated".to_owned()),
                message: Some("Scheduling is blocked due to non-empty scheduling gates".to_owned()),
                last_transition_time: Some(Time(jiff::Timestamp::now())),
                ..Default::default()
            }]);
        }
        pod.status = Some(status);
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let Some(old) = typed::<Pod>(old).cloned() else {
            return;
        };
        let Some(new) = typed_mut::<Pod>(new) else {
            return;
        };
        drop_disabled_pod_spec_fields(new.spec.get_or_insert_with(Default::default), old.spec.as_ref());
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        let Some(pod) = typed::<Pod>(obj) else {
            return ErrorList::new();
        };
        let mut errs = validate_pod_metadata_and_spec(pod);
        let spec = or_default(&pod.spec);
        let spec_path = Path::new("spec");
        if spec.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty()) {
            errs.push(field::forbidden(&spec_path.child("ephemeralContainers"), "cannot be set on create"));
        }
        if !podspec::s(&spec.node_name).is_empty() && spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()) {
            errs.push(field::forbidden(
                &spec_path.child("nodeName"),
                "cannot be set until all schedulingGates have been cleared",
            ));
        }
        errs
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Pod>(new), typed::<Pod>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_pod_metadata_and_spec(new);
        errs.append(update::validate_annotation_updates(new, old));
        errs.append(update::validate_pod_spec_update(&or_default(&new.spec), &or_default(&old.spec)));
        errs
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        let Some(pod) = typed::<Pod>(obj) else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let msgs = is_dns1123_label(name);
        if !msgs.is_empty() {
            warnings.push(format!(
                "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [{}]",
                msgs.join(" ")
            ));
        }
        warnings.extend(warnings_for_pod_spec(&or_default(&pod.spec), &pod.metadata));
        warnings
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }

    fn prepare_for_status_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let Some(old) = typed::<Pod>(old).cloned() else {
            return;
        };
        let Some(new) = typed_mut::<Pod>(new) else {
            return;
        };
        let old_status = old.status.unwrap_or_default();
        let status = new.status.get_or_insert_with(Default::default);
        sync_status_ips(status);
        // The QoS class is set once at creation; old kubelets drop it from their updates.
        if status.qos_class.as_deref().unwrap_or_default().is_empty() {
            status.qos_class = old_status.qos_class.clone();
        }
        if status.observed_generation.unwrap_or(0) == 0 {
            status.observed_generation = old_status.observed_generation;
        }
        let mut old_generations: std::collections::BTreeMap<String, Vec<Option<i64>>> = Default::default();
        for c in old_status.conditions.iter().flatten() {
            old_generations.entry(c.type_.clone()).or_default().push(c.observed_generation);
        }
        for c in status.conditions.iter_mut().flatten() {
            let previous =
                old_generations.get_mut(&c.type_).filter(|g| !g.is_empty()).map(|g| g.remove(0)).unwrap_or(None);
            if c.observed_generation.unwrap_or(0) == 0 {
                c.observed_generation = previous;
            }
        }
    }

    fn validate_status_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Pod>(new), typed::<Pod>(old)) else {
            return ErrorList::new();
        };
        update::validate_status_update(new, old)
    }

    fn prepare_for_subresource_update(&self, subresource: &str, new: &mut dyn Object, old: &dyn Object) {
        subresources::prepare(subresource, new, old);
    }

    fn validate_subresource_update(&self, subresource: &str, new: &dyn Object, old: &dyn Object) -> ErrorList {
        subresources::validate(subresource, new, old)
    }

    fn graceful_delete_period(&self, obj: &dyn Object, requested: Option<i64>) -> Option<i64> {
        let pod = typed::<Pod>(obj)?;
        let spec = pod.spec.as_ref();
        let mut period = requested.or_else(|| spec.and_then(|s| s.termination_grace_period_seconds)).unwrap_or(0);
        // An unscheduled pod has no node agent to stop it; a finished one has nothing to stop.
        if spec.is_none_or(|s| podspec::s(&s.node_name).is_empty()) {
            period = 0;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Failed" | "Succeeded")) {
            period = 0;
        }
        if period < 0 {
            period = 1;
        }
        Some(period)
    }
}

/// What creates and updates check alike (`validatePodMetadataAndSpec`, ObjectMeta aside).
fn validate_pod_metadata_and_spec(pod: &Pod) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = or_default(&pod.spec);
    let meta_path = Path::new("metadata");
    if let Some(annotations) = &pod.metadata.annotations {
        errs.append(validate_pod_spec_annotations(annotations, &spec, &meta_path.child("annotations")));
    }
    let spec_path = Path::new("spec");
    errs.append(validate_pod_spec(
        &spec,
        Some(&pod.metadata),
        &spec_path,
        PodValidationOptions { resource_is_pod: true },
    ));
    if podspec::s(&spec.service_account_name).is_empty() {
        for (vi, volume) in spec.volumes.iter().flatten().enumerate() {
            let Some(projected) = &volume.projected else {
                continue;
            };
            for (si, source) in projected.sources.iter().flatten().enumerate() {
                if source.service_account_token.is_some() {
                    errs.push(field::forbidden(
                        &spec_path
                            .child("volumes")
                            .index(vi)
                            .child("projected")
                            .child("sources")
                            .index(si)
                            .child("serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for (list, name) in [
        (spec.containers.as_slice(), "containers"),
        (spec.init_containers.as_deref().unwrap_or_default(), "initContainers"),
    ] {
        for (i, c) in list.iter().enumerate() {
            let image = podspec::s(&c.image);
            if image.trim() != image {
                errs.push(field::invalid(
                    &spec_path.child(name).index(i).child("image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    errs
}

/// `status.podIP` and `status.podIPs` (and the host ones) describe the same addresses: the
/// list falls back to the single field, which repeats the list's first entry.
fn sync_status_ips(status: &mut PodStatus) {
    if status.pod_ips.as_ref().is_none_or(|ips| ips.is_empty())
        && let Some(ip) = status.pod_ip.clone().filter(|ip| !ip.is_empty())
    {
        status.pod_ips = Some(vec![PodIP { ip }]);
    }
    if let Some(first) = status.pod_ips.as_ref().and_then(|ips| ips.first()) {
        status.pod_ip = Some(first.ip.clone());
    }
    if status.host_ips.as_ref().is_none_or(|ips| ips.is_empty())
        && let Some(ip) = status.host_ip.clone().filter(|ip| !ip.is_empty())
    {
        status.host_ips = Some(vec![HostIP { ip }]);
    }
    if let Some(first) = status.host_ips.as_ref().and_then(|ips| ips.first()) {
        status.host_ip = Some(first.ip.clone());
    }
}

/// Pod affinity terms with `matchLabelKeys`/`mismatchLabelKeys` get the pod's values of those
/// labels merged into their selector (`In` and `NotIn`), as upstream's `mutatePodAffinity`.
fn apply_match_label_keys_to_affinity(spec: &mut PodSpec, labels: Option<&std::collections::BTreeMap<String, String>>) {
    use k8s_openapi::api::core::v1::PodAffinityTerm;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    let Some(affinity) = &mut spec.affinity else {
        return;
    };
    let apply = |term: &mut PodAffinityTerm| {
        let Some(selector) = &mut term.label_selector else {
            return;
        };
        for (keys, operator) in [(&term.match_label_keys, "In"), (&term.mismatch_label_keys, "NotIn")] {
            for key in keys.iter().flatten() {
                if let Some(value) = labels.and_then(|l| l.get(key)) {
                    selector.match_expressions.get_or_insert_with(Vec::new).push(LabelSelectorRequirement {
                        key: key.clone(),
                        operator: operator.to_owned(),
                        values: Some(vec![value.clone()]),
                    });
                }
            }
        }
    };
    if let Some(a) = &mut affinity.pod_affinity {
        a.preferred_during_scheduling_ignored_during_execution
            .iter_mut()
            .flatten()
            .for_each(|t| apply(&mut t.pod_affinity_term));
        a.required_during_scheduling_ignored_during_execution.iter_mut().flatten().for_each(apply);
    }
    if let Some(a) = &mut affinity.pod_anti_affinity {
        a.preferred_during_scheduling_ignored_during_execution
            .iter_mut()
            .flatten()
            .for_each(|t| apply(&mut t.pod_affinity_term));
        a.required_during_scheduling_ignored_during_execution.iter_mut().flatten().for_each(apply);
    }
}
