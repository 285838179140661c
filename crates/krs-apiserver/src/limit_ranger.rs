//! The LimitRanger admission plugin: a namespace's LimitRanges default the resources of new
//! pods' containers (their `default` limits and `defaultRequest` requests, recorded in the
//! `kubernetes.io/limit-ranger` annotation) and bound them (min, max, maxLimitRequestRatio per
//! Container or per Pod; min and max storage per PersistentVolumeClaim). Violations are one
//! Forbidden error with upstream's messages.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, LimitRange, PersistentVolumeClaim, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use krs_apimachinery::quantity::{MAX_MILLI_VALUE, Quantity};

/// The annotation naming what the plugin set.
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

type List = BTreeMap<String, ApiQuantity>;

fn parse(q: &ApiQuantity) -> Option<Quantity> {
    Quantity::parse(&q.0).ok()
}

/// Sets the containers' missing limits and requests from the ranges' Container defaults.
pub fn default_pod(pod: &mut Pod, ranges: &[LimitRange]) {
    let (mut limits, mut requests) = (List::new(), List::new());
    for item in ranges.iter().flat_map(|r| r.spec.iter().flat_map(|s| s.limits.iter())) {
        if item.type_ == "Container" {
            requests.extend(item.default_request.clone().unwrap_or_default());
            limits.extend(item.default.clone().unwrap_or_default());
        }
    }
    if limits.is_empty() && requests.is_empty() {
        return;
    }
    let mut notes = Vec::new();
    let Some(spec) = pod.spec.as_mut() else { return };
    let mut merge = |c: &mut Container, kind: &str| {
        let r = c.resources.get_or_insert_with(ResourceRequirements::default);
        let set = |have: &mut Option<List>, defaults: &List| {
            let have = have.get_or_insert_with(List::new);
            let mut added: Vec<&str> = Vec::new();
            for (k, v) in defaults {
                if !have.contains_key(k) {
                    have.insert(k.clone(), v.clone());
                    added.push(k);
                }
            }
            added.join(", ")
        };
        let set_requests = set(&mut r.requests, &requests);
        let set_limits = set(&mut r.limits, &limits);
        if !set_requests.is_empty() {
            notes.push(format!("{set_requests} request for {kind} {}", c.name));
        }
        if !set_limits.is_empty() {
            notes.push(format!("{set_limits} limit for {kind} {}", c.name));
        }
    };
    for c in &mut spec.containers {
        merge(c, "container");
    }
    for c in spec.init_containers.iter_mut().flatten() {
        merge(c, "init container");
    }
    if !notes.is_empty() {
        let annotations = pod.metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotations.insert(ANNOTATION.to_owned(), format!("LimitRanger plugin set: {}", notes.join("; ")));
    }
}

/// The values compared: milli-units when every one fits, else units (upstream's
/// `requestLimitEnforcedValues`).
fn compared(req: Option<&Quantity>, lim: Option<&Quantity>, enforced: &Quantity) -> (i64, i64, i64) {
    let all = [req, lim, Some(enforced)];
    let milli = all.iter().flatten().all(|q| q.value() <= MAX_MILLI_VALUE);
    let v = |q: Option<&Quantity>| q.map_or(0, |q| if milli { q.milli_value() } else { q.value() });
    (v(req), v(lim), v(Some(enforced)))
}

fn get(list: &List, name: &str) -> Option<Quantity> {
    list.get(name).and_then(parse)
}

fn min_constraint(kind: &str, name: &str, enforced: &Quantity, req: &List, lim: &List) -> Option<String> {
    let (r, l) = (get(req, name), get(lim, name));
    let (rv, lv, ev) = compared(r.as_ref(), l.as_ref(), enforced);
    match (&r, &l) {
        (None, _) => Some(format!("minimum {name} usage per {kind} is {enforced}.  No request is specified")),
        (Some(r), _) if rv < ev => Some(format!("minimum {name} usage per {kind} is {enforced}, but request is {r}")),
        (_, Some(l)) if lv < ev => Some(format!("minimum {name} usage per {kind} is {enforced}, but limit is {l}")),
        _ => None,
    }
}

fn max_constraint(kind: &str, name: &str, enforced: &Quantity, req: &List, lim: &List) -> Option<String> {
    let (r, l) = (get(req, name), get(lim, name));
    let (rv, lv, ev) = compared(r.as_ref(), l.as_ref(), enforced);
    match (&r, &l) {
        (_, None) => Some(format!("maximum {name} usage per {kind} is {enforced}.  No limit is specified")),
        (_, Some(l)) if lv > ev => Some(format!("maximum {name} usage per {kind} is {enforced}, but limit is {l}")),
        (Some(r), _) if rv > ev => Some(format!("maximum {name} usage per {kind} is {enforced}, but request is {r}")),
        _ => None,
    }
}

