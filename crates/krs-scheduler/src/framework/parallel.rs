//! Parallel work over nodes (`parallelize.Parallelizer`) without a thread-pool crate: the work
//! is split into chunks taken from a shared counter by up to `parallelism` scoped threads, the
//! calling thread being one of them. Small jobs run inline: on a 2-core machine a thread start
//! costs more than filtering a few hundred nodes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Below this many work items a job runs on the calling thread.
pub const MIN_PARALLEL_ITEMS: usize = 1024;

/// Items one worker takes at a time (`chunkSizeFor`: about sqrt(n), at least 1).
fn chunk_size(n: usize, parallelism: usize) -> usize {
    let s = (n as f64).sqrt() as usize;
    let per_worker = n / parallelism.max(1) + 1;
    s.min(per_worker).max(1)
}

/// Runs `f(i)` for every `i` in `0..n`, in parallel when worthwhile. `f` returns false to stop
/// the whole job early (remaining chunks are skipped; chunks under way finish).
pub fn until<F>(parallelism: usize, n: usize, f: F)
where
    F: Fn(usize) -> bool + Sync,
{
    if parallelism <= 1 || n < MIN_PARALLEL_ITEMS {
        for i in 0..n {
            if !f(i) {
                return;
            }
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let chunk = chunk_size(n, parallelism);
    let work = || {
        while !stop.load(Ordering::Relaxed) {
            let start = next.fetch_add(chunk, Ordering::Relaxed);
            if start >= n {
                return;
            }
            for i in start..(start + chunk).min(n) {
                if !f(i) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..parallelism {
            s.spawn(work);
        }
        work();
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_item_runs_once() {
        for n in [0, 5, 5000] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            super::until(2, n, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
                true
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn stops_early() {
        let ran = AtomicUsize::new(0);
        super::until(2, 100_000, |_| ran.fetch_add(1, Ordering::Relaxed) < 10);
        assert!(ran.load(Ordering::Relaxed) < 100_000);
    }
}
