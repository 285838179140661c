//! One sync of a Job (upstream's syncJob, manageJob and trackJobStatusAndRemoveFinalizers).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, PostParams};

use super::policy::{Action, match_pod_failure_policy, match_success_policy};
use super::status::*;
use super::{Controller, has_tracking_finalizer, indexes};
use crate::Error;
use crate::controller_utils::pod::{get_controller_of, is_not_found, is_pod_active, is_pod_ready, phase};
use crate::controller_utils::{SLOW_START_INITIAL_BATCH_SIZE, slow_start_batch};
use crate::events::{NORMAL, WARNING};
use crate::informer::key_of;

/// Upstream's MaxPodCreateDeletePerSync.
const MAX_PER_SYNC: usize = 500;
const MANAGED_BY_US: &str = "kubernetes.io/job-controller";

enum Target {
    Success(&'static str, String),
    Failure(String, String),
}

impl Controller {
    pub(super) async fn sync_job(&self, key: &str, job: Job) -> Result<(), Error> {
        if job.spec.as_ref().and_then(|s| s.managed_by.as_deref()).is_some_and(|m| m != MANAGED_BY_US) {
            return Ok(());
        }
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        let pods: Vec<Arc<Pod>> = self
            .pods
            .list_namespace(&ns)
            .into_iter()
            .filter(|p| get_controller_of(&p.metadata).is_some_and(|r| r.uid == uid))
            .collect();
        let status = job.status.clone().unwrap_or_default();
        if is_finished(&status) {
            for p in pods.iter().filter(|p| has_tracking_finalizer(p)) {
                self.remove_finalizer(p).await?;
            }
            return Ok(());
        }
        let now = Timestamp::now();
        let needs_sync = self.expectations.satisfied(key);
        let is_indexed = indexed(&job);
        let completions_n = completions(&job);
        let limit = completions_n.unwrap_or(0);
        let per_index = backoff_limit_per_index(&job).filter(|_| is_indexed);
        let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let uncounted_ok: HashSet<String> = uncounted.succeeded.clone().unwrap_or_default().into_iter().collect();
        let uncounted_failed: HashSet<String> = uncounted.failed.clone().unwrap_or_default().into_iter().collect();
        let removing = self.finalizer_removals.lock().clone();

        let active: Vec<Arc<Pod>> = pods.iter().filter(|p| is_pod_active(p)).cloned().collect();
        let terminating = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_some() && !matches!(phase(p), "Succeeded" | "Failed"))
            .count();
        let mut completed = indexes::parse(status.completed_indexes.as_deref(), limit);
        let mut failed_indexes = indexes::parse(status.failed_indexes.as_deref(), limit);
        let (mut new_ok, mut new_failed) = (Vec::new(), Vec::new());
        let mut fail_job_msg = None;
        let mut to_release: Vec<Arc<Pod>> = Vec::new();
        for p in pods.iter().filter(|p| has_tracking_finalizer(p)) {
            let pod_uid = p.metadata.uid.clone().unwrap_or_default();
            if removing.contains(&pod_uid) {
                continue;
            }
            if uncounted_ok.contains(&pod_uid) || uncounted_failed.contains(&pod_uid) {
                to_release.push(p.clone());
                continue;
            }
            let index = if is_indexed { indexes::index_of(p, limit) } else { None };
            if phase(p) == "Succeeded" {
                if let Some(i) = index {
                    completed.insert(i);
                }
                new_ok.push(pod_uid);
                to_release.push(p.clone());
            } else if is_failed(&job, p) {
                let action = if phase(p) == "Failed" { match_pod_failure_policy(&job, p) } else { None };
                let counted = action != Some(Action::Ignore);
                match &action {
                    Some(Action::FailJob(msg)) => {
                        fail_job_msg.get_or_insert_with(|| msg.clone());
                    }
                    Some(Action::FailIndex) => {
                        if let Some(i) = index.filter(|_| per_index.is_some()) {
                            failed_indexes.insert(i);
                        }
                    }
                    _ => {}
                }
                if counted
                    && let (Some(lim), Some(i)) = (per_index, index)
                    && indexes::failure_count(p) + 1 > lim
                {
                    failed_indexes.insert(i);
                }
                if counted {
                    new_failed.push(pod_uid);
                }
                to_release.push(p.clone());
            }
        }
        let succeeded_total = if is_indexed {
            completed.len() as i32
        } else {
            status.succeeded.unwrap_or(0) + (uncounted_ok.len() + new_ok.len()) as i32
        };
        let failed_total = status.failed.unwrap_or(0) + (uncounted_failed.len() + new_failed.len()) as i32;

