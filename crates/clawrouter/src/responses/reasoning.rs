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

use aws_sdk_bedrockruntime::types::{ContentBlock, ReasoningContentBlock, ReasoningTextBlock};
use aws_smithy_types::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// What `encrypted_content` holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Carried {
    Thinking {
        text: String,
        signature: String,
    },
    /// Thinking Bedrock returned encrypted (`redactedContent`), base64.
    Redacted {
        data: String,
    },
}

/// The `encrypted_content` for a thinking block; `None` when it has no
/// signature (Claude would refuse it back) or is of an unknown kind.
pub fn encode(block: &ReasoningContentBlock) -> Option<String> {
    let carried = match block {
        ReasoningContentBlock::ReasoningText(t) => Carried::Thinking {
            text: t.text.clone(),
            signature: t.signature.clone()?,
        },
        ReasoningContentBlock::RedactedContent(data) => Carried::Redacted {
            data: STANDARD.encode(data.as_ref()),
        },
        _ => return None,
    };
    let json = serde_json::to_vec(&carried).ok()?;
    Some(STANDARD.encode(json))
}

/// The thinking block carried in `encrypted_content`. `None` for content
/// this proxy did not write (e.g. a conversation begun on OpenAI): such an
/// item cannot be replayed to Claude and is left out, and thinking is then
/// skipped for the turn where Claude would require it.
pub fn decode(encrypted_content: &str) -> Option<ContentBlock> {
    let json = STANDARD.decode(encrypted_content.trim()).ok()?;
    let block = match serde_json::from_slice::<Carried>(&json).ok()? {
        Carried::Thinking { text, signature } => ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock::builder()
                .text(text)
                .signature(signature)
                .build()
                .ok()?,
        ),
        Carried::Redacted { data } => {
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

    #[test]
    fn thinking_and_its_signature_round_trip_exactly() {
        let block = thinking("  step one\n", Some("sig=="));
        let blob = encode(&block).unwrap();
        assert_eq!(decode(&blob), Some(ContentBlock::ReasoningContent(block)));
        let redacted = ReasoningContentBlock::RedactedContent(Blob::new(vec![1, 2, 3]));
        assert_eq!(
            decode(&encode(&redacted).unwrap()),
            Some(ContentBlock::ReasoningContent(redacted))
        );
    }

    #[test]
    fn unsigned_or_foreign_content_is_not_carried() {
        assert_eq!(encode(&thinking("x", None)), None);
        assert_eq!(decode("gAAAAABo-openai-ciphertext"), None);
        assert_eq!(decode(&STANDARD.encode(b"{\"other\": 1}")), None);
    }
}
