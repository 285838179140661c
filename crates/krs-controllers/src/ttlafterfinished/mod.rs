//! The TTL-after-finished controller: deletes a finished Job (in the foreground, so its pods
//! go first) ttlSecondsAfterFinished after it completed or failed.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};

use crate::Error;
use crate::controller_utils::pod::is_not_found;
use crate::controller_utils::run_workers;
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "ttl-after-finished-controller";

struct Controller {
    jobs: Arc<Informer<Job>>,
    queue: WorkQueue,
    client: kube::Client,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("ttl_jobs_to_delete");
    let c =
        Arc::new(Controller { jobs: ctx.factory.informer::<Job>(), queue: queue.clone(), client: ctx.client.clone() });
    {
        let q = queue.clone();
        c.jobs.add_handler(move |e| {
            let job = match e {
                Event::Added(j) | Event::Updated { new: j, .. } => j,
                Event::Deleted(_) => return,
            };
            if needs_cleanup(job) {
                q.add(key_of(job.as_ref()));
            }
        });
    }
    let workers = ctx.options.concurrent_ttl_after_finished_syncs;
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

/// When the job finished (its Complete or Failed condition's transition).
fn finish_time(job: &Job) -> Option<Timestamp> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

fn needs_cleanup(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished).is_some()
        && finish_time(job).is_some()
        && job.metadata.deletion_timestamp.is_none()
}

/// How long until `job` expires; zero when it has.
fn time_left(job: &Job, now: Timestamp) -> Option<Duration> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let expire = finish_time(job)? + jiff::SignedDuration::from_secs(i64::from(ttl));
    Some(Duration::try_from(expire.duration_since(now)).unwrap_or(Duration::ZERO))
}

impl Controller {
    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let Some(job) = self.jobs.get(ns, name) else { return Ok(()) };
        if !needs_cleanup(&job) {
            return Ok(());
        }
        let Some(left) = time_left(&job, Timestamp::now()) else { return Ok(()) };
        if !left.is_zero() {
            self.queue.add_after(key.to_string(), left);
            return Ok(());
        }
        // The cache may be stale: the TTL could have been raised since. Decide on the live job.
        let api: Api<Job> = Api::namespaced(self.client.clone(), ns.unwrap_or("default"));
        let Some(fresh) = api.get_opt(name).await? else { return Ok(()) };
        if !needs_cleanup(&fresh) {
            return Ok(());
        }
        if let Some(left) = time_left(&fresh, Timestamp::now())
            && !left.is_zero()
        {
            self.queue.add_after(key.to_string(), left);
            return Ok(());
        }
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Foreground),
            preconditions: Some(Preconditions { uid: fresh.metadata.uid.clone(), resource_version: None }),
            ..Default::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
