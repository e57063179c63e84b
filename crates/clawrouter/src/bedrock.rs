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