fn max_request_constraint(kind: &str, name: &str, enforced: &Quantity, req: &List) -> Option<String> {
    let r = get(req, name);
    let (rv, _, ev) = compared(r.as_ref(), None, enforced);
    match &r {
        None => Some(format!("maximum {name} usage per {kind} is {enforced}.  No request is specified")),
        Some(r) if rv > ev => Some(format!("maximum {name} usage per {kind} is {enforced}, but request is {r}")),
        _ => None,
    }
}

fn ratio_constraint(kind: &str, name: &str, enforced: &Quantity, req: &List, lim: &List) -> Option<String> {
    let (r, l) = (get(req, name), get(lim, name));
    let (rv, lv, _) = compared(r.as_ref(), l.as_ref(), enforced);
    if r.is_none() || rv == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if l.is_none() || lv == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let observed = lv as f64 / rv as f64;
    let (scaled, max) = if enforced.value() <= MAX_MILLI_VALUE {
        (observed * 1000.0, enforced.milli_value() as f64)
    } else {
        (observed, enforced.value() as f64)
    };
    (scaled > max).then(|| {
        format!("{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {observed:.6}")
    })
}

/// The pod's effective requests or limits: the containers' sum, or the largest init
/// container's when that is more.
fn pod_total(pod: &Pod, pick: impl Fn(&ResourceRequirements) -> Option<&List>) -> List {
    let Some(spec) = pod.spec.as_ref() else { return List::new() };
    let mut sum: BTreeMap<String, Quantity> = BTreeMap::new();
    for c in &spec.containers {
        for (k, v) in c.resources.as_ref().and_then(&pick).into_iter().flatten() {
            if let Some(q) = parse(v) {
                sum.entry(k.clone()).or_default().add(&q);
            }
        }
    }
    for c in spec.init_containers.iter().flatten() {
        for (k, v) in c.resources.as_ref().and_then(&pick).into_iter().flatten() {
            if let Some(q) = parse(v) {
                let slot = sum.entry(k.clone()).or_default();
                if q > *slot {
                    *slot = q;
                }
            }
        }
    }
    sum.into_iter().map(|(k, v)| (k, ApiQuantity(v.to_string()))).collect()
}

fn check_item_lists(
    errs: &mut Vec<String>,
    kind: &str,
    item: &k8s_openapi::api::core::v1::LimitRangeItem,
    req: &List,
    lim: &List,
) {
    for (name, v) in item.min.iter().flatten() {
        if let Some(e) = parse(v) {
            errs.extend(min_constraint(kind, name, &e, req, lim));
        }
    }
    for (name, v) in item.max.iter().flatten() {
        if let Some(e) = parse(v) {
            errs.extend(max_constraint(kind, name, &e, req, lim));
        }
    }
    for (name, v) in item.max_limit_request_ratio.iter().flatten() {
        if let Some(e) = parse(v) {
            errs.extend(ratio_constraint(kind, name, &e, req, lim));
        }
    }
}

/// Every bound the pod breaks.
pub fn validate_pod(pod: &Pod, ranges: &[LimitRange]) -> Vec<String> {
    let mut errs = Vec::new();
    let Some(spec) = pod.spec.as_ref() else { return errs };
    let empty = List::new();
    for item in ranges.iter().flat_map(|r| r.spec.iter().flat_map(|s| s.limits.iter())) {
        match item.type_.as_str() {
            "Container" => {
                for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
                    let r = c.resources.as_ref();
                    let req = r.and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
                    let lim = r.and_then(|r| r.limits.as_ref()).unwrap_or(&empty);
                    check_item_lists(&mut errs, "Container", item, req, lim);
                }
            }
            "Pod" => {
                let req = pod_total(pod, |r| r.requests.as_ref());
                let lim = pod_total(pod, |r| r.limits.as_ref());
                check_item_lists(&mut errs, "Pod", item, &req, &lim);
            }
            _ => {}
        }
    }
    errs
}

