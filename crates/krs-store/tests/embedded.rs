//! The backend-agnostic suite against the embedded (SQLite) backend, then what only the embedded
//! backend promises: durability across reopen, refusal of foreign files, group commit, automatic
//! compaction, progress ordering.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use krs_store::embedded::{EmbeddedOptions, EmbeddedStore};
use krs_store::{RangeRequest, Store, StoreError, WatchRequest, testsuite};
use tempfile::TempDir;

fn options() -> EmbeddedOptions {
    EmbeddedOptions { watch_queue_capacity: testsuite::MAX_WATCH_QUEUE, ..Default::default() }
}

async fn open() -> (Arc<dyn Store>, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("krs.db"), options()).unwrap();
    (Arc::new(store), dir)
}

krs_store::store_suite!(open);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[tokio::test]
async fn data_and_revision_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("krs.db");
    let (r2, lease) = {
        let store = EmbeddedStore::open(&path, options()).unwrap();
        let r1 = store.create("/a", b("1"), 0).await.unwrap();
        let r2 = store.update("/a", b("2"), r1, 0).await.unwrap();
        let lease = store.lease_grant(60).await.unwrap();
        store.create("/leased", b("x"), lease).await.unwrap();
        store.compact(r1).await.unwrap();
        (r2, lease)
    };
    let store = EmbeddedStore::open(&path, options()).unwrap();
    assert_eq!(store.current_revision().await.unwrap(), r2 + 1);
    assert_eq!(store.compacted_revision().await.unwrap(), 1);
    let kv = store.get("/a", None).await.unwrap().0.unwrap();
    assert_eq!((kv.value, kv.mod_revision, kv.version), (b("2"), r2, 2));
    assert_eq!(store.get("/a", Some(r2)).await.unwrap().0.unwrap().value, b("2"));
    // Leases survive a restart with a fresh TTL.
    store.lease_keep_alive(lease).await.unwrap();
    assert_eq!(store.get("/leased", None).await.unwrap().0.unwrap().lease, lease);
    assert_eq!(store.create("/b", b("3"), 0).await.unwrap(), r2 + 2);
}

fn assert_refused(path: &std::path::Path, what: &str) {
    match EmbeddedStore::open(path, EmbeddedOptions::default()) {
        Err(StoreError::Corrupt { path: p, reason }) => {
            assert_eq!(p, path.display().to_string(), "{what}: the error names the file");
            assert!(!reason.is_empty(), "{what}: the error gives a reason");
        }
        Err(other) => panic!("{what}: expected Corrupt, got {other:?}"),
        Ok(_) => panic!("{what}: a bad file was opened"),
    }
}

#[test]
fn garbage_file_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    assert_refused(&path, "garbage");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the refused file is left untouched");
}

#[test]
fn foreign_sqlite_database_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO accounts (name) VALUES ('x');",
    )
    .unwrap();
    drop(conn);
    assert_refused(&path, "foreign database");

    // Another application that set its own application id, even without tables.
    let path = dir.path().join("tagged.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE t (x);").unwrap();
    drop(conn);
    assert_refused(&path, "database of another application");
}

#[tokio::test]
async fn truncated_database_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("krs.db");
    {
        let store = EmbeddedStore::open(&path, options()).unwrap();
        let value = Bytes::from(vec![7u8; 4096]);
        for i in 0..300 {
            store.create(&format!("/t/{i:04}"), value.clone(), 0).await.unwrap();
        }
    }
    // Fold the WAL into the main file so the truncation cuts real pages.
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 512 * 1024, "the database holds data ({len} bytes)");
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    assert_refused(&path, "truncated database");

    // A file cut inside the header is no database at all.
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(50).unwrap();
    assert_refused(&path, "file cut inside the header");
}

#[test]
fn empty_file_is_initialised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    EmbeddedStore::open(&path, EmbeddedOptions::default()).unwrap();
    // And reopening the initialised file works.
    EmbeddedStore::open(&path, EmbeddedOptions::default()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path().join("krs.db"), options()).unwrap());
    let before = store.stats().unwrap();
    let tasks: Vec<_> = (0..256)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create(&format!("/g/{i}"), b("v"), 0).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let after = store.stats().unwrap();
    let commits = after.commits - before.commits;
    assert_eq!(after.requests - before.requests, 256);
    assert!(commits < 256, "256 concurrent writes took {commits} commits: no group commit");
}

