//! Resource lists and their arithmetic (upstream's `quota/v1` helpers `Add`, `Mask`, `Equals`,
//! and `pkg/api/v1/resource`'s `addResourceList` and `maxResourceList`).

use std::collections::{BTreeMap, BTreeSet};

use crate::quantity::{Format, Quantity};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as OpenApiQuantity;

/// Quantities by resource name (`corev1.ResourceList`).
pub type ResourceList = BTreeMap<String, Quantity>;

/// Parses a resource map of an API object. The API server validated it, so a value that does
/// not parse means a corrupt object: it is left out (and logged) rather than failing the quota.
pub fn parse_list(list: Option<&BTreeMap<String, OpenApiQuantity>>) -> ResourceList {
    let mut out = ResourceList::new();
    for (name, q) in list.into_iter().flatten() {
        match Quantity::try_from(q) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => tracing::warn!(resource = %name, value = %q.0, error = %e, "ignoring unparsable quantity"),
        }
    }
    out
}

/// `n` in DecimalSI, as upstream's `resource.NewQuantity(n, resource.DecimalSI)`.
pub fn count(n: i64) -> Quantity {
    Quantity::new(n, Format::DecimalSI)
}

/// Adds `b` into `a`: names only in `b` are copied (`quota.Add`, `addResourceList`).
pub fn add(a: &mut ResourceList, b: &ResourceList) {
    for (name, q) in b {
        match a.get_mut(name) {
            Some(sum) => sum.add(q),
            None => {
                a.insert(name.clone(), q.clone());
            }
        }
    }
}

/// Raises every value of `a` to at least `b`'s (`maxResourceList`).
pub fn max_into(a: &mut ResourceList, b: &ResourceList) {
    for (name, q) in b {
        match a.get_mut(name) {
            Some(current) if *q > *current => *current = q.clone(),
            Some(_) => {}
            None => {
                a.insert(name.clone(), q.clone());
            }
        }
    }
}

/// The entries of `list` whose names are in `names` (`quota.Mask`).
pub fn mask(list: ResourceList, names: &BTreeSet<String>) -> ResourceList {
    list.into_iter().filter(|(k, _)| names.contains(k)).collect()
}

/// Same names with equal values (`quota.Equals`; `1Ki` equals `1024`).
pub fn equals(a: &ResourceList, b: &ResourceList) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| w == v))
}

/// `a - b` for every name of either list, never below zero (`SubtractWithNonNegativeResult`).
pub fn subtract_non_negative(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    for (name, q) in a {
        let mut v = q.clone();
        if let Some(other) = b.get(name) {
            v.sub(other);
        }
        out.insert(name.clone(), if v.sign() > 0 { v } else { count(0) });
    }
    for name in b.keys() {
        out.entry(name.clone()).or_insert_with(|| count(0));
    }
    out
}

/// Whether every value of `a` is at most `b`'s for the names both have, and the names where it
/// is not (`quota.LessThanOrEqual`).
pub fn exceeded(a: &ResourceList, b: &ResourceList) -> BTreeSet<String> {
    b.iter().filter(|(name, limit)| a.get(*name).is_some_and(|v| v > *limit)).map(|(n, _)| n.clone()).collect()
}

/// The list without its zero values (`quota.RemoveZeros`).
pub fn remove_zeros(list: ResourceList) -> ResourceList {
    list.into_iter().filter(|(_, q)| !q.is_zero()).collect()
}

/// The names with a negative value (`quota.IsNegative`).
pub fn negative(list: &ResourceList) -> BTreeSet<String> {
    list.iter().filter(|(_, q)| q.sign() < 0).map(|(n, _)| n.clone()).collect()
}

/// `name=value` pairs in name order, joined by commas (the quota admission's `prettyPrint`).
pub fn pretty_print(list: &ResourceList) -> String {
    list.iter().map(|(n, q)| format!("{n}={q}")).collect::<Vec<_>>().join(",")
}

