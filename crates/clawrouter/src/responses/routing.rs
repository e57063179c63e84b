//! What the router needs to know about a Responses request, and removing the
//! override tag before the request goes upstream.

use super::{ContentPart, Input, InputItem, MessageContent, ResponsesRequest, Role, ToolOutput};
use crate::catalog::Tier;
use crate::router::{RouteInput, TextContent, TextPart, UserTurn};

/// The signals of a Responses request, for the router.
pub fn route_input(req: &ResponsesRequest) -> RouteInput<'_> {
    let mut input = RouteInput {
        user_text: req.user_own_words(),
        has_tools: req.tools.as_ref().is_some_and(|t| !t.is_empty()),
        thinking_requested: req
            .reasoning
            .as_ref()
            .and_then(|r| r.effort.as_deref())
            .is_some_and(|e| !matches!(e, "none" | "minimal")),
        max_output_requested: req.max_output_tokens,
        system_len: req.instructions.as_ref().map_or(0, String::len),
        ..RouteInput::default()
    };
    input.context_chars = input.system_len
        + req
            .tools
            .iter()
            .flatten()
            .filter_map(|t| serde_json::to_string(t).ok())
            .map(|t| t.len())
            .sum::<usize>();
    let items = match &req.input {
        Input::Text(text) => {
            input.context_chars += text.len();
            input.turns = 1;
            return input;
        }
        Input::Items(items) => items,
    };
    input.turns = items.len();
    for item in items {
        let chars = match item {
            InputItem::Message { role, content } => {
                let chars = content.text_len();
                if matches!(role, Role::System | Role::Developer) {
                    input.system_len += chars;
                }
                if let MessageContent::Parts(parts) = content {
                    input.has_images |= parts
                        .iter()
                        .any(|p| matches!(p, ContentPart::InputImage { .. }));
                }
                chars
            }
            InputItem::FunctionCall { arguments, .. } => arguments.len(),
            InputItem::CustomToolCall { input, .. } => input.len(),
            InputItem::FunctionCallOutput { output, .. }
            | InputItem::CustomToolCallOutput { output, .. } => match output {
                ToolOutput::Text(t) => t.len(),
                ToolOutput::Parts(parts) => parts
                    .iter()
                    .filter_map(ContentPart::text)
                    .map(str::len)
                    .sum(),
            },
            InputItem::Reasoning {
                encrypted_content, ..
            } => {
                input.carries_signed_thinking |= encrypted_content
                    .as_deref()
                    .is_some_and(super::reasoning::carries_thinking);
                0
            }
            InputItem::Unsupported => 0,
        };
        input.context_chars += chars;
    }
    // Tool outputs after the last call: an agent loop in flight.
    for item in items.iter().rev() {
        match item {
            InputItem::FunctionCallOutput { call_id, .. }
            | InputItem::CustomToolCallOutput { call_id, .. } => {
                input.tool_results_in_flight = true;
                input.tool_use_ids.push(call_id);
            }
            _ => break,
        }
    }
    input
}

/// Removes a leading `[low]`/`[med]`/`[high]` tag from the user's own words
/// in the last user message (or the whole input); returns the tier it named.
pub fn strip_override_tag(req: &mut ResponsesRequest) -> Option<Tier> {
    UserTurn::strip_override_tag(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: serde_json::Value) -> ResponsesRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_codex_tool_loop_is_seen_as_one() {
        let req = request(json!({"model": "auto", "reasoning": {"effort": "high"},
        "tools": [{"type": "function", "name": "exec_command"}],
        "input": [
            {"role": "developer", "content": "agent rules"},
            {"role": "user", "content": [{"type": "input_text", "text": "fix the build"}]},
            {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"}
        ]}));
        let input = route_input(&req);
        assert_eq!(input.user_text, "fix the build");
        assert_eq!(input.system_len, "agent rules".len());
        assert!(input.has_tools && input.thinking_requested && input.tool_results_in_flight);
        assert_eq!(input.tool_use_ids, ["c1"]);
        assert_eq!(input.turns, 4);
        assert!(input.context_chars > "agent rulesfix the build{}ok".len());
    }

    #[test]
    fn the_tag_is_cut_from_text_and_items() {
        let mut req = request(json!({"model": "auto", "input": "[low] what is 2+2?"}));
        assert_eq!(strip_override_tag(&mut req), Some(Tier::Low));
        assert_eq!(req.user_text(), "what is 2+2?");
        let mut req = request(json!({"model": "auto", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "[high] prove it"}]}]}));
        assert_eq!(strip_override_tag(&mut req), Some(Tier::Top));
        assert_eq!(req.user_text(), "prove it");
    }
}
