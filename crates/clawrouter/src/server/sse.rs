//! Server-sent events: framing and the response that carries them.
//!
//! A streaming handler spawns a task that pumps upstream events into a
//! bounded channel; the response body reads the channel. When the client goes
//! away the body is dropped, the next send fails, and the task stops — which
//! drops the upstream stream and so cancels the Bedrock call.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;

/// Frames a JSON value as one `data:` event.
pub fn data(value: &impl serde::Serialize) -> Bytes {
    let mut out = b"data: ".to_vec();
    // Serializing our own wire types cannot fail; an empty object keeps the
    // stream well-formed if it ever did.
    if serde_json::to_writer(&mut out, value).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Frames a named event (`event: NAME`), as the Anthropic protocol uses.
pub fn named(event: &str, json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(event.len() + json.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// A channel whose receiving end becomes an SSE response body.
pub fn channel() -> (mpsc::Sender<Bytes>, Response) {
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    (tx, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_single_events() {
        assert_eq!(
            &data(&serde_json::json!({"a": "b\nc"}))[..],
            b"data: {\"a\":\"b\\nc\"}\n\n"
        );
        assert_eq!(&named("ping", b"{}")[..], b"event: ping\ndata: {}\n\n");
    }
}
