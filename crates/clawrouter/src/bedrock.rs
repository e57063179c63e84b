//! Calling Bedrock Runtime: the request/response types the translators
//! produce and consume, the upstream error taxonomy, and the SDK-backed client.
//!
//! The Bedrock wire types are the official SDK's generated types
//! (`aws_sdk_bedrockruntime::types`), which mirror the Smithy model exactly;
//! this module adds only what the SDK does not have: one request value that
//! serves both Converse and ConverseStream, and an error enum that says what
//! a client of the proxy should be told.

use std::time::Duration;

use aws_sdk_bedrockruntime::types::{
    InferenceConfiguration, Message, SystemContentBlock, ToolConfiguration,
};
use aws_smithy_types::Document;

pub use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
pub use aws_sdk_bedrockruntime::types::ConverseStreamOutput as ConverseStreamEvent;

/// A Converse / ConverseStream request, as built by the translators.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConverseRequest {
    /// Inference profile id, e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`.
    pub model_id: String,
    pub messages: Vec<Message>,
    pub system: Vec<SystemContentBlock>,
    pub inference: Option<InferenceConfiguration>,
    pub tools: Option<ToolConfiguration>,
    /// Model-specific fields, e.g. `{"thinking": {...}, "top_k": 5}`.
    pub additional_fields: Option<Document>,
    /// JSON pointers into the model's native response to return, e.g. `/stop_sequence`.
    pub response_field_paths: Vec<String>,
}

/// What went wrong upstream, in the terms a proxy client needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpstreamError {
    #[error("Bedrock is throttling requests: {message}")]
    Throttled {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("Bedrock rejected the request: {message}")]
    Validation { message: String },
    #[error("Bedrock denied access: {message}")]
    AccessDenied { message: String },
    #[error("Bedrock does not know this model or resource: {message}")]
    NotFound { message: String },
    #[error("Bedrock timed out: {message}")]
    Timeout { message: String },
    #[error("the model failed: {message}")]
    ModelError { message: String },
    #[error("Bedrock is unavailable ({status}): {message}")]
    Unavailable { status: u16, message: String },
    #[error("cannot reach Bedrock: {message}")]
    Connect { message: String },
    #[error("no usable AWS credentials: {message}")]
    Credentials { message: String },
}

impl UpstreamError {
    /// Whether another candidate model may succeed where this one failed
    /// (throttling and server-side faults, not the request's own mistakes).
    pub fn is_retryable_elsewhere(&self) -> bool {
        matches!(
            self,
            UpstreamError::Throttled { .. }
                | UpstreamError::Unavailable { .. }
                | UpstreamError::Timeout { .. }
                | UpstreamError::Connect { .. }
        )
    }
}

/// The JSON value was nested deeper than the limit given to [`json_to_document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("JSON is nested deeper than {limit} levels")]
pub struct TooDeep {
    pub limit: usize,
}

/// Converts client JSON (tool schemas, tool arguments) into the SDK's
/// `Document`. Depth is bounded because the value comes from a client and
/// the conversion (like the SDK's serializer after it) recurses.
pub fn json_to_document(value: &serde_json::Value, limit: usize) -> Result<Document, TooDeep> {
    use aws_smithy_types::Number;
    use serde_json::Value;
    fn walk(v: &Value, left: usize, limit: usize) -> Result<Document, TooDeep> {
        let Some(below) = left.checked_sub(1) else {
            return Err(TooDeep { limit });
        };
        Ok(match v {
            Value::Null => Document::Null,
            Value::Bool(b) => Document::Bool(*b),
            Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
                Number::PosInt(u)
            } else if let Some(i) = n.as_i64() {
                Number::NegInt(i)
            } else {
                Number::Float(n.as_f64().unwrap_or(0.0))
            }),
            Value::String(s) => Document::String(s.clone()),
            Value::Array(items) => Document::Array(
                items
                    .iter()
                    .map(|i| walk(i, below, limit))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Document::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), walk(v, below, limit)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
    walk(value, limit, limit)
}

/// Converts a `Document` from Bedrock (tool input) back to JSON. Object keys
/// come out sorted (serde_json's map), so the result is deterministic even
/// though `Document` objects are hash maps. Non-finite floats, which JSON
/// cannot carry, become `null`.
pub fn document_to_json(doc: &Document) -> serde_json::Value {
    use aws_smithy_types::Number;
    use serde_json::Value;
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), document_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod document_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_document() {
        let v = json!({"type":"object","n":-3,"u":7,"f":1.5,"ok":true,"none":null,
                       "list":[1,"two",{"three":[3.25]}]});
        let doc = json_to_document(&v, 64).unwrap();
        assert_eq!(document_to_json(&doc), v);
    }

    #[test]
    fn depth_limit_counts_levels() {
        let mut v = json!(1);
        for _ in 0..9 {
            v = json!([v]);
        }
        // ten levels: the scalar plus nine arrays
        assert!(json_to_document(&v, 10).is_ok());
        assert_eq!(json_to_document(&v, 9), Err(TooDeep { limit: 9 }));
    }
}
