//! RollingUpdate and Recreate rollouts (upstream's rolling.go and recreate.go).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::Controller;
use super::sync::new_rs_new_replicas;
use super::util::*;
use crate::Error;
use crate::controller_utils::get_controller_key_uid;

impl Controller {
    pub(super) async fn rollout_rolling(&self, d: &mut Deployment, sets: &mut Vec<ReplicaSet>) -> Result<(), Error> {
        let Some(new) = self.new_replicaset(d, sets, true).await? else {
            return Err(Error::Invalid("no new ReplicaSet".into()));
        };
        if self.reconcile_new(d, sets, new).await? {
            return self.sync_rollout_status(d, sets, Some(new)).await;
        }
        if self.reconcile_old(d, sets, new).await? {
            return self.sync_rollout_status(d, sets, Some(new)).await;
        }
        if complete(d, d.status.as_ref().unwrap_or(&Default::default())) {
            self.cleanup(d, sets, Some(new)).await?;
        }
        self.sync_rollout_status(d, sets, Some(new)).await
    }

    async fn reconcile_new(&self, d: &Deployment, sets: &mut [ReplicaSet], new: usize) -> Result<bool, Error> {
        let want = replicas(d);
        let current = rs_replicas(&sets[new]);
        if current == want {
            return Ok(false);
        }
        if current > want {
            return self.scale_rs(d, sets, new, want).await;
        }
        let count = {
            let all: Vec<&ReplicaSet> = sets.iter().collect();
            new_rs_new_replicas(d, &all, &sets[new])
        };
        self.scale_rs(d, sets, new, count).await
    }

    async fn reconcile_old(&self, d: &Deployment, sets: &mut [ReplicaSet], new: usize) -> Result<bool, Error> {
        let old: Vec<usize> = (0..sets.len()).filter(|i| *i != new && is_active(&sets[*i])).collect();
        let old_count: i32 = old.iter().map(|i| rs_replicas(&sets[*i])).sum();
        if old_count == 0 {
            return Ok(false);
        }
        let all_count: i32 = sets.iter().map(rs_replicas).sum();
        let min_available = replicas(d) - max_unavailable(d);
        let new_unavailable = rs_replicas(&sets[new]) - rs_status(&sets[new]).2;
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        // First the old replicas that are not available anyway: removing them costs nothing.
        let mut old_sorted = old.clone();
        old_sorted.sort_by(|a, b| by_creation(&sets[*a], &sets[*b]));
        let mut cleaned = 0;
        for &i in &old_sorted {
            if cleaned >= max_scaled_down {
                break;
            }
            let (spec, avail) = (rs_replicas(&sets[i]), rs_status(&sets[i]).2);
            if spec == 0 || spec == avail {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(spec - avail);
            self.scale_rs(d, sets, i, spec - down).await?;
            cleaned += down;
        }
        // Then available old replicas, as far as minimum availability allows.
        let available: i32 = sets.iter().map(|r| rs_status(r).2).sum();
        let mut scaled = 0;
        if available > min_available {
            let total = available - min_available;
            for &i in &old_sorted {
                if scaled >= total {
                    break;
                }
                let spec = rs_replicas(&sets[i]);
                if spec == 0 {
                    continue;
                }
                let down = spec.min(total - scaled);
                self.scale_rs(d, sets, i, spec - down).await?;
                scaled += down;
            }
        }
        Ok(cleaned + scaled > 0)
    }

    pub(super) async fn rollout_recreate(&self, d: &mut Deployment, sets: &mut Vec<ReplicaSet>) -> Result<(), Error> {
        let mut new = self.new_replicaset(d, sets, false).await?;
        let old_active: Vec<usize> = (0..sets.len()).filter(|i| Some(*i) != new && is_active(&sets[*i])).collect();
        let mut scaled_down = false;
        for i in old_active {
            scaled_down |= self.scale_rs(d, sets, i, 0).await?;
        }
        if scaled_down {
            return self.sync_rollout_status(d, sets, new).await;
        }
        if self.old_pods_running(sets, new) {
            return self.sync_rollout_status(d, sets, new).await;
        }
        if new.is_none() {
            new = self.new_replicaset(d, sets, true).await?;
        }
        if let Some(n) = new {
            self.scale_rs(d, sets, n, replicas(d)).await?;
        }
        if complete(d, d.status.as_ref().unwrap_or(&Default::default())) {
            self.cleanup(d, sets, new).await?;
        }
        self.sync_rollout_status(d, sets, new).await
    }

    /// Whether pods of old ReplicaSets still exist and are not terminal (oldPodsRunning).
    fn old_pods_running(&self, sets: &[ReplicaSet], new: Option<usize>) -> bool {
        let old: Vec<&ReplicaSet> = sets.iter().enumerate().filter(|(i, _)| Some(*i) != new).map(|(_, r)| r).collect();
        if sum_status(&old) > 0 {
            return true;
        }
        let old_uids: Vec<&str> = old.iter().filter_map(|r| r.metadata.uid.as_deref()).collect();
        let ns = sets.first().and_then(|r| r.metadata.namespace.clone()).unwrap_or_default();
        self.pods.list_namespace(&ns).iter().any(|p| {
            get_controller_key_uid(&p.metadata).is_some_and(|uid| old_uids.contains(&uid.as_str()))
                && !matches!(crate::controller_utils::pod::phase(p), "Failed" | "Succeeded")
        })
    }
}
