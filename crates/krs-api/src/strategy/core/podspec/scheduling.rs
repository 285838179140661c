//! Where and how a pod may be scheduled: affinity, tolerations, topology spread, scheduling
//! gates, DNS, host aliases and resource claims (the scheduling parts of upstream's
//! `ValidatePodSpec`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    Affinity, HostAlias, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm, PodDNSConfig,
    PodResourceClaim, PodSchedulingGate, Toleration, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use krs_apimachinery::validation::{
    BadValue, ErrorList, LabelSelectorValidationOptions, Path, field, is_valid_ip, is_valid_label_value,
    name_is_dns_subdomain, validate_label_name, validate_label_selector, validate_namespace_name,
};

use super::{dns1123_label, dns1123_subdomain, name_errors, qualified_name, s};

/// Node and pod (anti-)affinity (`validateAffinity`).
pub(crate) fn validate_affinity(affinity: Option<&Affinity>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(affinity) = affinity else {
        return errs;
    };
    if let Some(na) = &affinity.node_affinity {
        let p = path.child("nodeAffinity");
        if let Some(required) = &na.required_during_scheduling_ignored_during_execution {
            errs.append(validate_node_selector(required, &p.child("requiredDuringSchedulingIgnoredDuringExecution")));
        }
        let preferred = na.preferred_during_scheduling_ignored_during_execution.as_deref().unwrap_or_default();
        let pp = p.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in preferred.iter().enumerate() {
            if term.weight <= 0 || term.weight > 100 {
                errs.push(field::invalid(&pp.index(i).child("weight"), term.weight, "must be in the range 1-100"));
            }
            // Invalid label values are tolerated in preferences: they can still match.
            errs.append(validate_node_selector_term_inner(&term.preference, true, &pp.index(i).child("preference")));
        }
    }
    for (pod_affinity, name) in [
        (
            affinity.pod_affinity.as_ref().map(|a| {
                (
                    a.required_during_scheduling_ignored_during_execution.as_deref(),
                    a.preferred_during_scheduling_ignored_during_execution.as_deref(),
                )
            }),
            "podAffinity",
        ),
        (
            affinity.pod_anti_affinity.as_ref().map(|a| {
                (
                    a.required_during_scheduling_ignored_during_execution.as_deref(),
                    a.preferred_during_scheduling_ignored_during_execution.as_deref(),
                )
            }),
            "podAntiAffinity",
        ),
    ] {
        let Some((required, preferred)) = pod_affinity else {
            continue;
        };
        let p = path.child(name);
        if let Some(required) = required {
            let rp = p.child("requiredDuringSchedulingIgnoredDuringExecution");
            for (i, term) in required.iter().enumerate() {
                errs.append(validate_pod_affinity_term(term, &rp.index(i)));
            }
        }
        if let Some(preferred) = preferred {
            errs.append(validate_weighted_terms(
                preferred,
                &p.child("preferredDuringSchedulingIgnoredDuringExecution"),
            ));
        }
    }
    errs
}

fn validate_weighted_terms(terms: &[WeightedPodAffinityTerm], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (j, term) in terms.iter().enumerate() {
        if term.weight <= 0 || term.weight > 100 {
            errs.push(field::invalid(&path.index(j).child("weight"), term.weight, "must be in the range 1-100"));
        }
        errs.append(validate_pod_affinity_term(&term.pod_affinity_term, &path.index(j).child("podAffinityTerm")));
    }
    errs
}

fn validate_pod_affinity_term(term: &PodAffinityTerm, path: &Path) -> ErrorList {
    let opts = LabelSelectorValidationOptions::default();
    let mut errs = validate_label_selector(term.label_selector.as_ref(), opts, &path.child("labelSelector"));
    errs.append(validate_label_selector(term.namespace_selector.as_ref(), opts, &path.child("namespaceSelector")));
    for ns in term.namespaces.iter().flatten() {
        errs.append(name_errors(validate_namespace_name(ns, false), ns, &path.child("namespace")));
    }
    errs.append(validate_match_label_keys_and_mismatch(
        path,
        term.match_label_keys.as_deref().unwrap_or_default(),
        term.mismatch_label_keys.as_deref().unwrap_or_default(),
        term.label_selector.as_ref(),
    ));
    if term.topology_key.is_empty() {
        errs.push(field::required(&path.child("topologyKey"), "can not be empty"));
    }
    errs.append(validate_label_name(&term.topology_key, &path.child("topologyKey")));
    errs
}

