//! Resource requests: the verbs of the main resource and the status subresource, routed from
//! the catalog. Everything here is generic; per-kind policy is in the strategies.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode, header};
use krs_api::printers::IncludeObject;
use krs_api::{ResourceInfo, Verbs};
use krs_kinds::Object;
use krs_store::{RangeRequest, Revision};

use super::filter::SelectorFilter;
use super::params::{ListParams, Query, RvMatch};
use super::respond::{self, ListMeta, add_warnings};
use super::{App, watch};
use crate::auth::UserInfo;
use crate::body::{self, Body, ReadError};
use crate::cacher::{CachedObject, ListOptions};
use crate::encoding::{self, BodyFormat, Negotiated, negotiate};
use crate::errors::ApiError;
use crate::patch::PatchType;
use crate::registry::{self, DeleteOptions, DeleteOutcome, UpdateKind, WriteContext, update::Part};
use crate::request::RequestInfo;
use crate::subresources;

/// How long a consistent read waits for the watch cache before reading the store instead.
const CONSISTENT_READ_WAIT: Duration = Duration::from_secs(3);

pub(super) async fn serve<B>(
    app: &Arc<App>,
    parts: &Parts,
    body: B,
    info: &RequestInfo,
    user: &UserInfo,
    on_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Response<Body>, ApiError>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let res =
        app.catalog.lookup(&info.group, &info.version, &info.resource).cloned().ok_or_else(ApiError::no_such_path)?;
    let mut resp = serve_resource(app, parts, body, info, user, &res, on_upgrade).await?;
    if let Some(warning) = res.deprecation {
        add_warnings(&mut resp, &[warning.to_string()]);
    }
    Ok(resp)
}

