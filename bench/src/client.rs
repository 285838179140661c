//! A minimal Kubernetes API client for benchmarks: one HTTP/2 connection over TLS,
//! authenticated with the client certificate of a kubeconfig written by `krs server`.
//! Cloning shares the connection (streams are multiplexed).

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What the client needs from a kubeconfig.
#[derive(Clone)]
pub struct Credentials {
    pub server: String,
    pub ca_pem: Vec<u8>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl Credentials {
    /// Reads the first cluster and user of a kubeconfig with embedded certificate data.
    pub fn from_kubeconfig(path: &Path) -> Result<Credentials, Error> {
        let text = std::fs::read_to_string(path)?;
        let field = |name: &str| -> Result<String, Error> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_string()))
                .ok_or_else(|| format!("kubeconfig has no {name}").into())
        };
        let b64 = |name: &str| -> Result<Vec<u8>, Error> {
            Ok(base64::engine::general_purpose::STANDARD.decode(field(name)?)?)
        };
        Ok(Credentials {
            server: field("server")?,
            ca_pem: b64("certificate-authority-data")?,
            cert_pem: b64("client-certificate-data")?,
            key_pem: b64("client-key-data")?,
        })
    }
}

#[derive(Clone)]
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Client {
    pub async fn connect(creds: &Credentials) -> Result<Client, Error> {
        let authority = creds.server.trim_start_matches("https://").trim_end_matches('/').to_string();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&creds.ca_pem) {
            roots.add(c?)?;
        }
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&creds.cert_pem).collect::<Result<_, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(&creds.key_pem)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(&authority).await?;
        tcp.set_nodelay(true)?;
        let host =
            authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(&authority).trim_matches(['[', ']']).to_string();
        let name = ServerName::try_from(host)?;
        let tls = connector.connect(name, tcp).await?;
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .max_concurrent_reset_streams(1024)
            .handshake(TokioIo::new(tls))
            .await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client { sender, authority })
    }

    fn build(&self, method: Method, path: &str, body: Option<(Vec<u8>, &str)>) -> Result<Request<Full<Bytes>>, Error> {
        let uri = format!("https://{}{}", self.authority, path);
        let mut req = Request::builder().method(method).uri(uri).header("accept", "application/json");
        let body = match body {
            Some((bytes, ct)) => {
                req = req.header("content-type", ct);
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        Ok(req.body(body)?)
    }

    /// A request with a whole response.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<(StatusCode, Bytes), Error> {
        let req = self.build(method, path, body)?;
        let mut sender = self.sender.clone();
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    /// A GET whose response body is streamed (watches, huge lists).
    pub async fn stream(&self, path: &str) -> Result<(StatusCode, Incoming), Error> {
        let req = self.build(Method::GET, path, None)?;
        let mut sender = self.sender.clone();
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        Ok((resp.status(), resp.into_body()))
    }
}
