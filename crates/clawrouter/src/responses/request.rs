//! `to_converse`: a Responses request → one Converse request.
//!
//! The conversation is assembled with the same builder, tool translation and
//! generation settings as Chat Completions (`crate::openai`); what is
//! particular here is reading items instead of messages.

use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole};

use super::tools::{ToolIndex, bedrock_name, freeform_arguments};
use super::{ContentPart, Input, InputItem, MessageContent, ResponsesRequest, Role, ToolOutput};
use super::{TextFormat, reasoning};
use crate::adjust::Adjustments;
use crate::bedrock::ConverseRequest;
use crate::catalog::Model;
use crate::openai::{
    Conversation, Generation, TranslateError, assemble, check_tool_call_id, content_items, image,
    non_blank, tool_plan, tool_use,
};
use crate::router::TextPart;

/// A request checked for what a stateless proxy cannot serve, with its
/// tools indexed (to translate calls back into the client's terms).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub request: ResponsesRequest,
    pub tools: ToolIndex,
}

impl Prepared {
    pub fn new(request: ResponsesRequest) -> Result<Self, TranslateError> {
        if let Some(id) = &request.previous_response_id {
            return Err(TranslateError::PreviousResponse { id: id.clone() });
        }
        let tools = ToolIndex::of(request.tools.as_deref().unwrap_or_default())?;
        Ok(Prepared { request, tools })
    }
}

/// Translates a request for `model`, to be sent to `profile_id`.
pub fn to_converse(
    prepared: &Prepared,
    model: &Model,
    profile_id: &str,
) -> Result<(ConverseRequest, Adjustments), TranslateError> {
    let (req, tools) = (&prepared.request, &prepared.tools);
    let mut conversation = Conversation::default();
    if let Some(instructions) = req.instructions.as_deref().and_then(non_blank) {
        conversation.system(instructions);
    }
    match &req.input {
        Input::Text(text) => {
            let blocks = non_blank(text)
                .map(ContentBlock::Text)
                .into_iter()
                .collect();
            conversation.push(ConversationRole::User, blocks, "input");
        }
        Input::Items(items) => {
            for (i, item) in items.iter().enumerate() {
                add_item(&mut conversation, item, &model.name, &format!("input[{i}]"))?;
            }
        }
    }
    if let Some(format) = req.text.as_ref().and_then(|t| t.format.as_ref()) {
        // Schema-constrained decoding is not on every Bedrock model, so the
        // format is asked for in the system prompt, which every model follows.
        if let Some(instruction) = format_instruction(format)? {
            conversation.system(instruction);
        }
    }
    let (system, messages) = conversation.finish()?;
    let chat_tools = tools.as_chat_tools();
    let choice = tools.chat_choice(req.tool_choice.as_ref())?;
    let plan = tool_plan(
        Some(&chat_tools),
        choice.as_ref(),
        &messages,
        model.forced_tool_choice,
    )?;
    let generation = Generation {
        max_tokens: req.max_output_tokens.map(|n| ("max_output_tokens", n)),
        temperature: req.temperature,
        top_p: req.top_p,
        stop: None,
        reasoning_effort: req
            .reasoning
            .as_ref()
            .and_then(|r| r.effort.as_deref())
            .map(|e| ("reasoning.effort", e)),
        show_reasoning: req.wants_summaries(),
        stream: req.wants_stream(),
    };
    // `parallel_tool_calls: false` has no Converse equivalent; Claude decides.
    assemble(&generation, model, profile_id, system, messages, plan)
}

