//! Converse and ConverseStream: the request is validated as Bedrock does and
//! normalised into a [`Turn`]; the [`Reply`] is rendered as the Converse JSON
//! response or as ConverseStream events.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::errors::{ApiError, ErrorKind};
use crate::eventstream::{StreamPlan, event_frame};
use crate::faults;
use crate::limits::{self, ImageRef};
use crate::lineup::Model;
use crate::reply::{Block, Reply, ToolDef, Turn, json_pieces, text_pieces};
use crate::rules::{self, Asks, DISPLAY_UPDATES_BETA, ReplayedThinking, ToolLoopTurn};
use crate::usage::{PromptCache, PromptLayout, text_chars, tokens_for_chars};

/// A validated Converse request.
pub struct ConverseCall {
    pub turn: Turn,
    /// `additionalModelResponseFieldPaths`, e.g. `/stop_sequence`.
    response_field_paths: Vec<String>,
}

/// The Converse / ConverseStream request body (SM `ConverseRequest`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseRequest {
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    system: Vec<Value>,
    #[serde(default)]
    inference_config: InferenceConfig,
    tool_config: Option<ToolConfig>,
    additional_model_request_fields: Option<Value>,
    #[serde(default)]
    additional_model_response_field_paths: Vec<String>,
}

#[derive(Deserialize)]
struct Message {
    role: Role,
    /// ContentBlock unions, one key per block.
    #[serde(default)]
    content: Vec<Value>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Role {
    User,
    Assistant,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig {
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    #[serde(default)]
    stop_sequences: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig {
    #[serde(default)]
    tools: Vec<Value>,
    /// `{"auto":{}}`, `{"any":{}}` or `{"tool":{"name":..}}`.
    tool_choice: Option<Value>,
}

const MUST_START_WITH_USER: &str = "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
const MUST_ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";
const TOOL_CONFIG_REQUIRED: &str =
    "The toolConfig field must be defined when using toolUse and toolResult content blocks.";

/// Parses and validates a Converse or ConverseStream body for `model_id`,
/// a profile of `model`.
pub fn parse(
    model_id: &str,
    model: &Model,
    body: &[u8],
    cache: &PromptCache,
) -> Result<ConverseCall, ApiError> {
    let request: ConverseRequest = parse_body(body)?;
    validate_conversation(&request.messages, request.tool_config.is_some())?;
    check_images(&request.messages)?;
    let asks = asks(&request);
    rules::check(model, &asks)?;
    let shows_thinking = asks.shows_thinking(model);
    let inference = &request.inference_config;
    let additional = request.additional_model_request_fields.as_ref();
    if let Some(betas) = additional
        .and_then(|a| a.get("anthropic_beta"))
        .and_then(Value::as_array)
    {
        limits::check_betas(betas.iter().filter_map(Value::as_str))?;
    }

    let last_user_text = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| texts(&m.content))
        .unwrap_or_default();
    let (prompt, directives) = faults::extract(&last_user_text, model_id)?;
    if directives.midstream == Some(ErrorKind::ModelTimeout) {
        return Err(ApiError::validation(
            "bedrock-double: ConverseStream has no modelTimeoutException",
        ));
    }

    let thinking = asks.thinks(model);
    let layout = prompt_layout(&request);
    layout.check()?;
    let input = cache.input_usage(&layout, model.min_cache_tokens);
    let turn = Turn {
        model_id: model_id.to_owned(),
        base_model_id: model.id.clone(),
        prompt,
        directives,
        // Converse's default is the model's maximum output.
        max_tokens: inference.max_tokens.unwrap_or(model.max_output_tokens),
        stop_sequences: inference.stop_sequences.clone(),
        tools: tool_defs(&request),
        forced_tool: forced_tool(&request),
        thinking,
        shows_thinking,
        input,
    };
    Ok(ConverseCall {
        turn,
        response_field_paths: request.additional_model_response_field_paths,
    })
}

/// CountTokens for `{"messages": [..], "system": [..], ..}`: the model's
/// request rules apply as they would to the Converse call itself.
pub fn count_input_tokens(model: &Model, input: &Value) -> Result<u64, ApiError> {
    let request: ConverseRequest = parse_body(input.to_string().as_bytes())?;
    rules::check(model, &asks(&request))?;
    Ok(tokens_for_chars(input_chars(&request)))
}

/// Thinking, `top_k`, `output_config` and betas travel in
/// `additionalModelRequestFields`, in the model's native form.
fn thinking_type(request: &ConverseRequest) -> Option<&str> {
    request.additional_model_request_fields.as_ref()?["thinking"]["type"].as_str()
}

fn asks(request: &ConverseRequest) -> Asks<'_> {
    let inference = &request.inference_config;
    let choice = request
        .tool_config
        .as_ref()
        .and_then(|c| c.tool_choice.as_ref());
    let native = request.additional_model_request_fields.as_ref();
    Asks {
        thinking: thinking_type(request),
        tool_loop: tool_loop_turn(&request.messages),
        replayed_thinking: ReplayedThinking::in_messages(
            request.messages.iter().map(|m| m.content.as_slice()),
            |block| {
                block
                    .pointer("/reasoningContent/reasoningText/signature")
                    .and_then(Value::as_str)
            },
        ),
        display: native
            .and_then(|a| a.pointer("/thinking/display"))
            .and_then(Value::as_str),
        display_updates_beta: native
            .and_then(|a| a.get("anthropic_beta"))
            .and_then(Value::as_array)
            .is_some_and(|betas| betas.iter().any(|b| b == DISPLAY_UPDATES_BETA)),
        effort: native
            .and_then(|a| a.pointer("/output_config/effort"))
            .and_then(Value::as_str),
        temperature: inference.temperature,
        top_p: inference.top_p,
        top_k: native.and_then(|a| a.get("top_k")).and_then(Value::as_f64),
        forces_tool: choice.is_some_and(|c| c.get("any").is_some() || c.get("tool").is_some()),
        max_tokens: inference.max_tokens,
    }
}

fn parse_body(body: &[u8]) -> Result<ConverseRequest, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::validation(format!(
            "Malformed input request: {e}, please reformat your input and try again."
        ))
    })
}

