//! Resource names and quantities (upstream's `pkg/apis/core/helper` resource predicates and the
//! resource checks of `pkg/apis/core/validation`), shared by quotas, limit ranges, volumes and
//! claims.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as OpenApiQuantity;
use krs_apimachinery::quantity::{Quantity, Scale};
use krs_apimachinery::validation::{ErrorList, IS_NEGATIVE_ERROR_MSG, Path, field, is_qualified_name};

/// The resource names a quota or limit may use without a domain prefix.
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

/// The resources a quota may track without a domain prefix (`standardQuotaResources`).
const STANDARD_QUOTA_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

/// Resources counted in whole units (`integerResources`).
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

/// `hugepages-<size>` (`IsHugePageResourceName`).
pub(crate) fn is_huge_page(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Huge pages as a quota names them (`IsQuotaHugePageResourceName`).
fn is_quota_huge_page(name: &str) -> bool {
    name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

/// Resources of Kubernetes itself: unprefixed or in `kubernetes.io/` (`IsNativeResource`).
pub(crate) fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// Extended resources such as `example.com/gpu` (`IsExtendedResourceName`).
pub(crate) fn is_extended(name: &str) -> bool {
    if is_native(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}")).is_empty()
}

/// Whether requests may be lower than limits for the resource (`IsOvercommitAllowed`).
pub(crate) fn is_overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_huge_page(name)
}

/// Whether the resource is counted in whole units (`IsIntegerResourceName`).
pub(crate) fn is_integer(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended(name)
}

/// Whether the name is a standard quota resource (`IsStandardQuotaResourceName`).
pub(crate) fn is_standard_quota_resource(name: &str) -> bool {
    STANDARD_QUOTA_RESOURCES.contains(&name) || is_quota_huge_page(name)
}

/// A resource name: a qualified name, and a standard one unless domain-prefixed
/// (`validateResourceName`).
pub(crate) fn validate_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs: ErrorList = is_qualified_name(name).into_iter().map(|msg| field::invalid(path, name, msg)).collect();
    if errs.is_empty() && !name.contains('/') && !(STANDARD_RESOURCES.contains(&name) || is_quota_huge_page(name)) {
        errs.push(field::invalid(path, name, "must be a standard resource type or fully qualified"));
    }
    errs
}

/// A resource name that containers may request (`validateContainerResourceName`).
pub(crate) fn validate_container_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') {
        if !(matches!(name, "cpu" | "memory" | "ephemeral-storage") || is_huge_page(name)) {
            errs.push(field::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(field::invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

/// A resource name a quota may track (`ValidateResourceQuotaResourceName`).
pub(crate) fn validate_quota_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') && !is_standard_quota_resource(name) {
        errs.push(field::invalid(path, name, "must be a standard resource for quota"));
    }
    errs
}

/// Parses a quantity of a request; an unparsable one is reported as upstream's decoder reports
/// it.
pub(crate) fn parse(q: &OpenApiQuantity, path: &Path) -> Result<Quantity, ErrorList> {
    Quantity::try_from(q).map_err(|e| ErrorList::from(field::invalid(path, q.0.as_str(), e.to_string())))
}

/// A quantity that is not negative (`ValidateNonnegativeQuantity`).
pub(crate) fn validate_nonnegative(q: &Quantity, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if q.sign() < 0 {
        errs.push(field::invalid(path, q.to_string(), IS_NEGATIVE_ERROR_MSG));
    }
    errs
}

/// A quantity that is greater than zero (`ValidatePositiveQuantityValue`).
pub(crate) fn validate_positive(q: &Quantity, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if q.sign() <= 0 {
        errs.push(field::invalid(path, q.to_string(), "must be greater than zero"));
    }
    errs
}

/// A quantity valid for the resource: not negative, and whole for integer resources
/// (`ValidateResourceQuantityValue`).
pub(crate) fn validate_quantity_value(resource: &str, q: &Quantity, path: &Path) -> ErrorList {
    let mut errs = validate_nonnegative(q, path);
    if is_integer(resource) && q.milli_value() % 1000 != 0 {
        errs.push(field::invalid(path, q.to_string(), "must be an integer"));
    }
    errs
}

/// Rounds every quantity up to a thousandth and writes it in canonical form, as upstream's
/// decoder does for every resource list (`SetDefaults_ResourceList`).
pub(crate) fn default_resource_list(list: &mut BTreeMap<String, OpenApiQuantity>) {
    for q in list.values_mut() {
        if let Ok(mut parsed) = Quantity::try_from(&*q) {
            parsed.round_up(Scale::MILLI);
            *q = OpenApiQuantity(parsed.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_follow_upstream_rules() {
        let p = Path::new("r");
        assert!(validate_quota_resource_name("requests.cpu", &p).is_empty());
        assert!(validate_quota_resource_name("count/deployments.apps", &p).is_empty());
        assert_eq!(
            validate_quota_resource_name("storage", &p).to_string(),
            r#"r: Invalid value: "storage": must be a standard resource for quota"#
        );
        assert_eq!(
            validate_resource_name("foo", &p).to_string(),
            r#"r: Invalid value: "foo": must be a standard resource type or fully qualified"#
        );
        assert!(is_integer("pods"));
        assert!(is_integer("example.com/gpu"));
        assert!(!is_integer("cpu"));
    }

    #[test]
    fn integer_resources_reject_fractions() {
        let q = Quantity::parse("1500m").unwrap();
        assert_eq!(
            validate_quantity_value("pods", &q, &Path::new("hard").key("pods")).to_string(),
            r#"hard[pods]: Invalid value: "1500m": must be an integer"#
        );
    }

    #[test]
    fn resource_lists_round_up_to_millis() {
        let mut list = BTreeMap::from([("cpu".to_owned(), OpenApiQuantity("0.0001".into()))]);
        default_resource_list(&mut list);
        assert_eq!(list["cpu"].0, "1m");
    }
}
