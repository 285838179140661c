//! Key-value behaviour: revisions, compare-and-swap, transactions, ranges, compaction, limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::{b, is_compacted, patiently};
use crate::{
    Compare, CompareOp, CompareTarget, KeyValue, MAX_KEY_BYTES, MAX_VALUE_BYTES, RangeRequest, Store, StoreError, Txn,
    TxnOp, TxnOpResponse, WatchRequest,
};

fn put(key: &str, value: &str) -> TxnOp {
    TxnOp::Put { key: key.into(), value: b(value), lease: 0 }
}

async fn value_of(store: &Arc<dyn Store>, key: &str) -> Option<Bytes> {
    store.get(key, None).await.unwrap().0.map(|kv| kv.value)
}

pub async fn revision_increments_once_per_write_transaction(store: Arc<dyn Store>) {
    let r0 = store.current_revision().await.unwrap();
    let r1 = store.create("/rev/a", b("1"), 0).await.unwrap();
    assert_eq!(r1, r0 + 1);
    let r2 = store.update("/rev/a", b("2"), r1, 0).await.unwrap();
    assert_eq!(r2, r1 + 1);
    let (kv, read_at) = store.get("/rev/a", None).await.unwrap();
    let kv = kv.unwrap();
    assert_eq!(read_at, r2);
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (r1, r2, 2));
    assert_eq!(kv.value, b("2"));

    // Several writes in one transaction share one new revision.
    let txn = Txn {
        compares: vec![],
        success: vec![put("/rev/b", "b"), put("/rev/c", "c"), TxnOp::Delete { key: "/rev/a".into() }],
        failure: vec![],
    };
    let resp = store.txn(txn).await.unwrap();
    let r3 = r2 + 1;
    assert!(resp.succeeded);
    assert_eq!(resp.revision, r3);
    for key in ["/rev/b", "/rev/c"] {
        let kv = store.get(key, None).await.unwrap().0.unwrap();
        assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (r3, r3, 1), "{key}");
    }
    assert_eq!(value_of(&store, "/rev/a").await, None);

    // A transaction that writes nothing does not create a revision.
    let read_only = Txn { compares: vec![], success: vec![TxnOp::Get { key: "/rev/b".into() }], failure: vec![] };
    assert_eq!(store.txn(read_only).await.unwrap().revision, r3);
    let delete_absent =
        Txn { compares: vec![], success: vec![TxnOp::Delete { key: "/rev/none".into() }], failure: vec![] };
    let resp = store.txn(delete_absent).await.unwrap();
    assert_eq!(resp.revision, r3);
    assert_eq!(resp.responses, vec![TxnOpResponse::Delete { deleted: None }]);
    assert_eq!(store.current_revision().await.unwrap(), r3);

    // Recreating a deleted key starts a new incarnation.
    let r4 = store.create("/rev/a", b("again"), 0).await.unwrap();
    assert_eq!(r4, r3 + 1);
    let kv = store.get("/rev/a", None).await.unwrap().0.unwrap();
    assert_eq!((kv.create_revision, kv.version), (r4, 1));
}

