//! Volumes and environment on real containers: configMap, secret (and their updates),
//! downwardAPI, the projected service account token, emptyDir in memory, env sources.

use crate::common;

use std::time::{Duration, Instant};

use common::cri::{Env, NODE};
use common::{RunningAgent, phase, pod, prepare_namespace, ready, wait_pod};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use krs_agent::testing::BUSYBOX_IMAGE;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(90);

/// Waits until a file the pod writes on the host has the expected content.
async fn wait_file(path: &std::path::Path, expected: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = std::fs::read_to_string(path).unwrap_or_default();
        if got == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{} is {got:?}, expected {expected:?}", path.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn cri_volumes_show_content_and_updates() {
    let Some(env) = Env::start() else { return };
    let out = env.node.dir.join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let pp = PostParams::default();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "cfg"}, "data": {"greeting": "hello", "color": "blue"}
        }))
        .expect("cm");
        cms.create(&pp, &cm).await.expect("create cm");
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "sec"}, "stringData": {"password": "s3cret"}
        }))
        .expect("secret");
        secrets.create(&pp, &secret).await.expect("create secret");
        let agent = RunningAgent::start(client.clone(), env.options());
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let script = "while :; do cat /cfg/greeting > /out/cfg.tmp && mv /out/cfg.tmp /out/cfg; \
            cat /sec/password > /out/sec.tmp && mv /out/sec.tmp /out/sec; \
            cat /info/labels > /out/labels; cat /info/mem > /out/mem; \
            echo \"$GREETING $PASSWORD $POD_NAME $POD_IP $MY_CPU $COLOR_FROM\" > /out/env; \
            wc -c < /var/run/secrets/kubernetes.io/serviceaccount/token > /out/token-size; \
            cat /var/run/secrets/kubernetes.io/serviceaccount/namespace > /out/namespace; \
            df -t tmpfs /scratch > /out/scratch 2>&1; sleep 1; done";
        let p = pod(NODE, serde_json::json!({
            "metadata": {"name": "vols", "labels": {"app": "vols", "tier": "test"}},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sh", "-c", script],
                "resources": {"limits": {"memory": "128Mi"}},
                "env": [
                    {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "MY_CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                    {"name": "COLOR_FROM", "value": "$(CFG_color)"}],
                "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg"}}],
                "volumeMounts": [
                    {"name": "cfg", "mountPath": "/cfg"}, {"name": "sec", "mountPath": "/sec"},
                    {"name": "info", "mountPath": "/info"}, {"name": "out", "mountPath": "/out"},
                    {"name": "scratch", "mountPath": "/scratch"}]}],
                "volumes": [
                    {"name": "cfg", "configMap": {"name": "cfg"}},
                    {"name": "sec", "secret": {"secretName": "sec"}},
                    {"name": "info", "downwardAPI": {"items": [
                        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}}]}},
                    {"name": "out", "hostPath": {"path": out.to_string_lossy(), "type": "Directory"}},
                    {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}]}
        }));
        pods.create(&pp, &p).await.expect("create pod");
        let running = wait_pod(&pods, "vols", T, "Running", |p| phase(p) == "Running" && ready(p)).await;
        let ip = running.status.and_then(|s| s.pod_ip).unwrap_or_default();
        wait_file(&out.join("cfg"), "hello", T).await;
        wait_file(&out.join("sec"), "s3cret", T).await;
        wait_file(&out.join("labels"), "app=\"vols\"\ntier=\"test\"\n", T).await;
        wait_file(&out.join("mem"), "128", T).await;
        wait_file(&out.join("env"), &format!("hello s3cret vols {ip} 128 blue\n"), T).await;
        wait_file(&out.join("namespace"), "default", T).await;
        let token_size: usize = std::fs::read_to_string(out.join("token-size")).unwrap_or_default().trim().parse().unwrap_or(0);
        assert!(token_size > 100, "a service account token is mounted ({token_size} bytes)");
        let scratch = std::fs::read_to_string(out.join("scratch")).unwrap_or_default();
        assert!(scratch.contains("/scratch") && scratch.contains("16384"), "memory emptyDir of 16Mi: {scratch}");

        // Updates reach the running pod.
        let patch = serde_json::json!({"data": {"greeting": "bonjour"}});
        cms.patch("cfg", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("update cm");
        let patch = serde_json::json!({"stringData": {"password": "n3w"}});
        secrets.patch("sec", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("update secret");
        wait_file(&out.join("cfg"), "bonjour", T).await;
        wait_file(&out.join("sec"), "n3w", T).await;

        // A pod whose config map is missing waits (CreateContainerConfigError for env).
        let missing = pod(NODE, serde_json::json!({
            "metadata": {"name": "missing"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "600"],
                "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]}]}
        }));
        pods.create(&pp, &missing).await.expect("create missing");
        let waiting = wait_pod(&pods, "missing", T, "CreateContainerConfigError", |p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first())
                .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
                .as_deref()
                == Some("CreateContainerConfigError")
        })
        .await;
        assert_eq!(phase(&waiting), "Pending");
        agent.stop().await.expect("agent");
    });
}
