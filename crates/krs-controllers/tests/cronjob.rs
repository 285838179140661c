//! The CronJob controller against a real API server.

use crate::common;

use std::time::Duration;

use common::*;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::events::v1::Event;
use krs_controllers::ControllerManagerOptions;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn cronjob(name: &str, schedule: &str, extra: serde_json::Value) -> CronJob {
    let mut v = json!({
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}
        }
    });
    if let (Some(s), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
        s.extend(extra.clone());
    }
    serde_json::from_value(v).expect("cronjob")
}

async fn owned_jobs(client: &kube::Client, cj: &str) -> Vec<Job> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let mut list: Vec<Job> = jobs
        .list(&ListParams::default())
        .await
        .expect("jobs")
        .items
        .into_iter()
        .filter(|j| j.metadata.owner_references.iter().flatten().any(|r| r.kind == "CronJob" && r.name == cj))
        .collect();
    list.sort_by_key(|j| j.metadata.name.clone());
    list
}

async fn has_event(client: &kube::Client, reason: &str) -> Option<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await.ok()?;
    list.items
        .into_iter()
        .find(|e| {
            e.reason.as_deref() == Some(reason) && e.reporting_controller.as_deref() == Some("cronjob-controller")
        })
        .and_then(|e| e.note)
}

fn manager(client: kube::Client) -> Manager {
    Manager::with_options(
        client,
        ControllerManagerOptions {
            controllers: vec!["cronjob".into(), "job".into()],
            leader_elect: false,
            job_pod_failure_backoff: Duration::from_millis(10),
            ..Default::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cronjob_with_a_time_zone_runs_the_most_recent_missed_schedule() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<CronJob> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &cronjob("tokyo", "0 9 * * *", json!({"timeZone": "Asia/Tokyo", "suspend": true})),
    )
    .await
    .expect("create");
    // Missed for two days: only the most recent 09:00 Tokyo time runs.
    let long_ago = Timestamp::now() - 48.hours();
    api.patch_status(
        "tokyo",
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"lastScheduleTime": long_ago.to_string()}})),
    )
    .await
    .expect("status");
    api.patch("tokyo", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": false}})))
        .await
        .expect("resume");

    let tz = TimeZone::get("Asia/Tokyo").expect("tzdb");
    let now = Timestamp::now().to_zoned(tz.clone());
    let mut expected = now.with().hour(9).minute(0).second(0).subsec_nanosecond(0).build().expect("time");
    if expected > now {
        expected = expected.yesterday().expect("yesterday");
    }
    let jobs =
        wait_for("the job", || async { Some(owned_jobs(&client, "tokyo").await).filter(|j| !j.is_empty()) }).await;
    assert_eq!(jobs.len(), 1, "one job for the most recent missed time");
    let job = &jobs[0];
    assert_eq!(
        job.metadata.name.clone().unwrap_or_default(),
        format!("tokyo-{}", expected.timestamp().as_second() / 60)
    );
    let stamp = job
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("batch.kubernetes.io/cronjob-scheduled-timestamp"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(stamp, expected.strftime("%Y-%m-%dT09:00:00+09:00").to_string());
    // The job is visible before the status write that records it: wait for lastScheduleTime to
    // move off the value this test set (a timeout here means it never reached `expected`).
    let cj = wait_for("lastScheduleTime at the most recent missed time", || async {
        let cj = api.get("tokyo").await.ok()?;
        (cj.status.as_ref()?.last_schedule_time.as_ref()?.0 == expected.timestamp()).then_some(cj)
    })
    .await;
    assert_eq!(cj.status.and_then(|s| s.active).map(|a| a.len()), Some(1));
    let note = wait_for("SuccessfulCreate", || has_event(&client, "SuccessfulCreate")).await;
    assert!(note.starts_with("Created job tokyo-"), "{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_missed_start_times_are_reported() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<CronJob> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &cronjob("busy", "* * * * *", json!({"suspend": true}))).await.expect("create");
    let long_ago = Timestamp::now() - 5.hours();
    api.patch_status(
        "busy",
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"lastScheduleTime": long_ago.to_string()}})),
    )
    .await
    .expect("status");
    api.patch("busy", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": false}})))
        .await
        .expect("resume");
    let note = wait_for("TooManyMissedTimes", || has_event(&client, "TooManyMissedTimes")).await;
    assert!(note.starts_with("too many missed start times: "), "{note}");
    wait_for("a job for the latest minute", || async { (owned_jobs(&client, "busy").await.len() == 1).then_some(()) })
        .await;
}

