//! Lifecycle hooks (postStart, preStop): exec in the container, HTTP GET, or sleep.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, LifecycleHandler};

use super::CriRuntime;
use crate::probes::handlers::{self, Outcome};
use crate::probes::resolve_port;
use crate::runtime::Runtime;

/// Runs `handler` for the container within `budget`.
pub async fn run(
    rt: &CriRuntime,
    container_id: &str,
    handler: &LifecycleHandler,
    c: &Container,
    pod_ip: Option<&str>,
    budget: Duration,
) -> Result<(), String> {
    if let Some(exec) = &handler.exec {
        let cmd = exec.command.clone().unwrap_or_default();
        let r =
            rt.exec_sync(container_id, cmd.clone(), budget.as_secs().max(1) as i64).await.map_err(|e| e.to_string())?;
        if r.exit_code != 0 {
            let mut out = String::from_utf8_lossy(&r.stdout).into_owned();
            out.push_str(&String::from_utf8_lossy(&r.stderr));
            return Err(format!("command '{}' exited with {}: {out}", cmd.join(" "), r.exit_code));
        }
        return Ok(());
    }
    if let Some(get) = &handler.http_get {
        let port = resolve_port(&get.port, c)?;
        let host = get.host.as_deref().filter(|h| !h.is_empty()).or(pod_ip).unwrap_or("127.0.0.1");
        let g = handlers::HttpGet {
            host,
            port,
            path: get.path.as_deref().unwrap_or("/"),
            https: get.scheme.as_deref() == Some("HTTPS"),
            headers: get.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect(),
        };
        return match handlers::http_get(&g, budget).await {
            Outcome::Success => Ok(()),
            Outcome::Failure(e) => Err(e),
        };
    }
    if let Some(sleep) = &handler.sleep {
        let d = Duration::from_secs(sleep.seconds.max(0) as u64).min(budget);
        tokio::time::sleep(d).await;
        return Ok(());
    }
    if let Some(tcp) = &handler.tcp_socket {
        let port = resolve_port(&tcp.port, c)?;
        let host = tcp.host.as_deref().filter(|h| !h.is_empty()).or(pod_ip).unwrap_or("127.0.0.1");
        return match handlers::tcp(host, port, budget).await {
            Outcome::Success => Ok(()),
            Outcome::Failure(e) => Err(e),
        };
    }
    Err("the hook has no handler".into())
}
