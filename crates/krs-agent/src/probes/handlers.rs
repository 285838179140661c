//! The network checks of probes and lifecycle hooks: HTTP GET (http and https, certificates
//! not verified, as upstream), TCP connect and the gRPC health protocol.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What a check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The check ran and failed (a status code, a refused connection).
    Failure(String),
}

pub struct HttpGet<'a> {
    pub host: &'a str,
    pub port: u16,
    pub path: &'a str,
    pub https: bool,
    pub headers: Vec<(String, String)>,
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// A GET; 2xx and 3xx succeed (redirects are not followed).
pub async fn http_get(g: &HttpGet<'_>, timeout: Duration) -> Outcome {
    match tokio::time::timeout(timeout, http_get_inner(g)).await {
        Ok(Ok(code)) if (200..400).contains(&code) => Outcome::Success,
        Ok(Ok(code)) => Outcome::Failure(format!("HTTP probe failed with statuscode: {code}")),
        Ok(Err(e)) => Outcome::Failure(e),
        Err(_) => Outcome::Failure(format!(
            "Get \"{}://{}{}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            if g.https { "https" } else { "http" },
            host_port(g.host, g.port),
            g.path
        )),
    }
}

async fn http_get_inner(g: &HttpGet<'_>) -> Result<u16, String> {
    let addr = host_port(g.host, g.port);
    let scheme = if g.https { "https" } else { "http" };
    let url = format!("{scheme}://{addr}{}", if g.path.is_empty() { "/" } else { g.path });
    let stream = TcpStream::connect(&addr).await.map_err(|e| format!("Get \"{url}\": dial tcp {addr}: {e}"))?;
    let path = if g.path.is_empty() {
        "/".to_owned()
    } else if g.path.starts_with('/') {
        g.path.to_owned()
    } else {
        format!("/{}", g.path)
    };
    let mut builder = http::Request::get(path)
        .header(http::header::USER_AGENT, "kube-probe/1.34")
        .header(http::header::ACCEPT, "*/*")
        .header(http::header::CONNECTION, "close");
    let mut has_host = false;
    for (k, v) in &g.headers {
        has_host |= k.eq_ignore_ascii_case("host");
        builder = builder.header(k.as_str(), v.as_str());
    }
    if !has_host {
        builder = builder.header(http::header::HOST, addr.as_str());
    }
    let request = builder.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    let response = if g.https {
        let tls = tokio_rustls::TlsConnector::from(insecure_tls()?);
        let name = rustls_pki_types::ServerName::try_from(g.host.to_owned()).map_err(|e| e.to_string())?;
        let stream = tls.connect(name, stream).await.map_err(|e| format!("Get \"{url}\": {e}"))?;
        send(TokioIo::new(stream), request).await?
    } else {
        send(TokioIo::new(stream), request).await?
    };
    Ok(response)
}

async fn send<S>(io: S, request: http::Request<Empty<Bytes>>) -> Result<u16, String>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    // Reading (a bounded amount of) the body lets the server finish cleanly.
    let _ = tokio::time::timeout(Duration::from_secs(1), response.into_body().collect()).await;
    driver.abort();
    Ok(status)
}

/// Probes don't verify certificates (upstream's InsecureSkipVerify).
fn insecure_tls() -> Result<Arc<rustls::ClientConfig>, String> {
    #[derive(Debug)]
    struct AcceptAll(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AcceptAll {
        fn verify_server_cert(
            &self,
            _: &rustls_pki_types::CertificateDer<'_>,
            _: &[rustls_pki_types::CertificateDer<'_>],
            _: &rustls_pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls_pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls_pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls_pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAll(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

pub async fn tcp(host: &str, port: u16, timeout: Duration) -> Outcome {
    let addr = host_port(host, port);
    match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Ok(Ok(_)) => Outcome::Success,
        Ok(Err(e)) => Outcome::Failure(format!("dial tcp {addr}: {e}")),
        Err(_) => Outcome::Failure(format!("dial tcp {addr}: i/o timeout")),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

/// grpc.health.v1.Health/Check; SERVING (1) succeeds.
pub async fn grpc(host: &str, port: u16, service: &str, timeout: Duration) -> Outcome {
    let addr = host_port(host, port);
    let run = async {
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).map_err(|e| e.to_string())?;
        let channel = endpoint.connect().await.map_err(|e| format!("failed to connect service {addr:?}: {e}"))?;
        let mut client = tonic::client::Grpc::new(channel);
        client.ready().await.map_err(|e| e.to_string())?;
        let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
        let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
        let response = client
            .unary(tonic::Request::new(HealthCheckRequest { service: service.to_owned() }), path, codec)
            .await
            .map_err(|e| format!("health rpc did not complete within {timeout:?}: {}", e.message()))?;
        Ok::<i32, String>(response.into_inner().status)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(1)) => Outcome::Success,
        Ok(Ok(status)) => Outcome::Failure(format!("service unhealthy (responded with {status})")),
        Ok(Err(e)) => Outcome::Failure(e),
        Err(_) => Outcome::Failure(format!("timeout: health rpc did not complete within {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A one-connection HTTP server answering `status`.
    async fn serve_once(status: u16) -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().map(|a| a.port()).unwrap_or_default();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = s.write_all(resp.as_bytes()).await;
            }
        });
        port
    }

    #[tokio::test]
    async fn http_and_tcp() {
        let ok = serve_once(200).await;
        let g = |port| HttpGet { host: "127.0.0.1", port, path: "/healthz", https: false, headers: vec![] };
        assert_eq!(http_get(&g(ok), Duration::from_secs(2)).await, Outcome::Success);
        let bad = serve_once(500).await;
        assert_eq!(
            http_get(&g(bad), Duration::from_secs(2)).await,
            Outcome::Failure("HTTP probe failed with statuscode: 500".into())
        );
        assert_eq!(tcp("127.0.0.1", ok, Duration::from_secs(2)).await, Outcome::Success);
        // A port nobody listens on: bind, learn the port, close.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().map(|a| a.port()).unwrap_or_default()
        };
        assert!(matches!(tcp("127.0.0.1", closed, Duration::from_secs(2)).await, Outcome::Failure(_)));
        assert!(matches!(http_get(&g(closed), Duration::from_secs(2)).await, Outcome::Failure(_)));
        assert!(matches!(grpc("127.0.0.1", closed, "", Duration::from_secs(2)).await, Outcome::Failure(_)));
    }
}
