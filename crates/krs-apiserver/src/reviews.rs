//! Virtual resources: objects that are computed per request and never stored. Access reviews
//! answer with the authorizer's decision (`kubectl auth can-i`), self subject reviews with the
//! caller's identity, component statuses with the health of the store.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, header};
use krs_api::ResourceInfo;
use serde_json::{Value, json};

use crate::auth::{Attributes, Decision, UserInfo};
use crate::body::{self, Body, ReadError};
use crate::encoding::{self, BodyFormat, Format, negotiate};
use crate::errors::ApiError;
use crate::handler::App;
use crate::request::RequestInfo;

pub async fn serve<B>(
    app: &Arc<App>,
    parts: &Parts,
    body: B,
    res: &Arc<ResourceInfo>,
    info: &RequestInfo,
    user: &UserInfo,
) -> Result<Response<Body>, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = negotiate(accept, false).map(|n| n.format).unwrap_or(Format::Json);
    if res.resource == "componentstatuses" {
        return component_statuses(app, info, format).await;
    }
    if info.verb != "create" {
        return Err(ApiError::method_not_supported(res, &info.verb));
    }
    let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let body_format =
        BodyFormat::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct.unwrap_or("")))?;
    let bytes = body::read_limited(body).await.map_err(|e| match e {
        ReadError::TooLarge => ApiError::too_large(),
        ReadError::Io(m) => ApiError::bad_request(m),
    })?;
    let mut obj = encoding::decode_value(&bytes, body_format).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !obj.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    obj["apiVersion"] = json!(res.api_version());
    obj["kind"] = json!(res.kind);
    match res.resource.as_str() {
        "bindings" => {
            let pods = app.catalog.lookup("", "v1", "pods").cloned().ok_or_else(ApiError::no_such_path)?;
            let pod = obj.pointer("/metadata/name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
            let binding = crate::subresources::BindingBody::from_value(&obj)?;
            let status = crate::subresources::bind(app, &pods, &info.namespace, &pod, &binding).await?;
            return crate::handler_encode(
                StatusCode::CREATED,
                &serde_json::from_slice(&status).unwrap_or_default(),
                format,
            );
        }
        "selfsubjectaccessreviews" => {
            let status = access_review(app, user, obj.get("spec").unwrap_or(&Value::Null), None);
            obj["status"] = status;
        }
        "subjectaccessreviews" | "localsubjectaccessreviews" => {
            let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
            let subject = UserInfo {
                name: spec.get("user").and_then(|u| u.as_str()).unwrap_or_default().to_string(),
                uid: spec.get("uid").and_then(|u| u.as_str()).unwrap_or_default().to_string(),
                groups: spec
                    .get("groups")
                    .and_then(|g| g.as_array())
                    .map(|g| g.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default(),
            };
            let namespace = (res.resource == "localsubjectaccessreviews").then_some(info.namespace.as_str());
            if let Some(ns) = namespace {
                let asked = spec.pointer("/resourceAttributes/namespace").and_then(|n| n.as_str()).unwrap_or(ns);
                if asked != ns {
                    return Err(ApiError::bad_request(format!(
                        "spec.resourceAttributes.namespace must match namespace: {ns}"
                    )));
                }
                obj["metadata"]["namespace"] = json!(ns);
            }
            obj["status"] = access_review(app, &subject, &spec, namespace);
        }
        "selfsubjectrulesreviews" => {
            obj["status"] = rules_review(user);
        }
        "selfsubjectreviews" => {
            obj["status"] = json!({"userInfo": {"username": user.name, "uid": user.uid, "groups": user.groups}});
        }
        "tokenreviews" => {
            let token = obj.pointer("/spec/token").and_then(|t| t.as_str()).unwrap_or_default().to_string();
            obj["status"] = match app.authenticate_token(&token).await {
                Some(u) => json!({
                    "authenticated": true,
                    "user": {"username": u.name, "uid": u.uid, "groups": u.groups},
                    "audiences": app.tokens.as_ref().map(|t| t.api_audiences.clone()).unwrap_or_default(),
                }),
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            };
        }
        _ => return Err(ApiError::method_not_supported(res, "create")),
    }
    if obj.get("metadata").is_none_or(|m| !m.is_object()) {
        obj["metadata"] = json!({});
    }
    let mut resp = crate::handler_encode(StatusCode::CREATED, &obj, format)?;
    resp.headers_mut().insert("x-krs-virtual", HeaderValue::from_static("true"));
    Ok(resp)
}

/// The authorizer's decision for the attributes of an access review spec.
fn access_review(app: &App, subject: &UserInfo, spec: &Value, namespace: Option<&str>) -> Value {
    let text = |v: Option<&Value>| v.and_then(|s| s.as_str()).unwrap_or_default().to_string();
    let (verb, group, resource, subresource, ns, name, path, resource_request);
    if let Some(ra) = spec.get("resourceAttributes") {
        verb = text(ra.get("verb"));
        group = text(ra.get("group"));
        resource = text(ra.get("resource"));
        subresource = text(ra.get("subresource"));
        ns = namespace.map(str::to_string).unwrap_or_else(|| text(ra.get("namespace")));
        name = text(ra.get("name"));
        path = String::new();
        resource_request = true;
    } else {
        let nra = spec.get("nonResourceAttributes");
        verb = text(nra.and_then(|n| n.get("verb")));
        path = text(nra.and_then(|n| n.get("path")));
        (group, resource, subresource, ns, name) =
            (String::new(), String::new(), String::new(), String::new(), String::new());
        resource_request = false;
    }
    let attrs = Attributes {
        verb: &verb,
        group: &group,
        resource: &resource,
        subresource: &subresource,
        namespace: &ns,
        name: &name,
        path: &path,
        resource_request,
    };
    match app.authorizer.authorize(subject, &attrs) {
        Decision::Allow => json!({"allowed": true}),
        Decision::Deny(reason) => json!({"allowed": false, "reason": reason}),
    }
}

/// The rules a user has: everything for system:masters, nothing for anyone else (the
/// authorizer in place until RBAC).
fn rules_review(user: &UserInfo) -> Value {
    if user.in_group(crate::auth::SYSTEM_MASTERS) {
        json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        })
    } else {
        json!({"resourceRules": [], "nonResourceRules": [], "incomplete": false})
    }
}

/// ComponentStatus (deprecated upstream, still served): the health of the store.
async fn component_statuses(app: &App, info: &RequestInfo, format: Format) -> Result<Response<Body>, ApiError> {
    let healthy = app.store.current_revision().await.is_ok();
    let item = |name: &str| {
        json!({
            "kind": "ComponentStatus",
            "apiVersion": "v1",
            "metadata": {"name": name},
            "conditions": [{"type": "Healthy", "status": if healthy { "True" } else { "False" }, "message": if healthy { "ok" } else { "store unreachable" }}],
        })
    };
    let value = match info.verb.as_str() {
        "get" if info.name == "etcd-0" => item("etcd-0"),
        "get" => {
            return Err(ApiError::not_found(
                &*app.catalog.lookup("", "v1", "componentstatuses").cloned().ok_or_else(ApiError::no_such_path)?,
                &info.name,
            ));
        }
        _ => {
            json!({"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {}, "items": [item("etcd-0")]})
        }
    };
    let mut resp = crate::handler_encode(StatusCode::OK, &value, format)?;
    resp.headers_mut()
        .insert(header::WARNING, HeaderValue::from_static("299 - \"v1 ComponentStatus is deprecated in v1.19+\""));
    Ok(resp)
}