/// The assistant turn the closing tool results answer, if the request
/// ends with some.
fn tool_loop_turn(messages: &[Message]) -> Option<ToolLoopTurn<'static>> {
    let [.., assistant, last] = messages else {
        return None;
    };
    let answers_tools = last.role == Role::User
        && assistant.role == Role::Assistant
        && last.content.iter().any(|b| b.get("toolResult").is_some());
    let first = assistant.content.first()?;
    let first_block = ["reasoningContent", "toolUse", "text"]
        .into_iter()
        .zip(["thinking", "tool_use", "text"])
        .find(|(key, _)| first.get(key).is_some())
        .map_or("unknown", |(_, kind)| kind);
    answers_tools.then_some(ToolLoopTurn {
        index: messages.len() - 2,
        first_block,
    })
}

fn validate_conversation(messages: &[Message], has_tool_config: bool) -> Result<(), ApiError> {
    if messages.first().map(|m| m.role) != Some(Role::User) {
        return Err(ApiError::validation(MUST_START_WITH_USER));
    }
    if messages.windows(2).any(|pair| pair[0].role == pair[1].role) {
        return Err(ApiError::validation(MUST_ALTERNATE));
    }
    let uses_tools = messages
        .iter()
        .flat_map(|m| &m.content)
        .any(|block| block.get("toolUse").is_some() || block.get("toolResult").is_some());
    if uses_tools && !has_tool_config {
        return Err(ApiError::validation(TOOL_CONFIG_REQUIRED));
    }
    Ok(())
}