/// Adds one input item; `model` (a catalog name) is the model the request
/// goes to, which only its own thinking can be replayed to.
fn add_item(
    conversation: &mut Conversation,
    item: &InputItem,
    model: &str,
    at: &str,
) -> Result<(), TranslateError> {
    match item {
        InputItem::Message { role, content } => match role {
            Role::System | Role::Developer => {
                for text in texts(content, at)? {
                    conversation.system(text);
                }
            }
            Role::User => {
                let blocks = user_blocks(content, at)?;
                conversation.push(ConversationRole::User, blocks, at);
            }
            Role::Assistant => {
                let blocks = texts(content, at)?
                    .into_iter()
                    .map(ContentBlock::Text)
                    .collect();
                conversation.push(ConversationRole::Assistant, blocks, at);
            }
        },
        InputItem::FunctionCall {
            call_id,
            name,
            arguments,
            namespace,
        } => {
            check_tool_call_id(call_id, &format!("{at}.call_id"))?;
            let name = bedrock_name(name, namespace.as_deref());
            let block = tool_use(call_id, &name, arguments, at)?;
            conversation.push(ConversationRole::Assistant, vec![block], at);
        }
        InputItem::CustomToolCall {
            call_id,
            name,
            input,
        } => {
            check_tool_call_id(call_id, &format!("{at}.call_id"))?;
            let block = tool_use(call_id, name, &freeform_arguments(input), at)?;
            conversation.push(ConversationRole::Assistant, vec![block], at);
        }
        InputItem::FunctionCallOutput { call_id, output }
        | InputItem::CustomToolCallOutput { call_id, output } => {
            let (text, images) = tool_output(output, &format!("{at}.output"))?;
            let result = conversation.tool_result(call_id, text, &format!("{at}.call_id"))?;
            // Bedrock takes images in tool results too, but Codex's image
            // outputs are user-visible pictures: they follow the result.
            let mut blocks = vec![result];
            blocks.extend(images);
            conversation.push(ConversationRole::User, blocks, at);
        }
        InputItem::Reasoning {
            encrypted_content, ..
        } => {
            let block = encrypted_content
                .as_deref()
                .and_then(|carried| reasoning::decode(carried, model));
            conversation.push(ConversationRole::Assistant, block.into_iter().collect(), at);
        }
        InputItem::Unsupported => {
            return Err(TranslateError::Unsupported {
                param: format!("{at}.type"),
                message: "a stateless proxy accepts message, function_call, \
                          function_call_output, custom_tool_call, custom_tool_call_output \
                          and reasoning items"
                    .into(),
            });
        }
    }
    Ok(())
}

/// `text.format` as a system instruction (`None` for plain text).
fn format_instruction(format: &TextFormat) -> Result<Option<String>, TranslateError> {
    match format.kind.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(
            "Answer with one JSON object and nothing else: no prose, no code fences.".to_owned(),
        )),
        "json_schema" => {
            let schema = format
                .schema
                .as_ref()
                .ok_or_else(|| TranslateError::Invalid {
                    param: "text.format.schema".into(),
                    message: "a json_schema format needs a schema".into(),
                })?;
            Ok(Some(format!(
                "Answer with one JSON value that conforms to this JSON Schema, and nothing \
                 else: no prose, no code fences.\n{schema}"
            )))
        }
        other => Err(TranslateError::Unsupported {
            param: "text.format.type".into(),
            message: format!("{other:?}; expected text, json_object or json_schema"),
        }),
    }
}

/// The non-blank texts of content that may hold only text.
fn texts(content: &MessageContent, at: &str) -> Result<Vec<String>, TranslateError> {
    content_items(
        content,
        at,
        std::convert::identity,
        |part, param| match part.text() {
            Some(text) => Ok(non_blank(text)),
            None => Err(not_text(part, param)),
        },
    )
}

fn user_blocks(content: &MessageContent, at: &str) -> Result<Vec<ContentBlock>, TranslateError> {
    content_items(content, at, ContentBlock::Text, part_block)
}

/// A user or tool-output part as a block (`None` for blank text).
fn part_block(part: &ContentPart, param: String) -> Result<Option<ContentBlock>, TranslateError> {
    match part {
        ContentPart::InputImage {
            image_url: Some(url),
        } => image(url, format!("{param}.image_url")).map(Some),
        ContentPart::InputImage { image_url: None } => Err(TranslateError::Unsupported {
            param,
            message: "images by file_id are not supported; send a base64 data: URL in image_url"
                .into(),
        }),
        other => match other.text() {
            Some(text) => Ok(non_blank(text).map(ContentBlock::Text)),
            None => Err(not_text(other, param)),
        },
    }
}

fn not_text(part: &ContentPart, param: String) -> TranslateError {
    let message = match part {
        ContentPart::InputImage { .. } => "Bedrock accepts images only in user messages",
        _ => "only input_text, output_text, refusal and input_image parts are supported",
    };
    TranslateError::Unsupported {
        param,
        message: message.into(),
    }
}

