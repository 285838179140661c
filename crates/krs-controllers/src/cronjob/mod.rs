//! The CronJob controller: creates a Job for each scheduled time (in spec.timeZone, else the
//! controller's zone), honouring concurrencyPolicy, startingDeadlineSeconds, suspend and the
//! history limits, handling missed schedules as upstream (only the most recent missed time
//! runs; more than 100 missed times are reported).

pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};

use crate::Error;
use crate::controller_utils::pod::{controller_ref, get_controller_of, is_namespace_terminating_error, is_not_found};
use crate::controller_utils::run_workers;
use crate::events::{EventRecorder, NORMAL, WARNING};
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;
use schedule::Schedule;

const NAME: &str = "cronjob-controller";
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Upstream wakes a little after the scheduled time, so the time has surely passed.
const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);

struct Controller {
    cronjobs: Arc<Informer<CronJob>>,
    jobs: Arc<Informer<Job>>,
    queue: WorkQueue,
    client: kube::Client,
    recorder: EventRecorder,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("cronjob");
    let c = Arc::new(Controller {
        cronjobs: ctx.factory.informer::<CronJob>(),
        jobs: ctx.factory.informer::<Job>(),
        queue: queue.clone(),
        client: ctx.client.clone(),
        recorder: ctx.events.recorder(NAME),
    });
    {
        let q = queue.clone();
        c.cronjobs.add_handler(move |e| match e {
            Event::Added(cj) | Event::Updated { new: cj, .. } => q.add(key_of(cj.as_ref())),
            Event::Deleted(_) => {}
        });
    }
    {
        let q = queue.clone();
        c.jobs.add_handler(move |e| {
            let job = match e {
                Event::Added(j) | Event::Deleted(j) | Event::Updated { new: j, .. } => j,
            };
            if let Some(r) = get_controller_of(&job.metadata).filter(|r| r.kind == "CronJob") {
                q.add(format!("{}/{}", job.metadata.namespace.clone().unwrap_or_default(), r.name));
            }
        });
    }
    let workers = ctx.options.concurrent_cron_job_syncs;
    Started {
        queues: vec![queue.clone()],
        run: Box::new(move || {
            run_workers(
                NAME,
                queue,
                workers,
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.sync(&key).await })
                }),
            )
        }),
    }
}

fn finished(job: &Job) -> Option<&'static str> {
    let conds = job.status.as_ref()?.conditions.as_ref()?;
    for (t, name) in [("Complete", "Complete"), ("Failed", "Failed")] {
        if conds.iter().any(|c| c.type_ == t && c.status == "True") {
            return Some(name);
        }
    }
    None
}

fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// The most recent schedule time in (earliest, now], with how many were missed
/// (upstream's mostRecentScheduleTime).
fn most_recent(schedule: &Schedule, earliest: Timestamp, now: Timestamp, tz: &TimeZone) -> (Option<Timestamp>, u64) {
    let mut t = earliest;
    let mut last = None;
    let mut missed = 0u64;
    while let Some(next) = schedule.next(t, tz) {
        if next > now {
            break;
        }
        last = Some(next);
        missed += 1;
        t = next;
        // Past this upstream reports too many missed times; counting further costs time for
        // nothing.
        if missed > 100_000 {
            break;
        }
    }
    (last, missed)
}

impl Controller {
    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let Some(cj) = self.cronjobs.get(ns, name) else { return Ok(()) };
        let cj = (*cj).clone();
        let uid = cj.metadata.uid.clone().unwrap_or_default();
        let ns = ns.unwrap_or_default().to_string();
        let children: Vec<Arc<Job>> = self
            .jobs
            .list_namespace(&ns)
            .into_iter()
            .filter(|j| get_controller_of(&j.metadata).is_some_and(|r| r.uid == uid))
            .collect();
        let mut status = cj.status.clone().unwrap_or_default();
        let requeue = self.sync_cronjob(&cj, &children, &mut status).await?;
        if cj.status.as_ref() != Some(&status) {
            let api: Api<CronJob> = Api::namespaced(self.client.clone(), &ns);
            let mut updated = cj.clone();
            updated.status = Some(status);
            match api.replace_status(name, &PostParams::default(), &updated).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        self.cleanup_finished(&cj, &children).await?;
        if let Some(after) = requeue {
            self.queue.add_after(key.to_string(), after);
        }
        Ok(())
    }

