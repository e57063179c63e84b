//! The Anthropic Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`)
//! served by Bedrock's InvokeModel with the native Anthropic body, so Claude
//! Code and the Anthropic SDKs work through the proxy unchanged.
//!
//! No translation: Bedrock takes Anthropic's own request body and answers with
//! Anthropic's own Message JSON and stream events, so tools, images,
//! documents, signed thinking blocks and `cache_control` pass through
//! untouched. The body is parsed only as far as this module needs
//! ([`MessagesRequest`]); everything else stays raw JSON. What this module
//! does change is what Bedrock would refuse ([`bedrock_body`]): `model` and
//! `stream` go, the `anthropic-beta` header becomes the body's
//! `anthropic_beta` list, and betas and fields Bedrock does not take for that
//! model are dropped (logged at debug) instead of failing the request.
//!
//! On the way back ([`StreamRelay`], [`relay_message`]) each Bedrock chunk is
//! one Anthropic event JSON; it is relayed as `event: <type>` with the usage
//! read off for accounting and the `model` field set to the name the client
//! knows ([`response_model_name`]).

mod accepts;
mod body;
mod inspect;
mod relay;

pub use body::{bedrock_body, count_tokens_body};
pub use inspect::{estimate_tokens, route_input, strip_override_tag};
pub use relay::{RelayedMessage, StreamEvent, StreamRelay, relay_message, response_model_name};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Messages API request, parsed only as far as the proxy needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    /// Chooses InvokeModel or InvokeModelWithResponseStream; never sent on.
    #[serde(default)]
    pub stream: bool,
    /// Required by `/v1/messages`, absent from `count_tokens` requests.
    pub max_tokens: Option<u32>,
    pub messages: Vec<Message>,
    /// A string or a list of text blocks.
    pub system: Option<Value>,
    #[serde(default)]
    pub tools: Vec<Value>,
    /// `{"type": "enabled", "budget_tokens": N}`, `{"type": "adaptive"}` or `{"type": "disabled"}`.
    pub thinking: Option<Value>,
    /// Every other field, as sent (filtered by [`bedrock_body`]).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Content,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    /// Claude Code 2.1's mid-conversation system message (a first-party
    /// beta). Bedrock has no such role; [`bedrock_body`] folds these into
    /// the neighbouring user turn.
    System,
}

/// Message content: a plain string or content blocks, kept as raw JSON so
/// every block type (and any future one) reaches Bedrock byte-for-byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Blocks(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnthropicError {
    /// The request cannot be sent as it is (Anthropic `invalid_request_error`).
    #[error("{0}")]
    InvalidRequest(String),
    /// Bedrock answered with something that is not an Anthropic message or event.
    #[error("Bedrock sent an unreadable response: {0}")]
    UpstreamFormat(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keeps_unknown_fields_and_block_json() {
        let req: MessagesRequest = serde_json::from_str(
            r#"{"model":"m","max_tokens":5,"top_k":3,
                "messages":[{"role":"user","content":[{"type":"future_block","x":{"y":1}}]}]}"#,
        )
        .unwrap();
        assert!(!req.stream);
        assert_eq!(req.rest["top_k"], 3);
        let Content::Blocks(blocks) = &req.messages[0].content else {
            panic!("blocks expected");
        };
        assert_eq!(blocks[0]["x"]["y"], 1);
    }

    #[test]
    fn unknown_role_is_a_parse_error() {
        let r: Result<MessagesRequest, _> = serde_json::from_str(
            r#"{"model":"m","max_tokens":5,"messages":[{"role":"tool","content":"x"}]}"#,
        );
        assert!(r.is_err());
    }
}
