//! The service account strategy (upstream's `pkg/registry/core/serviceaccount`).

use k8s_openapi::api::core::v1::{ObjectReference, ServiceAccount};
use krs_apimachinery::validation::validate_service_account_name;
use krs_kinds::Object;

use crate::strategy::{NameValidator, Strategy, typed, typed_mut};

/// The deprecated annotation restricting pods to the secrets the account lists.
pub const ENFORCE_MOUNTABLE_SECRETS_ANNOTATION: &str = "kubernetes.io/enforce-mountable-secrets";

/// The service account strategy.
pub struct ServiceAccountStrategy;

/// The service account strategy.
pub static SERVICE_ACCOUNT: ServiceAccountStrategy = ServiceAccountStrategy;

/// Only the name of a listed secret means anything; the rest is dropped (upstream's
/// `cleanSecretReferences`).
fn clean_secret_references(sa: &mut ServiceAccount) {
    for secret in sa.secrets.iter_mut().flatten() {
        *secret = ObjectReference { name: secret.name.take(), ..Default::default() };
    }
}

fn warnings(sa: &ServiceAccount) -> Vec<String> {
    let annotated =
        sa.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(ENFORCE_MOUNTABLE_SECRETS_ANNOTATION));
    if annotated {
        vec![format!(
            "metadata.annotations[{ENFORCE_MOUNTABLE_SECRETS_ANNOTATION}]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets"
        )]
    } else {
        Vec::new()
    }
}

impl Strategy for ServiceAccountStrategy {
    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(sa) = typed_mut::<ServiceAccount>(obj) {
            clean_secret_references(sa);
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, _old: &dyn Object) {
        if let Some(sa) = typed_mut::<ServiceAccount>(new) {
            clean_secret_references(sa);
        }
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<ServiceAccount>(obj).map(warnings).unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, _old: &dyn Object) -> Vec<String> {
        typed::<ServiceAccount>(new).map(warnings).unwrap_or_default()
    }

    fn name_validator(&self) -> NameValidator {
        validate_service_account_name
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn secret_references_keep_only_names() {
        let mut sa = ServiceAccount {
            secrets: Some(vec![ObjectReference {
                name: Some("token".into()),
                namespace: Some("other".into()),
                uid: Some("u".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        SERVICE_ACCOUNT.prepare_for_create(&mut sa);
        assert_eq!(sa.secrets, Some(vec![ObjectReference { name: Some("token".into()), ..Default::default() }]));
    }

    #[test]
    fn enforce_mountable_secrets_is_deprecated() {
        let mut sa = ServiceAccount::default();
        sa.metadata.annotations =
            Some(BTreeMap::from([(ENFORCE_MOUNTABLE_SECRETS_ANNOTATION.to_owned(), "true".to_owned())]));
        assert_eq!(
            SERVICE_ACCOUNT.warnings_on_create(&sa),
            [
                "metadata.annotations[kubernetes.io/enforce-mountable-secrets]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets"
            ]
        );
    }
}
