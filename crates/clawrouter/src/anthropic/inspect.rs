//! What the proxy reads from a Messages request without sending it: the
//! router's view ([`route_input`]), the override tag ([`strip_override_tag`])
//! and a token estimate for when Bedrock cannot count ([`estimate_tokens`]).
//!
//! Claude Code sends the user's turn as several text blocks: first
//! `<system-reminder>` wrappers, then the user's own words. The "own words
//! block" is the first text block with anything left after
//! [`router::user_own_text`] skips such wrappers; the router classifies it
//! and the override tag is looked for (and cut) there.

use serde_json::Value;

use super::{Content, MessagesRequest, Role};
use crate::catalog::Tier;
use crate::router::{self, RouteInput};

/// Tokens Anthropic charges for one image at its largest (≈1.15 MP / 750).
const IMAGE_TOKENS: u64 = 1_600;
/// A rough cost for one document block: two PDF pages of text and images.
const DOCUMENT_TOKENS: u64 = 3_000;
/// The tool-use system prompt Anthropic adds when tools are present.
const TOOLS_PREAMBLE_TOKENS: u64 = 350;
/// Characters per token in the estimate (Anthropic's rule of thumb).
const CHARS_PER_TOKEN: u64 = 4;

/// The router's view of a request.
///
/// `user_text` is the last user turn's own-words block (see the module doc),
/// so it borrows from `req`; wrappers before it hold no words to classify.
pub fn route_input(req: &MessagesRequest) -> RouteInput<'_> {
    let last_user = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role != Role::System)
        .filter(|m| m.role == Role::User);
    let last_blocks = last_user.map_or(&[][..], |m| blocks(&m.content));
    let (system_len, context_chars) = text_lens(req);
    RouteInput {
        user_text: last_user.map_or("", |m| own_words(&m.content)),
        system_len,
        context_chars,
        turns: req.messages.len(),
        has_tools: !req.tools.is_empty(),
        tool_results_in_flight: last_blocks.iter().any(|b| b["type"] == "tool_result"),
        has_images: req
            .messages
            .iter()
            .flat_map(|m| blocks(&m.content))
            .any(|b| b["type"] == "image"),
        thinking_requested: req
            .thinking
            .as_ref()
            .is_some_and(|t| t["type"] == "enabled" || t["type"] == "adaptive"),
        max_output_requested: req.max_tokens,
        tool_use_ids: last_blocks
            .iter()
            .filter(|b| b["type"] == "tool_result")
            .filter_map(|b| b["tool_use_id"].as_str())
            .collect(),
        carries_signed_thinking: req
            .messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .flat_map(|m| blocks(&m.content))
            .any(|b| {
                (b["type"] == "thinking" && b.get("signature").is_some())
                    || b["type"] == "redacted_thinking"
            }),
    }
}

/// Removes an override tag (`[low]`, `[mid]`, `[top]`, …) from the start of
/// the user's own words in the last user turn (system-role messages after it
/// do not count as turns), and returns its tier, so the
/// model never sees the tag. When the tag is all the user wrote, the text is
/// left as it is (Bedrock refuses empty text blocks); the tier still applies.
pub fn strip_override_tag(req: &mut MessagesRequest) -> Option<Tier> {
    let message = req
        .messages
        .iter_mut()
        .rev()
        .find(|m| m.role != Role::System)
        .filter(|m| m.role == Role::User)?;
    let text: &mut String = match &mut message.content {
        Content::Text(text) => text,
        Content::Blocks(blocks) => {
            let at = own_words_index(blocks)?;
            match blocks.get_mut(at).and_then(|b| b.get_mut("text")) {
                Some(Value::String(text)) => text,
                _ => return None,
            }
        }
    };
    router::cut_override_tag(text)
}

