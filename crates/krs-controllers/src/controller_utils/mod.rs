//! Machinery shared by the controllers: workers, selectors, expectations, pod control, the
//! scale-down ranking, and claiming (adoption and release) of controlled objects.

pub mod expectations;
pub mod pod;
pub mod ranking;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use tokio::task::JoinHandle;

use crate::Error;
use crate::metrics::registry;
use crate::queue::WorkQueue;

pub use expectations::Expectations;
pub use pod::PodControl;

/// Upstream's SlowStartInitialBatchSize.
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;

/// A controller's sync of one key.
pub type SyncFn = Arc<dyn Fn(String) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// Runs `workers` workers taking keys from `queue` and syncing them: a failed sync is retried
/// with the queue's backoff, a successful one clears the key's failure history.
pub fn run_workers(name: &'static str, queue: WorkQueue, workers: usize, sync: SyncFn) -> Vec<JoinHandle<()>> {
    (0..workers.max(1))
        .map(|_| {
            let queue = queue.clone();
            let sync = sync.clone();
            tokio::spawn(async move {
                while let Some(key) = queue.get().await {
                    match sync(key.clone()).await {
                        Ok(()) => queue.forget(&key),
                        Err(e) => {
                            registry().sync_error(name);
                            if matches!(e, crate::Error::StaleCache(_)) {
                                tracing::debug!(controller = name, key = %key, error = %e, "sync deferred; requeued");
                            } else {
                                tracing::info!(controller = name, key = %key, error = %e, "sync failed; requeued");
                            }
                            queue.add_rate_limited(&key);
                        }
                    }
                    queue.done(&key);
                }
            })
        })
        .collect()
}

/// Whether `selector` selects `labels` (metav1.LabelSelectorAsSelector semantics: an empty
/// selector selects everything; an invalid operator selects nothing).
pub fn selector_matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    if let Some(ml) = &selector.match_labels {
        for (k, v) in ml {
            if labels.get(k) != Some(v) {
                return false;
            }
        }
    }
    for req in selector.match_expressions.iter().flatten() {
        let values = req.values.as_deref().unwrap_or_default();
        let got = labels.get(&req.key);
        let ok = match req.operator.as_str() {
            "In" => got.is_some_and(|v| values.contains(v)),
            "NotIn" => got.is_none_or(|v| !values.contains(v)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

pub fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// Runs `count` calls of `f` in batches of 1, 2, 4, ... (upstream's slowStartBatch): a failing
/// batch stops the rest, so a controller that cannot create pods issues few doomed requests.
/// Returns how many calls succeeded and the first error.
pub async fn slow_start_batch<F, Fut>(count: usize, initial: usize, f: F) -> (usize, Option<Error>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let mut remaining = count;
    let mut successes = 0;
    let mut batch = initial.min(count);
    let mut index = 0;
    while batch > 0 {
        let results = futures::future::join_all((0..batch).map(|i| f(index + i))).await;
        index += batch;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(()) => successes += 1,
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        if first_err.is_some() {
            return (successes, first_err);
        }
        remaining -= batch;
        batch = (2 * batch).min(remaining);
    }
    (successes, None)
}

/// The key of a controller (namespace/name) that `meta` names as its controller of `kind`.
pub fn controller_key(meta: &ObjectMeta, kind: &str) -> Option<(String, String)> {
    let r = pod::get_controller_of(meta)?;
    if r.kind != kind {
        return None;
    }
    let ns = meta.namespace.clone().unwrap_or_default();
    Some((format!("{ns}/{}", r.name), r.uid.clone()))
}

/// The UID of the controller named in `meta`'s owner references.
pub fn get_controller_key_uid(meta: &ObjectMeta) -> Option<String> {
    pod::get_controller_of(meta).map(|r| r.uid.clone())
}

pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn selectors_follow_upstream_operators() {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string()), ("tier".to_string(), "fe".to_string())]);
        let sel = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
            match_expressions: Some(vec![
                LabelSelectorRequirement { key: "tier".into(), operator: "In".into(), values: Some(vec!["fe".into()]) },
                LabelSelectorRequirement { key: "x".into(), operator: "DoesNotExist".into(), values: None },
            ]),
        };
        assert!(selector_matches(&sel, Some(&labels)));
        let other = BTreeMap::from([("app".to_string(), "db".to_string())]);
        assert!(!selector_matches(&sel, Some(&other)));
        assert!(selector_matches(&LabelSelector::default(), None));
    }

    #[tokio::test]
    async fn slow_start_stops_after_the_first_failing_batch() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (ok, err) = slow_start_batch(10, 1, |i| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { if i == 2 { Err(Error::Invalid("boom".into())) } else { Ok(()) } }
        })
        .await;
        // Batches 1 (index 0), 2 (1, 2): the second fails, so 3 calls, 2 successes.
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(ok, 2);
        assert!(err.is_some());
    }
}
