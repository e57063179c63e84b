//! Bedrock Converse output → a Response object.

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConverseOutput as OutputUnion, ReasoningContentBlock, StopReason, ToolUseBlock,
};
use serde_json::Value;

use super::tools::{CallKind, ToolIndex, freeform_input};
use super::{
    IncompleteDetails, InputTokensDetails, OutputContent, OutputItem, OutputTokensDetails,
    Response, ResponseError, ResponsesRequest, Status, SummaryText, Usage, reasoning,
};
use crate::bedrock::{ConverseOutput, document_to_json};
use crate::catalog::TokenUsage;
use crate::openai::token_usage;

/// What every response to one request repeats: its identity, the model that
/// answered, and the request settings the API echoes.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    pub id: String,
    pub created_at: u64,
    pub model: String,
    pub tools: ToolIndex,
    /// The client asked for reasoning summaries (`reasoning.summary`).
    pub summaries: bool,
    parallel_tool_calls: bool,
    tool_choice: Value,
    declared_tools: Vec<Value>,
    metadata: Value,
}

impl ResponseContext {
    pub fn new(
        req: &ResponsesRequest,
        tools: ToolIndex,
        model: &str,
        id: &str,
        created_at: u64,
    ) -> Self {
        ResponseContext {
            id: id.to_owned(),
            created_at,
            model: model.to_owned(),
            tools,
            summaries: req.wants_summaries(),
            parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
            tool_choice: req
                .tool_choice
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or_else(|| Value::String("auto".to_owned())),
            declared_tools: req
                .tools
                .iter()
                .flatten()
                .filter_map(|t| serde_json::to_value(t).ok())
                .collect(),
            metadata: req
                .metadata
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default())),
        }
    }

    /// An item id unique within this response: `{prefix}_{response}_{index}`.
    pub fn item_id(&self, prefix: &str, output_index: u32) -> String {
        let response = self.id.strip_prefix("resp_").unwrap_or(&self.id);
        format!("{prefix}_{response}_{output_index}")
    }

    pub fn response(
        &self,
        status: Status,
        output: Vec<OutputItem>,
        usage: Option<Usage>,
        error: Option<ResponseError>,
    ) -> Response {
        Response {
            id: self.id.clone(),
            object: "response".to_owned(),
            created_at: self.created_at,
            status,
            model: self.model.clone(),
            output,
            usage,
            error,
            incomplete_details: None,
            parallel_tool_calls: self.parallel_tool_calls,
            tool_choice: self.tool_choice.clone(),
            tools: self.declared_tools.clone(),
            store: false,
            previous_response_id: None,
            metadata: self.metadata.clone(),
        }
    }

    /// The finished response for a stop reason: `incomplete` when the
    /// answer was cut (token cap, content filter), else `completed`.
    pub fn finished(&self, stop: &StopReason, output: Vec<OutputItem>, usage: Usage) -> Response {
        let incomplete = match stop {
            StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => {
                Some("max_output_tokens")
            }
            StopReason::GuardrailIntervened | StopReason::ContentFiltered => Some("content_filter"),
            _ => None,
        };
        let status = if incomplete.is_some() {
            Status::Incomplete
        } else {
            Status::Completed
        };
        let mut response = self.response(status, output, Some(usage), None);
        response.incomplete_details = incomplete.map(|reason| IncompleteDetails {
            reason: reason.to_owned(),
        });
        response
    }

    /// A reasoning item for Claude's thinking `text`, carrying `block` back.
    pub fn reasoning_item(
        &self,
        output_index: u32,
        text: &str,
        block: Option<&ReasoningContentBlock>,
    ) -> OutputItem {
        OutputItem::Reasoning {
            id: self.item_id("rs", output_index),
            summary: if self.summaries && !text.is_empty() {
                vec![SummaryText::SummaryText {
                    text: text.to_owned(),
                }]
            } else {
                Vec::new()
            },
            encrypted_content: block.and_then(|block| reasoning::encode(block, &self.model)),
        }
    }

    /// A tool call item; `arguments` is the JSON object Bedrock produced.
    pub fn call_item(
        &self,
        output_index: u32,
        status: Status,
        call_id: &str,
        bedrock_name: &str,
        arguments: &str,
    ) -> OutputItem {
        let (name, kind) = self.tools.client_call(bedrock_name);
        match kind {
            CallKind::Function { namespace } => OutputItem::FunctionCall {
                id: self.item_id("fc", output_index),
                status,
                call_id: call_id.to_owned(),
                name,
                arguments: arguments.to_owned(),
                namespace,
            },
            CallKind::Custom => OutputItem::CustomToolCall {
                id: self.item_id("ctc", output_index),
                status,
                call_id: call_id.to_owned(),
                name,
                input: serde_json::from_str(arguments)
                    .map(|v: Value| freeform_input(&v))
                    .unwrap_or_default(),
            },
        }
    }
}

pub fn message_item(id: String, status: Status, text: &str) -> OutputItem {
    OutputItem::Message {
        id,
        status,
        role: "assistant".to_owned(),
        content: vec![output_text(text)],
    }
}

pub fn output_text(text: &str) -> OutputContent {
    OutputContent::OutputText {
        text: text.to_owned(),
        annotations: Vec::new(),
    }
}

