//! A raw HTTPS client for the API tests: requests exactly as written (method, path, body,
//! Content-Type, Accept), answers as received (status, headers, bytes). It speaks HTTP/2 over
//! TLS, trusting the cluster CA of the admin kubeconfig and authenticating with its client
//! certificate, with a bearer token, or not at all.
//!
//! The tests are synchronous: the client owns a small tokio runtime; a watch's body is read on
//! it in the background and its frames (JSON lines or length-prefixed protobuf) are handed over
//! as they arrive.

use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;

use super::{Cluster, DEADLINE};

pub const JSON: &str = "application/json";
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const JSON_PATCH: &str = "application/json-patch+json";
pub const STRATEGIC_PATCH: &str = "application/strategic-merge-patch+json";

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the client needs from an admin kubeconfig written by `krs server`.
#[derive(Clone)]
struct Credentials {
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl Credentials {
    fn from_kubeconfig(path: &Path) -> Credentials {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("kubeconfig {}: {e}", path.display()));
        let b64 = |name: &str| -> Vec<u8> {
            let value = text
                .lines()
                .find_map(|l| {
                    l.trim().strip_prefix(&format!("{name}: ")).map(|v| v.trim().trim_matches('"').to_string())
                })
                .unwrap_or_else(|| panic!("kubeconfig has no {name}:\n{text}"));
            base64::engine::general_purpose::STANDARD.decode(value).unwrap_or_else(|e| panic!("kubeconfig {name}: {e}"))
        };
        Credentials {
            ca_pem: b64("certificate-authority-data"),
            cert_pem: b64("client-certificate-data"),
            key_pem: b64("client-key-data"),
        }
    }
}

/// How requests authenticate.
#[derive(Clone, Debug)]
pub enum Auth {
    /// The admin kubeconfig's client certificate (system:masters).
    Admin,
    /// `Authorization: Bearer TOKEN`, no client certificate.
    Bearer(String),
    /// Nothing at all.
    Anonymous,
}

/// A response, whole.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// "METHOD PATH", for failure messages.
    pub what: String,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics, showing the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} -> {}: body is not JSON ({e}): {}", self.what, self.status, self.text()))
    }

    /// Asserts the status and returns the body as JSON.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{} -> {}, expected {status}: {}", self.what, self.status, self.text());
        self.json()
    }

    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(", ")
    }

    /// The `message` of a Status body.
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_string()
    }
}

/// An HTTPS client of one cluster. Cheap to clone (the connection is shared).
#[derive(Clone)]
pub struct Api {
    runtime: Arc<tokio::runtime::Runtime>,
    authority: String,
    tls: Arc<rustls::ClientConfig>,
    auth: Auth,
    conn: Arc<Mutex<Option<SendRequest<Full<Bytes>>>>>,
    creds: Credentials,
}

impl Api {
    /// A client of `cluster` authenticated as the admin (client certificate).
    pub fn new(cluster: &Cluster) -> Api {
        let creds = Credentials::from_kubeconfig(&cluster.kubeconfig);
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
        Api::build(Arc::new(runtime), &cluster.url, creds, Auth::Admin)
    }