/// A tool's output: its text, and any images it returned.
fn tool_output(
    output: &ToolOutput,
    at: &str,
) -> Result<(String, Vec<ContentBlock>), TranslateError> {
    let parts = match output {
        ToolOutput::Text(t) => return Ok((t.clone(), Vec::new())),
        ToolOutput::Parts(parts) => parts,
    };
    let mut text = Vec::new();
    let mut images = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        match part_block(part, format!("{at}[{j}]"))? {
            Some(ContentBlock::Text(t)) => text.push(t),
            Some(block) => images.push(block),
            None => {}
        }
    }
    Ok((text.join("\n"), images))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bedrock::document_to_json;
    use crate::openai::test_support::model;
    use aws_sdk_bedrockruntime::types::{ReasoningContentBlock, ReasoningTextBlock};
    use serde_json::{Value, json};

    fn convert(v: Value) -> Result<(ConverseRequest, ToolIndex), TranslateError> {
        let prepared = Prepared::new(serde_json::from_value(v).unwrap())?;
        let (converse, _) = to_converse(&prepared, &model(), "global.anthropic.claude-test-v1:0")?;
        Ok((converse, prepared.tools))
    }

    fn blocks_of(r: &ConverseRequest) -> Vec<Vec<&'static str>> {
        r.messages
            .iter()
            .map(|m| {
                m.content
                    .iter()
                    .map(|b| match b {
                        ContentBlock::Text(_) => "text",
                        ContentBlock::Image(_) => "image",
                        ContentBlock::ToolUse(_) => "tool_use",
                        ContentBlock::ToolResult(_) => "tool_result",
                        ContentBlock::ReasoningContent(_) => "reasoning",
                        _ => "other",
                    })
                    .collect()
            })
            .collect()
    }

    fn signed_reasoning() -> String {
        let block = ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock::builder()
                .text("think")
                .signature("sig")
                .build()
                .unwrap(),
        );
        reasoning::encode(&block, &model().name).unwrap()
    }

    #[test]
    fn text_input_and_instructions() {
        let (r, _) = convert(
            json!({"model": "m", "input": "hello", "instructions": "be brief",
                                    "max_output_tokens": 300}),
        )
        .unwrap();
        assert_eq!(r.system.len(), 1);
        assert_eq!(blocks_of(&r), [vec!["text"]]);
        assert_eq!(r.inference.as_ref().unwrap().max_tokens, Some(300));
        assert!(r.tools.is_none());
    }

    #[test]
    fn a_codex_tool_loop_with_thinking_keeps_thinking_on() {
        let tools = json!([{"type": "function", "name": "exec_command",
            "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]);
        let input = |reasoning: Value| {
            json!({"model": "m", "stream": true, "tools": tools, "reasoning": {"effort": "medium"},
                "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "agent"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]},
                reasoning,
                {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "a b"}
            ]})
        };
        let (r, _) = convert(input(json!({"type": "reasoning", "summary": [],
            "encrypted_content": signed_reasoning()})))
        .unwrap();
        assert_eq!(
            blocks_of(&r),
            [
                vec!["text", "image"],
                vec!["reasoning", "tool_use"],
                vec!["tool_result"]
            ]
        );
        let fields = document_to_json(r.additional_fields.as_ref().unwrap());
        assert_eq!(fields["thinking"]["type"], "enabled");

        // Without the signed thinking, Claude would refuse thinking here.
        let (r, _) = convert(input(
            json!({"type": "reasoning", "summary": [], "encrypted_content": "foreign"}),
        ))
        .unwrap();
        assert_eq!(blocks_of(&r)[1], ["tool_use"]);
        assert!(r.additional_fields.is_none());

        // Another model's thinking is not replayed to this one.
        let prepared = Prepared::new(
            serde_json::from_value(input(json!({"type": "reasoning", "summary": [],
                "encrypted_content": signed_reasoning()})))
            .unwrap(),
        )
        .unwrap();
        let other = Model {
            name: "bedrock/claude-other".into(),
            ..model()
        };
        let (r, _) = to_converse(&prepared, &other, "p").unwrap();
        assert_eq!(blocks_of(&r)[1], ["tool_use"]);
    }

    #[test]
    fn custom_and_namespaced_calls_replay_under_bedrock_names() {
        let (r, index) = convert(json!({"model": "m", "tools": [
                {"type": "custom", "name": "apply_patch"},
                {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f"}]},
                {"type": "web_search"}
            ], "input": [
                {"role": "user", "content": "patch it"},
                {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
                {"type": "function_call", "call_id": "c2", "name": "f", "namespace": "ns", "arguments": ""},
                {"type": "custom_tool_call_output", "call_id": "c1", "output": "Done"},
                {"type": "function_call_output", "call_id": "c2",
                 "output": [{"type": "input_text", "text": "ok"}]}
            ]}))
        .unwrap();
        assert_eq!(index.dropped, ["web_search"]);
        let uses: Vec<(String, Value)> = r.messages[1]
            .content
            .iter()
            .filter_map(|b| b.as_tool_use().ok())
            .map(|u| (u.name.clone(), document_to_json(&u.input)))
            .collect();
        assert_eq!(
            uses,
            [
                (
                    "apply_patch".to_owned(),
                    json!({"input": "*** Begin Patch"})
                ),
                ("ns__f".to_owned(), json!({}))
            ]
        );
        assert_eq!(blocks_of(&r)[2], ["tool_result", "tool_result"]);
        let specs = r.tools.as_ref().unwrap().tools();
        assert_eq!(specs.len(), 2);
    }

    #[test]
    fn what_a_stateless_proxy_cannot_do_is_a_400() {
        let err = convert(json!({"model": "m", "input": "hi", "previous_response_id": "resp_1"}))
            .unwrap_err();
        assert_eq!(err.code(), "previous_response_not_found");
        assert_eq!(err.param(), Some("previous_response_id"));
        assert!(err.to_string().contains("resp_1"));
        let err = convert(json!({"model": "m", "input": [
            {"role": "user", "content": "hi"}, {"type": "item_reference", "id": "msg_1"}]}))
        .unwrap_err();
        assert_eq!(err.param(), Some("input[1].type"));
        let err = convert(json!({"model": "m", "input": [
            {"role": "user", "content": "hi"},
            {"type": "function_call_output", "call_id": "nope", "output": "x"}]}))
        .unwrap_err();
        assert_eq!(err.code(), "unknown_tool_call_id");
        assert_eq!(err.param(), Some("input[1].call_id"));
        let err = convert(json!({"model": "m", "input": [{"role": "user", "content": [
            {"type": "input_image", "file_id": "file_1"}]}]}))
        .unwrap_err();
        assert_eq!(err.param(), Some("input[0].content[0]"));
        let err = convert(json!({"model": "m", "input": "hi", "reasoning": {"effort": "extreme"}}))
            .unwrap_err();
        assert_eq!(err.param(), Some("reasoning.effort"));
    }

    /// The thinking fields sent to a catalog model for a Responses body.
    fn thinking_on(model: &str, body: Value) -> Value {
        let catalog = crate::catalog::Catalog::builtin().unwrap();
        let model = catalog.model(model).unwrap();
        let prepared = Prepared::new(serde_json::from_value(body).unwrap()).unwrap();
        let (r, _) = to_converse(&prepared, model, &model.profile_id).unwrap();
        r.additional_fields
            .as_ref()
            .map_or(Value::Null, document_to_json)
    }

    #[test]
    fn summaries_ask_models_that_hide_their_thinking_to_show_it() {
        // Codex's request: summaries, no effort. Opus 5.5 thinks unasked
        // and hides the text unless asked (models.yaml `display: omitted`).
        let codex = json!({"model": "m", "input": "hi", "reasoning": {"summary": "auto"}});
        assert_eq!(
            thinking_on("bedrock/claude-opus-5-5", codex.clone()),
            json!({"thinking": {"type": "adaptive", "display": "summarized"}})
        );
        let mut with_effort = codex.clone();
        with_effort["reasoning"]["effort"] = json!("low");
        assert_eq!(
            thinking_on("bedrock/claude-sonnet-5-5", with_effort.clone()),
            json!({"thinking": {"type": "adaptive", "display": "summarized"},
                   "output_config": {"effort": "low"}})
        );
        // Least effort on a model that always thinks still thinks.
        with_effort["reasoning"]["effort"] = json!("minimal");
        assert_eq!(
            thinking_on("bedrock/claude-opus-5-5", with_effort.clone()),
            json!({"thinking": {"type": "adaptive", "display": "summarized"},
                   "output_config": {"effort": "low"}})
        );
        // Thinking turned off stays off.
        with_effort["reasoning"]["effort"] = json!("none");
        assert_eq!(
            thinking_on("bedrock/claude-sonnet-5-5", with_effort)["thinking"],
            json!({"type": "between_tools"})
        );
        // Sonnet 4.6 shows its thinking anyway, and thinks only when asked.
        assert_eq!(thinking_on("bedrock/claude-sonnet-4-6", codex), Value::Null);
        // Without summaries nothing changes.
        assert_eq!(
            thinking_on(
                "bedrock/claude-opus-5-5",
                json!({"model": "m", "input": "hi"})
            ),
            Value::Null
        );
    }

    #[test]
    fn xhigh_effort_maps_like_on_chat() {
        // The same effort table as Chat Completions: on a model that takes
        // only budgets, xhigh is a 32k budget.
        let (r, _) = convert(json!({"model": "m", "input": "hi", "stream": true,
                                    "reasoning": {"effort": "xhigh"}}))
        .unwrap();
        let fields = document_to_json(r.additional_fields.as_ref().unwrap());
        assert_eq!(fields["thinking"]["budget_tokens"], 32_768);
    }
}