        let mut new_status = status.clone();
        if new_status.start_time.is_none() && !suspended(&job) {
            new_status.start_time = Some(Time(now));
        }
        let target = self.decide(
            &job,
            &new_status,
            now,
            succeeded_total,
            failed_total,
            &active,
            &completed,
            &failed_indexes,
            fail_job_msg,
        );
        let mut active_after = active.len();
        let mut requeue_after: Option<Duration> = None;
        match &target {
            Some(t) => {
                let (type_, reason, msg) = match t {
                    Target::Success(r, m) => ("SuccessCriteriaMet", r.to_string(), m.clone()),
                    Target::Failure(r, m) => ("FailureTarget", r.clone(), m.clone()),
                };
                set_condition(&mut new_status, type_, "True", &reason, &msg, now);
                self.delete_pods(key, &job, &active).await?;
                active_after = 0;
            }
            None if needs_sync && job.metadata.deletion_timestamp.is_none() => {
                let (a, wait) = self
                    .manage(key, &job, &pods, &active, terminating, succeeded_total, &completed, &failed_indexes, now)
                    .await?;
                active_after = a;
                requeue_after = wait;
            }
            None => {}
        }
        if target.is_none() {
            self.suspend_conditions(&job, &mut new_status, now);
            if let (Some(ads), Some(start)) =
                (job.spec.as_ref().and_then(|s| s.active_deadline_seconds), &new_status.start_time)
                && !suspended(&job)
            {
                let due = start.0 + jiff::SignedDuration::from_secs(ads);
                let left = Duration::try_from(due.duration_since(now)).unwrap_or(Duration::ZERO);
                requeue_after = Some(requeue_after.map_or(left, |r| r.min(left)));
            }
        }
        new_status.active = Some(active_after as i32);
        new_status.ready = Some(active.iter().filter(|p| is_pod_ready(p) && active_after > 0).count() as i32);
        new_status.terminating = Some(terminating as i32);
        if is_indexed {
            new_status.completed_indexes = Some(indexes::format(&completed).unwrap_or_default());
            new_status.succeeded = Some(completed.len() as i32);
            if per_index.is_some() {
                new_status.failed_indexes = Some(indexes::format(&failed_indexes).unwrap_or_default());
            }
        }
        let mut ok_list: Vec<String> = uncounted.succeeded.clone().unwrap_or_default();
        ok_list.extend(new_ok);
        let mut failed_list: Vec<String> = uncounted.failed.clone().unwrap_or_default();
        failed_list.extend(new_failed);
        new_status.uncounted_terminated_pods =
            Some(UncountedTerminatedPods { succeeded: Some(ok_list), failed: Some(failed_list) });

