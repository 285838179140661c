//! The config map strategy (upstream's `pkg/registry/core/configmap` and
//! `ValidateConfigMap*`): valid keys, at most 1 MiB of data, and immutable config maps
//! (KEP 1412).

use k8s_openapi::api::core::v1::ConfigMap;
use krs_apimachinery::validation::{ErrorList, Path, field, is_config_map_key};
use krs_kinds::Object;

use crate::strategy::{Strategy, typed};

/// The most data a config map or secret may hold, in bytes (`MaxSecretSize`).
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

/// The message for changing an immutable config map or secret.
pub(crate) const IMMUTABLE_SET_MSG: &str = "field is immutable when `immutable` is set";

/// The config map strategy.
pub struct ConfigMapStrategy;

/// The config map strategy.
pub static CONFIG_MAP: ConfigMapStrategy = ConfigMapStrategy;

/// A new or updated config map (`ValidateConfigMap`).
fn validate_config_map(cm: &ConfigMap) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut total = 0;
    let binary = cm.binary_data.as_ref();
    for (key, value) in cm.data.iter().flatten() {
        let path = Path::new("data").key(key);
        for msg in is_config_map_key(key) {
            errs.push(field::invalid(&path, key, msg));
        }
        if binary.is_some_and(|b| b.contains_key(key)) {
            errs.push(field::invalid(&path, key, "duplicate of key present in binaryData"));
        }
        total += value.len();
    }
    for (key, value) in binary.into_iter().flatten() {
        for msg in is_config_map_key(key) {
            errs.push(field::invalid(&Path::new("binaryData").key(key), key, msg));
        }
        total += value.0.len();
    }
    if total > MAX_DATA_SIZE {
        // Upstream reports the whole object with an empty path.
        errs.push(field::too_long(&Path::new(""), MAX_DATA_SIZE as i64));
    }
    errs
}

impl Strategy for ConfigMapStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<ConfigMap>(obj).map(validate_config_map).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(new), Some(old)) = (typed::<ConfigMap>(new), typed::<ConfigMap>(old)) else {
            return ErrorList::new();
        };
        let mut errs = ErrorList::new();
        if old.immutable == Some(true) {
            if new.immutable != Some(true) {
                errs.push(field::forbidden(&Path::new("immutable"), IMMUTABLE_SET_MSG));
            }
            // A missing map and an empty one are the same data.
            if new.data.clone().unwrap_or_default() != old.data.clone().unwrap_or_default() {
                errs.push(field::forbidden(&Path::new("data"), IMMUTABLE_SET_MSG));
            }
            if new.binary_data.clone().unwrap_or_default() != old.binary_data.clone().unwrap_or_default() {
                errs.push(field::forbidden(&Path::new("binaryData"), IMMUTABLE_SET_MSG));
            }
        }
        errs.append(validate_config_map(new));
        errs
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;

    fn cm(data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            data: Some(data.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn invalid_key_message_matches_upstream() {
        assert_eq!(
            CONFIG_MAP.validate(&cm(&[("a b", "x")])).to_string(),
            r#"data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"#
        );
    }

    #[test]
    fn keys_may_not_repeat_in_binary_data() {
        let mut c = cm(&[("k", "v")]);
        c.binary_data = Some(BTreeMap::from([("k".to_owned(), ByteString(vec![1]))]));
        assert_eq!(
            CONFIG_MAP.validate(&c).to_string(),
            r#"data[k]: Invalid value: "k": duplicate of key present in binaryData"#
        );
    }

    #[test]
    fn data_is_limited_to_one_mebibyte() {
        let big = "x".repeat(MAX_DATA_SIZE);
        assert_eq!(
            CONFIG_MAP.validate(&cm(&[("a", &big), ("b", "y")])).to_string(),
            "[]: Too long: may not be more than 1048576 bytes"
        );
        assert!(CONFIG_MAP.validate(&cm(&[("a", &big)])).is_empty());
    }

    #[test]
    fn immutable_config_maps_reject_changes() {
        let mut old = cm(&[("k", "v")]);
        old.immutable = Some(true);
        let mut new = cm(&[("k", "w")]);
        new.immutable = None;
        assert_eq!(
            CONFIG_MAP.validate_update(&new, &old).to_string(),
            "[immutable: Forbidden: field is immutable when `immutable` is set, data: Forbidden: field is immutable when `immutable` is set]"
        );
        let mut same = old.clone();
        same.metadata.labels = Some(BTreeMap::from([("a".to_owned(), "b".to_owned())]));
        assert!(CONFIG_MAP.validate_update(&same, &old).is_empty());
    }
}
