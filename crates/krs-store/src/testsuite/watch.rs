//! Watch behaviour: ordering, history replay, key filtering, compaction, slow consumers, progress.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{b, next_events, patiently};
use crate::{Event, EventKind, Revision, Store, StoreError, Txn, TxnOp, WatchRequest};

/// What the suite compares of an event: kind, key, revision, value, and the previous value with
/// its revision.
type Summary = (EventKind, String, Revision, Bytes, Option<(Bytes, Revision)>);

fn summary(e: &Event) -> Summary {
    (
        e.kind,
        e.kv.key.clone(),
        e.kv.mod_revision,
        e.kv.value.clone(),
        e.prev.as_ref().map(|p| (p.value.clone(), p.mod_revision)),
    )
}

fn put(key: &str, rev: Revision, value: &str, prev: Option<(&str, Revision)>) -> Summary {
    (EventKind::Put, key.into(), rev, b(value), prev.map(|(v, r)| (b(v), r)))
}

fn delete(key: &str, rev: Revision, prev: (&str, Revision)) -> Summary {
    (EventKind::Delete, key.into(), rev, Bytes::new(), Some((b(prev.0), prev.1)))
}

fn prefix(key: &str, start_revision: Revision) -> WatchRequest {
    WatchRequest { key: key.into(), prefix: true, start_revision }
}

pub async fn watch_from_now_sees_only_later_writes(store: Arc<dyn Store>) {
    let r1 = store.create("/now/a", b("1"), 0).await.unwrap();
    let mut watch = store.watch(prefix("/now/", 0)).await.unwrap();
    let r2 = store.update("/now/a", b("2"), r1, 0).await.unwrap();
    let r3 = store.create("/now/b", b("b"), 0).await.unwrap();
    let events: Vec<Summary> = next_events(&mut watch, 2).await.iter().map(summary).collect();
    assert_eq!(events, [put("/now/a", r2, "2", Some(("1", r1))), put("/now/b", r3, "b", None)]);
}

/// History from an old revision (including transactions larger than one replay read), then live
/// events, in order, each exactly once, each with its previous value.
pub async fn watch_from_old_revision_replays_history_then_live_events(store: Arc<dyn Store>) {
    let mut expected = Vec::new();
    let r1 = store.create("/hist/a", b("a1"), 0).await.unwrap();
    expected.push(put("/hist/a", r1, "a1", None));
    store.create("/elsewhere", b("x"), 0).await.unwrap();
    let r3 = store.update("/hist/a", b("a2"), r1, 0).await.unwrap();
    expected.push(put("/hist/a", r3, "a2", Some(("a1", r1))));
    let r4 = store.create("/hist/b", b("b1"), 0).await.unwrap();
    expected.push(put("/hist/b", r4, "b1", None));
    let (r5, _) = store.delete("/hist/a", None).await.unwrap();
    expected.push(delete("/hist/a", r5, ("a2", r3)));
    // Transactions of 40 writes each: 800 events, more than one replay read holds.
    for t in 0..20 {
        let success = (0..40)
            .map(|i| TxnOp::Put { key: format!("/hist/t/{i:02}"), value: b(&format!("{t}")), lease: 0 })
            .collect();
        let resp = store.txn(Txn { compares: vec![], success, failure: vec![] }).await.unwrap();
        for i in 0..40 {
            let prev = (t > 0).then(|| (format!("{}", t - 1), resp.revision - 1));
            expected.push((
                EventKind::Put,
                format!("/hist/t/{i:02}"),
                resp.revision,
                b(&format!("{t}")),
                prev.map(|(v, r)| (b(&v), r)),
            ));
        }
    }
    let mut watch = store.watch(prefix("/hist/", r1)).await.unwrap();
    let replayed: Vec<Summary> = next_events(&mut watch, expected.len()).await.iter().map(summary).collect();
    assert_eq!(replayed.len(), expected.len());
    for (i, (got, want)) in replayed.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "event {i}");
    }

    let b_rev = store.get("/hist/b", None).await.unwrap().0.unwrap().mod_revision;
    let r_live = store.update("/hist/b", b("b2"), b_rev, 0).await.unwrap();
    let (r_del, _) = store.delete("/hist/b", None).await.unwrap();
    let live: Vec<Summary> = next_events(&mut watch, 2).await.iter().map(summary).collect();
    assert_eq!(live, [put("/hist/b", r_live, "b2", Some(("b1", r4))), delete("/hist/b", r_del, ("b2", r_live))]);
}

