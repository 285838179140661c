//! A node's labels in one buffer. Filters and scores look up a label or two of every node in
//! every cycle; in the `Node` object those are a search tree whose keys and values are separate
//! allocations, a chain of cache misses per lookup. Here the keys and values of a node sit side
//! by side in one string, with their ends in one small array, so a lookup reads one or two
//! cache lines that the filter loop can fetch ahead of time ([`NodeLabels::prefetch`]).

use std::collections::BTreeMap;

/// Looking up a label by key, in a node's [`NodeLabels`] or in a label map.
pub trait LabelLookup {
    fn label(&self, key: &str) -> Option<&str>;
}

impl LabelLookup for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// A copy of a node's labels: keys and values concatenated in key order.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct NodeLabels {
    text: Box<str>,
    /// Per label, where its key ends and where its value ends in `text`; a key starts where
    /// the previous value ends.
    ends: Box<[(u32, u32)]>,
}

impl NodeLabels {
    pub fn new(labels: &BTreeMap<String, String>) -> NodeLabels {
        let mut text = String::with_capacity(labels.iter().map(|(k, v)| k.len() + v.len()).sum());
        let mut ends = Vec::with_capacity(labels.len());
        for (k, v) in labels {
            text.push_str(k);
            let key_end = text.len();
            text.push_str(v);
            // Label keys and values are short (317 and 63 bytes at most); a node whose labels
            // would pass 4 GiB cannot exist, and would only lose its later labels here.
            let (Ok(key_end), Ok(value_end)) = (u32::try_from(key_end), u32::try_from(text.len())) else { break };
            ends.push((key_end, value_end));
        }
        NodeLabels { text: text.into_boxed_str(), ends: ends.into_boxed_slice() }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        let mut start = 0;
        for &(key_end, value_end) in self.ends.iter() {
            let (key_end, value_end) = (key_end as usize, value_end as usize);
            if key_end - start == key.len() && self.text.as_bytes()[start..key_end] == *key.as_bytes() {
                return self.text.get(key_end..value_end);
            }
            start = value_end;
        }
        None
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Asks the CPU to start loading the labels (see `NodeInfo::prefetch`); no effect on the
    /// program's state.
    #[inline]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // SAFETY: a prefetch is a hint that never faults; both pointers are live allocations
            // (or dangling but aligned pointers of empty ones, which a prefetch may name too).
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(self.ends.as_ptr().cast::<i8>());
                _mm_prefetch::<_MM_HINT_T0>(self.text.as_ptr().cast::<i8>());
            }
        }
    }
}

impl LabelLookup for NodeLabels {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn finds_every_label_and_only_those() {
        let m = map(&[
            ("kubernetes.io/hostname", "n1"),
            ("topology.kubernetes.io/zone", "zone1"),
            ("a", ""),
            ("ab", "x"),
            ("b", "é"),
        ]);
        let l = NodeLabels::new(&m);
        assert_eq!(l.len(), 5);
        for (k, v) in &m {
            assert_eq!(l.get(k), Some(v.as_str()), "{k}");
            assert_eq!(l.label(k), m.label(k));
        }
        for missing in ["", "kubernetes.io/hostnam", "topology.kubernetes.io/zone1", "abc", "zone1", "n1"] {
            assert_eq!(l.get(missing), None, "{missing}");
            assert!(!l.contains_key(missing));
        }
    }

    #[test]
    fn no_labels() {
        let l = NodeLabels::new(&BTreeMap::new());
        assert!(l.is_empty());
        assert_eq!(l.get(""), None);
        assert_eq!(l.get("a"), None);
        l.prefetch();
        assert_eq!(l, NodeLabels::default());
    }
}
