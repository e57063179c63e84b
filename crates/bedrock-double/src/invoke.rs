//! InvokeModel and InvokeModelWithResponseStream with an Anthropic Messages
//! body: validated as Bedrock does and normalised into a [`Turn`]; the
//! [`Reply`] is rendered as an Anthropic Message or as `chunk` events whose
//! `bytes` are the base64 Anthropic SSE event JSON.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::eventstream::{StreamPlan, event_frame};
use crate::faults;
use crate::limits::{self, ImageRef};
use crate::lineup::Model;
use crate::model_id;
use crate::reply::{Block, Reply, ToolDef, Turn, alnum_id, json_pieces, text_pieces};
use crate::rules::{self, Asks, DISPLAY_UPDATES_BETA, ReplayedThinking, ToolLoopTurn};
use crate::usage::{PromptCache, PromptLayout, text_chars, tokens_for_chars};

/// A validated invoke request.
pub struct InvokeCall {
    pub turn: Turn,
    /// `msg_bdrk_…`, shared by the message and its stream.
    message_id: String,
}

/// The Anthropic Messages body as Bedrock takes it (no `model`, no `stream`).
#[derive(Deserialize)]
struct AnthropicRequest {
    messages: Vec<Message>,
    max_tokens: u64,
    /// A string or text blocks.
    system: Option<Value>,
    #[serde(default)]
    tools: Vec<Value>,
    /// `{"type":"auto"|"any"|"tool"|"none","name"?}`.
    tool_choice: Option<Value>,
    #[serde(default)]
    stop_sequences: Vec<String>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<f64>,
    thinking: Option<Value>,
    /// `{"effort": "low"|…}`.
    output_config: Option<Value>,
    #[serde(default)]
    anthropic_beta: Vec<String>,
}

#[derive(Deserialize)]
struct Message {
    role: Role,
    content: Content,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Role {
    User,
    Assistant,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Blocks(Vec<Value>),
}

impl Content {
    fn blocks(&self) -> &[Value] {
        match self {
            Content::Text(_) => &[],
            Content::Blocks(blocks) => blocks,
        }
    }

    fn text(&self) -> String {
        match self {
            Content::Text(text) => text.clone(),
            Content::Blocks(blocks) => {
                let texts: Vec<&str> = blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect();
                texts.join("\n")
            }
        }
    }

    fn chars(&self) -> usize {
        match self {
            Content::Text(text) => text.chars().count(),
            Content::Blocks(blocks) => blocks.iter().map(text_chars).sum(),
        }
    }
}

const REQUIRED_KEYS: [&str; 3] = ["anthropic_version", "max_tokens", "messages"];
const EXTRANEOUS_KEYS: [&str; 2] = ["model", "stream"];
const TOOLS_REQUIRED: &str =
    "Requests which include `tool_use` or `tool_result` blocks must define tools.";

/// Parses and validates an invoke body for `model_id`, a profile of `model`.
pub fn parse(
    model_id: &str,
    model: &Model,
    body: &[u8],
    cache: &PromptCache,
) -> Result<InvokeCall, ApiError> {
    let request = parse_body(body)?;
    if request.messages.is_empty() {
        return Err(ApiError::validation(
            "messages: at least one message is required",
        ));
    }
    let blocks = || request.messages.iter().flat_map(|m| m.content.blocks());
    let uses_tools = blocks().any(|b| b["type"] == "tool_use" || b["type"] == "tool_result");
    if uses_tools && request.tools.is_empty() {
        return Err(ApiError::validation(TOOLS_REQUIRED));
    }
    check_images(&request)?;
    let asks = asks(&request);
    rules::check(model, &asks)?;
    let shows_thinking = asks.shows_thinking(model);
    limits::check_betas(request.anthropic_beta.iter().map(String::as_str))?;

    let last_user_text = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.text())
        .unwrap_or_default();
    let (prompt, directives) = faults::extract(&last_user_text, model_id)?;
    let thinking = asks.thinks(model);
    let layout = prompt_layout(&request);
    layout.check()?;
    let input = cache.input_usage(&layout, model.min_cache_tokens);
    let message_id = format!(
        "msg_bdrk_01{}",
        alnum_id(&format!("{model_id}|{prompt}|msg"))
    );
    let tools: Vec<ToolDef> = request
        .tools
        .iter()
        .filter_map(|tool| {
            Some(ToolDef {
                name: tool["name"].as_str()?.to_owned(),
                schema: tool["input_schema"].clone(),
            })
        })
        .collect();
    let choice = request.tool_choice.as_ref();
    let forced_tool = match choice.and_then(|c| c["type"].as_str()) {
        Some("tool") => choice.and_then(|c| c["name"].as_str()).map(str::to_owned),
        Some("any") => tools.first().map(|t| t.name.clone()),
        _ => None,
    };
    let turn = Turn {
        model_id: model_id.to_owned(),
        base_model_id: model.id.clone(),
        prompt,
        directives,
        max_tokens: request.max_tokens,
        stop_sequences: request.stop_sequences,
        tools,
        forced_tool,
        thinking,
        shows_thinking,
        input,
    };
    Ok(InvokeCall { turn, message_id })
}

