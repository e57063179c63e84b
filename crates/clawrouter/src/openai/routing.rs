//! What the router needs to know about an OpenAI request, and removing the
//! override tag before the request goes upstream.

use super::wire::{ChatCompletionRequest, ChatMessage, ContentPart, MessageContent};
use crate::catalog::Tier;
use crate::router::{RouteInput, TextContent, UserTurn};

/// The signals of a chat request, for the router.
pub fn route_input(req: &ChatCompletionRequest) -> RouteInput<'_> {
    let mut input = RouteInput {
        user_text: req.user_own_words(),
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
        let chars = content.map_or(0, TextContent::text_len);
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
/// in the last user message; returns the tier it named.
pub fn strip_override_tag(req: &mut ChatCompletionRequest) -> Option<Tier> {
    UserTurn::strip_override_tag(req)
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
