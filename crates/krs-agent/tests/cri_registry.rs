//! Pulling through the CRI from a registry on 127.0.0.1 (Debian's docker-registry), with
//! imagePullSecrets: the registry demands a bearer token, which a token service of the test's
//! hands out only for the credentials of the pod's pull secret.

use crate::common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use common::cri::{Env, NODE};
use common::{RunningAgent, die_with_parent, phase, pod, prepare_namespace, stop_child, wait_pod};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Api;
use kube::api::PostParams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

/// A token service: a token for the right Basic credentials, 401 otherwise. Counts grants.
async fn token_service(port: u16, basic: String, granted: Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let basic = basic.clone();
            let granted = granted.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                let ok = req.contains(&format!("authorization: basic {}", basic.to_ascii_lowercase()));
                // containerd first tries an OAuth POST with the credentials in a form; a token
                // service without OAuth answers 405, and containerd falls back to GET with Basic.
                let resp = if req.starts_with("post ") {
                    "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
                } else if ok {
                    granted.fetch_add(1, Ordering::SeqCst);
                    let body = r#"{"token":"t0k3n","access_token":"t0k3n","expires_in":300}"#;
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
                };
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
}

#[test]
fn cri_pulls_from_a_local_registry_with_pull_secrets() {
    for bin in ["docker-registry", "skopeo"] {
        if krs_agent::containerd::which(bin).is_none() {
            eprintln!("skipping: {bin} is not installed");
            return;
        }
    }
    let Some(env) = Env::start() else { return };
    let (registry_port, token_port) = (free_port(), free_port());
    let host = format!("127.0.0.1:{registry_port}");
    let reg_dir = env.node.dir.join("registry");
    std::fs::create_dir_all(&reg_dir).expect("registry dir");
    let config = reg_dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\nauth:\n  silly:\n    realm: http://127.0.0.1:{token_port}/token\n    service: test-registry\n",
            reg_dir.join("data").display()
        ),
    )
    .expect("registry config");
    let mut cmd = Command::new("docker-registry");
    cmd.arg("serve").arg(&config).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    die_with_parent(&mut cmd);
    let mut registry = cmd.spawn().expect("docker-registry");
    let basic = base64::engine::general_purpose::STANDARD.encode("puller:pa55");
    let granted = Arc::new(AtomicUsize::new(0));
    env.rt.block_on(token_service(token_port, basic.clone(), granted.clone()));
    let deadline = std::time::Instant::now() + T;
    while std::net::TcpStream::connect(&host).is_err() {
        assert!(std::time::Instant::now() < deadline, "registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let layout = krs_agent::testing::build_busybox(&reg_dir, "test/busybox:1", &["sh"]).expect("image");
    let push = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--dest-creds", "puller:pa55"])
        .arg(format!("oci:{}:1", layout.dir.display()))
        .arg(format!("docker://{host}/test/busybox:1"))
        .output()
        .expect("skopeo");
    assert!(push.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&push.stderr));
    // containerd speaks plain HTTP to this registry.
    let hosts = krs_agent::containerd::Layout::new(&env.node.dir).certs_dir().join(&host);
    std::fs::create_dir_all(&hosts).expect("certs.d");
    std::fs::write(hosts.join("hosts.toml"), krs_agent::containerd::config::insecure_registry_hosts(&host))
        .expect("hosts.toml");
    let image = format!("{host}/test/busybox:1");
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let agent = RunningAgent::start(client.clone(), env.options());
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pp = PostParams::default();
        let spec = |name: &str, secret: bool| {
            let mut v = serde_json::json!({
                "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": image, "imagePullPolicy": "Always", "command": ["sleep", "600"]}]}
            });
            if secret {
                v["spec"]["imagePullSecrets"] = serde_json::json!([{"name": "regcred"}]);
            }
            pod(NODE, v)
        };
        // Without credentials the pull fails and backs off.
        pods.create(&pp, &spec("anonymous", false)).await.expect("create");
        let failing = wait_pod(&pods, "anonymous", T, "failing to pull", |p| {
            let reason = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first())
                .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
            matches!(reason.as_deref(), Some("ErrImagePull" | "ImagePullBackOff"))
        })
        .await;
        assert_eq!(phase(&failing), "Pending");
        // With the pull secret it runs, and reports the image's digest.
        let dockerconfig = serde_json::json!({"auths": {host.clone(): {"username": "puller", "password": "pa55", "auth": basic}}});
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "regcred"}, "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": dockerconfig.to_string()}
        }))
        .expect("secret");
        Api::<Secret>::namespaced(client.clone(), "default").create(&pp, &secret).await.expect("secret");
        pods.create(&pp, &spec("authorized", true)).await.expect("create");
        let running = wait_pod(&pods, "authorized", T, "Running", |p| phase(p) == "Running").await;
        let c = running.status.and_then(|s| s.container_statuses).and_then(|c| c.into_iter().next()).unwrap_or_default();
        assert!(c.image_id.contains("sha256:"), "image ID {}", c.image_id);
        assert!(granted.load(Ordering::SeqCst) > 0, "the token service saw the secret's credentials");
        agent.stop().await.expect("agent");
    });
    stop_child(&mut registry, Duration::from_secs(5));
}
