//! Watch responses: a stream of watch events over a chunked (HTTP/1.1) or streamed (HTTP/2)
//! response, JSON lines or length-prefixed protobuf frames, each event encoded once.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http::{HeaderValue, Response, header};
use krs_api::ResourceInfo;
use rand::Rng;

use super::App;
use super::filter::SelectorFilter;
use super::params::{ListParams, Query};
use crate::body::{self, Body};
use crate::cacher::{
    CachedObject, Filter, WatchOptions,
    watch::{WatchItem, WatchStartError},
};
use crate::encoding::{Format, Negotiated, View};
use crate::errors::ApiError;

/// Upstream's --min-request-timeout: watches without timeoutSeconds end after a random time
/// between this and twice this, so that clients spread their reconnections.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(1800);
/// How often an idle watch that allows bookmarks gets one (upstream: about a minute).
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);
/// Events already waiting are joined into one frame up to about this many bytes.
const MAX_BATCH_BYTES: usize = 256 * 1024;

pub(super) async fn serve(
    app: &Arc<App>,
    res: &Arc<ResourceInfo>,
    ns: &str,
    name: &str,
    query: &Query,
    neg: Negotiated,
) -> Result<Response<Body>, ApiError> {
    let params = ListParams::from_query(query, true)?;
    let mut field_selector = params.field_selector.clone();
    if !name.is_empty() {
        // /watch/namespaces/ns/pods/name is a watch of one object.
        let one = format!("metadata.name={}", krs_apimachinery::fields::escape_value(name));
        field_selector = Some(match field_selector {
            Some(f) => format!("{f},{one}"),
            None => one,
        });
    }
    let filter: Arc<dyn Filter> =
        Arc::new(SelectorFilter::new(res, params.label_selector.as_deref(), field_selector.as_deref())?);
    let send_initial_events = params.send_initial_events.unwrap_or(false);
    let cacher = app.cacher(res).ok_or_else(ApiError::no_such_path)?;
    if !cacher.is_ready() {
        let rev = app.store.current_revision().await.map_err(|e| ApiError::service_unavailable(e.to_string()))?;
        cacher.wait_for_revision(rev, Duration::from_secs(3)).await;
    }
    if send_initial_events {
        // Watch-list: the initial state must be at least as new as the requested version.
        let rv = params.resource_version.unwrap_or(0);
        if rv > 0 {
            cacher.wait_for_revision(rv, Duration::from_secs(3)).await;
        } else {
            let rev = app.store.current_revision().await.map_err(|e| ApiError::service_unavailable(e.to_string()))?;
            cacher.wait_for_revision(rev, Duration::from_secs(3)).await;
        }
    }
    let prefix = match res.storage.as_ref() {
        Some(s) if res.namespaced && !ns.is_empty() => format!("{}{ns}/", s.prefix),
        Some(s) => s.prefix.clone(),
        None => return Err(ApiError::no_such_path()),
    };
    let opts = WatchOptions {
        prefix,
        filter,
        resource_version: params.resource_version,
        send_initial_events,
        allow_bookmarks: params.allow_watch_bookmarks,
        bookmark_interval: BOOKMARK_INTERVAL,
    };
    let timeout = match params.timeout_seconds {
        Some(s) if s > 0 => Duration::from_secs(s as u64),
        _ => {
            let extra = rand::rng().random_range(0..MIN_REQUEST_TIMEOUT.as_secs());
            MIN_REQUEST_TIMEOUT + Duration::from_secs(extra)
        }
    };
    let format =
        if neg.format == Format::Protobuf && neg.view == View::Object { Format::Protobuf } else { Format::Json };
    let (tx, body) = body::channel(16);
    let encoder = EventEncoder { res: res.clone(), format, view: neg.view };
    match cacher.watch(opts).await {
        Ok(mut stream) => {
            let mut stopping = app.stopping.subscribe();
            tokio::spawn(async move {
                let deadline = tokio::time::sleep(timeout);
                tokio::pin!(deadline);
                loop {
                    if *stopping.borrow_and_update() {
                        break;
                    }
                    let item = tokio::select! {
                        item = stream.next() => item,
                        _ = &mut deadline => None,
                        _ = tx.closed() => None,
                        _ = stopping.changed() => None,
                    };
                    let Some(item) = item else { break };
                    // The events already waiting (a store commit delivers a batch) go out in
                    // one frame: one write to the connection for a burst, not one per event.
                    let mut last = matches!(item, WatchItem::Expired { .. });
                    let mut frame = encoder.encode(&item);
                    let mut batch: Option<Vec<u8>> = None;
                    while !last && batch.as_ref().map_or(frame.len(), Vec::len) < MAX_BATCH_BYTES {
                        let Some(next) = stream.next().now_or_never() else { break };
                        let Some(next) = next else {
                            last = true;
                            break;
                        };
                        last = matches!(next, WatchItem::Expired { .. });
                        batch.get_or_insert_with(|| frame.to_vec()).extend_from_slice(&encoder.encode(&next));
                    }
                    if let Some(batch) = batch {
                        frame = Bytes::from(batch);
                    }
                    if tx.send(frame).await.is_err() || last {
                        break;
                    }
                }
            });
        }
        Err(WatchStartError::TooOld { requested, oldest }) => {
            // Upstream answers 200 and a single ERROR event carrying the 410.
            let item = WatchItem::Expired { message: format!("too old resource version: {requested} ({oldest})") };
            let frame = encoder.encode(&item);
            tokio::spawn(async move {
                let _ = tx.send(frame).await;
            });
        }
        Err(WatchStartError::Store(e)) => return Err(ApiError::from_store(e, res, name)),
    }
    let mut resp = Response::new(body);
    let ct = match format {
        Format::Protobuf => crate::encoding::PROTOBUF_WATCH,
        _ => "application/json",
    };
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    Ok(resp)
}

