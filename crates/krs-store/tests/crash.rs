//! Durability under SIGKILL: a child process (this test binary, re-executed in child mode) writes
//! continuously from several tasks and prints each acknowledged revision; the parent kills it at
//! a random moment, reopens the store and checks that every acknowledged write is there and that
//! revisions are gap-free and monotonic. Several rounds on the same file.

use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use krs_store::embedded::{EmbeddedOptions, EmbeddedStore};
use krs_store::{RangeRequest, Store};

const CHILD_DB: &str = "KRS_STORE_CRASH_CHILD_DB";
const CHILD_ROUND: &str = "KRS_STORE_CRASH_CHILD_ROUND";
const TEST_NAME: &str = "crash::acknowledged_writes_survive_sigkill";
const ROUNDS: u64 = 5;
const WRITERS: usize = 8;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn options() -> EmbeddedOptions {
    EmbeddedOptions { compaction_interval: None, ..Default::default() }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    match (std::env::var_os(CHILD_DB), std::env::var(CHILD_ROUND)) {
        (Some(path), Ok(round)) => child(Path::new(&path), &round),
        _ => parent(),
    }
}

/// Writes until killed; prints `ack <revision> <key>` after each acknowledged create.
fn child(path: &Path, round: &str) {
    runtime().block_on(async {
        let store = Arc::new(EmbeddedStore::open(path, options()).unwrap());
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                let round = round.to_owned();
                tokio::spawn(async move {
                    let value = Bytes::from(vec![b'v'; 512]);
                    for n in 0u64.. {
                        let key = format!("/crash/{round}/{w}/{n:08}");
                        let rev = store.create(&key, value.clone(), 0).await.unwrap();
                        println!("ack {rev} {key}");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}

fn parse(line: &str) -> Option<(i64, String)> {
    let mut parts = line.strip_prefix("ack ")?.split(' ');
    let rev = parts.next()?.parse().ok()?;
    let key = parts.next()?;
    key.starts_with("/crash/").then(|| (rev, key.to_owned()))
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("krs.db");
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: Vec<(i64, String)> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &path)
            .env(CHILD_ROUND, round.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (acks, received) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            // Reads until EOF: lines the child wrote before it died are still in the pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(ack) = parse(&line)
                    && acks.send(ack).is_err()
                {
                    break;
                }
            }
        });
        let first = received.recv_timeout(Duration::from_secs(60)).expect("the child acknowledges a write");
        let delay = 100 + RandomState::new().hash_one(round) % 700;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let before = acknowledged.len();
        acknowledged.push(first);
        acknowledged.extend(received.try_iter());
        let this_round = acknowledged.len() - before;
        assert!(this_round > 1, "round {round}: only {this_round} acknowledged writes");
        eprintln!("round {round}: killed after {delay} ms and {this_round} acknowledged writes");
        verify(&path, &acknowledged, round);
    }
}

fn verify(path: &Path, acknowledged: &[(i64, String)], round: u64) {
    runtime().block_on(async {
        let store = EmbeddedStore::open(path, options()).unwrap();
        for (rev, key) in acknowledged {
            let kv = store.get(key, None).await.unwrap().0;
            let kv = kv.unwrap_or_else(|| panic!("round {round}: acknowledged {key} at {rev} is lost"));
            assert_eq!(kv.mod_revision, *rev, "round {round}: {key}");
        }
        // Every revision created exactly one key and none was deleted: the keys' revisions must
        // be exactly 1..=current.
        let current = store.current_revision().await.unwrap();
        let all = store.range(RangeRequest { prefix: "/crash/".into(), ..Default::default() }).await.unwrap();
        let mut revisions: Vec<i64> = all.kvs.iter().map(|kv| kv.mod_revision).collect();
        revisions.sort_unstable();
        let expected: Vec<i64> = (1..=current).collect();
        assert_eq!(revisions, expected, "round {round}: revisions are gap-free up to {current}");
        let newest = acknowledged.iter().map(|(rev, _)| *rev).max().unwrap_or(0);
        assert!(current >= newest, "round {round}: revision {current} behind acknowledged {newest}");
    });
}
