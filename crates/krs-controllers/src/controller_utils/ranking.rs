//! Upstream's scale-down order of active pods (ActivePodsWithRanks): the pods sorted first are
//! the ones deleted first.

use std::cmp::Ordering;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::pod::{deletion_cost, is_pod_ready, pod_ready_time};

/// Pending < Unknown < Running (anything else sorts with Pending).
fn phase_ordinal(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    }
}

fn max_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().map(|c| c.restart_count).max())
        .unwrap_or(0)
}

/// floor(log2(now - t)) in nanoseconds, -1 for times not in the past: pods whose ages fall in
/// the same power-of-two bucket are considered equally old (LogarithmicScaleDown).
fn log_rank(t: Timestamp, now: Timestamp) -> i64 {
    let d = now.as_nanosecond() - t.as_nanosecond();
    if d > 0 { (d as f64).log2() as i64 } else { -1 }
}

/// Compares two optional times: a missing time first, then the later one (newer first), or by
/// logarithmic bucket when `now` is given, with UID order breaking ties in a bucket.
fn compare_times(a: Option<Timestamp>, b: Option<Timestamp>, now: Timestamp, uids: (&str, &str)) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) if x == y => Ordering::Equal,
        (Some(x), Some(y)) => {
            let diff = log_rank(x, now) - log_rank(y, now);
            match diff.cmp(&0) {
                // The younger bucket (smaller age) goes first.
                Ordering::Less => Ordering::Less,
                Ordering::Greater => Ordering::Greater,
                Ordering::Equal => uids.0.cmp(uids.1),
            }
        }
    }
}

/// Orders `pods` (with `ranks[i]` = active related pods on pod i's node) for deletion.
pub fn sort_for_deletion(pods: &mut [(std::sync::Arc<Pod>, usize)], now: Timestamp) {
    pods.sort_by(|(a, ra), (b, rb)| compare(a, *ra, b, *rb, now));
}

pub fn compare(a: &Pod, rank_a: usize, b: &Pod, rank_b: usize, now: Timestamp) -> Ordering {
    let node = |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
    let (na, nb) = (node(a), node(b));
    // 1. Unassigned before assigned.
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return if na.is_empty() { Ordering::Less } else { Ordering::Greater };
    }
    // 2. Pending < Unknown < Running.
    let o = phase_ordinal(a).cmp(&phase_ordinal(b));
    if o != Ordering::Equal {
        return o;
    }
    // 3. Not ready before ready.
    let (ready_a, ready_b) = (is_pod_ready(a), is_pod_ready(b));
    if ready_a != ready_b {
        return if ready_a { Ordering::Greater } else { Ordering::Less };
    }
    // 4. Lower pod-deletion-cost first.
    let o = deletion_cost(a).cmp(&deletion_cost(b));
    if o != Ordering::Equal {
        return o;
    }
    // 5. Doubled up (more related pods on the same node) first.
    if rank_a != rank_b {
        return rank_b.cmp(&rank_a);
    }
    let uid = |p: &Pod| p.metadata.uid.clone().unwrap_or_default();
    let (ua, ub) = (uid(a), uid(b));
    // 6. Both ready: ready more recently first, by logarithmic bucket.
    if ready_a && ready_b {
        let (ta, tb) = (pod_ready_time(a), pod_ready_time(b));
        if ta != tb {
            let o = compare_times(ta, tb, now, (&ua, &ub));
            if o != Ordering::Equal {
                return o;
            }
        }
    }
    // 7. More container restarts first.
    let o = max_restarts(b).cmp(&max_restarts(a));
    if o != Ordering::Equal {
        return o;
    }
    // 8. Newer first (no creation time first), by logarithmic bucket.
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let (ca, cb) = (created(a), created(b));
    if ca != cb {
        return compare_times(ca, cb, now, (&ua, &ub));
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use std::collections::BTreeMap;

    fn pod(uid: &str, age_secs: i64, cost: Option<&str>, now: Timestamp) -> Pod {
        let mut p = Pod::default();
        p.metadata.uid = Some(uid.into());
        p.metadata.creation_timestamp = Some(Time(now - jiff::SignedDuration::from_secs(age_secs)));
        if let Some(c) = cost {
            p.metadata.annotations =
                Some(BTreeMap::from([("controller.kubernetes.io/pod-deletion-cost".to_string(), c.to_string())]));
        }
        p
    }

    #[test]
    fn lower_deletion_cost_goes_first() {
        let now = Timestamp::now();
        let cheap = pod("b", 10, Some("-5"), now);
        let dear = pod("a", 1000, Some("100"), now);
        let plain = pod("c", 5, None, now);
        assert_eq!(compare(&cheap, 0, &plain, 0, now), Ordering::Less);
        assert_eq!(compare(&plain, 0, &dear, 0, now), Ordering::Less);
    }

    #[test]
    fn ages_in_one_power_of_two_bucket_tie_and_fall_back_to_uid() {
        let now = Timestamp::now();
        // 40 s and 50 s are both in [2^35, 2^36) ns: same bucket, so UID decides.
        let older = pod("a", 50, None, now);
        let newer = pod("z", 40, None, now);
        assert_eq!(compare(&older, 0, &newer, 0, now), Ordering::Less);
        // 10 s is in a younger bucket than 50 s: the newer pod goes first.
        let young = pod("z", 10, None, now);
        assert_eq!(compare(&young, 0, &older, 0, now), Ordering::Less);
    }

    #[test]
    fn an_invalid_deletion_cost_counts_as_zero() {
        let now = Timestamp::now();
        let bad = pod("a", 10, Some("lots"), now);
        assert_eq!(deletion_cost(&bad), 0);
    }
}
