//! The RBAC strategies (upstream's `pkg/registry/rbac/*` and `pkg/apis/rbac/validation`):
//! roles, cluster roles and their bindings. Names are path segments. Preventing privilege
//! escalation (creating a role or binding that grants more than the requester has) is an
//! authorization check of the API server, not part of these strategies.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use krs_apimachinery::validation::{
    ErrorList, LabelSelectorValidationOptions, Path, field, label_selector_has_invalid_label_value,
    validate_label_selector, validate_path_segment_name, validate_service_account_name,
};
use krs_kinds::Object;

use crate::strategy::core::service::checks::{self, bad_value, go_json, go_struct};
use crate::strategy::{NameValidator, Strategy, typed, typed_mut};

/// The RBAC API group, the only one role references and user or group subjects may name.
pub const GROUP_NAME: &str = "rbac.authorization.k8s.io";

/// The role strategy.
pub struct RoleStrategy;
/// The role strategy.
pub static ROLE: RoleStrategy = RoleStrategy;
/// The cluster role strategy.
pub struct ClusterRoleStrategy;
/// The cluster role strategy.
pub static CLUSTER_ROLE: ClusterRoleStrategy = ClusterRoleStrategy;
/// The role binding strategy.
pub struct RoleBindingStrategy;
/// The role binding strategy.
pub static ROLE_BINDING: RoleBindingStrategy = RoleBindingStrategy;
/// The cluster role binding strategy.
pub struct ClusterRoleBindingStrategy;
/// The cluster role binding strategy.
pub static CLUSTER_ROLE_BINDING: ClusterRoleBindingStrategy = ClusterRoleBindingStrategy;

