//! The pods of a `NodeInfo`, in chunks shared between copies. The cache changes a NodeInfo
//! through `Arc::make_mut` while the snapshot still holds the previous version, so every change
//! copies the NodeInfo; with a flat list that copy is as long as the node's pods (tens of
//! thousands on one big node), with chunks it is one pointer per chunk plus the one chunk that
//! changes.

use std::sync::Arc;

use super::types::PodInfo;

/// Pods per chunk: small enough that copying the changed chunk is cheap, large enough that the
/// list of chunks stays short.
const CHUNK: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct PodList {
    chunks: Vec<Chunk>,
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
        self.chunks.iter().flat_map(chunk_iter)
    }

    pub fn push(&mut self, pod: Arc<PodInfo>) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(pod),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(pod);
                self.chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// Removes `pod`: the very `PodInfo` if the list holds it (a pointer comparison), else the
    /// pod with its key. The newest pods are searched first: the pod most often removed is one
    /// just assumed, replaced by its confirmed self.
    pub fn remove(&mut self, pod: &PodInfo) -> Option<Arc<PodInfo>> {
        let found = self.position(|p| std::ptr::eq(Arc::as_ptr(p), pod));
        let (ci, pi) = found.or_else(|| self.position(|p| p.key == pod.key))?;
        let chunk = Arc::make_mut(&mut self.chunks[ci]);
        let removed = chunk.remove(pi);
        if chunk.is_empty() {
            self.chunks.remove(ci);
        }
        self.len -= 1;
        Some(removed)
    }

    fn position(&self, f: impl Fn(&Arc<PodInfo>) -> bool) -> Option<(usize, usize)> {
        self.chunks.iter().enumerate().rev().find_map(|(ci, c)| c.iter().rposition(&f).map(|pi| (ci, pi)))
    }
}

type Chunk = Arc<Vec<Arc<PodInfo>>>;

fn chunk_iter(c: &Chunk) -> std::slice::Iter<'_, Arc<PodInfo>> {
    c.iter()
}

pub type Iter<'a> = std::iter::FlatMap<
    std::slice::Iter<'a, Chunk>,
    std::slice::Iter<'a, Arc<PodInfo>>,
    fn(&'a Chunk) -> std::slice::Iter<'a, Arc<PodInfo>>,
>;

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

    #[test]
    fn pushes_and_removes_keep_the_order_and_the_length() {
        let pods: Vec<Arc<PodInfo>> = (0..200).map(|i| PodBuilder::new(&format!("p{i}")).info()).collect();
        let mut l: PodList = pods.iter().cloned().collect();
        assert_eq!(l.len(), 200);
        assert_eq!(l.chunks.len(), 4);
        let removed = l.remove(&pods[70]).expect("present");
        assert!(Arc::ptr_eq(&removed, &pods[70]));
        assert!(l.remove(&pods[70]).is_none());
        // Another PodInfo with the same key is found by its key.
        let same_key = PodBuilder::new("p71").info();
        assert!(Arc::ptr_eq(&l.remove(&same_key).expect("by key"), &pods[71]));
        l.push(pods[71].clone());
        assert_eq!(l.len(), 199);
        let mut expected: Vec<String> =
            pods.iter().filter(|p| p.key != pods[70].key && p.key != pods[71].key).map(|p| p.key.clone()).collect();
        expected.push(pods[71].key.clone());
        assert_eq!(keys(&l), expected);
        // Emptying a chunk drops it.
        for p in &pods[128..192] {
            l.remove(p);
        }
        assert_eq!(l.chunks.len(), 3);
        assert_eq!(l.len(), 135);
        assert_eq!((&l).into_iter().count(), 135);
    }

    #[test]
    fn a_copy_shares_the_chunks_a_change_does_not_touch() {
        let mut l: PodList = (0..130).map(|i| PodBuilder::new(&format!("p{i}")).info()).collect();
        let copy = l.clone();
        l.push(PodBuilder::new("new").info());
        assert!(Arc::ptr_eq(&l.chunks[0], &copy.chunks[0]));
        assert!(Arc::ptr_eq(&l.chunks[1], &copy.chunks[1]));
        assert!(!Arc::ptr_eq(&l.chunks[2], &copy.chunks[2]));
        assert_eq!(copy.len(), 130);
        assert_eq!(l.len(), 131);
    }
}