async fn serve_resource<B>(
    app: &Arc<App>,
    parts: &Parts,
    body: B,
    info: &RequestInfo,
    user: &UserInfo,
    res: &Arc<ResourceInfo>,
    on_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Response<Body>, ApiError>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let res = res.clone();
    if !res.namespaced && !info.namespace.is_empty() {
        return Err(ApiError::no_such_path());
    }
    let query = Query::parse(parts.uri.query());
    let verb = verb_bit(&info.verb).ok_or_else(|| ApiError::method_not_supported(&res, &info.verb))?;
    let sub = if info.subresource.is_empty() {
        None
    } else {
        Some(res.subresource(&info.subresource).ok_or_else(ApiError::no_such_path)?.name.clone())
    };
    let allowed = match &sub {
        None => res.verbs,
        Some(s) => res.subresource(s).map(|s| s.verbs).unwrap_or_default(),
    };
    if !allowed.contains(verb) {
        return Err(ApiError::method_not_supported(&res, &info.verb));
    }
    if res.storage.is_none() {
        return crate::reviews::serve(app, parts, body, &res, info, user).await;
    }
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let watching = info.verb == "watch";
    let neg = negotiate(accept, watching).ok_or_else(ApiError::not_acceptable)?;
    let include = include_object(&query)?;
    let ns = info.namespace.as_str();
    let name = info.name.as_str();
    // A resource served in several versions is stored in one: the registry works on the
    // storage version; bodies are converted on the way in, responses on the way out.
    let stored = if res.needs_conversion() {
        app.catalog
            .storage_resource(&res)
            .cloned()
            .ok_or_else(|| ApiError::internal(format!("no storage version for {}", res.group_resource())))?
    } else {
        res.clone()
    };

    match (sub.as_deref(), info.verb.as_str()) {
        (None | Some("status") | Some("approval" | "ephemeralcontainers" | "resize"), "get") => {
            get(app, &res, &stored, ns, name, &query, neg, include).await
        }
        (None, "list") => list(app, &res, ns, &query, neg, include).await,
        (None, "watch") => watch::serve(app, &res, ns, name, &query, neg).await,
        (None, "create") => {
            if !name.is_empty() {
                return Err(ApiError::method_not_supported(&res, "create"));
            }
            let mut ctx = write_context(&query, user, parts)?;
            let obj = read_object(&res, &stored, parts, body, &query, &mut ctx).await?;
            let json = registry::create(app, &stored, &mut ctx, ns, obj).await?;
            let mut resp = respond::object(StatusCode::CREATED, json, neg, &res, include)?;
            add_warnings(&mut resp, &ctx.warnings);
            Ok(resp)
        }
        (None | Some("status") | Some("finalize" | "approval" | "ephemeralcontainers" | "resize"), "update") => {
            let part = match sub.as_deref() {
                None => Part::Main,
                Some("status") => Part::Status,
                Some(other) => Part::Subresource(other),
            };
            let mut ctx = write_context(&query, user, parts)?;
            let obj = read_object(&res, &stored, parts, body, &query, &mut ctx).await?;
            let updated = registry::update(app, &stored, &mut ctx, ns, name, UpdateKind::Replace(obj), part).await?;
            let code = if updated.created { StatusCode::CREATED } else { StatusCode::OK };
            let mut resp = respond::object(code, updated.json, neg, &res, include)?;
            add_warnings(&mut resp, &ctx.warnings);
            Ok(resp)
        }
        (None | Some("status") | Some("approval" | "ephemeralcontainers" | "resize"), "patch") => {
            let part = match sub.as_deref() {
                None => Part::Main,
                Some("status") => Part::Status,
                Some(other) => Part::Subresource(other),
            };
            let mut ctx = write_context(&query, user, parts)?;
            let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let patch_type = PatchType::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct))?;
            let body = read_body(body).await?;
            let updated =
                registry::update(app, &stored, &mut ctx, ns, name, UpdateKind::Patch { patch_type, body }, part)
                    .await?;
            let mut resp = respond::object(StatusCode::OK, updated.json, neg, &res, include)?;
            add_warnings(&mut resp, &ctx.warnings);
            Ok(resp)
        }
        (None, "delete") => {
            let ctx = write_context(&query, user, parts)?;
            let opts = delete_options(parts, body, &query).await?;
            match registry::delete(app, &stored, &ctx, ns, name, &opts).await? {
                DeleteOutcome::Deleted { body } => respond::object(StatusCode::OK, body, neg, &res, include),
                DeleteOutcome::Pending { body } => {
                    let code =
                        if opts.orphan_dependents == Some(false) { StatusCode::ACCEPTED } else { StatusCode::OK };
                    respond::object(code, body, neg, &res, include)
                }
            }
        }
        (None, "deletecollection") => {
            let ctx = write_context(&query, user, parts)?;
            let opts = delete_options(parts, body, &query).await?;
            let params = ListParams::from_query(&query, false)?;
            let filter = SelectorFilter::new(&res, params.label_selector.as_deref(), params.field_selector.as_deref())?;
            let cacher = app.cacher(&res).ok_or_else(ApiError::no_such_path)?;
            consistent(app, &cacher).await?;
            let prefix = storage_prefix(&res, ns);
            let page = cacher.list(&ListOptions {
                prefix: &prefix,
                start: None,
                limit: 0,
                filter: &filter,
                unfiltered: false,
            });
            let objects = page.items.iter().map(|o| (o.namespace.clone(), o.name.clone())).collect();
            let deleted = registry::delete_collection(app, &stored, &ctx, objects, &opts).await;
            let deleted = deleted?;
            let items: Vec<Arc<CachedObject>> =
                deleted.into_iter().map(|json| Arc::new(CachedObject::from_served(json))).collect();
            let meta = ListMeta { resource_version: page.revision, continue_token: None, remaining: None };
            respond::list(items, meta, neg, &res, include)
        }
        (Some("scale"), "get") => {
            let scale = subresources::get_scale(app, &res, ns, name).await?;
            respond::encode_value(StatusCode::OK, &scale, neg.format)
        }
        (Some("scale"), "update") => {
            let mut ctx = write_context(&query, user, parts)?;
            let scale = read_value(parts, body).await?;
            let scale = subresources::update_scale(app, &res, &mut ctx, ns, name, scale).await?;
            respond::encode_value(StatusCode::OK, &scale, neg.format)
        }
        (Some("scale"), "patch") => {
            let mut ctx = write_context(&query, user, parts)?;
            let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let patch_type = PatchType::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct))?;
            let body = read_body(body).await?;
            let scale = subresources::patch_scale(app, &res, &mut ctx, ns, name, patch_type, &body).await?;
            respond::encode_value(StatusCode::OK, &scale, neg.format)
        }
        (Some("binding"), "create") => {
            let binding = read_binding(parts, body).await?;
            let status = subresources::bind(app, &res, ns, name, &binding).await?;
            respond::encode(StatusCode::CREATED, status, neg.format)
        }
        (Some("eviction"), "create") => {
            let ctx = write_context(&query, user, parts)?;
            let eviction = read_value(parts, body).await?;
            let status = subresources::evict(app, &res, &ctx, ns, name, &eviction).await?;
            respond::encode(StatusCode::CREATED, status, neg.format)
        }
        (Some("token"), "create") => {
            let request = read_value(parts, body).await?;
            let token = subresources::token_request(app, &res, ns, name, request).await?;
            respond::encode_value(StatusCode::CREATED, &token, neg.format)
        }
        (Some("log" | "exec" | "attach" | "portforward" | "proxy"), _) => {
            let body = read_body(body).await?;
            connect(app, &res, parts, info, body, on_upgrade).await
        }
        (Some(other), _) => {
            Err(ApiError::method_not_supported(&res, &format!("{} on the {other} subresource", info.verb)))
        }
        (None, other) => Err(ApiError::method_not_supported(&res, other)),
    }
}