    fn build(runtime: Arc<tokio::runtime::Runtime>, url: &str, creds: Credentials, auth: Auth) -> Api {
        let authority = url.trim_start_matches("https://").trim_end_matches('/').to_string();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&creds.ca_pem) {
            roots.add(c.expect("CA certificate")).expect("CA certificate");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots);
        let mut config = match auth {
            Auth::Admin => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&creds.cert_pem)
                    .collect::<Result<_, _>>()
                    .expect("client certificate");
                let key = PrivateKeyDer::from_pem_slice(&creds.key_pem).expect("client key");
                builder.with_client_auth_cert(certs, key).expect("client certificate")
            }
            Auth::Bearer(_) | Auth::Anonymous => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Api { runtime, authority, tls: Arc::new(config), auth, conn: Arc::new(Mutex::new(None)), creds }
    }

    /// The same cluster, authenticated with a bearer token (and no client certificate).
    pub fn with_bearer(&self, token: &str) -> Api {
        let url = format!("https://{}", self.authority);
        Api::build(self.runtime.clone(), &url, self.creds.clone(), Auth::Bearer(token.to_string()))
    }

    /// The same cluster, without credentials.
    pub fn anonymous(&self) -> Api {
        let url = format!("https://{}", self.authority);
        Api::build(self.runtime.clone(), &url, self.creds.clone(), Auth::Anonymous)
    }

    /// Another server (same CA and admin credentials, e.g. a second krs on the same etcd).
    pub fn of(&self, cluster: &Cluster) -> Api {
        Api::build(
            self.runtime.clone(),
            &cluster.url,
            Credentials::from_kubeconfig(&cluster.kubeconfig),
            self.auth.clone(),
        )
    }

    async fn sender(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let cached = self.conn.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(mut s) = cached
            && s.ready().await.is_ok()
        {
            return Ok(s);
        }
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let tcp = tokio::net::TcpStream::connect(&self.authority).await.map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let host = self.authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(&self.authority).to_string();
        let name = ServerName::try_from(host).map_err(|e| e.to_string())?;
        let tls = connector.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .max_send_buf_size(1 << 20)
            .handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        sender.ready().await.map_err(|e| e.to_string())?;
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender.clone());
        Ok(sender)
    }

    fn http_request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        content_type: Option<&str>,
        accept: Option<&str>,
    ) -> Request<Full<Bytes>> {
        let method = Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut req = Request::builder().method(method).uri(format!("https://{}{}", self.authority, path));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        if let Auth::Bearer(token) = &self.auth {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        req.body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default()))).expect("request")
    }

    /// One request, exactly as given; the whole response.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        content_type: Option<&str>,
        accept: Option<&str>,
    ) -> Response {
        let what = format!("{method} {path}");
        let req = self.http_request(method, path, body, content_type, accept);
        let result = self.runtime.block_on(async {
            tokio::time::timeout(REQUEST_TIMEOUT, async {
                let mut sender = self.sender().await?;
                let resp = sender.send_request(req).await.map_err(|e| format!("request: {e}"))?;
                let (parts, body) = resp.into_parts();
                let body = body.collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
                Ok::<_, String>((parts.status, parts.headers, body))
            })
            .await
            .unwrap_or_else(|_| Err(format!("no answer in {REQUEST_TIMEOUT:?}")))
        });
        match result {
            Ok((status, headers, body)) => Response { status: status.as_u16(), headers, body, what },
            Err(e) => panic!("{what}: {e}"),
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None, None, Some(JSON))
    }

    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, None, None, Some(JSON))
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.send_json("POST", path, body, JSON)
    }

    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.send_json("PUT", path, body, JSON)
    }

    /// PATCH with `content_type` (one of the *_PATCH constants).
    pub fn patch(&self, path: &str, content_type: &str, body: &Value) -> Response {
        self.send_json("PATCH", path, body, content_type)
    }

    fn send_json(&self, method: &str, path: &str, body: &Value, content_type: &str) -> Response {
        let bytes = serde_json::to_vec(body).expect("JSON body");
        self.request(method, path, Some(&bytes), Some(content_type), Some(JSON))
    }

    /// Polls `check` until it returns `Some`, for up to [`DEADLINE`].
    pub fn eventually<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(value) = check() {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out after {DEADLINE:?} waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A streaming GET (a watch): the status and headers at once, then frames as they arrive.
    pub fn watch(&self, path: &str, accept: Option<&str>) -> Watch {
        let what = format!("GET {path}");
        let req = self.http_request("GET", path, None, None, accept.or(Some(JSON)));
        let head = self.runtime.block_on(async {
            tokio::time::timeout(REQUEST_TIMEOUT, async {
                let mut sender = self.sender().await?;
                sender.send_request(req).await.map_err(|e| format!("request: {e}"))
            })
            .await
            .unwrap_or_else(|_| Err(format!("no answer in {REQUEST_TIMEOUT:?}")))
        });
        let resp = head.unwrap_or_else(|e| panic!("{what}: {e}"));
        let (parts, mut body) = resp.into_parts();
        let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let length_prefixed = content_type.contains("protobuf") && parts.status == StatusCode::OK;
        let (tx, rx) = mpsc::channel();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        self.runtime.spawn(async move {
            let mut buf = BytesMut::new();
            loop {
                let frame = tokio::select! {
                    f = body.frame() => f,
                    _ = &mut stopped => return,
                };
                let Some(Ok(frame)) = frame else {
                    if !buf.is_empty() {
                        let _ = tx.send(buf.split().freeze());
                    }
                    return;
                };
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                buf.extend_from_slice(&data);
                loop {
                    let item = if length_prefixed {
                        if buf.len() < 4 {
                            break;
                        }
                        let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                        if buf.len() < 4 + len {
                            break;
                        }
                        buf.advance(4);
                        buf.split_to(len).freeze()
                    } else {
                        let Some(nl) = buf.iter().position(|b| *b == b'\n') else {
                            break;
                        };
                        buf.split_to(nl + 1).freeze().slice(..nl)
                    };
                    if tx.send(item).is_err() {
                        return;
                    }
                }
            }
        });
        Watch { status: parts.status.as_u16(), headers: parts.headers, frames: rx, seen: Vec::new(), what, _stop: stop }
    }
}