/// Whether two resource maps of an API object hold the same values (apimachinery's semantic
/// equality: quantities compare by value; unparsable ones by their text).
pub fn semantic_equal(
    a: Option<&BTreeMap<String, OpenApiQuantity>>,
    b: Option<&BTreeMap<String, OpenApiQuantity>>,
) -> bool {
    let empty = BTreeMap::new();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    a.len() == b.len()
        && a.iter().all(|(k, v)| {
            b.get(k).is_some_and(|w| match (Quantity::try_from(v), Quantity::try_from(w)) {
                (Ok(x), Ok(y)) => x == y,
                _ => v.0 == w.0,
            })
        })
}

/// The wire form: each quantity's string as upstream prints it.
pub fn to_wire(list: &ResourceList) -> BTreeMap<String, OpenApiQuantity> {
    list.iter().map(|(k, v)| (k.clone(), OpenApiQuantity::from(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(&str, &str)]) -> ResourceList {
        items.iter().map(|(k, v)| (k.to_string(), Quantity::parse(v).expect("quantity"))).collect()
    }

    fn wire(l: &ResourceList) -> Vec<(String, String)> {
        to_wire(l).into_iter().map(|(k, v)| (k, v.0)).collect()
    }

    #[test]
    fn admission_arithmetic_and_messages() {
        let delta =
            subtract_non_negative(&list(&[("cpu", "1"), ("pods", "1")]), &list(&[("cpu", "2"), ("memory", "1Gi")]));
        assert_eq!(pretty_print(&delta), "cpu=0,memory=0,pods=1");
        assert_eq!(pretty_print(&remove_zeros(delta)), "pods=1");
        let used = list(&[("pods", "3"), ("requests.cpu", "500m"), ("secrets", "9")]);
        let hard = list(&[("pods", "2"), ("requests.cpu", "500m"), ("memory", "1Gi")]);
        assert_eq!(exceeded(&used, &hard), BTreeSet::from(["pods".to_string()]));
        assert_eq!(negative(&list(&[("cpu", "-1m"), ("pods", "0")])), BTreeSet::from(["cpu".to_string()]));
    }

    #[test]
    fn add_sums_shared_names_and_copies_the_rest_in_canonical_form() {
        let mut a = list(&[("cpu", "500m"), ("memory", "1Gi")]);
        add(&mut a, &list(&[("cpu", "1"), ("memory", "512Mi"), ("pods", "1")]));
        assert_eq!(
            wire(&a),
            vec![("cpu".into(), "1500m".into()), ("memory".into(), "1536Mi".into()), ("pods".into(), "1".into())]
        );
    }

    #[test]
    fn a_sum_starting_from_zero_takes_the_notation_of_what_is_summed() {
        let mut a = ResourceList::from([("memory".to_string(), count(0))]);
        add(&mut a, &list(&[("memory", "128Mi")]));
        add(&mut a, &list(&[("memory", "128Mi")]));
        assert_eq!(wire(&a), vec![("memory".into(), "256Mi".into())]);
        assert_eq!(wire(&ResourceList::from([("pods".to_string(), count(0))])), vec![("pods".into(), "0".into())]);
    }

    #[test]
    fn max_keeps_the_larger_value_per_name() {
        let mut a = list(&[("cpu", "1"), ("memory", "64Mi")]);
        max_into(&mut a, &list(&[("cpu", "500m"), ("memory", "128Mi"), ("hugepages-2Mi", "2Mi")]));
        assert_eq!(a, list(&[("cpu", "1"), ("memory", "128Mi"), ("hugepages-2Mi", "2Mi")]));
    }

    #[test]
    fn equality_compares_values_not_notation() {
        assert!(equals(&list(&[("memory", "1Ki")]), &list(&[("memory", "1024")])));
        assert!(!equals(&list(&[("memory", "1Ki")]), &list(&[("memory", "1Ki"), ("cpu", "0")])));
        let a = BTreeMap::from([("cpu".to_string(), OpenApiQuantity("1000m".into()))]);
        let b = BTreeMap::from([("cpu".to_string(), OpenApiQuantity("1".into()))]);
        assert!(semantic_equal(Some(&a), Some(&b)));
        assert!(!semantic_equal(Some(&a), None));
    }

    #[test]
    fn mask_keeps_only_the_named_resources() {
        let names = BTreeSet::from(["pods".to_string()]);
        assert_eq!(mask(list(&[("pods", "2"), ("cpu", "1")]), &names), list(&[("pods", "2")]));
    }
}