fn verb_bit(verb: &str) -> Option<Verbs> {
    Some(match verb {
        "get" => Verbs::GET,
        "list" => Verbs::LIST,
        "watch" => Verbs::WATCH,
        "create" => Verbs::CREATE,
        "update" => Verbs::UPDATE,
        "patch" => Verbs::PATCH,
        "delete" => Verbs::DELETE,
        "deletecollection" => Verbs::DELETECOLLECTION,
        _ => return None,
    })
}

fn include_object(query: &Query) -> Result<IncludeObject, ApiError> {
    match query.get("includeObject") {
        None | Some("") | Some("Metadata") => Ok(IncludeObject::Metadata),
        Some("None") => Ok(IncludeObject::None),
        Some("Object") => Ok(IncludeObject::Object),
        Some(other) => Err(ApiError::bad_request(format!("includeObject: Unsupported value: \"{other}\""))),
    }
}

/// The key prefix of a list: all objects of the resource, or one namespace's.
fn storage_prefix(res: &ResourceInfo, namespace: &str) -> String {
    let storage = res.storage.as_ref().map(|s| s.prefix.clone()).unwrap_or_default();
    if res.namespaced && !namespace.is_empty() { format!("{storage}{namespace}/") } else { storage }
}

/// The options kind of a write, for validation errors (`CreateOptions.meta.k8s.io "" is invalid`).
fn options_kind(parts: &Parts) -> &'static str {
    match parts.method {
        http::Method::POST => "CreateOptions",
        http::Method::PUT => "UpdateOptions",
        http::Method::PATCH => "PatchOptions",
        _ => "DeleteOptions",
    }
}

fn write_context(query: &Query, user: &UserInfo, parts: &Parts) -> Result<WriteContext, ApiError> {
    use krs_apimachinery::validation::{BadValue, ErrorList, Path, field};
    let mut dry_run = false;
    let values: Vec<&str> = query.all("dryRun").collect();
    for v in &values {
        match *v {
            "All" => dry_run = true,
            "" => {}
            _ => {
                let mut errors = ErrorList::new();
                errors.push(field::not_supported(&Path::new("dryRun"), BadValue::string_list(&values), &["All"]));
                return Err(super::params::options_invalid(options_kind(parts), &errors));
            }
        }
    }
    if let Some(v) = query.get("fieldValidation")
        && !matches!(v, "" | "Ignore" | "Warn" | "Strict")
    {
        let mut errors = ErrorList::new();
        errors.push(field::not_supported(&Path::new("fieldValidation"), v, &["", "Ignore", "Strict", "Warn"]));
        return Err(super::params::options_invalid(options_kind(parts), &errors));
    }
    let is_apply = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(crate::encoding::APPLY_PATCH));
    let field_manager = query.get("fieldManager").unwrap_or("");
    let errors = krs_api::fieldmanager::validate_field_manager(field_manager, is_apply);
    if !errors.is_empty() {
        return Err(ApiError::bad_request(errors.to_string()));
    }
    let force = query.flag("force")?.unwrap_or(false);
    if force && !is_apply {
        return Err(ApiError::bad_request("force: Invalid value: true: may not be specified for non-apply patch"));
    }
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(WriteContext {
        user: user.name.clone(),
        dry_run,
        manager: krs_api::fieldmanager::manager_or_user_agent(field_manager, user_agent),
        force,
        applied: false,
        warnings: Vec::new(),
    })
}

