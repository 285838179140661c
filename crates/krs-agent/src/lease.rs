//! The node's heartbeat: a Lease in kube-node-lease named after the node, renewed every 10 s
//! (a quarter of its 40 s duration), as upstream's node lease controller.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::PostParams;

use crate::error::{Result, kube_conflict, kube_not_found};

pub const LEASE_NAMESPACE: &str = "kube-node-lease";
pub const LEASE_DURATION_SECONDS: i32 = 40;
pub const RENEW_INTERVAL: Duration = Duration::from_secs(10);

/// Renews one node's lease. It remembers the last written lease so a renewal is one request
/// (an update); after a conflict it reads the lease again.
pub struct LeaseRenewer {
    api: Api<Lease>,
    node_name: String,
    node_uid: Option<String>,
    last: Option<Lease>,
}

impl LeaseRenewer {
    pub fn new(client: kube::Client, node_name: &str, node_uid: Option<String>) -> LeaseRenewer {
        LeaseRenewer {
            api: Api::namespaced(client, LEASE_NAMESPACE),
            node_name: node_name.to_owned(),
            node_uid,
            last: None,
        }
    }

    pub fn set_node_uid(&mut self, uid: Option<String>) {
        self.node_uid = uid;
    }

    /// Creates or renews the lease.
    pub async fn renew(&mut self) -> Result<()> {
        let now = MicroTime(jiff::Timestamp::now());
        for attempt in 0..2 {
            let current = match self.last.take() {
                Some(l) if attempt == 0 => Some(l),
                _ => match self.api.get(&self.node_name).await {
                    Ok(l) => Some(l),
                    Err(e) if kube_not_found(&e) => None,
                    Err(e) => return Err(e.into()),
                },
            };
            let result = match current {
                None => self.api.create(&PostParams::default(), &self.fresh(now.clone())).await,
                Some(mut lease) => {
                    let spec = lease.spec.get_or_insert_with(Default::default);
                    spec.holder_identity = Some(self.node_name.clone());
                    spec.lease_duration_seconds = Some(LEASE_DURATION_SECONDS);
                    spec.renew_time = Some(now.clone());
                    if lease.metadata.owner_references.as_ref().is_none_or(|o| o.is_empty()) {
                        lease.metadata.owner_references = self.owner();
                    }
                    self.api.replace(&self.node_name, &PostParams::default(), &lease).await
                }
            };
            match result {
                Ok(lease) => {
                    self.last = Some(lease);
                    return Ok(());
                }
                Err(e) if kube_conflict(&e) && attempt == 0 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn fresh(&self, now: MicroTime) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.node_name.clone()),
                namespace: Some(LEASE_NAMESPACE.to_owned()),
                owner_references: self.owner(),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.node_name.clone()),
                lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
                renew_time: Some(now),
                ..Default::default()
            }),
        }
    }

    /// The Node owns its lease, so deleting the node garbage-collects it.
    fn owner(&self) -> Option<Vec<OwnerReference>> {
        let uid = self.node_uid.clone()?;
        Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: self.node_name.clone(),
            uid,
            ..Default::default()
        }])
    }
}
