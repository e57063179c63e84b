//! Claude's thinking in a reasoning item's `encrypted_content`.
//!
//! A stateless proxy cannot keep thinking blocks between turns, yet Claude
//! requires the previous assistant turn's thinking, with its signature and
//! byte-exact text, when a tool loop continues with thinking on
//! (<https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html>).
//! Clients that ask for `reasoning.encrypted_content` (Codex always does)
//! send the item back unchanged, so the block travels inside it: base64 of
//! a small JSON object. It is opaque to clients, not secret — Claude's
//! signature is what stops tampering.
//!
//! The object also names the model that produced the block: "thinking
//! blocks are bound to the model and the conversation prefix that produced
//! them", a 400 otherwise (the AWS model card of Claude Fable 5.2; "thinking
//! blocks are tied to the model that produced them" in Anthropic's
//! whats-new-opus-5-5). A conversation that auto routing moves to another
//! model at a new turn leaves the earlier model's thinking out.

use aws_sdk_bedrockruntime::types::{ContentBlock, ReasoningContentBlock, ReasoningTextBlock};
use aws_smithy_types::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// What `encrypted_content` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Carried {
    #[serde(flatten)]
    block: CarriedBlock,
    /// The catalog name of the model that produced the block; absent in
    /// items written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
}

/// The block itself.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CarriedBlock {
    Thinking {
        text: String,
        signature: String,
    },
    /// Thinking Bedrock returned encrypted (`redactedContent`), base64.
    Redacted {
        data: String,
    },
}

/// The `encrypted_content` for a thinking block `model` (a catalog name)
/// produced; `None` when it has no signature (Claude would refuse it back)
/// or is of an unknown kind.
pub fn encode(block: &ReasoningContentBlock, model: &str) -> Option<String> {
    let block = match block {
        ReasoningContentBlock::ReasoningText(t) => CarriedBlock::Thinking {
            text: t.text.clone(),
            signature: t.signature.clone()?,
        },
        ReasoningContentBlock::RedactedContent(data) => CarriedBlock::Redacted {
            data: STANDARD.encode(data.as_ref()),
        },
        _ => return None,
    };
    let carried = Carried {
        block,
        model: Some(model.to_owned()),
    };
    let json = serde_json::to_vec(&carried).ok()?;
    Some(STANDARD.encode(json))
}

/// What `encrypted_content` holds, if this proxy wrote it.
fn read(encrypted_content: &str) -> Option<Carried> {
    let json = STANDARD.decode(encrypted_content.trim()).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Whether `encrypted_content` carries a thinking block this proxy wrote,
/// from whichever model.
pub fn carries_thinking(encrypted_content: &str) -> bool {
    read(encrypted_content).is_some()
}

/// The thinking block carried in `encrypted_content`, to be replayed to
/// `model` (a catalog name). `None` for content this proxy did not write
/// (e.g. a conversation begun on OpenAI), or that another model produced:
/// such an item cannot be replayed to Claude and is left out, and thinking
/// is then skipped for the turn where Claude would require it.
pub fn decode(encrypted_content: &str, model: &str) -> Option<ContentBlock> {
    let carried = read(encrypted_content)?;
    if carried
        .model
        .is_some_and(|produced_by| produced_by != model)
    {
        return None;
    }
    let block = match carried.block {
        CarriedBlock::Thinking { text, signature } => ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock::builder()
                .text(text)
                .signature(signature)
                .build()
                .ok()?,
        ),
        CarriedBlock::Redacted { data } => {
            ReasoningContentBlock::RedactedContent(Blob::new(STANDARD.decode(data).ok()?))
        }
    };
    Some(ContentBlock::ReasoningContent(block))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thinking(text: &str, signature: Option<&str>) -> ReasoningContentBlock {
        ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock::builder()
                .text(text)
                .set_signature(signature.map(str::to_owned))
                .build()
                .unwrap(),
        )
    }

    const OPUS: &str = "bedrock/claude-opus-5-5";

    #[test]
    fn thinking_and_its_signature_round_trip_exactly() {
        let block = thinking("  step one\n", Some("sig=="));
        let blob = encode(&block, OPUS).unwrap();
        assert_eq!(
            decode(&blob, OPUS),
            Some(ContentBlock::ReasoningContent(block))
        );
        let redacted = ReasoningContentBlock::RedactedContent(Blob::new(vec![1, 2, 3]));
        assert_eq!(
            decode(&encode(&redacted, OPUS).unwrap(), OPUS),
            Some(ContentBlock::ReasoningContent(redacted))
        );
    }

    #[test]
    fn unsigned_or_foreign_content_is_not_carried() {
        assert_eq!(encode(&thinking("x", None), OPUS), None);
        assert_eq!(decode("gAAAAABo-openai-ciphertext", OPUS), None);
        assert_eq!(decode(&STANDARD.encode(b"{\"other\": 1}"), OPUS), None);
    }

    #[test]
    fn another_models_thinking_is_not_replayed() {
        let blob = encode(&thinking("x", Some("sig")), OPUS).unwrap();
        assert_eq!(decode(&blob, "bedrock/claude-haiku-5-5"), None);
        // Written before the model was recorded: replayed as before.
        let older = STANDARD.encode(br#"{"thinking":{"text":"x","signature":"sig"}}"#);
        assert_eq!(
            decode(&older, "bedrock/claude-haiku-5-5"),
            Some(ContentBlock::ReasoningContent(thinking("x", Some("sig"))))
        );
    }
}
