//! Lists from the watch cache: a snapshot, a key range (all objects, or one namespace's), a
//! filter, and pagination with a continue key over the same snapshot.

use std::ops::Bound;
use std::sync::Arc;

use imbl::OrdMap;
use krs_store::Revision;

use super::{CachedObject, Cacher, Filter};

/// What to list.
pub struct ListOptions<'a> {
    /// The key prefix: the resource's, or one namespace's.
    pub prefix: &'a str,
    /// Resume at this key (inclusive): the key after the last one of the previous page.
    pub start: Option<&'a str>,
    /// At most this many items; 0 means all.
    pub limit: usize,
    pub filter: &'a dyn Filter,
    /// True when the filter takes everything in the prefix, so remainingItemCount is exact.
    pub unfiltered: bool,
}

/// A page of a list.
pub struct ListResult {
    pub items: Vec<Arc<CachedObject>>,
    pub revision: Revision,
    /// Where the next page starts, when there is one.
    pub continue_key: Option<String>,
    /// How many objects follow this page (only known for unfiltered lists).
    pub remaining: Option<i64>,
}

impl Cacher {
    /// Lists the current state. Call after [`Cacher::wait_for_revision`] for a consistent read.
    pub fn list(&self, opts: &ListOptions<'_>) -> ListResult {
        let (objects, revision) = self.snapshot();
        let result = list_snapshot(&objects, revision, opts);
        if result.continue_key.is_some() {
            self.keep_snapshot(revision, &objects);
        }
        result
    }

    /// Lists the state at `revision` if the cache still has it (the current state, or a
    /// snapshot kept for a paginated list); None otherwise.
    pub fn list_at(&self, revision: Revision, opts: &ListOptions<'_>) -> Option<ListResult> {
        let objects = self.snapshot_at(revision)?;
        let result = list_snapshot(&objects, revision, opts);
        if result.continue_key.is_some() {
            self.keep_snapshot(revision, &objects);
        }
        Some(result)
    }
}

fn list_snapshot(
    objects: &OrdMap<String, Arc<CachedObject>>,
    revision: Revision,
    opts: &ListOptions<'_>,
) -> ListResult {
    let start = match opts.start {
        Some(s) if s > opts.prefix => s.to_string(),
        _ => opts.prefix.to_string(),
    };
    let end = krs_store::prefix_end(opts.prefix.as_bytes()).and_then(|e| String::from_utf8(e).ok());
    let upper = match &end {
        Some(e) => Bound::Excluded(e.clone()),
        None => Bound::Unbounded,
    };
    let mut range = objects.range((Bound::Included(start), upper));
    let mut items = Vec::new();
    let mut continue_key = None;
    for (key, obj) in range.by_ref() {
        if !opts.filter.matches(obj) {
            continue;
        }
        items.push(obj.clone());
        if opts.limit > 0 && items.len() == opts.limit {
            continue_key = Some(format!("{key}\0"));
            break;
        }
    }
    let mut remaining = None;
    if continue_key.is_some() {
        // More objects may follow; with a filter, whether any matches is unknown until read,
        // which is why upstream may return a page with a continue token and no more items.
        let rest = range.count() as i64;
        if rest == 0 {
            continue_key = None;
        } else if opts.unfiltered {
            remaining = Some(rest);
        }
    }
    ListResult { items, revision, continue_key, remaining }
}