pub async fn watch_of_a_key_ignores_other_keys(store: Arc<dyn Store>) {
    let mut watch = store.watch(WatchRequest { key: "/k".into(), prefix: false, start_revision: 0 }).await.unwrap();
    for key in ["/k2", "/k/x", "/j"] {
        store.create(key, b("other"), 0).await.unwrap();
    }
    let r1 = store.create("/k", b("mine"), 0).await.unwrap();
    let (r2, _) = store.delete("/k", None).await.unwrap();
    store.create("/k0", b("other"), 0).await.unwrap();
    let events = next_events(&mut watch, 2).await;
    let got: Vec<Summary> = events.iter().map(summary).collect();
    assert_eq!(got, [put("/k", r1, "mine", None), delete("/k", r2, ("mine", r1))]);
    // A delete event carries the key and the deletion's revision only.
    let deleted = &events[1].kv;
    assert_eq!((deleted.create_revision, deleted.version, deleted.lease), (0, 0, 0));
}

pub async fn watch_from_compacted_revision_fails(store: Arc<dyn Store>) {
    let r1 = store.create("/wc/a", b("1"), 0).await.unwrap();
    let r2 = store.update("/wc/a", b("2"), r1, 0).await.unwrap();
    let r3 = store.update("/wc/a", b("3"), r2, 0).await.unwrap();
    store.compact(r3).await.unwrap();
    let err = match store.watch(prefix("/wc/", r1)).await {
        Err(err) => err,
        Ok(mut watch) => match patiently("the compacted error", watch.next()).await {
            Some(Err(err)) => err,
            other => panic!("expected a compacted error, got {other:?}"),
        },
    };
    match err {
        StoreError::Compacted { compact_revision, .. } => assert_eq!(compact_revision, r3),
        other => panic!("expected Compacted, got {other:?}"),
    }
    // From the compaction revision on, history is complete. (The previous value of an event at
    // exactly the compaction revision may already be compacted away, as in etcd.)
    let mut watch = store.watch(prefix("/wc/", r3)).await.unwrap();
    let events = next_events(&mut watch, 1).await;
    let ev = &events[0];
    assert_eq!(
        (ev.kind, ev.kv.key.as_str(), ev.kv.mod_revision, ev.kv.value.clone()),
        (EventKind::Put, "/wc/a", r3, b("3"))
    );
}

/// A watcher that does not read is ended with `WatchLagging` once its bounded queue overflows;
/// it is not buffered without bound, and the writers are not held up.
pub async fn slow_watcher_is_ended_with_lagging_error(store: Arc<dyn Store>) {
    let mut watch = store.watch(prefix("/slow/", 0)).await.unwrap();
    let writes = 4 * super::MAX_WATCH_QUEUE * 2;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..writes / 4 {
                    store.create(&format!("/slow/{w}/{i:05}"), b("x"), 0).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        patiently("the writers", writer).await.unwrap();
    }
    let mut received = 0;
    loop {
        match patiently("the lagging watch to end", watch.next()).await {
            Some(Ok(resp)) => received += resp.events.len(),
            Some(Err(StoreError::WatchLagging)) => break,
            other => panic!("expected events then WatchLagging, got {other:?}"),
        }
    }
    assert!(received < writes, "the lagging watch delivered {received} of {writes} events");
    assert!(patiently("the end of the watch", watch.next()).await.is_none(), "nothing after the error");
}

pub async fn progress_request_reports_the_current_revision(store: Arc<dyn Store>) {
    let mut watch = store.watch(prefix("/prog/", 0)).await.unwrap();
    let r1 = store.create("/prog/a", b("1"), 0).await.unwrap();
    assert_eq!(next_events(&mut watch, 1).await[0].kv.mod_revision, r1);
    let r2 = store.create("/not-watched", b("x"), 0).await.unwrap();
    watch.request_progress();
    let resp = patiently("a progress notification", watch.next()).await.unwrap().unwrap();
    assert!(resp.events.is_empty(), "a progress notification has no events: {resp:?}");
    assert_eq!(resp.revision, r2, "progress reports the store's revision, writes outside the range included");
    // The watch goes on after a progress notification.
    let r3 = store.create("/prog/b", b("2"), 0).await.unwrap();
    assert_eq!(next_events(&mut watch, 1).await[0].kv.mod_revision, r3);
    assert!(tokio::time::timeout(Duration::from_millis(200), watch.next()).await.is_err(), "no spurious responses");
}
