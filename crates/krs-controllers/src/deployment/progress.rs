//! The Progressing condition and the progress deadline (upstream's progress.go).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::Controller;
use super::util::*;
use crate::Error;
use crate::informer::key_of;

impl Controller {
    pub(super) async fn sync_rollout_status(
        &self,
        d: &Deployment,
        sets: &[ReplicaSet],
        new: Option<usize>,
    ) -> Result<(), Error> {
        let mut status = self.calculate_status(d, sets, new);
        if progress_deadline(d).is_none() {
            remove_condition(&mut status, PROGRESSING);
        }
        let current = d.status.as_ref().and_then(|s| condition(s, PROGRESSING)).cloned();
        let complete_already = status.replicas == status.updated_replicas
            && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        let name = d.metadata.name.clone().unwrap_or_default();
        let new_name = new.and_then(|n| sets[n].metadata.name.clone());
        let subject = |what: &str| match &new_name {
            Some(rs) => format!("ReplicaSet {rs:?} {what}"),
            None => format!("Deployment {name:?} {what}"),
        };
        let now = Timestamp::now();
        if progress_deadline(d).is_some() && !complete_already {
            if complete(d, &status) {
                set_condition(
                    &mut status,
                    new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, subject("has successfully progressed.")),
                );
            } else if progressing(d, &status) {
                let mut c = new_condition(PROGRESSING, "True", "ReplicaSetUpdated", subject("is progressing."));
                // Progress refreshes lastUpdateTime (the deadline counts from it) but keeps the
                // transition time of a condition that stays True.
                if let Some(cur) = current.as_ref().filter(|c| c.status == "True") {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove_condition(&mut status, PROGRESSING);
                set_condition(&mut status, c);
            } else if timed_out(d, &status, now) {
                set_condition(
                    &mut status,
                    new_condition(PROGRESSING, "False", TIMED_OUT, subject("has timed out progressing.")),
                );
            }
        }
        // Surface the first ReplicaSet failure (the new one's first) as the deployment's.
        let mut order: Vec<&ReplicaSet> = new.map(|n| &sets[n]).into_iter().collect();
        order.extend(sets.iter().enumerate().filter(|(i, _)| Some(*i) != new).map(|(_, r)| r));
        let failure = order.iter().find_map(|rs| {
            rs.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == REPLICA_FAILURE).cloned()
        });
        match failure {
            Some(f) => {
                let mut c = new_condition(
                    REPLICA_FAILURE,
                    &f.status,
                    f.reason.as_deref().unwrap_or_default(),
                    f.message.clone().unwrap_or_default(),
                );
                c.last_transition_time = f.last_transition_time.clone();
                set_condition(&mut status, c);
            }
            None => remove_condition(&mut status, REPLICA_FAILURE),
        }
        if d.status.as_ref() == Some(&status) {
            self.requeue_stuck(d, &status, now);
            return Ok(());
        }
        self.update_status(d, &status).await
    }

    /// Looks at a rollout again when its progress deadline would pass.
    fn requeue_stuck(&self, d: &Deployment, status: &k8s_openapi::api::apps::v1::DeploymentStatus, now: Timestamp) {
        let Some(deadline) = progress_deadline(d) else { return };
        let Some(c) = condition(status, PROGRESSING) else { return };
        if complete(d, status) || c.reason.as_deref() == Some(TIMED_OUT) {
            return;
        }
        let Some(updated) = &c.last_update_time else { return };
        let due = updated.0 + jiff::SignedDuration::from_secs(i64::from(deadline));
        let after = due.duration_since(now);
        let key = key_of(d);
        if after < jiff::SignedDuration::from_secs(1) {
            self.queue.add_rate_limited(&key);
        } else {
            self.queue.add_after(key, Duration::from_secs_f64(after.as_secs_f64()));
        }
    }
}
