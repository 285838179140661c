//! The CRI gRPC connection (runtime.v1) over containerd's Unix socket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::error::{Error, Result};

/// Clients of both CRI services on one channel. Cloning is cheap (the channel is shared).
#[derive(Clone)]
pub struct CriClient {
    pub runtime: RuntimeServiceClient<Channel>,
    pub images: ImageServiceClient<Channel>,
    pub socket: PathBuf,
}

/// CRI messages can be large (ListContainers on a busy node); upstream allows 16 MiB.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

impl CriClient {
    pub async fn connect(socket: &Path) -> Result<CriClient> {
        let path = socket.to_path_buf();
        // The URI is not used: every connection goes to the socket.
        let endpoint = Endpoint::try_from("http://cri.invalid")
            .map_err(|e| Error::CriConnect { path: path.clone(), message: e.to_string() })?
            .connect_timeout(Duration::from_secs(10));
        let p = path.clone();
        let channel = endpoint
            .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                let p = p.clone();
                async move { tokio::net::UnixStream::connect(p).await.map(TokioIo::new) }
            }))
            .await
            .map_err(|e| Error::CriConnect { path: path.clone(), message: e.to_string() })?;
        Ok(CriClient {
            runtime: RuntimeServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            images: ImageServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            socket: path,
        })
    }

    /// Connects, retrying for up to `wait` (the runtime may still be starting).
    pub async fn connect_waiting(socket: &Path, wait: Duration) -> Result<CriClient> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match CriClient::connect(socket).await {
                Ok(mut c) => match c.runtime.version(k8s_cri::v1::VersionRequest::default()).await {
                    Ok(_) => return Ok(c),
                    Err(e) if tokio::time::Instant::now() >= deadline => return Err(e.into()),
                    Err(_) => {}
                },
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A request with a deadline, as upstream's remote runtime applies (2 min for most calls).
pub fn req<T>(msg: T, timeout: Duration) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(timeout);
    r
}

pub const TIMEOUT: Duration = Duration::from_secs(120);
