//! The node strategy (upstream `pkg/registry/core/node/strategy.go`, `ValidateNode` and
//! `ValidateNodeUpdate`): taints, pod CIDRs (set once), the provider ID (set once), the
//! deprecated config source, resource quantities of the status, and the `spec.unschedulable`
//! field selector. Nodes are cluster-scoped and named by DNS subdomains (the default rule).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ConfigMapNodeConfigSource, Node, NodeConfigSource, NodeSpec, Taint};
use krs_apimachinery::validation::{
    BadValue, ErrorList, Path, field, is_config_map_key, is_valid_cidr, is_valid_label_value, name_is_dns_subdomain,
    validate_label_name, validate_namespace_name,
};
use krs_kinds::Object;

use super::podspec::{round_up_resource_list, validate_resource_quantity_value, validate_taint_effect};
use crate::strategy::core::podspec::{name_errors, s};
use crate::strategy::{FieldLabel, Strategy, typed, typed_mut};

/// The strategy of `nodes`.
pub struct NodeStrategy;

/// The node strategy instance the catalog refers to.
pub static NODE: NodeStrategy = NodeStrategy;

static FIELD_LABELS: &[FieldLabel] = &[FieldLabel::boolean("spec.unschedulable")];

impl Strategy for NodeStrategy {
    // Nodes allow every field, status included, to be set on create (upstream's node
    // strategy): the node agent registers with its capacity and conditions.
    fn reset_status_on_create(&self) -> bool {
        false
    }

    fn default(&self, obj: &mut dyn Object) {
        let Some(node) = typed_mut::<Node>(obj) else {
            return;
        };
        if let Some(spec) = &mut node.spec {
            sync_pod_cidrs(spec);
        }
        if let Some(status) = &mut node.status {
            if status.allocatable.is_none() {
                status.allocatable = status.capacity.clone();
            }
            for list in [&mut status.capacity, &mut status.allocatable].into_iter().flatten() {
                round_up_resource_list(list);
            }
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Node>(obj).map(validate_node).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Node>(new), typed::<Node>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_node(new);
        errs.append(validate_node_update(new, old));
        errs
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }

    fn validate_status_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Node>(new), typed::<Node>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_node_resources(new);
        errs.append(validate_node_update(new, old));
        errs
    }
}

/// `spec.podCIDR` is the first of `spec.podCIDRs`, as upstream's conversion keeps them.
fn sync_pod_cidrs(spec: &mut NodeSpec) {
    if spec.pod_cidrs.as_ref().is_none_or(|c| c.is_empty())
        && let Some(cidr) = spec.pod_cidr.clone().filter(|c| !c.is_empty())
    {
        spec.pod_cidrs = Some(vec![cidr]);
    }
    if let Some(first) = spec.pod_cidrs.as_ref().and_then(|c| c.first()) {
        spec.pod_cidr = Some(first.clone());
    }
}