/// A watch (any streamed response) being read: one item per JSON line or protobuf frame (the
/// frame's payload, without its length prefix). Dropping it closes the stream.
pub struct Watch {
    pub status: u16,
    pub headers: HeaderMap,
    frames: Receiver<Bytes>,
    /// Every event read so far (JSON watches), for failure messages.
    pub seen: Vec<Value>,
    what: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Watch {
    /// Asserts the watch started (200); otherwise fails showing the error body.
    pub fn ok(&mut self) {
        if self.status != 200 {
            let status = self.status;
            let body = self.rest();
            panic!("{} -> {status}, expected a watch (200): {body}", self.what);
        }
    }

    /// Asserts the request was refused with `status` (not a watch) and returns the body.
    pub fn refused(&mut self, status: u16) -> Value {
        let got = self.status;
        let body = if got == 200 { String::new() } else { self.rest() };
        assert_eq!(got, status, "{} -> {got}, expected {status}: {body}", self.what);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{}: body is not JSON ({e}): {body}", self.what))
    }

    /// The rest of a finite body (an error), as text.
    fn rest(&mut self) -> String {
        let mut body = Vec::new();
        while let Some(frame) = self.next_frame(Duration::from_secs(10)) {
            body.extend_from_slice(&frame);
            body.push(b'\n');
        }
        String::from_utf8_lossy(&body).trim_end().to_string()
    }

    /// The next frame within `timeout`; `None` on timeout or when the stream ended.
    pub fn next_frame(&mut self, timeout: Duration) -> Option<Bytes> {
        self.frames.recv_timeout(timeout).ok()
    }

    /// The next event of a JSON watch within `timeout`, parsed.
    pub fn next_within(&mut self, timeout: Duration) -> Option<Value> {
        let frame = self.next_frame(timeout)?;
        let event: Value = serde_json::from_slice(&frame).unwrap_or_else(|e| {
            panic!("{}: a watch line is not JSON ({e}): {}", self.what, String::from_utf8_lossy(&frame))
        });
        self.seen.push(event.clone());
        Some(event)
    }

    /// The next event of a JSON watch; fails after [`DEADLINE`].
    pub fn next_event(&mut self) -> Value {
        let what = self.what.clone();
        self.next_within(DEADLINE).unwrap_or_else(|| {
            panic!("{what}: no event within {DEADLINE:?}; events so far: {:#?}", self.seen_summary())
        })
    }

    /// The next event that is not a BOOKMARK, as (type, name).
    pub fn next_change(&mut self) -> (String, String) {
        loop {
            let e = self.next_event();
            if e["type"] != "BOOKMARK" {
                return summary(&e);
            }
        }
    }

    /// Events that arrive within `quiet` of each other (none after that), as (type, name).
    pub fn drain(&mut self, quiet: Duration) -> Vec<(String, String)> {
        let mut out = Vec::new();
        while let Some(e) = self.next_within(quiet) {
            out.push(summary(&e));
        }
        out
    }

    pub fn seen_summary(&self) -> Vec<(String, String)> {
        self.seen.iter().map(summary).collect()
    }
}

/// (type, metadata.name) of a watch event.
pub fn summary(event: &Value) -> (String, String) {
    (
        event["type"].as_str().unwrap_or_default().to_string(),
        event["object"]["metadata"]["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// `(type, name)` pairs, for comparing event sequences.
pub fn events(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(t, n)| (t.to_string(), n.to_string())).collect()
}

impl Cluster {
    /// As [`Cluster::start`] on the embedded store, with extra `krs server` flags.
    pub fn start_with_flags(flags: &[&str]) -> Cluster {
        let dir = tempfile::Builder::new().prefix("krs-e2e-").tempdir().expect("temporary directory");
        let mut cluster = Cluster::start_in_with_flags(&dir.path().join("data"), None, dir.path(), flags);
        cluster.dir = Some(dir);
        cluster
    }

    /// As [`Cluster::start_in`], with extra `krs server` flags.
    pub fn start_in_with_flags(data_dir: &Path, etcd_servers: Option<&str>, work: &Path, flags: &[&str]) -> Cluster {
        use std::io::BufRead;
        use std::process::{Command, Stdio};

        std::fs::create_dir_all(work).expect("work directory");
        let log_path = super::unique_path(work, "krs", "log");
        let log = std::fs::File::create(&log_path).expect("server log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_krs"));
        cmd.arg("server").arg("--data-dir").arg(data_dir).args(["--secure-port", "0", "--bind-address", "127.0.0.1"]);
        if !flags.contains(&super::WHOLE_CLUSTER) {
            cmd.args(super::API_SERVER_ONLY);
        }
        if let Some(servers) = etcd_servers {
            cmd.arg("--etcd-servers").arg(servers);
        }
        cmd.args(flags.iter().filter(|f| **f != super::WHOLE_CLUSTER));
        super::die_with_parent(&mut cmd, libc::SIGTERM);
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log).spawn().expect("cannot run the krs binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut cluster = Cluster {
            process: Some(child),
            url: String::new(),
            kubeconfig: std::path::PathBuf::new(),
            work: work.to_path_buf(),
            log_path,
            etcd: None,
            dir: None,
        };
        let deadline = Instant::now() + super::START_TIMEOUT;
        while cluster.url.is_empty() || cluster.kubeconfig.as_os_str().is_empty() {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("krs: serving on ") {
                        cluster.url = url.trim().to_string();
                    } else if let Some(path) = line.strip_prefix("krs: admin kubeconfig: ") {
                        cluster.kubeconfig = std::path::PathBuf::from(path.trim());
                    }
                }
                Err(_) => panic!("krs {flags:?} did not report its address:\n{}", cluster.log()),
            }
        }
        cluster
    }
}