pub async fn create_of_existing_key_reports_already_exists(store: Arc<dyn Store>) {
    let r1 = store.create("/exists", b("first"), 0).await.unwrap();
    match store.create("/exists", b("second"), 0).await {
        Err(StoreError::AlreadyExists { key, current }) => {
            assert_eq!(key, "/exists");
            assert_eq!((current.value.clone(), current.mod_revision), (b("first"), r1));
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(store.current_revision().await.unwrap(), r1);
    assert_eq!(value_of(&store, "/exists").await, Some(b("first")));
}

pub async fn update_with_stale_revision_conflicts(store: Arc<dyn Store>) {
    let r1 = store.create("/cas", b("v1"), 0).await.unwrap();
    let r2 = store.update("/cas", b("v2"), r1, 0).await.unwrap();
    match store.update("/cas", b("v3"), r1, 0).await {
        Err(StoreError::Conflict { key, current: Some(current) }) => {
            assert_eq!(key, "/cas");
            assert_eq!((current.value.clone(), current.mod_revision, current.version), (b("v2"), r2, 2));
        }
        other => panic!("expected Conflict with the current value, got {other:?}"),
    }
    match store.update("/cas-absent", b("x"), 0, 0).await {
        Err(StoreError::Conflict { current: None, .. }) => {}
        other => panic!("update of an absent key: expected Conflict without value, got {other:?}"),
    }
    match store.update("/cas-absent", b("x"), r2, 0).await {
        Err(StoreError::Conflict { current: None, .. }) => {}
        other => panic!("update of an absent key: expected Conflict without value, got {other:?}"),
    }
    assert_eq!(store.current_revision().await.unwrap(), r2, "failed updates must not write");
    assert_eq!(value_of(&store, "/cas").await, Some(b("v2")));
    assert_eq!(value_of(&store, "/cas-absent").await, None);
}

pub async fn delete_of_absent_key_is_not_found(store: Arc<dyn Store>) {
    let r0 = store.current_revision().await.unwrap();
    assert!(matches!(store.delete("/nothing", None).await, Err(StoreError::NotFound(k)) if k == "/nothing"));
    assert!(matches!(store.delete("/nothing", Some(5)).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.current_revision().await.unwrap(), r0);
}

pub async fn delete_with_stale_revision_conflicts(store: Arc<dyn Store>) {
    let r1 = store.create("/del", b("v1"), 0).await.unwrap();
    let r2 = store.update("/del", b("v2"), r1, 0).await.unwrap();
    match store.delete("/del", Some(r1)).await {
        Err(StoreError::Conflict { current: Some(current), .. }) => assert_eq!(current.mod_revision, r2),
        other => panic!("expected Conflict, got {other:?}"),
    }
    let (r3, deleted) = store.delete("/del", Some(r2)).await.unwrap();
    assert_eq!(r3, r2 + 1);
    assert_eq!((deleted.value, deleted.mod_revision, deleted.create_revision), (b("v2"), r2, r1));
    assert_eq!(value_of(&store, "/del").await, None);

    let r4 = store.create("/del2", b("x"), 0).await.unwrap();
    let (r5, deleted) = store.delete("/del2", None).await.unwrap();
    assert_eq!((r5, deleted.mod_revision), (r4 + 1, r4));
}

pub async fn get_at_past_revision_returns_the_value_then(store: Arc<dyn Store>) {
    // Revision 0 means "latest"; start a write later so the revision before creation is real.
    store.create("/other", b("x"), 0).await.unwrap();
    let r1 = store.create("/past", b("v1"), 0).await.unwrap();
    let r2 = store.update("/past", b("v2"), r1, 0).await.unwrap();
    let (r3, _) = store.delete("/past", None).await.unwrap();
    let r4 = store.create("/past", b("v4"), 0).await.unwrap();
    let at = |rev| {
        let store = store.clone();
        async move { store.get("/past", Some(rev)).await.unwrap() }
    };
    assert_eq!(at(r1 - 1).await.0, None, "before creation");
    let (kv, read_at) = at(r1).await;
    assert_eq!((kv.unwrap().value, read_at), (b("v1"), r1));
    let kv = at(r2).await.0.unwrap();
    assert_eq!((kv.value, kv.version, kv.mod_revision), (b("v2"), 2, r2));
    assert_eq!(at(r3).await.0, None, "deleted at r3");
    let kv = at(r4).await.0.unwrap();
    assert_eq!((kv.value, kv.create_revision, kv.version), (b("v4"), r4, 1));
}

pub async fn reads_at_future_revision_are_refused(store: Arc<dyn Store>) {
    let r1 = store.create("/future", b("v"), 0).await.unwrap();
    match store.get("/future", Some(r1 + 10)).await {
        Err(StoreError::FutureRevision { requested, .. }) => assert_eq!(requested, r1 + 10),
        other => panic!("expected FutureRevision, got {other:?}"),
    }
    let req = RangeRequest { prefix: "/".into(), revision: Some(r1 + 1), ..Default::default() };
    assert!(matches!(store.range(req).await, Err(StoreError::FutureRevision { .. })));
}

pub async fn txn_compares_choose_the_branch(store: Arc<dyn Store>) {
    let r1 = store.create("/txn/a", b("apple"), 0).await.unwrap();
    let cmp = |target, op| Compare { key: "/txn/a".into(), op, target };
    let cases = [
        (cmp(CompareTarget::Value(b("apple")), CompareOp::Equal), true),
        (cmp(CompareTarget::Value(b("banana")), CompareOp::Less), true),
        (cmp(CompareTarget::Value(b("apple")), CompareOp::NotEqual), false),
        (cmp(CompareTarget::Version(1), CompareOp::Equal), true),
        (cmp(CompareTarget::Version(1), CompareOp::Greater), false),
        (cmp(CompareTarget::CreateRevision(r1), CompareOp::Equal), true),
        (cmp(CompareTarget::ModRevision(r1 + 1), CompareOp::Less), true),
        (cmp(CompareTarget::Lease(0), CompareOp::Equal), true),
        (Compare::absent("/txn/none"), true),
        (Compare::absent("/txn/a"), false),
        // A value compare on an absent key is false whatever the operator.
        (Compare { key: "/txn/none".into(), op: CompareOp::NotEqual, target: CompareTarget::Value(b("x")) }, false),
        (Compare::mod_revision("/txn/none", CompareOp::Equal, 0), true),
    ];
    for (i, (compare, expected)) in cases.into_iter().enumerate() {
        let txn = Txn {
            compares: vec![compare.clone()],
            success: vec![TxnOp::Get { key: "/txn/a".into() }],
            failure: vec![],
        };
        let resp = store.txn(txn).await.unwrap();
        assert_eq!(resp.succeeded, expected, "case {i}: {compare:?}");
    }

    // The failure branch runs when one compare fails; Put reports the previous value.
    let txn = Txn {
        compares: vec![Compare::mod_revision("/txn/a", CompareOp::Equal, r1), Compare::absent("/txn/a")],
        success: vec![put("/txn/ok", "1")],
        failure: vec![
            put("/txn/a", "avocado"),
            TxnOp::Get { key: "/txn/a".into() },
            TxnOp::Get { key: "/txn/none".into() },
        ],
    };
    let resp = store.txn(txn).await.unwrap();
    assert!(!resp.succeeded);
    assert_eq!(resp.revision, r1 + 1);
    match &resp.responses[..] {
        [
            TxnOpResponse::Put { prev: Some(prev) },
            TxnOpResponse::Get { kv: Some(now) },
            TxnOpResponse::Get { kv: None },
        ] => {
            assert_eq!((prev.value.clone(), prev.mod_revision), (b("apple"), r1));
            assert_eq!((now.value.clone(), now.mod_revision, now.version), (b("avocado"), r1 + 1, 2));
        }
        other => panic!("unexpected responses {other:?}"),
    }
    assert_eq!(value_of(&store, "/txn/ok").await, None);
}

pub async fn txn_writing_a_key_twice_is_invalid(store: Arc<dyn Store>) {
    let r0 = store.current_revision().await.unwrap();
    let txn = Txn { compares: vec![], success: vec![put("/twice", "1"), put("/twice", "2")], failure: vec![] };
    assert!(matches!(store.txn(txn).await, Err(StoreError::InvalidTxn(_))));
    assert_eq!(store.current_revision().await.unwrap(), r0);
    assert_eq!(value_of(&store, "/twice").await, None);
}

pub async fn range_honours_prefix_limit_and_count(store: Arc<dyn Store>) {
    for key in ["/r/a", "/r/b", "/r/c", "/r/d", "/r0", "/rr/x", "/q"] {
        store.create(key, b(key), 0).await.unwrap();
    }
    let rev = store.current_revision().await.unwrap();
    let keys = |kvs: &[KeyValue]| kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>();

    let all = store.range(RangeRequest { prefix: "/r/".into(), ..Default::default() }).await.unwrap();
    assert_eq!(keys(&all.kvs), ["/r/a", "/r/b", "/r/c", "/r/d"]);
    assert_eq!((all.revision, all.remaining), (rev, 0));
    assert_eq!(all.kvs[1].value, b("/r/b"));

    let page = store.range(RangeRequest { prefix: "/r/".into(), limit: 3, ..Default::default() }).await.unwrap();
    assert_eq!((keys(&page.kvs), page.remaining), (vec!["/r/a".into(), "/r/b".into(), "/r/c".into()], 1));

    let req = RangeRequest { prefix: "/r/".into(), start: Some("/r/b".into()), limit: 2, ..Default::default() };
    let page = store.range(req).await.unwrap();
    assert_eq!((keys(&page.kvs), page.remaining), (vec!["/r/b".into(), "/r/c".into()], 1));

    let req = RangeRequest { prefix: "/r/".into(), count_only: true, ..Default::default() };
    let count = store.range(req).await.unwrap();
    assert_eq!((count.kvs.len(), count.remaining), (0, 4));

    let req = RangeRequest { prefix: "/r/".into(), start: Some("/r/c".into()), count_only: true, ..Default::default() };
    assert_eq!(store.range(req).await.unwrap().remaining, 2);

    let everything = store.range(RangeRequest::default()).await.unwrap();
    assert_eq!(everything.kvs.len(), 7, "the empty prefix covers every key");

    let outside = RangeRequest { prefix: "/r/".into(), start: Some("/q".into()), ..Default::default() };
    assert!(matches!(store.range(outside).await, Err(StoreError::InvalidKey(_))));
}

/// Lists a prefix page by page at the revision of the first page, while another task keeps
/// writing to it; the pages together must be exactly the state at that revision.
pub async fn paginated_range_is_one_snapshot_while_writes_continue(store: Arc<dyn Store>) {
    let mut initial = BTreeMap::new();
    for i in 0..60 {
        let key = format!("/page/{i:03}");
        store.create(&key, b("v0"), 0).await.unwrap();
        initial.insert(key, b("v0"));
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            // Every operation is logged with its revision to rebuild the state at any revision.
            let mut log: Vec<(i64, String, Option<Bytes>)> = Vec::new();
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 30 {
                let i = n % 60;
                let key = format!("/page/{i:03}");
                match n % 3 {
                    0 => {
                        let (kv, _) = store.get(&key, None).await.unwrap();
                        if let Some(kv) = kv {
                            let (rev, _) = store.delete(&key, Some(kv.mod_revision)).await.unwrap();
                            log.push((rev, key, None));
                        }
                    }
                    1 => {
                        let value = b(&format!("v{n}"));
                        let rev = match store.get(&key, None).await.unwrap().0 {
                            Some(kv) => store.update(&key, value.clone(), kv.mod_revision, 0).await.unwrap(),
                            None => store.create(&key, value.clone(), 0).await.unwrap(),
                        };
                        log.push((rev, key, Some(value)));
                    }
                    _ => {
                        let key = format!("/page/{i:03}-new{n}");
                        let value = b("new");
                        let rev = store.create(&key, value.clone(), 0).await.unwrap();
                        log.push((rev, key, Some(value)));
                    }
                }
                n += 1;
            }
            log
        })
    };
    // Let some writes land first, so the snapshot is taken mid-stream.
    super::eventually("the writer to start", || {
        let store = store.clone();
        async move { store.current_revision().await.unwrap() > 65 }
    })
    .await;

    let first = store.range(RangeRequest { prefix: "/page/".into(), limit: 7, ..Default::default() }).await.unwrap();
    let at = first.revision;
    let mut listed: Vec<KeyValue> = first.kvs.clone();
    let mut remaining = first.remaining;
    while remaining > 0 {
        // Make sure at least one write lands between two pages.
        let seen = store.current_revision().await.unwrap();
        super::eventually("a write between pages", || {
            let store = store.clone();
            async move { store.current_revision().await.unwrap() > seen }
        })
        .await;
        let mut next = listed.last().unwrap().key.clone();
        next.push('\0');
        let req = RangeRequest {
            prefix: "/page/".into(),
            start: Some(next),
            limit: 7,
            revision: Some(at),
            count_only: false,
        };
        let page = patiently("a page", store.range(req)).await.unwrap();
        assert_eq!(page.revision, at);
        assert_eq!(page.remaining, remaining - page.kvs.len() as i64, "remaining is consistent across pages");
        assert!(!page.kvs.is_empty());
        remaining = page.remaining;
        listed.extend(page.kvs);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let log = writer.await.unwrap();
    assert!(log.iter().any(|(rev, _, _)| *rev > at), "writes continued during the listing");

    let mut expected = initial;
    for (_, key, value) in log.into_iter().filter(|(rev, _, _)| *rev <= at) {
        match value {
            Some(v) => expected.insert(key, v),
            None => expected.remove(&key),
        };
    }
    let listed: BTreeMap<String, Bytes> = listed.into_iter().map(|kv| (kv.key, kv.value)).collect();
    assert_eq!(listed, expected, "the pages are the state at revision {at}");
}

pub async fn reads_below_compaction_point_are_compacted(store: Arc<dyn Store>) {
    let r1 = store.create("/cmp/a", b("1"), 0).await.unwrap();
    let r2 = store.update("/cmp/a", b("2"), r1, 0).await.unwrap();
    let r3 = store.create("/cmp/gone", b("x"), 0).await.unwrap();
    let (r4, _) = store.delete("/cmp/gone", None).await.unwrap();
    let r5 = store.update("/cmp/a", b("5"), r2, 0).await.unwrap();
    store.compact(r4).await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), r4);

    for rev in [r1, r3, r4 - 1] {
        match store.get("/cmp/a", Some(rev)).await {
            Err(StoreError::Compacted { requested, compact_revision }) => {
                assert_eq!((requested, compact_revision), (rev, r4));
            }
            other => panic!("get at {rev}: expected Compacted, got {other:?}"),
        }
    }
    let req = RangeRequest { prefix: "/cmp/".into(), revision: Some(r2), ..Default::default() };
    assert!(matches!(store.range(req).await, Err(e) if is_compacted(&e)));

    // The compaction revision itself stays readable, with each key's latest value at it.
    let (kv, _) = store.get("/cmp/a", Some(r4)).await.unwrap();
    assert_eq!(kv.unwrap().value, b("2"));
    assert_eq!(store.get("/cmp/gone", Some(r4)).await.unwrap().0, None);
    let req = RangeRequest { prefix: "/cmp/".into(), revision: Some(r4), ..Default::default() };
    let snapshot = store.range(req).await.unwrap();
    assert_eq!(snapshot.kvs.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(), ["/cmp/a"]);
    assert_eq!(store.get("/cmp/a", None).await.unwrap().0.unwrap().mod_revision, r5);

    assert!(matches!(store.compact(r4).await, Err(e) if is_compacted(&e)), "compacting again to the same revision");
    assert!(matches!(store.compact(r5 + 100).await, Err(StoreError::FutureRevision { .. })));
    let watch = store.watch(WatchRequest { key: "/cmp/a".into(), prefix: false, start_revision: r4 }).await;
    assert!(watch.is_ok(), "a watch from the compaction revision is allowed");
}

