//! Encoding responses: objects, lists, Status errors, in the negotiated format and view.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header};
use krs_api::ResourceInfo;
use krs_api::printers::IncludeObject;

use crate::body::{self, Body};
use crate::cacher::CachedObject;
use crate::encoding::{Format, Negotiated, View};
use crate::errors::ApiError;

/// A Status error response (always JSON: every client decodes it).
pub fn status_response(err: &ApiError) -> Response<Body> {
    let bytes = serde_json::to_vec(&*err.status).unwrap_or_default();
    let mut resp = Response::new(body::full(bytes));
    *resp.status_mut() = StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(secs) = err.status.details.as_ref().and_then(|d| d.retry_after_seconds)
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Adds `Warning` headers (RFC 7234 form that client-go prints: `299 - "text"`).
pub fn add_warnings(resp: &mut Response<Body>, warnings: &[String]) {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
}

fn with_body(code: StatusCode, content_type: &'static str, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(body::full(bytes.into()));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The JSON of a stored object as the version `res` serves it (objects of resources served in
/// several versions are stored in one).
pub fn served_json(res: &ResourceInfo, json: Bytes) -> Result<Bytes, ApiError> {
    if !res.needs_conversion() {
        return Ok(json);
    }
    let value = parse(&json)?;
    // A Status (a delete's answer) needs no conversion.
    if value.get("kind").and_then(|k| k.as_str()) == Some("Status") {
        return Ok(json);
    }
    let converted = krs_api::conversion::convert(value, &res.group, &res.version).map_err(ApiError::internal)?;
    Ok(Bytes::from(serde_json::to_vec(&converted).unwrap_or_default()))
}

/// One object (its JSON, with resourceVersion) in the negotiated format and view.
pub fn object(
    code: StatusCode,
    json: Bytes,
    neg: Negotiated,
    res: &ResourceInfo,
    include: IncludeObject,
) -> Result<Response<Body>, ApiError> {
    let json = served_json(res, json)?;
    match neg.view {
        View::Object => encode(code, json, neg.format),
        View::Table => {
            let value = parse(&json)?;
            let table = krs_api::printers::table(res.printer, std::slice::from_ref(&value), None, include);
            encode_value(code, &table, neg.format)
        }
        View::Metadata => {
            let value = parse(&json)?;
            let partial = partial_metadata(&value);
            encode_value(code, &partial, neg.format)
        }
    }
}

fn parse(json: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(json).map_err(|e| ApiError::internal(format!("encoding a response: {e}")))
}

/// Encodes JSON bytes in a format.
pub fn encode(code: StatusCode, json: Bytes, format: Format) -> Result<Response<Body>, ApiError> {
    match format {
        Format::Json => Ok(with_body(code, "application/json", json)),
        other => encode_value(code, &parse(&json)?, other),
    }
}

/// Encodes a JSON value in a format.
pub fn encode_value(code: StatusCode, value: &serde_json::Value, format: Format) -> Result<Response<Body>, ApiError> {
    match format {
        Format::Json => Ok(with_body(code, "application/json", serde_json::to_vec(value).unwrap_or_default())),
        Format::Yaml => {
            let yaml = serde_saphyr::to_string(value).map_err(|e| ApiError::internal(format!("encoding YAML: {e}")))?;
            Ok(with_body(code, "application/yaml", yaml))
        }
        Format::Protobuf => match krs_proto::encode_object(value) {
            Ok(bytes) => Ok(with_body(code, crate::encoding::PROTOBUF, bytes)),
            // A kind without a protobuf form (Table, custom resources) is answered in JSON, as
            // upstream falls back for types that don't implement protobuf.
            Err(_) => Ok(with_body(code, "application/json", serde_json::to_vec(value).unwrap_or_default())),
        },
    }
}

/// PartialObjectMetadata of an object.
pub fn partial_metadata(value: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": value.get("metadata").cloned().unwrap_or_else(|| serde_json::json!({})),
    })
}

/// The metadata of a list response.
pub struct ListMeta {
    pub resource_version: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

impl ListMeta {
    fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::json!({"resourceVersion": self.resource_version.to_string()});
        if let Some(c) = &self.continue_token {
            m["continue"] = serde_json::json!(c);
        }
        if let Some(r) = self.remaining {
            m["remainingItemCount"] = serde_json::json!(r);
        }
        m
    }
}

/// Lists above this many items are streamed instead of assembled in memory.
const STREAM_THRESHOLD: usize = 500;
/// Bytes per chunk of a streamed list.
const STREAM_CHUNK: usize = 256 * 1024;

/// A list response. JSON lists are assembled from each object's cached JSON without parsing
/// it, and streamed in chunks when long, so a huge list does not sit in memory twice.
pub fn list(
    items: Vec<Arc<CachedObject>>,
    meta: ListMeta,
    neg: Negotiated,
    res: &ResourceInfo,
    include: IncludeObject,
) -> Result<Response<Body>, ApiError> {
    let items = if res.needs_conversion() {
        items
            .into_iter()
            .map(|o| served_json(res, o.json.clone()).map(|j| Arc::new(CachedObject::from_served(j))))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        items
    };
    match (neg.view, neg.format) {
        (View::Object, Format::Json) => Ok(json_list(items, meta, res)),
        (View::Table, format) => {
            let values: Vec<serde_json::Value> = items.iter().map(|o| parse(&o.json)).collect::<Result<_, _>>()?;
            let table = krs_api::printers::table(res.printer, &values, Some(meta.to_json()), include);
            encode_value(StatusCode::OK, &table, format)
        }
        (View::Metadata, format) => {
            let values: Vec<serde_json::Value> =
                items.iter().map(|o| parse(&o.json).map(|v| partial_metadata(&v))).collect::<Result<_, _>>()?;
            let list = serde_json::json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta.to_json(),
                "items": values,
            });
            encode_value(StatusCode::OK, &list, format)
        }
        (View::Object, format) => {
            let values: Vec<serde_json::Value> = items.iter().map(|o| parse(&o.json)).collect::<Result<_, _>>()?;
            let list = serde_json::json!({
                "kind": res.list_kind,
                "apiVersion": res.api_version(),
                "metadata": meta.to_json(),
                "items": values,
            });
            encode_value(StatusCode::OK, &list, format)
        }
    }
}

fn json_list(items: Vec<Arc<CachedObject>>, meta: ListMeta, res: &ResourceInfo) -> Response<Body> {
    let head = format!(
        "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
        res.list_kind,
        res.api_version(),
        meta.to_json()
    );
    if items.len() <= STREAM_THRESHOLD {
        let size = head.len() + items.iter().map(|o| o.json.len() + 1).sum::<usize>() + 2;
        let mut buf = BytesMut::with_capacity(size);
        buf.put_slice(head.as_bytes());
        for (i, o) in items.iter().enumerate() {
            if i > 0 {
                buf.put_u8(b',');
            }
            buf.put_slice(&o.json);
        }
        buf.put_slice(b"]}");
        return with_body(StatusCode::OK, "application/json", buf.freeze());
    }
    let (tx, body) = body::channel(4);
    tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(STREAM_CHUNK + 4096);
        buf.put_slice(head.as_bytes());
        for (i, o) in items.iter().enumerate() {
            if i > 0 {
                buf.put_u8(b',');
            }
            buf.put_slice(&o.json);
            if buf.len() >= STREAM_CHUNK && tx.send(buf.split().freeze()).await.is_err() {
                return;
            }
        }
        buf.put_slice(b"]}");
        let _ = tx.send(buf.freeze()).await;
    });
    let mut resp = Response::new(body);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
