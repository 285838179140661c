//! Warnings returned with writes of pods and pod templates (upstream `pkg/api/pod/warnings.go`):
//! deprecated node labels, annotations and volume plugins, duplicates that apply would drop,
//! and fractional byte quantities.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{NodeSelectorTerm, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use krs_apimachinery::quantity::Quantity;
use krs_apimachinery::validation::Path;

use super::s;
use super::volumes::go_quote;
use crate::strategy::or_default;

/// Node labels that have a GA replacement, with upstream's message.
fn deprecated_node_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "beta.kubernetes.io/arch" => "deprecated since v1.14; use \"kubernetes.io/arch\" instead",
        "beta.kubernetes.io/os" => "deprecated since v1.14; use \"kubernetes.io/os\" instead",
        "failure-domain.beta.kubernetes.io/region" => {
            "deprecated since v1.17; use \"topology.kubernetes.io/region\" instead"
        }
        "failure-domain.beta.kubernetes.io/zone" => {
            "deprecated since v1.17; use \"topology.kubernetes.io/zone\" instead"
        }
        "beta.kubernetes.io/instance-type" => {
            "deprecated since v1.17; use \"node.kubernetes.io/instance-type\" instead"
        }
        _ => return None,
    })
}

const DEPRECATED_ANNOTATIONS: &[(&str, &str)] = &[
    (
        "scheduler.alpha.kubernetes.io/critical-pod",
        "non-functional in v1.16+; use the \"priorityClassName\" field instead",
    ),
    ("security.alpha.kubernetes.io/sysctls", "non-functional in v1.11+; use the \"sysctls\" field instead"),
    ("security.alpha.kubernetes.io/unsafe-sysctls", "non-functional in v1.11+; use the \"sysctls\" field instead"),
];

/// Warnings for a Pod.
pub fn warnings_for_pod_spec(spec: &PodSpec, meta: &ObjectMeta) -> Vec<String> {
    warnings(None, spec, meta)
}

/// Warnings for a pod template at `path` (e.g. `spec.template`).
pub fn warnings_for_pod_template(template: &PodTemplateSpec, path: &Path) -> Vec<String> {
    let meta = or_default(&template.metadata);
    let spec = or_default(&template.spec);
    warnings(Some(path), &spec, &meta)
}

/// A child of the (possibly absent) prefix, as upstream's nil-path children render.
fn at(prefix: Option<&Path>, first: &str) -> Path {
    match prefix {
        Some(p) => p.child(first),
        None => Path::new(first),
    }
}

