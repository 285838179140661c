//! The nodes a cycle hands to PreScore and Score: positions in a node list, not a list of its
//! own. A cycle finds hundreds of feasible nodes; collecting them as `Arc`s would count a
//! reference to each (a cache miss per node, and another to drop it), while most cycles never
//! read most of those nodes again (their filter statuses and scores come from the results memo).

use std::sync::Arc;

use super::NodeInfo;

/// Some nodes of a list, in a given order: all of them, or those at given positions.
#[derive(Clone, Copy)]
pub struct NodeSet<'a> {
    list: &'a [Arc<NodeInfo>],
    at: Option<&'a [usize]>,
}

impl<'a> NodeSet<'a> {
    /// Every node of `list`, in its order.
    pub fn all(list: &'a [Arc<NodeInfo>]) -> NodeSet<'a> {
        NodeSet { list, at: None }
    }

    /// The nodes of `list` at `at`, in that order. Positions must be in the list.
    pub fn at(list: &'a [Arc<NodeInfo>], at: &'a [usize]) -> NodeSet<'a> {
        debug_assert!(at.iter().all(|&p| p < list.len()));
        NodeSet { list, at: Some(at) }
    }

    pub fn len(&self) -> usize {
        self.at.map_or(self.list.len(), <[usize]>::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th node of the set.
    pub fn get(&self, i: usize) -> Option<&'a Arc<NodeInfo>> {
        match self.at {
            None => self.list.get(i),
            Some(at) => at.get(i).and_then(|&p| self.list.get(p)),
        }
    }

    /// The position in the list of the set's `i`th node.
    pub fn position(&self, i: usize) -> Option<usize> {
        match self.at {
            None => (i < self.list.len()).then_some(i),
            Some(at) => at.get(i).copied(),
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a Arc<NodeInfo>> + 'a {
        let (list, at) = (self.list, self.at);
        (0..self.len()).map(move |i| match at {
            None => &list[i],
            Some(at) => &list[at[i]],
        })
    }
}

impl<'a> From<&'a [Arc<NodeInfo>]> for NodeSet<'a> {
    fn from(list: &'a [Arc<NodeInfo>]) -> NodeSet<'a> {
        NodeSet::all(list)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::NodeSet;
    use crate::framework::NodeInfo;

    fn names(set: NodeSet<'_>) -> Vec<String> {
        set.iter().map(|n| n.name.to_string()).collect()
    }

    #[test]
    fn a_set_reads_its_positions_in_order_and_all_of_a_list_without_them() {
        let list: Vec<Arc<NodeInfo>> = ["a", "b", "c", "d"].into_iter().map(|n| Arc::new(NodeInfo::new(n))).collect();
        let all = NodeSet::all(&list);
        assert_eq!((all.len(), names(all)), (4, vec!["a", "b", "c", "d"].into_iter().map(String::from).collect()));
        assert_eq!(all.position(3), Some(3));
        assert_eq!(all.position(4), None);

        let at = [3, 0, 2];
        let some = NodeSet::at(&list, &at);
        assert_eq!(some.len(), 3);
        assert_eq!(names(some), vec!["d", "a", "c"]);
        assert_eq!(some.get(1).map(|n| n.name.to_string()), Some("a".to_string()));
        assert!(some.get(3).is_none());
        assert_eq!(some.position(2), Some(2));
        assert_eq!(some.position(0), Some(3));
        assert!(Arc::ptr_eq(some.get(0).expect("a node"), &list[3]));

        let none = NodeSet::at(&list, &[]);
        assert!(none.is_empty());
        assert_eq!(none.iter().count(), 0);
    }
}