    /// Reconciles the active list and starts the due job; returns when to look again.
    async fn sync_cronjob(
        &self,
        cj: &CronJob,
        children: &[Arc<Job>],
        status: &mut CronJobStatus,
    ) -> Result<Option<Duration>, Error> {
        let mut active: Vec<ObjectReference> = status.active.clone().unwrap_or_default();
        for job in children {
            let listed = active.iter().any(|r| r.uid == job.metadata.uid);
            match (listed, finished(job)) {
                (false, None) => {
                    // A job of ours that the active list lost (or never had): adopt it there.
                    active.push(job_ref(job));
                }
                (true, Some(cond)) => {
                    active.retain(|r| r.uid != job.metadata.uid);
                    let jn = job.metadata.name.clone().unwrap_or_default();
                    self.recorder.event(
                        cj,
                        NORMAL,
                        "SawCompletedJob",
                        format!("Saw completed job: {jn}, condition: {cond}"),
                    );
                }
                _ => {}
            }
            if finished(job) == Some("Complete")
                && let Some(done) = job.status.as_ref().and_then(|s| s.completion_time.clone())
                && status.last_successful_time.as_ref().is_none_or(|t| t.0 < done.0)
            {
                status.last_successful_time = Some(done);
            }
        }
        // Jobs in the active list that no longer exist.
        let mut still = Vec::new();
        for r in active {
            if children.iter().any(|j| j.metadata.uid == r.uid) {
                still.push(r);
                continue;
            }
            let api: Api<Job> = Api::namespaced(self.client.clone(), r.namespace.as_deref().unwrap_or("default"));
            match api.get_opt(r.name.as_deref().unwrap_or_default()).await? {
                Some(j) if j.metadata.uid == r.uid => still.push(r),
                _ => self.recorder.event(
                    cj,
                    NORMAL,
                    "MissingJob",
                    format!("Active job went missing: {}", r.name.clone().unwrap_or_default()),
                ),
            }
        }
        status.active = if still.is_empty() { None } else { Some(still) };

        if cj.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let spec = cj.spec.clone().unwrap_or_default();
        let tz = match spec.time_zone.as_deref() {
            Some(name) => match TimeZone::get(name) {
                Ok(tz) => tz,
                Err(e) => {
                    self.recorder.event(cj, WARNING, "UnknownTimeZone", format!("invalid timeZone: {name:?}: {e}"));
                    return Ok(None);
                }
            },
            None => TimeZone::system(),
        };
        if spec.suspend == Some(true) {
            return Ok(None);
        }
        let sched = match schedule::parse(&spec.schedule) {
            Ok(s) => s,
            Err(e) => {
                self.recorder.event(
                    cj,
                    WARNING,
                    "UnparseableSchedule",
                    format!("unparseable schedule: {:?} : {e}", spec.schedule),
                );
                return Ok(None);
            }
        };
        let now = Timestamp::now();
        let created = cj.metadata.creation_timestamp.as_ref().map(|t| t.0).unwrap_or(now);
        let mut earliest = status.last_schedule_time.as_ref().map(|t| t.0).unwrap_or(created);
        if let Some(d) = spec.starting_deadline_seconds {
            let deadline = now - jiff::SignedDuration::from_secs(d);
            if deadline > earliest {
                earliest = deadline;
            }
        }
        let next_wait = |from: Timestamp| -> Option<Duration> {
            let next = sched.next(from, &tz)?;
            Some(Duration::try_from(next.duration_since(now)).unwrap_or(Duration::ZERO) + NEXT_SCHEDULE_DELTA)
        };
        let (scheduled, missed) = if earliest > now { (None, 0) } else { most_recent(&sched, earliest, now, &tz) };
        if missed > 100 {
            self.recorder.event(
                cj,
                WARNING,
                "TooManyMissedTimes",
                format!("too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew"),
            );
        }
        let Some(scheduled) = scheduled else { return Ok(next_wait(now)) };
        if let Some(d) = spec.starting_deadline_seconds
            && scheduled + jiff::SignedDuration::from_secs(d) < now
        {
            let when = scheduled.to_zoned(tz.clone()).strftime("%a, %d %b %Y %H:%M:%S %z").to_string();
            self.recorder.event(cj, WARNING, "MissSchedule", format!("Missed scheduled time to start a job: {when}"));
            return Ok(next_wait(now));
        }
        let job_name = format!("{}-{}", cj.metadata.name.clone().unwrap_or_default(), scheduled.as_second() / 60);
        let active_now = status.active.clone().unwrap_or_default();
        if active_now.iter().any(|r| r.name.as_deref() == Some(job_name.as_str()))
            || status.last_schedule_time.as_ref().is_some_and(|t| t.0 >= scheduled)
        {
            return Ok(next_wait(now));
        }
        let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
        if policy == "Forbid" && !active_now.is_empty() {
            self.recorder.event(
                cj,
                NORMAL,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            );
            return Ok(next_wait(now));
        }
        if policy == "Replace" {
            for r in &active_now {
                let jn = r.name.clone().unwrap_or_default();
                let api: Api<Job> = Api::namespaced(self.client.clone(), r.namespace.as_deref().unwrap_or("default"));
                match api
                    .delete(
                        &jn,
                        &DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() },
                    )
                    .await
                {
                    Ok(_) => self.recorder.event(cj, NORMAL, "SuccessfulDelete", format!("Deleted job {jn}")),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => {
                        self.recorder.event(
                            cj,
                            WARNING,
                            "FailedDelete",
                            format!("Deleted job: {}", crate::controller_utils::pod::api_error_message(&e)),
                        );
                        return Err(e.into());
                    }
                }
            }
            status.active = None;
        }
        let template = spec.job_template;
        let tm = template.metadata.clone().unwrap_or_default();
        let mut annotations = tm.annotations.clone().unwrap_or_default();
        annotations.insert(
            SCHEDULED_TIMESTAMP.into(),
            scheduled.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string().replace("+00:00", "Z"),
        );
        let job = Job {
            metadata: ObjectMeta {
                name: Some(job_name.clone()),
                namespace: cj.metadata.namespace.clone(),
                labels: tm.labels.clone(),
                annotations: Some(annotations),
                owner_references: Some(vec![controller_ref(cj)]),
                ..Default::default()
            },
            spec: Some(template.spec.clone().unwrap_or_default()),
            status: None,
        };
        let api: Api<Job> = Api::namespaced(self.client.clone(), cj.metadata.namespace.as_deref().unwrap_or("default"));
        let created = match api.create(&PostParams::default(), &job).await {
            Ok(j) => j,
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Created by an earlier sync whose status write was lost: take it as ours.
                match api.get_opt(&job_name).await? {
                    Some(j)
                        if get_controller_of(&j.metadata).is_some_and(|r| Some(&r.uid) == cj.metadata.uid.as_ref()) =>
                    {
                        j
                    }
                    _ => return Ok(next_wait(now)),
                }
            }
            Err(e) if is_namespace_terminating_error(&e) => return Ok(None),
            Err(e) => {
                self.recorder.event(
                    cj,
                    WARNING,
                    "FailedCreate",
                    format!("Error creating job: {}", crate::controller_utils::pod::api_error_message(&e)),
                );
                return Err(e.into());
            }
        };
        self.recorder.event(cj, NORMAL, "SuccessfulCreate", format!("Created job {job_name}"));
        status.active.get_or_insert_with(Vec::new).push(job_ref(&created));
        status.last_schedule_time = Some(Time(scheduled));
        Ok(next_wait(now))
    }

    /// Deletes the oldest finished jobs past successfulJobsHistoryLimit/failedJobsHistoryLimit.
    async fn cleanup_finished(&self, cj: &CronJob, children: &[Arc<Job>]) -> Result<(), Error> {
        let spec = cj.spec.clone().unwrap_or_default();
        for (cond, limit) in
            [("Complete", spec.successful_jobs_history_limit), ("Failed", spec.failed_jobs_history_limit)]
        {
            let Some(limit) = limit else { continue };
            let mut done: Vec<&Arc<Job>> = children
                .iter()
                .filter(|j| finished(j) == Some(cond) && j.metadata.deletion_timestamp.is_none())
                .collect();
            let excess = done.len().saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
            if excess == 0 {
                continue;
            }
            done.sort_by_key(|j| {
                (
                    j.status.as_ref().and_then(|s| s.start_time.clone()).map(|t| t.0),
                    j.metadata.creation_timestamp.clone().map(|t| t.0),
                )
            });
            for j in done.into_iter().take(excess) {
                let jn = j.metadata.name.clone().unwrap_or_default();
                let api: Api<Job> =
                    Api::namespaced(self.client.clone(), j.metadata.namespace.as_deref().unwrap_or("default"));
                match api
                    .delete(
                        &jn,
                        &DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() },
                    )
                    .await
                {
                    Ok(_) => self.recorder.event(cj, NORMAL, "SuccessfulDelete", format!("Deleted job {jn}")),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }
}
