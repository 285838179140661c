//! The Job controller against a real API server, with pod status driven by the test.

use crate::common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use krs_controllers::ControllerManagerOptions;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn manager(client: kube::Client) -> Manager {
    Manager::with_options(
        client,
        ControllerManagerOptions {
            controllers: vec!["job".into()],
            leader_elect: false,
            job_pod_failure_backoff: Duration::from_millis(10),
            ..Default::default()
        },
    )
}

fn job(name: &str, spec: serde_json::Value) -> Job {
    let mut v = json!({
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}
    });
    if let (Some(s), Some(extra)) = (v["spec"].as_object_mut(), spec.as_object()) {
        s.extend(extra.clone());
    }
    serde_json::from_value(v).expect("job")
}

fn cond(j: &Job, type_: &str) -> Option<(String, String, String)> {
    let c = j.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()))
}

async fn wait_cond(api: &Api<Job>, name: &str, type_: &str) -> Job {
    wait_for(&format!("{name} {type_}"), || async {
        let j = api.get(name).await.ok()?;
        (cond(&j, type_).is_some_and(|c| c.0 == "True")).then_some(j)
    })
    .await
}

async fn wait_running(client: &kube::Client, name: &str, n: usize) -> Vec<Pod> {
    wait_for(&format!("{n} running pods of {name}"), || async {
        let pods = running_pods(client, "default", name).await;
        (pods.len() == n).then_some(pods)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonindexed_job_runs_parallel_pods_to_completion() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &job("batch", json!({"completions": 3, "parallelism": 2})))
        .await
        .expect("create");
    for _ in 0..2 {
        let pods = wait_running(&client, "batch", 2.min(3 - count_succeeded(&api, "batch").await as usize)).await;
        assert!(
            pods.iter().all(|p| p
                .metadata
                .finalizers
                .iter()
                .flatten()
                .any(|f| f == "batch.kubernetes.io/job-tracking"))
        );
        for p in &pods {
            finish_pod(&client, p, 0).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let out = kubectl_ok(&server, &["wait", "--for=condition=Complete", "job/batch", "--timeout=60s"]).await;
    assert!(out.contains("condition met"), "{out}");
    let j = api.get("batch").await.expect("job");
    let s = j.status.clone().unwrap_or_default();
    assert_eq!((s.succeeded, s.failed.unwrap_or(0), s.active), (Some(3), 0, Some(0)));
    assert!(s.completion_time.is_some());
    assert_eq!(cond(&j, "SuccessCriteriaMet").map(|c| c.1), Some("CompletionsReached".into()));
    assert_eq!(cond(&j, "Complete").map(|c| c.2), Some("Reached expected number of succeeded pods".into()));
    let pods = list_pods(&client, "default", "batch.kubernetes.io/job-name=batch").await;
    assert!(
        pods.iter().all(|p| p.metadata.finalizers.iter().flatten().all(|f| f != "batch.kubernetes.io/job-tracking")),
        "finalizers released"
    );
}

async fn count_succeeded(api: &Api<Job>, name: &str) -> i32 {
    api.get(name).await.ok().and_then(|j| j.status).and_then(|s| s.succeeded).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_job_exposes_the_completion_index_and_tracks_completed_indexes() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &job("idx", json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"})),
    )
    .await
    .expect("create");
    let mut pods = wait_running(&client, "idx", 3).await;
    let index = |p: &Pod| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("batch.kubernetes.io/job-completion-index"))
            .cloned()
            .unwrap_or_default()
    };
    pods.sort_by_key(index);
    for (i, p) in pods.iter().enumerate() {
        assert_eq!(index(p), i.to_string());
        assert_eq!(
            p.metadata.labels.as_ref().and_then(|l| l.get("batch.kubernetes.io/job-completion-index")),
            Some(&i.to_string())
        );
        let spec = p.spec.clone().unwrap_or_default();
        assert_eq!(spec.hostname, Some(format!("idx-{i}")));
        let env = spec.containers[0].env.clone().unwrap_or_default();
        let var = env.iter().find(|e| e.name == "JOB_COMPLETION_INDEX").expect("JOB_COMPLETION_INDEX");
        let path = var.value_from.as_ref().and_then(|v| v.field_ref.as_ref()).map(|f| f.field_path.clone());
        assert_eq!(path.as_deref(), Some("metadata.annotations['batch.kubernetes.io/job-completion-index']"));
        assert!(p.metadata.name.as_deref().unwrap_or_default().starts_with(&format!("idx-{i}-")));
    }
    finish_pod(&client, &pods[0], 0).await;
    finish_pod(&client, &pods[2], 0).await;
    wait_for("completedIndexes 0,2", || async {
        (api.get("idx").await.ok()?.status?.completed_indexes.as_deref() == Some("0,2")).then_some(())
    })
    .await;
    finish_pod(&client, &pods[1], 0).await;
    let j = wait_cond(&api, "idx", "Complete").await;
    assert_eq!(j.status.and_then(|s| s.completed_indexes).as_deref(), Some("0-2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_failure_policy_on_exit_codes_ignores_then_fails_the_job() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    let policy = json!({"rules": [
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [1]}},
        {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In", "values": [42]}}
    ]});
    api.create(&PostParams::default(), &job("pfp", json!({"backoffLimit": 0, "podFailurePolicy": policy})))
        .await
        .expect("create");
    let first = wait_running(&client, "pfp", 1).await.remove(0);
    finish_pod(&client, &first, 1).await;
    let second = wait_for("a replacement for the ignored failure", || async {
        running_pods(&client, "default", "pfp").await.into_iter().find(|p| p.metadata.uid != first.metadata.uid)
    })
    .await;
    let j = api.get("pfp").await.expect("job");
    assert_eq!(j.status.as_ref().and_then(|s| s.failed).unwrap_or(0), 0, "an ignored failure does not count");
    finish_pod(&client, &second, 42).await;
    let j = wait_cond(&api, "pfp", "Failed").await;
    let name = second.metadata.name.clone().unwrap_or_default();
    let (_, reason, message) = cond(&j, "Failed").expect("Failed");
    assert_eq!(reason, "PodFailurePolicy");
    assert_eq!(
        message,
        format!("Container c for pod default/{name} failed with exit code 42 matching FailJob rule at index 1")
    );
    assert_eq!(cond(&j, "FailureTarget").map(|c| c.1), Some("PodFailurePolicy".into()));
    assert_eq!(j.status.and_then(|s| s.failed), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_replacement_policy_failed_waits_for_the_failed_phase() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &job("prp", json!({"podReplacementPolicy": "Failed"}))).await.expect("create");
    let first = wait_running(&client, "prp", 1).await.remove(0);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.delete(first.metadata.name.as_deref().unwrap_or_default(), &DeleteParams::default()).await.expect("delete");
    wait_for("terminating 1", || async { (api.get("prp").await.ok()?.status?.terminating == Some(1)).then_some(()) })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(running_pods(&client, "default", "prp").await.is_empty(), "no replacement while the pod terminates");
    let terminating =
        pods.get(first.metadata.name.as_deref().unwrap_or_default()).await.expect("still there (finalizer)");
    finish_pod(&client, &terminating, 137).await;
    wait_running(&client, "prp", 1).await;
    // The replacement may be created before the status counting the failure is written.
    wait_for("failed 1", || async { (api.get("prp").await.ok()?.status?.failed == Some(1)).then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &job("sus", json!({"suspend": true, "parallelism": 2, "completions": 4})))
        .await
        .expect("create");
    let j = wait_cond(&api, "sus", "Suspended").await;
    assert_eq!(cond(&j, "Suspended").map(|c| (c.1, c.2)), Some(("JobSuspended".into(), "Job suspended".into())));
    assert!(j.status.as_ref().and_then(|s| s.start_time.as_ref()).is_none(), "a suspended job has not started");
    assert!(running_pods(&client, "default", "sus").await.is_empty());
    // Scheduling directives of a suspended job may change.
    let patch = json!({"spec": {"suspend": false, "template": {"spec": {"nodeSelector": {"zone": "a"}}}}});
    api.patch("sus", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("resume");
    let pods = wait_running(&client, "sus", 2).await;
    assert!(pods.iter().all(|p| {
        p.spec.as_ref().and_then(|s| s.node_selector.as_ref()).and_then(|n| n.get("zone")).map(String::as_str)
            == Some("a")
    }));
    let j = wait_for("JobResumed", || async {
        let j = api.get("sus").await.ok()?;
        (cond(&j, "Suspended").is_some_and(|c| c.0 == "False" && c.1 == "JobResumed")).then_some(j)
    })
    .await;
    assert!(j.status.and_then(|s| s.start_time).is_some());
    api.patch("sus", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"suspend": true}})))
        .await
        .expect("suspend");
    wait_for("pods removed on suspend", || async {
        running_pods(&client, "default", "sus").await.is_empty().then_some(())
    })
    .await;
    wait_cond(&api, "sus", "Suspended").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_limit_per_index_marks_failed_indexes() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &job(
            "bpi",
            json!({"completions": 2, "parallelism": 2, "completionMode": "Indexed", "backoffLimitPerIndex": 1}),
        ),
    )
    .await
    .expect("create");
    let index_pod = |pods: Vec<Pod>, i: &str| {
        pods.into_iter().find(|p| {
            p.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("batch.kubernetes.io/job-completion-index"))
                .map(String::as_str)
                == Some(i)
        })
    };
    let pods = wait_running(&client, "bpi", 2).await;
    let zero = index_pod(pods.clone(), "0").expect("index 0");
    let one = index_pod(pods, "1").expect("index 1");
    finish_pod(&client, &zero, 3).await;
    let retry = wait_for("index 0 retried", || async {
        index_pod(running_pods(&client, "default", "bpi").await, "0").filter(|p| p.metadata.uid != zero.metadata.uid)
    })
    .await;
    assert_eq!(
        retry
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("batch.kubernetes.io/job-index-failure-count"))
            .map(String::as_str),
        Some("1")
    );
    finish_pod(&client, &retry, 3).await;
    wait_for("failedIndexes 0", || async {
        (api.get("bpi").await.ok()?.status?.failed_indexes.as_deref() == Some("0")).then_some(())
    })
    .await;
    finish_pod(&client, &one, 0).await;
    let j = wait_cond(&api, "bpi", "Failed").await;
    assert_eq!(cond(&j, "Failed").map(|c| (c.1, c.2)), Some(("FailedIndexes".into(), "Job has failed indexes".into())));
    assert_eq!(j.status.and_then(|s| s.completed_indexes).as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_policy_and_active_deadline() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = manager(client.clone());
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    let policy = json!({"rules": [{"succeededIndexes": "0"}]});
    api.create(
        &PostParams::default(),
        &job("lead", json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed", "successPolicy": policy})),
    )
    .await
    .expect("create");
    let pods = wait_running(&client, "lead", 3).await;
    let leader = pods
        .iter()
        .find(|p| {
            p.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("batch.kubernetes.io/job-completion-index"))
                .map(String::as_str)
                == Some("0")
        })
        .expect("index 0");
    finish_pod(&client, leader, 0).await;
    let j = wait_cond(&api, "lead", "Complete").await;
    assert_eq!(
        cond(&j, "SuccessCriteriaMet").map(|c| (c.1, c.2)),
        Some(("SuccessPolicy".into(), "Matched rules at index 0".into()))
    );
    assert!(running_pods(&client, "default", "lead").await.is_empty(), "the other indexes were stopped");

    api.create(&PostParams::default(), &job("late", json!({"activeDeadlineSeconds": 1}))).await.expect("create");
    let j = wait_cond(&api, "late", "Failed").await;
    assert_eq!(
        cond(&j, "Failed").map(|c| (c.1, c.2)),
        Some(("DeadlineExceeded".into(), "Job was active longer than specified deadline".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_seconds_after_finished_deletes_the_job_and_its_pods() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = Manager::with_options(
        client.clone(),
        ControllerManagerOptions {
            controllers: vec!["job".into(), "ttl-after-finished".into(), "garbagecollector".into()],
            leader_elect: false,
            job_pod_failure_backoff: Duration::from_millis(10),
            ..Default::default()
        },
    );
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &job("short", json!({"ttlSecondsAfterFinished": 2}))).await.expect("create");
    let pod = wait_running(&client, "short", 1).await.remove(0);
    finish_pod(&client, &pod, 0).await;
    let j = wait_cond(&api, "short", "Complete").await;
    let finished = std::time::Instant::now();
    assert!(api.get_opt("short").await.expect("get").is_some(), "kept until the TTL passes");
    wait_for("the job to be deleted", || async {
        api.get_opt("short").await.ok().and_then(|o| o.is_none().then_some(()))
    })
    .await;
    assert!(finished.elapsed() >= Duration::from_millis(1000), "deleted only after its TTL");
    wait_for("its pods to be deleted", || async {
        list_pods(&client, "default", "batch.kubernetes.io/job-name=short").await.is_empty().then_some(())
    })
    .await;
    drop(j);
}
