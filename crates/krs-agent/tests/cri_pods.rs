//! Real pods through containerd: networking, init containers, completion, failure, deletion.

mod common;

use std::time::Duration;

use common::cri::{CriNode, enter_netns, missing_prerequisites};
use common::{Cluster, RunningAgent, phase, pod, prepare_namespace, ready, wait_pod};
use k8s_openapi::api::core::v1::Pod;
use krs_agent::testing::BUSYBOX_IMAGE;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

const NODE: &str = "node-1";
const T: Duration = Duration::from_secs(60);

fn options(dir: &std::path::Path, socket: &std::path::Path) -> krs_agent::AgentOptions {
    let mut o = krs_agent::AgentOptions::new(NODE, dir);
    o.runtime = krs_agent::RuntimeKind::Cri { socket: Some(socket.to_path_buf()) };
    o.sandbox_image = krs_agent::testing::PAUSE_IMAGE.into();
    o.pod_cidr = "10.88.0.0/24".into();
    o
}

#[test]
fn cri_pods_run_talk_complete_and_terminate() {
    if let Some(why) = missing_prerequisites() {
        eprintln!("skipping: {why}");
        return;
    }
    enter_netns();
    let cluster = Cluster::start();
    let node = CriNode::start(&cluster.dir.path().join("agent"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = cluster.client().await;
        prepare_namespace(&client, "default").await;
        let agent = RunningAgent::start(client.clone(), options(&node.dir, &node.socket));
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

        // Deleting a running pod: terminal phase, then the agent removes it for good.
        let mut seen_terminal = false;
        pods.delete("web", &DeleteParams { grace_period_seconds: Some(5), ..Default::default() }).await.expect("delete");
        let deadline = std::time::Instant::now() + T;
        loop {
            match pods.get("web").await {
                Ok(p) => seen_terminal |= matches!(phase(&p), "Failed" | "Succeeded"),
                Err(kube::Error::Api(s)) if s.code == 404 => break,
                Err(e) => panic!("get web: {e}"),
            }
            assert!(std::time::Instant::now() < deadline, "web was not deleted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(seen_terminal, "the deleted pod went through a terminal phase");
        agent.stop().await.expect("agent");
    });
    drop(rt);
    drop(node);
}
