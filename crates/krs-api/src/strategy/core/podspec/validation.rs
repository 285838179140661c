//! `ValidatePodSpec` and `ValidatePodTemplateSpec`: the whole pod spec, in upstream's order
//! (which decides the order of the errors a client sees).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use krs_apimachinery::validation::{
    BadValue, ErrorList, Path, field, inclusive_range_error, name_is_dns_subdomain, validate_annotations,
    validate_labels, validate_service_account_name,
};

use super::containers::{
    ContainerContext, validate_containers, validate_ephemeral_containers, validate_init_containers,
};
use super::resources::{validate_overhead, validate_pod_resources};
use super::scheduling::{
    validate_affinity, validate_dns_config, validate_dns_policy, validate_host_aliases, validate_pod_resource_claims,
    validate_scheduling_gates, validate_tolerations, validate_topology_spread_constraints,
};
use super::security::{
    host_users, validate_host_users, validate_os, validate_pod_security_context, validate_seccomp_annotation,
};
use super::volumes::validate_volumes;
use super::{dns1123_label, name_errors, qualified_name, s};
use crate::strategy::or_default;

/// Options of pod spec validation (upstream's `PodValidationOptions`, reduced to what differs
/// between callers in 1.34).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodValidationOptions {
    /// The spec is a Pod's own (not a template): host ports must equal container ports with host
    /// networking, and image volumes need a reference.
    pub resource_is_pod: bool,
}

