//! Subresources that are another kind's view of an object: `scale` (autoscaling/v1 Scale of
//! deployments, replica sets, stateful sets and replication controllers), `pods/binding` (and
//! the `bindings` resource) and `pods/eviction` (policy/v1 Eviction, refused with 429 while a
//! PodDisruptionBudget disallows it).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use krs_api::ResourceInfo;
use krs_apimachinery::labels;
use krs_apimachinery::validation::{ErrorList, Path, field};
use serde::Deserialize as _;
use serde_json::{Value, json};

use crate::cacher::{Everything, ListOptions};
use crate::errors::ApiError;
use crate::handler::App;
use crate::patch::PatchType;
use crate::registry::binding::Refusal;
use crate::registry::update::Part;
use crate::registry::{self, DeleteOptions, UpdateKind, WriteContext};

fn parse(json: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(json).map_err(|e| ApiError::internal(format!("stored object is unreadable: {e}")))
}

/// The label selector of a scalable object as a string: a LabelSelector (apps) or a map
/// (replication controllers).
fn selector_string(spec_selector: Option<&Value>) -> String {
    let Some(sel) = spec_selector else {
        return String::new();
    };
    let is_label_selector = sel.get("matchLabels").is_some() || sel.get("matchExpressions").is_some();
    let selector = if is_label_selector {
        serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>(sel.clone())
            .ok()
            .and_then(|ls| labels::Selector::from_label_selector(Some(&ls)).ok())
    } else {
        serde_json::from_value::<std::collections::BTreeMap<String, String>>(sel.clone())
            .ok()
            .map(|m| labels::Selector::from_set(&m))
    };
    selector.map(|s| s.to_string()).unwrap_or_default()
}

/// The Scale view of an object's JSON.
pub fn scale_of(obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let pick = |k: &str| meta.get(k).cloned().unwrap_or(Value::Null);
    let mut scale_meta = json!({
        "name": pick("name"),
        "uid": pick("uid"),
        "resourceVersion": pick("resourceVersion"),
        "creationTimestamp": pick("creationTimestamp"),
    });
    if let Some(ns) = meta.get("namespace") {
        scale_meta["namespace"] = ns.clone();
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector_string(obj.pointer("/spec/selector")),
        },
    })
}

pub async fn get_scale(app: &App, res: &Arc<ResourceInfo>, ns: &str, name: &str) -> Result<Value, ApiError> {
    let stored = registry::get(app, res, ns, name).await?;
    Ok(scale_of(&parse(&stored.json())?))
}

/// Sets the replicas of `name` from a Scale (PUT of the scale subresource).
pub async fn update_scale(
    app: &App,
    res: &Arc<ResourceInfo>,
    ctx: &mut WriteContext,
    ns: &str,
    name: &str,
    scale: Value,
) -> Result<Value, ApiError> {
    if let Some(n) = scale.pointer("/metadata/name").and_then(|n| n.as_str())
        && n != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    let replicas = scale.pointer("/spec/replicas").and_then(|r| r.as_i64()).unwrap_or(0);
    if replicas < 0 {
        let mut errors = ErrorList::new();
        errors.push(field::invalid(
            &Path::new("spec").child("replicas"),
            replicas,
            "must be greater than or equal to 0",
        ));
        return Err(scale_invalid(name, &errors));
    }
    let Ok(replicas) = i32::try_from(replicas) else {
        let mut errors = ErrorList::new();
        errors.push(field::invalid(
            &Path::new("spec").child("replicas"),
            replicas,
            "must be less than or equal to 2147483647",
        ));
        return Err(scale_invalid(name, &errors));
    };
    let precondition = scale
        .pointer("/metadata/resourceVersion")
        .and_then(|r| r.as_str())
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let mutate = move |doc: &mut Value| -> Result<(), ApiError> {
        doc["spec"]["replicas"] = json!(replicas);
        if let Some(rv) = &precondition {
            doc["metadata"]["resourceVersion"] = json!(rv);
        }
        Ok(())
    };
    let updated = registry::update(app, res, ctx, ns, name, UpdateKind::Mutate(Box::new(mutate)), Part::Scale).await?;
    Ok(scale_of(&parse(&updated.json)?))
}

