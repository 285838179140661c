//! The CronJob controller against a real API server.

mod common;

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
    list.items.into_iter().find(|e| e.reason.as_deref() == Some(reason)).and_then(|e| e.note)
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
    api.create(&PostParams::default(), &cronjob("tokyo", "0 9 * * *", json!({"timeZone": "Asia/Tokyo", "suspend": true}))).await.expect("create");
    // Missed for two days: only the most recent 09:00 Tokyo time runs.
    let long_ago = Timestamp::now() - 48.hours();
    api.patch_status("tokyo", &PatchParams::default(), &Patch::Merge(&json!({"status": {"lastScheduleTime": long_ago.to_string()}}))).await.expect("status");
    api.patch("tokyo", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": false}}))).await.expect("resume");

    let tz = TimeZone::get("Asia/Tokyo").expect("tzdb");
    let now = Timestamp::now().to_zoned(tz.clone());
    let mut expected = now.with().hour(9).minute(0).second(0).subsec_nanosecond(0).build().expect("time");
    if expected > now {
        expected = expected.yesterday().expect("yesterday");
    }
    let jobs = wait_for("the job", || async { Some(owned_jobs(&client, "tokyo").await).filter(|j| !j.is_empty()) }).await;
    assert_eq!(jobs.len(), 1, "one job for the most recent missed time");
    let job = &jobs[0];
    assert_eq!(job.metadata.name.clone().unwrap_or_default(), format!("tokyo-{}", expected.timestamp().as_second() / 60));
    let stamp = job.metadata.annotations.as_ref().and_then(|a| a.get("batch.kubernetes.io/cronjob-scheduled-timestamp")).cloned().unwrap_or_default();
    assert_eq!(stamp, expected.strftime("%Y-%m-%dT09:00:00+09:00").to_string());
    let cj = wait_for("lastScheduleTime", || async {
        let cj = api.get("tokyo").await.ok()?;
        cj.status.as_ref()?.last_schedule_time.as_ref()?;
        Some(cj)
    })
    .await;
    assert_eq!(cj.status.as_ref().and_then(|s| s.last_schedule_time.as_ref()).map(|t| t.0), Some(expected.timestamp()));
    assert_eq!(cj.status.and_then(|s| s.active).map(|a| a.len()), Some(1));
    assert!(has_event(&client, "SuccessfulCreate").await.is_some_and(|n| n.starts_with("Created job tokyo-")));
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
    api.patch_status("busy", &PatchParams::default(), &Patch::Merge(&json!({"status": {"lastScheduleTime": long_ago.to_string()}}))).await.expect("status");
    api.patch("busy", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": false}}))).await.expect("resume");
    let note = wait_for("TooManyMissedTimes", || has_event(&client, "TooManyMissedTimes")).await;
    assert!(note.starts_with("too many missed start times: "), "{note}");
    wait_for("a job for the latest minute", || async { (owned_jobs(&client, "busy").await.len() == 1).then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_policies_and_history_limits() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<CronJob> = Api::namespaced(client.clone(), "default");

    // Forbid: while the first job runs, later times start nothing.
    api.create(&PostParams::default(), &cronjob("forbid", "@every 1s", json!({"concurrencyPolicy": "Forbid"}))).await.expect("create");
    wait_for("the first job", || async { (owned_jobs(&client, "forbid").await.len() == 1).then_some(()) }).await;
    let note = wait_for("JobAlreadyActive", || has_event(&client, "JobAlreadyActive")).await;
    assert_eq!(note, "Not starting job because prior execution is running and concurrency policy is Forbid");
    assert_eq!(owned_jobs(&client, "forbid").await.len(), 1);
    api.patch("forbid", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": true}}))).await.expect("suspend");

    // Replace: each new time replaces the running job.
    api.create(&PostParams::default(), &cronjob("replace", "@every 1s", json!({"concurrencyPolicy": "Replace"}))).await.expect("create");
    let first = wait_for("the first job", || async { owned_jobs(&client, "replace").await.into_iter().next() }).await;
    wait_for("the first job to be replaced", || async {
        let jobs = owned_jobs(&client, "replace").await;
        (!jobs.iter().any(|j| j.metadata.uid == first.metadata.uid && j.metadata.deletion_timestamp.is_none()) && !jobs.is_empty()).then_some(())
    })
    .await;
    api.patch("replace", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": true}}))).await.expect("suspend");

    // History: finished jobs beyond successfulJobsHistoryLimit are deleted, oldest first.
    api.create(&PostParams::default(), &cronjob("hist", "@every 1s", json!({"successfulJobsHistoryLimit": 1}))).await.expect("create");
    let deadline = std::time::Instant::now() + DEADLINE;
    let mut completed_names = Vec::new();
    while completed_names.len() < 3 {
        assert!(std::time::Instant::now() < deadline, "jobs did not complete");
        for pod in list_pods(&client, "default", "").await {
            let owner = pod.metadata.owner_references.iter().flatten().any(|r| r.name.starts_with("hist-"));
            let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            if owner && phase != "Succeeded" && pod.metadata.deletion_timestamp.is_none() {
                finish_pod(&client, &pod, 0).await;
            }
        }
        for j in owned_jobs(&client, "hist").await {
            let done = j.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Complete" && c.status == "True"));
            let n = j.metadata.name.clone().unwrap_or_default();
            if done && !completed_names.contains(&n) {
                completed_names.push(n);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    api.patch("hist", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": true}}))).await.expect("suspend");
    wait_for("one finished job kept", || async {
        let done: Vec<Job> = owned_jobs(&client, "hist")
            .await
            .into_iter()
            .filter(|j| j.metadata.deletion_timestamp.is_none() && j.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Complete")))
            .collect();
        (done.len() == 1).then_some(())
    })
    .await;
    let cj = api.get("hist").await.expect("cronjob");
    assert!(cj.status.and_then(|s| s.last_successful_time).is_some());
    assert!(has_event(&client, "SawCompletedJob").await.is_some_and(|n| n.contains(", condition: Complete")));
}
