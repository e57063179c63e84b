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
///
/// Deserialized field by field (see the impl below), not with
/// `#[serde(flatten)]` for [`MessagesRequest::rest`]: flatten first buffers
/// the whole document in serde's generic content tree, which for a body of
/// many small messages costs some 25 times the body in memory.
#[derive(Debug, Clone)]
pub struct MessagesRequest {
    pub model: String,
    /// Chooses InvokeModel or InvokeModelWithResponseStream; never sent on.
    pub stream: bool,
    /// Required by `/v1/messages`, absent from `count_tokens` requests.
    pub max_tokens: Option<u32>,
    pub messages: Vec<Message>,
    /// A string or a list of text blocks.
    pub system: Option<Value>,
    pub tools: Vec<Value>,
    /// `{"type": "enabled", "budget_tokens": N}`, `{"type": "adaptive"}` or `{"type": "disabled"}`.
    pub thinking: Option<Value>,
    /// Every other field, as sent (filtered by [`bedrock_body`]).
    pub rest: Map<String, Value>,
}

impl<'de> Deserialize<'de> for MessagesRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RequestVisitor)
    }
}

struct RequestVisitor;

impl<'de> serde::de::Visitor<'de> for RequestVisitor {
    type Value = MessagesRequest;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Messages API request object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        fn once<T, E: Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
            match slot.replace(value) {
                Some(_) => Err(E::duplicate_field(name)),
                None => Ok(()),
            }
        }
        let (mut model, mut stream, mut max_tokens, mut messages) = (None, None, None, None);
        let (mut system, mut tools, mut thinking) = (None, None, None);
        let mut rest = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "model" => once(&mut model, map.next_value()?, "model")?,
                "stream" => once(&mut stream, map.next_value()?, "stream")?,
                "max_tokens" => once(&mut max_tokens, map.next_value()?, "max_tokens")?,
                "messages" => once(&mut messages, map.next_value()?, "messages")?,
                "system" => once(&mut system, map.next_value()?, "system")?,
                "tools" => once(&mut tools, map.next_value()?, "tools")?,
                "thinking" => once(&mut thinking, map.next_value()?, "thinking")?,
                _ => {
                    let value = map.next_value()?;
                    rest.insert(key, value);
                }
            }
        }
        Ok(MessagesRequest {
            model: model.ok_or_else(|| A::Error::missing_field("model"))?,
            stream: stream.unwrap_or_default(),
            max_tokens: max_tokens.flatten(),
            messages: messages.ok_or_else(|| A::Error::missing_field("messages"))?,
            system: system.flatten(),
            tools: tools.unwrap_or_default(),
            thinking: thinking.flatten(),
            rest,
        })
    }
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
    fn fields_parse_as_the_derived_form_did() {
        let req: MessagesRequest = serde_json::from_str(
            r#"{"model":"m","max_tokens":null,"system":"s","tools":[{"name":"t"}],
                "thinking":{"type":"adaptive"},"stream":true,"metadata":{"user_id":"u"},
                "messages":[{"role":"user","content":"hi"}]}"#,
        )
        .unwrap();
        assert!(req.stream);
        assert_eq!(req.max_tokens, None);
        assert_eq!(req.system, Some(Value::from("s")));
        assert_eq!(req.tools.len(), 1);
        assert_eq!(req.thinking.unwrap()["type"], "adaptive");
        assert_eq!(req.rest.keys().collect::<Vec<_>>(), ["metadata"]);
        for (bad, why) in [
            (r#"{"messages":[]}"#, "missing field `model`"),
            (r#"{"model":"m"}"#, "missing field `messages`"),
            (
                r#"{"model":"m","model":"n","messages":[]}"#,
                "duplicate field `model`",
            ),
            (
                r#"{"model":"m","messages":[],"stream":"yes"}"#,
                "invalid type",
            ),
            (r#"[1]"#, "a Messages API request object"),
        ] {
            let e = serde_json::from_str::<MessagesRequest>(bad).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_role_is_a_parse_error() {
        let r: Result<MessagesRequest, _> = serde_json::from_str(
            r#"{"model":"m","max_tokens":5,"messages":[{"role":"tool","content":"x"}]}"#,
        );
        assert!(r.is_err());
    }
}
