use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use krs_store::embedded::{EmbeddedOptions, EmbeddedStore};
use krs_store::{RangeRequest, Revision, Store};

use super::{Cacher, UNDO_EVENTS};

const PREFIX: &str = "/registry/configmaps/";

fn value(name: &str, n: usize) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"ns"}},"data":{{"n":"{n}"}}}}"#
    ))
}

/// (key, resourceVersion, JSON) of every object, in key order.
type State = Vec<(String, Revision, Vec<u8>)>;

async fn store_state(store: &EmbeddedStore, rev: Revision) -> State {
    let req = RangeRequest { prefix: PREFIX.into(), revision: Some(rev), ..Default::default() };
    let resp = store.range(req).await.expect("range");
    resp.kvs
        .into_iter()
        .map(|kv| (kv.key.clone(), kv.mod_revision, super::with_resource_version(&kv.value, kv.mod_revision)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_at_recent_versions_undo_the_later_events_and_match_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path().join("db"), EmbeddedOptions::default()).expect("open"));
    let cacher = Cacher::start(store.clone(), PREFIX.into(), &[]);
    // Creates, updates and deletes over a few keys, one revision each.
    let mut revisions = Vec::new();
    let mut live: Vec<Option<Revision>> = vec![None; 12];
    for step in 0..400 {
        let i = (step * 7) % live.len();
        let (name, key) = (format!("cm{i}"), format!("{PREFIX}ns/cm{i}"));
        let rev = match live[i] {
            None => store.create(&key, value(&name, step), 0).await.expect("create"),
            Some(at) if step % 3 == 0 => store.delete(&key, Some(at)).await.map(|(r, _)| r).expect("delete"),
            Some(at) => store.update(&key, value(&name, step), at, 0).await.expect("update"),
        };
        live[i] = if step % 3 == 0 && live[i].is_some() { None } else { Some(rev) };
        revisions.push(rev);
    }
    let last = *revisions.last().expect("writes");
    assert!(cacher.wait_for_revision(last, Duration::from_secs(10)).await, "the cache caught up");
    let mut served = 0;
    for (n, &rev) in revisions.iter().enumerate() {
        let Some(objects) = cacher.snapshot_at(rev) else {
            assert!(revisions.len() - 1 - n > UNDO_EVENTS, "revision {rev} is recent: the cache serves it");
            continue;
        };
        served += 1;
        let got: State = objects.iter().map(|(k, o)| (k.clone(), o.resource_version, o.json.to_vec())).collect();
        assert_eq!(got, store_state(&store, rev).await, "the state at {rev}");
    }
    assert_eq!(served, UNDO_EVENTS + 1, "the current state and every state the undo reaches");
    assert!(cacher.snapshot_at(last + 1).is_none(), "a future version is not served");
}
