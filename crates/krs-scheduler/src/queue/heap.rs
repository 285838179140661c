//! A binary heap of queued pods keyed by pod key, ordered by a comparator (`heap.Heap`): push,
//! pop, peek, and update or delete by key in O(log n).
//!
//! The pods live in slots that do not move; the heap orders slot numbers, and each slot knows
//! its place in the heap. Moving a pod up or down the heap therefore swaps two numbers and
//! updates two places, without hashing the pods' keys; the key map is read only to find a pod
//! by key.

use std::collections::HashMap;

use super::QueuedPodInfo;

pub type Less = Box<dyn Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool + Send + Sync>;

pub struct Heap {
    /// Slot numbers in heap order.
    order: Vec<usize>,
    /// The pods, with their place in `order`; `None` for a free slot.
    slots: Vec<Option<(QueuedPodInfo, usize)>>,
    free: Vec<usize>,
    /// Hashed with foldhash (seeded per process): every push, pop and removal looks a key up.
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    less: Less,
}

impl Heap {
    pub fn new(less: Less) -> Heap {
        Heap { order: Vec::new(), slots: Vec::new(), free: Vec::new(), index: HashMap::default(), less }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    pub fn get(&self, key: &str) -> Option<&QueuedPodInfo> {
        self.index.get(key).map(|&slot| self.item(slot))
    }

    pub fn peek(&self) -> Option<&QueuedPodInfo> {
        self.order.first().map(|&slot| self.item(slot))
    }

    /// Inserts or replaces the pod with the same key.
    pub fn push(&mut self, item: QueuedPodInfo) {
        if let Some(&slot) = self.index.get(item.key()) {
            let at = self.place(slot);
            self.slots[slot] = Some((item, at));
            self.fix(at);
            return;
        }
        let at = self.order.len();
        let key = item.key().to_string();
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some((item, at));
                slot
            }
            None => {
                self.slots.push(Some((item, at)));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, slot);
        self.order.push(slot);
        self.up(at);
    }

    pub fn pop(&mut self) -> Option<QueuedPodInfo> {
        if self.order.is_empty() {
            return None;
        }
        Some(self.remove_at(0))
    }

    pub fn delete(&mut self, key: &str) -> Option<QueuedPodInfo> {
        let slot = *self.index.get(key)?;
        let at = self.place(slot);
        Some(self.remove_at(at))
    }

    fn item(&self, slot: usize) -> &QueuedPodInfo {
        &self.slots[slot].as_ref().expect("the heap orders only occupied slots").0
    }

    fn place(&self, slot: usize) -> usize {
        self.slots[slot].as_ref().expect("the key map names only occupied slots").1
    }

    fn less_at(&self, a: usize, b: usize) -> bool {
        (self.less)(self.item(self.order[a]), self.item(self.order[b]))
    }

    /// Removes the pod at heap position `at` (which must exist).
    fn remove_at(&mut self, at: usize) -> QueuedPodInfo {
        let last = self.order.len() - 1;
        self.swap(at, last);
        let slot = self.order.pop().expect("the heap is not empty");
        let (item, _) = self.slots[slot].take().expect("the heap orders only occupied slots");
        self.free.push(slot);
        self.index.remove(item.key());
        if at < self.order.len() {
            self.fix(at);
        }
        item
    }

    fn fix(&mut self, at: usize) {
        if !self.up(at) {
            self.down(at);
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.order.swap(a, b);
        for at in [a, b] {
            if let Some((_, place)) = self.slots[self.order[at]].as_mut() {
                *place = at;
            }
        }
    }

    /// Moves the pod at `i` up while it is less than its parent; true if it moved.
    fn up(&mut self, mut i: usize) -> bool {
        let start = i;
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.less_at(i, parent) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
        i != start
    }

    fn down(&mut self, mut i: usize) {
        let n = self.order.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let mut smallest = l;
            let r = l + 1;
            if r < n && self.less_at(r, l) {
                smallest = r;
            }
            if !self.less_at(smallest, i) {
                break;
            }
            self.swap(i, smallest);
            i = smallest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::PodBuilder;

    fn queued(name: &str, priority: i32) -> QueuedPodInfo {
        QueuedPodInfo::new(PodBuilder::new(name).priority(priority).info(), std::time::Instant::now())
    }

    fn by_priority() -> Heap {
        Heap::new(Box::new(|a, b| a.pod_info.priority > b.pod_info.priority))
    }

    fn drain(h: &mut Heap) -> Vec<String> {
        std::iter::from_fn(|| h.pop()).map(|q| q.pod_info.name.clone()).collect()
    }

    #[test]
    fn pops_in_order_after_pushes_replacements_and_deletes() {
        let mut h = by_priority();
        // A deterministic shuffle of priorities 0..64.
        for i in 0..64 {
            let p = (i * 37) % 64;
            h.push(queued(&format!("p{p}"), p));
        }
        assert_eq!(h.len(), 64);
        // Replacing a pod reorders it; deleting one frees its slot for the next push.
        h.push(queued("p3", 100));
        let key40 = key_of(&h, "p40");
        assert_eq!(h.get(&key40).unwrap().pod_info.name, "p40");
        assert_eq!(h.delete(&key40).unwrap().pod_info.name, "p40");
        assert!(!h.contains(&key40));
        h.push(queued("late", 50));
        assert_eq!(h.peek().unwrap().pod_info.name, "p3");
        let order = drain(&mut h);
        let mut expected: Vec<(i32, String)> =
            (0..64).filter(|p| *p != 40 && *p != 3).map(|p| (p, format!("p{p}"))).collect();
        expected.push((100, "p3".into()));
        expected.push((50, "late".into()));
        expected.sort_by_key(|e| std::cmp::Reverse(e.0));
        // Equal priorities (p50 and late) may come in either order.
        let priorities = |names: &[String]| -> Vec<i32> {
            names.iter().map(|n| expected.iter().find(|(_, e)| e == n).map(|(p, _)| *p).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(priorities(&order), expected.iter().map(|(p, _)| *p).collect::<Vec<_>>());
        assert_eq!(order.len(), 64);
        assert!(h.pop().is_none() && h.is_empty_for_test());
    }

    fn key_of(h: &Heap, name: &str) -> String {
        h.slots.iter().flatten().find(|(q, _)| q.pod_info.name == name).map(|(q, _)| q.key().to_string()).unwrap()
    }

    impl Heap {
        fn is_empty_for_test(&self) -> bool {
            self.order.is_empty() && self.index.is_empty() && self.free.len() == self.slots.len()
        }
    }

    #[test]
    fn every_pod_knows_its_place() {
        let mut h = by_priority();
        for i in 0..200 {
            h.push(queued(&format!("p{i}"), (i * 7919) % 101));
            if i % 3 == 0 {
                h.pop();
            }
            for (at, &slot) in h.order.iter().enumerate() {
                assert_eq!(h.place(slot), at);
            }
            for (at, &slot) in h.order.iter().enumerate().skip(1) {
                let parent = h.order[(at - 1) / 2];
                assert!(!(h.less)(h.item(slot), h.item(parent)), "heap order broken at {at}");
            }
        }
    }
}
