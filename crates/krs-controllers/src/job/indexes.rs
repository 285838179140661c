//! Completion indexes: parsing and formatting upstream's interval strings ("0-2,5"), and
//! reading a pod's index and failure counts from its annotations.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
pub const INDEX_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-failure-count";
pub const INDEX_IGNORED_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-ignored-failure-count";

/// Parses "1,3-5,7" into its indexes below `limit` (malformed parts are skipped).
pub fn parse(s: Option<&str>, limit: i32) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            for i in a.max(0)..=b.min(limit.saturating_sub(1)) {
                out.insert(i);
            }
        }
    }
    out
}

/// Formats indexes as intervals: {0,1,2,5} → "0-2,5"; empty → None.
pub fn format(set: &BTreeSet<i32>) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
    }
    if parts.is_empty() { None } else { Some(parts.join(",")) }
}

fn annotation_int(pod: &Pod, key: &str) -> Option<i32> {
    pod.metadata.annotations.as_ref()?.get(key)?.parse().ok()
}

/// The pod's completion index, if valid for `completions`.
pub fn index_of(pod: &Pod, completions: i32) -> Option<i32> {
    annotation_int(pod, COMPLETION_INDEX).filter(|i| *i >= 0 && *i < completions)
}

pub fn failure_count(pod: &Pod) -> i32 {
    annotation_int(pod, INDEX_FAILURE_COUNT).unwrap_or(0)
}

pub fn ignored_failure_count(pod: &Pod) -> i32 {
    annotation_int(pod, INDEX_IGNORED_FAILURE_COUNT).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_round_trip() {
        let set = parse(Some("0-2,5,7-8"), 10);
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), vec![0, 1, 2, 5, 7, 8]);
        assert_eq!(format(&set).as_deref(), Some("0-2,5,7-8"));
        assert_eq!(parse(Some("3-20"), 5).len(), 2, "indexes past completions are dropped");
        assert_eq!(format(&BTreeSet::new()), None);
    }
}