/// Bedrock's counts in the Responses shape. Bedrock folds thinking into
/// `outputTokens` without a separate count, so `reasoning_tokens` is
/// estimated from the thinking text (4 characters a token) and never
/// exceeds the output tokens.
pub fn usage(u: TokenUsage, reasoning_chars: usize) -> Usage {
    let input = u.input + u.cache_read + u.cache_write;
    let reasoning = u64::try_from(reasoning_chars.div_ceil(4)).unwrap_or(u64::MAX);
    Usage {
        input_tokens: input,
        input_tokens_details: InputTokensDetails {
            cached_tokens: u.cache_read,
        },
        output_tokens: u.output,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: reasoning.min(u.output),
        },
        total_tokens: input + u.output,
    }
}

/// Builds the whole response for one Converse result.
pub fn from_converse(out: &ConverseOutput, ctx: &ResponseContext) -> Response {
    let blocks = match out.output() {
        Some(OutputUnion::Message(m)) => m.content.as_slice(),
        _ => &[],
    };
    let mut items: Vec<OutputItem> = Vec::new();
    let mut text = String::new();
    let mut reasoning_chars = 0;
    let index = |items: &Vec<OutputItem>| u32::try_from(items.len()).unwrap_or(u32::MAX);
    for block in blocks {
        if !matches!(block, ContentBlock::Text(_)) && !text.is_empty() {
            let id = ctx.item_id("msg", index(&items));
            items.push(message_item(
                id,
                Status::Completed,
                &std::mem::take(&mut text),
            ));
        }
        match block {
            ContentBlock::Text(t) => text.push_str(t),
            ContentBlock::ReasoningContent(r) => {
                let thinking = r.as_reasoning_text().map(|t| t.text.as_str()).unwrap_or("");
                reasoning_chars += thinking.len();
                items.push(ctx.reasoning_item(index(&items), thinking, Some(r)));
            }
            ContentBlock::ToolUse(u) => items.push(call(ctx, index(&items), u)),
            _ => {}
        }
    }
    if !text.is_empty() {
        let id = ctx.item_id("msg", index(&items));
        items.push(message_item(id, Status::Completed, &text));
    }
    let usage = usage(
        out.usage().map(token_usage).unwrap_or_default(),
        reasoning_chars,
    );
    ctx.finished(out.stop_reason(), items, usage)
}

fn call(ctx: &ResponseContext, output_index: u32, u: &ToolUseBlock) -> OutputItem {
    let arguments = document_to_json(&u.input).to_string();
    ctx.call_item(
        output_index,
        Status::Completed,
        &u.tool_use_id,
        &u.name,
        &arguments,
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::openai::test_support::{output, reasoning, tool_use};
    use serde_json::json;

    pub fn context(req: Value) -> ResponseContext {
        let req: ResponsesRequest = serde_json::from_value(req).unwrap();
        let tools = ToolIndex::of(req.tools.as_deref().unwrap_or_default()).unwrap();
        ResponseContext::new(&req, tools, "bedrock/claude-test", "resp_abc", 7)
    }

    #[test]
    fn thinking_text_and_calls_become_items_in_order() {
        let ctx = context(
            json!({"model": "auto", "input": "x", "reasoning": {"summary": "auto"},
            "tools": [{"type": "custom", "name": "apply_patch"},
                      {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f"}]}]}),
        );
        let out = output(
            vec![
                reasoning("let me see"),
                ContentBlock::Text("I will ".into()),
                ContentBlock::Text("patch.".into()),
                tool_use("t1", "apply_patch", json!({"input": "*** Begin Patch"})),
                tool_use("t2", "ns__f", json!({"a": 1})),
            ],
            StopReason::ToolUse,
        );
        let r = from_converse(&out, &ctx);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status"], "completed");
        assert_eq!(v["model"], "bedrock/claude-test");
        assert_eq!(v["store"], false);
        let items = v["output"].as_array().unwrap();
        assert_eq!(items[0]["type"], "reasoning");
        assert_eq!(items[0]["id"], "rs_abc_0");
        assert_eq!(
            items[0]["summary"],
            json!([{"type": "summary_text", "text": "let me see"}])
        );
        let carried = reasoning::decode(
            items[0]["encrypted_content"].as_str().unwrap(),
            "bedrock/claude-test",
        );
        assert_eq!(carried, Some(reasoning("let me see")));
        assert_eq!(
            items[1],
            json!({"type": "message", "id": "msg_abc_1", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": "I will patch.", "annotations": []}]})
        );
        assert_eq!(
            items[2],
            json!({"type": "custom_tool_call", "id": "ctc_abc_2", "status": "completed",
                   "call_id": "t1", "name": "apply_patch", "input": "*** Begin Patch"})
        );
        assert_eq!(
            items[3],
            json!({"type": "function_call", "id": "fc_abc_3", "status": "completed", "call_id": "t2",
                   "name": "f", "namespace": "ns", "arguments": "{\"a\":1}"})
        );
        assert_eq!(
            v["usage"],
            json!({"input_tokens": 130, "input_tokens_details": {"cached_tokens": 100},
                   "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 3},
                   "total_tokens": 135})
        );
    }

    #[test]
    fn summaries_only_when_asked_and_cut_answers_are_incomplete() {
        let ctx = context(json!({"model": "auto", "input": "x"}));
        let r = from_converse(
            &output(
                vec![reasoning("hm"), ContentBlock::Text("par".into())],
                StopReason::MaxTokens,
            ),
            &ctx,
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["output"][0]["summary"], json!([]));
        assert!(v["output"][0]["encrypted_content"].is_string());
        assert_eq!(v["status"], "incomplete");
        assert_eq!(
            v["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
    }
}
