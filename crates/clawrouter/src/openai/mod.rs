//! The OpenAI Chat Completions format: wire types, and pure translation to and
//! from Bedrock Converse (no I/O here; `server` does HTTP and SSE framing).
//!
//! Request → [`to_converse`] → Bedrock → [`from_converse`] (or one
//! [`StreamTranslator`] per streamed response) → response. Every way a
//! request can be untranslatable is a [`TranslateError`], which the server
//! answers as an OpenAI-shaped 400 (see `impl From<&TranslateError> for ErrorBody`).

mod messages;
mod request;
mod response;
mod routing;
mod stream;
mod tools;
mod wire;

pub(crate) use messages::{
    Conversation, check_tool_call_id, content_items, image, non_blank, tool_use,
};
pub use request::{DEFAULT_MAX_TOKENS, to_converse};
pub(crate) use request::{Generation, assemble};
pub use response::{from_converse, token_usage};
pub use routing::{route_input, strip_override_tag};
pub use stream::StreamTranslator;
pub(crate) use tools::translate as tool_plan;
pub use wire::*;

use aws_smithy_types::error::operation::BuildError;

/// Why a Chat Completions request cannot be sent to Bedrock. Every variant is
/// the client's mistake or an unsupported feature, i.e. an HTTP 400.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    #[error("invalid value for '{param}': {message}")]
    Invalid { param: String, message: String },
    #[error("unsupported value for '{param}': {message}")]
    Unsupported { param: String, message: String },
    /// The proxy never fetches URLs: that would let any client make it
    /// reach arbitrary hosts (SSRF).
    #[error("'{param}': image URLs are not supported by Bedrock; send a base64 data: URL")]
    ImageUrl { param: String },
    #[error("invalid image in '{param}': {message}")]
    Image { param: String, message: String },
    #[error(
        "{count} images sent; Bedrock accepts at most {} per request",
        messages::MAX_IMAGES
    )]
    TooManyImages { count: usize },
    #[error("messages must contain at least one non-empty user message")]
    NoMessages,
    #[error(
        "'{param}': the conversation must start with a user message (system and developer \
         messages may come first), but it starts with an assistant message"
    )]
    FirstNotUser { param: String },
    #[error("'{param}': tool name {name:?} must be 1-64 characters from a-z A-Z 0-9 _ -")]
    ToolName { param: String, name: String },
    #[error("'{param}': tool call id {id:?} must be 1-64 characters from a-z A-Z 0-9 _ . : -")]
    ToolCallId { param: String, id: String },
    #[error("'{param}': the arguments of tool call {id:?} are not a JSON object: {reason}")]
    ToolArguments {
        param: String,
        id: String,
        reason: String,
    },
    #[error(
        "'{param}': tool_call_id {id:?} does not match any tool call of the preceding assistant message"
    )]
    UnknownToolCall { param: String, id: String },
    /// A stateless proxy keeps no responses to continue from.
    #[error(
        "previous response {id:?} not found: ClawRouter keeps no responses (store is \
         always false); send the whole conversation in 'input' instead"
    )]
    PreviousResponse { id: String },
    #[error("'{param}': JSON is nested deeper than {limit} levels")]
    TooDeep { param: String, limit: usize },
    /// A required SDK field left unset: a translator bug, not reachable from input.
    #[error("could not build the Bedrock request: {0}")]
    Build(#[from] BuildError),
}

impl TranslateError {
    /// The request field at fault, in OpenAI's `param` style (`messages[2].content[0]`).
    pub fn param(&self) -> Option<&str> {
        match self {
            TranslateError::Invalid { param, .. }
            | TranslateError::Unsupported { param, .. }
            | TranslateError::ImageUrl { param }
            | TranslateError::Image { param, .. }
            | TranslateError::FirstNotUser { param }
            | TranslateError::ToolName { param, .. }
            | TranslateError::ToolCallId { param, .. }
            | TranslateError::ToolArguments { param, .. }
            | TranslateError::UnknownToolCall { param, .. }
            | TranslateError::TooDeep { param, .. } => Some(param),
            TranslateError::TooManyImages { .. } | TranslateError::NoMessages => Some("messages"),
            TranslateError::PreviousResponse { .. } => Some("previous_response_id"),
            TranslateError::Build(_) => None,
        }
    }

