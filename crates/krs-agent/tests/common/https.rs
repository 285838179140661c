//! A client of the kubelet API: a throwaway PKI (CA, serving and client certificates), GET
//! requests, and exec over the WebSocket channel protocol.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Pki {
    pub ca_pem: String,
    pub serving_cert: String,
    pub serving_key: String,
    pub client_cert: String,
    pub client_key: String,
    /// A second client: user "alice" in group "dev" (not a cluster admin).
    pub other_cert: String,
    pub other_key: String,
}

fn dn(cn: &str, o: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    if let Some(o) = o {
        d.push(DnType::OrganizationName, o);
    }
    d
}

impl Pki {
    /// A CA, a serving certificate for 127.0.0.1 and a client certificate for `user` in `group`.
    pub fn new(user: &str, group: &str) -> Pki {
        let ca_key = KeyPair::generate().expect("key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name = dn("test-ca", None);
        let ca_cert = ca.self_signed(&ca_key).expect("ca");
        let issuer = Issuer::new(ca, &ca_key);
        let s_key = KeyPair::generate().expect("key");
        let mut s = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
        s.distinguished_name = dn("node-1", None);
        let s_cert = s.signed_by(&s_key, &issuer).expect("serving");
        let c_key = KeyPair::generate().expect("key");
        let mut c = CertificateParams::new(Vec::<String>::new()).expect("params");
        c.distinguished_name = dn(user, Some(group));
        let c_cert = c.signed_by(&c_key, &issuer).expect("client");
        let o_key = KeyPair::generate().expect("key");
        let mut o = CertificateParams::new(Vec::<String>::new()).expect("params");
        o.distinguished_name = dn("alice", Some("dev"));
        let o_cert = o.signed_by(&o_key, &issuer).expect("client");
        Pki {
            other_cert: o_cert.pem(),
            other_key: o_key.serialize_pem(),
            ca_pem: ca_cert.pem(),
            serving_cert: s_cert.pem(),
            serving_key: s_key.serialize_pem(),
            client_cert: c_cert.pem(),
            client_key: c_key.serialize_pem(),
        }
    }

    /// TLS as the second client (alice).
    pub fn other_config(&self) -> Arc<rustls::ClientConfig> {
        Pki { client_cert: self.other_cert.clone(), client_key: self.other_key.clone(), ..self.clone_base() }
            .client_config(true)
    }

    fn clone_base(&self) -> Pki {
        Pki {
            ca_pem: self.ca_pem.clone(),
            serving_cert: self.serving_cert.clone(),
            serving_key: self.serving_key.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            other_cert: self.other_cert.clone(),
            other_key: self.other_key.clone(),
        }
    }

    pub fn client_config(&self, with_cert: bool) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(c.expect("ca")).expect("root");
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
        let mut cfg = if with_cert {
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(self.client_cert.as_bytes()).collect::<Result<_, _>>().expect("cert");
            let key = PrivateKeyDer::from_pem_slice(self.client_key.as_bytes()).expect("key");
            builder.with_client_auth_cert(certs, key).expect("client auth")
        } else {
            builder.with_no_client_auth()
        };
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(cfg)
    }
}

pub type Tls = tokio_rustls::client::TlsStream<TcpStream>;

pub async fn connect(port: u16, cfg: Arc<rustls::ClientConfig>) -> Tls {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    tokio_rustls::TlsConnector::from(cfg).connect(name, tcp).await.expect("TLS")
}

/// A GET with `Connection: close`: status and body.
pub async fn get(port: u16, cfg: Arc<rustls::ClientConfig>, path: &str) -> (u16, String) {
    let mut s = connect(port, cfg).await;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Runs `path` (an /exec URL) over the WebSocket channel protocol; returns the negotiated
/// protocol and what arrived on each channel.
pub async fn ws_exec(
    port: u16,
    cfg: Arc<rustls::ClientConfig>,
    path: &str,
    protocols: &str,
) -> (String, Vec<(u8, Vec<u8>)>) {
    let mut s = connect(port, cfg).await;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: {protocols}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed before the response: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused:\n{head}{}", String::from_utf8_lossy(&buf[head_end..]));
    let protocol = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("sec-websocket-protocol:").map(|p| p.trim().to_owned()))
        .unwrap_or_default();
    let mut data = buf[head_end..].to_vec();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut data)).await;
    // Server frames are unmasked: FIN/opcode, length, payload.
    let mut frames = Vec::new();
    let mut i = 0;
    while i + 2 <= data.len() {
        let opcode = data[i] & 0x0f;
        let mut len = (data[i + 1] & 0x7f) as usize;
        i += 2;
        if len == 126 {
            len = u16::from_be_bytes([data[i], data[i + 1]]) as usize;
            i += 2;
        } else if len == 127 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&data[i..i + 8]);
            len = u64::from_be_bytes(b) as usize;
            i += 8;
        }
        if i + len > data.len() {
            break;
        }
        let payload = &data[i..i + len];
        i += len;
        if opcode == 2 && !payload.is_empty() {
            frames.push((payload[0], payload[1..].to_vec()));
        } else if opcode == 1 && !payload.is_empty() {
            // base64 protocols: channel digit, then base64 text.
            frames.push((payload[0].wrapping_sub(b'0'), payload[1..].to_vec()));
        }
    }
    (protocol, frames)
}
