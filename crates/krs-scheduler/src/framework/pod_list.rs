//! The pods of a `NodeInfo`, in chunks shared between copies. The cache changes a NodeInfo
//! through `Arc::make_mut` while the snapshot still holds the previous version, so every change
//! copies the NodeInfo; with a flat list that copy is as long as the node's pods (tens of
//! thousands on one big node). Here pods sit in chunks of [`CHUNK`], and chunks in blocks of
//! [`FANOUT`]: a copy of the list is one pointer per block, and a change copies the block and the
//! chunk it touches (on a node with 40,000 pods, ~140 pointers instead of 40,000, or 625 with one
//! level of chunks). Dropping a version costs what copying it did.
//!
//! The list is dense (every chunk but the last is full, every block but the last too) and a
//! removal moves the last pod into the hole, as upstream's `removeFromSlice` does, so the order
//! of pods is not kept. Each `PodInfo` remembers where the last list it was put in holds it
//! ([`ListSlot`]): the cache's removals (a confirmed binding replacing the assumed pod, a
//! deletion) find the pod without walking the node's pods. The slot is a hint, checked before
//! use: a pod also put in a scratch copy of a NodeInfo (preemption, nominated pods) is found by a
//! search instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::types::PodInfo;

/// Pods per chunk: small enough that copying the changed chunk is cheap, large enough that the
/// list of chunks stays short.
const CHUNK: usize = 64;

/// Chunks per block.
const FANOUT: usize = 64;

/// Pods per full block.
const BLOCK: usize = CHUNK * FANOUT;

type Chunk = Arc<Vec<Arc<PodInfo>>>;
type Block = Arc<Vec<Chunk>>;

#[derive(Clone, Debug, Default)]
pub struct PodList {
    blocks: Vec<Block>,
    len: usize,
}

impl PodList {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { blocks: self.blocks.iter(), chunks: [].iter(), pods: [].iter(), left: self.len }
    }

    pub fn push(&mut self, pod: Arc<PodInfo>) {
        pod.list_slot.set(self.len);
        let at = self.len % BLOCK;
        if at == 0 || self.blocks.is_empty() {
            self.blocks.push(Arc::new(Vec::with_capacity(FANOUT)));
        }
        let b = self.blocks.len() - 1;
        let block = Arc::make_mut(&mut self.blocks[b]);
        if at.is_multiple_of(CHUNK) || block.is_empty() {
            block.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let c = block.len() - 1;
        Arc::make_mut(&mut block[c]).push(pod);
        self.len += 1;
    }

    /// Removes `pod`: the very `PodInfo` if the list holds it (found at its slot, else by a
    /// pointer comparison), else the pod with its key. The last pod takes its place.
    pub fn remove(&mut self, pod: &PodInfo) -> Option<Arc<PodInfo>> {
        let i = self.find(pod)?;
        let last = self.pop()?;
        if i == self.len {
            return Some(last);
        }
        last.list_slot.set(i);
        let block = Arc::make_mut(&mut self.blocks[i / BLOCK]);
        let chunk = Arc::make_mut(&mut block[i % BLOCK / CHUNK]);
        Some(std::mem::replace(&mut chunk[i % CHUNK], last))
    }

    /// Takes the last pod off, dropping the chunk and block it emptied.
    fn pop(&mut self) -> Option<Arc<PodInfo>> {
        let last = self.len.checked_sub(1)?;
        let block = Arc::make_mut(self.blocks.last_mut()?);
        let pod = if last.is_multiple_of(CHUNK) {
            block.pop().and_then(|c| c.first().cloned())
        } else {
            block.last_mut().and_then(|c| Arc::make_mut(c).pop())
        };
        if last.is_multiple_of(BLOCK) {
            self.blocks.pop();
        }
        if pod.is_some() {
            self.len = last;
        }
        pod
    }

    fn get(&self, i: usize) -> Option<&Arc<PodInfo>> {
        self.blocks.get(i / BLOCK)?.get(i % BLOCK / CHUNK)?.get(i % CHUNK)
    }

    /// Where `pod` is: its slot if the pod there is this very `PodInfo`, else a search by
    /// identity, then by key, newest first.
    fn find(&self, pod: &PodInfo) -> Option<usize> {
        let slot = pod.list_slot.get();
        if self.get(slot).is_some_and(|p| std::ptr::eq(Arc::as_ptr(p), pod)) {
            return Some(slot);
        }
        self.position(|p| std::ptr::eq(Arc::as_ptr(p), pod)).or_else(|| self.position(|p| p.key == pod.key))
    }

    fn position(&self, f: impl Fn(&Arc<PodInfo>) -> bool) -> Option<usize> {
        self.blocks.iter().enumerate().rev().find_map(|(bi, b)| {
            b.iter().enumerate().rev().find_map(|(ci, c)| c.iter().rposition(&f).map(|pi| bi * BLOCK + ci * CHUNK + pi))
        })
    }
}