async fn read_body<B>(body: B) -> Result<Bytes, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    body::read_limited(body).await.map_err(|e| match e {
        ReadError::TooLarge => ApiError::too_large(),
        ReadError::Io(m) => ApiError::bad_request(format!("reading the request body: {m}")),
    })
}

/// Field validation of a write (`fieldValidation`): unknown fields are ignored, warned about
/// (the default) or refused.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

fn field_validation(query: &Query) -> Result<FieldValidation, ApiError> {
    match query.get("fieldValidation") {
        None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
        ))),
    }
}

/// Reads and decodes the object of a create or update, checking that it is of the
/// resource's kind.
async fn read_object<B>(
    res: &ResourceInfo,
    stored: &ResourceInfo,
    parts: &Parts,
    body: B,
    query: &Query,
    ctx: &mut WriteContext,
) -> Result<Box<dyn Object>, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = BodyFormat::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct.unwrap_or("")))?;
    let validation = field_validation(query)?;
    let bytes = read_body(body).await?;
    let codec = stored.codec.ok_or_else(|| ApiError::internal(format!("no codec for {}", stored.kind)))?;
    let mut unknown = Vec::new();
    let decoded = match format {
        BodyFormat::Json if res.needs_conversion() => {
            check_type_meta_json(res, &bytes)?;
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(encoding::json_error(&e)))?;
            let value = to_storage_version(res, stored, value)?;
            codec.decode_value(value, &mut |p| unknown.push(p))
        }
        BodyFormat::Json => {
            check_type_meta_json(res, &bytes)?;
            codec.decode_json(&bytes, &mut |p| unknown.push(p))
        }
        other => {
            let value = encoding::decode_value(&bytes, other).map_err(|e| ApiError::bad_request(e.to_string()))?;
            check_type_meta(res, &value)?;
            let value = to_storage_version(res, stored, value)?;
            codec.decode_value(value, &mut |p| unknown.push(p))
        }
    };
    let obj = decoded.map_err(|e| ApiError::bad_request(format!("error decoding the {} body: {e}", res.kind)))?;
    if validation == FieldValidation::Ignore {
        return Ok(obj);
    }
    let mut problems: Vec<String> = unknown.iter().map(|p| format!("unknown field \"{p}\"")).collect();
    if format == BodyFormat::Json {
        problems.extend(
            crate::duplicates::duplicate_fields(&bytes).into_iter().map(|p| format!("duplicate field \"{p}\"")),
        );
    }
    if !problems.is_empty() {
        match validation {
            FieldValidation::Warn => ctx.warnings.extend(problems),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                    problems.join(", "),
                    kind = res.kind,
                    version = res.version,
                )));
            }
        }
    }
    Ok(obj)
}

/// Converts a request body of a resource served in another version than it is stored in.
fn to_storage_version(
    res: &ResourceInfo,
    stored: &ResourceInfo,
    mut value: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    if !res.needs_conversion() {
        return Ok(value);
    }
    // Bodies may leave apiVersion/kind out; the converter needs them.
    value["apiVersion"] = serde_json::json!(res.api_version());
    value["kind"] = serde_json::json!(res.kind);
    krs_api::conversion::convert(value, &stored.group, &stored.version)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Checks apiVersion/kind of a JSON body before the typed decode, for upstream's messages.
fn check_type_meta_json(res: &ResourceInfo, bytes: &[u8]) -> Result<(), ApiError> {
    #[derive(serde::Deserialize)]
    struct TypeMeta<'a> {
        #[serde(default, borrow, rename = "apiVersion")]
        api_version: Option<std::borrow::Cow<'a, str>>,
        #[serde(default, borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    let tm: TypeMeta<'_> = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e} ({})",
            res.kind,
            summarize(bytes)
        ))
    })?;
    type_meta_matches(res, tm.api_version.as_deref(), tm.kind.as_deref())
}

/// The start of a body, as upstream quotes it in decoding errors.
fn summarize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(30) {
        Some((i, _)) => format!("{} ...", &text[..i]),
        None => text.into_owned(),
    }
}

fn check_type_meta(res: &ResourceInfo, value: &serde_json::Value) -> Result<(), ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    type_meta_matches(res, value.get("apiVersion").and_then(|v| v.as_str()), value.get("kind").and_then(|v| v.as_str()))
}

