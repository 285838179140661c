//! The order of a merged list (upstream's normalizeElementOrder and helpers).
//!
//! Upstream splits the merged list into the items the patch (or `$setElementOrder`) names and
//! the server-only items, sorts each by its reference order with `sort.SliceStable`, and then
//! interleaves them: a server-only item goes before a patch item only when both appear in the
//! live list and it came first there. So an item that only the patch has lands *before* the
//! remaining server-only items: adding container `c` to `[a, b]` gives `[c, a, b]`.
//!
//! The sort's comparator is not a strict weak order for items missing from the reference
//! list (it answers "less" for them), so the result depends on the sorting algorithm; Go's
//! stable sort (insertion sort on blocks of 20, then SymMerge) is reproduced exactly.

use serde_json::Value;

use super::error::{GoPanic, MergeError};
use super::govalue::{MAP_TYPE, go_eq, go_type};

/// How list items are identified: by the value of the merge key (lists of objects), or by
/// themselves (lists of scalars).
#[derive(Clone, Copy)]
pub(super) struct Identity<'k> {
    /// Whether the elements are maps (upstream's `kind == reflect.Map`).
    pub(super) maps: bool,
    pub(super) merge_key: &'k str,
}

static NULL: Value = Value::Null;

impl Identity<'_> {
    /// Upstream's getValFn: the merge key's value (nil when absent or not a map), or the item.
    fn id<'v>(&self, item: &'v Value) -> &'v Value {
        if !self.maps {
            return item;
        }
        match item {
            Value::Object(m) => m.get(self.merge_key).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Upstream's `index`: the position of the first item of `list` identified like `item`.
    fn index(&self, list: &[Value], item: &Value) -> Result<Option<usize>, GoPanic> {
        let id = self.id(item);
        for (i, v) in list.iter().enumerate() {
            if go_eq(id, self.id(v))? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
}

/// Memoized positions of items in a reference list, computed when the comparator first asks
/// (so that a panic is raised exactly when upstream's comparator would raise it).
struct Positions<'a, 'k> {
    reference: &'a [Value],
    identity: Identity<'k>,
    memo: Vec<Option<Result<Option<usize>, GoPanic>>>,
}

impl<'a, 'k> Positions<'a, 'k> {
    fn new(reference: &'a [Value], identity: Identity<'k>, items: usize) -> Self {
        Positions { reference, identity, memo: vec![None; items] }
    }

    fn get(&mut self, slot: usize, item: &Value) -> Result<Option<usize>, GoPanic> {
        if let Some(Some(known)) = self.memo.get(slot) {
            return *known;
        }
        let found = self.identity.index(self.reference, item);
        if let Some(m) = self.memo.get_mut(slot) {
            *m = Some(found);
        }
        found
    }
}

/// validateMergeKeyInLists: every item is a map holding the merge key.
fn validate_merge_key(merge_key: &str, lists: &[&[Value]]) -> Result<(), MergeError> {
    for list in lists {
        for item in *list {
            let Value::Object(m) = item else {
                return Err(MergeError::BadArgType { expected: MAP_TYPE, actual: go_type(item).name() });
            };
            if !m.contains_key(merge_key) {
                return Err(MergeError::NoMergeKey {
                    map: super::govalue::fmt_v_map(m),
                    merge_key: merge_key.to_string(),
                });
            }
        }
    }
    Ok(())
}

fn is_delete_directive(item: &Value) -> bool {
    matches!(item, Value::Object(m) if m.get("$patch").and_then(Value::as_str) == Some("delete"))
}

/// normalizeSliceOrder: `to_sort` in the order of `order`, `$patch: delete` items last.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    identity: Identity<'_>,
) -> Result<Vec<Value>, MergeError> {
    let (mut items, deletes): (Vec<Value>, Vec<Value>) = if identity.maps {
        validate_merge_key(identity.merge_key, &[&to_sort, order])?;
        to_sort.into_iter().partition(|v| !is_delete_directive(v))
    } else {
        (to_sort, Vec::new())
    };
    let mut positions = Positions::new(order, identity, items.len());
    let mut panic = None;
    // Sort (slot, item) pairs so that memoized positions follow their items.
    let mut slots: Vec<(usize, Value)> = items.drain(..).enumerate().collect();
    go_stable_sort(&mut slots, &mut |a, b| {
        // Upstream: less(i, j) = index(i) < index(j) when both are found, else true.
        let pa = match positions.get(a.0, &a.1) {
            Ok(p) => p,
            Err(e) => {
                panic.get_or_insert(e);
                return false;
            }
        };
        let Some(ia) = pa else { return true };
        match positions.get(b.0, &b.1) {
            Ok(Some(ib)) => ia < ib,
            Ok(None) => true,
            Err(e) => {
                panic.get_or_insert(e);
                false
            }
        }
    });
    if let Some(p) = panic {
        return Err(p.into());
    }
    let mut sorted: Vec<Value> = slots.into_iter().map(|(_, v)| v).collect();
    sorted.extend(deletes);
    Ok(sorted)
}

/// mergeSortedSlice: interleaves the sorted server-only items (`left`) with the sorted patch
/// items (`right`); a left item goes first only if both are in `server_order` and it is
/// earlier there.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    identity: Identity<'_>,
) -> Result<Vec<Value>, MergeError> {
    let mut left_pos = Positions::new(server_order, identity, left.len());
    let mut right_pos = Positions::new(server_order, identity, right.len());
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (n_left, n_right) = (left.len(), right.len());
    let mut left = left.into_iter().enumerate().peekable();
    let mut right = right.into_iter().enumerate().peekable();
    while out.len() < n_left + n_right {
        let take_left = match (left.peek(), right.peek()) {
            (Some(_), None) => true,
            (None, _) => false,
            (Some((li, l)), Some((ri, r))) => {
                let lp = left_pos.get(*li, l)?;
                let rp = right_pos.get(*ri, r)?;
                matches!((lp, rp), (Some(a), Some(b)) if a < b)
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        match next {
            Some((_, v)) => out.push(v),
            None => break,
        }
    }
    Ok(out)
}

/// normalizeElementOrder: sorts the patch items by `patch_order` and the server-only items by
/// `server_order`, then interleaves them.
pub(super) fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    identity: Identity<'_>,
) -> Result<Vec<Value>, MergeError> {
    let patch_items = normalize_slice_order(patch_items, patch_order, identity)?;
    let server_only = normalize_slice_order(server_only, server_order, identity)?;
    merge_sorted_slice(server_only, patch_items, server_order, identity)
}

/// Go's `sort.Stable` algorithm (insertion sort on blocks of 20, then in-place SymMerge
/// passes), so that comparators which are not strict weak orders give upstream's result.
fn go_stable_sort<T>(data: &mut [T], less: &mut impl FnMut(&T, &T) -> bool) {
    const BLOCK: usize = 20;
    let n = data.len();
    let mut start = 0;
    while start + BLOCK <= n {
        insertion_sort(data, start, start + BLOCK, less);
        start += BLOCK;
    }
    insertion_sort(data, start, n, less);
    let mut block = BLOCK;
    while block < n {
        let mut a = 0;
        while a + 2 * block <= n {
            sym_merge(data, a, a + block, a + 2 * block, less);
            a += 2 * block;
        }
        if a + block < n {
            sym_merge(data, a, a + block, n, less);
        }
        block *= 2;
    }
}

fn insertion_sort<T>(data: &mut [T], a: usize, b: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&data[j], &data[j - 1]) {
            data.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Merges the sorted runs `data[a..m]` and `data[m..b]` in place (Kim & Kutzner's SymMerge,
/// as Go implements it: binary searches plus rotations, recursing on both halves).
fn sym_merge<T>(data: &mut [T], a: usize, m: usize, b: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    if m - a == 1 {
        // Insert data[a] into data[m..b]: find the first element not less than it.
        let (mut lo, mut hi) = (m, b);
        while lo < hi {
            let h = (lo + hi) / 2;
            if less(&data[h], &data[a]) {
                lo = h + 1;
            } else {
                hi = h;
            }
        }
        for k in a..lo - 1 {
            data.swap(k, k + 1);
        }
        return;
    }
    if b - m == 1 {
        // Insert data[m] into data[a..m]: after the last element it is not less than.
        let (mut lo, mut hi) = (a, m);
        while lo < hi {
            let h = (lo + hi) / 2;
            if !less(&data[m], &data[h]) {
                lo = h + 1;
            } else {
                hi = h;
            }
        }
        let mut k = m;
        while k > lo {
            data.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !less(&data[p - c], &data[c]) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(data, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(data, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(data, mid, end, b, less);
    }
}

/// Rotates `data[a..b]` so that `data[m]` comes first. Go does it by block swaps; a rotation
/// is one fixed permutation, so any algorithm gives the same arrangement.
fn rotate<T>(data: &mut [T], a: usize, m: usize, b: usize) {
    data[a..b].rotate_left(m - a);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_sort_matches_a_stable_sort_for_proper_orders() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for n in [0usize, 1, 2, 5, 19, 20, 21, 39, 40, 41, 100, 257] {
            let mut v: Vec<(u64, usize)> = (0..n)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 7, i)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|x| x.0);
            go_stable_sort(&mut v, &mut |a, b| a.0 < b.0);
            assert_eq!(v, expected, "n = {n}");
        }
    }

    #[test]
    fn always_less_comparator_reverses_like_go() {
        // Go's insertion sort with a comparator answering "less" for everything moves each
        // element to the front: the block comes out reversed.
        let mut v: Vec<u8> = (0..5).collect();
        go_stable_sort(&mut v, &mut |_, _| true);
        assert_eq!(v, vec![4, 3, 2, 1, 0]);
    }
}
