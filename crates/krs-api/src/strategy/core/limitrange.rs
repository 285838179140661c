//! The limit range strategy (upstream's `pkg/registry/core/limitrange`,
//! `SetDefaults_LimitRangeItem` and `ValidateLimitRange`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as OpenApiQuantity;
use krs_apimachinery::quantity::{Format, MAX_MILLI_VALUE, Quantity};
use krs_apimachinery::validation::{ErrorList, Path, field, is_qualified_name};
use krs_kinds::Object;

use super::resourcequota::resources;
use crate::strategy::{Strategy, typed, typed_mut};

/// The limit range strategy.
pub struct LimitRangeStrategy;

/// The limit range strategy.
pub static LIMIT_RANGE: LimitRangeStrategy = LimitRangeStrategy;

type Quantities = BTreeMap<String, OpenApiQuantity>;

/// Container limits: a default limit from max, a default request from the default limit or
/// min (`SetDefaults_LimitRangeItem`).
fn default_item(item: &mut LimitRangeItem) {
    for list in
        [&mut item.max, &mut item.min, &mut item.default, &mut item.default_request, &mut item.max_limit_request_ratio]
            .into_iter()
            .flatten()
    {
        resources::default_resource_list(list);
    }
    if item.type_ != "Container" {
        return;
    }
    let default = item.default.get_or_insert_with(Default::default);
    for (k, v) in item.max.iter().flatten() {
        default.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let request = item.default_request.get_or_insert_with(Default::default);
    for (k, v) in default.iter() {
        request.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in item.min.iter().flatten() {
        request.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn validate_type_name(ty: &str, path: &Path) -> ErrorList {
    let mut errs: ErrorList = is_qualified_name(ty).into_iter().map(|m| field::invalid(path, ty, m)).collect();
    if errs.is_empty() && !ty.contains('/') && !matches!(ty, "Pod" | "Container" | "PersistentVolumeClaim") {
        errs.push(field::invalid(path, ty, "must be a standard limit type or fully qualified"));
    }
    errs
}

/// Names of Pod and Container limits are container resources; other types may limit any
/// resource, such as storage.
fn validate_resource_name(ty: &str, name: &str, path: &Path) -> ErrorList {
    match ty {
        "Pod" | "Container" => resources::validate_container_resource_name(name, path),
        _ => resources::validate_resource_name(name, path),
    }
}

fn parsed(list: &Option<Quantities>, path: &Path, errs: &mut ErrorList) -> BTreeMap<String, Quantity> {
    let mut out = BTreeMap::new();
    for (k, q) in list.iter().flatten() {
        match resources::parse(q, &path.key(k)) {
            Ok(q) => {
                out.insert(k.clone(), q);
            }
            Err(e) => errs.append(e),
        }
    }
    out
}

/// Go's `%f`: six decimals.
fn go_f(x: f64) -> String {
    format!("{x:.6}")
}

fn validate_item(item: &LimitRangeItem, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let ty = item.type_.as_str();
    let mut keys = BTreeSet::new();
    let mut names = |list: &Option<Quantities>, child: &str, errs: &mut ErrorList| {
        for k in list.iter().flatten().map(|(k, _)| k) {
            errs.append(validate_resource_name(ty, k, &path.child(child).key(k)));
            keys.insert(k.clone());
        }
    };
    names(&item.max, "max", &mut errs);
    names(&item.min, "min", &mut errs);
    let has = |l: &Option<Quantities>| l.as_ref().is_some_and(|l| !l.is_empty());
    if ty == "Pod" {
        if has(&item.default) {
            errs.push(field::forbidden(&path.child("default"), "may not be specified when `type` is 'Pod'"));
        }
        if has(&item.default_request) {
            errs.push(field::forbidden(&path.child("defaultRequest"), "may not be specified when `type` is 'Pod'"));
        }
    } else {
        names(&item.default, "default", &mut errs);
        names(&item.default_request, "defaultRequest", &mut errs);
    }
    if ty == "PersistentVolumeClaim" {
        let storage = |l: &Option<Quantities>| l.as_ref().is_some_and(|l| l.contains_key("storage"));
        if !storage(&item.min) && !storage(&item.max) {
            errs.push(field::required(
                &path.child("limits"),
                "either minimum or maximum storage value is required, but neither was provided",
            ));
        }
    }
    names(&item.max_limit_request_ratio, "maxLimitRequestRatio", &mut errs);

    let max = parsed(&item.max, &path.child("max"), &mut errs);
    let min = parsed(&item.min, &path.child("min"), &mut errs);
    let (default, default_request) = if ty == "Pod" {
        (BTreeMap::new(), BTreeMap::new())
    } else {
        (
            parsed(&item.default, &path.child("default"), &mut errs),
            parsed(&item.default_request, &path.child("defaultRequest"), &mut errs),
        )
    };
    let ratios = parsed(&item.max_limit_request_ratio, &path.child("maxLimitRequestRatio"), &mut errs);
    let one = Quantity::new(1, Format::DecimalSI);
    for k in &keys {
        let (mn, mx, d, dr, ratio) = (min.get(k), max.get(k), default.get(k), default_request.get(k), ratios.get(k));
        if let (Some(mn), Some(mx)) = (mn, mx)
            && mn > mx
        {
            errs.push(field::invalid(
                &path.child("min").key(k),
                mn.to_string(),
                format!("min value {mn} is greater than max value {mx}"),
            ));
        }
        if let (Some(dr), Some(mn)) = (dr, mn)
            && mn > dr
        {
            errs.push(field::invalid(
                &path.child("defaultRequest").key(k),
                dr.to_string(),
                format!("min value {mn} is greater than default request value {dr}"),
            ));
        }
        if let (Some(dr), Some(mx)) = (dr, mx)
            && dr > mx
        {
            errs.push(field::invalid(
                &path.child("defaultRequest").key(k),
                dr.to_string(),
                format!("default request value {dr} is greater than max value {mx}"),
            ));
        }
        if let (Some(dr), Some(d)) = (dr, d)
            && dr > d
        {
            errs.push(field::invalid(
                &path.child("defaultRequest").key(k),
                dr.to_string(),
                format!("default request value {dr} is greater than default limit value {d}"),
            ));
        }
        if let (Some(d), Some(mn)) = (d, mn)
            && mn > d
        {
            errs.push(field::invalid(
                &path.child("default").key(k),
                mn.to_string(),
                format!("min value {mn} is greater than default value {d}"),
            ));
        }
        if let (Some(d), Some(mx)) = (d, mx)
            && d > mx
        {
            errs.push(field::invalid(
                &path.child("default").key(k),
                mx.to_string(),
                format!("default value {d} is greater than max value {mx}"),
            ));
        }
        if let Some(ratio) = ratio {
            let rpath = path.child("maxLimitRequestRatio").key(k);
            if ratio < &one {
                errs.push(field::invalid(&rpath, ratio.to_string(), format!("ratio {ratio} is less than 1")));
            }
            if let (Some(mn), Some(mx)) = (mn, mx) {
                let (mut r, mut lo, mut hi) = (ratio.value() as f64, mn.value(), mx.value());
                if ratio.value() < MAX_MILLI_VALUE && lo < MAX_MILLI_VALUE && hi < MAX_MILLI_VALUE {
                    r = ratio.milli_value() as f64 / 1000.0;
                    lo = mn.milli_value();
                    hi = mx.milli_value();
                }
                let limit = hi as f64 / lo as f64;
                if r > limit {
                    errs.push(field::invalid(
                        &rpath,
                        ratio.to_string(),
                        format!("ratio {ratio} is greater than max/min = {}", go_f(limit)),
                    ));
                }
            }
        }
        // Resources that can't be overcommitted (huge pages, extended resources) need equal
        // default limits and requests.
        if let (Some(d), Some(dr)) = (d, dr)
            && !resources::is_overcommit_allowed(k)
            && d != dr
        {
            errs.push(field::invalid(
                &path.child("defaultRequest").key(k),
                dr.to_string(),
                format!("default value {d} must equal to defaultRequest value {dr} in {k}"),
            ));
        }
    }
    errs
}

fn validate_limit_range(lr: &LimitRange) -> ErrorList {
    let mut errs = ErrorList::new();
    let path = Path::new("spec").child("limits");
    let mut types = BTreeSet::new();
    for (i, item) in lr.spec.iter().flat_map(|s| s.limits.iter()).enumerate() {
        let p = path.index(i);
        errs.append(validate_type_name(&item.type_, &p.child("type")));
        if !types.insert(item.type_.as_str()) {
            errs.push(field::duplicate(&p.child("type"), item.type_.as_str()));
        }
        errs.append(validate_item(item, &p));
    }
    errs
}

impl Strategy for LimitRangeStrategy {
    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn default(&self, obj: &mut dyn Object) {
        if let Some(lr) = typed_mut::<LimitRange>(obj) {
            for item in lr.spec.iter_mut().flat_map(|s| s.limits.iter_mut()) {
                default_item(item);
            }
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<LimitRange>(obj).map(validate_limit_range).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::LimitRangeSpec;

    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Option<Quantities> {
        Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), OpenApiQuantity((*v).to_owned()))).collect())
    }

    fn lr(items: Vec<LimitRangeItem>) -> LimitRange {
        LimitRange { spec: Some(LimitRangeSpec { limits: items }), ..Default::default() }
    }

    #[test]
    fn container_defaults_come_from_max_and_min() {
        let mut l = lr(vec![LimitRangeItem {
            type_: "Container".into(),
            max: q(&[("cpu", "2")]),
            min: q(&[("memory", "64Mi")]),
            ..Default::default()
        }]);
        LIMIT_RANGE.default(&mut l);
        let item = &l.spec.as_ref().unwrap().limits[0];
        assert_eq!(item.default, q(&[("cpu", "2")]));
        assert_eq!(item.default_request, q(&[("cpu", "2"), ("memory", "64Mi")]));
        assert!(LIMIT_RANGE.validate(&l).is_empty(), "{}", LIMIT_RANGE.validate(&l));
    }

    #[test]
    fn min_may_not_exceed_max() {
        let l = lr(vec![LimitRangeItem {
            type_: "Pod".into(),
            max: q(&[("cpu", "1")]),
            min: q(&[("cpu", "2")]),
            ..Default::default()
        }]);
        assert_eq!(
            LIMIT_RANGE.validate(&l).to_string(),
            r#"spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1"#
        );
    }

    #[test]
    fn types_are_checked_and_unique() {
        let item = LimitRangeItem { type_: "Node".into(), ..Default::default() };
        assert_eq!(
            LIMIT_RANGE.validate(&lr(vec![item])).to_string(),
            r#"spec.limits[0].type: Invalid value: "Node": must be a standard limit type or fully qualified"#
        );
        let pvc = LimitRangeItem { type_: "PersistentVolumeClaim".into(), ..Default::default() };
        assert_eq!(
            LIMIT_RANGE.validate(&lr(vec![pvc])).to_string(),
            "spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither was provided"
        );
    }

    #[test]
    fn ratio_must_fit_between_min_and_max() {
        let l = lr(vec![LimitRangeItem {
            type_: "Container".into(),
            max: q(&[("cpu", "2")]),
            min: q(&[("cpu", "1")]),
            max_limit_request_ratio: q(&[("cpu", "3")]),
            ..Default::default()
        }]);
        assert_eq!(
            LIMIT_RANGE.validate(&l).to_string(),
            r#"spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "3": ratio 3 is greater than max/min = 2.000000"#
        );
    }
}
