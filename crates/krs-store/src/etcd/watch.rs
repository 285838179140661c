//! Watches on etcd. Each watch is one etcd watch stream with `prev_kv`; a task pumps its
//! responses into a bounded queue (ending the watch with [`StoreError::WatchLagging`] when the
//! consumer falls that far behind, as the embedded backend does) and forwards progress requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use etcd_client as ec;
use futures::stream;
use tokio::sync::mpsc;

use super::{etcd_range_end, kv_from, map_error};
use crate::{Event, EventKind, Result, Revision, StoreError, Watch, WatchRequest, WatchResponse};

/// Turns one etcd watch response into an item of the stream, or `None` for responses that carry
/// nothing for the consumer (the creation acknowledgement). The boolean is true when the watch
/// ends with this item.
fn convert(resp: &ec::WatchResponse, start: Revision) -> (Option<Result<WatchResponse>>, bool) {
    if resp.compact_revision() > 0 {
        let err = StoreError::Compacted { requested: start, compact_revision: resp.compact_revision() };
        return (Some(Err(err)), true);
    }
    if resp.canceled() {
        let reason = resp.cancel_reason();
        return (Some(Err(StoreError::Unavailable(format!("etcd canceled the watch: {reason}")))), true);
    }
    let revision = resp.header().map_or(0, |h| h.revision());
    if resp.created() && resp.events().is_empty() {
        return (None, false);
    }
    let mut events = Vec::with_capacity(resp.events().len());
    for ev in resp.events() {
        let Some(kv) = ev.kv() else { continue };
        let kv = match kv_from(kv) {
            Ok(kv) => kv,
            Err(err) => return (Some(Err(err)), true),
        };
        let prev = match ev.prev_kv().map(kv_from).transpose() {
            Ok(prev) => prev,
            Err(err) => return (Some(Err(err)), true),
        };
        let kind = match ev.event_type() {
            ec::EventType::Put => EventKind::Put,
            ec::EventType::Delete => EventKind::Delete,
        };
        events.push(Event { kind, kv, prev });
    }
    (Some(Ok(WatchResponse { revision, events })), false)
}

/// Queues an item; false when the watch must stop (the consumer is gone or too far behind).
fn deliver(queue: &mpsc::Sender<Result<WatchResponse>>, lagging: &AtomicBool, item: Result<WatchResponse>) -> bool {
    match queue.try_send(item) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            lagging.store(true, Ordering::Release);
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

pub(super) async fn watch(client: ec::WatchClient, req: &WatchRequest, capacity: usize) -> Result<Watch> {
    let mut opts = ec::WatchOptions::new().with_prev_key();
    if req.prefix {
        opts = opts.with_range(etcd_range_end(&req.key));
    }
    if req.start_revision > 0 {
        opts = opts.with_start_revision(req.start_revision);
    }
    let key = if req.key.is_empty() { "\0" } else { req.key.as_str() };
    let start = req.start_revision;
    let stream = super::with_retries(true, || {
        let (mut client, opts) = (client.clone(), opts.clone());
        async move { client.watch(key, Some(opts)).await }
    })
    .await
    .map_err(map_error)?;
    let (mut requests, mut responses) = stream.split();

    let (queue, items) = mpsc::channel(capacity.max(1));
    let lagging = Arc::new(AtomicBool::new(false));
    // Wait for etcd's first answer: once the watch is created, every later write is seen, which
    // is what a watch "from now" promises when this call returns.
    match responses.message().await {
        Ok(Some(resp)) => {
            let (item, end) = convert(&resp, start);
            if let Some(item) = item {
                deliver(&queue, &lagging, item);
            }
            if end {
                drop(queue);
                return Ok(finish(items, lagging, None));
            }
        }
        Ok(None) => {
            return Err(StoreError::Unavailable("etcd closed the watch stream".into()));
        }
        Err(err) => return Err(map_error(err)),
    }

    let (progress, mut progress_requests) = mpsc::unbounded_channel::<()>();
    let pump_lagging = lagging.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                asked = progress_requests.recv() => match asked {
                    // etcd answers with a response without events whose header revision is the
                    // current revision.
                    Some(()) => {
                        if let Err(err) = requests.request_progress().await {
                            deliver(&queue, &pump_lagging, Err(map_error(err)));
                            break;
                        }
                    }
                    // The Watch was dropped.
                    None => break,
                },
                msg = responses.message() => match msg {
                    Ok(Some(resp)) => {
                        let (item, end) = convert(&resp, start);
                        if let Some(item) = item
                            && (!deliver(&queue, &pump_lagging, item) || end)
                        {
                            break;
                        }
                    }
                    Ok(None) => {
                        deliver(&queue, &pump_lagging, Err(StoreError::Unavailable("etcd closed the watch stream".into())));
                        break;
                    }
                    Err(err) => {
                        deliver(&queue, &pump_lagging, Err(map_error(err)));
                        break;
                    }
                },
            }
        }
    });
    Ok(finish(items, lagging, Some(progress)))
}

/// The consumer's side: the queued items, then [`StoreError::WatchLagging`] if the pump stopped
/// because the queue was full.
fn finish(
    items: mpsc::Receiver<Result<WatchResponse>>,
    lagging: Arc<AtomicBool>,
    progress: Option<mpsc::UnboundedSender<()>>,
) -> Watch {
    let state = (items, lagging, false);
    let events = stream::unfold(state, |(mut items, lagging, done)| async move {
        if done {
            return None;
        }
        match items.recv().await {
            Some(Err(err)) => Some((Err(err), (items, lagging, true))),
            Some(Ok(resp)) => Some((Ok(resp), (items, lagging, false))),
            None if lagging.load(Ordering::Acquire) => Some((Err(StoreError::WatchLagging), (items, lagging, true))),
            None => None,
        }
    });
    Watch::new(
        Box::pin(events),
        Box::new(move || {
            if let Some(progress) = &progress {
                let _ = progress.send(());
            }
        }),
    )
}
