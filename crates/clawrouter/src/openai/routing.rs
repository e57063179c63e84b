//! What the router needs to know about an OpenAI request, and removing the
//! override tag before the request goes upstream.

use super::wire::{ChatCompletionRequest, ChatMessage, ContentPart, MessageContent};
use crate::catalog::Tier;
use crate::router::{RouteInput, cut_override_tag, user_own_text};

/// The signals of a chat request, for the router.
pub fn route_input(req: &ChatCompletionRequest) -> RouteInput<'_> {
    let mut input = RouteInput {
        user_text: last_user_content(req).map_or("", own_words),
        turns: req.messages.len(),
        has_tools: req.tools.as_ref().is_some_and(|t| !t.is_empty()),
        thinking_requested: req
            .reasoning_effort
            .as_deref()
            .is_some_and(|e| !matches!(e, "none" | "minimal")),
        max_output_requested: req.max_completion_tokens.or(req.max_tokens),
        ..RouteInput::default()
    };
    for message in &req.messages {
        let (content, is_system) = match message {
            ChatMessage::System { content, .. } | ChatMessage::Developer { content, .. } => {
                (Some(content), true)
            }
            ChatMessage::User { content, .. } | ChatMessage::Tool { content, .. } => {
                (Some(content), false)
            }
            ChatMessage::Assistant { content, .. } => (content.as_ref(), false),
        };
        let chars = content.map_or(0, content_chars);
        input.context_chars += chars;
        if is_system {
            input.system_len += chars;
        }
        if let Some(MessageContent::Parts(parts)) = content {
            input.has_images |= parts
                .iter()
                .any(|p| matches!(p, ContentPart::ImageUrl { .. }));
        }
    }
    input.context_chars += req
        .tools
        .iter()
        .flatten()
        .map(|t| {
            t.function
                .parameters
                .as_ref()
                .map_or(0, |p| p.to_string().len())
        })
        .sum::<usize>();
    // Tool results after the last assistant turn: an agent loop in flight.
    for message in req.messages.iter().rev() {
        match message {
            ChatMessage::Tool { tool_call_id, .. } => {
                input.tool_results_in_flight = true;
                input.tool_use_ids.push(tool_call_id);
            }
            _ => break,
        }
    }
    input
}

/// Removes a leading `[low]`/`[med]`/`[high]` tag from the user's own words
/// in the last user message ([`cut_override_tag`]); returns the tier it named.
pub fn strip_override_tag(req: &mut ChatCompletionRequest) -> Option<Tier> {
    let content = req.messages.iter_mut().rev().find_map(|m| match m {
        ChatMessage::User { content, .. } => Some(content),
        _ => None,
    })?;
    match content {
        MessageContent::Text(text) => cut_override_tag(text),
        MessageContent::Parts(parts) => parts
            .iter_mut()
            .find_map(|p| match p {
                ContentPart::Text { text } if !user_own_text(text).is_empty() => Some(text),
                _ => None,
            })
            .and_then(cut_override_tag),
    }
}

fn last_user_content(req: &ChatCompletionRequest) -> Option<&MessageContent> {
    req.messages.iter().rev().find_map(|m| match m {
        ChatMessage::User { content, .. } => Some(content),
        _ => None,
    })
}

/// The user's own words: the first text (part) that is more than an IDE preamble.
fn own_words(content: &MessageContent) -> &str {
    match content {
        MessageContent::Text(text) => user_own_text(text),
        MessageContent::Parts(parts) => parts
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text { text } => Some(user_own_text(text)),
                _ => None,
            })
            .find(|t| !t.is_empty())
            .unwrap_or(""),
    }
}

fn content_chars(content: &MessageContent) -> usize {
    match content {
        MessageContent::Text(text) => text.len(),
        MessageContent::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text } => text.len(),
                _ => 0,
            })
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::test_support::request;

    #[test]
    fn the_tag_is_cut_but_a_tag_alone_stays() {
        let mut req = request(serde_json::json!({"model": "auto",
            "messages": [{"role": "user", "content": "[low] what is 2+2?"}]}));
        assert_eq!(strip_override_tag(&mut req), Some(Tier::Low));
        assert_eq!(
            serde_json::to_value(&req.messages[0]).unwrap()["content"],
            "what is 2+2?"
        );
        let mut alone = request(serde_json::json!({"model": "auto",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "[high]"}]}]}));
        assert_eq!(strip_override_tag(&mut alone), Some(Tier::Top));
        assert_eq!(
            serde_json::to_value(&alone.messages[0]).unwrap()["content"][0]["text"],
            "[high]"
        );
    }
}
