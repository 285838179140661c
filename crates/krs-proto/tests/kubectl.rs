//! Real kubectl bodies: a minimal HTTP server answers kubectl's discovery and captures the
//! protobuf bodies of `kubectl create ...`; the transcoder must decode them into the expected
//! JSON and re-encode that JSON into the very same bytes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

#[derive(Debug, Clone)]
struct Captured {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

fn discovery(path: &str) -> Option<Value> {
    let resource = |name: &str, kind: &str, namespaced: bool| {
        json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
               "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
    };
    Some(match path {
        "/api" => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
            {"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}},
            {"name": "authorization.k8s.io", "versions": [{"groupVersion": "authorization.k8s.io/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "authorization.k8s.io/v1", "version": "v1"}}]}),
        "/api/v1" => json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            resource("configmaps", "ConfigMap", true), resource("secrets", "Secret", true),
            resource("namespaces", "Namespace", false)]}),
        "/apis/apps/v1" => {
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
            "resources": [resource("deployments", "Deployment", true)]})
        }
        "/apis/batch/v1" => {
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "batch/v1",
            "resources": [resource("jobs", "Job", true), resource("cronjobs", "CronJob", true)]})
        }
        "/apis/authorization.k8s.io/v1" => json!({"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "authorization.k8s.io/v1",
            "resources": [{"name": "selfsubjectaccessreviews", "singularName": "", "namespaced": false,
                           "kind": "SelfSubjectAccessReview", "verbs": ["create"]}]}),
        _ => return None,
    })
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) -> std::io::Result<()> {
    write!(stream, "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len())?;
    stream.write_all(body)
}

fn serve(stream: TcpStream, captured: Arc<Mutex<Vec<Captured>>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let path = target.split('?').next().unwrap_or_default().to_owned();
        if method == "POST" {
            let reply = match krs_proto::decode_object(&body) {
                Ok(obj) => serde_json::to_vec(&obj).unwrap_or_default(),
                Err(e) => format!("{{\"error\":{:?}}}", e.to_string()).into_bytes(),
            };
            captured.lock().unwrap().push(Captured { path, content_type, body });
            respond(&mut writer, "201 Created", "application/json", &reply)?;
        } else if let Some(doc) = discovery(&path) {
            respond(&mut writer, "200 OK", "application/json", doc.to_string().as_bytes())?;
        } else {
            respond(
                &mut writer,
                "404 Not Found",
                "application/json",
                br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#,
            )?;
        }
    }
}

struct Server {
    port: u16,
    captured: Arc<Mutex<Vec<Captured>>>,
    dir: PathBuf,
}

fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let c = captured.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let c = c.clone();
            std::thread::spawn(move || serve(stream, c));
        }
    });
    let dir = std::env::temp_dir().join(format!("krs-proto-kubectl-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\n\
         current-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
    );
    std::fs::write(dir.join("kubeconfig"), kubeconfig).unwrap();
    Server { port, captured, dir }
}

impl Server {
    /// Runs kubectl and returns the body it POSTed.
    fn kubectl(&self, args: &[&str]) -> Captured {
        let before = self.captured.lock().unwrap().len();
        // Global flags first: anything after a `--` in args belongs to the container.
        let out = Command::new(KUBECTL)
            .arg(format!("--kubeconfig={}", self.dir.join("kubeconfig").display()))
            .arg(format!("--cache-dir={}", self.dir.join("cache").display()))
            .arg("--request-timeout=20s")
            .args(args)
            .env("HOME", &self.dir)
            .output()
            .unwrap();
        let captured = self.captured.lock().unwrap();
        assert!(
            captured.len() > before,
            "kubectl {args:?} (port {}) posted nothing: {}{}",
            self.port,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        captured[before].clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn kubectl_present() -> bool {
    if Path::new(KUBECTL).exists() {
        return true;
    }
    eprintln!("skipping: {KUBECTL} is not installed");
    false
}

/// Decodes a captured body, checks it against the expected JSON, and checks that encoding
/// that JSON reproduces kubectl's bytes exactly.
fn check(captured: &Captured, expected: Value) {
    assert_eq!(captured.content_type, "application/vnd.kubernetes.protobuf", "{}", captured.path);
    assert!(captured.body.starts_with(krs_proto::MAGIC));
    let decoded = krs_proto::decode_object(&captured.body).unwrap();
    assert_eq!(decoded, expected, "decoded {}", captured.path);
    let encoded = krs_proto::encode_object(&decoded).unwrap();
    assert_eq!(encoded, captured.body, "re-encoded {}", captured.path);
}

#[test]
fn kubectl_create_bodies_decode_and_reencode_byte_for_byte() {
    if !kubectl_present() {
        return;
    }
    let server = start();

    let cm = server.kubectl(&["create", "configmap", "x", "--from-literal=a=b"]);
    assert_eq!(cm.path, "/api/v1/namespaces/default/configmaps");
    check(
        &cm,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "x", "creationTimestamp": null}, "data": {"a": "b"}}),
    );

    let file = server.dir.join("k");
    std::fs::write(&file, [0u8, 0xff, b'x']).unwrap();
    let secret = server.kubectl(&["create", "secret", "generic", "s", &format!("--from-file=k={}", file.display())]);
    check(
        &secret,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "s", "creationTimestamp": null}, "data": {"k": "AP94"}}),
    );

    let deploy = server.kubectl(&["create", "deployment", "d", "--image=busybox", "--replicas=0"]);
    assert_eq!(deploy.path, "/apis/apps/v1/namespaces/default/deployments");
    check(
        &deploy,
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "creationTimestamp": null, "labels": {"app": "d"}},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "d"}},
                "strategy": {},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "busybox", "image": "busybox", "resources": {}}]}
                }
            },
            "status": {}}),
    );

    let job = server.kubectl(&["create", "job", "j", "--image=busybox", "--", "echo", "hi"]);
    let decoded = krs_proto::decode_object(&job.body).unwrap();
    assert_eq!(decoded["spec"]["template"]["spec"]["containers"][0]["command"], json!(["echo", "hi"]));
    assert_eq!(decoded["spec"]["template"]["spec"]["restartPolicy"], "Never");
    assert_eq!(krs_proto::encode_object(&decoded).unwrap(), job.body);

    let review = server.kubectl(&["auth", "can-i", "create", "pods", "-n", "default"]);
    assert_eq!(review.path, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
    let decoded = krs_proto::decode_object(&review.body).unwrap();
    assert_eq!(decoded["kind"], "SelfSubjectAccessReview");
    assert_eq!(decoded["spec"]["resourceAttributes"]["verb"], "create");
    assert_eq!(decoded["spec"]["resourceAttributes"]["resource"], "pods");
    assert_eq!(krs_proto::encode_object(&decoded).unwrap(), review.body);
}