/// The assistant turn the closing tool results answer, if the request
/// ends with some.
fn tool_loop_turn(messages: &[Message]) -> Option<ToolLoopTurn<'_>> {
    let [.., assistant, last] = messages else {
        return None;
    };
    let answers_tools = last.role == Role::User
        && assistant.role == Role::Assistant
        && last
            .content
            .blocks()
            .iter()
            .any(|b| b["type"] == "tool_result");
    let first_block = match &assistant.content {
        Content::Text(_) => "text",
        Content::Blocks(blocks) => blocks.first()?["type"].as_str()?,
    };
    answers_tools.then_some(ToolLoopTurn {
        index: messages.len() - 2,
        first_block,
    })
}

/// CountTokens for a base64-decoded invoke body: the model's request rules
/// apply as they would to the invocation itself.
pub fn count_input_tokens(model: &Model, body: &[u8]) -> Result<u64, ApiError> {
    let request = parse_body(body)?;
    rules::check(model, &asks(&request))?;
    Ok(tokens_for_chars(input_chars(&request)))
}

fn thinking_type(request: &AnthropicRequest) -> Option<&str> {
    request.thinking.as_ref()?["type"].as_str()
}

fn asks(request: &AnthropicRequest) -> Asks<'_> {
    let choice = request
        .tool_choice
        .as_ref()
        .and_then(|c| c["type"].as_str());
    Asks {
        thinking: thinking_type(request),
        tool_loop: tool_loop_turn(&request.messages),
        replayed_thinking: ReplayedThinking::in_messages(
            request.messages.iter().map(|m| m.content.blocks()),
            |block| {
                (block["type"] == "thinking")
                    .then(|| block["signature"].as_str())
                    .flatten()
            },
        ),
        display: request
            .thinking
            .as_ref()
            .and_then(|t| t["display"].as_str()),
        display_updates_beta: request
            .anthropic_beta
            .iter()
            .any(|b| b == DISPLAY_UPDATES_BETA),
        effort: request
            .output_config
            .as_ref()
            .and_then(|c| c["effort"].as_str()),
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        forces_tool: matches!(choice, Some("any" | "tool")),
        max_tokens: Some(request.max_tokens),
    }
}

fn malformed(detail: &str) -> ApiError {
    ApiError::validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}

fn parse_body(body: &[u8]) -> Result<AnthropicRequest, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| malformed("#: expected type: JSONObject"))?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed("#: expected type: JSONObject"))?;
    if let Some(key) = EXTRANEOUS_KEYS.iter().find(|k| object.contains_key(**k)) {
        return Err(malformed(&format!(
            "#: extraneous key [{key}] is not permitted"
        )));
    }
    if let Some(key) = REQUIRED_KEYS.iter().find(|k| !object.contains_key(**k)) {
        return Err(malformed(&format!("#: required key [{key}] not found")));
    }
    serde_json::from_value(value).map_err(|e| malformed(&format!("#: {e}")))
}

fn check_images(request: &AnthropicRequest) -> Result<(), ApiError> {
    let mut images = Vec::new();
    for (m, message) in request.messages.iter().enumerate() {
        for (c, block) in message.content.blocks().iter().enumerate() {
            if block["type"] == "image"
                && let Some(data) = block["source"]["data"].as_str()
            {
                let path = format!("messages.{m}.content.{c}.image.source.base64");
                images.push(ImageRef { path, base64: data });
            }
        }
    }
    limits::check_images(&images)
}