/// A job of `cj` created by hand (as if by an earlier schedule), so tests need not wait for
/// minute boundaries.
async fn child_job(client: &kube::Client, cj: &CronJob, name: &str) -> Job {
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "CronJob", "name": cj.metadata.name, "uid": cj.metadata.uid,
            "controller": true, "blockOwnerDeletion": true
        }]},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .expect("job");
    Api::<Job>::namespaced(client.clone(), "default").create(&PostParams::default(), &job).await.expect("create job")
}

/// Makes the schedule due now: the last run three minutes ago, then unsuspended.
async fn make_due(api: &Api<CronJob>, name: &str) {
    let earlier = Timestamp::now() - 3.minutes();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"lastScheduleTime": earlier.to_string()}})),
    )
    .await
    .expect("status");
    api.patch(name, &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": false}})))
        .await
        .expect("resume");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_policies_and_history_limits() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<CronJob> = Api::namespaced(client.clone(), "default");

    // Forbid: while a job runs, a due time starts nothing.
    let cj = api
        .create(
            &PostParams::default(),
            &cronjob("forbid", "* * * * *", json!({"concurrencyPolicy": "Forbid", "suspend": true})),
        )
        .await
        .expect("create");
    child_job(&client, &cj, "forbid-running").await;
    wait_for("the running job in the active list", || async {
        (api.get("forbid").await.ok()?.status?.active?.len() == 1).then_some(())
    })
    .await;
    make_due(&api, "forbid").await;
    let note = wait_for("JobAlreadyActive", || has_event(&client, "JobAlreadyActive")).await;
    assert_eq!(note, "Not starting job because prior execution is running and concurrency policy is Forbid");
    assert_eq!(owned_jobs(&client, "forbid").await.len(), 1);

    // Replace: the running job is deleted and the due one created.
    let cj = api
        .create(
            &PostParams::default(),
            &cronjob("replace", "* * * * *", json!({"concurrencyPolicy": "Replace", "suspend": true})),
        )
        .await
        .expect("create");
    child_job(&client, &cj, "replace-running").await;
    wait_for("the running job in the active list", || async {
        (api.get("replace").await.ok()?.status?.active?.len() == 1).then_some(())
    })
    .await;
    make_due(&api, "replace").await;
    wait_for("the running job replaced", || async {
        let jobs = owned_jobs(&client, "replace").await;
        let live: Vec<String> = jobs
            .iter()
            .filter(|j| j.metadata.deletion_timestamp.is_none())
            .filter_map(|j| j.metadata.name.clone())
            .collect();
        (live.len() == 1 && live[0] != "replace-running").then_some(())
    })
    .await;
    let note = wait_for("SuccessfulDelete", || has_event(&client, "SuccessfulDelete")).await;
    assert_eq!(note, "Deleted job replace-running");

    // History: finished jobs past successfulJobsHistoryLimit are deleted, oldest first.
    let cj = api
        .create(
            &PostParams::default(),
            &cronjob("hist", "* * * * *", json!({"successfulJobsHistoryLimit": 1, "suspend": true})),
        )
        .await
        .expect("create");
    for n in ["hist-1", "hist-2", "hist-3"] {
        child_job(&client, &cj, n).await;
        let pod =
            wait_for("the job's pod", || async { running_pods(&client, "default", n).await.into_iter().next() }).await;
        finish_pod(&client, &pod, 0).await;
        wait_for("the job to complete", || async {
            let j = Api::<Job>::namespaced(client.clone(), "default").get(n).await.ok()?;
            j.status?.conditions?.iter().any(|c| c.type_ == "Complete").then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    wait_for("only the newest finished job kept", || async {
        let names: Vec<String> = owned_jobs(&client, "hist")
            .await
            .into_iter()
            .filter(|j| j.metadata.deletion_timestamp.is_none())
            .filter_map(|j| j.metadata.name)
            .collect();
        (names == ["hist-3"]).then_some(())
    })
    .await;
    let cj = api.get("hist").await.expect("cronjob");
    assert!(cj.status.and_then(|s| s.last_successful_time).is_some());
    let note = wait_for("SawCompletedJob", || has_event(&client, "SawCompletedJob")).await;
    assert!(note.contains(", condition: Complete"), "{note}");
}