/// A PATCH of the scale subresource: the patch applies to the Scale, then replicas are set.
pub async fn patch_scale(
    app: &App,
    res: &Arc<ResourceInfo>,
    ctx: &mut WriteContext,
    ns: &str,
    name: &str,
    patch_type: PatchType,
    body: &[u8],
) -> Result<Value, ApiError> {
    let mut scale = get_scale(app, res, ns, name).await?;
    // Patches of a Scale replace the whole request's view; resourceVersion stays unless the
    // patch sets one, which then makes the update conditional.
    let had_rv = scale.pointer("/metadata/resourceVersion").cloned();
    match patch_type {
        PatchType::Json => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            // Without the undo log, which can panic (see patch.rs); `scale` is dropped on error.
            json_patch::patch_unsafe(&mut scale, &patch).map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        // A Scale has no lists, so a strategic merge patch is a merge patch.
        PatchType::Merge | PatchType::Strategic => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::merge(&mut scale, &patch);
        }
        PatchType::Apply => {
            return Err(ApiError::unsupported_media_type(patch_type.content_type()));
        }
    }
    if scale.pointer("/metadata/resourceVersion") == had_rv.as_ref()
        && let Some(m) = scale.get_mut("metadata").and_then(|m| m.as_object_mut())
    {
        m.remove("resourceVersion");
    }
    update_scale(app, res, ctx, ns, name, scale).await
}

fn scale_invalid(name: &str, errors: &ErrorList) -> ApiError {
    krs_apimachinery::status::new_invalid(
        &krs_apimachinery::status::GroupKind::new("autoscaling", "Scale"),
        name,
        errors,
    )
    .into()
}

/// What a Binding says: its target and the annotations it adds to the pod. Decoded straight
/// from the body (a binding per scheduled pod makes this a hot path).
#[derive(Debug, Default, serde::Deserialize)]
pub struct BindingBody {
    #[serde(default)]
    metadata: BindingMeta,
    #[serde(default)]
    target: BindingTarget,
}

