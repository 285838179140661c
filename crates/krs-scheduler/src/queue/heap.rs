//! A binary heap of queued pods keyed by pod key, ordered by a comparator (`heap.Heap`): push,
//! pop, peek, and update or delete by key in O(log n).

use std::collections::HashMap;

use super::QueuedPodInfo;

pub type Less = Box<dyn Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool + Send + Sync>;

pub struct Heap {
    items: Vec<QueuedPodInfo>,
    index: HashMap<String, usize>,
    less: Less,
}

impl Heap {
    pub fn new(less: Less) -> Heap {
        Heap { items: Vec::new(), index: HashMap::new(), less }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    pub fn get(&self, key: &str) -> Option<&QueuedPodInfo> {
        self.index.get(key).map(|i| &self.items[*i])
    }

    pub fn peek(&self) -> Option<&QueuedPodInfo> {
        self.items.first()
    }

    /// Inserts or replaces the pod with the same key.
    pub fn push(&mut self, item: QueuedPodInfo) {
        let key = item.key().to_string();
        if let Some(&i) = self.index.get(&key) {
            self.items[i] = item;
            self.fix(i);
            return;
        }
        self.items.push(item);
        let i = self.items.len() - 1;
        self.index.insert(key, i);
        self.up(i);
    }

    pub fn pop(&mut self) -> Option<QueuedPodInfo> {
        if self.items.is_empty() {
            return None;
        }
        self.remove_at(0)
    }

    pub fn delete(&mut self, key: &str) -> Option<QueuedPodInfo> {
        let i = *self.index.get(key)?;
        self.remove_at(i)
    }

    fn remove_at(&mut self, i: usize) -> Option<QueuedPodInfo> {
        let last = self.items.len() - 1;
        self.swap(i, last);
        let item = self.items.pop()?;
        self.index.remove(item.key());
        if i < self.items.len() {
            self.fix(i);
        }
        Some(item)
    }

    fn fix(&mut self, i: usize) {
        if !self.up(i) {
            self.down(i);
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.items.swap(a, b);
        if let Some(x) = self.index.get_mut(self.items[a].key()) {
            *x = a;
        }
        if let Some(x) = self.index.get_mut(self.items[b].key()) {
            *x = b;
        }
    }

    /// Moves item `i` up while it is less than its parent; true if it moved.
    fn up(&mut self, mut i: usize) -> bool {
        let start = i;
        while i > 0 {
            let parent = (i - 1) / 2;
            if !(self.less)(&self.items[i], &self.items[parent]) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
        i != start
    }

    fn down(&mut self, mut i: usize) {
        let n = self.items.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let mut smallest = l;
            let r = l + 1;
            if r < n && (self.less)(&self.items[r], &self.items[l]) {
                smallest = r;
            }
            if !(self.less)(&self.items[smallest], &self.items[i]) {
                break;
            }
            self.swap(i, smallest);
            i = smallest;
        }
    }
}
