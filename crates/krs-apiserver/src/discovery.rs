//! Discovery documents, all derived from the catalog: legacy (`/api`, `/apis`,
//! `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>`) and aggregated
//! (apidiscovery.k8s.io v2 and v2beta1 APIGroupDiscoveryList, which kubectl 1.27+ asks for first).

use krs_api::catalog::{Catalog, GroupInfo, ResourceInfo, SubresourceKind};
use serde_json::{Value, json};

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
}

/// `/api`: the core group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn api_group(g: &GroupInfo) -> Value {
    let versions: Vec<Value> =
        g.versions.iter().map(|v| json!({"groupVersion": group_version(&g.name, v), "version": v})).collect();
    json!({
        "name": g.name,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis`: every named group.
pub fn api_group_list(catalog: &Catalog) -> Value {
    let groups: Vec<Value> = catalog.groups().iter().filter(|g| !g.name.is_empty()).map(api_group).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`.
pub fn api_group_doc(catalog: &Catalog, group: &str) -> Option<Value> {
    let g = catalog.group(group).filter(|g| !g.name.is_empty())?;
    let mut doc = api_group(g);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `/api/v1` or `/apis/<group>/<version>`: the resources of one group/version.
pub fn api_resource_list(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for r in catalog.resources_in(group, version) {
        let mut entry = json!({
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs.names(),
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        resources.push(entry);
        for s in &r.subresources {
            let mut sub = json!({
                "name": format!("{}/{}", r.resource, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": subresource_kind(r, s.kind),
                "verbs": s.verbs.names(),
            });
            if let SubresourceKind::Other { group, version, .. } = s.kind {
                sub["group"] = json!(group);
                sub["version"] = json!(version);
            }
            resources.push(sub);
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": resources,
    }))
}

fn subresource_kind(r: &ResourceInfo, kind: SubresourceKind) -> String {
    match kind {
        SubresourceKind::SameKind => r.kind.clone(),
        SubresourceKind::Other { kind, .. } | SubresourceKind::Connect { kind } => kind.to_string(),
    }
}

/// Aggregated discovery for the core group (`/api`) or every named group (`/apis`).
pub fn aggregated(catalog: &Catalog, core: bool, v2: bool) -> Value {
    let items: Vec<Value> = catalog
        .groups()
        .iter()
        .filter(|g| g.name.is_empty() == core)
        .map(|g| {
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = catalog.resources_in(&g.name, v).map(aggregated_resource).collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g.name, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": if v2 { "apidiscovery.k8s.io/v2" } else { "apidiscovery.k8s.io/v2beta1" },
        "metadata": {},
        "items": items,
    })
}

fn aggregated_resource(r: &std::sync::Arc<ResourceInfo>) -> Value {
    let mut entry = json!({
        "resource": r.resource,
        "responseKind": {"group": "", "version": "", "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs.names(),
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|s| {
                let kind = match s.kind {
                    SubresourceKind::Other { group, version, kind } => {
                        json!({"group": group, "version": version, "kind": kind})
                    }
                    other => {
                        json!({"group": "", "version": "", "kind": subresource_kind(r, other)})
                    }
                };
                json!({"subresource": s.name, "responseKind": kind, "verbs": s.verbs.names()})
            })
            .collect();
        entry["subresources"] = json!(subs);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_core_list_has_short_names_and_subresources() {
        let catalog = Catalog::builtin();
        let doc = api_resource_list(&catalog, "", "v1").unwrap();
        let resources = doc["resources"].as_array().unwrap();
        let pods = resources.iter().find(|r| r["name"] == "pods").unwrap();
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        let eviction = resources.iter().find(|r| r["name"] == "pods/eviction").unwrap();
        assert_eq!((eviction["group"].as_str(), eviction["kind"].as_str()), (Some("policy"), Some("Eviction")));
        assert!(api_resource_list(&catalog, "apps", "v1beta1").is_none());
    }

    #[test]
    fn aggregated_lists_groups_with_versions_preferred_first() {
        let catalog = Catalog::builtin();
        let doc = aggregated(&catalog, false, true);
        let autoscaling =
            doc["items"].as_array().unwrap().iter().find(|g| g["metadata"]["name"] == "autoscaling").unwrap();
        assert_eq!(autoscaling["versions"][0]["version"], "v2");
        let core = aggregated(&catalog, true, true);
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        assert_eq!(core["items"][0]["metadata"]["name"], "");
        let deploy = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["metadata"]["name"] == "apps")
            .unwrap()["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .cloned()
            .unwrap();
        assert_eq!(deploy["subresources"][0]["responseKind"]["kind"], "Scale");
        assert_eq!(deploy["shortNames"], json!(["deploy"]));
    }

    #[test]
    fn group_documents_name_the_preferred_version() {
        let catalog = Catalog::builtin();
        let g = api_group_doc(&catalog, "autoscaling").unwrap();
        assert_eq!(g["preferredVersion"]["groupVersion"], "autoscaling/v2");
        assert!(api_group_doc(&catalog, "").is_none());
        let list = api_group_list(&catalog);
        assert!(list["groups"].as_array().unwrap().iter().all(|g| g["name"] != ""));
    }
}
