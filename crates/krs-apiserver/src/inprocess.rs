//! The in-process transport: a tower `Service` that hands requests straight to the API
//! server's handler, without TCP or TLS, as a fixed user. Components running inside
//! `krs server` (scheduler, controllers, node agent) build their kube-rs `Client` on it, so the
//! in-process and remote code paths are the same HTTP requests.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};

use crate::auth::UserInfo;
use crate::body::Body;
use crate::handler::App;

/// Requests to `app` as `user`.
#[derive(Clone)]
pub struct InProcess {
    app: Arc<App>,
    user: UserInfo,
    user_agent: Option<http::HeaderValue>,
}

impl InProcess {
    pub fn new(app: Arc<App>, user: UserInfo) -> InProcess {
        InProcess { app, user, user_agent: None }
    }

    /// Requests without a User-Agent get `component`'s, as upstream's components send
    /// (`kube-scheduler/v1.34.0 (linux/amd64) kubernetes/krs`): the default field manager of
    /// their writes is the component's name.
    pub fn with_component(mut self, component: &str) -> InProcess {
        self.user_agent = http::HeaderValue::from_str(&user_agent(component)).ok();
        self
    }
}

/// The User-Agent of a krs component named as upstream's (`kube-scheduler`, `kubelet`, ...).
pub fn user_agent(component: &str) -> String {
    format!(
        "{component}/{} ({}/{}) kubernetes/krs",
        crate::handler::KUBERNETES_VERSION,
        std::env::consts::OS,
        go_arch(std::env::consts::ARCH)
    )
}

/// Go's name of an architecture, as user agents carry it.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

impl<B> tower::Service<Request<B>> for InProcess
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(ua) = &self.user_agent
            && !req.headers().contains_key(http::header::USER_AGENT)
        {
            req.headers_mut().insert(http::header::USER_AGENT, ua.clone());
        }
        let (app, user) = (self.app.clone(), self.user.clone());
        Box::pin(async move { Ok(app.handle(req, Some(user), None).await) })
    }
}