fn input_chars(request: &AnthropicRequest) -> usize {
    let system = request.system.as_ref().map_or(0, text_chars);
    let messages: usize = request.messages.iter().map(|m| m.content.chars()).sum();
    let tools: usize = request.tools.iter().map(text_chars).sum();
    system + messages + tools
}

/// The prompt in cache order (tools, system, messages); a block carrying
/// `cache_control` ends a cached prefix.
fn prompt_layout(request: &AnthropicRequest) -> PromptLayout {
    let mut layout = PromptLayout::default();
    let mut add = |section: &str, block: &Value| {
        layout.block(section, block);
        if block.get("cache_control").is_some() {
            layout.cache_point();
        }
    };
    for tool in &request.tools {
        add("tools", tool);
    }
    match &request.system {
        Some(Value::Array(blocks)) => blocks.iter().for_each(|b| add("system", b)),
        Some(text) => add("system", text),
        None => {}
    }
    for message in &request.messages {
        let section = match message.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        match &message.content {
            Content::Text(text) => add(section, &Value::String(text.clone())),
            Content::Blocks(blocks) => blocks.iter().for_each(|b| add(section, b)),
        }
    }
    layout
}

fn content_block(block: &Block) -> Value {
    match block {
        Block::Reasoning {
            text, signature, ..
        } => {
            json!({"type": "thinking", "thinking": text, "signature": signature})
        }
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::ToolUse {
            id_suffix,
            name,
            input,
        } => {
            json!({"type": "tool_use", "id": tool_use_id(id_suffix), "name": name, "input": input})
        }
    }
}

fn tool_use_id(suffix: &str) -> String {
    format!("toolu_bdrk_01{suffix}")
}

/// The Anthropic Message JSON response.
pub fn response(call: &InvokeCall, reply: &Reply) -> Value {
    let mut message = message_skeleton(call, reply.output_tokens);
    message["content"] = reply.blocks.iter().map(content_block).collect();
    message["stop_reason"] = reply.stop_reason.as_str().into();
    message["stop_sequence"] = json!(reply.stop_sequence);
    message
}

