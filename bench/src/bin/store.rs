//! Store benchmark: the embedded (SQLite) backend against etcd, on the same machine, in the same
//! run, through the same `Store` trait, both with fsync'd commits.
//!
//! Figures: create throughput with 1, 16 and 256 concurrent writers; the latency of a range over
//! 10,000 keys; events per second delivered to 100 watchers of one prefix. Each line prints the
//! embedded figure, etcd's, and the ratio in the embedded backend's favour (higher is better for
//! it; for latency the ratio is etcd's time over the embedded time). The CPU time per put is this
//! process's: for the embedded backend the whole store, for etcd only the client side.
//!
//! Run: `cargo run --release -p krs-bench --bin store`. Data goes under `KRS_BENCH_DIR` (default:
//! the system's temporary directory), the same disk for both backends. etcd is started with the
//! store's test harness (`etcd` from `PATH`, or `KRS_ETCD_BIN`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use krs_store::embedded::{EmbeddedOptions, EmbeddedStore};
use krs_store::etcd::testing::EtcdCluster;
use krs_store::etcd::{EtcdOptions, EtcdStore};
use krs_store::{RangeRequest, Store, Txn, TxnOp, WatchRequest};

const WRITERS: [usize; 3] = [1, 16, 256];
const PUT_SECONDS: f64 = 3.0;
const VALUE_BYTES: usize = 1024;
const RANGE_KEYS: usize = 10_000;
const RANGE_RUNS: usize = 20;
const WATCHERS: usize = 100;
const WATCH_EVENTS: usize = 2_000;

/// Each measurement runs this many times per backend, alternating between the backends, and the
/// best run counts: on a shared machine that filters out the moments someone else used the disk or
/// the CPUs.
const ROUNDS: usize = 2;

fn value() -> Bytes {
    Bytes::from(vec![b'x'; VALUE_BYTES])
}

/// CPU time this process has used (user and system, all threads), from `/proc/self/stat`; Linux
/// reports it in USER_HZ ticks of 10 ms.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may contain spaces).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are the 14th and 15th fields of the whole line: 12th and 13th after ')'.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Creates per second with `writers` concurrent writers, each creating new keys in a loop, and
/// this process's CPU time per create.
async fn puts(store: &Arc<dyn Store>, writers: usize, round: usize) -> (f64, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, stop, done) = (store.clone(), stop.clone(), done.clone());
            tokio::spawn(async move {
                let value = value();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("/bench/put/{writers}/{round}/{w}/{n}");
                    store.create(&key, value.clone(), 0).await.expect("create");
                    done.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    // A short warm-up, then the measured interval.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (start, before, cpu) = (Instant::now(), done.load(Ordering::Relaxed), process_cpu());
    tokio::time::sleep(Duration::from_secs_f64(PUT_SECONDS)).await;
    let ops = done.load(Ordering::Relaxed) - before;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_per_op = (process_cpu() - cpu) / ops.max(1) as u32;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("writer");
    }
    (ops as f64 / elapsed, cpu_per_op)
}

/// Writes the 10,000 keys the range reads.
async fn load_range(store: &Arc<dyn Store>) {
    let value = value();
    for chunk in 0..RANGE_KEYS / 100 {
        let success = (0..100)
            .map(|i| TxnOp::Put { key: format!("/bench/range/{:05}", chunk * 100 + i), value: value.clone(), lease: 0 })
            .collect();
        store.txn(Txn { compares: vec![], success, failure: vec![] }).await.expect("load");
    }
}

/// Mean latency of listing 10,000 keys (about 10 MiB) in one range.
async fn range(store: &Arc<dyn Store>) -> f64 {
    let req = RangeRequest { prefix: "/bench/range/".into(), ..Default::default() };
    let warm = store.range(req.clone()).await.expect("range");
    assert_eq!(warm.kvs.len(), RANGE_KEYS);
    let start = Instant::now();
    for _ in 0..RANGE_RUNS {
        let resp = store.range(req.clone()).await.expect("range");
        assert_eq!(resp.kvs.len(), RANGE_KEYS);
    }
    start.elapsed().as_secs_f64() * 1000.0 / RANGE_RUNS as f64
}

