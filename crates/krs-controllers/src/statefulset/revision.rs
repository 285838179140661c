//! ControllerRevisions of a StatefulSet (or DaemonSet): the template of each revision, stored
//! as upstream's patch `{"spec":{"template":{…,"$patch":"replace"}}}` so `kubectl rollout
//! undo` can apply it, named `<owner>-<hash>`, with increasing revision numbers.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, DeleteParams, PostParams};

use crate::Error;
use crate::controller_utils::pod::is_not_found;

pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// The revision data for a template.
pub fn patch_for(template: &PodTemplateSpec) -> serde_json::Value {
    let mut t = serde_json::to_value(template).unwrap_or_default();
    if let Some(o) = t.as_object_mut() {
        o.insert("$patch".into(), "replace".into());
    }
    serde_json::json!({"spec": {"template": t}})
}

/// The template a revision stores.
pub fn template_of(rev: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = rev.data.as_ref()?.0.get("spec")?.get("template")?.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

pub fn hash(data: &serde_json::Value, collision_count: Option<i32>) -> String {
    crate::deployment::util::hash_bytes(data.to_string().as_bytes(), collision_count)
}

/// The workload whose revisions these are: its name, a controller reference to it, and the
/// labels its revisions carry.
pub struct RevisionOwner<'a> {
    pub name: &'a str,
    pub reference: OwnerReference,
    pub labels: BTreeMap<String, String>,
}

/// Finds or creates the revision for `template`; returns it and all revisions (sorted by
/// revision number).
pub async fn ensure(
    client: &kube::Client,
    ns: &str,
    owner: RevisionOwner<'_>,
    template: &PodTemplateSpec,
    mut revisions: Vec<ControllerRevision>,
    collision_count: Option<i32>,
) -> Result<(ControllerRevision, Vec<ControllerRevision>), Error> {
    let RevisionOwner { name: owner_name, reference: owner, labels } = owner;
    revisions.sort_by_key(|r| r.revision);
    let data = patch_for(template);
    let next = revisions.last().map(|r| r.revision + 1).unwrap_or(1);
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), ns);
    if let Some(i) = revisions.iter().position(|r| r.data.as_ref().map(|d| &d.0) == Some(&data)) {
        if i + 1 != revisions.len() {
            // An old template again (a rollback): it becomes the newest revision.
            let mut r = revisions.remove(i);
            r.revision = next;
            let updated =
                api.replace(r.metadata.name.as_deref().unwrap_or_default(), &PostParams::default(), &r).await?;
            revisions.push(updated.clone());
            return Ok((updated, revisions));
        }
        return Ok((revisions[i].clone(), revisions));
    }
    let h = hash(&data, collision_count);
    let mut labels = labels;
    labels.insert(HASH_LABEL.into(), h.clone());
    let rev = ControllerRevision {
        metadata: ObjectMeta {
            name: Some(format!("{owner_name}-{h}")),
            namespace: Some(ns.into()),
            labels: Some(labels),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision: next,
    };
    let created = match api.create(&PostParams::default(), &rev).await {
        Ok(r) => r,
        Err(kube::Error::Api(s)) if s.code == 409 => api.get(rev.metadata.name.as_deref().unwrap_or_default()).await?,
        Err(e) => return Err(e.into()),
    };
    revisions.push(created.clone());
    Ok((created, revisions))
}

/// Deletes the oldest revisions past `limit` that no pod uses.
pub async fn truncate(
    client: &kube::Client,
    ns: &str,
    revisions: &[ControllerRevision],
    in_use: &[String],
    limit: i32,
) -> Result<(), Error> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), ns);
    let removable: Vec<&ControllerRevision> =
        revisions.iter().filter(|r| !in_use.iter().any(|u| Some(u) == r.metadata.name.as_ref())).collect();
    let excess = removable.len().saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
    for r in removable.into_iter().take(excess) {
        match api.delete(r.metadata.name.as_deref().unwrap_or_default(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