    /// A stable machine-readable code for the error body's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            TranslateError::Invalid { .. } => "invalid_value",
            TranslateError::Unsupported { .. } => "unsupported_value",
            TranslateError::ImageUrl { .. } => "image_url_not_supported",
            TranslateError::Image { .. } => "invalid_image",
            TranslateError::TooManyImages { .. } => "too_many_images",
            TranslateError::NoMessages => "missing_user_message",
            TranslateError::FirstNotUser { .. } => "invalid_message_order",
            TranslateError::ToolName { .. } => "invalid_tool_name",
            TranslateError::ToolCallId { .. } => "invalid_tool_call_id",
            TranslateError::ToolArguments { .. } => "invalid_tool_arguments",
            TranslateError::UnknownToolCall { .. } => "unknown_tool_call_id",
            TranslateError::TooDeep { .. } => "json_too_deep",
            TranslateError::PreviousResponse { .. } => "previous_response_not_found",
            TranslateError::Build(_) => "invalid_request",
        }
    }
}

impl From<&TranslateError> for ErrorBody {
    fn from(e: &TranslateError) -> Self {
        ErrorBody::new(
            e.to_string(),
            "invalid_request_error",
            e.param(),
            Some(e.code()),
        )
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::{ChatCompletionRequest, ChatMessage};
    use rust_decimal::Decimal;

    use crate::catalog::{
        Capability, Lifecycle, LifecycleStatus, Model, Price, SamplingRule, Thinking,
    };

    use crate::bedrock::{ConverseOutput, ConverseStreamEvent, json_to_document};
    use aws_sdk_bedrockruntime::types::{
        ContentBlock, ContentBlockDelta, ContentBlockDeltaEvent, ContentBlockStart,
        ContentBlockStartEvent, ContentBlockStopEvent, ConversationRole, ConverseMetrics,
        ConverseOutput as OutputUnion, ConverseStreamMetadataEvent, Message, MessageStartEvent,
        MessageStopEvent, ReasoningContentBlock, ReasoningTextBlock, StopReason,
        TokenUsage as BedrockUsage, ToolUseBlock, ToolUseBlockDelta, ToolUseBlockStart,
    };

    pub fn bedrock_usage(input: i32, output: i32, read: i32, write: i32) -> BedrockUsage {
        BedrockUsage::builder()
            .input_tokens(input)
            .output_tokens(output)
            .total_tokens(input + output + read + write)
            .cache_read_input_tokens(read)
            .cache_write_input_tokens(write)
            .build()
            .unwrap()
    }

    pub fn tool_use(id: &str, name: &str, input: serde_json::Value) -> ContentBlock {
        ContentBlock::ToolUse(
            ToolUseBlock::builder()
                .tool_use_id(id)
                .name(name)
                .input(json_to_document(&input, 64).unwrap())
                .build()
                .unwrap(),
        )
    }

    /// Signed thinking, as Claude returns it.
    pub fn reasoning(text: &str) -> ContentBlock {
        ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock::builder()
                .text(text)
                .signature("sig")
                .build()
                .unwrap(),
        ))
    }

    /// A whole Converse answer; usage 10 input, 5 output, 100 cache read, 20 cache write.
    pub fn output(blocks: Vec<ContentBlock>, stop: StopReason) -> ConverseOutput {
        let message = Message::builder()
            .role(ConversationRole::Assistant)
            .set_content(Some(blocks))
            .build()
            .unwrap();
        ConverseOutput::builder()
            .output(OutputUnion::Message(message))
            .stop_reason(stop)
            .usage(bedrock_usage(10, 5, 100, 20))
            .metrics(ConverseMetrics::builder().latency_ms(12).build().unwrap())
            .build()
            .unwrap()
    }

    pub fn start() -> ConverseStreamEvent {
        ConverseStreamEvent::MessageStart(
            MessageStartEvent::builder()
                .role(ConversationRole::Assistant)
                .build()
                .unwrap(),
        )
    }

    pub fn delta(index: i32, d: ContentBlockDelta) -> ConverseStreamEvent {
        ConverseStreamEvent::ContentBlockDelta(
            ContentBlockDeltaEvent::builder()
                .content_block_index(index)
                .delta(d)
                .build()
                .unwrap(),
        )
    }

    pub fn text(index: i32, t: &str) -> ConverseStreamEvent {
        delta(index, ContentBlockDelta::Text(t.to_owned()))
    }

    pub fn tool_start(index: i32, id: &str, name: &str) -> ConverseStreamEvent {
        let start = ToolUseBlockStart::builder()
            .tool_use_id(id)
            .name(name)
            .build()
            .unwrap();
        ConverseStreamEvent::ContentBlockStart(
            ContentBlockStartEvent::builder()
                .content_block_index(index)
                .start(ContentBlockStart::ToolUse(start))
                .build()
                .unwrap(),
        )
    }

    pub fn tool_input(index: i32, input: &str) -> ConverseStreamEvent {
        delta(
            index,
            ContentBlockDelta::ToolUse(ToolUseBlockDelta::builder().input(input).build().unwrap()),
        )
    }

    pub fn block_stop(index: i32) -> ConverseStreamEvent {
        ConverseStreamEvent::ContentBlockStop(
            ContentBlockStopEvent::builder()
                .content_block_index(index)
                .build()
                .unwrap(),
        )
    }

    pub fn stop(reason: StopReason) -> ConverseStreamEvent {
        ConverseStreamEvent::MessageStop(
            MessageStopEvent::builder()
                .stop_reason(reason)
                .build()
                .unwrap(),
        )
    }

    /// Usage as in [`output`].
    pub fn metadata() -> ConverseStreamEvent {
        ConverseStreamEvent::Metadata(
            ConverseStreamMetadataEvent::builder()
                .usage(bedrock_usage(10, 5, 100, 20))
                .build(),
        )
    }

    /// A request parsed from JSON, as the server would.
    pub fn request(v: serde_json::Value) -> ChatCompletionRequest {
        serde_json::from_value(v).unwrap()
    }

    /// Messages parsed from a JSON array.
    pub fn messages(v: serde_json::Value) -> Vec<ChatMessage> {
        serde_json::from_value(v).unwrap()
    }

    /// A model with every capability and the budget thinking form, like the
    /// catalog's Claude 4.5 entries.
    pub fn model() -> Model {
        Model {
            name: "bedrock/claude-test".into(),
            provider: "bedrock".into(),
            profile_id: "us.anthropic.claude-test-v1:0".into(),
            display: "Claude Test".into(),
            geographies: Vec::new(),
            lifecycle: Lifecycle {
                status: LifecycleStatus::Active,
                date: None,
                replacement: None,
            },
            price: Price {
                input: Decimal::new(3, 0),
                output: Decimal::new(15, 0),
                cache_read: Decimal::new(3, 1),
                cache_write: Decimal::new(375, 2),
                cache_write_1h: None,
                regional_premium: Decimal::new(1, 1),
                long_context: None,
            },
            context_window: 200_000,
            max_output: 64_000,
            capabilities: vec![
                Capability::Vision,
                Capability::Tools,
                Capability::Thinking,
                Capability::Caching,
            ],
            thinking: Thinking::default(),
            sampling: SamplingRule::Any,
            forced_tool_choice: true,
            min_cache_tokens: 1_024,
            accepts: Default::default(),
            discovered: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_openai_bodies() {
        let e = TranslateError::ImageUrl {
            param: "messages[0].content[1].image_url.url".into(),
        };
        let body = ErrorBody::from(&e);
        assert_eq!(body.error.kind, "invalid_request_error");
        assert_eq!(
            body.error.param.as_deref(),
            Some("messages[0].content[1].image_url.url")
        );
        assert_eq!(body.error.code.as_deref(), Some("image_url_not_supported"));
        assert!(body.error.message.contains("send a base64 data: URL"));
    }
}
