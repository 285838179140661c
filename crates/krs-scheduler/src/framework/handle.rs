//! What plugins share beyond the snapshot (`framework.Handle`): the API client, the listers of
//! the other watched resources, the nominator, the metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::{CSINode, StorageClass};
use krs_apimachinery::labels::Selector;
use parking_lot::RwLock;

use crate::api::EventRecorder;
use crate::metrics::Metrics;
use crate::queue::Nominator;

/// The watched objects plugins read, kept current by the informers.
#[derive(Default)]
pub struct Listers {
    pub pvs: RwLock<HashMap<String, Arc<PersistentVolume>>>,
    /// By `namespace/name`.
    pub pvcs: RwLock<HashMap<String, Arc<PersistentVolumeClaim>>>,
    pub storage_classes: RwLock<HashMap<String, Arc<StorageClass>>>,
    pub csi_nodes: RwLock<HashMap<String, Arc<CSINode>>>,
    /// By `namespace/name`.
    pub pdbs: RwLock<HashMap<String, Arc<PodDisruptionBudget>>>,
    /// Namespace labels by namespace name (for namespaceSelector).
    pub namespaces: RwLock<HashMap<String, BTreeMap<String, String>>>,
    /// Pod selectors of Services, ReplicationControllers, ReplicaSets and StatefulSets by
    /// `namespace/kind/name` (PodTopologySpread's system default constraints).
    pub workload_selectors: RwLock<HashMap<String, Selector>>,
}

impl Listers {
    /// The merged selector of the Services, ReplicationControllers, ReplicaSets and StatefulSets
    /// selecting the pod (`helper.DefaultSelector`); empty when none selects it.
    pub fn default_selector(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<krs_apimachinery::labels::Requirement> {
        let prefix = format!("{namespace}/");
        let mut out = Vec::new();
        for (k, sel) in self.workload_selectors.read().iter() {
            if k.starts_with(&prefix) && !sel.is_empty() && sel.matches(labels) {
                out.extend(sel.requirements().into_iter().flatten().cloned());
            }
        }
        out
    }

    pub fn namespace_labels(&self, ns: &str) -> BTreeMap<String, String> {
        self.namespaces.read().get(ns).cloned().unwrap_or_default()
    }
}

pub struct Handle {
    /// `None` in unit tests: plugins that call the API report an error then.
    pub client: Option<kube::Client>,
    pub listers: Arc<Listers>,
    pub nominator: Arc<Nominator>,
    pub metrics: Arc<Metrics>,
    pub events: EventRecorder,
    pub parallelism: usize,
}

impl Handle {
    /// A handle without API access (unit tests, benchmarks of the algorithm).
    pub fn offline() -> Arc<Handle> {
        Arc::new(Handle {
            client: None,
            listers: Arc::default(),
            nominator: Arc::default(),
            metrics: Metrics::new(),
            events: EventRecorder::disabled(),
            parallelism: 1,
        })
    }
}
