//! The secret strategy (upstream's `pkg/registry/core/secret` and `ValidateSecret*`).
//!
//! `stringData` is write-only: defaulting merges it into `data` (it wins over `data`), as
//! upstream's conversion to the internal type does, so it is never stored.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use krs_apimachinery::validation::{ErrorList, Path, field, is_config_map_key};
use krs_kinds::Object;

use super::configmap::{IMMUTABLE_SET_MSG, MAX_DATA_SIZE};
use super::service::checks;
use crate::strategy::{FieldLabel, Strategy, typed, typed_mut};

pub const TYPE_OPAQUE: &str = "Opaque";
pub const TYPE_SERVICE_ACCOUNT_TOKEN: &str = "kubernetes.io/service-account-token";
pub const TYPE_DOCKERCFG: &str = "kubernetes.io/dockercfg";
pub const TYPE_DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
pub const TYPE_BASIC_AUTH: &str = "kubernetes.io/basic-auth";
pub const TYPE_SSH_AUTH: &str = "kubernetes.io/ssh-auth";
pub const TYPE_TLS: &str = "kubernetes.io/tls";
/// The annotation naming the service account of a token secret.
pub const SERVICE_ACCOUNT_NAME_KEY: &str = "kubernetes.io/service-account.name";

/// The secret strategy.
pub struct SecretStrategy;

/// The secret strategy.
pub static SECRET: SecretStrategy = SecretStrategy;

static FIELD_LABELS: &[FieldLabel] = &[FieldLabel::string("type")];

/// A JSON document's parse error as Go's `encoding/json` words the common ones.
fn go_json_error(data: &[u8]) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(serde_json::Value::Object(_)) => None,
        Ok(v) => {
            let kind = match v {
                serde_json::Value::Array(_) => "array",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Number(_) => "number",
                serde_json::Value::Bool(_) => "bool",
                _ => return None,
            };
            Some(format!("json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"))
        }
        Err(e) if e.is_eof() => Some("unexpected end of JSON input".to_owned()),
        Err(e) => {
            // The offending character, at the reported line and column.
            let line = std::str::from_utf8(data).ok()?.lines().nth(e.line().saturating_sub(1))?;
            let c = line.chars().nth(e.column().saturating_sub(1))?;
            Some(format!("invalid character '{c}' looking for beginning of value"))
        }
    }
}

fn validate_secret(secret: &Secret) -> ErrorList {
    let mut errs = ErrorList::new();
    let data_path = Path::new("data");
    let data = secret.data.clone().unwrap_or_default();
    let mut total = 0;
    for (key, value) in &data {
        for msg in is_config_map_key(key) {
            errs.push(field::invalid(&data_path.key(key), key, msg));
        }
        total += value.0.len();
    }
    if total > MAX_DATA_SIZE {
        errs.push(field::too_long(&data_path, MAX_DATA_SIZE as i64));
    }
    let required = |errs: &mut ErrorList, key: &str| errs.push(field::required(&data_path.key(key), ""));
    match secret.type_.as_deref().unwrap_or_default() {
        TYPE_SERVICE_ACCOUNT_TOKEN => {
            // The uid annotation and the token are filled in later by the token controller.
            let name = secret
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SERVICE_ACCOUNT_NAME_KEY))
                .map(String::as_str)
                .unwrap_or_default();
            if name.is_empty() {
                errs.push(field::required(
                    &Path::new("metadata").child("annotations").key(SERVICE_ACCOUNT_NAME_KEY),
                    "",
                ));
            }
        }
        ty @ (TYPE_DOCKERCFG | TYPE_DOCKER_CONFIG_JSON) => {
            let key = if ty == TYPE_DOCKERCFG { ".dockercfg" } else { ".dockerconfigjson" };
            match data.get(key) {
                None => required(&mut errs, key),
                Some(bytes) => {
                    if let Some(msg) = go_json_error(&bytes.0) {
                        errs.push(field::invalid(&data_path.key(key), "<secret contents redacted>", msg));
                    }
                }
            }
        }
        // Either may be empty, but one must be present.
        TYPE_BASIC_AUTH if !data.contains_key("username") && !data.contains_key("password") => {
            required(&mut errs, "username");
            required(&mut errs, "password");
        }
        TYPE_SSH_AUTH if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
            required(&mut errs, "ssh-privatekey");
        }
        TYPE_TLS => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    required(&mut errs, key);
                }
            }
        }
        _ => {}
    }
    errs
}

/// The first of Go's `tls.X509KeyPair` checks: both parts must contain PEM data.
fn tls_warnings(secret: &Secret) -> Vec<String> {
    if secret.type_.as_deref() != Some(TYPE_TLS) {
        return Vec::new();
    }
    let has_pem = |key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .is_some_and(|v| String::from_utf8_lossy(&v.0).contains("-----BEGIN "))
    };
    if !has_pem("tls.crt") {
        vec!["tls: failed to find any PEM data in certificate input".to_owned()]
    } else if !has_pem("tls.key") {
        vec!["tls: failed to find any PEM data in key input".to_owned()]
    } else {
        Vec::new()
    }
}

