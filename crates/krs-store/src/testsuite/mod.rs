//! The backend-agnostic behaviour suite: every function takes an empty store behind
//! `Arc<dyn Store>` and panics when the store breaks the model. `tests/embedded.rs` and
//! `tests/etcd.rs` run the same list through [`store_suite!`](crate::store_suite), so both
//! backends are held to one definition of correct.
//!
//! Stores under test are expected to have a watch queue of at most [`MAX_WATCH_QUEUE`] batches,
//! so the slow-watcher test can overflow it in reasonable time.

mod kv;
mod lease;
mod watch;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::{Event, StoreError, Watch, WatchResponse};

pub use kv::*;
pub use lease::*;
pub use watch::*;

/// The largest watch queue the suite's slow-watcher test can overflow.
pub const MAX_WATCH_QUEUE: usize = 256;

/// Upper bound on any single wait in the suite; generous because CI machines are loaded.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Generates one `#[tokio::test]` per behaviour of the suite. `$open` is an async function that
/// returns `(Arc<dyn Store>, guard)`: a fresh, empty store and whatever must live as long as it
/// (a temporary directory, an etcd process).
#[macro_export]
macro_rules! store_suite {
    ($open:path) => {
        $crate::store_suite!(@tests $open;
            revision_increments_once_per_write_transaction,
            create_of_existing_key_reports_already_exists,
            update_with_stale_revision_conflicts,
            delete_of_absent_key_is_not_found,
            delete_with_stale_revision_conflicts,
            get_at_past_revision_returns_the_value_then,
            reads_at_future_revision_are_refused,
            txn_compares_choose_the_branch,
            txn_writing_a_key_twice_is_invalid,
            range_honours_prefix_limit_and_count,
            paginated_range_is_one_snapshot_while_writes_continue,
            reads_below_compaction_point_are_compacted,
            concurrent_writers_get_unique_gap_free_revisions,
            oversized_values_and_keys_are_refused,
            watch_from_now_sees_only_later_writes,
            watch_from_old_revision_replays_history_then_live_events,
            watch_of_a_key_ignores_other_keys,
            watch_from_compacted_revision_fails,
            slow_watcher_is_ended_with_lagging_error,
            progress_request_reports_the_current_revision,
            lease_expiry_deletes_attached_keys,
            lease_keep_alive_keeps_keys_and_revoke_deletes_them,
            put_with_unknown_lease_is_refused,
        );
    };
    (@tests $open:path; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard) = $open().await;
                $crate::testsuite::$name(store).await;
            }
        )*
    };
}

pub(crate) fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Awaits `f` or panics after [`PATIENCE`].
pub(crate) async fn patiently<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {PATIENCE:?} waiting for {what}"),
    }
}

/// Reads responses until `n` events have arrived; checks that each response's revision covers
/// its events.
pub(crate) async fn next_events(watch: &mut Watch, n: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < n {
        let resp: WatchResponse = patiently("watch events", watch.next())
            .await
            .unwrap_or_else(|| panic!("watch ended after {} of {n} events", events.len()))
            .unwrap_or_else(|e| panic!("watch failed after {} of {n} events: {e}", events.len()));
        for ev in &resp.events {
            assert!(
                ev.kv.mod_revision <= resp.revision,
                "event at {} in a response at revision {}",
                ev.kv.mod_revision,
                resp.revision
            );
        }
        events.extend(resp.events);
    }
    assert_eq!(events.len(), n, "more events than expected: {events:?}");
    events
}

/// Polls `check` until it returns true or [`PATIENCE`] passes.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out after {PATIENCE:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn is_compacted(err: &StoreError) -> bool {
    matches!(err, StoreError::Compacted { .. })
}