fn validate_match_label_keys_and_mismatch(
    path: &Path,
    match_keys: &[String],
    mismatch_keys: &[String],
    selector: Option<&LabelSelector>,
) -> ErrorList {
    let mut errs = ErrorList::new();
    for (keys, name) in [(match_keys, "matchLabelKeys"), (mismatch_keys, "mismatchLabelKeys")] {
        if keys.is_empty() {
            continue;
        }
        let p = path.child(name);
        if selector.is_none() {
            errs.push(field::forbidden(&p, "must not be specified when labelSelector is not set"));
            continue;
        }
        for (i, key) in keys.iter().enumerate() {
            errs.append(validate_label_name(key, &p.index(i)));
        }
    }
    if let Some(selector) = selector {
        let mut seen: BTreeSet<&str> =
            selector.match_labels.iter().flat_map(|m| m.keys()).map(String::as_str).collect();
        for expr in selector.match_expressions.iter().flatten() {
            if let Some(i) = match_keys.iter().position(|k| *k == expr.key)
                && seen.contains(expr.key.as_str())
            {
                errs.push(field::invalid(
                    &path.index(i),
                    expr.key.as_str(),
                    "exists in both matchLabelKeys and labelSelector",
                ));
            }
            seen.insert(expr.key.as_str());
        }
    }
    for (i, key) in match_keys.iter().enumerate() {
        if mismatch_keys.contains(key) {
            errs.push(field::invalid(
                &path.child("matchLabelKeys").index(i),
                key.as_str(),
                "exists in both matchLabelKeys and mismatchLabelKeys",
            ));
        }
    }
    errs
}

/// A required node selector (`ValidateNodeSelector`).
fn validate_node_selector(selector: &NodeSelector, path: &Path) -> ErrorList {
    let terms_path = path.child("nodeSelectorTerms");
    if selector.node_selector_terms.is_empty() {
        return ErrorList::from(field::required(&terms_path, "must have at least one node selector term"));
    }
    let mut errs = ErrorList::new();
    for (i, term) in selector.node_selector_terms.iter().enumerate() {
        errs.append(validate_node_selector_term_inner(term, false, &terms_path.index(i)));
    }
    errs
}

/// One node selector term (`ValidateNodeSelectorTerm`), label values checked.
pub fn validate_node_selector_term(term: &NodeSelectorTerm, path: &Path) -> ErrorList {
    validate_node_selector_term_inner(term, false, path)
}

fn validate_node_selector_term_inner(term: &NodeSelectorTerm, allow_invalid_values: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (j, req) in term.match_expressions.iter().flatten().enumerate() {
        errs.append(validate_node_selector_requirement(
            req,
            allow_invalid_values,
            &path.child("matchExpressions").index(j),
        ));
    }
    for (j, req) in term.match_fields.iter().flatten().enumerate() {
        errs.append(validate_node_field_selector_requirement(req, &path.child("matchFields").index(j)));
    }
    errs
}

