//! A stand-in for the API server's pod subresource proxy, so kubectl's `logs`, `exec` and
//! `port-forward` can be tested against the agent before `krs server` proxies them itself.
//! It does what the contract asks of the API server: requests for pods/log, pods/exec,
//! pods/attach and pods/portforward are rewritten to the kubelet API's paths and query
//! parameters (upstream's LogLocation, ExecLocation, PortForwardLocation) and proxied with
//! the upgrade passed through byte for byte; every other request goes to `krs server`.
//!
//! kubectl talks plain HTTP to it; it speaks TLS with a client certificate to both backends.
//! One request per connection (it answers `Connection: close`), which keeps routing simple.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Backend {
    pub port: u16,
    pub tls: Arc<rustls::ClientConfig>,
}

/// TLS to a backend with a client certificate, trusting `ca_pem`.
pub fn tls_config(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("ca")).expect("root");
    }
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>().expect("cert");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .expect("client cert");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

fn decode(s: &str) -> String {
    // Query values kubectl sends are plain or %-encoded; decode just %XX and '+'.
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The kubelet path for a pod subresource request, as upstream's *Location functions build it.
pub fn kubelet_path(path: &str, query: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [ns, "pods", pod, sub] = parts.as_slice() else { return None };
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap_or((kv.to_owned(), String::new()))
        })
        .collect();
    let container = pairs.iter().find(|(k, _)| k == "container").map(|(_, v)| decode(v)).unwrap_or_else(|| "c".into());
    let truthy = |k: &str| pairs.iter().any(|(key, v)| key == k && (v == "true" || v == "1"));
    match *sub {
        "log" => {
            let q: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "follow"
                            | "previous"
                            | "timestamps"
                            | "tailLines"
                            | "sinceSeconds"
                            | "sinceTime"
                            | "limitBytes"
                    )
                })
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            Some(format!("/containerLogs/{ns}/{pod}/{container}?{}", q.join("&")))
        }
        "exec" | "attach" => {
            let mut q: Vec<String> =
                pairs.iter().filter(|(k, _)| k == "command").map(|(_, v)| format!("command={v}")).collect();
            for (api, kubelet) in [("stdin", "input"), ("stdout", "output"), ("stderr", "error"), ("tty", "tty")] {
                if truthy(api) {
                    q.push(format!("{kubelet}=1"));
                }
            }
            Some(format!("/{sub}/{ns}/{pod}/{container}?{}", q.join("&")))
        }
        "portforward" => Some(format!("/portForward/{ns}/{pod}?{query}")),
        _ => None,
    }
}

async fn handle(mut client: TcpStream, api: Arc<Backend>, kubelet: Arc<Backend>) {
    let mut buf = Vec::new();
    let head_len = loop {
        let mut chunk = [0u8; 8192];
        let Ok(n) = client.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => break len,
            Ok(httparse::Status::Partial) => continue,
            Err(_) => return,
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    if req.parse(&buf).is_err() {
        return;
    }
    let method = req.method.unwrap_or("GET").to_owned();
    let target = req.path.unwrap_or("/").to_owned();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (backend, new_target) = match kubelet_path(path, query) {
        Some(p) => (kubelet, p),
        None => (api, target.clone()),
    };
    let upgrade = req.headers.iter().any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    let mut head = format!("{method} {new_target} HTTP/1.1\r\n");
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        if name == "host" || name == "authorization" || (name == "connection" && !upgrade) {
            continue;
        }
        head.push_str(&format!("{}: {}\r\n", h.name, String::from_utf8_lossy(h.value)));
    }
    head.push_str("Host: 127.0.0.1\r\n");
    if !upgrade {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let Ok(tcp) = TcpStream::connect(("127.0.0.1", backend.port)).await else { return };
    let Ok(name) = ServerName::try_from("127.0.0.1") else { return };
    let Ok(mut server) = tokio_rustls::TlsConnector::from(backend.tls.clone()).connect(name, tcp).await else { return };
    if server.write_all(head.as_bytes()).await.is_err() || server.write_all(&buf[head_len..]).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// Serves on a free loopback port until the runtime ends; returns the port.
pub async fn start(api: Backend, kubelet: Backend) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (api, kubelet) = (Arc::new(api), Arc::new(kubelet));
    tokio::spawn(async move {
        while let Ok((c, _)) = listener.accept().await {
            tokio::spawn(handle(c, api.clone(), kubelet.clone()));
        }
    });
    port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            kubelet_path(
                "/api/v1/namespaces/ns/pods/p/exec",
                "command=ls&command=-l&container=app&stdin=true&stdout=true&tty=true"
            )
            .as_deref(),
            Some("/exec/ns/p/app?command=ls&command=-l&input=1&output=1&tty=1")
        );
        assert_eq!(
            kubelet_path("/api/v1/namespaces/ns/pods/p/log", "container=app&follow=true&tailLines=3").as_deref(),
            Some("/containerLogs/ns/p/app?follow=true&tailLines=3")
        );
        assert_eq!(kubelet_path("/api/v1/namespaces/ns/pods/p", ""), None);
    }
}
