//! With a 3-member etcd cluster, killing the leader while a writer is mid-stream loses no
//! acknowledged write, and writes continue once a new leader is elected.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use krs_store::Store;
use krs_store::etcd::testing::EtcdCluster;
use krs_store::etcd::{EtcdOptions, EtcdStore};
use parking_lot::Mutex;

async fn wait_for_acks(acked: &Mutex<Vec<(i64, String)>>, at_least: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while acked.lock().len() < at_least {
        assert!(Instant::now() < deadline, "timed out waiting for {what} ({} acknowledged)", acked.lock().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_loss_keeps_acknowledged_writes_and_writes_resume() {
    let mut cluster = EtcdCluster::start(3).await.expect("start a 3-member etcd cluster");
    let options = EtcdOptions { request_timeout: Duration::from_secs(3), ..Default::default() };
    let store = Arc::new(EtcdStore::connect(&cluster.endpoints(), options).await.unwrap());

    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, acked, stop) = (store.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut failures = 0u32;
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // A failed write has an unknown outcome; the next attempt uses a new key.
                let key = format!("/fault/{n:06}");
                n += 1;
                match store.create(&key, Bytes::from_static(b"v"), 0).await {
                    Ok(rev) => acked.lock().push((rev, key)),
                    Err(_) => {
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            failures
        })
    };
    wait_for_acks(&acked, 200, "writes before the leader is killed").await;
    let leader = cluster.leader().await.unwrap();
    cluster.kill(leader).unwrap();
    let at_kill = acked.lock().len();
    wait_for_acks(&acked, at_kill + 200, "writes after re-election").await;
    stop.store(true, Ordering::Relaxed);
    let failures = writer.await.unwrap();

    let new_leader = cluster.wait_for_leader(Duration::from_secs(30)).await.unwrap();
    assert_ne!(new_leader, leader, "a surviving member leads");
    let acked = acked.lock().clone();
    for pair in acked.windows(2) {
        assert!(pair[0].0 < pair[1].0, "revisions of sequential writes increase: {pair:?}");
    }
    for (rev, key) in &acked {
        let kv = store.get(key, None).await.unwrap().0;
        let kv = kv.unwrap_or_else(|| panic!("acknowledged {key} at {rev} is lost"));
        assert_eq!(kv.mod_revision, *rev, "{key}");
    }
    eprintln!("{} writes acknowledged, {failures} failed during the leader change", acked.len());
}