/// Bedrock's token-count and latency response headers.
pub fn metric_headers(
    call: &InvokeCall,
    reply: &Reply,
    latency_ms: u64,
) -> [(&'static str, String); 3] {
    [
        (
            "x-amzn-bedrock-input-token-count",
            call.turn.input.input_tokens.to_string(),
        ),
        (
            "x-amzn-bedrock-output-token-count",
            reply.output_tokens.to_string(),
        ),
        ("x-amzn-bedrock-invocation-latency", latency_ms.to_string()),
    ]
}

fn message_skeleton(call: &InvokeCall, output_tokens: u64) -> Value {
    let input = &call.turn.input;
    json!({
        "id": call.message_id,
        "type": "message",
        "role": "assistant",
        "model": model_id::response_model_name(&call.turn.model_id),
        "content": [],
        "stop_reason": null,
        "stop_sequence": null,
        "usage": {
            "input_tokens": input.input_tokens,
            "cache_creation_input_tokens": input.cache_write,
            "cache_read_input_tokens": input.cache_read,
            "output_tokens": output_tokens,
        },
    })
}

/// InvokeModelWithResponseStream `chunk` events for the reply.
pub fn stream(call: &InvokeCall, reply: &Reply, latency_ms: u64) -> StreamPlan {
    let mut events = vec![json!({"type": "message_start", "message": message_skeleton(call, 1)})];
    for (index, block) in reply.blocks.iter().enumerate() {
        let delta =
            |delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
        let start = match block {
            Block::Reasoning { .. } => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Block::Text(_) => json!({"type": "text", "text": ""}),
            Block::ToolUse {
                id_suffix, name, ..
            } => {
                json!({"type": "tool_use", "id": tool_use_id(id_suffix), "name": name, "input": {}})
            }
        };
        events.push(json!({"type": "content_block_start", "index": index, "content_block": start}));
        match block {
            Block::Reasoning {
                text, signature, ..
            } => {
                events.extend(
                    text_pieces(text)
                        .into_iter()
                        .map(|t| delta(json!({"type": "thinking_delta", "thinking": t}))),
                );
                events.push(delta(
                    json!({"type": "signature_delta", "signature": signature}),
                ));
            }
            Block::Text(text) => {
                events.extend(
                    text_pieces(text)
                        .into_iter()
                        .map(|t| delta(json!({"type": "text_delta", "text": t}))),
                );
            }
            Block::ToolUse { input, .. } => {
                let pieces = json_pieces(&input.to_string());
                events.extend(
                    pieces
                        .into_iter()
                        .map(|p| delta(json!({"type": "input_json_delta", "partial_json": p}))),
                );
            }
        }
        events.push(json!({"type": "content_block_stop", "index": index}));
    }
    events.push(json!({
        "type": "message_delta",
        "delta": {"stop_reason": reply.stop_reason.as_str(), "stop_sequence": reply.stop_sequence},
        "usage": {"output_tokens": reply.output_tokens},
    }));
    let input = &call.turn.input;
    events.push(json!({
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": input.input_tokens,
            "outputTokenCount": reply.output_tokens,
            "invocationLatency": latency_ms,
            "firstByteLatency": latency_ms,
            "cacheReadInputTokenCount": input.cache_read,
            "cacheWriteInputTokenCount": input.cache_write,
        },
    }));

    let first_delta_end = events
        .iter()
        .position(|e| e["type"] == "content_block_delta")
        .map_or(1, |at| at + 1);
    let frames = events
        .iter()
        .map(|event| event_frame("chunk", &json!({"bytes": BASE64.encode(event.to_string())})))
        .collect();
    StreamPlan {
        frames,
        first_delta_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorKind;
    use crate::lineup::Lineup;
    use crate::reply::plan;

    const MODEL: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

    fn parse_for(
        model_id: &str,
        body: &Value,
        cache: &PromptCache,
    ) -> Result<InvokeCall, ApiError> {
        let lineup = Lineup::builtin().unwrap();
        let target = lineup.resolve(model_id).unwrap();
        parse(model_id, target.model(), body.to_string().as_bytes(), cache)
    }

    fn call(body: Value) -> Result<InvokeCall, ApiError> {
        parse_for(MODEL, &body, &PromptCache::default())
    }

    fn body(messages: Value) -> Value {
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": messages})
    }

    #[test]
    fn extraneous_and_missing_keys_get_bedrock_messages() {
        let mut with_stream = body(json!([{"role": "user", "content": "hi"}]));
        with_stream["stream"] = json!(true);
        assert_eq!(
            call(with_stream).err().unwrap().message,
            "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again."
        );
        let missing = json!({"anthropic_version": "bedrock-2023-05-31", "messages": []});
        assert_eq!(
            call(missing).err().unwrap().message,
            "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again."
        );
        assert_eq!(call(json!([1])).err().unwrap().kind, ErrorKind::Validation);
    }

    #[test]
    fn tool_blocks_need_tools() {
        let messages = json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]}]);
        assert_eq!(call(body(messages)).err().unwrap().message, TOOLS_REQUIRED);
    }

    #[test]
    fn cache_control_blocks_are_written_then_read() {
        let mut request = body(json!([{"role": "user", "content": "hi"}]));
        // Haiku 4.5 caches from 4,096 tokens: 5,000 here.
        request["system"] = json!([{"type": "text", "text": "z".repeat(20_000), "cache_control": {"type": "ephemeral"}}]);
        let cache = PromptCache::default();
        let first = parse_for(MODEL, &request, &cache).unwrap();
        assert_eq!(
            (first.turn.input.cache_write, first.turn.input.cache_read),
            (5_000, 0)
        );
        let second = parse_for(MODEL, &request, &cache).unwrap();
        assert_eq!(
            (second.turn.input.cache_write, second.turn.input.cache_read),
            (0, 5_000)
        );
    }

    #[test]
    fn message_and_stream_render_the_reply() {
        let mut request =
            body(json!([{"role": "user", "content": [{"type": "text", "text": "hello"}]}]));
        request["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
        let call = call(request).unwrap();
        let reply = plan(&call.turn).unwrap();
        let message = response(&call, &reply);
        assert_eq!(message["model"], "claude-haiku-4-5-20251001");
        assert_eq!(message["content"][0]["type"], "thinking");
        assert_eq!(
            message["content"][1]["text"],
            format!("Reply from {MODEL}: hello")
        );
        assert_eq!(message["stop_reason"], "end_turn");
        let plan = stream(&call, &reply, 3);
        // message_start, content_block_start, then the first thinking delta.
        assert_eq!(plan.first_delta_end, 3);
    }
}