/// An estimate of a Messages request's input tokens, for `count_tokens` when
/// Bedrock's CountTokens is unavailable: text (system, messages, tools) at
/// four characters a token, plus 1,600 per image, 3,000 per document and 350
/// when tools are defined. It errs high for images and small documents,
/// which is the safe side for a client deciding when to compact its context.
pub fn estimate_tokens(req: &MessagesRequest) -> u64 {
    let (_, chars) = text_lens(req);
    let mut tokens = (chars as u64).div_ceil(CHARS_PER_TOKEN);
    for message in &req.messages {
        for block in blocks(&message.content) {
            let inner = block["content"].as_array().into_iter().flatten();
            for block in std::iter::once(block).chain(inner) {
                tokens += match block["type"].as_str() {
                    Some("image") => IMAGE_TOKENS,
                    Some("document") => DOCUMENT_TOKENS,
                    _ => 0,
                };
            }
        }
    }
    if !req.tools.is_empty() {
        tokens += TOOLS_PREAMBLE_TOKENS;
    }
    tokens.max(1)
}

fn blocks(content: &Content) -> &[Value] {
    match content {
        Content::Text(_) => &[],
        Content::Blocks(blocks) => blocks,
    }
}

fn own_words(content: &Content) -> &str {
    match content {
        Content::Text(text) => text,
        Content::Blocks(blocks) => own_words_index(blocks)
            .and_then(|i| blocks[i]["text"].as_str())
            .unwrap_or(""),
    }
}

fn own_words_index(blocks: &[Value]) -> Option<usize> {
    blocks.iter().position(|b| {
        b["type"] == "text"
            && b["text"]
                .as_str()
                .is_some_and(|t| !router::user_own_text(t).trim().is_empty())
    })
}

/// Bytes of text in the system prompt, and in system, messages and tools together.
fn text_lens(req: &MessagesRequest) -> (usize, usize) {
    let system = req.system.as_ref().map_or(0, text_len);
    let messages: usize = req.messages.iter().map(|m| content_len(&m.content)).sum();
    let tools: usize = req.tools.iter().map(text_len).sum();
    (system, system + messages + tools)
}

fn content_len(content: &Content) -> usize {
    match content {
        Content::Text(text) => text.len(),
        Content::Blocks(blocks) => blocks.iter().map(text_len).sum(),
    }
}