/// `ValidateNode`, ObjectMeta aside.
fn validate_node(node: &Node) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = node.spec.clone().unwrap_or_default();
    if let Some(taints) = spec.taints.as_deref().filter(|t| !t.is_empty()) {
        // Upstream reports taints under `metadata`.
        errs.append(validate_taints(taints, &Path::new("metadata").child("taints")));
    }
    errs.append(validate_node_resources(node));
    let cidrs = spec.pod_cidrs.as_deref().unwrap_or_default();
    if !cidrs.is_empty() {
        let path = Path::new("spec").child("podCIDRs");
        for (i, cidr) in cidrs.iter().enumerate() {
            errs.append(is_valid_cidr(&path.index(i), cidr));
        }
        if cidrs.len() > 1 {
            let families: Vec<Option<bool>> = cidrs
                .iter()
                .map(|c| c.split('/').next().and_then(|ip| ip.parse::<IpAddr>().ok()).map(|ip| ip.is_ipv4()))
                .collect();
            let dual = cidrs.len() == 2 && families.iter().all(Option::is_some) && families[0] != families[1];
            if !dual {
                errs.push(field::invalid(
                    &path,
                    BadValue::string_list(cidrs),
                    "may specify no more than one CIDR for each IP family",
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, cidr) in cidrs.iter().enumerate() {
                if !seen.insert(cidr.as_str()) {
                    errs.push(field::duplicate(&path.index(i), cidr.as_str()));
                }
            }
        }
    }
    errs
}

/// Taints: label-like keys and values, known effects, unique by key and effect
/// (`validateNodeTaints`).
fn validate_taints(taints: &[Taint], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (i, taint) in taints.iter().enumerate() {
        let p = path.index(i);
        errs.append(validate_label_name(&taint.key, &p.child("key")));
        let value = s(&taint.value);
        let msgs = is_valid_label_value(value);
        if !msgs.is_empty() {
            errs.push(field::invalid(&p.child("value"), value, msgs.join(";")));
        }
        errs.append(validate_taint_effect(&taint.effect, false, &p.child("effect")));
        let keys = seen.entry(taint.effect.as_str()).or_default();
        if keys.contains(taint.key.as_str()) {
            let mut e = field::duplicate(&p, BadValue::json(taint));
            e.detail = "taints must be unique by key and effect pair".to_owned();
            errs.push(e);
            continue;
        }
        keys.insert(taint.key.as_str());
    }
    errs
}

/// Quantities of capacity and allocatable (`ValidateNodeResources`).
fn validate_node_resources(node: &Node) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(status) = &node.status else {
        return errs;
    };
    for (list, name) in [(&status.capacity, "capacity"), (&status.allocatable, "allocatable")] {
        for (resource, value) in list.iter().flatten() {
            // Upstream names these paths with children, not keys: `status.capacity.cpu`.
            let p = Path::new("status").child(name).child(resource.clone());
            match krs_apimachinery::quantity::Quantity::try_from(value) {
                Ok(q) => errs.append(validate_resource_quantity_value(resource, &q, &p)),
                Err(e) => errs.push(field::invalid(&p, value.0.as_str(), e.to_string())),
            }
        }
    }
    errs
}