fn check_images(messages: &[Message]) -> Result<(), ApiError> {
    let mut images = Vec::new();
    for (m, message) in messages.iter().enumerate() {
        for (c, block) in message.content.iter().enumerate() {
            if let Some(data) = block["image"]["source"]["bytes"].as_str() {
                let path = format!("messages.{m}.content.{c}.image.source.bytes");
                images.push(ImageRef { path, base64: data });
            }
        }
    }
    limits::check_images(&images)
}

fn texts(content: &[Value]) -> String {
    let texts: Vec<&str> = content.iter().filter_map(|b| b["text"].as_str()).collect();
    texts.join("\n")
}

fn tools(request: &ConverseRequest) -> &[Value] {
    request.tool_config.as_ref().map_or(&[], |c| &c.tools)
}

fn tool_defs(request: &ConverseRequest) -> Vec<ToolDef> {
    tools(request)
        .iter()
        .filter_map(|tool| {
            let spec = tool.get("toolSpec")?;
            Some(ToolDef {
                name: spec["name"].as_str()?.to_owned(),
                schema: spec["inputSchema"]["json"].clone(),
            })
        })
        .collect()
}

fn forced_tool(request: &ConverseRequest) -> Option<String> {
    let choice = request.tool_config.as_ref()?.tool_choice.as_ref()?;
    if let Some(name) = choice["tool"]["name"].as_str() {
        return Some(name.to_owned());
    }
    choice.get("any")?;
    tool_defs(request).into_iter().next().map(|t| t.name)
}

fn input_chars(request: &ConverseRequest) -> usize {
    let messages: usize = request
        .messages
        .iter()
        .map(|m| m.content.iter().map(text_chars).sum::<usize>())
        .sum();
    let system: usize = request.system.iter().map(text_chars).sum();
    let tools: usize = tools(request).iter().map(text_chars).sum();
    messages + system + tools
}

/// The prompt in cache order (tools, system, messages); a `cachePoint`
/// block ends a cached prefix with everything before it.
fn prompt_layout(request: &ConverseRequest) -> PromptLayout {
    let mut layout = PromptLayout::default();
    let sections = std::iter::once(("tools", tools(request)))
        .chain(std::iter::once(("system", request.system.as_slice())))
        .chain(request.messages.iter().map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            (role, m.content.as_slice())
        }));
    for (section, blocks) in sections {
        for block in blocks {
            if block.get("cachePoint").is_some() {
                layout.cache_point();
            } else {
                layout.block(section, block);
            }
        }
    }
    layout
}

/// The Converse JSON response.
pub fn response(call: &ConverseCall, reply: &Reply, latency_ms: u64) -> Value {
    let content: Vec<Value> = reply.blocks.iter().map(content_block).collect();
    let mut body = json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": reply.stop_reason.as_str(),
        "usage": usage(call, reply),
        "metrics": {"latencyMs": latency_ms},
    });
    if let Some(fields) = response_fields(call, reply) {
        body["additionalModelResponseFields"] = fields;
    }
    body
}

fn content_block(block: &Block) -> Value {
    match block {
        Block::Reasoning {
            text, signature, ..
        } => {
            json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}})
        }
        Block::Text(text) => json!({ "text": text }),
        Block::ToolUse {
            id_suffix,
            name,
            input,
        } => {
            json!({"toolUse": {"toolUseId": format!("tooluse_{id_suffix}"), "name": name, "input": input}})
        }
    }
}

fn usage(call: &ConverseCall, reply: &Reply) -> Value {
    let input = &call.turn.input;
    json!({
        "inputTokens": input.input_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": input.total() + reply.output_tokens,
        "cacheReadInputTokens": input.cache_read,
        "cacheWriteInputTokens": input.cache_write,
    })
}