impl Strategy for SecretStrategy {
    fn default(&self, obj: &mut dyn Object) {
        let Some(secret) = typed_mut::<Secret>(obj) else {
            return;
        };
        if secret.type_.as_deref().unwrap_or_default().is_empty() {
            secret.type_ = Some(TYPE_OPAQUE.to_owned());
        }
        if let Some(string_data) = secret.string_data.take()
            && !string_data.is_empty()
        {
            let data = secret.data.get_or_insert_with(Default::default);
            for (k, v) in string_data {
                data.insert(k, ByteString(v.into_bytes()));
            }
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Secret>(obj).map(validate_secret).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<Secret>(new), typed::<Secret>(old)) else {
            return ErrorList::new();
        };
        let mut errs = checks::immutable(
            new.type_.as_deref().unwrap_or_default(),
            old.type_.as_deref().unwrap_or_default(),
            &Path::new("type"),
        );
        if old.immutable == Some(true) {
            if new.immutable != Some(true) {
                errs.push(field::forbidden(&Path::new("immutable"), IMMUTABLE_SET_MSG));
            }
            // stringData was merged into data by defaulting, so this covers it too.
            if new.data.clone().unwrap_or_default() != old.data.clone().unwrap_or_default() {
                errs.push(field::forbidden(&Path::new("data"), IMMUTABLE_SET_MSG));
            }
        }
        errs.append(validate_secret(new));
        errs
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<Secret>(obj).map(tls_warnings).unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, _old: &dyn Object) -> Vec<String> {
        typed::<Secret>(new).map(tls_warnings).unwrap_or_default()
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn secret(ty: Option<&str>, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            type_: ty.map(str::to_owned),
            data: Some(data.iter().map(|(k, v)| ((*k).to_owned(), ByteString(v.to_vec()))).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn type_defaults_to_opaque_and_string_data_merges_into_data() {
        let mut s = secret(None, &[("a", b"old"), ("b", b"keep")]);
        s.string_data = Some(BTreeMap::from([("a".to_owned(), "new".to_owned())]));
        SECRET.default(&mut s);
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
        assert_eq!(s.string_data, None);
        let data = s.data.unwrap();
        assert_eq!(data["a"].0, b"new");
        assert_eq!(data["b"].0, b"keep");
    }

    #[test]
    fn typed_secrets_require_their_keys() {
        assert_eq!(
            SECRET.validate(&secret(Some(TYPE_TLS), &[("tls.crt", b"x")])).to_string(),
            "data[tls.key]: Required value"
        );
        assert_eq!(
            SECRET.validate(&secret(Some(TYPE_BASIC_AUTH), &[])).to_string(),
            "[data[username]: Required value, data[password]: Required value]"
        );
        assert_eq!(
            SECRET.validate(&secret(Some(TYPE_SSH_AUTH), &[("ssh-privatekey", b"")])).to_string(),
            "data[ssh-privatekey]: Required value"
        );
        assert_eq!(
            SECRET.validate(&secret(Some(TYPE_SERVICE_ACCOUNT_TOKEN), &[])).to_string(),
            "metadata.annotations[kubernetes.io/service-account.name]: Required value"
        );
        assert_eq!(
            SECRET.validate(&secret(Some(TYPE_DOCKER_CONFIG_JSON), &[(".dockerconfigjson", b"{")])).to_string(),
            r#"data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input"#
        );
        assert!(SECRET.validate(&secret(Some(TYPE_DOCKERCFG), &[(".dockercfg", b"{}")])).is_empty());
    }

    #[test]
    fn type_and_immutable_data_cannot_change() {
        let mut old = secret(Some("Opaque"), &[("a", b"1")]);
        old.immutable = Some(true);
        let mut new = secret(Some("example.com/x"), &[("a", b"2")]);
        new.immutable = Some(true);
        assert_eq!(
            SECRET.validate_update(&new, &old).to_string(),
            r#"[type: Invalid value: "example.com/x": field is immutable, data: Forbidden: field is immutable when `immutable` is set]"#
        );
    }

    #[test]
    fn string_data_counts_against_immutability() {
        let mut old = secret(Some("Opaque"), &[("a", b"1")]);
        old.immutable = Some(true);
        let mut new = old.clone();
        new.string_data = Some(BTreeMap::from([("a".to_owned(), "2".to_owned())]));
        SECRET.default(&mut new);
        assert_eq!(
            SECRET.validate_update(&new, &old).to_string(),
            "data: Forbidden: field is immutable when `immutable` is set"
        );
    }

    #[test]
    fn tls_secret_without_pem_warns() {
        let s = secret(Some(TYPE_TLS), &[("tls.crt", b"x"), ("tls.key", b"y")]);
        assert_eq!(SECRET.warnings_on_create(&s), ["tls: failed to find any PEM data in certificate input"]);
    }
}