#[derive(Debug, Default, serde::Deserialize)]
struct BindingMeta {
    #[serde(default)]
    annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct BindingTarget {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl BindingBody {
    /// A JSON body.
    pub fn from_json(bytes: &[u8]) -> Result<BindingBody, ApiError> {
        serde_json::from_slice(bytes).map_err(|e| binding_decode_error(&e))
    }

    /// A body decoded from another format.
    pub fn from_value(value: &Value) -> Result<BindingBody, ApiError> {
        BindingBody::deserialize(value).map_err(|e| binding_decode_error(&e))
    }
}

fn binding_decode_error(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("error decoding the Binding body: {}", crate::encoding::json_error(e)))
}

/// Binds a pod to a node (pods/binding and the bindings resource), as the scheduler does.
pub async fn bind(
    app: &App,
    pods: &Arc<ResourceInfo>,
    ns: &str,
    name: &str,
    binding: &BindingBody,
) -> Result<Bytes, ApiError> {
    // ValidatePodBinding: a node, by name.
    let node = binding.target.name.clone().unwrap_or_default();
    let kind = binding.target.kind.as_deref().unwrap_or_default();
    let mut errors = ErrorList::new();
    if !kind.is_empty() && kind != "Node" {
        errors.push(field::not_supported(&Path::new("target").child("kind"), kind, &["Node", "<empty>"]));
    }
    if node.is_empty() {
        errors.push(field::required(&Path::new("target").child("name"), ""));
    }
    if !errors.is_empty() {
        return Err(krs_apimachinery::status::new_invalid(
            &krs_apimachinery::status::GroupKind::new("", "Binding"),
            name,
            &errors,
        )
        .into());
    }
    let annotations: Vec<(String, String)> =
        binding.metadata.annotations.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    let pod_name = name.to_string();
    let gr = krs_apimachinery::status::GroupResource::new("", "pods/binding");
    let conflict = move |refusal: Refusal| -> ApiError {
        krs_apimachinery::status::new_conflict(&gr, &pod_name, refusal.message(&pod_name)).into()
    };
    // The PodScheduled condition turns true with the binding.
    let condition = PodCondition {
        type_: "PodScheduled".into(),
        status: "True".into(),
        last_transition_time: Some(crate::registry::now()),
        ..Default::default()
    };
    let condition_json = serde_json::to_string(&condition).map_err(|e| ApiError::internal(e.to_string()))?;
    let (json_node, json_conflict) = (node.clone(), conflict.clone());
    let with_annotations = !annotations.is_empty();
    // The stored JSON is changed in place unless the binding carries annotations.
    let stored = move |json: &[u8]| -> Result<Option<Vec<u8>>, ApiError> {
        if with_annotations {
            return Ok(None);
        }
        registry::binding::bind_stored_json(json, &json_node, &condition_json).map_err(&json_conflict)
    };
    // The pod itself is changed (upstream's BindingREST works on the stored object too).
    let mutate = move |obj: &mut dyn krs_kinds::Object| -> Result<(), ApiError> {
        let pod = obj
            .as_any_mut()
            .downcast_mut::<Pod>()
            .ok_or_else(|| ApiError::internal("a binding of an object that is not a pod"))?;
        let spec = pod.spec.get_or_insert_with(Default::default);
        registry::binding::check(
            pod.metadata.deletion_timestamp.is_some(),
            spec.node_name.as_deref(),
            spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()),
        )
        .map_err(&conflict)?;
        spec.node_name = Some(node.clone());
        if !annotations.is_empty() {
            pod.metadata.annotations.get_or_insert_with(Default::default).extend(annotations.iter().cloned());
        }
        let conditions = pod.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
        conditions.retain(|c| c.type_ != "PodScheduled");
        conditions.push(condition.clone());
        Ok(())
    };
    let mut ctx = WriteContext { user: "system:apiserver".into(), ..Default::default() };
    registry::update(
        app,
        pods,
        &mut ctx,
        ns,
        name,
        UpdateKind::Bind { stored: Box::new(stored), object: Box::new(mutate) },
        Part::Subresource("binding"),
    )
    .await?;
    Ok(success_status(201))
}