fn type_meta_matches(res: &ResourceInfo, api_version: Option<&str>, kind: Option<&str>) -> Result<(), ApiError> {
    let expected = res.api_version();
    if let Some(v) = api_version.filter(|v| !v.is_empty())
        && v != expected
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({expected})"
        )));
    }
    if let Some(k) = kind.filter(|k| !k.is_empty())
        && k != res.kind
    {
        // Upstream's decoder fails converting the sent kind into the endpoint's internal one.
        let version = api_version.filter(|v| !v.is_empty()).unwrap_or(&expected);
        let from_package = version.rsplit('/').next().unwrap_or(version);
        let to_package = if res.group.is_empty() { "core" } else { res.group.split('.').next().unwrap_or(&res.group) };
        return Err(ApiError::bad_request(format!(
            "{k} in version \"{from_package}\" cannot be handled as a {kind}: converting ({from_package}.{k}) to ({to_package}.{kind}): unknown conversion",
            kind = res.kind
        )));
    }
    Ok(())
}

/// Connect subresources: forwarded to the node agent of the pod's (or the named) node.
async fn connect(
    app: &Arc<App>,
    res: &Arc<ResourceInfo>,
    parts: &Parts,
    info: &RequestInfo,
    body: Bytes,
    on_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Response<Body>, ApiError> {
    let kubelet =
        app.kubelet.as_ref().ok_or_else(|| ApiError::service_unavailable("no node agent client is configured"))?;
    let query = Query::parse(parts.uri.query());
    let nodes = app.catalog.lookup("", "v1", "nodes").cloned().ok_or_else(ApiError::no_such_path)?;
    let (node_name, path) = match (res.resource.as_str(), info.subresource.as_str()) {
        ("nodes", "proxy") => (info.name.clone(), format!("/{}", info.parts_after.join("/"))),
        ("pods", sub) => {
            let pod: serde_json::Value =
                serde_json::from_slice(&registry::get(app, res, &info.namespace, &info.name).await?.json())
                    .map_err(|e| ApiError::internal(e.to_string()))?;
            let node = pod.pointer("/spec/nodeName").and_then(|n| n.as_str()).unwrap_or_default().to_string();
            if node.is_empty() {
                return Err(ApiError::bad_request(format!("pod {} does not have a host assigned", info.name)));
            }
            let (ns, name) = (&info.namespace, &info.name);
            let path = match sub {
                "portforward" => format!("/portForward/{ns}/{name}"),
                "log" | "exec" | "attach" => {
                    let container = crate::proxy::container_of(&pod, query.get("container"))?;
                    let endpoint = if sub == "log" { "containerLogs" } else { sub };
                    format!("/{endpoint}/{ns}/{name}/{container}")
                }
                _ => {
                    return Err(ApiError::method_not_supported(
                        res,
                        &format!("{} on the {sub} subresource", info.verb),
                    ));
                }
            };
            (node, path)
        }
        _ => {
            return Err(ApiError::method_not_supported(
                res,
                &format!("{} on the {} subresource", info.verb, info.subresource),
            ));
        }
    };
    let node: serde_json::Value = serde_json::from_slice(&registry::get(app, &nodes, "", &node_name).await?.json())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let (ip, port) = crate::proxy::kubelet_endpoint(&node).ok_or_else(|| {
        ApiError::service_unavailable(format!("node {node_name} has no address the node agent can be reached at"))
    })?;
    // The container is in the path; everything else of the query goes to the agent as sent.
    let rest: Vec<&str> =
        parts.uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty() && !p.starts_with("container=")).collect();
    let path_and_query = if rest.is_empty() { path } else { format!("{path}?{}", rest.join("&")) };
    kubelet.forward(ip, port, &path_and_query, parts, body, on_upgrade).await
}

/// A request body with the format its Content-Type names.
async fn read_formatted<B>(parts: &Parts, body: B) -> Result<(BodyFormat, Bytes), ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = BodyFormat::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct.unwrap_or("")))?;
    Ok((format, read_body(body).await?))
}

/// Reads a request body of any supported format as a JSON value.
async fn read_value<B>(parts: &Parts, body: B) -> Result<serde_json::Value, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (format, bytes) = read_formatted(parts, body).await?;
    let value = encoding::decode_value(&bytes, format).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    Ok(value)
}