/// Every storage bound the claim breaks.
pub fn validate_pvc(pvc: &PersistentVolumeClaim, ranges: &[LimitRange]) -> Vec<String> {
    let mut errs = Vec::new();
    let empty = List::new();
    let r = pvc.spec.as_ref().and_then(|s| s.resources.as_ref());
    let req = r.and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
    let lim = r.and_then(|r| r.limits.as_ref()).unwrap_or(&empty);
    for item in ranges.iter().flat_map(|r| r.spec.iter().flat_map(|s| s.limits.iter())) {
        if item.type_ != "PersistentVolumeClaim" {
            continue;
        }
        for (name, v) in item.min.iter().flatten() {
            if let Some(e) = parse(v) {
                errs.extend(min_constraint("PersistentVolumeClaim", name, &e, req, lim));
            }
        }
        for (name, v) in item.max.iter().flatten() {
            if let Some(e) = parse(v) {
                errs.extend(max_request_constraint("PersistentVolumeClaim", name, &e, req));
            }
        }
    }
    errs
}

/// Upstream's aggregate error text: one error alone, several in brackets.
pub fn aggregate(errs: &[String]) -> String {
    match errs {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(items: serde_json::Value) -> LimitRange {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "r"}, "spec": {"limits": items}}))
            .expect("range")
    }

    fn pod(containers: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "spec": {"containers": containers}}))
            .expect("pod")
    }

    fn resources(p: &Pod) -> serde_json::Value {
        serde_json::to_value(p.spec.as_ref().expect("spec").containers[0].resources.clone()).expect("json")
    }

    #[test]
    fn defaults_fill_what_a_container_leaves_out_and_are_recorded() {
        let r = range(serde_json::json!([{"type": "Container",
            "default": {"cpu": "500m", "memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "256Mi"}}]));
        let mut p = pod(serde_json::json!([{"name": "c", "resources": {"requests": {"cpu": "200m"}}}]));
        default_pod(&mut p, &[r]);
        assert_eq!(
            resources(&p),
            serde_json::json!({"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "200m", "memory": "256Mi"}})
        );
        let note = p.metadata.annotations.as_ref().and_then(|a| a.get(ANNOTATION)).cloned();
        assert_eq!(
            note.as_deref(),
            Some("LimitRanger plugin set: memory request for container c; cpu, memory limit for container c")
        );
        // Without Container defaults nothing changes.
        let mut untouched = pod(serde_json::json!([{"name": "c"}]));
        default_pod(&mut untouched, &[range(serde_json::json!([{"type": "Pod", "max": {"cpu": "1"}}]))]);
        assert!(untouched.metadata.annotations.is_none());
    }

    #[test]
    fn bounds_give_upstreams_messages() {
        let r = range(serde_json::json!([
            {"type": "Container", "min": {"cpu": "100m"}, "max": {"memory": "1Gi"}, "maxLimitRequestRatio": {"cpu": "2"}},
            {"type": "Pod", "max": {"cpu": "1"}}
        ]));
        let fits = pod(serde_json::json!([{"name": "c", "resources":
            {"requests": {"cpu": "200m", "memory": "100Mi"}, "limits": {"cpu": "400m", "memory": "1Gi"}}}]));
        assert_eq!(validate_pod(&fits, std::slice::from_ref(&r)), Vec::<String>::new());
        let breaks = pod(serde_json::json!([{"name": "c", "resources":
            {"requests": {"cpu": "50m"}, "limits": {"cpu": "1200m", "memory": "2Gi"}}}]));
        assert_eq!(
            validate_pod(&breaks, std::slice::from_ref(&r)),
            [
                "minimum cpu usage per Container is 100m, but request is 50m",
                "maximum memory usage per Container is 1Gi, but limit is 2Gi",
                "cpu max limit to request ratio per Container is 2, but provided ratio is 24.000000",
                "maximum cpu usage per Pod is 1, but limit is 1200m",
            ]
        );
        let bare = pod(serde_json::json!([{"name": "c"}]));
        let errs = validate_pod(&bare, std::slice::from_ref(&r));
        assert_eq!(errs[0], "minimum cpu usage per Container is 100m.  No request is specified");
        assert_eq!(aggregate(&errs[..1]), errs[0]);
        assert!(aggregate(&errs).starts_with("[minimum cpu usage per Container is 100m.  No request is specified, "));

        let claims = range(
            serde_json::json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}}]),
        );
        let pvc = |size: &str| -> PersistentVolumeClaim {
            serde_json::from_value(serde_json::json!({"metadata": {"name": "c"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}))
            .expect("pvc")
        };
        assert_eq!(validate_pvc(&pvc("1500Mi"), std::slice::from_ref(&claims)), Vec::<String>::new());
        assert_eq!(
            validate_pvc(&pvc("500Mi"), std::slice::from_ref(&claims)),
            ["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]
        );
        assert_eq!(
            validate_pvc(&pvc("3Gi"), std::slice::from_ref(&claims)),
            ["maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi"]
        );
    }
}
