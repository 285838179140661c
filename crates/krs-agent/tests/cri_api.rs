//! The kubelet API on a real node (logs, exec, pods, stats, metrics, authentication), the
//! agent restarting without disturbing running pods, and static pods with mirror pods.

use crate::common;

use std::time::Duration;

use common::cri::{Env, NODE};
use common::https::{Pki, get, ws_exec};
use common::{RunningAgent, phase, pod, prepare_namespace, ready, wait_pod};
use k8s_openapi::api::core::v1::Pod;
use krs_agent::testing::BUSYBOX_IMAGE;
use kube::Api;
use kube::api::PostParams;

const T: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().map(|a| a.port()).expect("port")
}

#[test]
fn cri_kubelet_api_restart_and_static_pods() {
    let Some(env) = Env::start() else { return };
    let pki = Pki::new("kube-apiserver-kubelet-client", "system:masters");
    let port = free_port();
    let manifests = env.node.dir.join("manifests");
    std::fs::create_dir_all(&manifests).expect("manifests dir");
    let mut options = env.options();
    options.bind_address = "127.0.0.1".parse().expect("ip");
    options.port = port;
    options.serving_cert_pem = Some(pki.serving_cert.clone());
    options.serving_key_pem = Some(pki.serving_key.clone());
    options.client_ca_pem = Some(pki.ca_pem.clone());
    options.static_pod_path = Some(manifests.clone());
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let agent = RunningAgent::start(client.clone(), options.clone());
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let talker = pod(NODE, serde_json::json!({
            "metadata": {"name": "talker"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE,
                "command": ["sh", "-c", "i=0; while :; do echo line $i; i=$((i+1)); sleep 0.2; done"]}]}
        }));
        pods.create(&PostParams::default(), &talker).await.expect("create");
        let before = wait_pod(&pods, "talker", T, "Running", |p| phase(p) == "Running" && ready(p)).await;
        let authed = pki.client_config(true);
        let anonymous = pki.client_config(false);

        // Authentication: health is public, the rest needs a client certificate of the CA.
        let deadline = std::time::Instant::now() + T;
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "kubelet API not listening");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(get(port, anonymous.clone(), "/healthz").await, (200, "ok".to_owned()));
        assert_eq!(get(port, anonymous, "/pods").await.0, 401);
        // Authorization: a user the API server's SubjectAccessReview denies gets 403.
        assert_eq!(get(port, pki.other_config(), "/pods").await.0, 403);
        let (code, body) = get(port, authed.clone(), "/pods").await;
        assert_eq!(code, 200);
        assert!(body.contains("\"talker\""), "{body}");

        // Logs: tail, timestamps, follow with a byte limit.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (code, tail) = get(port, authed.clone(), "/containerLogs/default/talker/c?tailLines=2").await;
        assert_eq!(code, 200);
        let lines: Vec<&str> = tail.lines().collect();
        assert_eq!(lines.len(), 2, "{tail:?}");
        assert!(lines.iter().all(|l| l.starts_with("line ")), "{tail:?}");
        let (_, stamped) = get(port, authed.clone(), "/containerLogs/default/talker/c?tailLines=1&timestamps=true").await;
        assert!(stamped.split(' ').next().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{stamped:?}");
        let (code, followed) = get(port, authed.clone(), "/containerLogs/default/talker/c?follow=true&limitBytes=300").await;
        assert_eq!((code, followed.len()), (200, 300), "follow stops at limitBytes");

        // Exec over the WebSocket channel protocol, served by the runtime's streaming server
        // through the kubelet's upgrade proxy.
        let path = "/exec/default/talker/c?command=sh&command=-c&command=echo%20hi%3B%20echo%20oops%201%3E%262&output=1&error=1";
        let (protocol, frames) = ws_exec(port, authed.clone(), path, "v4.channel.k8s.io, channel.k8s.io").await;
        let stdout: Vec<u8> = frames.iter().filter(|(c, _)| *c == 1).flat_map(|(_, d)| d.clone()).collect();
        let stderr: Vec<u8> = frames.iter().filter(|(c, _)| *c == 2).flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(String::from_utf8_lossy(&stdout), "hi\n", "protocol {protocol}, frames {frames:?}");
        assert_eq!(String::from_utf8_lossy(&stderr), "oops\n");

        let (code, summary) = get(port, authed.clone(), "/stats/summary").await;
        assert_eq!(code, 200);
        let summary: serde_json::Value = serde_json::from_str(&summary).expect("summary JSON");
        assert_eq!(summary["node"]["nodeName"], NODE);
        assert!(summary["pods"].as_array().is_some_and(|p| p.iter().any(|p| p["podRef"]["name"] == "talker")));
        let (_, metrics) = get(port, authed.clone(), "/metrics").await;
        assert!(metrics.contains("kubelet_running_pods 1"), "{metrics}");

        // The agent restarts: the pod keeps running, same container, no restart.
        agent.stop().await.expect("agent stopped");
        let agent = RunningAgent::start(client.clone(), options.clone());
        tokio::time::sleep(Duration::from_secs(4)).await;
        let after = wait_pod(&pods, "talker", T, "Running", |p| phase(p) == "Running" && ready(p)).await;
        let id = |p: &Pod| {
            p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first()).map(|c| (c.container_id.clone(), c.restart_count))
        };
        assert_eq!(id(&after), id(&before), "the container survived the agent's restart");

        // A static pod: runs from its manifest, with a mirror pod in the API.
        std::fs::write(
            manifests.join("static-web.yaml"),
            format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\nspec:\n  automountServiceAccountToken: false\n  containers:\n  - name: web\n    image: {BUSYBOX_IMAGE}\n    command: [\"sleep\", \"600\"]\n"),
        )
        .expect("manifest");
        agent.stop().await.expect("agent stopped");
        let agent = RunningAgent::start(client.clone(), options.clone());
        let mirror = wait_pod(&pods, &format!("static-web-{NODE}"), T, "Running", |p| phase(p) == "Running").await;
        let annotations = mirror.metadata.annotations.clone().unwrap_or_default();
        assert!(annotations.contains_key("kubernetes.io/config.mirror"), "{annotations:?}");
        agent.stop().await.expect("agent stopped");
    });
}
