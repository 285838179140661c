//! kubectl 1.33's logs, exec and port-forward against pods on a real node, through a stand-in
//! of the API server's pod subresource proxy (tests/common/apiproxy.rs: the contract the API
//! server implements) and the agent's kubelet API.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::apiproxy::{self, Backend};
use common::cri::{Env, NODE};
use common::https::Pki;
use common::{KUBECTL, RunningAgent, die_with_parent, phase, pod, prepare_namespace, ready, stop_child, wait_pod};
use k8s_openapi::api::core::v1::Pod;
use krs_agent::testing::BUSYBOX_IMAGE;
use kube::Api;
use kube::api::PostParams;

const T: Duration = Duration::from_secs(90);

/// The admin credentials of the server's kubeconfig: CA, client certificate and key (PEM).
fn admin_credentials(path: &std::path::Path) -> (String, String, String) {
    let text = std::fs::read_to_string(path).expect("kubeconfig");
    let v: serde_json::Value = serde_saphyr::from_str(&text).expect("kubeconfig YAML");
    let b64 = |v: &serde_json::Value| {
        let s = v.as_str().expect("base64 field");
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).expect("base64")).expect("PEM")
    };
    (
        b64(&v["clusters"][0]["cluster"]["certificate-authority-data"]),
        b64(&v["users"][0]["user"]["client-certificate-data"]),
        b64(&v["users"][0]["user"]["client-key-data"]),
    )
}

fn kubectl(
    kubeconfig: &std::path::Path,
    home: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut cmd = Command::new(KUBECTL);
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args).env("HOME", home);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().expect("kubectl");
    if let (Some(input), Some(mut w)) = (stdin, child.stdin.take()) {
        let _ = w.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().expect("kubectl output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kubectl_logs_exec_and_port_forward() {
    if !std::path::Path::new(KUBECTL).is_file() {
        eprintln!("skipping: {KUBECTL} is not installed");
        return;
    }
    let Some(env) = Env::start() else { return };
    let pki = Pki::new("kube-apiserver-kubelet-client", "system:masters");
    let kubelet_port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let mut options = env.options();
    options.bind_address = "127.0.0.1".parse().expect("ip");
    options.port = kubelet_port;
    options.serving_cert_pem = Some(pki.serving_cert.clone());
    options.serving_key_pem = Some(pki.serving_key.clone());
    options.client_ca_pem = Some(pki.ca_pem.clone());
    let home = env.node.dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    env.rt.block_on(async {
        let client = env.cluster.client().await;
        prepare_namespace(&client, "default").await;
        let agent = RunningAgent::start(client.clone(), options);
        let (ca, cert, key) = admin_credentials(&env.cluster.kubeconfig);
        let api_port: u16 = env.cluster.url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("server port");
        let proxy = apiproxy::start(
            Backend { port: api_port, tls: apiproxy::tls_config(&ca, &cert, &key) },
            Backend { port: kubelet_port, tls: apiproxy::tls_config(&pki.ca_pem, &pki.client_cert, &pki.client_key) },
        )
        .await;
        let kubeconfig = env.node.dir.join("kubectl.kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{proxy}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"),
        )
        .expect("kubeconfig");
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let p = pod(NODE, serde_json::json!({
            "metadata": {"name": "talker"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sh", "-c",
                "httpd -p 8080 -h /var/www; i=0; while :; do echo line $i; i=$((i+1)); sleep 0.2; done"]}]}
        }));
        pods.create(&PostParams::default(), &p).await.expect("create");
        wait_pod(&pods, "talker", T, "Running", |p| phase(p) == "Running" && ready(p)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let kc = kubeconfig.clone();
        let home2 = home.clone();
        tokio::task::spawn_blocking(move || {
            let run = |args: &[&str], stdin: Option<&str>| kubectl(&kc, &home2, args, stdin);
            // logs: tail, then follow up to a byte limit.
            let (ok, out, err) = run(&["logs", "talker", "-c", "c", "--tail=2"], None);
            assert!(ok, "kubectl logs: {err}");
            assert_eq!(out.lines().count(), 2, "{out:?}");
            assert!(out.lines().all(|l| l.starts_with("line ")), "{out:?}");
            let (ok, out, err) = run(&["logs", "-f", "talker", "-c", "c", "--limit-bytes=64"], None);
            assert!(ok, "kubectl logs -f: {err}");
            assert_eq!(out.len(), 64, "{out:?}");
            // exec, with and without stdin.
            let (ok, out, err) = run(&["exec", "talker", "-c", "c", "--", "sh", "-c", "echo hello; echo oops >&2"], None);
            assert!(ok, "kubectl exec: {err}");
            assert_eq!(out, "hello\n");
            assert!(err.contains("oops"), "{err}");
            let (ok, out, err) = run(&["exec", "-i", "talker", "-c", "c", "--", "cat"], Some("piped through\n"));
            assert!(ok, "kubectl exec -i: {err}");
            assert_eq!(out, "piped through\n");
            let (ok, _, err) = run(&["exec", "talker", "-c", "c", "--", "sh", "-c", "exit 7"], None);
            assert!(!ok && err.contains("exit code 7"), "{err}");
        })
        .await
        .expect("kubectl logs and exec");

        // port-forward: a local port reaches the pod's httpd.
        let mut cmd = Command::new(KUBECTL);
        cmd.arg("--kubeconfig").arg(&kubeconfig).args(["port-forward", "pod/talker", ":8080"]).env("HOME", &home);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        die_with_parent(&mut cmd);
        let mut pf = cmd.spawn().expect("port-forward");
        let stdout = pf.stdout.take().expect("stdout");
        let local = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
            std::thread::spawn(move || for _ in lines {});
            // "Forwarding from 127.0.0.1:40123 -> 8080"
            first.split("127.0.0.1:").nth(1).and_then(|r| r.split(' ').next()).and_then(|p| p.parse::<u16>().ok())
        })
        .await
        .expect("port-forward output");
        let Some(local) = local else {
            let mut err = String::new();
            if let Some(mut e) = pf.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("port-forward did not start: {err}");
        };
        let body = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", local)) {
                    let _ = s.write_all(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n");
                    let mut out = String::new();
                    let _ = s.read_to_string(&mut out);
                    if out.contains("200") {
                        return out;
                    }
                }
                assert!(Instant::now() < deadline, "no answer through the forwarded port");
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .await
        .expect("HTTP through port-forward");
        stop_child(&mut pf, Duration::from_secs(2));
        assert!(body.contains("hello from krs"), "{body}");
        agent.stop().await.expect("agent");
    });
}
