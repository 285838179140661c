//! Proxying to node agents: pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy
//! are forwarded to the kubelet API of the pod's node (`https://<InternalIP>:<kubelet port>`),
//! authenticated with the API server's kubelet client certificate; the kubelet's serving
//! certificate is verified against the cluster CA. Streams (`kubectl logs -f`) are passed
//! through as they come; upgrades (exec, attach, port-forward over SPDY or WebSocket) are
//! answered with the kubelet's 101 and then spliced byte for byte in both directions.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;

use crate::body::{self, Body};
use crate::errors::ApiError;

/// How the API server reaches node agents.
pub struct KubeletClient {
    tls: Arc<rustls::ClientConfig>,
}

impl KubeletClient {
    /// From the cluster CA and the API server's kubelet client certificate (PEM).
    pub fn new(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<KubeletClient, String> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(c.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        }
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| e.to_string())?;
        // Upgrades (SPDY, WebSocket) need HTTP/1.1.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(KubeletClient { tls: Arc::new(config) })
    }

    /// Forwards a request to `https://{ip}:{port}{path_and_query}` and relays the answer.
    pub async fn forward(
        &self,
        ip: IpAddr,
        port: u16,
        path_and_query: &str,
        parts: &Parts,
        body: Bytes,
        on_upgrade: Option<OnUpgrade>,
    ) -> Result<Response<Body>, ApiError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            ApiError::service_unavailable(format!("error trying to reach service: {what} {ip}:{port}: {e}"))
        };
        let tcp = tokio::net::TcpStream::connect((ip, port)).await.map_err(|e| unavailable("dial tcp", &e))?;
        let _ = tcp.set_nodelay(true);
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let tls = connector.connect(ServerName::IpAddress(ip.into()), tcp).await.map_err(|e| unavailable("tls", &e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| unavailable("handshake", &e))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let uri = format!("https://{ip}:{port}{path_and_query}");
        let mut req = Request::builder().method(parts.method.clone()).uri(&uri);
        for (name, value) in &parts.headers {
            // The client's credentials are the API server's to check, never forwarded.
            if name == header::AUTHORIZATION || name == header::HOST {
                continue;
            }
            req = req.header(name, value);
        }
        let req = req
            .header(header::HOST, format!("{ip}:{port}"))
            .body(http_body_util::Full::new(body))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut resp = sender.send_request(req).await.map_err(|e| unavailable("request", &e))?;
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = on_upgrade else {
                return Err(ApiError::bad_request(
                    "the kubelet switched protocols but the client asked for no upgrade",
                ));
            };
            let backend_upgrade = hyper::upgrade::on(&mut resp);
            let mut out = Response::new(body::empty());
            *out.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            *out.headers_mut() = resp.headers().clone();
            tokio::spawn(async move {
                let (Ok(client), Ok(backend)) = (client_upgrade.await, backend_upgrade.await) else { return };
                let mut client = TokioIo::new(client);
                let mut backend = TokioIo::new(backend);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
            });
            return Ok(out);
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let (tx, out_body) = body::channel(16);
        let mut incoming = resp.into_body();
        tokio::spawn(async move {
            while let Some(frame) = incoming.frame().await {
                let Ok(frame) = frame else { return };
                if let Ok(data) = frame.into_data()
                    && tx.send(data).await.is_err()
                {
                    return;
                }
            }
        });
        let mut out = Response::new(out_body);
        *out.status_mut() = status;
        for name in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
            if let Some(v) = headers.get(&name) {
                out.headers_mut().insert(name, v.clone());
            }
        }
        Ok(out)
    }
}

/// Where a node's agent listens: its InternalIP (else first address) and kubelet port.
pub fn kubelet_endpoint(node: &Value) -> Option<(IpAddr, u16)> {
    let addresses = node.pointer("/status/addresses")?.as_array()?;
    let pick = |t: &str| {
        addresses
            .iter()
            .find(|a| a["type"] == t)
            .and_then(|a| a["address"].as_str())
            .and_then(|s| s.parse::<IpAddr>().ok())
    };
    let ip = pick("InternalIP")
        .or_else(|| pick("ExternalIP"))
        .or_else(|| addresses.iter().find_map(|a| a["address"].as_str()?.parse().ok()))?;
    let port = node.pointer("/status/daemonEndpoints/kubeletEndpoint/Port").and_then(|p| p.as_u64()).unwrap_or(10250);
    Some((ip, u16::try_from(port).ok()?))
}

/// The container a pods/log, exec or attach request is for: the `container` parameter, else
/// the default-container annotation, else the pod's only container (upstream's error names
/// the choices otherwise).
pub fn container_of(pod: &Value, requested: Option<&str>) -> Result<String, ApiError> {
    let pod_name = pod.pointer("/metadata/name").and_then(|n| n.as_str()).unwrap_or_default();
    let names = |key: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{key}"))
            .and_then(|c| c.as_array())
            .map(|c| c.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let containers = names("containers");
    let all: Vec<String> =
        containers.iter().cloned().chain(names("initContainers")).chain(names("ephemeralContainers")).collect();
    if let Some(c) = requested.filter(|c| !c.is_empty()) {
        if all.iter().any(|n| n == c) {
            return Ok(c.to_string());
        }
        return Err(ApiError::bad_request(format!("container {c} is not valid for pod {pod_name}")));
    }
    if let Some(c) = pod
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
        .and_then(|c| c.as_str())
        .filter(|c| containers.iter().any(|n| n == c))
    {
        return Ok(c.to_string());
    }
    match containers.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            containers.join(" ")
        ))),
    }
}

/// Whether a request asks for a protocol upgrade (SPDY, WebSocket).
pub fn is_upgrade(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("upgrade"))
        || parts.headers.contains_key(header::UPGRADE)
}