/// What an update may not change (`ValidateNodeUpdate`).
fn validate_node_update(node: &Node, old: &Node) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = node.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let mut addresses = BTreeSet::new();
    for (i, address) in node.status.iter().flat_map(|s| s.addresses.iter().flatten()).enumerate() {
        if !addresses.insert((address.type_.as_str(), address.address.as_str())) {
            errs.push(field::duplicate(&Path::new("status").child("addresses").index(i), BadValue::json(address)));
        }
    }
    let old_cidrs = old_spec.pod_cidrs.as_deref().unwrap_or_default();
    let new_cidrs = spec.pod_cidrs.as_deref().unwrap_or_default();
    if !old_cidrs.is_empty() {
        const MSG: &str = "node updates may not change podCIDR except from \"\" to valid";
        let path = Path::new("spec").child("podCIDRs");
        if old_cidrs.len() != new_cidrs.len() {
            errs.push(field::forbidden(&path, MSG));
        } else {
            for (o, n) in old_cidrs.iter().zip(new_cidrs) {
                if o != n {
                    errs.push(field::forbidden(&path, MSG));
                }
            }
        }
    }
    let old_provider = s(&old_spec.provider_id);
    if !old_provider.is_empty() && old_provider != s(&spec.provider_id) {
        errs.push(field::forbidden(
            &Path::new("spec").child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    if let Some(source) = &spec.config_source {
        errs.append(validate_config_source(source, false, &Path::new("spec").child("configSource")));
    }
    if let Some(config) = node.status.as_ref().and_then(|s| s.config.as_ref()) {
        let p = Path::new("status").child("config");
        for (source, name) in
            [(&config.assigned, "assigned"), (&config.active, "active"), (&config.last_known_good, "lastKnownGood")]
        {
            if let Some(source) = source {
                errs.append(validate_config_source(source, true, &p.child(name)));
            }
        }
    }
    if spec.external_id != old_spec.external_id {
        errs.push(field::forbidden(&Path::new("spec").child("externalID"), "may not be updated"));
    }
    errs
}

/// The deprecated dynamic kubelet config source: exactly one reference, which names a config
/// map; `uid` and `resourceVersion` belong to the status only.
fn validate_config_source(source: &NodeConfigSource, in_status: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut count = 0;
    if let Some(cm) = &source.config_map {
        count += 1;
        errs.append(validate_config_map_source(cm, in_status, &path.child("configMap")));
    }
    if count != 1 {
        errs.push(field::invalid(path, BadValue::json(source), "exactly one reference subfield must be non-nil"));
    }
    errs
}

fn validate_config_map_source(cm: &ConfigMapNodeConfigSource, in_status: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let uid = s(&cm.uid);
    let rv = s(&cm.resource_version);
    if in_status {
        if uid.is_empty() {
            errs.push(field::required(&path.child("uid"), "uid must be set in status"));
        }
        if rv.is_empty() {
            errs.push(field::required(&path.child("resourceVersion"), "resourceVersion must be set in status"));
        }
    } else {
        if !uid.is_empty() {
            errs.push(field::forbidden(&path.child("uid"), "uid must not be set in spec"));
        }
        if !rv.is_empty() {
            errs.push(field::forbidden(&path.child("resourceVersion"), "resourceVersion must not be set in spec"));
        }
    }
    if cm.namespace.is_empty() {
        errs.push(field::required(&path.child("namespace"), "namespace must be set"));
    } else {
        errs.append(name_errors(
            validate_namespace_name(&cm.namespace, false),
            &cm.namespace,
            &path.child("namespace"),
        ));
    }
    if cm.name.is_empty() {
        errs.push(field::required(&path.child("name"), "name must be set"));
    } else {
        errs.append(name_errors(name_is_dns_subdomain(&cm.name, false), &cm.name, &path.child("name")));
    }
    if cm.kubelet_config_key.is_empty() {
        errs.push(field::required(&path.child("kubeletConfigKey"), "kubeletConfigKey must be set"));
    } else {
        errs.append(name_errors(
            is_config_map_key(&cm.kubelet_config_key),
            &cm.kubelet_config_key,
            &path.child("kubeletConfigKey"),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(taints: Vec<Taint>) -> Node {
        Node { spec: Some(NodeSpec { taints: Some(taints), ..Default::default() }), ..Default::default() }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint { key: key.into(), effect: effect.into(), ..Default::default() }
    }

    #[test]
    fn taints_need_known_effects_and_unique_key_effect_pairs() {
        let errs =
            validate_node(&node(vec![taint("a", "NoSchedule"), taint("a", "NoSchedule"), taint("b", "Sometimes")]));
        assert_eq!(
            errs.to_string(),
            r#"[metadata.taints[1]: Duplicate value: {"effect":"NoSchedule","key":"a"}: taints must be unique by key and effect pair, metadata.taints[2].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"]"#
        );
        assert!(validate_node(&node(vec![taint("a", "NoSchedule"), taint("a", "NoExecute")])).is_empty());
    }

    #[test]
    fn provider_id_and_pod_cidrs_are_set_once() {
        let old = Node {
            spec: Some(NodeSpec {
                provider_id: Some("kind://a".into()),
                pod_cidrs: Some(vec!["10.0.0.0/24".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let new = Node {
            spec: Some(NodeSpec {
                provider_id: Some("kind://b".into()),
                pod_cidrs: Some(vec!["10.0.1.0/24".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            validate_node_update(&new, &old).to_string(),
            "[spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid, spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid]"
        );
        let fresh = Node { spec: Some(NodeSpec::default()), ..Default::default() };
        assert!(validate_node_update(&old, &fresh).is_empty());
    }

    #[test]
    fn pod_cidr_mirrors_pod_cidrs() {
        let mut n = Node {
            spec: Some(NodeSpec { pod_cidr: Some("10.0.0.0/24".into()), ..Default::default() }),
            ..Default::default()
        };
        NODE.default(&mut n);
        assert_eq!(n.spec.unwrap().pod_cidrs, Some(vec!["10.0.0.0/24".to_owned()]));
    }

    #[test]
    fn unschedulable_is_a_field_label() {
        let labels = NODE.field_labels();
        assert_eq!(labels[0].value_in(&serde_json::json!({"spec": {}})), "false");
    }
}