/// Reads a Binding body: JSON is decoded straight into its few fields.
async fn read_binding<B>(parts: &Parts, body: B) -> Result<subresources::BindingBody, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (format, bytes) = read_formatted(parts, body).await?;
    if format == BodyFormat::Json {
        return subresources::BindingBody::from_json(&bytes);
    }
    let value = encoding::decode_value(&bytes, format).map_err(|e| ApiError::bad_request(e.to_string()))?;
    subresources::BindingBody::from_value(&value)
}

async fn delete_options<B>(parts: &Parts, body: B, query: &Query) -> Result<DeleteOptions, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = read_body(body).await?;
    let mut opts = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        DeleteOptions::default()
    } else {
        let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let format =
            BodyFormat::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct.unwrap_or("")))?;
        let value = encoding::decode_value(&bytes, format).map_err(|e| ApiError::bad_request(e.to_string()))?;
        DeleteOptions::from_value(&value)?
    };
    if let Some(g) = query.int("gracePeriodSeconds")? {
        opts.grace_period_seconds = Some(g);
    }
    if let Some(p) = query.get("propagationPolicy") {
        opts.propagation_policy = Some(p.to_string());
    }
    if let Some(o) = query.flag("orphanDependents")? {
        opts.orphan_dependents = Some(o);
    }
    Ok(opts)
}

#[allow(clippy::too_many_arguments)]
async fn get(
    app: &Arc<App>,
    res: &Arc<ResourceInfo>,
    stored: &Arc<ResourceInfo>,
    ns: &str,
    name: &str,
    query: &Query,
    neg: Negotiated,
    include: IncludeObject,
) -> Result<Response<Body>, ApiError> {
    let rv = super::params::parse_rv(query.get("resourceVersion"))?;
    let json = match rv {
        // "0": any version will do; the cache has one.
        Some(0) => {
            match app.cacher(res).filter(|c| c.is_ready()).and_then(|c| c.get(&registry::key(res, ns, name).ok()?)) {
                Some(obj) => obj.json.clone(),
                None => registry::get(app, stored, ns, name).await?.json(),
            }
        }
        _ => registry::get(app, stored, ns, name).await?.json(),
    };
    respond::object(StatusCode::OK, json, neg, res, include)
}

/// Waits until the cache has every change the store has committed (a consistent read).
async fn consistent(app: &App, cacher: &crate::cacher::Cacher) -> Result<Revision, ApiError> {
    let rev = app.store.current_revision().await.map_err(|e| ApiError::service_unavailable(e.to_string()))?;
    if cacher.wait_for_revision(rev, CONSISTENT_READ_WAIT).await {
        Ok(rev)
    } else {
        Err(ApiError::timeout("Too large resource version: the watch cache did not catch up in time", 1))
    }
}

/// The continue token of a paginated list: the revision and the next key relative to the
/// resource prefix, as upstream encodes it.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn encode_continue(rv: i64, key: &str, resource_prefix: &str) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: key.strip_prefix(resource_prefix).unwrap_or(key).to_string(),
    };
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(token: &str, resource_prefix: &str) -> Result<(i64, String), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE.decode(token).map_err(|_| invalid())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    if t.v != "meta.k8s.io/v1" || t.rv <= 0 || t.start.contains("..") {
        return Err(invalid());
    }
    Ok((t.rv, format!("{resource_prefix}{}", t.start)))
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

