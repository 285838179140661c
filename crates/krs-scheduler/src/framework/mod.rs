//! The scheduling framework: plugin interfaces, cycle state and statuses, the runtime that runs
//! a profile's plugins, and the pod/node types they work on.

pub mod events;
pub mod handle;
pub mod helpers;
pub mod interface;
pub mod node_labels;
pub mod node_memo;
pub mod node_set;
pub mod parallel;
pub mod pod_list;
pub mod resource;
pub mod runtime;
pub mod status;
pub mod types;

pub use events::ClusterEvent;
pub use handle::{Handle, Listers};
pub use interface::*;
pub use node_labels::{LabelLookup, NodeLabels};
pub use node_set::NodeSet;
pub use runtime::{Framework, NodeToStatus};
pub use status::{Code, CycleState, Status};
pub use types::{NodeInfo, PodInfo};