/// Bytes of text in a JSON value: every string, except the base64 payload
/// of image and document sources (`{"type": "base64", "data": …}`), which
/// is not text the model reads as tokens.
fn text_len(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(text_len).sum(),
        Value::Object(map) if map.get("type").is_some_and(|t| t == "base64") => 0,
        Value::Object(map) => map.values().map(text_len).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIXTURE: &str = include_str!("../../tests/fixtures/claude_code_messages.json");

    fn request(body: Value) -> MessagesRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn claude_code_request_routes_on_the_users_words() {
        let req: MessagesRequest = serde_json::from_str(FIXTURE).unwrap();
        let input = route_input(&req);
        assert_eq!(
            input.user_text,
            "Fix the failing test in src/lib.rs and explain the cause"
        );
        assert!(input.has_tools);
        assert!(input.thinking_requested);
        assert_eq!(input.max_output_requested, Some(32_000));
        assert_eq!(input.turns, 1);
        assert!(input.system_len > 25_000);
        assert!(input.context_chars > input.system_len + 24 * 100);
        assert!(!input.tool_results_in_flight);
        assert!(!input.has_images);
        assert!(!input.carries_signed_thinking);
    }

    #[test]
    fn agent_loop_signals() {
        let req = request(json!({
            "model": "m", "max_tokens": 10, "tools": [{"name": "t"}],
            "messages": [
                {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}, {"type": "text", "text": "what is this"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hm", "signature": "sig"},
                    {"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}},
                    {"type": "tool_use", "id": "toolu_2", "name": "t", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "ok"}]}
            ]
        }));
        let input = route_input(&req);
        assert!(input.tool_results_in_flight);
        assert_eq!(input.tool_use_ids, ["toolu_1", "toolu_2"]);
        assert!(input.carries_signed_thinking);
        assert!(input.has_images);
        assert_eq!(input.user_text, "");
        assert!(!input.thinking_requested);
    }

    #[test]
    fn tag_is_cut_from_the_own_words_block_after_wrappers() {
        let mut req: MessagesRequest = serde_json::from_str(FIXTURE).unwrap();
        let Content::Blocks(blocks) = &mut req.messages[0].content else {
            panic!("blocks expected");
        };
        blocks[2]["text"] = json!("[top] Fix it");
        let before_wrappers = blocks[..2].to_vec();
        assert_eq!(strip_override_tag(&mut req), Some(Tier::Top));
        let Content::Blocks(blocks) = &req.messages[0].content else {
            panic!("blocks expected");
        };
        assert_eq!(blocks[2]["text"], "Fix it");
        assert_eq!(blocks[..2], before_wrappers[..]);
        assert_eq!(strip_override_tag(&mut req), None);
    }

    #[test]
    fn tag_inside_a_block_that_starts_with_a_wrapper() {
        let text = "<system-reminder>\nctx [low]\n</system-reminder>\n[LOW] translate this";
        let mut req = request(json!({"model": "m", "max_tokens": 1,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}));
        assert_eq!(strip_override_tag(&mut req), Some(Tier::Low));
        assert_eq!(
            req.messages[0].content,
            Content::Blocks(vec![json!({"type": "text",
                "text": "<system-reminder>\nctx [low]\n</system-reminder>\ntranslate this"})])
        );
        let mut plain = request(json!({"model": "m", "max_tokens": 1,
            "messages": [{"role": "user", "content": "[mid]  summarise"}]}));
        assert_eq!(strip_override_tag(&mut plain), Some(Tier::Mid));
        assert_eq!(plain.messages[0].content, Content::Text("summarise".into()));
    }

    #[test]
    fn a_trailing_system_message_is_not_the_last_turn() {
        let mut req = request(json!({"model": "m", "max_tokens": 1, "messages": [
            {"role": "user", "content": "[low] say hello"},
            {"role": "system", "content": "Available agent types: ..."}
        ]}));
        assert_eq!(route_input(&req).user_text, "[low] say hello");
        assert_eq!(strip_override_tag(&mut req), Some(Tier::Low));
        assert_eq!(req.messages[0].content, Content::Text("say hello".into()));
    }

    #[test]
    fn a_tag_alone_stays_and_still_counts() {
        let mut req = request(json!({"model": "m", "max_tokens": 1,
            "messages": [{"role": "user", "content": "[high]"}]}));
        assert_eq!(strip_override_tag(&mut req), Some(Tier::Top));
        assert_eq!(req.messages[0].content, Content::Text("[high]".into()));
    }

    #[test]
    fn tags_in_assistant_turns_or_mid_text_are_not_tags() {
        let mut req = request(json!({"model": "m", "max_tokens": 1, "messages": [
            {"role": "user", "content": "please [low] now"},
        ]}));
        assert_eq!(strip_override_tag(&mut req), None);
        let mut assistant_last = request(json!({"model": "m", "max_tokens": 1, "messages": [
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "[low] prefill"},
        ]}));
        assert_eq!(strip_override_tag(&mut assistant_last), None);
    }

    #[test]
    fn estimate_counts_text_images_documents_and_tools() {
        let text = "x".repeat(4_000);
        let plain = request(json!({"model": "m", "messages": [{"role": "user", "content": text}]}));
        assert_eq!(estimate_tokens(&plain), 1_000);
        let rich = request(json!({
            "model": "m",
            "system": "y".repeat(400),
            "tools": [{"name": "t", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "Q".repeat(100_000)}},
                {"type": "tool_result", "tool_use_id": "a", "content": [
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "Q".repeat(10)}}]},
                {"type": "text", "text": text}]}]
        }));
        let estimate = estimate_tokens(&rich);
        let text_tokens = 1_000 + 100; // messages + system; tool and block JSON add a little
        let fixed = IMAGE_TOKENS + DOCUMENT_TOKENS + TOOLS_PREAMBLE_TOKENS;
        assert!(estimate >= text_tokens + fixed, "{estimate}");
        assert!(estimate < text_tokens + fixed + 50, "{estimate}");
        let empty = request(json!({"model": "m", "messages": []}));
        assert_eq!(estimate_tokens(&empty), 1);
    }
}
