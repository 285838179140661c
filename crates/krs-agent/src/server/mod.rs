//! The kubelet API (HTTPS, upstream port 10250): /healthz, /pods, /containerLogs, /exec,
//! /attach, /portForward, /metrics, /stats/summary. Clients authenticate with a certificate
//! signed by the configured client CA (the API server's kubelet client certificate); requests
//! are authorized by SubjectAccessReview against the node's subresources, as upstream's
//! webhook authorizer does.

mod auth;
mod handlers;
pub mod logs;
mod stream;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::kubelet::Kubelet;

pub type Body = BoxBody<Bytes, std::io::Error>;

pub fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).map_err(|never: Infallible| match never {}).boxed());
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    full(status, "text/plain; charset=utf-8", body.into())
}

/// The authenticated caller: certificate CN and O.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: String,
    pub groups: Vec<String>,
}

fn caller_of(der: &CertificateDer<'_>) -> Option<Caller> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let user = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_owned)).collect();
    Some(Caller { user, groups })
}

fn tls_config(cert: &str, key: &str, client_ca: Option<&str>) -> Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pem = |e: rustls_pki_types::pem::Error| Error::Tls(e.to_string());
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert.as_bytes()).collect::<std::result::Result<_, _>>().map_err(pem)?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(pem)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(c.map_err(pem)?).map_err(|e| Error::Tls(e.to_string()))?;
            }
            // Unauthenticated clients may only ask /healthz.
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::Tls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Starts the API when a serving certificate is configured.
pub async fn start(kubelet: Arc<Kubelet>) -> Result<Option<JoinHandle<()>>> {
    let o = kubelet.options();
    let (Some(cert), Some(key)) = (o.serving_cert_pem.as_deref(), o.serving_key_pem.as_deref()) else {
        tracing::info!("no serving certificate: the kubelet API is not served");
        return Ok(None);
    };
    let tls = tls_config(cert, key, o.client_ca_pem.as_deref())?;
    let addr = SocketAddr::new(o.bind_address, o.port);
    let listener =
        TcpListener::bind(addr).await.map_err(|e| Error::io(format!("binding the kubelet API to {addr}"), e))?;
    tracing::info!(%addr, "kubelet API serving");
    let authz = Arc::new(auth::Authorizer::new(kubelet.client().clone(), kubelet.options().node_name.clone()));
    Ok(Some(tokio::spawn(accept_loop(listener, tls, kubelet, authz))))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    kubelet: Arc<Kubelet>,
    authz: Arc<auth::Authorizer>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "kubelet API accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let kubelet = kubelet.clone();
        let authz = authz.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await else { return };
            let caller = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(caller_of);
            let service = service_fn(move |req: Request<Incoming>| {
                let kubelet = kubelet.clone();
                let caller = caller.clone();
                let authz = authz.clone();
                async move { Ok::<_, Infallible>(route(req, caller, kubelet, authz).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await {
                tracing::debug!(%peer, error = %e, "kubelet API connection ended with an error");
            }
        });
    }
}

/// The node subresource a path falls under (upstream's authorization attributes).
fn subresource(path: &str) -> &'static str {
    if path.starts_with("/stats") {
        "stats"
    } else if path.starts_with("/metrics") {
        "metrics"
    } else if path.starts_with("/logs") {
        "log"
    } else {
        "proxy"
    }
}

async fn route(
    req: Request<Incoming>,
    caller: Option<Caller>,
    kubelet: Arc<Kubelet>,
    authz: Arc<auth::Authorizer>,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if path == "/healthz" || path == "/healthz/ping" {
        return text(StatusCode::OK, "ok");
    }
    let Some(caller) = caller else { return text(StatusCode::UNAUTHORIZED, "Unauthorized") };
    let verb = match *req.method() {
        http::Method::GET | http::Method::HEAD => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::DELETE => "delete",
        _ => "patch",
    };
    let sub = subresource(&path);
    if !authz.allowed(&caller, verb, sub).await {
        return text(
            StatusCode::FORBIDDEN,
            format!("Forbidden (user={}, verb={verb}, resource=nodes, subresource={sub})", caller.user),
        );
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["pods"] | ["pods", ""] => handlers::pods(&kubelet),
        ["containerLogs", ns, pod, container] => {
            handlers::container_logs(&kubelet, ns, pod, container, req.uri().query()).await
        }
        ["exec", ns, pod, container] | ["exec", ns, pod, _, container] => {
            stream::exec(req, &kubelet, ns, pod, container, false).await
        }
        ["attach", ns, pod, container] | ["attach", ns, pod, _, container] => {
            stream::exec(req, &kubelet, ns, pod, container, true).await
        }
        ["portForward", ns, pod] | ["portForward", ns, pod, _] => stream::port_forward(req, &kubelet, ns, pod).await,
        ["metrics"] => handlers::metrics(&kubelet).await,
        ["stats", "summary"] => handlers::summary(&kubelet).await,
        _ => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}
