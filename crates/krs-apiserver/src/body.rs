//! Response bodies: whole (most responses) or streamed (watches, large lists).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use tokio::sync::mpsc;

/// The body of every response.
pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub fn empty() -> Body {
    full(Bytes::new())
}

/// A body fed by a channel; it ends when the sender is dropped. The bounded channel makes a
/// slow client slow down its producer instead of buffering without limit.
pub fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = mpsc::channel::<Bytes>(capacity);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    (tx, StreamBody::new(stream).boxed())
}

/// The size limit of request bodies (upstream's 3 MiB).
pub const MAX_REQUEST_BODY: usize = 3 * 1024 * 1024;

/// Why a request body could not be read.
#[derive(Debug)]
pub enum ReadError {
    TooLarge,
    Io(String),
}

/// Reads a whole request body, refusing more than [`MAX_REQUEST_BODY`] bytes.
pub async fn read_limited<B>(body: B) -> Result<Bytes, ReadError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match http_body_util::Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            if e.is::<http_body_util::LengthLimitError>() {
                Err(ReadError::TooLarge)
            } else {
                Err(ReadError::Io(e.to_string()))
            }
        }
    }
}
