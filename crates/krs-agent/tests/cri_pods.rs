//! Real pods through containerd: networking, init containers, completion, failure, deletion.

use crate::common;

use std::time::Duration;

use common::cri::{Env, NODE};
use common::{RunningAgent, eventually, phase, pod, prepare_namespace, ready, wait_pod};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use krs_agent::testing::BUSYBOX_IMAGE;
use kube::Api;
use kube::api::{DeleteParams, PostParams, WatchEvent, WatchParams};

const T: Duration = Duration::from_secs(60);

#[test]
fn cri_pods_run_talk_complete_and_terminate() {
    let Some(env) = Env::start() else { return };
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let agent = RunningAgent::start(client.clone(), env.options());
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pp = PostParams::default();

        // A web server with a readiness probe: Running, Ready, with an address on the pod network.
        let web = pod(NODE, serde_json::json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "initContainers": [{"name": "setup", "image": BUSYBOX_IMAGE,
                    "command": ["sh", "-c", "echo initialized-first > /www/index.html"],
                    "volumeMounts": [{"name": "www", "mountPath": "/www"}]}],
                "containers": [{"name": "httpd", "image": BUSYBOX_IMAGE,
                    "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "readinessProbe": {"httpGet": {"path": "/index.html", "port": "http"}, "periodSeconds": 1},
                    "volumeMounts": [{"name": "www", "mountPath": "/www"}]}],
                "volumes": [{"name": "www", "emptyDir": {}}]
            }
        }));
        pods.create(&pp, &web).await.expect("create web");
        let web = wait_pod(&pods, "web", T, "Running and Ready", |p| phase(p) == "Running" && ready(p)).await;
        let status = web.status.clone().unwrap_or_default();
        let ip = status.pod_ip.clone().expect("pod IP");
        assert!(ip.starts_with("10.88.0."), "pod IP {ip} from the node's pod CIDR");
        let init = status.init_container_statuses.clone().unwrap_or_default();
        let t = init.first().and_then(|s| s.state.clone()).and_then(|s| s.terminated).expect("init terminated");
        assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
        let main = status.container_statuses.clone().unwrap_or_default();
        assert!(main[0].image_id.starts_with("sha256:") || main[0].image_id.contains('@'), "image ID: {}", main[0].image_id);
        assert!(main[0].container_id.as_deref().is_some_and(|c| c.starts_with("containerd://")));

        // Another pod fetches the page over the pod network, then completes.
        let client_pod = pod(NODE, serde_json::json!({
            "metadata": {"name": "fetch"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "wget", "image": BUSYBOX_IMAGE,
                "command": ["sh", "-c", format!("wget -q -O /dev/termination-log http://{ip}:8080/index.html")]}]}
        }));
        pods.create(&pp, &client_pod).await.expect("create fetch");
        let done = wait_pod(&pods, "fetch", T, "Succeeded", |p| matches!(phase(p), "Succeeded" | "Failed")).await;
        assert_eq!(phase(&done), "Succeeded", "{:?}", done.status);
        let term = done.status.and_then(|s| s.container_statuses).and_then(|c| c.into_iter().next()).and_then(|c| c.state?.terminated);
        // The page the init container wrote, read through the termination message.
        assert_eq!(term.and_then(|t| t.message).as_deref(), Some("initialized-first\n"));

        // A failing container under restartPolicy Never fails the pod with its exit code.
        let failing = pod(NODE, serde_json::json!({
            "metadata": {"name": "fail"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sh", "-c", "exit 3"]}]}
        }));
        pods.create(&pp, &failing).await.expect("create fail");
        let failed = wait_pod(&pods, "fail", T, "Failed", |p| phase(p) == "Failed").await;
        let code = failed.status.and_then(|s| s.container_statuses).and_then(|c| c.into_iter().next()).and_then(|c| c.state?.terminated).map(|t| t.exit_code);
        assert_eq!(code, Some(3));

        // Deleting a running pod: terminal phase, then the agent removes it for good. Every
        // version of the pod is watched from before the delete: the terminal phase may last
        // less than any polling interval.
        let before = pods.get("web").await.expect("get web");
        let since = before.metadata.resource_version.clone().unwrap_or_default();
        let watch = WatchParams::default().fields("metadata.name=web");
        let mut versions = pods.watch(&watch, &since).await.expect("watch web").boxed();
        pods.delete("web", &DeleteParams { grace_period_seconds: Some(5), ..Default::default() }).await.expect("delete");
        let mut seen_terminal = false;
        let deleted = tokio::time::timeout(T, async {
            while let Some(event) = versions.next().await {
                match event.expect("watch event") {
                    WatchEvent::Modified(p) => seen_terminal |= matches!(phase(&p), "Failed" | "Succeeded"),
                    WatchEvent::Deleted(_) => return true,
                    _ => {}
                }
            }
            false
        })
        .await;
        assert_eq!(deleted, Ok(true), "web was not deleted");
        assert!(seen_terminal, "the deleted pod went through a terminal phase");

        // The kubelet's events about web's containers, as upstream words them.
        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        let wanted = [
            ("spec.initContainers{setup}", "Pulled", format!("Container image \"{BUSYBOX_IMAGE}\" already present on machine")),
            ("spec.initContainers{setup}", "Created", "Created container: setup".to_owned()),
            ("spec.initContainers{setup}", "Started", "Started container setup".to_owned()),
            ("spec.containers{httpd}", "Created", "Created container: httpd".to_owned()),
            ("spec.containers{httpd}", "Started", "Started container httpd".to_owned()),
            ("spec.containers{httpd}", "Killing", "Stopping container httpd".to_owned()),
        ];
        let seen = eventually(T, "the kubelet's events about web", || async {
            let list = events.list(&Default::default()).await.ok()?;
            let seen: Vec<(String, String, String)> = list
                .items
                .into_iter()
                .filter(|e| e.reporting_controller.as_deref() == Some("kubelet"))
                .filter_map(|e| {
                    let r = e.regarding?;
                    (r.name.as_deref() == Some("web")).then_some(())?;
                    Some((r.field_path.unwrap_or_default(), e.reason?, e.note?))
                })
                .collect();
            let all = wanted.iter().all(|(path, reason, note)| {
                seen.iter().any(|(p, r, n)| p == path && r == reason && n == note)
            });
            all.then_some(seen)
        })
        .await;
        assert!(seen.iter().all(|(_, r, _)| r != "Failed"), "{seen:?}");
        agent.stop().await.expect("agent");
    });
}