/// Where the last [`PodList`] a pod was put in holds it: a hint for finding it again, never
/// trusted without a check. A copy of a `PodInfo` is in no list yet.
pub struct ListSlot(AtomicUsize);

impl Default for ListSlot {
    fn default() -> ListSlot {
        ListSlot(AtomicUsize::new(usize::MAX))
    }
}

impl ListSlot {
    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, i: usize) {
        self.0.store(i, Ordering::Relaxed)
    }
}

impl Clone for ListSlot {
    fn clone(&self) -> ListSlot {
        ListSlot::default()
    }
}

impl std::fmt::Debug for ListSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// The pods of a list in order: block by block, chunk by chunk.
#[derive(Clone)]
pub struct Iter<'a> {
    blocks: std::slice::Iter<'a, Block>,
    chunks: std::slice::Iter<'a, Chunk>,
    pods: std::slice::Iter<'a, Arc<PodInfo>>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Arc<PodInfo>;

    #[inline]
    fn next(&mut self) -> Option<&'a Arc<PodInfo>> {
        loop {
            if let Some(p) = self.pods.next() {
                self.left -= 1;
                return Some(p);
            }
            match self.chunks.next() {
                Some(c) => self.pods = c.iter(),
                None => self.chunks = self.blocks.next()?.iter(),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl std::iter::FusedIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a PodList {
    type Item = &'a Arc<PodInfo>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<Arc<PodInfo>> for PodList {
    fn from_iter<I: IntoIterator<Item = Arc<PodInfo>>>(iter: I) -> PodList {
        let mut l = PodList::default();
        for p in iter {
            l.push(p);
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::PodBuilder;

    fn keys(l: &PodList) -> Vec<String> {
        l.iter().map(|p| p.key.clone()).collect()
    }

    fn chunks(l: &PodList) -> Vec<&Chunk> {
        l.blocks.iter().flat_map(|b| b.iter()).collect()
    }

    /// The list is dense and consistent: every pod's slot says where it is.
    fn check(l: &PodList) {
        let n = l.iter().count();
        assert_eq!(n, l.len());
        assert_eq!(l.iter().len(), l.len());
        let (full, last) = l.blocks.split_at(l.blocks.len().saturating_sub(1));
        assert!(full.iter().all(|b| b.len() == FANOUT), "every block but the last is full");
        assert!(last.iter().all(|b| !b.is_empty() && b.len() <= FANOUT));
        let chunks = chunks(l);
        let (full, last) = chunks.split_at(chunks.len().saturating_sub(1));
        assert!(full.iter().all(|c| c.len() == CHUNK), "every chunk but the last is full");
        assert!(last.iter().all(|c| !c.is_empty() && c.len() <= CHUNK));
        for (i, p) in l.iter().enumerate() {
            assert_eq!(p.list_slot.get(), i, "slot of {}", p.key);
        }
    }

    #[test]
    fn removals_move_the_last_pod_into_the_hole_and_keep_the_list_dense() {
        let pods: Vec<Arc<PodInfo>> = (0..200).map(|i| PodBuilder::new(&format!("p{i}")).info()).collect();
        let mut l: PodList = pods.iter().cloned().collect();
        assert_eq!(l.len(), 200);
        assert_eq!(chunks(&l).len(), 4);
        check(&l);
        let removed = l.remove(&pods[70]).expect("present");
        assert!(Arc::ptr_eq(&removed, &pods[70]));
        assert!(l.remove(&pods[70]).is_none());
        // The last pod took the hole.
        assert_eq!(keys(&l)[70], pods[199].key);
        check(&l);
        // Another PodInfo with the same key is found by its key.
        let same_key = PodBuilder::new("p71").info();
        assert!(Arc::ptr_eq(&l.remove(&same_key).expect("by key"), &pods[71]));
        l.push(pods[71].clone());
        assert_eq!(l.len(), 199);
        check(&l);
        let mut expected: Vec<String> =
            pods.iter().filter(|p| p.key != pods[70].key && p.key != pods[71].key).map(|p| p.key.clone()).collect();
        expected.push(pods[71].key.clone());
        let mut got = keys(&l);
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
        // Removing the last pod, and removing down to nothing, drop emptied chunks.
        assert!(Arc::ptr_eq(&l.remove(&pods[71]).expect("last"), &pods[71]));
        check(&l);
        for p in &pods[..130] {
            l.remove(p);
            check(&l);
        }
        assert_eq!(l.len(), 70);
        assert_eq!(chunks(&l).len(), 2);
        for p in &pods {
            l.remove(p);
        }
        assert!(l.is_empty());
        assert!(l.blocks.is_empty());
    }

    #[test]
    fn a_stale_slot_is_checked_and_the_pod_found_by_a_search() {
        let pods: Vec<Arc<PodInfo>> = (0..100).map(|i| PodBuilder::new(&format!("p{i}")).info()).collect();
        let mut l: PodList = pods.iter().cloned().collect();
        // A scratch copy (as preemption makes) moves pods and rewrites their slots.
        let mut scratch = l.clone();
        scratch.remove(&pods[3]);
        assert_eq!(pods[99].list_slot.get(), 3);
        // The list itself still holds p99 at 99: its stale slot is not trusted.
        assert!(Arc::ptr_eq(&l.remove(&pods[99]).expect("found by a search"), &pods[99]));
        assert!(Arc::ptr_eq(&l.remove(&pods[3]).expect("present"), &pods[3]));
        assert_eq!(l.len(), 98);
        assert!(l.iter().all(|p| p.key != pods[3].key && p.key != pods[99].key));
        assert_eq!(scratch.len(), 99);
    }

    #[test]
    fn a_copy_shares_the_chunks_a_change_does_not_touch() {
        let mut l: PodList = (0..130).map(|i| PodBuilder::new(&format!("p{i}")).info()).collect();
        let copy = l.clone();
        l.push(PodBuilder::new("new").info());
        let (now, before) = (chunks(&l), chunks(&copy));
        assert!(Arc::ptr_eq(now[0], before[0]));
        assert!(Arc::ptr_eq(now[1], before[1]));
        assert!(!Arc::ptr_eq(now[2], before[2]));
        assert_eq!(copy.len(), 130);
        assert_eq!(l.len(), 131);
    }

    #[test]
    fn a_big_list_spans_blocks_and_a_change_copies_one_block_and_one_chunk() {
        let n = 2 * BLOCK + 100;
        let pods: Vec<Arc<PodInfo>> = (0..n).map(|i| PodBuilder::new(&format!("p{i}")).info()).collect();
        let mut l: PodList = pods.iter().cloned().collect();
        assert_eq!(l.blocks.len(), 3);
        check(&l);
        let copy = l.clone();
        // Removing a pod of the first block moves the last pod (third block) into its hole:
        // those two blocks and their two chunks are copied, the rest still shared.
        assert!(Arc::ptr_eq(&l.remove(&pods[5]).expect("present"), &pods[5]));
        check(&l);
        assert!(!Arc::ptr_eq(&l.blocks[0], &copy.blocks[0]));
        assert!(Arc::ptr_eq(&l.blocks[1], &copy.blocks[1]));
        assert!(!Arc::ptr_eq(&l.blocks[2], &copy.blocks[2]));
        assert!(Arc::ptr_eq(&l.blocks[0][1], &copy.blocks[0][1]), "untouched chunks of a copied block are shared");
        assert!(!Arc::ptr_eq(&l.blocks[0][0], &copy.blocks[0][0]));
        assert!(Arc::ptr_eq(l.get(5).expect("filled"), &pods[n - 1]));
        assert_eq!(copy.len(), n);
        assert!(copy.iter().zip(&pods).all(|(a, b)| Arc::ptr_eq(a, b)), "the copy is unchanged");
        // Emptying the last block drops it; the list stays dense down to nothing.
        for p in pods[BLOCK..].iter().rev() {
            l.remove(p);
        }
        assert_eq!(l.blocks.len(), 1);
        check(&l);
        for p in &pods {
            l.remove(p);
        }
        assert!(l.is_empty() && l.blocks.is_empty());
        assert_eq!(l.iter().count(), 0);
        l.push(pods[0].clone());
        check(&l);
    }
}
