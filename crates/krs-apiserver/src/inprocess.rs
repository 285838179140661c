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
}

impl InProcess {
    pub fn new(app: Arc<App>, user: UserInfo) -> InProcess {
        InProcess { app, user }
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

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (app, user) = (self.app.clone(), self.user.clone());
        Box::pin(async move { Ok(app.handle(req, Some(user), None).await) })
    }
}