/// A pod spec (`ValidatePodSpec`). `pod_meta` is the pod's metadata when validating a Pod (it
/// names the claims of ephemeral volumes); templates pass `None`.
pub fn validate_pod_spec(
    spec: &PodSpec,
    pod_meta: Option<&ObjectMeta>,
    path: &Path,
    opts: PodValidationOptions,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.termination_grace_period_seconds.is_none() {
        errs.push(field::required(&path.child("terminationGracePeriodSeconds"), ""));
    }
    let (volumes, vol_errs) = validate_volumes(
        spec.volumes.as_deref().unwrap_or_default(),
        pod_meta,
        opts.resource_is_pod,
        &path.child("volumes"),
    );
    errs.append(vol_errs);
    let claims = spec.resource_claims.as_deref().unwrap_or_default();
    let pod_claim_names: BTreeSet<String> =
        claims.iter().filter(|c| !c.name.is_empty()).map(|c| c.name.clone()).collect();
    errs.append(validate_pod_resource_claims(claims, &path.child("resourceClaims")));
    let restart_policy = s(&spec.restart_policy);
    let ctx = ContainerContext {
        volumes: &volumes,
        pod_claim_names: &pod_claim_names,
        grace_period: spec.termination_grace_period_seconds,
        pod_restart_policy: restart_policy,
        host_users: host_users(spec),
    };
    let init_containers = spec.init_containers.as_deref().unwrap_or_default();
    errs.append(validate_containers(&spec.containers, &ctx, &path.child("containers")));
    errs.append(validate_init_containers(init_containers, &spec.containers, &ctx, &path.child("initContainers")));
    errs.append(validate_ephemeral_containers(
        spec.ephemeral_containers.as_deref().unwrap_or_default(),
        &spec.containers,
        init_containers,
        &ctx,
        &path.child("ephemeralContainers"),
    ));
    errs.append(validate_pod_resources(spec, &pod_claim_names, &path.child("resources")));
    errs.append(validate_host_network_deps(spec, path, opts));
    errs.append(validate_restart_policy(restart_policy, &path.child("restartPolicy")));
    errs.append(validate_dns_policy(s(&spec.dns_policy), &path.child("dnsPolicy")));
    if let Some(selector) = &spec.node_selector {
        errs.append(validate_labels(selector, &path.child("nodeSelector")));
    }
    errs.append(validate_pod_security_context(spec, &path.child("securityContext")));
    errs.append(validate_affinity(spec.affinity.as_ref(), &path.child("affinity")));
    errs.append(validate_dns_config(spec.dns_config.as_ref(), s(&spec.dns_policy), &path.child("dnsConfig")));
    for (i, gate) in spec.readiness_gates.iter().flatten().enumerate() {
        errs.append(qualified_name(
            &gate.condition_type,
            &path.child("readinessGates").index(i).child("conditionType"),
        ));
    }
    errs.append(validate_scheduling_gates(
        spec.scheduling_gates.as_deref().unwrap_or_default(),
        &path.child("schedulingGates"),
    ));
    errs.append(validate_topology_spread_constraints(
        spec.topology_spread_constraints.as_deref().unwrap_or_default(),
        &path.child("topologySpreadConstraints"),
    ));
    errs.append(validate_host_users(spec, path));
    let service_account = s(&spec.service_account_name);
    if !service_account.is_empty() {
        errs.append(name_errors(
            validate_service_account_name(service_account, false),
            service_account,
            &path.child("serviceAccountName"),
        ));
    }
    let node_name = s(&spec.node_name);
    if !node_name.is_empty() {
        errs.append(name_errors(name_is_dns_subdomain(node_name, false), node_name, &path.child("nodeName")));
    }
    if let Some(deadline) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&deadline)
    {
        errs.push(field::invalid(
            &path.child("activeDeadlineSeconds"),
            deadline,
            inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }
    let hostname = s(&spec.hostname);
    if !hostname.is_empty() {
        errs.append(dns1123_label(hostname, &path.child("hostname")));
    }
    let subdomain = s(&spec.subdomain);
    if !subdomain.is_empty() {
        errs.append(dns1123_label(subdomain, &path.child("subdomain")));
    }
    if let Some(tolerations) = spec.tolerations.as_deref().filter(|t| !t.is_empty()) {
        errs.append(validate_tolerations(tolerations, &path.child("tolerations")));
    }
    if let Some(aliases) = spec.host_aliases.as_deref().filter(|a| !a.is_empty()) {
        errs.append(validate_host_aliases(aliases, &path.child("hostAliases")));
    }
    let priority_class = s(&spec.priority_class_name);
    if !priority_class.is_empty() {
        errs.append(name_errors(
            name_is_dns_subdomain(priority_class, false),
            priority_class,
            &path.child("priorityClassName"),
        ));
    }
    if let Some(runtime_class) = &spec.runtime_class_name {
        errs.append(name_errors(
            name_is_dns_subdomain(runtime_class, false),
            runtime_class,
            &path.child("runtimeClassName"),
        ));
    }
    if let Some(policy) = &spec.preemption_policy {
        let p = path.child("preemptionPolicy");
        match policy.as_str() {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(field::required(&p, "")),
            other => errs.push(field::not_supported(&p, other, &["PreemptLowerPriority", "Never"])),
        }
    }
    if let Some(overhead) = &spec.overhead {
        errs.append(validate_overhead(overhead, &path.child("overhead")));
    }
    errs.append(validate_os(spec, path));
    errs
}

/// With host networking, host ports must equal container ports
/// (`validatePodHostNetworkDeps`); templates may leave them 0 for the pod's defaulting.
fn validate_host_network_deps(spec: &PodSpec, path: &Path, opts: PodValidationOptions) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.host_network != Some(true) {
        return errs;
    }
    for (i, c) in spec.containers.iter().enumerate() {
        for (j, port) in c.ports.iter().flatten().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if (opts.resource_is_pod || host_port != 0) && host_port != port.container_port {
                errs.push(field::invalid(
                    &path.child("containers").index(i).child("ports").index(j).child("hostPort"),
                    host_port,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

fn validate_restart_policy(policy: &str, path: &Path) -> ErrorList {
    match policy {
        "Always" | "OnFailure" | "Never" => ErrorList::new(),
        "" => ErrorList::from(field::required(path, "")),
        other => ErrorList::from(field::not_supported(path, other, &["Always", "OnFailure", "Never"])),
    }
}

/// The annotations that mean something for a pod (`ValidatePodSpecificAnnotations`): the mirror
/// pod marker, the deletion cost, and the deprecated seccomp and AppArmor annotations.
pub fn validate_pod_spec_annotations(annotations: &BTreeMap<String, String>, spec: &PodSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(value) = annotations.get("kubernetes.io/config.mirror")
        && s(&spec.node_name).is_empty()
    {
        errs.push(field::invalid(
            &path.key("kubernetes.io/config.mirror"),
            value.as_str(),
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if let Some(cost) = annotations.get("controller.kubernetes.io/pod-deletion-cost")
        && cost.parse::<i32>().is_err()
    {
        errs.push(field::invalid(
            &path.key("controller.kubernetes.io/pod-deletion-cost"),
            cost.as_str(),
            "must be a 32bit integer",
        ));
    }
    if let Some(profile) = annotations.get("seccomp.security.alpha.kubernetes.io/pod") {
        errs.append(validate_seccomp_annotation(profile, &path.child("seccomp.security.alpha.kubernetes.io/pod")));
    }
    for (key, profile) in annotations {
        if key.starts_with("container.seccomp.security.alpha.kubernetes.io/") {
            errs.append(validate_seccomp_annotation(profile, &path.child(key.clone())));
        }
    }
    for (key, profile) in annotations {
        let Some(container) = key.strip_prefix("container.apparmor.security.beta.kubernetes.io/") else {
            continue;
        };
        let known = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .map(|c| c.name.as_str())
            .chain(spec.ephemeral_containers.iter().flatten().map(|c| c.name.as_str()))
            .any(|name| name == container);
        if !known {
            errs.push(field::invalid(&path.key(key.clone()), container, "container not found"));
        }
        let valid = profile.is_empty()
            || profile == "runtime/default"
            || profile == "unconfined"
            || profile.starts_with("localhost/");
        if !valid {
            errs.push(field::invalid(
                &path.key(key.clone()),
                profile.as_str(),
                format!("invalid AppArmor profile name: {}", BadValue::String(profile.clone())),
            ));
        }
    }
    errs
}

/// A pod template (`ValidatePodTemplateSpec`): its labels and annotations, its spec (as a
/// template, so with the looser template rules), and no ephemeral containers.
pub fn validate_pod_template_spec(template: &PodTemplateSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let meta = or_default(&template.metadata);
    if let Some(labels) = &meta.labels {
        errs.append(validate_labels(labels, &path.child("labels")));
    }
    let empty_spec = PodSpec::default();
    let spec = template.spec.as_ref().unwrap_or(&empty_spec);
    if let Some(annotations) = &meta.annotations {
        errs.append(validate_annotations(annotations, &path.child("annotations")));
        errs.append(validate_pod_spec_annotations(annotations, spec, &path.child("annotations")));
    }
    errs.append(validate_pod_spec(spec, None, &path.child("spec"), PodValidationOptions::default()));
    if spec.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty()) {
        errs.push(field::forbidden(
            &path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// The template of a controller whose pods must keep running (ReplicationController,
/// ReplicaSet, Deployment, DaemonSet): the selector matches the template's labels, the template
/// is valid, its restart policy is `Always` and it sets no active deadline
/// (`ValidatePodTemplateSpecForReplicaSet` and its siblings). `selector_matches` is `None` when
/// the selector is empty (and so matches everything), `owner` names the kind in messages.
pub fn validate_pod_template_spec_for_owner(
    template: &PodTemplateSpec,
    selector_matches: Option<bool>,
    owner: &str,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if selector_matches == Some(false) {
        errs.push(field::invalid(
            &path.child("metadata").child("labels"),
            BadValue::json(&template_labels(template)),
            "`selector` does not match template `labels`",
        ));
    }
    errs.append(validate_pod_template_spec(template, path));
    let spec_path = path.child("spec");
    let spec = template.spec.as_ref();
    let policy = spec.map(|s| s.restart_policy.clone().unwrap_or_default()).unwrap_or_default();
    if policy != "Always" {
        errs.push(field::not_supported(&spec_path.child("restartPolicy"), policy.as_str(), &["Always"]));
    }
    if spec.is_some_and(|s| s.active_deadline_seconds.is_some()) {
        errs.push(field::forbidden(
            &spec_path.child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {owner} is not Supported"),
        ));
    }
    errs
}

/// A template's labels, or Go's nil map (`null`) when it has none.
pub(crate) fn template_labels(template: &PodTemplateSpec) -> Option<BTreeMap<String, String>> {
    template.metadata.as_ref().and_then(|m| m.labels.clone())
}
