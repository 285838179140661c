//! Patches applied to a stored object: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch (krs-api's merge engine, driven by the built-in types' patch
//! metadata). Server-side apply goes through the field manager.

use krs_api::ResourceInfo;
use krs_apimachinery::validation::{ErrorList, Path, field};
use krs_kinds::Object;
use krs_store::KeyValue;

use crate::errors::ApiError;
use crate::objbytes::with_resource_version;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    /// The patch type of a PATCH request's Content-Type.
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        match essence {
            crate::encoding::JSON_PATCH => Some(PatchType::Json),
            crate::encoding::MERGE_PATCH => Some(PatchType::Merge),
            crate::encoding::STRATEGIC_MERGE_PATCH => Some(PatchType::Strategic),
            crate::encoding::APPLY_PATCH => Some(PatchType::Apply),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => crate::encoding::JSON_PATCH,
            PatchType::Merge => crate::encoding::MERGE_PATCH,
            PatchType::Strategic => crate::encoding::STRATEGIC_MERGE_PATCH,
            PatchType::Apply => crate::encoding::APPLY_PATCH,
        }
    }
}

/// Applies a patch to the stored object `kv` and decodes the result as the resource's kind.
pub fn apply_patch(
    res: &ResourceInfo,
    kv: &KeyValue,
    patch_type: PatchType,
    body: &[u8],
) -> Result<Box<dyn Object>, ApiError> {
    let mut doc: serde_json::Value = serde_json::from_slice(&with_resource_version(&kv.value, kv.mod_revision))
        .map_err(|e| ApiError::internal(format!("stored object {} is unreadable: {e}", kv.key)))?;
    let patch_error = |detail: String| {
        let mut errors = ErrorList::new();
        errors.push(field::invalid(&Path::new("patch"), String::from_utf8_lossy(body).as_ref(), detail));
        ApiError::invalid(res, "", &errors)
    };
    match patch_type {
        PatchType::Json => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            // Applied without the crate's undo log: its undo can panic on some failing patches
            // (found by fuzzing), and a failed patch discards `doc` anyway.
            json_patch::patch_unsafe(&mut doc, &patch).map_err(|e| patch_error(e.to_string()))?;
        }
        PatchType::Merge => {
            let patch: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(&mut doc, &patch);
        }
        PatchType::Strategic => {
            let patch: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            // Upstream refuses strategic merge patches for kinds without Go types (custom
            // resources) with 415.
            let schema = krs_api::merge::lookup(&res.api_version(), &res.kind)
                .ok_or_else(|| ApiError::unsupported_media_type(patch_type.content_type()))?;
            doc = krs_api::merge::strategic_merge_patch(&doc, &patch, schema).map_err(|e| match e.http_status() {
                400 => ApiError::bad_request(e.to_string()),
                422 => patch_error(e.to_string()),
                _ => ApiError::internal(e.to_string()),
            })?;
        }
        PatchType::Apply => {
            return Err(ApiError::unsupported_media_type(patch_type.content_type()));
        }
    }
    let codec = res.codec.ok_or_else(|| ApiError::internal(format!("no codec for {}", res.kind)))?;
    codec.decode_value(doc, &mut |_| {}).map_err(|e| patch_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_configmap() -> KeyValue {
        let value =
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"default"},"data":{"k":"v"}}"#;
        KeyValue {
            key: "/registry/configmaps/default/a".into(),
            value: bytes::Bytes::from_static(value),
            create_revision: 1,
            mod_revision: 1,
            version: 1,
            lease: 0,
        }
    }

    #[test]
    fn a_failing_json_patch_is_invalid_not_a_panic() {
        let catalog = krs_api::Catalog::builtin();
        let res = catalog.lookup("", "v1", "configmaps").expect("configmaps");
        // The second operation fails after the first changed the document; json-patch 5.0's
        // undo of such a patch panics (found by the json_merge_and_patch fuzz target).
        let body = br#"[{"op":"add","path":"/metadata/name","value":1},{"op":"move","from":"/metadata","path":"/apiVersion/0"}]"#;
        let err = match apply_patch(res, &stored_configmap(), PatchType::Json, body) {
            Ok(_) => panic!("the patch applied"),
            Err(e) => e,
        };
        assert_eq!(err.code(), 422, "{err}");
        // A good patch still applies.
        let ok = apply_patch(
            res,
            &stored_configmap(),
            PatchType::Json,
            br#"[{"op":"replace","path":"/data/k","value":"w"}]"#,
        )
        .expect("patch");
        assert_eq!(serde_json::to_value(ok.meta()).expect("meta")["name"], "a");
    }
}