/// 1,000 concurrent creates: each gets its own revision, together exactly the next 1,000.
pub async fn concurrent_writers_get_unique_gap_free_revisions(store: Arc<dyn Store>) {
    let base = store.current_revision().await.unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create(&format!("/many/{i:04}"), b(&i.to_string()), 0).await })
        })
        .collect();
    let mut revisions = Vec::new();
    for task in tasks {
        revisions.push(patiently("a concurrent create", task).await.unwrap().unwrap());
    }
    revisions.sort_unstable();
    let expected: Vec<i64> = (base + 1..=base + 1000).collect();
    assert_eq!(revisions, expected, "revisions are unique and gap-free");
    assert_eq!(store.current_revision().await.unwrap(), base + 1000);
    let count = RangeRequest { prefix: "/many/".into(), count_only: true, ..Default::default() };
    assert_eq!(store.range(count).await.unwrap().remaining, 1000);
    for i in [0, 499, 999] {
        let kv = store.get(&format!("/many/{i:04}"), None).await.unwrap().0.unwrap();
        assert_eq!(kv.value, b(&i.to_string()));
    }
}

pub async fn oversized_values_and_keys_are_refused(store: Arc<dyn Store>) {
    let r0 = store.current_revision().await.unwrap();
    let too_big = Bytes::from(vec![b'x'; MAX_VALUE_BYTES + 1]);
    match store.create("/big", too_big.clone(), 0).await {
        Err(StoreError::ValueTooLarge { key, size, limit }) => {
            assert_eq!((key.as_str(), size, limit), ("/big", MAX_VALUE_BYTES + 1, MAX_VALUE_BYTES));
        }
        other => panic!("expected ValueTooLarge, got {other:?}"),
    }
    let txn = Txn {
        compares: vec![],
        success: vec![TxnOp::Put { key: "/big".into(), value: too_big, lease: 0 }],
        failure: vec![],
    };
    assert!(matches!(store.txn(txn).await, Err(StoreError::ValueTooLarge { .. })));
    assert!(matches!(store.create("", b("x"), 0).await, Err(StoreError::InvalidKey(_))));
    let long_key = format!("/{}", "k".repeat(MAX_KEY_BYTES));
    assert!(matches!(store.create(&long_key, b("x"), 0).await, Err(StoreError::InvalidKey(_))));
    assert_eq!(store.current_revision().await.unwrap(), r0, "refused writes must not write");

    // A value exactly at the limit is accepted and read back whole.
    let at_limit = Bytes::from(vec![b'y'; MAX_VALUE_BYTES]);
    let rev = store.create("/big", at_limit.clone(), 0).await.unwrap();
    let kv = store.get("/big", None).await.unwrap().0.unwrap();
    assert_eq!((kv.value.len(), kv.mod_revision), (MAX_VALUE_BYTES, rev));
    assert!(kv.value == at_limit);
}
