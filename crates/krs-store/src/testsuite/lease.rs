//! Lease behaviour: expiry deletes the attached keys through ordinary deletions, keep-alive
//! renews, revoke deletes at once.

use std::sync::Arc;
use std::time::Duration;

use super::{b, eventually, next_events};
use crate::{EventKind, Store, StoreError, Txn, TxnOp, WatchRequest};

pub async fn lease_expiry_deletes_attached_keys(store: Arc<dyn Store>) {
    let lease = store.lease_grant(1).await.unwrap();
    let r1 = store.create("/lease/a", b("leased"), lease).await.unwrap();
    store.create("/lease/b", b("kept"), 0).await.unwrap();
    assert_eq!(store.get("/lease/a", None).await.unwrap().0.unwrap().lease, lease);
    let mut watch = store.watch(WatchRequest { key: "/lease/".into(), prefix: true, start_revision: 0 }).await.unwrap();

    eventually("the leased key to expire", || {
        let store = store.clone();
        async move { store.get("/lease/a", None).await.unwrap().0.is_none() }
    })
    .await;
    let events = next_events(&mut watch, 1).await;
    assert_eq!((events[0].kind, events[0].kv.key.as_str()), (EventKind::Delete, "/lease/a"));
    let prev = events[0].prev.as_ref().expect("the delete carries the expired value");
    assert_eq!((prev.value.clone(), prev.mod_revision), (b("leased"), r1));
    assert!(store.get("/lease/b", None).await.unwrap().0.is_some(), "keys without the lease stay");
    eventually("the expired lease to be gone", || {
        let store = store.clone();
        async move { matches!(store.lease_keep_alive(lease).await, Err(StoreError::LeaseNotFound(_))) }
    })
    .await;
}

pub async fn lease_keep_alive_keeps_keys_and_revoke_deletes_them(store: Arc<dyn Store>) {
    let lease = store.lease_grant(3).await.unwrap();
    store.create("/ka/a", b("v"), lease).await.unwrap();
    store.create("/ka/b", b("v"), lease).await.unwrap();
    // Renewed every 250 ms for well over the TTL.
    for _ in 0..18 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        store.lease_keep_alive(lease).await.unwrap();
    }
    assert!(store.get("/ka/a", None).await.unwrap().0.is_some(), "a renewed lease keeps its keys");

    let before = store.current_revision().await.unwrap();
    store.lease_revoke(lease).await.unwrap();
    assert_eq!(store.get("/ka/a", None).await.unwrap().0, None);
    assert_eq!(store.get("/ka/b", None).await.unwrap().0, None);
    // Both keys go in one transaction.
    assert_eq!(store.current_revision().await.unwrap(), before + 1);
    assert!(matches!(store.lease_revoke(lease).await, Err(StoreError::LeaseNotFound(id)) if id == lease));
    assert!(matches!(store.lease_keep_alive(lease).await, Err(StoreError::LeaseNotFound(id)) if id == lease));
}

pub async fn put_with_unknown_lease_is_refused(store: Arc<dyn Store>) {
    let r0 = store.current_revision().await.unwrap();
    let unknown = 0x7a11_0c8e;
    assert!(
        matches!(store.create("/nolease", b("v"), unknown).await, Err(StoreError::LeaseNotFound(id)) if id == unknown)
    );
    let txn = Txn {
        compares: vec![],
        success: vec![
            TxnOp::Put { key: "/nolease/a".into(), value: b("v"), lease: 0 },
            TxnOp::Put { key: "/nolease/b".into(), value: b("v"), lease: unknown },
        ],
        failure: vec![],
    };
    assert!(matches!(store.txn(txn).await, Err(StoreError::LeaseNotFound(_))));
    assert_eq!(store.current_revision().await.unwrap(), r0, "nothing of the refused transaction is written");
    assert_eq!(store.get("/nolease/a", None).await.unwrap().0, None);
}
