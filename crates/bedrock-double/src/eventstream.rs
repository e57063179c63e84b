//! AWS event-stream framing (`application/vnd.amazon.eventstream`) for the
//! two streaming operations, and the response body that plays a planned
//! stream out, honouring `chunk-delay`, `midstream` and `stall`.

use std::convert::Infallible;
use std::time::Duration;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::errors::ApiError;
use crate::faults::Directives;
use crate::server::Body;

/// Real Bedrock pads event payloads with `"p"` of varying length so sizes
/// leak nothing; clients must ignore it.
const PADDING: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The frames of one stream, and where a fault cuts in.
pub struct StreamPlan {
    pub frames: Vec<Bytes>,
    /// Frames sent before a `midstream`/`stall` fault: up to and including
    /// the first content delta.
    pub first_delta_end: usize,
}

/// An `:message-type=event` frame; a JSON object payload gets a `"p"` pad.
pub fn event_frame(event_type: &str, payload: &Value) -> Bytes {
    let mut payload = payload.clone();
    if let Value::Object(map) = &mut payload {
        map.insert("p".to_owned(), Value::String(padding(&payload_seed(map))));
    }
    frame("event", (":event-type", event_type), &payload)
}

/// An `:message-type=exception` frame carrying the error's JSON body.
pub fn exception_frame(error: &ApiError) -> Bytes {
    let exception_type = error.kind.exception_type();
    frame(
        "exception",
        (":exception-type", &exception_type),
        &error.body(),
    )
}

fn frame(message_type: &str, (type_name, type_value): (&str, &str), payload: &Value) -> Bytes {
    let string = |s: &str| HeaderValue::String(s.to_owned().into());
    let headers = vec![
        Header::new(type_name.to_owned(), string(type_value)),
        Header::new(":content-type", string("application/json")),
        Header::new(":message-type", string(message_type)),
    ];
    let message = Message::new_from_parts(headers, payload.to_string().into_bytes());
    let mut buffer = Vec::new();
    // Writing to a Vec fails only for oversized headers, which these are not.
    match write_message_to(&message, &mut buffer) {
        Ok(()) => Bytes::from(buffer),
        Err(_) => Bytes::new(),
    }
}

fn payload_seed(map: &serde_json::Map<String, Value>) -> [u8; 32] {
    Sha256::digest(Value::Object(map.clone()).to_string().as_bytes()).into()
}

fn padding(seed: &[u8; 32]) -> String {
    let len = 1 + seed[0] as usize % PADDING.len();
    PADDING[..len].to_owned()
}

/// The response body playing `plan` out: `chunk-delay` between frames; with
/// `midstream`, the frames up to the first delta then the exception; with
/// `stall`, those frames then silence until the client disconnects.
/// `on_abandoned` runs when the client goes away before the stream ends.
pub fn stream_body(
    plan: StreamPlan,
    directives: &Directives,
    on_abandoned: impl FnOnce() + Send + 'static,
) -> Body {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let chunk_delay = directives.chunk_delay.unwrap_or(Duration::ZERO);
    let midstream = directives.midstream;
    let stall = directives.stall;
    tokio::spawn(async move {
        let cut = midstream.is_some() || stall;
        let count = if cut {
            plan.first_delta_end
        } else {
            plan.frames.len()
        };
        for (i, frame) in plan.frames.into_iter().take(count).enumerate() {
            if i > 0 && !chunk_delay.is_zero() {
                tokio::time::sleep(chunk_delay).await;
            }
            if tx.send(frame).await.is_err() {
                on_abandoned();
                return;
            }
        }
        if let Some(kind) = midstream {
            // The stream ends right after the exception, as Bedrock's does.
            let _ = tx.send(exception_frame(&ApiError::of(kind))).await;
        } else if stall {
            tx.closed().await;
            on_abandoned();
        }
    });
    let frames = stream::unfold(rx, |mut rx| async move {
        let frame = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(frame)), rx))
    });
    StreamBody::new(frames).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;
    use serde_json::json;

    use crate::errors::ErrorKind;

    fn header<'a>(message: &'a Message, name: &str) -> &'a str {
        message
            .headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str())
            .unwrap()
    }

    #[test]
    fn event_frames_round_trip_with_padding() {
        let bytes = event_frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
        );
        let message = read_message_from(bytes).unwrap();
        assert_eq!(header(&message, ":event-type"), "contentBlockDelta");
        assert_eq!(header(&message, ":message-type"), "event");
        assert_eq!(header(&message, ":content-type"), "application/json");
        assert_eq!(message.headers().len(), 3);
        let payload: Value = serde_json::from_slice(message.payload()).unwrap();
        assert_eq!(payload["delta"]["text"], "Hi");
        assert!(!payload["p"].as_str().unwrap().is_empty());
    }

    #[test]
    fn exception_frames_name_the_exception() {
        let bytes = exception_frame(&ApiError::of(ErrorKind::Throttling));
        let message = read_message_from(bytes).unwrap();
        assert_eq!(header(&message, ":message-type"), "exception");
        assert_eq!(header(&message, ":exception-type"), "throttlingException");
        let payload: Value = serde_json::from_slice(message.payload()).unwrap();
        assert_eq!(
            payload["message"],
            "Too many requests, please wait before trying again."
        );
    }
}