struct EventEncoder {
    res: Arc<ResourceInfo>,
    format: Format,
    view: View,
}

impl EventEncoder {
    fn encode(&self, item: &WatchItem) -> Bytes {
        let (event_type, object): (&str, Object) = match item {
            WatchItem::Event { event_type, object } if self.res.needs_conversion() => {
                match super::respond::served_json(&self.res, object.json.clone())
                    .ok()
                    .and_then(|j| serde_json::from_slice(&j).ok())
                {
                    Some(v) => (event_type.as_str(), Object::Value(v)),
                    None => (event_type.as_str(), Object::Cached(object)),
                }
            }
            WatchItem::Event { event_type, object } => (event_type.as_str(), Object::Cached(object)),
            WatchItem::Bookmark { revision, initial_events_end } => {
                let mut meta = serde_json::json!({"resourceVersion": revision.to_string()});
                if *initial_events_end {
                    meta["annotations"] = serde_json::json!({"k8s.io/initial-events-end": "true"});
                }
                let obj =
                    serde_json::json!({"kind": self.res.kind, "apiVersion": self.res.api_version(), "metadata": meta});
                ("BOOKMARK", Object::Value(obj))
            }
            WatchItem::Expired { message } => {
                let status =
                    serde_json::to_value(&*ApiError::resource_expired(message.clone()).status).unwrap_or_default();
                ("ERROR", Object::Value(status))
            }
        };
        match self.format {
            Format::Protobuf => {
                let value = match &object {
                    Object::Cached(o) => serde_json::from_slice(&o.json).unwrap_or_default(),
                    Object::Value(v) => v.clone(),
                };
                match krs_proto::encode_watch_event(event_type, &value) {
                    Ok(frame) => Bytes::from(frame),
                    Err(e) => {
                        tracing::warn!(error = %e, "encoding a protobuf watch event");
                        Bytes::new()
                    }
                }
            }
            _ => {
                let json: Bytes = match (&object, self.view) {
                    (Object::Cached(o), View::Object) => o.json.clone(),
                    (Object::Cached(o), View::Table) => {
                        let v: serde_json::Value = serde_json::from_slice(&o.json).unwrap_or_default();
                        let table = krs_api::printers::table(
                            self.res.printer,
                            std::slice::from_ref(&v),
                            None,
                            krs_api::printers::IncludeObject::Metadata,
                        );
                        Bytes::from(serde_json::to_vec(&table).unwrap_or_default())
                    }
                    (Object::Cached(o), View::Metadata) => {
                        let v: serde_json::Value = serde_json::from_slice(&o.json).unwrap_or_default();
                        Bytes::from(serde_json::to_vec(&super::respond::partial_metadata(&v)).unwrap_or_default())
                    }
                    (Object::Value(v), _) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
                };
                let mut frame = Vec::with_capacity(json.len() + 32);
                frame.extend_from_slice(b"{\"type\":\"");
                frame.extend_from_slice(event_type.as_bytes());
                frame.extend_from_slice(b"\",\"object\":");
                frame.extend_from_slice(&json);
                frame.extend_from_slice(b"}\n");
                Bytes::from(frame)
            }
        }
    }
}

enum Object<'a> {
    Cached(&'a Arc<CachedObject>),
    Value(serde_json::Value),
}