fn validate_node_selector_requirement(
    req: &NodeSelectorRequirement,
    allow_invalid_values: bool,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" | "NotIn" if values.is_empty() => {
            errs.push(field::required(&path.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
        }
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(field::forbidden(
            &path.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if values.len() != 1 => errs.push(field::required(
            &path.child("values"),
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
        other => errs.push(field::invalid(&path.child("operator"), other, "not a valid selector operator")),
    }
    errs.append(validate_label_name(&req.key, &path.child("key")));
    if !allow_invalid_values {
        for (i, value) in values.iter().enumerate() {
            errs.append(name_errors(is_valid_label_value(value), value, &path.child("values").index(i)));
        }
    }
    errs
}

fn validate_node_field_selector_requirement(req: &NodeSelectorRequirement, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" | "NotIn" => {
            if values.len() != 1 {
                errs.push(field::required(
                    &path.child("values"),
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                ));
            }
        }
        other => errs.push(field::invalid(&path.child("operator"), other, "not a valid selector operator")),
    }
    if req.key != "metadata.name" {
        errs.push(field::invalid(&path.child("key"), req.key.as_str(), "not a valid field selector key"));
    } else {
        for (i, v) in values.iter().enumerate() {
            errs.append(name_errors(name_is_dns_subdomain(v, false), v, &path.child("values").index(i)));
        }
    }
    errs
}

/// A taint effect (`validateTaintEffect`); tolerations may leave it empty.
pub fn validate_taint_effect(effect: &str, allow_empty: bool, path: &Path) -> ErrorList {
    if !allow_empty && effect.is_empty() {
        return ErrorList::from(field::required(path, ""));
    }
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => ErrorList::new(),
        other => ErrorList::from(field::not_supported(path, other, &["NoSchedule", "PreferNoSchedule", "NoExecute"])),
    }
}

/// Tolerations (`ValidateTolerations`).
pub fn validate_tolerations(tolerations: &[Toleration], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = path.index(i);
        let key = s(&t.key);
        let operator = s(&t.operator);
        let effect = s(&t.effect);
        let value = s(&t.value);
        if !key.is_empty() {
            errs.append(validate_label_name(key, &p.child("key")));
        }
        if key.is_empty() && operator != "Exists" {
            errs.push(field::invalid(
                &p.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(field::invalid(
                &p.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "Equal" | "" => {
                let msgs = is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(field::invalid(&p.child("operator"), value, msgs.join(";")));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(field::invalid(
                        &p.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(field::not_supported(&p.child("operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() {
            errs.append(validate_taint_effect(effect, true, &p.child("effect")));
        }
    }
    errs
}

/// Topology spread constraints (`validateTopologySpreadConstraints`).
pub(crate) fn validate_topology_spread_constraints(constraints: &[TopologySpreadConstraint], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, c) in constraints.iter().enumerate() {
        let p = path.index(i);
        if c.max_skew <= 0 {
            errs.push(field::invalid(&p.child("maxSkew"), c.max_skew, "must be greater than zero"));
        }
        if c.topology_key.is_empty() {
            errs.push(field::required(&p.child("topologyKey"), "can not be empty"));
        }
        if !matches!(c.when_unsatisfiable.as_str(), "DoNotSchedule" | "ScheduleAnyway") {
            errs.push(field::not_supported(
                &p.child("whenUnsatisfiable"),
                c.when_unsatisfiable.as_str(),
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if constraints[i + 1..]
            .iter()
            .any(|o| o.topology_key == c.topology_key && o.when_unsatisfiable == c.when_unsatisfiable)
        {
            errs.push(field::duplicate(
                &p.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{}, {}}}", c.topology_key, c.when_unsatisfiable),
            ));
        }
        if let Some(min) = c.min_domains {
            if min <= 0 {
                errs.push(field::invalid(&p.child("minDomains"), min, "must be greater than zero"));
            }
            if c.when_unsatisfiable != "DoNotSchedule" {
                errs.push(field::invalid(
                    &p.child("minDomains"),
                    min,
                    format!("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {}", c.when_unsatisfiable),
                ));
            }
        }
        for (policy, name) in
            [(&c.node_affinity_policy, "nodeAffinityPolicy"), (&c.node_taints_policy, "nodeTaintsPolicy")]
        {
            if let Some(policy) = policy
                && !matches!(policy.as_str(), "Honor" | "Ignore")
            {
                errs.push(field::not_supported(&p.child(name), policy.as_str(), &["Honor", "Ignore"]));
            }
        }
        let keys = c.match_label_keys.as_deref().unwrap_or_default();
        if !keys.is_empty() {
            let kp = p.child("matchLabelKeys");
            let mut selector_keys = BTreeSet::new();
            match &c.label_selector {
                Some(sel) => {
                    selector_keys.extend(sel.match_labels.iter().flat_map(|m| m.keys()).cloned());
                    selector_keys.extend(sel.match_expressions.iter().flatten().map(|e| e.key.clone()));
                }
                None => errs.push(field::forbidden(&kp, "must not be specified when labelSelector is not set")),
            }
            for (j, key) in keys.iter().enumerate() {
                errs.append(validate_label_name(key, &kp.index(j)));
                if selector_keys.contains(key) {
                    errs.push(field::invalid(
                        &kp.index(j),
                        key.as_str(),
                        "exists in both matchLabelKeys and labelSelector",
                    ));
                }
            }
        }
        errs.append(validate_label_selector(
            c.label_selector.as_ref(),
            LabelSelectorValidationOptions::default(),
            &p.child("labelSelector"),
        ));
    }
    errs
}

/// Scheduling gates: qualified names, no duplicates (`validateSchedulingGates`).
pub(crate) fn validate_scheduling_gates(gates: &[PodSchedulingGate], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen = BTreeSet::new();
    for (i, gate) in gates.iter().enumerate() {
        errs.append(qualified_name(&gate.name, &path.index(i)));
        if !seen.insert(gate.name.as_str()) {
            errs.push(field::duplicate(&path.index(i), gate.name.as_str()));
        }
    }
    errs
}

/// The DNS policy (`validateDNSPolicy`).
pub(crate) fn validate_dns_policy(policy: &str, path: &Path) -> ErrorList {
    match policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => ErrorList::new(),
        "" => ErrorList::from(field::required(path, "")),
        other => ErrorList::from(field::not_supported(
            path,
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
}

/// The DNS configuration, required with policy `None` (`validatePodDNSConfig`).
pub(crate) fn validate_dns_config(config: Option<&PodDNSConfig>, policy: &str, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if policy == "None" {
        let Some(config) = config else {
            errs.push(field::required(path, "must provide `dnsConfig` when `dnsPolicy` is None"));
            return errs;
        };
        if config.nameservers.as_ref().is_none_or(|n| n.is_empty()) {
            errs.push(field::required(
                &path.child("nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            ));
            return errs;
        }
    }
    let Some(config) = config else {
        return errs;
    };
    let nameservers = config.nameservers.as_deref().unwrap_or_default();
    if nameservers.len() > 3 {
        errs.push(field::invalid(
            &path.child("nameservers"),
            BadValue::string_list(nameservers),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, ns) in nameservers.iter().enumerate() {
        errs.append(is_valid_ip(&path.child("nameservers").index(i), ns));
    }
    let searches = config.searches.as_deref().unwrap_or_default();
    if searches.len() > 32 {
        errs.push(field::invalid(
            &path.child("searches"),
            BadValue::string_list(searches),
            "must not have more than 32 search paths",
        ));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(field::invalid(
            &path.child("searches"),
            BadValue::string_list(searches),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, search) in searches.iter().enumerate() {
        // Relaxed DNS search validation is on in 1.34: underscores, and "." alone.
        if search != "." {
            let trimmed = search.strip_suffix('.').unwrap_or(search);
            errs.append(name_errors(
                krs_apimachinery::validation::is_dns1123_subdomain_with_underscore(trimmed),
                trimmed,
                &path.child("searches").index(i),
            ));
        }
    }
    for (i, option) in config.options.iter().flatten().enumerate() {
        if s(&option.name).is_empty() {
            errs.push(field::required(&path.child("options").index(i), "must not be empty"));
        }
    }
    errs
}

/// Host aliases: IPs and DNS names (`ValidateHostAliases`).
pub(crate) fn validate_host_aliases(aliases: &[HostAlias], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, alias) in aliases.iter().enumerate() {
        errs.append(is_valid_ip(&path.index(i).child("ip"), &alias.ip));
        for (j, hostname) in alias.hostnames.iter().flatten().enumerate() {
            errs.append(dns1123_subdomain(hostname, &path.index(i).child("hostnames").index(j)));
        }
    }
    errs
}

/// The pod's resource claims (`validatePodResourceClaims`).
pub(crate) fn validate_pod_resource_claims(claims: &[PodResourceClaim], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names = BTreeSet::new();
    for (i, claim) in claims.iter().enumerate() {
        let p = path.index(i);
        if claim.name.is_empty() {
            errs.push(field::required(&p.child("name"), ""));
        } else if names.contains(&claim.name) {
            errs.push(field::duplicate(&p.child("name"), claim.name.as_str()));
        } else {
            errs.append(dns1123_label(&claim.name, &p.child("name")));
            names.insert(claim.name.clone());
        }
        match (&claim.resource_claim_name, &claim.resource_claim_template_name) {
            (Some(_), Some(_)) => errs.push(field::invalid(
                &p,
                BadValue::json(claim),
                "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified",
            )),
            (None, None) => errs.push(field::invalid(
                &p,
                BadValue::json(claim),
                "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`",
            )),
            _ => {}
        }
        if let Some(name) = &claim.resource_claim_name {
            errs.append(name_errors(name_is_dns_subdomain(name, false), name, &p.child("resourceClaimName")));
        }
        if let Some(name) = &claim.resource_claim_template_name {
            errs.append(name_errors(name_is_dns_subdomain(name, false), name, &p.child("resourceClaimTemplateName")));
        }
    }
    errs
}