/// Only `/stop_sequence` is known to the double.
fn response_fields(call: &ConverseCall, reply: &Reply) -> Option<Value> {
    let wanted = call
        .response_field_paths
        .iter()
        .any(|p| p == "/stop_sequence");
    wanted.then(|| json!({ "stop_sequence": reply.stop_sequence }))
}

/// ConverseStream events for the reply.
pub fn stream(call: &ConverseCall, reply: &Reply, latency_ms: u64) -> StreamPlan {
    let mut events: Vec<(&str, Value)> = vec![("messageStart", json!({"role": "assistant"}))];
    for (index, block) in reply.blocks.iter().enumerate() {
        let delta = |delta: Value| {
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": delta}),
            )
        };
        match block {
            Block::Reasoning {
                text, signature, ..
            } => {
                events.extend(
                    text_pieces(text)
                        .into_iter()
                        .map(|t| delta(json!({"reasoningContent": {"text": t}}))),
                );
                events.push(delta(json!({"reasoningContent": {"signature": signature}})));
            }
            Block::Text(text) => {
                events.extend(
                    text_pieces(text)
                        .into_iter()
                        .map(|t| delta(json!({ "text": t }))),
                );
            }
            Block::ToolUse {
                id_suffix,
                name,
                input,
            } => {
                let start =
                    json!({"toolUse": {"toolUseId": format!("tooluse_{id_suffix}"), "name": name}});
                events.push((
                    "contentBlockStart",
                    json!({"contentBlockIndex": index, "start": start}),
                ));
                let pieces = json_pieces(&input.to_string());
                events.extend(
                    pieces
                        .into_iter()
                        .map(|p| delta(json!({"toolUse": {"input": p}}))),
                );
            }
        }
        events.push(("contentBlockStop", json!({ "contentBlockIndex": index })));
    }
    let mut stop = Map::new();
    stop.insert("stopReason".into(), reply.stop_reason.as_str().into());
    if let Some(fields) = response_fields(call, reply) {
        stop.insert("additionalModelResponseFields".into(), fields);
    }
    events.push(("messageStop", Value::Object(stop)));
    events.push((
        "metadata",
        json!({"usage": usage(call, reply), "metrics": {"latencyMs": latency_ms}}),
    ));

    let first_delta_end = events
        .iter()
        .position(|(name, _)| *name == "contentBlockDelta")
        .map_or(1, |at| at + 1);
    StreamPlan {
        frames: events
            .iter()
            .map(|(name, payload)| event_frame(name, payload))
            .collect(),
        first_delta_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineup::Lineup;
    use crate::reply::plan;

    const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

    fn parse_for(
        model_id: &str,
        body: &Value,
        cache: &PromptCache,
    ) -> Result<ConverseCall, ApiError> {
        let lineup = Lineup::builtin().unwrap();
        let target = lineup.resolve(model_id).unwrap();
        parse(model_id, target.model(), body.to_string().as_bytes(), cache)
    }

    fn call(body: Value) -> Result<ConverseCall, ApiError> {
        parse_for(MODEL, &body, &PromptCache::default())
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": [{"text": text}]})
    }

    #[test]
    fn parses_prompt_limits_and_tools() {
        let call = call(json!({
            "messages": [user("hello [[double:tool=f]]")],
            "system": [{"text": "be brief"}],
            "inferenceConfig": {"maxTokens": 50, "stopSequences": ["X"]},
            "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}], "toolChoice": {"any": {}}},
            "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
        }))
        .unwrap();
        let turn = &call.turn;
        assert_eq!(turn.prompt, "hello");
        assert_eq!(turn.directives.tool.as_deref(), Some("f"));
        assert_eq!(
            (turn.max_tokens, turn.stop_sequences.clone()),
            (50, vec!["X".to_owned()])
        );
        assert_eq!(turn.tools[0].name, "f");
        assert_eq!(turn.forced_tool.as_deref(), Some("f"));
        assert!(turn.thinking);
    }

    #[test]
    fn rejects_bad_conversations_with_bedrock_messages() {
        let assistant = json!({"role": "assistant", "content": [{"text": "hi"}]});
        let cases = [
            (
                json!({"messages": [assistant.clone()]}),
                MUST_START_WITH_USER,
            ),
            (json!({"messages": [user("a"), user("b")]}), MUST_ALTERNATE),
            (
                json!({"messages": [{"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": []}}]}]}),
                TOOL_CONFIG_REQUIRED,
            ),
            (
                json!({"messages": [user("a")], "inferenceConfig": {"temperature": 0.5, "topP": 0.9}}),
                rules::BOTH_SAMPLING_PARAMS,
            ),
            (
                json!({"messages": [user("a")], "additionalModelRequestFields": {"anthropic_beta": ["nope"]}}),
                "invalid beta flag",
            ),
        ];
        for (body, message) in cases {
            let err = call(body).err().unwrap();
            assert_eq!(
                (err.kind, err.message.as_str()),
                (ErrorKind::Validation, message)
            );
        }
        assert!(
            call(json!({"messages": "nope"}))
                .err()
                .unwrap()
                .message
                .starts_with("Malformed input request")
        );
    }

    #[test]
    fn cache_point_caches_the_prefix_up_to_it() {
        // Sonnet 4.5 caches from 1,024 tokens; the tools and the system
        // prompt before the point are 1,500 tokens.
        let point = json!({"cachePoint": {"type": "default"}});
        let tool = json!({"toolSpec": {"name": "f", "description": "d".repeat(2_000), "inputSchema": {"json": {}}}});
        let body = |question: &str| {
            json!({"messages": [user(question)], "system": [{"text": "s".repeat(4_000)}, point],
                   "toolConfig": {"tools": [tool]}})
        };
        let cache = PromptCache::default();
        let first = parse_for(MODEL, &body("q"), &cache).unwrap().turn.input;
        assert_eq!((first.cache_write, first.cache_read), (1_501, 0));
        let second = parse_for(MODEL, &body("another"), &cache)
            .unwrap()
            .turn
            .input;
        assert_eq!((second.cache_write, second.cache_read), (0, 1_501));
        assert_eq!(second.input_tokens, 1);
        // Below the model's minimum nothing is cached, and no error.
        let short = json!({"messages": [user("q")], "system": [{"text": "s".repeat(400)}, point]});
        for _ in 0..2 {
            let input = parse_for(MODEL, &short, &cache).unwrap().turn.input;
            assert_eq!((input.cache_write, input.cache_read), (0, 0));
        }
        // A fifth cache point is Bedrock's 400.
        let mut five = body("q");
        five["messages"][0]["content"] = json!([{"text": "a"}, point, point, point, point]);
        assert!(
            parse_for(MODEL, &five, &cache)
                .err()
                .unwrap()
                .message
                .contains("A maximum of 4 blocks with cache_control")
        );
    }

    #[test]
    fn response_and_stream_carry_the_same_reply() {
        let call = call(json!({
            "messages": [user("one two three four five six seven [[double:tool=f]]")],
            "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"required": ["a"], "properties": {"a": {"type": "string"}}}}}}]},
            "additionalModelResponseFieldPaths": ["/stop_sequence"],
        }))
        .unwrap();
        let reply = plan(&call.turn).unwrap();
        let body = response(&call, &reply, 7);
        assert_eq!(body["stopReason"], "tool_use");
        assert_eq!(
            body["output"]["message"]["content"][1]["toolUse"]["input"],
            json!({"a": "sample"})
        );
        assert_eq!(body["metrics"]["latencyMs"], 7);
        assert_eq!(
            body["additionalModelResponseFields"],
            json!({"stop_sequence": null})
        );
        let plan = stream(&call, &reply, 7);
        assert_eq!(plan.first_delta_end, 2);
        assert!(plan.frames.len() > 8);
    }
}
