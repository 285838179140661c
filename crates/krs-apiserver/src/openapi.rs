//! The OpenAPI documents (/openapi/v2 as JSON or gnostic protobuf, /openapi/v3 index and
//! per-group-version documents), built from the catalog on first request by krs-openapi,
//! with the patch metadata of the built-in types (merge keys, patch strategies, list and map
//! types) from krs-api's merge table.

use std::collections::HashMap;
use std::sync::Arc;

use krs_api::Catalog;
use krs_api::merge::{self, Struct};
use krs_openapi::{OpenApi, ResourceDoc};
use serde_json::{Value, json};

/// The documents of a catalog.
pub fn build(catalog: &Catalog) -> OpenApi {
    let docs = catalog
        .resources()
        .map(|r| ResourceDoc {
            group: r.group.clone(),
            version: r.version.clone(),
            resource: r.resource.clone(),
            kind: r.kind.clone(),
            namespaced: r.namespaced,
            verbs: r.verbs.names().into_iter().map(str::to_string).collect(),
            subresources: r
                .subresources
                .iter()
                .map(|s| {
                    let (g, v, k) = match s.kind {
                        krs_api::catalog::SubresourceKind::SameKind => {
                            (r.group.clone(), r.version.clone(), r.kind.clone())
                        }
                        krs_api::catalog::SubresourceKind::Other { group, version, kind } => {
                            (group.into(), version.into(), kind.into())
                        }
                        krs_api::catalog::SubresourceKind::Connect { kind } => {
                            (r.group.clone(), r.version.clone(), kind.into())
                        }
                    };
                    (s.name.clone(), g, v, k, s.verbs.names().into_iter().map(str::to_string).collect())
                })
                .collect(),
        })
        .collect();
    let mut api = OpenApi::new(docs);
    let by_definition: Arc<HashMap<String, Struct>> =
        Arc::new(merge::structs().map(|s| (s.definition_name(), s)).collect());
    api.with_field_extensions(move |definition: &str, property: &str| extensions(&by_definition, definition, property));
    api
}

/// The x-kubernetes-* extensions of one property (or, for an empty property, of the
/// definition itself).
fn extensions(structs: &HashMap<String, Struct>, definition: &str, property: &str) -> Vec<(String, Value)> {
    let Some(s) = structs.get(definition) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if property.is_empty() {
        if let Some(g) = s.struct_type()
            && g.as_str() == "atomic"
        {
            out.push(("x-kubernetes-map-type".to_string(), json!("atomic")));
        }
        return out;
    }
    let Some(field) = s.fields().find(|f| f.json_name() == property) else {
        return out;
    };
    if let Some(strategy) = field.patch_strategy().as_str() {
        out.push(("x-kubernetes-patch-strategy".to_string(), json!(strategy)));
    }
    if let Some(key) = field.patch_merge_key() {
        out.push(("x-kubernetes-patch-merge-key".to_string(), json!(key)));
    }
    if let Some(list_type) = field.list_type() {
        out.push(("x-kubernetes-list-type".to_string(), json!(list_type.as_str())));
        let keys: Vec<&str> = field.list_map_keys().collect();
        if !keys.is_empty() {
            out.push(("x-kubernetes-list-map-keys".to_string(), json!(keys)));
        }
    }
    if let Some(map_type) = field.map_type() {
        out.push(("x-kubernetes-map-type".to_string(), json!(map_type.as_str())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_carry_their_merge_key_and_strategy() {
        let structs: HashMap<String, Struct> = merge::structs().map(|s| (s.definition_name(), s)).collect();
        let ext = extensions(&structs, "io.k8s.api.core.v1.PodSpec", "containers");
        assert!(ext.contains(&("x-kubernetes-patch-merge-key".to_string(), json!("name"))), "{ext:?}");
        assert!(ext.contains(&("x-kubernetes-patch-strategy".to_string(), json!("merge"))), "{ext:?}");
        assert!(ext.iter().any(|(k, v)| k == "x-kubernetes-list-type" && v == "map"), "{ext:?}");
    }
}