async fn list(
    app: &Arc<App>,
    res: &Arc<ResourceInfo>,
    ns: &str,
    query: &Query,
    neg: Negotiated,
    include: IncludeObject,
) -> Result<Response<Body>, ApiError> {
    let params = ListParams::from_query(query, false)?;
    let filter = SelectorFilter::new(res, params.label_selector.as_deref(), params.field_selector.as_deref())?;
    let cacher = app.cacher(res).ok_or_else(ApiError::no_such_path)?;
    let resource_prefix = res.storage.as_ref().map(|s| s.prefix.clone()).unwrap_or_default();
    let prefix = storage_prefix(res, ns);
    let unfiltered = filter.is_everything();

    let (page, at) = if let Some(token) = &params.continue_token {
        let (rv, start) = decode_continue(token, &resource_prefix)?;
        if !start.starts_with(&prefix) {
            return Err(ApiError::bad_request("continue key is not valid for this list"));
        }
        let opts =
            ListOptions { prefix: &prefix, start: Some(&start), limit: params.limit, filter: &filter, unfiltered };
        match cacher.list_at(rv, &opts) {
            Some(page) => (page, rv),
            None => (list_from_store(app, res, &opts, rv, &resource_prefix, token).await?, rv),
        }
    } else {
        match (params.resource_version, params.rv_match) {
            (Some(rv), RvMatch::Exact) => {
                let opts =
                    ListOptions { prefix: &prefix, start: None, limit: params.limit, filter: &filter, unfiltered };
                match cacher.list_at(rv, &opts) {
                    Some(page) => (page, rv),
                    None => (list_from_store(app, res, &opts, rv, &resource_prefix, "").await?, rv),
                }
            }
            (Some(rv), _) if rv > 0 => {
                if !cacher.wait_for_revision(rv, CONSISTENT_READ_WAIT).await {
                    return Err(ApiError::timeout(
                        format!("Too large resource version: {rv}, current: {}", cacher.revision()),
                        1,
                    ));
                }
                let page = cacher.list(&ListOptions {
                    prefix: &prefix,
                    start: None,
                    limit: params.limit,
                    filter: &filter,
                    unfiltered,
                });
                let rev = page.revision;
                (page, rev)
            }
            (Some(_), _) => {
                // "0": whatever the cache has.
                if !cacher.is_ready() {
                    consistent(app, &cacher).await?;
                }
                let page = cacher.list(&ListOptions {
                    prefix: &prefix,
                    start: None,
                    limit: params.limit,
                    filter: &filter,
                    unfiltered,
                });
                let rev = page.revision;
                (page, rev)
            }
            (None, _) => {
                consistent(app, &cacher).await?;
                let page = cacher.list(&ListOptions {
                    prefix: &prefix,
                    start: None,
                    limit: params.limit,
                    filter: &filter,
                    unfiltered,
                });
                let rev = page.revision;
                (page, rev)
            }
        }
    };
    let meta = ListMeta {
        resource_version: at,
        continue_token: page.continue_key.as_deref().map(|k| encode_continue(at, k, &resource_prefix)),
        remaining: page.remaining,
    };
    respond::list(page.items, meta, neg, res, include)
}

/// A page read from the store at a revision the cache no longer holds. A revision lost to
/// compaction is answered with 410 Expired and a token that continues at the current
/// revision, as upstream does.
async fn list_from_store(
    app: &App,
    res: &Arc<ResourceInfo>,
    opts: &ListOptions<'_>,
    rv: Revision,
    resource_prefix: &str,
    token: &str,
) -> Result<crate::cacher::ListResult, ApiError> {
    let field_labels = res.strategy.field_labels();
    let mut items = Vec::new();
    let mut start = opts.start.map(str::to_string);
    loop {
        let range = RangeRequest {
            prefix: opts.prefix.to_string(),
            start: start.clone(),
            limit: if opts.limit == 0 { 0 } else { opts.limit.max(64) },
            revision: Some(rv),
            count_only: false,
        };
        let resp = match app.store.range(range).await {
            Ok(r) => r,
            Err(krs_store::StoreError::Compacted { .. }) if !token.is_empty() => {
                let current =
                    app.store.current_revision().await.map_err(|e| ApiError::service_unavailable(e.to_string()))?;
                let mut err = ApiError::resource_expired(CONTINUE_EXPIRED);
                if let Some(s) = opts.start {
                    err.status.metadata.continue_ = Some(encode_continue(current, s, resource_prefix));
                }
                return Err(err);
            }
            Err(e) => return Err(ApiError::from_store(e, res, "")),
        };
        let more = resp.remaining > 0;
        let last = resp.kvs.last().map(|kv| kv.key.clone());
        for kv in resp.kvs {
            let obj = CachedObject::from_stored(&kv.key, &kv.value, kv.mod_revision, field_labels);
            if opts.filter.matches(&obj) {
                items.push(Arc::new(obj));
                if opts.limit > 0 && items.len() == opts.limit {
                    let key = format!("{}\0", kv.key);
                    return Ok(crate::cacher::ListResult {
                        items,
                        revision: rv,
                        continue_key: Some(key),
                        remaining: None,
                    });
                }
            }
        }
        match (more, last) {
            (true, Some(l)) => start = Some(format!("{l}\0")),
            _ => {
                return Ok(crate::cacher::ListResult { items, revision: rv, continue_key: None, remaining: None });
            }
        }
    }
}