/// Events per second delivered in total to 100 watchers of one prefix while 16 writers create
/// 2,000 keys under it.
async fn watch_fan_out(store: &Arc<dyn Store>, round: usize) -> f64 {
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let req = WatchRequest { key: format!("/bench/watch/{round}/"), prefix: true, start_revision: 0 };
        let mut watch = store.watch(req).await.expect("watch");
        watchers.push(tokio::spawn(async move {
            let mut seen = 0;
            while seen < WATCH_EVENTS {
                let resp = watch.next().await.expect("watch ended").expect("watch failed");
                seen += resp.events.len();
            }
            Instant::now()
        }));
    }
    let start = Instant::now();
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let value = Bytes::from(vec![b'w'; 256]);
                for n in 0..WATCH_EVENTS / 16 {
                    store.create(&format!("/bench/watch/{round}/{w}/{n}"), value.clone(), 0).await.expect("create");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let mut last = start;
    for watcher in watchers {
        last = last.max(watcher.await.expect("watcher"));
    }
    (WATCHERS * WATCH_EVENTS) as f64 / last.duration_since(start).as_secs_f64()
}

#[tokio::main]
async fn main() {
    let base = std::env::var_os("KRS_BENCH_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new().prefix("krs-bench-store-").tempdir_in(&base).expect("bench directory");
    println!("store benchmark: data under {}, values of {VALUE_BYTES} bytes", dir.path().display());

    // `KRS_BENCH_ONLY=embedded` (or `etcd`) runs one backend, for profiling.
    let only = std::env::var("KRS_BENCH_ONLY").ok();
    let mut backends: Vec<(&str, Arc<dyn Store>)> = Vec::new();
    if only.as_deref() != Some("etcd") {
        let options = EmbeddedOptions { compaction_interval: None, ..Default::default() };
        let store = EmbeddedStore::open(dir.path().join("krs.db"), options).expect("open the embedded store");
        backends.push(("embedded", Arc::new(store)));
    }
    let _cluster = if only.as_deref() != Some("embedded") {
        let cluster = EtcdCluster::start_in(dir.path(), 1).await.expect("start etcd");
        let store = EtcdStore::connect(&cluster.endpoints(), EtcdOptions::default()).await.expect("connect to etcd");
        backends.push(("etcd", Arc::new(store)));
        Some(cluster)
    } else {
        None
    };

    // Per figure, the best of the rounds for each backend, in `backends` order.
    let mut table: Vec<(String, Vec<f64>)> = Vec::new();
    for writers in WRITERS {
        let mut best = vec![0.0f64; backends.len()];
        for round in 0..ROUNDS {
            for (i, (name, store)) in backends.iter().enumerate() {
                let (rate, cpu) = puts(store, writers, round).await;
                println!(
                    "  {name:<8} puts/s, {writers:>3} writers: {rate:>9.0}   ({:.0} µs CPU of this process per put)",
                    cpu.as_secs_f64() * 1e6
                );
                best[i] = best[i].max(rate);
            }
        }
        table.push((format!("puts/s, {writers} writers"), best));
    }
    for (_, store) in &backends {
        load_range(store).await;
    }
    let mut best = vec![f64::MAX; backends.len()];
    for _ in 0..ROUNDS {
        for (i, (name, store)) in backends.iter().enumerate() {
            let ms = range(store).await;
            println!("  {name:<8} range of {RANGE_KEYS} keys: {ms:>8.1} ms");
            best[i] = best[i].min(ms);
        }
    }
    table.push((format!("range of {RANGE_KEYS} keys (ms)"), best));
    let mut best = vec![0.0f64; backends.len()];
    for round in 0..ROUNDS {
        for (i, (name, store)) in backends.iter().enumerate() {
            let rate = watch_fan_out(store, round).await;
            println!("  {name:<8} watch fan-out to {WATCHERS}: {rate:>10.0} events/s");
            best[i] = best[i].max(rate);
        }
    }
    table.push((format!("watch fan-out to {WATCHERS} watchers (events/s)"), best));

    if backends.len() != 2 {
        return;
    }
    println!();
    println!("| figure | embedded | etcd | embedded/etcd |");
    println!("| --- | ---: | ---: | ---: |");
    for (figure, values) in &table {
        let (e, c) = (values[0], values[1]);
        // For a latency, lower is better: the ratio is etcd's time over the embedded one.
        let ratio = if figure.ends_with("(ms)") { c / e } else { e / c };
        let precision = if figure.ends_with("(ms)") { 1 } else { 0 };
        println!("| {figure} | {e:.precision$} | {c:.precision$} | {ratio:.2}x |");
    }
}