        // Phase 1: record the finished pods as uncounted before releasing them, so a crash
        // between the two never loses or doubles a count.
        let mut job = job;
        if job.status.as_ref() != Some(&new_status) {
            job = self.write_status(&job, new_status).await?;
        }
        for p in &to_release {
            self.remove_finalizer(p).await?;
        }
        // Phase 2: released (or vanished) pods move from uncounted to the counters; the
        // terminal condition follows once nothing is left to count or terminate.
        let mut status = job.status.clone().unwrap_or_default();
        let released: HashSet<String> = to_release.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        let present: HashSet<String> =
            pods.iter().filter(|p| has_tracking_finalizer(p)).filter_map(|p| p.metadata.uid.clone()).collect();
        let done = |u: &String| released.contains(u) || !present.contains(u);
        let mut unc = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let (moved_ok, kept_ok): (Vec<String>, Vec<String>) =
            unc.succeeded.take().unwrap_or_default().into_iter().partition(done);
        let (moved_failed, kept_failed): (Vec<String>, Vec<String>) =
            unc.failed.take().unwrap_or_default().into_iter().partition(done);
        if !is_indexed {
            status.succeeded = Some(status.succeeded.unwrap_or(0) + moved_ok.len() as i32);
        }
        status.failed = Some(status.failed.unwrap_or(0) + moved_failed.len() as i32);
        let nothing_left = kept_ok.is_empty() && kept_failed.is_empty();
        status.uncounted_terminated_pods =
            Some(UncountedTerminatedPods { succeeded: Some(kept_ok), failed: Some(kept_failed) });
        if let Some(t) = &target
            && nothing_left
            && terminating == 0
            && active_after == 0
        {
            self.finish(&job, &mut status, t, now);
        }
        if job.status.as_ref() != Some(&status) {
            self.write_status(&job, status).await?;
        }
        if let Some(after) = requeue_after.filter(|_| target.is_none()) {
            self.queue.add_after(key.to_string(), after.max(Duration::from_millis(10)));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        job: &Job,
        status: &JobStatus,
        now: Timestamp,
        succeeded: i32,
        failed: i32,
        active: &[Arc<Pod>],
        completed: &BTreeSet<i32>,
        failed_indexes: &BTreeSet<i32>,
        fail_job_msg: Option<String>,
    ) -> Option<Target> {
        if let Some(c) = condition(status, "FailureTarget") {
            return Some(Target::Failure(c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()));
        }
        if let Some(c) = condition(status, "SuccessCriteriaMet") {
            let reason =
                if c.reason.as_deref() == Some("SuccessPolicy") { "SuccessPolicy" } else { "CompletionsReached" };
            return Some(Target::Success(reason, c.message.clone().unwrap_or_default()));
        }
        let spec = job.spec.clone().unwrap_or_default();
        let per_index = spec.backoff_limit_per_index.filter(|_| indexed(job));
        if let Some(msg) = fail_job_msg {
            return Some(Target::Failure("PodFailurePolicy".into(), msg));
        }
        if per_index.is_none() && failed > spec.backoff_limit.unwrap_or(6) {
            return Some(Target::Failure(
                "BackoffLimitExceeded".into(),
                "Job has reached the specified backoff limit".into(),
            ));
        }
        if let (Some(ads), Some(start)) = (spec.active_deadline_seconds, &status.start_time)
            && !suspended(job)
            && start.0 + jiff::SignedDuration::from_secs(ads) <= now
        {
            return Some(Target::Failure(
                "DeadlineExceeded".into(),
                "Job was active longer than specified deadline".into(),
            ));
        }
        if per_index.is_some()
            && let Some(max) = spec.max_failed_indexes
            && failed_indexes.len() as i32 > max
        {
            return Some(Target::Failure(
                "MaxFailedIndexesExceeded".into(),
                "Job has exceeded the specified maximum number of failed indexes".into(),
            ));
        }
        let limit = spec.completions.unwrap_or(0);
        if indexed(job)
            && let Some(i) = match_success_policy(job, limit, completed)
        {
            return Some(Target::Success("SuccessPolicy", format!("Matched rules at index {i}")));
        }
        let complete = match spec.completions {
            None => succeeded > 0 && active.is_empty(),
            Some(c) if indexed(job) => completed.len() as i32 >= c,
            Some(c) => succeeded >= c,
        };
        if complete {
            return Some(Target::Success("CompletionsReached", "Reached expected number of succeeded pods".into()));
        }
        if per_index.is_some() && !failed_indexes.is_empty() && (completed.len() + failed_indexes.len()) as i32 >= limit
        {
            return Some(Target::Failure("FailedIndexes".into(), "Job has failed indexes".into()));
        }
        None
    }