/// `ValidatePolicyRule`: verbs, and either resources with API groups or non-resource URLs
/// (cluster roles only).
fn validate_rule(rule: &PolicyRule, namespaced: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if rule.verbs.is_empty() {
        errs.push(field::required(&path.child("verbs"), "verbs must contain at least one value"));
    }
    let len = |v: &Option<Vec<String>>| v.as_ref().map_or(0, Vec::len);
    let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
    if !urls.is_empty() {
        let up = path.child("nonResourceURLs");
        if namespaced {
            errs.push(field::invalid(&up, bad_value(urls), "namespaced rules cannot apply to non-resource URLs"));
        }
        if len(&rule.api_groups) > 0 || len(&rule.resources) > 0 || len(&rule.resource_names) > 0 {
            errs.push(field::invalid(
                &up,
                bad_value(urls),
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if len(&rule.api_groups) == 0 {
        errs.push(field::required(&path.child("apiGroups"), "resource rules must supply at least one api group"));
    }
    if len(&rule.resources) == 0 {
        errs.push(field::required(&path.child("resources"), "resource rules must supply at least one resource"));
    }
    errs
}

fn validate_rules(rules: &Option<Vec<PolicyRule>>, namespaced: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, rule) in rules.iter().flatten().enumerate() {
        errs.append(validate_rule(rule, namespaced, &Path::new("rules").index(i)));
    }
    errs
}

fn validate_cluster_role(role: &ClusterRole, allow_invalid_selector: bool) -> ErrorList {
    let mut errs = validate_rules(&role.rules, false);
    if let Some(agg) = &role.aggregation_rule {
        let path = Path::new("aggregationRule").child("clusterRoleSelectors");
        let selectors = agg.cluster_role_selectors.as_deref().unwrap_or_default();
        if selectors.is_empty() {
            errs.push(field::required(
                &path,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        let opts = LabelSelectorValidationOptions {
            allow_invalid_label_value_in_selector: allow_invalid_selector,
            ..Default::default()
        };
        for (i, selector) in selectors.iter().enumerate() {
            errs.append(validate_label_selector(Some(selector), opts, &path.index(i)));
        }
    }
    errs
}

/// `ValidateRoleBindingSubject`.
fn validate_subject(subject: &Subject, namespaced: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if subject.name.is_empty() {
        errs.push(field::required(&path.child("name"), ""));
    }
    let api_group = subject.api_group.as_deref().unwrap_or_default();
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                errs.append(checks::name(validate_service_account_name, &subject.name, &path.child("name")));
            }
            if !api_group.is_empty() {
                errs.push(field::not_supported(&path.child("apiGroup"), api_group, &[""]));
            }
            if !namespaced && subject.namespace.as_deref().unwrap_or_default().is_empty() {
                errs.push(field::required(&path.child("namespace"), ""));
            }
        }
        "User" | "Group" => {
            if api_group != GROUP_NAME {
                errs.push(field::not_supported(&path.child("apiGroup"), api_group, &[GROUP_NAME]));
            }
        }
        kind => errs.push(field::not_supported(&path.child("kind"), kind, &["ServiceAccount", "User", "Group"])),
    }
    errs
}

fn validate_binding(role_ref: &RoleRef, subjects: &Option<Vec<Subject>>, namespaced: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let rp = Path::new("roleRef");
    if role_ref.api_group != GROUP_NAME {
        errs.push(field::not_supported(&rp.child("apiGroup"), role_ref.api_group.as_str(), &[GROUP_NAME]));
    }
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.push(field::not_supported(&rp.child("kind"), role_ref.kind.as_str(), kinds));
    }
    if role_ref.name.is_empty() {
        errs.push(field::required(&rp.child("name"), ""));
    } else {
        errs.append(checks::name(validate_path_segment_name, &role_ref.name, &rp.child("name")));
    }
    for (i, subject) in subjects.iter().flatten().enumerate() {
        errs.append(validate_subject(subject, namespaced, &Path::new("subjects").index(i)));
    }
    errs
}

fn role_ref_immutable(new: &RoleRef, old: &RoleRef) -> ErrorList {
    let mut errs = ErrorList::new();
    if new != old {
        // Upstream shows the internal RoleRef, whose fields have their Go names.
        let shown = go_struct(&[
            ("APIGroup", go_json(&new.api_group)),
            ("Kind", go_json(&new.kind)),
            ("Name", go_json(&new.name)),
        ]);
        errs.push(field::invalid(&Path::new("roleRef"), shown, "cannot change roleRef"));
    }
    errs
}

/// The defaults of bindings (`SetDefaults_RoleBinding`, `SetDefaults_Subject`): the RBAC API
/// group for role references, users and groups.
fn default_binding(role_ref: &mut RoleRef, subjects: &mut Option<Vec<Subject>>) {
    if role_ref.api_group.is_empty() {
        role_ref.api_group = GROUP_NAME.to_owned();
    }
    for subject in subjects.iter_mut().flatten() {
        if subject.api_group.as_deref().unwrap_or_default().is_empty()
            && matches!(subject.kind.as_str(), "User" | "Group")
        {
            subject.api_group = Some(GROUP_NAME.to_owned());
        }
    }
}

impl Strategy for RoleStrategy {
    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Role>(obj).map(|r| validate_rules(&r.rules, true)).unwrap_or_default()
    }

    fn name_validator(&self) -> NameValidator {
        validate_path_segment_name
    }
}

impl Strategy for ClusterRoleStrategy {
    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<ClusterRole>(obj).map(|r| validate_cluster_role(r, false)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let Some(new) = typed::<ClusterRole>(new) else {
            return ErrorList::new();
        };
        // Roles stored with a selector that is now invalid may keep it.
        let allow = typed::<ClusterRole>(old).is_some_and(|o| {
            o.aggregation_rule
                .iter()
                .flat_map(|a| a.cluster_role_selectors.iter().flatten())
                .any(|s| label_selector_has_invalid_label_value(Some(s)))
        });
        validate_cluster_role(new, allow)
    }

    fn name_validator(&self) -> NameValidator {
        validate_path_segment_name
    }
}

impl Strategy for RoleBindingStrategy {
    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn default(&self, obj: &mut dyn Object) {
        if let Some(b) = typed_mut::<RoleBinding>(obj) {
            default_binding(&mut b.role_ref, &mut b.subjects);
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<RoleBinding>(obj).map(|b| validate_binding(&b.role_ref, &b.subjects, true)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<RoleBinding>(new), typed::<RoleBinding>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_binding(&new.role_ref, &new.subjects, true);
        errs.append(role_ref_immutable(&new.role_ref, &old.role_ref));
        errs
    }

    fn name_validator(&self) -> NameValidator {
        validate_path_segment_name
    }
}

impl Strategy for ClusterRoleBindingStrategy {
    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn default(&self, obj: &mut dyn Object) {
        if let Some(b) = typed_mut::<ClusterRoleBinding>(obj) {
            default_binding(&mut b.role_ref, &mut b.subjects);
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<ClusterRoleBinding>(obj).map(|b| validate_binding(&b.role_ref, &b.subjects, false)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<ClusterRoleBinding>(new), typed::<ClusterRoleBinding>(old)) else {
            return ErrorList::new();
        };
        let mut errs = validate_binding(&new.role_ref, &new.subjects, false);
        errs.append(role_ref_immutable(&new.role_ref, &old.role_ref));
        errs
    }

    fn name_validator(&self) -> NameValidator {
        validate_path_segment_name
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::rbac::v1::AggregationRule;

    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], urls: &[&str]) -> PolicyRule {
        let v = |s: &[&str]| (!s.is_empty()).then(|| s.iter().map(|x| (*x).to_owned()).collect());
        PolicyRule {
            verbs: verbs.iter().map(|x| (*x).to_owned()).collect(),
            api_groups: v(groups),
            resources: v(resources),
            non_resource_urls: v(urls),
            resource_names: None,
        }
    }

    #[test]
    fn rules_need_verbs_and_api_groups() {
        let r = Role { rules: Some(vec![rule(&[], &[], &["pods"], &[])]), ..Default::default() };
        assert_eq!(
            ROLE.validate(&r).to_string(),
            "[rules[0].verbs: Required value: verbs must contain at least one value, rules[0].apiGroups: Required value: resource rules must supply at least one api group]"
        );
        let ok = Role { rules: Some(vec![rule(&["get"], &[""], &["pods"], &[])]), ..Default::default() };
        assert!(ROLE.validate(&ok).is_empty());
    }

    #[test]
    fn non_resource_urls_only_in_cluster_roles() {
        let r = Role { rules: Some(vec![rule(&["get"], &[], &[], &["/healthz"])]), ..Default::default() };
        assert_eq!(
            ROLE.validate(&r).to_string(),
            r#"rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs"#
        );
        let c = ClusterRole { rules: Some(vec![rule(&["get"], &[], &[], &["/healthz"])]), ..Default::default() };
        assert!(CLUSTER_ROLE.validate(&c).is_empty());
    }

    #[test]
    fn aggregation_needs_selectors() {
        let c = ClusterRole {
            aggregation_rule: Some(AggregationRule { cluster_role_selectors: None }),
            ..Default::default()
        };
        assert_eq!(
            CLUSTER_ROLE.validate(&c).to_string(),
            "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"
        );
    }

    fn binding(kind: &str, subjects: Vec<Subject>) -> RoleBinding {
        RoleBinding {
            role_ref: RoleRef { api_group: String::new(), kind: kind.into(), name: "view".into() },
            subjects: Some(subjects),
            ..Default::default()
        }
    }

    #[test]
    fn bindings_default_api_groups_and_check_subjects() {
        let mut b = binding(
            "ClusterRole",
            vec![
                Subject { kind: "User".into(), name: "alice".into(), ..Default::default() },
                Subject { kind: "Robot".into(), name: "r2".into(), ..Default::default() },
            ],
        );
        ROLE_BINDING.default(&mut b);
        assert_eq!(b.role_ref.api_group, GROUP_NAME);
        assert_eq!(b.subjects.as_ref().unwrap()[0].api_group.as_deref(), Some(GROUP_NAME));
        assert_eq!(
            ROLE_BINDING.validate(&b).to_string(),
            r#"subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group""#
        );
    }

    #[test]
    fn role_ref_is_immutable() {
        let mut old = binding("Role", vec![]);
        ROLE_BINDING.default(&mut old);
        let mut new = old.clone();
        new.role_ref.name = "edit".into();
        assert_eq!(
            ROLE_BINDING.validate_update(&new, &old).to_string(),
            r#"roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":"edit"}: cannot change roleRef"#
        );
    }

    #[test]
    fn cluster_role_bindings_need_cluster_roles_and_namespaced_service_accounts() {
        let mut b = ClusterRoleBinding {
            role_ref: RoleRef { api_group: GROUP_NAME.into(), kind: "Role".into(), name: "x".into() },
            subjects: Some(vec![Subject { kind: "ServiceAccount".into(), name: "sa".into(), ..Default::default() }]),
            ..Default::default()
        };
        CLUSTER_ROLE_BINDING.default(&mut b);
        assert_eq!(
            CLUSTER_ROLE_BINDING.validate(&b).to_string(),
            r#"[roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole", subjects[0].namespace: Required value]"#
        );
    }
}