/// Pods the node cannot run are rejected before anything starts, as upstream's kubelet
/// admission does: Failed, with the handler's reason and "Pod was rejected: ...".
#[test]
fn cri_admission_rejects_pods_the_node_cannot_run() {
    let Some(env) = Env::start() else { return };
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let mut o = env.options();
        o.allowed_unsafe_sysctls = vec!["kernel.msg*".into()];
        let agent = RunningAgent::start(client.clone(), o);
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pp = PostParams::default();
        let sleeper = |name: &str, spec: serde_json::Value| {
            let mut v = serde_json::json!({
                "metadata": {"name": name},
                "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "600"]}]}
            });
            for (k, val) in spec.as_object().cloned().unwrap_or_default() {
                v["spec"][k] = val;
            }
            pod(NODE, v)
        };
        let rejected = |p: &Pod| phase(p) == "Failed";
        let reason = |p: &Pod| {
            let s = p.status.clone().unwrap_or_default();
            (
                s.reason.unwrap_or_default(),
                s.message.unwrap_or_default(),
                s.container_statuses.unwrap_or_default().len(),
            )
        };

        // More CPU than the whole node has.
        let big = sleeper(
            "big",
            serde_json::json!({"containers": [{"name": "c", "image": BUSYBOX_IMAGE,
            "command": ["sleep", "600"], "resources": {"requests": {"cpu": "100"}}}]}),
        );
        pods.create(&pp, &big).await.expect("create big");
        let (r, m, containers) = reason(&wait_pod(&pods, "big", T, "rejected", rejected).await);
        assert_eq!(r, "OutOfcpu");
        assert!(
            m.starts_with(
                "Pod was rejected: Node didn't have enough resource: cpu, requested: 100000, used: 0, capacity: "
            ),
            "{m}"
        );
        assert_eq!(containers, 0, "nothing of a rejected pod was started");
        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        eventually(T, "the rejection's event", || async {
            let list = events.list(&Default::default()).await.ok()?;
            list.items.into_iter().find(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("big")
                    && e.reason.as_deref() == Some("OutOfcpu")
                    && e.type_.as_deref() == Some("Warning")
            })
        })
        .await;

        // A nodeSelector the node does not match.
        pods.create(&pp, &sleeper("elsewhere", serde_json::json!({"nodeSelector": {"disk": "ssd"}})))
            .await
            .expect("create");
        let (r, m, _) = reason(&wait_pod(&pods, "elsewhere", T, "rejected", rejected).await);
        assert_eq!(
            (r.as_str(), m.as_str()),
            (
                "NodeAffinity",
                "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
            )
        );

        // An unsafe sysctl that is not allowed; an allowed one runs.
        let sysctls = |names: &[&str]| {
            let list: Vec<_> = names.iter().map(|n| serde_json::json!({"name": n, "value": "65536"})).collect();
            serde_json::json!({"securityContext": {"sysctls": list}})
        };
        pods.create(&pp, &sleeper("unsafe", sysctls(&["net.core.somaxconn"]))).await.expect("create");
        let (r, m, _) = reason(&wait_pod(&pods, "unsafe", T, "rejected", rejected).await);
        assert_eq!(
            (r.as_str(), m.as_str()),
            ("SysctlForbidden", "Pod was rejected: forbidden sysctl: \"net.core.somaxconn\" not allowlisted")
        );
        pods.create(&pp, &sleeper("allowed", sysctls(&["kernel.msgmax", "net.ipv4.ping_group_range"])))
            .await
            .expect("create");

        // A rejected pod is terminal: its deletion is final at once.
        wait_pod(&pods, "allowed", T, "Running", |p| phase(p) == "Running").await;
        for name in ["big", "elsewhere", "unsafe"] {
            pods.delete(name, &DeleteParams::default()).await.expect("delete");
            eventually(T, "rejected pod gone", || async { pods.get_opt(name).await.ok()?.is_none().then_some(()) })
                .await;
        }
        pods.delete("allowed", &DeleteParams::default()).await.expect("delete");
        eventually(T, "pod gone", || async { pods.get_opt("allowed").await.ok()?.is_none().then_some(()) }).await;
        agent.stop().await.expect("agent");
    });
}