    fn finish(&self, job: &Job, status: &mut JobStatus, target: &Target, now: Timestamp) {
        match target {
            Target::Success(reason, msg) => {
                set_condition(status, "Complete", "True", reason, msg, now);
                status.completion_time = Some(Time(now));
                self.recorder.event(job, NORMAL, "Completed", "Job completed");
            }
            Target::Failure(reason, msg) => {
                set_condition(status, "Failed", "True", reason, msg, now);
                self.recorder.event(job, WARNING, reason, msg.clone());
            }
        }
    }

    fn suspend_conditions(&self, job: &Job, status: &mut JobStatus, now: Timestamp) {
        let was = status.conditions.iter().flatten().find(|c| c.type_ == "Suspended").map(|c| c.status == "True");
        if suspended(job) && was != Some(true) {
            set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now);
            self.recorder.event(job, NORMAL, "Suspended", "Job suspended");
        } else if !suspended(job) && was == Some(true) {
            set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now);
            self.recorder.event(job, NORMAL, "Resumed", "Job resumed");
            // activeDeadlineSeconds counts from the resumption.
            status.start_time = Some(Time(now));
        }
    }

    async fn write_status(&self, job: &Job, status: JobStatus) -> Result<Job, Error> {
        let api: Api<Job> =
            Api::namespaced(self.client.clone(), job.metadata.namespace.as_deref().unwrap_or("default"));
        let mut updated = job.clone();
        updated.status = Some(status);
        // A PUT with the cached resourceVersion: a stale cache conflicts instead of counting
        // the same pods twice.
        match api
            .replace_status(job.metadata.name.as_deref().unwrap_or_default(), &PostParams::default(), &updated)
            .await
        {
            Ok(j) => Ok(j),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_pods(&self, key: &str, job: &Job, victims: &[Arc<Pod>]) -> Result<(), Error> {
        if victims.is_empty() {
            return Ok(());
        }
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        self.expectations.expect_deletions(key, victims.iter().map(|p| key_of(p.as_ref())).collect());
        let results = futures::future::join_all(victims.iter().map(|p| {
            let ns = &ns;
            async move {
                let r = self
                    .pod_control
                    .delete(ns, p.metadata.name.as_deref().unwrap_or_default(), p.metadata.uid.as_deref(), job)
                    .await;
                if r.is_err() {
                    self.expectations.deletion_observed(key, &key_of(p.as_ref()));
                }
                r
            }
        }))
        .await;
        results.into_iter().find_map(Result::err).map_or(Ok(()), Err)
    }

    /// Creates or deletes pods toward the wanted number of active pods (manageJob); returns
    /// the active count after, and when to look again if a failure backoff holds creation.
    #[allow(clippy::too_many_arguments)]
    async fn manage(
        &self,
        key: &str,
        job: &Job,
        pods: &[Arc<Pod>],
        active: &[Arc<Pod>],
        terminating: usize,
        succeeded: i32,
        completed: &BTreeSet<i32>,
        failed_indexes: &BTreeSet<i32>,
        now: Timestamp,
    ) -> Result<(usize, Option<Duration>), Error> {
        if suspended(job) {
            self.delete_pods(key, job, active).await?;
            return Ok((0, None));
        }
        let parallelism = parallelism(job);
        let is_indexed = indexed(job);
        let limit = completions(job).unwrap_or(0);
        let want = match completions(job) {
            None if succeeded > 0 => active.len() as i32,
            None => parallelism,
            Some(c) if is_indexed => (c - completed.len() as i32 - failed_indexes.len() as i32).min(parallelism),
            Some(c) => (c - succeeded).min(parallelism),
        }
        .max(0) as usize;
        // Terminating pods still hold their place when only failed pods are replaced.
        let held = if replace_only_failed(job) { terminating } else { 0 };
        if active.len() > want {
            let mut victims: Vec<Arc<Pod>> = active.to_vec();
            if is_indexed {
                // Pods without a valid index, or duplicating one, go first.
                let mut seen = HashSet::new();
                victims.sort_by_key(|p| match indexes::index_of(p, limit) {
                    Some(i) if seen.insert(i) => 1,
                    _ => 0,
                });
            }
            victims.sort_by(|a, b| crate::controller_utils::ranking::compare(a, 0, b, 0, now));
            victims.truncate(active.len() - want);
            self.delete_pods(key, job, &victims).await?;
            return Ok((want, None));
        }
        if active.len() + held >= want {
            return Ok((active.len(), None));
        }
        let diff = (want - active.len() - held).min(MAX_PER_SYNC);
        let counted = |p: &Pod| match_pod_failure_policy(job, p) != Some(Action::Ignore);
        let mut wait = None;
        let plan: Vec<Option<i32>> = if is_indexed {
            let busy: HashSet<i32> = pods
                .iter()
                .filter(|p| {
                    is_pod_active(p) || (held > 0 && p.metadata.deletion_timestamp.is_some() && phase(p) != "Failed")
                })
                .filter_map(|p| indexes::index_of(p, limit))
                .collect();
            let mut plan = Vec::new();
            for i in (0..limit).filter(|i| !completed.contains(i) && !failed_indexes.contains(i) && !busy.contains(i)) {
                if plan.len() >= diff {
                    break;
                }
                let of_index: Vec<&Arc<Pod>> =
                    pods.iter().filter(|p| phase(p) == "Failed" && indexes::index_of(p, limit) == Some(i)).collect();
                let last = of_index.iter().filter_map(|p| finish_time(p)).max();
                let left = remaining_backoff(self.backoff, of_index.len() as u32, last, now);
                if left > Duration::ZERO {
                    wait = Some(wait.map_or(left, |w: Duration| w.min(left)));
                    continue;
                }
                plan.push(Some(i));
            }
            plan
        } else {
            let last_success = pods.iter().filter(|p| phase(p) == "Succeeded").filter_map(|p| finish_time(p)).max();
            let failures: Vec<Timestamp> = pods
                .iter()
                .filter(|p| phase(p) == "Failed" && counted(p))
                .filter_map(|p| finish_time(p))
                .filter(|t| last_success.is_none_or(|s| *t > s))
                .collect();
            let left = remaining_backoff(self.backoff, failures.len() as u32, failures.iter().max().copied(), now);
            if left > Duration::ZERO {
                return Ok((active.len(), Some(left)));
            }
            vec![None; diff]
        };
        if plan.is_empty() {
            return Ok((active.len(), wait));
        }
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        self.expectations.expect_creations(key, plan.len());
        let (ok, err) = slow_start_batch(plan.len(), SLOW_START_INITIAL_BATCH_SIZE, |n| {
            let index = plan[n];
            let failures = index.map(|i| index_failures(pods, i, limit, counted)).unwrap_or((0, 0));
            let pod = pod_for(job, index, failures);
            let ns = &ns;
            async move { self.pod_control.create(ns, &pod, job).await.map(|_| ()) }
        })
        .await;
        if ok < plan.len() {
            self.expectations.lower(key, (plan.len() - ok) as i64, 0);
        }
        if let Some(e) = err {
            if let Error::Kube(k) = &e
                && (is_not_found(k) || crate::controller_utils::pod::is_namespace_terminating_error(k))
            {
                return Ok((active.len() + ok, wait));
            }
            return Err(e);
        }
        Ok((active.len() + ok, wait))
    }
}