fn warnings(prefix: Option<&Path>, spec: &PodSpec, meta: &ObjectMeta) -> Vec<String> {
    let mut out = Vec::new();
    let spec_path = at(prefix, "spec");
    let meta_path = at(prefix, "metadata");
    for key in spec.node_selector.iter().flat_map(|m| m.keys()) {
        if let Some(msg) = deprecated_node_label(key) {
            out.push(format!("{}: {msg}", spec_path.child("nodeSelector").key(key.clone())));
        }
    }
    if let Some(na) = spec.affinity.as_ref().and_then(|a| a.node_affinity.as_ref()) {
        let na_path = spec_path.child("affinity").child("nodeAffinity");
        if let Some(required) = &na.required_during_scheduling_ignored_during_execution {
            let p = na_path.child("requiredDuringSchedulingIgnoredDuringExecution").child("nodeSelectorTerms");
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                out.extend(node_selector_term_warnings(term, &p.index(i)));
            }
        }
        let p = na_path.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in na.preferred_during_scheduling_ignored_during_execution.iter().flatten().enumerate() {
            out.extend(node_selector_term_warnings(&term.preference, &p.index(i).child("preference")));
        }
    }
    for (i, c) in spec.topology_spread_constraints.iter().flatten().enumerate() {
        let p = spec_path.child("topologySpreadConstraints").index(i);
        if let Some(msg) = deprecated_node_label(&c.topology_key) {
            out.push(format!("{}: {} is {msg}", p.child("topologyKey"), c.topology_key));
        }
        if c.label_selector.is_none() {
            out.push(format!("{}: a null labelSelector results in matching no pod", p.child("labelSelector")));
        }
    }
    let annotations = or_default(&meta.annotations);
    for (key, msg) in DEPRECATED_ANNOTATIONS {
        if annotations.contains_key(*key) {
            out.push(format!("{}: {msg}", meta_path.child("annotations").key(*key)));
        }
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let p = spec_path.child("volumes").index(i);
        let deprecated: [(bool, &str, &str); 9] = [
            (
                v.photon_persistent_disk.is_some(),
                "photonPersistentDisk",
                "deprecated in v1.11, non-functional in v1.16+",
            ),
            (v.git_repo.is_some(), "gitRepo", "deprecated in v1.11"),
            (v.scale_io.is_some(), "scaleIO", "deprecated in v1.16, non-functional in v1.22+"),
            (v.flocker.is_some(), "flocker", "deprecated in v1.22, non-functional in v1.25+"),
            (v.storageos.is_some(), "storageOS", "deprecated in v1.22, non-functional in v1.25+"),
            (v.quobyte.is_some(), "quobyte", "deprecated in v1.22, non-functional in v1.25+"),
            (v.glusterfs.is_some(), "glusterfs", "deprecated in v1.25, non-functional in v1.26+"),
            (v.cephfs.is_some(), "cephfs", "deprecated in v1.28, non-functional in v1.31+"),
            (v.rbd.is_some(), "rbd", "deprecated in v1.28, non-functional in v1.31+"),
        ];
        for (set, name, msg) in deprecated {
            if set {
                out.push(format!("{}: {msg}", p.child(name)));
            }
        }
    }
    let aliases = spec.host_aliases.as_deref().unwrap_or_default();
    if aliases.len() > 1 {
        let mut seen = BTreeSet::new();
        for (i, alias) in aliases.iter().enumerate() {
            if !seen.insert(alias.ip.as_str()) {
                out.push(format!(
                    "{}: duplicate ip {}",
                    spec_path.child("hostAliases").index(i).child("ip"),
                    go_quote(&alias.ip)
                ));
            }
        }
    }
    let secrets = spec.image_pull_secrets.as_deref().unwrap_or_default();
    if secrets.len() > 1 {
        let mut seen = BTreeSet::new();
        for (i, secret) in secrets.iter().enumerate() {
            if !seen.insert(secret.name.as_str()) {
                out.push(format!(
                    "{}: duplicate name {}",
                    spec_path.child("imagePullSecrets").index(i).child("name"),
                    go_quote(&secret.name)
                ));
            }
        }
    }
    for (i, secret) in secrets.iter().enumerate() {
        if secret.name.is_empty() {
            out.push(format!(
                "{}: invalid empty name \"\"",
                spec_path.child("imagePullSecrets").index(i).child("name")
            ));
        }
    }
    if let Some(overhead) = &spec.overhead {
        out.extend(fractional_byte_warnings(overhead, &spec_path.child("overhead")));
    }
    let has_pod_seccomp = spec.security_context.as_ref().is_some_and(|sc| sc.seccomp_profile.is_some());
    if !has_pod_seccomp && annotations.contains_key("seccomp.security.alpha.kubernetes.io/pod") {
        out.push(format!(
            "{}: non-functional in v1.27+; use the \"seccompProfile\" field instead",
            meta_path.child("annotations").key("seccomp.security.alpha.kubernetes.io/pod")
        ));
    }
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| (spec_path.child("initContainers").index(i), c))
        .chain(spec.containers.iter().enumerate().map(|(i, c)| (spec_path.child("containers").index(i), c)));
    for (p, c) in containers {
        let has_seccomp = c.security_context.as_ref().is_some_and(|sc| sc.seccomp_profile.is_some());
        let key = format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name);
        if !has_seccomp && annotations.contains_key(&key) {
            out.push(format!(
                "{}: non-functional in v1.27+; use the \"seccompProfile\" field instead",
                meta_path.child("annotations").key(key)
            ));
        }
        if let Some(resources) = &c.resources {
            if let Some(limits) = &resources.limits {
                out.extend(fractional_byte_warnings(limits, &p.child("resources").child("limits")));
            }
            if let Some(requests) = &resources.requests {
                out.extend(fractional_byte_warnings(requests, &p.child("resources").child("requests")));
            }
        }
        let env = c.env.as_deref().unwrap_or_default();
        if env.len() > 1 {
            let mut seen = BTreeSet::new();
            for (i, var) in env.iter().enumerate() {
                if seen.contains(var.name.as_str()) {
                    let reference = format!("$({})", var.name);
                    let value = s(&var.value);
                    if var.value_from.is_some() || value == reference || !value.contains(&reference) {
                        out.push(format!(
                            "{}: hides previous definition of {}, which may be dropped when using apply",
                            p.child("env").index(i),
                            go_quote(&var.name)
                        ));
                    }
                } else {
                    seen.insert(var.name.as_str());
                }
            }
        }
    }
    out
}

fn node_selector_term_warnings(term: &NodeSelectorTerm, path: &Path) -> Vec<String> {
    term.match_expressions
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, e)| {
            deprecated_node_label(&e.key)
                .map(|msg| format!("{}: {} is {msg}", path.child("matchExpressions").index(i).child("key"), e.key))
        })
        .collect()
}

fn fractional_byte_warnings(
    list: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    path: &Path,
) -> Vec<String> {
    ["memory", "ephemeral-storage"]
        .into_iter()
        .filter_map(|name| {
            let q = Quantity::try_from(list.get(name)?).ok()?;
            (q.milli_value() % 1000 != 0).then(|| {
                format!(
                    "{}: fractional byte value {} is invalid, must be an integer",
                    path.key(name),
                    go_quote(&q.to_string())
                )
            })
        })
        .collect()
}