/// Under memory pressure (here a threshold no machine meets: 99.9% of its memory free) the eviction
/// manager evicts running pods one at a time, never a critical one.
#[test]
fn cri_memory_pressure_evicts_running_pods_but_not_critical_ones() {
    let Some(env) = Env::start() else { return };
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let mut o = env.options();
        o.eviction_hard = krs_agent::EvictionHard::parse("memory.available<99.9%").expect("threshold");
        o.eviction_monitoring_interval = Duration::from_secs(4);
        let agent = RunningAgent::start(client.clone(), o);
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pp = PostParams::default();
        // Under memory pressure only pods with requests (or critical ones) are admitted.
        let sleeper = |name: &str, class: Option<&str>| {
            let mut v = serde_json::json!({
                "metadata": {"name": name},
                "spec": {"terminationGracePeriodSeconds": 30,
                    "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "600"],
                        "resources": {"requests": {"memory": "1Ki"}}}]}
            });
            if let Some(class) = class {
                v["spec"]["priorityClassName"] = serde_json::json!(class);
            }
            pod(NODE, v)
        };
        pods.create(&pp, &sleeper("critical", Some("system-node-critical"))).await.expect("create");
        pods.create(&pp, &sleeper("victim", None)).await.expect("create");
        let evicted = wait_pod(&pods, "victim", T, "evicted", |p| phase(p) == "Failed").await;
        let status = evicted.status.clone().unwrap_or_default();
        assert_eq!(status.reason.as_deref(), Some("Evicted"));
        let message = status.message.clone().unwrap_or_default();
        assert!(
            message.starts_with("The node was low on resource: memory. Threshold quantity: ")
                && message.contains("Container c was using ")
                && message.ends_with(", request is 1Ki, has larger consumption of memory. "),
            "{message}"
        );
        let target = status.conditions.unwrap_or_default().into_iter().find(|c| c.type_ == "DisruptionTarget");
        assert_eq!(
            target.map(|c| (c.status, c.reason.unwrap_or_default())),
            Some(("True".to_string(), "TerminationByKubelet".to_string()))
        );
        assert!(
            status
                .container_statuses
                .unwrap_or_default()
                .iter()
                .all(|c| c.state.as_ref().is_some_and(|s| s.terminated.is_some())),
            "the evicted pod's containers were stopped"
        );
        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        eventually(T, "the Evicted event", || async {
            let list = events.list(&Default::default()).await.ok()?;
            list.items.into_iter().find(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("victim")
                    && e.reason.as_deref() == Some("Evicted")
            })
        })
        .await;
        // Two more intervals: the critical pod keeps running.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let critical = pods.get("critical").await.expect("critical pod");
        assert_eq!(phase(&critical), "Running", "{:?}", critical.status);
        for name in ["critical", "victim"] {
            pods.delete(name, &DeleteParams::default().grace_period(0)).await.expect("delete");
            eventually(T, "pod gone", || async { pods.get_opt(name).await.ok()?.is_none().then_some(()) }).await;
        }
        agent.stop().await.expect("agent");
    });
}

/// Pods already bound when the agent starts are admitted oldest first: the older of two pods
/// that cannot both fit runs, whatever the order of their names.
#[test]
fn cri_admission_at_start_prefers_the_older_pod() {
    let Some(env) = Env::start() else { return };
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pp = PostParams::default();
        // More than half of the node's CPU each.
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) * 1000 * 6 / 10;
        let hungry = |name: &str| {
            pod(
                NODE,
                serde_json::json!({
                    "metadata": {"name": name},
                    "spec": {"terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "600"],
                            "resources": {"requests": {"cpu": format!("{cpus}m")}}}]}
                }),
            )
        };
        // Creation timestamps have whole seconds; the older pod sorts last by name.
        pods.create(&pp, &hungry("zeta")).await.expect("create");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        pods.create(&pp, &hungry("alpha")).await.expect("create");
        let agent = RunningAgent::start(client.clone(), env.options());
        wait_pod(&pods, "zeta", T, "Running", |p| phase(p) == "Running").await;
        let alpha = wait_pod(&pods, "alpha", T, "rejected", |p| phase(p) == "Failed").await;
        assert_eq!(alpha.status.and_then(|s| s.reason).as_deref(), Some("OutOfcpu"));
        for name in ["alpha", "zeta"] {
            pods.delete(name, &DeleteParams::default().grace_period(0)).await.expect("delete");
            eventually(T, "pod gone", || async { pods.get_opt(name).await.ok()?.is_none().then_some(()) }).await;
        }
        agent.stop().await.expect("agent");
    });
}