fn success_status(code: u16) -> Bytes {
    Bytes::from(format!(r#"{{"apiVersion":"v1","code":{code},"kind":"Status","metadata":{{}},"status":"Success"}}"#))
}

const EVICTION_VIOLATION: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// Evicts a pod: deletes it unless a PodDisruptionBudget forbids it (429).
pub async fn evict(
    app: &App,
    pods: &Arc<ResourceInfo>,
    ctx: &WriteContext,
    ns: &str,
    name: &str,
    eviction: &Value,
) -> Result<Bytes, ApiError> {
    let opts = match eviction.get("deleteOptions") {
        Some(d) if d.is_object() => DeleteOptions::from_value(d)?,
        _ => DeleteOptions::default(),
    };
    let stored = registry::get(app, pods, ns, name).await?;
    let pod = parse(&stored.json())?;
    let phase = pod.pointer("/status/phase").and_then(|p| p.as_str()).unwrap_or_default();
    let terminal = matches!(phase, "Succeeded" | "Failed") || pod.pointer("/metadata/deletionTimestamp").is_some();
    if !terminal {
        check_disruption_budgets(app, ns, &pod).await?;
    }
    registry::delete(app, pods, ctx, ns, name, &opts).await?;
    Ok(success_status(201))
}

async fn check_disruption_budgets(app: &App, ns: &str, pod: &Value) -> Result<(), ApiError> {
    let Some(pdbs) = app.catalog.lookup("policy", "v1", "poddisruptionbudgets").cloned() else {
        return Ok(());
    };
    let Some(cacher) = app.cacher(&pdbs) else {
        return Ok(());
    };
    let rev = app.store.current_revision().await.map_err(|e| ApiError::service_unavailable(e.to_string()))?;
    cacher.wait_for_revision(rev, Duration::from_secs(3)).await;
    let prefix = format!("{}{ns}/", cacher.prefix());
    let page =
        cacher.list(&ListOptions { prefix: &prefix, start: None, limit: 0, filter: &Everything, unfiltered: true });
    let pod_labels: std::collections::BTreeMap<String, String> =
        serde_json::from_value(pod.pointer("/metadata/labels").cloned().unwrap_or(json!({}))).unwrap_or_default();
    let mut matching = Vec::new();
    for obj in page.items {
        let pdb = parse(&obj.json)?;
        // policy/v1: an empty selector selects every pod of the namespace; a null one none.
        let Some(sel) = pdb.pointer("/spec/selector") else {
            continue;
        };
        let Ok(ls) =
            serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>(sel.clone())
        else {
            continue;
        };
        let Ok(selector) = labels::Selector::from_label_selector(Some(&ls)) else {
            continue;
        };
        if selector.matches(&pod_labels) {
            matching.push((obj, pdb));
        }
    }
    if matching.len() > 1 {
        return Err(ApiError::internal(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    let Some((obj, pdb)) = matching.into_iter().next() else {
        return Ok(());
    };
    let pdb_name = obj.name.clone();
    let ready = pod
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
    let current = pdb.pointer("/status/currentHealthy").and_then(|v| v.as_i64()).unwrap_or(0);
    let desired = pdb.pointer("/status/desiredHealthy").and_then(|v| v.as_i64()).unwrap_or(0);
    if !ready {
        // Unhealthy pods may go when the policy says so (AlwaysAllow), or while the budget is
        // met anyway (IfHealthyBudget, the default).
        let policy =
            pdb.pointer("/spec/unhealthyPodEvictionPolicy").and_then(|p| p.as_str()).unwrap_or("IfHealthyBudget");
        if policy == "AlwaysAllow" || current >= desired {
            return Ok(());
        }
    }
    let generation = pdb.pointer("/metadata/generation").and_then(|v| v.as_i64()).unwrap_or(0);
    let observed = pdb.pointer("/status/observedGeneration").and_then(|v| v.as_i64()).unwrap_or(0);
    if observed < generation {
        return Err(too_many(format!("The disruption budget {pdb_name} is still being processed by the server.")));
    }
    let allowed = pdb.pointer("/status/disruptionsAllowed").and_then(|v| v.as_i64()).unwrap_or(0);
    if allowed <= 0 {
        return Err(too_many(format!(
            "The disruption budget {pdb_name} needs {desired} healthy pods and has {current} currently"
        )));
    }
    // Spend one disruption: the disruption controller recounts from here.
    let pod_name = pod.pointer("/metadata/name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
    let mutate = move |doc: &mut Value| -> Result<(), ApiError> {
        let allowed = doc.pointer("/status/disruptionsAllowed").and_then(|v| v.as_i64()).unwrap_or(0);
        if allowed <= 0 {
            return Err(too_many(EVICTION_VIOLATION.to_string()));
        }
        doc["status"]["disruptionsAllowed"] = json!(allowed - 1);
        if !doc["status"]["disruptedPods"].is_object() {
            doc["status"]["disruptedPods"] = json!({});
        }
        doc["status"]["disruptedPods"][&pod_name] = json!(crate::registry::now());
        Ok(())
    };
    let mut ctx = WriteContext { user: "system:apiserver".into(), ..Default::default() };
    registry::update(app, &pdbs, &mut ctx, ns, &pdb_name, UpdateKind::Mutate(Box::new(mutate)), Part::Status).await?;
    Ok(())
}

fn too_many(cause: String) -> ApiError {
    let mut err: ApiError = krs_apimachinery::status::new_too_many_requests(EVICTION_VIOLATION, 0).into();
    let details = err.status.details.get_or_insert_with(Default::default);
    details.causes = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusCause {
        reason: Some("DisruptionBudget".into()),
        message: Some(cause),
        field: None,
    }]);
    err
}

/// TokenRequest (serviceaccounts/token): a bound service account token.
pub async fn token_request(
    app: &App,
    service_accounts: &Arc<ResourceInfo>,
    ns: &str,
    name: &str,
    mut req: Value,
) -> Result<Value, ApiError> {
    let issuer =
        app.tokens.clone().ok_or_else(|| ApiError::service_unavailable("service account tokens are not configured"))?;
    let sa = parse(&registry::get(app, service_accounts, ns, name).await?.json())?;
    let sa_uid = sa.pointer("/metadata/uid").and_then(|u| u.as_str()).unwrap_or_default().to_string();
    let expiration = req.pointer("/spec/expirationSeconds").and_then(|e| e.as_i64()).unwrap_or(3600);
    let mut errors = ErrorList::new();
    let path = Path::new("spec").child("expirationSeconds");
    if expiration < 600 {
        errors.push(field::invalid(&path, expiration, "may not specify a duration less than 10 minutes"));
    } else if expiration > 1 << 32 {
        errors.push(field::invalid(&path, expiration, "may not specify a duration larger than 2^32 seconds"));
    }
    if !errors.is_empty() {
        return Err(krs_apimachinery::status::new_invalid(
            &krs_apimachinery::status::GroupKind::new("authentication.k8s.io", "TokenRequest"),
            name,
            &errors,
        )
        .into());
    }
    let audiences: Vec<String> = req
        .pointer("/spec/audiences")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| issuer.api_audiences.clone());
    let bound = match req.pointer("/spec/boundObjectRef").filter(|b| b.is_object()) {
        None => None,
        Some(r) => {
            let kind = r.get("kind").and_then(|k| k.as_str()).unwrap_or_default().to_string();
            let obj_name = r.get("name").and_then(|k| k.as_str()).unwrap_or_default().to_string();
            let (group, version, resource, namespaced) = match kind.as_str() {
                "Pod" => ("", "v1", "pods", true),
                "Secret" => ("", "v1", "secrets", true),
                "Node" => ("", "v1", "nodes", false),
                other => {
                    return Err(ApiError::bad_request(format!("cannot bind token for serviceaccount to {other:?}")));
                }
            };
            let res = app.catalog.lookup(group, version, resource).cloned().ok_or_else(ApiError::no_such_path)?;
            let obj = parse(&registry::get(app, &res, if namespaced { ns } else { "" }, &obj_name).await?.json())?;
            let uid = obj.pointer("/metadata/uid").and_then(|u| u.as_str()).unwrap_or_default().to_string();
            if let Some(want) = r.get("uid").and_then(|u| u.as_str()).filter(|u| !u.is_empty())
                && want != uid
            {
                return Err(krs_apimachinery::status::new_conflict(
                        &krs_apimachinery::status::GroupResource::new("", resource),
                        &obj_name,
                        format!("the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated"),
                    )
                    .into());
            }
            Some((kind, obj_name, uid))
        }
    };
    let now = jiff::Timestamp::now().as_second();
    let claims = crate::tokens::ServiceAccountClaims {
        namespace: ns.to_string(),
        name: name.to_string(),
        uid: sa_uid,
        bound,
        audiences: audiences.clone(),
        expires: now + expiration,
    };
    let token = issuer.issue(&claims, now).map_err(ApiError::internal)?;
    let expires = jiff::Timestamp::from_second(now + expiration)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    req["apiVersion"] = json!("authentication.k8s.io/v1");
    req["kind"] = json!("TokenRequest");
    req["metadata"] = json!({"name": name, "namespace": ns, "creationTimestamp": null});
    req["spec"]["audiences"] = json!(audiences);
    req["spec"]["expirationSeconds"] = json!(expiration);
    req["status"] = json!({"token": token, "expirationTimestamp": expires});
    Ok(req)
}
