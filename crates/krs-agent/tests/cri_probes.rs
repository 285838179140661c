//! Probes, restarts with back-off, lifecycle hooks, graceful termination and resource limits,
//! on real containers.

use crate::common;

use std::time::Duration;

use common::cri::{Env, NODE};
use common::{RunningAgent, eventually, phase, pod, prepare_namespace, ready, wait_pod};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::api::events::v1::Event;
use krs_agent::testing::BUSYBOX_IMAGE;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

const T: Duration = Duration::from_secs(90);

fn container(p: &Pod, i: usize) -> ContainerStatus {
    p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.get(i).cloned()).unwrap_or_default()
}

#[test]
fn cri_liveness_backoff_hooks_and_limits() {
    let Some(env) = Env::start() else { return };
    let hostdir = env.node.dir.join("hooks");
    std::fs::create_dir_all(&hostdir).expect("hooks dir");
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let agent = RunningAgent::start(client.clone(), env.options());
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pp = PostParams::default();

        // A liveness probe that starts failing: the container is killed and restarted.
        let live = pod(NODE, serde_json::json!({
            "metadata": {"name": "live"},
            "spec": {"terminationGracePeriodSeconds": 2, "containers": [{"name": "c", "image": BUSYBOX_IMAGE,
                "command": ["sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; sleep 600"],
                "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1,
                                   "terminationGracePeriodSeconds": 1}}]}
        }));
        pods.create(&pp, &live).await.expect("create live");
        let restarted = wait_pod(&pods, "live", T, "restarted by liveness", |p| container(p, 0).restart_count >= 1).await;
        let last = container(&restarted, 0).last_state.and_then(|s| s.terminated).expect("last state");
        assert_eq!(last.exit_code, 137, "killed: {last:?}");

        // A crashing container backs off: CrashLoopBackOff with the restart count growing.
        let crash = pod(NODE, serde_json::json!({
            "metadata": {"name": "crash"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sh", "-c", "exit 1"]}]}
        }));
        pods.create(&pp, &crash).await.expect("create crash");
        let backing_off = wait_pod(&pods, "crash", T, "in CrashLoopBackOff", |p| {
            container(p, 0).state.and_then(|s| s.waiting).and_then(|w| w.reason).as_deref() == Some("CrashLoopBackOff")
        })
        .await;
        let c = container(&backing_off, 0);
        assert!(c.restart_count >= 1, "{c:?}");
        let msg = c.state.and_then(|s| s.waiting).and_then(|w| w.message).unwrap_or_default();
        assert!(msg.starts_with("back-off 10s restarting failed container=c pod=crash_default("), "{msg}");
        assert_eq!(c.last_state.and_then(|s| s.terminated).map(|t| t.exit_code), Some(1));
        assert_eq!(phase(&backing_off), "Running", "restartPolicy Always keeps the pod Running");

        // The kubelet said so in events: the failed probe, the kill, the back-off.
        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        let reasons = |pod: &'static str| {
            let events = events.clone();
            async move {
                let list = events.list(&Default::default()).await.ok()?;
                let found: Vec<(String, String)> = list
                    .items
                    .into_iter()
                    .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(pod))
                    .filter_map(|e| Some((e.reason?, e.note?)))
                    .collect();
                Some(found)
            }
        };
        eventually(T, "Unhealthy and Killing events of live", || async {
            let found = reasons("live").await?;
            let unhealthy = found.iter().any(|(r, n)| r == "Unhealthy" && n.starts_with("Liveness probe failed: "));
            let killing =
                found.iter().any(|(r, n)| r == "Killing" && n == "Container c failed liveness probe, will be restarted");
            (unhealthy && killing).then_some(())
        })
        .await;
        eventually(T, "the BackOff event of crash", || async {
            let found = reasons("crash").await?;
            found
                .iter()
                .any(|(r, n)| r == "BackOff" && n.starts_with("Back-off restarting failed container c in pod crash_default("))
                .then_some(())
        })
        .await;

        // Hooks: postStart writes a file, preStop writes another before the container is
        // stopped; limits land in the container's cgroup.
        let hooks = pod(NODE, serde_json::json!({
            "metadata": {"name": "hooks"},
            "spec": {"terminationGracePeriodSeconds": 10, "containers": [{"name": "c", "image": BUSYBOX_IMAGE,
                "command": ["sh", "-c", "cat /proc/self/cgroup > /hooks/cgroup; trap 'exit 0' TERM; while :; do sleep 1; done"],
                "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}},
                "lifecycle": {
                    "postStart": {"exec": {"command": ["sh", "-c", "echo started > /hooks/poststart"]}},
                    "preStop": {"exec": {"command": ["sh", "-c", "echo stopping > /hooks/prestop; sleep 1"]}}},
                "volumeMounts": [{"name": "hooks", "mountPath": "/hooks"}]}],
                "volumes": [{"name": "hooks", "hostPath": {"path": hostdir.to_string_lossy(), "type": "Directory"}}]}
        }));
        pods.create(&pp, &hooks).await.expect("create hooks");
        let running = wait_pod(&pods, "hooks", T, "Running", |p| phase(p) == "Running" && ready(p)).await;
        assert_eq!(std::fs::read_to_string(hostdir.join("poststart")).ok().as_deref(), Some("started\n"));
        let id = container(&running, 0).container_id.unwrap_or_default().trim_start_matches("containerd://").to_owned();
        let uid = running.metadata.uid.clone().unwrap_or_default();
        // Limits without requests: requests default to the limits, so the pod is Guaranteed and
        // its cgroup sits right under kubepods.
        assert_eq!(running.status.as_ref().and_then(|s| s.qos_class.as_deref()), Some("Guaranteed"));
        let cg = format!("/sys/fs/cgroup/memory/kubepods/pod{uid}/{id}/memory.limit_in_bytes");
        let v2 = format!("/sys/fs/cgroup/kubepods/pod{uid}/{id}/memory.max");
        let limit = std::fs::read_to_string(&cg).or_else(|_| std::fs::read_to_string(&v2)).unwrap_or_default();
        let seen = std::fs::read_to_string(hostdir.join("cgroup")).unwrap_or_default();
        assert_eq!(limit.trim(), (64u64 << 20).to_string(), "memory limit in {cg}; the container's cgroups:\n{seen}");
        let quota = std::fs::read_to_string(format!("/sys/fs/cgroup/cpu,cpuacct/kubepods/pod{uid}/{id}/cpu.cfs_quota_us"))
            .or_else(|_| std::fs::read_to_string(format!("/sys/fs/cgroup/cpu/kubepods/pod{uid}/{id}/cpu.cfs_quota_us")))
            .unwrap_or_default();
        assert_eq!(quota.trim(), "25000", "CPU quota");
        pods.delete("hooks", &DeleteParams::default()).await.expect("delete hooks");
        let deadline = std::time::Instant::now() + T;
        while pods.get("hooks").await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "hooks pod not deleted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(std::fs::read_to_string(hostdir.join("prestop")).ok().as_deref(), Some("stopping\n"), "preStop ran");

        // activeDeadlineSeconds: the pod fails with DeadlineExceeded.
        let deadline_pod = pod(NODE, serde_json::json!({
            "metadata": {"name": "deadline"},
            "spec": {"activeDeadlineSeconds": 2, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "600"]}]}
        }));
        pods.create(&pp, &deadline_pod).await.expect("create deadline");
        let failed = wait_pod(&pods, "deadline", T, "Failed", |p| phase(p) == "Failed").await;
        assert_eq!(failed.status.and_then(|s| s.reason).as_deref(), Some("DeadlineExceeded"));
        agent.stop().await.expect("agent");
    });
}
