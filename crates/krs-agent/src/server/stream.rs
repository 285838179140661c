//! exec, attach and port-forward: the runtime's streaming server (containerd's, speaking the
//! SPDY/3.1 and WebSocket channel protocols) serves the session; the kubelet asks the CRI for
//! its URL and proxies the HTTP upgrade to it byte for byte, as upstream's kubelet does
//! (UpgradeAwareHandler). Protocol negotiation is between the client and the runtime.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Body, full, text};
use crate::kubelet::Kubelet;
use crate::runtime::ContainerState;

/// Query parameters as (key, value) pairs, decoded.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn flag(pairs: &[(String, String)], key: &str) -> bool {
    pairs.iter().any(|(k, v)| k == key && matches!(v.as_str(), "1" | "true" | "True" | ""))
}

pub async fn exec(
    req: Request<Incoming>,
    kubelet: &Arc<Kubelet>,
    ns: &str,
    pod: &str,
    container: &str,
    attach: bool,
) -> Response<Body> {
    let Some(p) = kubelet.pod(ns, pod) else { return text(StatusCode::NOT_FOUND, format!("pod {ns}/{pod} not found")) };
    let uid = p.metadata.uid.clone().unwrap_or_default();
    let status = match kubelet.runtime().pod_status(&uid).await {
        Ok(s) => s,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let Some(c) = status.latest(container).filter(|c| c.state == ContainerState::Running) else {
        return text(StatusCode::BAD_REQUEST, format!("container {container} is not running in pod {ns}/{pod}"));
    };
    let q = query_pairs(req.uri().query());
    let (tty, stdin, stdout, stderr) = (
        flag(&q, "tty"),
        flag(&q, "input") || flag(&q, "stdin"),
        flag(&q, "output") || flag(&q, "stdout"),
        flag(&q, "error") || flag(&q, "stderr"),
    );
    let url = if attach {
        kubelet.runtime().attach_url(&c.id, tty, stdin, stdout, stderr).await
    } else {
        let cmd: Vec<String> = q.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
        if cmd.is_empty() {
            return text(StatusCode::BAD_REQUEST, "missing command");
        }
        kubelet.runtime().exec_url(&c.id, cmd, tty, stdin, stdout, stderr).await
    };
    match url {
        Ok(u) => proxy(req, &u).await,
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

pub async fn port_forward(req: Request<Incoming>, kubelet: &Arc<Kubelet>, ns: &str, pod: &str) -> Response<Body> {
    let Some(p) = kubelet.pod(ns, pod) else { return text(StatusCode::NOT_FOUND, format!("pod {ns}/{pod} not found")) };
    let uid = p.metadata.uid.clone().unwrap_or_default();
    let status = match kubelet.runtime().pod_status(&uid).await {
        Ok(s) => s,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let Some(sandbox) = status.sandbox().filter(|s| s.ready) else {
        return text(StatusCode::BAD_REQUEST, format!("pod {ns}/{pod} has no running sandbox"));
    };
    let ports: Vec<i32> = query_pairs(req.uri().query())
        .iter()
        .filter(|(k, _)| k == "port")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    match kubelet.runtime().port_forward_url(&sandbox.id, ports).await {
        Ok(u) => proxy(req, &u).await,
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Headers not forwarded hop to hop (the upgrade ones are, for an upgrade).
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "proxy-authorization"
            | "authorization"
    )
}

/// Sends the client's request (with its query) to the runtime's streaming URL; on 101 both
/// connections are spliced.
async fn proxy(mut req: Request<Incoming>, url: &str) -> Response<Body> {
    let Ok(target) = url.parse::<http::Uri>() else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, format!("bad stream URL {url}"));
    };
    let Some(authority) = target.authority().map(|a| a.to_string()) else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, format!("bad stream URL {url}"));
    };
    let mut path = target.path().to_owned();
    if let Some(q) = req.uri().query() {
        path.push('?');
        path.push_str(q);
    }
    let mut backend = match TcpStream::connect(&authority).await {
        Ok(s) => s,
        Err(e) => return text(StatusCode::BAD_GATEWAY, format!("connecting to the runtime's streaming server: {e}")),
    };
    let mut head = format!("{} {path} HTTP/1.1\r\nHost: {authority}\r\n", req.method());
    for (k, v) in req.headers() {
        let name = k.as_str();
        if name == "host" || hop_by_hop(name) {
            continue;
        }
        if let Ok(v) = v.to_str() {
            head.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    if let Err(e) = backend.write_all(head.as_bytes()).await {
        return text(StatusCode::BAD_GATEWAY, format!("writing to the runtime's streaming server: {e}"));
    }
    // Read the response head.
    let mut buf = Vec::with_capacity(4096);
    let (status, headers, consumed) = loop {
        let mut chunk = [0u8; 4096];
        let n = match backend.read(&mut chunk).await {
            Ok(0) => return text(StatusCode::BAD_GATEWAY, "the runtime's streaming server closed the connection"),
            Ok(n) => n,
            Err(e) => {
                return text(StatusCode::BAD_GATEWAY, format!("reading from the runtime's streaming server: {e}"));
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut hdrs = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut hdrs);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = resp.code.unwrap_or(502);
                let headers: Vec<(String, Vec<u8>)> =
                    resp.headers.iter().map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec())).collect();
                break (status, headers, len);
            }
            Ok(httparse::Status::Partial) if buf.len() < 64 * 1024 => continue,
            _ => return text(StatusCode::BAD_GATEWAY, "malformed response from the runtime's streaming server"),
        }
    };
    let rest = buf.split_off(consumed);
    let mut response = Response::builder().status(status);
    for (k, v) in &headers {
        if hop_by_hop(k) || k == "content-length" {
            continue;
        }
        response = response.header(k.as_str(), v.as_slice());
    }
    if status != 101 {
        // An error (or a refused protocol): relay the body as the runtime sent it.
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = rest;
        while body.len() < len {
            let mut chunk = vec![0u8; len - body.len()];
            match backend.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        let resp = response.body(http_body_util::Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
        return resp.unwrap_or_else(|_| full(StatusCode::BAD_GATEWAY, "text/plain", "bad response"));
    }
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = match upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "stream upgrade failed");
                return;
            }
        };
        let mut client = TokioIo::new(upgraded);
        if !rest.is_empty() && client.write_all(&rest).await.is_err() {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
    });
    response
        .body(http_body_util::Empty::new().map_err(|never| match never {}).boxed())
        .unwrap_or_else(|_| full(StatusCode::BAD_GATEWAY, "text/plain", "bad response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = query_pairs(Some("command=sh&command=-c&command=echo%20hi%26&stdin=1&tty=true&output=1"));
        let cmd: Vec<_> = q.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.as_str()).collect();
        assert_eq!(cmd, ["sh", "-c", "echo hi&"]);
        assert!(flag(&q, "stdin") && flag(&q, "tty") && flag(&q, "output") && !flag(&q, "error"));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%42"), "AB");
    }
}