/// Checkpoints run on the checkpointing thread once the WAL passes the threshold, not inside the
/// writer's commits: the WAL is copied into the database and reused, so it stays near the
/// threshold however much is written, and everything written is read back after a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_checkpointed_on_its_own_thread_and_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("krs.db");
    let opts = EmbeddedOptions { checkpoint_pages: 64, compaction_interval: None, ..options() };
    let value = Bytes::from(vec![b'x'; 3000]);
    {
        let store = Arc::new(EmbeddedStore::open(&path, opts.clone()).unwrap());
        // 4,000 values of 3 KB: 12 MB through a WAL of 64 pages (256 KiB).
        for round in 0..40 {
            let tasks: Vec<_> = (0..100)
                .map(|i| {
                    let (store, value) = (store.clone(), value.clone());
                    tokio::spawn(async move { store.create(&format!("/wal/{round:02}/{i:03}"), value, 0).await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
        }
        let stats = store.stats().unwrap();
        assert!(stats.checkpoints > 0, "no checkpoint on the checkpointing thread: {stats:?}");
        let wal = std::fs::metadata(dir.path().join("krs.db-wal")).map(|m| m.len()).unwrap_or(0);
        assert!(wal < 4 << 20, "the WAL grew to {wal} bytes: not reused after checkpoints ({stats:?})");
    }
    let store = EmbeddedStore::open(&path, opts).unwrap();
    let all = store.range(RangeRequest { prefix: "/wal/".into(), ..Default::default() }).await.unwrap();
    assert_eq!(all.kvs.len(), 4000);
    assert!(all.kvs.iter().all(|kv| kv.value == value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_compaction_bounds_history() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EmbeddedOptions {
        compaction_interval: Some(Duration::from_millis(200)),
        compaction_retention: Duration::ZERO,
        lease_check_interval: Duration::from_millis(50),
        ..options()
    };
    let store = EmbeddedStore::open(dir.path().join("krs.db"), opts).unwrap();
    let mut rev = store.create("/hot", b("0"), 0).await.unwrap();
    for i in 1..2000 {
        rev = store.update("/hot", b(&i.to_string()), rev, 0).await.unwrap();
    }
    for i in 0..500 {
        let r = store.create(&format!("/tmp/{i}"), b("x"), 0).await.unwrap();
        store.delete(&format!("/tmp/{i}"), Some(r)).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stats = store.stats().unwrap();
        // Once compacted, the history is the one live key (plus whatever the last compaction
        // point left at its own revision).
        if stats.log_rows <= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "history not compacted: {stats:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let compacted = store.compacted_revision().await.unwrap();
    assert!(compacted >= rev, "compacted to {compacted}, last write of /hot at {rev}");
    assert_eq!(store.get("/hot", None).await.unwrap().0.unwrap().value, b("1999"));
    assert!(matches!(store.get("/hot", Some(rev - 1)).await, Err(StoreError::Compacted { .. })));
}

/// A progress notification comes after every event queued before it, with a revision that covers
/// them.
#[tokio::test]
async fn progress_notification_follows_pending_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("krs.db"), options()).unwrap();
    let mut watch = store.watch(WatchRequest { key: "/p/".into(), prefix: true, start_revision: 0 }).await.unwrap();
    let mut last = 0;
    for i in 0..10 {
        last = store.create(&format!("/p/{i}"), b("v"), 0).await.unwrap();
    }
    watch.request_progress();
    let mut events = 0;
    loop {
        let resp = watch.next().await.unwrap().unwrap();
        if resp.events.is_empty() {
            assert_eq!(events, 10, "all events arrive before the progress notification");
            assert_eq!(resp.revision, last);
            break;
        }
        events += resp.events.len();
    }
}

/// A watch that starts in the past while writes go on sees every revision once: the switch from
/// history to live events leaves no gap and no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_switches_from_history_to_live_without_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path().join("krs.db"), options()).unwrap());
    for i in 0..200 {
        store.create(&format!("/s/{i}"), b("v"), 0).await.unwrap();
    }
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 200..600 {
                store.create(&format!("/s/{i}"), b("v"), 0).await.unwrap();
            }
        })
    };
    let mut watch = store.watch(WatchRequest { key: "/s/".into(), prefix: true, start_revision: 1 }).await.unwrap();
    let mut expected = 1;
    while expected <= 600 {
        let resp = tokio::time::timeout(Duration::from_secs(30), watch.next()).await.unwrap().unwrap().unwrap();
        for ev in resp.events {
            assert_eq!(ev.kv.mod_revision, expected);
            expected += 1;
        }
    }
    writer.await.unwrap();
    let all = store.range(RangeRequest { prefix: "/s/".into(), count_only: true, ..Default::default() }).await.unwrap();
    assert_eq!(all.remaining, 600);
}

#[test]
fn second_store_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("krs.db");
    let first = EmbeddedStore::open(&path, options()).unwrap();
    match EmbeddedStore::open(&path, options()) {
        Err(StoreError::Unavailable(msg)) => assert!(msg.contains("already open"), "{msg}"),
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("two stores opened one file"),
    }
    drop(first);
    EmbeddedStore::open(&path, options()).expect("the lock is released when the store closes");
}
