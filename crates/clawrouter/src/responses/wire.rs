//! OpenAI Responses API wire types, mirroring the public API reference
//! (<https://platform.openai.com/docs/api-reference/responses>) and what
//! Codex CLI sends and parses (openai/codex, `codex-rs/codex-api/src/sse/responses.rs`,
//! `codex-rs/protocol/src/models.rs`).
//!
//! Requests ignore fields they do not model (`client_metadata`,
//! `prompt_cache_key`, `user`, ...); responses serialize the fields the
//! openai SDKs and Codex read.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::router::{TextContent, TextOrParts, TextPart, UserTurn};

/// `POST /v1/responses` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponsesRequest {
    pub model: String,
    #[serde(default)]
    pub input: Input,
    /// A system prompt; Codex sends its prompt as `developer` messages instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// The proxy keeps no responses; `true` is accepted and ignored, as
    /// refusing it would break clients that send the API's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `input`: a user prompt as one string, or a list of items.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Input {
    Text(String),
    Items(Vec<InputItem>),
}

/// Read by hand so a bad item is reported by its index, and so a message
/// may omit `type` (the API's "easy input message").
impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(Input::Text(text)),
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, mut item)| {
                    if let Some(object) = item.as_object_mut() {
                        object
                            .entry("type")
                            .or_insert_with(|| Value::String("message".to_owned()));
                    }
                    InputItem::deserialize(item)
                        .map_err(|e| D::Error::custom(format!("input[{i}]: {e}")))
                })
                .collect::<Result<_, _>>()
                .map(Input::Items),
            _ => Err(D::Error::custom(
                "input must be a string or a list of items",
            )),
        }
    }
}

impl Default for Input {
    fn default() -> Self {
        Input::Items(Vec::new())
    }
}

/// One item of `input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem {
    Message {
        role: Role,
        content: MessageContent,
    },
    FunctionCall {
        call_id: String,
        name: String,
        /// The arguments as a JSON object, serialized to a string.
        arguments: String,
        /// Set for a tool declared inside a `namespace` tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
    },
    FunctionCallOutput {
        call_id: String,
        output: ToolOutput,
    },
    /// A call of a freeform (`custom`) tool, such as Codex's `apply_patch`.
    CustomToolCall {
        call_id: String,
        name: String,
        input: String,
    },
    CustomToolCallOutput {
        call_id: String,
        output: ToolOutput,
    },
    /// The model's reasoning from an earlier turn. `encrypted_content`
    /// carries Claude's thinking and its signature (see `reasoning_blob`).
    Reasoning {
        #[serde(default)]
        summary: Vec<SummaryText>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
    /// `item_reference`, hosted-tool calls and other items a stateless
    /// proxy cannot replay; the translator answers with a precise 400.
    #[serde(other)]
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
    Developer,
}

/// Message content: a plain string or a list of typed parts.
pub type MessageContent = TextOrParts<ContentPart>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    InputText {
        text: String,
    },
    /// Assistant text from an earlier turn.
    OutputText {
        text: String,
    },
    Refusal {
        refusal: String,
    },
    InputImage {
        /// A `data:` URL (http(s) URLs are refused, as on chat completions).
        #[serde(default)]
        image_url: Option<String>,
    },
    /// `input_file`, `input_audio`, ...: answered with a precise 400.
    #[serde(other)]
    Unsupported,
}

/// A tool's output: a string, or a list of `input_text` / `input_image` parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolOutput {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SummaryText {
    SummaryText { text: String },
}

/// A tool offered to the model. Kept flat, with its `type` as a string, so
/// hosted tools the proxy drops can be named in the response header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// `function`, `custom`, `namespace`, or a hosted tool (`web_search`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `function`: a JSON Schema object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// `custom`: `{"type": "text"}` or `{"type": "grammar", "syntax", "definition"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    /// `namespace`: the function tools it groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
}

/// `tool_choice`: `"none"` | `"auto"` | `"required"`, or a named tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolChoice {
    Mode(String),
    Named {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningConfig {
    /// `none` | `minimal` | `low` | `medium` | `high` | `xhigh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `auto` | `concise` | `detailed`: show the reasoning as a summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
}

/// `text.format`: `{"type": "text"}`, `json_object`, or `json_schema` with a schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// The response object, whole or inside stream events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: String,
    /// Always `response`.
    pub object: String,
    pub created_at: u64,
    pub status: Status,
    pub model: String,
    pub output: Vec<OutputItem>,
    pub usage: Option<Usage>,
    pub error: Option<ResponseError>,
    pub incomplete_details: Option<IncompleteDetails>,
    pub parallel_tool_calls: bool,
    pub tool_choice: Value,
    pub tools: Vec<Value>,
    /// Always `false`: nothing is kept, so nothing can be retrieved later.
    pub store: bool,
    pub previous_response_id: Option<String>,
    pub metadata: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InProgress,
    Completed,
    Incomplete,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` | `content_filter`.
    pub reason: String,
}

/// `response.error` of a failed response: the codes Codex acts on are
/// `context_length_exceeded`, `rate_limit_exceeded` (with "try again in N s"
/// in the message) and `insufficient_quota`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseError {
    pub code: String,
    pub message: String,
}

/// One item of `output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    Message {
        id: String,
        status: Status,
        /// Always `assistant`.
        role: String,
        content: Vec<OutputContent>,
    },
    Reasoning {
        id: String,
        summary: Vec<SummaryText>,
        encrypted_content: Option<String>,
    },
    FunctionCall {
        id: String,
        status: Status,
        call_id: String,
        name: String,
        arguments: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
    },
    CustomToolCall {
        id: String,
        status: Status,
        call_id: String,
        name: String,
        input: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputContent {
    OutputText {
        text: String,
        annotations: Vec<Value>,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// All input tokens, cached or not.
    pub input_tokens: u64,
    pub input_tokens_details: InputTokensDetails,
    pub output_tokens: u64,
    pub output_tokens_details: OutputTokensDetails,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputTokensDetails {
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputTokensDetails {
    pub reasoning_tokens: u64,
}

/// One server-sent event: its payload and its place in the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamEvent {
    #[serde(flatten)]
    pub kind: EventKind,
    pub sequence_number: u64,
}

impl StreamEvent {
    /// The `type`, also sent as the SSE `event:` name.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

/// The events of a streamed response, in the API's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind {
    #[serde(rename = "response.created")]
    Created { response: Box<Response> },
    #[serde(rename = "response.in_progress")]
    InProgress { response: Box<Response> },
    #[serde(rename = "response.completed")]
    Completed { response: Box<Response> },
    #[serde(rename = "response.incomplete")]
    Incomplete { response: Box<Response> },
    #[serde(rename = "response.failed")]
    Failed { response: Box<Response> },
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded { output_index: u32, item: OutputItem },
    #[serde(rename = "response.output_item.done")]
    OutputItemDone { output_index: u32, item: OutputItem },
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        item_id: String,
        output_index: u32,
        content_index: u32,
        part: OutputContent,
    },
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        item_id: String,
        output_index: u32,
        content_index: u32,
        part: OutputContent,
    },
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        item_id: String,
        output_index: u32,
        content_index: u32,
        delta: String,
        logprobs: Vec<Value>,
    },
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        item_id: String,
        output_index: u32,
        content_index: u32,
        text: String,
        logprobs: Vec<Value>,
    },
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        item_id: String,
        output_index: u32,
        summary_index: u32,
        part: SummaryText,
    },
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        item_id: String,
        output_index: u32,
        summary_index: u32,
        part: SummaryText,
    },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        item_id: String,
        output_index: u32,
        summary_index: u32,
        delta: String,
    },
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        item_id: String,
        output_index: u32,
        summary_index: u32,
        text: String,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        item_id: String,
        output_index: u32,
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        item_id: String,
        output_index: u32,
        name: String,
        arguments: String,
    },
    #[serde(rename = "response.custom_tool_call_input.delta")]
    CustomToolCallInputDelta {
        item_id: String,
        output_index: u32,
        delta: String,
    },
    #[serde(rename = "response.custom_tool_call_input.done")]
    CustomToolCallInputDone {
        item_id: String,
        output_index: u32,
        input: String,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created { .. } => "response.created",
            EventKind::InProgress { .. } => "response.in_progress",
            EventKind::Completed { .. } => "response.completed",
            EventKind::Incomplete { .. } => "response.incomplete",
            EventKind::Failed { .. } => "response.failed",
            EventKind::OutputItemAdded { .. } => "response.output_item.added",
            EventKind::OutputItemDone { .. } => "response.output_item.done",
            EventKind::ContentPartAdded { .. } => "response.content_part.added",
            EventKind::ContentPartDone { .. } => "response.content_part.done",
            EventKind::OutputTextDelta { .. } => "response.output_text.delta",
            EventKind::OutputTextDone { .. } => "response.output_text.done",
            EventKind::ReasoningSummaryPartAdded { .. } => "response.reasoning_summary_part.added",
            EventKind::ReasoningSummaryPartDone { .. } => "response.reasoning_summary_part.done",
            EventKind::ReasoningSummaryTextDelta { .. } => "response.reasoning_summary_text.delta",
            EventKind::ReasoningSummaryTextDone { .. } => "response.reasoning_summary_text.done",
            EventKind::FunctionCallArgumentsDelta { .. } => {
                "response.function_call_arguments.delta"
            }
            EventKind::FunctionCallArgumentsDone { .. } => "response.function_call_arguments.done",
            EventKind::CustomToolCallInputDelta { .. } => "response.custom_tool_call_input.delta",
            EventKind::CustomToolCallInputDone { .. } => "response.custom_tool_call_input.done",
        }
    }
}

impl ResponsesRequest {
    pub fn wants_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// Whether the client asked to see the reasoning (`reasoning.summary`).
    pub fn wants_summaries(&self) -> bool {
        self.reasoning
            .as_ref()
            .and_then(|r| r.summary.as_deref())
            .is_some_and(|s| s != "none")
    }
}

/// The router reads the last user message, or the whole input when it is
/// one string.
impl UserTurn for ResponsesRequest {
    fn user_texts(&self) -> impl Iterator<Item = &str> {
        let (whole, items) = match &self.input {
            Input::Text(t) => (Some(t), &[][..]),
            Input::Items(items) => (None, items.as_slice()),
        };
        let last = items.iter().rev().find_map(|item| match item {
            InputItem::Message {
                role: Role::User,
                content,
            } => Some(content),
            _ => None,
        });
        let whole = whole.into_iter().flat_map(TextContent::texts);
        whole.chain(last.into_iter().flat_map(TextContent::texts))
    }

    fn user_texts_mut(&mut self) -> impl Iterator<Item = &mut String> {
        let (whole, items) = match &mut self.input {
            Input::Text(t) => (Some(t), &mut [][..]),
            Input::Items(items) => (None, items.as_mut_slice()),
        };
        let last = items.iter_mut().rev().find_map(|item| match item {
            InputItem::Message {
                role: Role::User,
                content,
            } => Some(content),
            _ => None,
        });
        let whole = whole.into_iter().flat_map(TextContent::texts_mut);
        whole.chain(last.into_iter().flat_map(TextContent::texts_mut))
    }
}

impl TextPart for ContentPart {
    fn text(&self) -> Option<&str> {
        match self {
            ContentPart::InputText { text } | ContentPart::OutputText { text } => Some(text),
            ContentPart::Refusal { refusal } => Some(refusal),
            _ => None,
        }
    }

    fn text_mut(&mut self) -> Option<&mut String> {
        match self {
            ContentPart::InputText { text } | ContentPart::OutputText { text } => Some(text),
            ContentPart::Refusal { refusal } => Some(refusal),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_what_codex_sends() {
        // Shapes captured from Codex 0.171 (`codex exec`), trimmed.
        let req: ResponsesRequest = serde_json::from_value(json!({
            "model": "auto", "stream": true, "store": false,
            "tool_choice": "auto", "parallel_tool_calls": true,
            "reasoning": {"summary": "auto"},
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "k", "client_metadata": {"session_id": "s"},
            "input": [
                {"type": "message", "id": "msg_1", "role": "developer",
                 "content": [{"type": "input_text", "text": "be precise"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run it"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}],
                 "content": null, "encrypted_content": "BLOB"},
                {"type": "function_call", "id": "fc_1", "name": "exec_command",
                 "arguments": "{\"cmd\":\"ls\"}", "call_id": "c1"},
                {"type": "function_call_output", "id": "fco_1", "call_id": "c1", "output": "a\nb"},
                {"type": "function_call", "name": "close_agent", "namespace": "multi_agent_v1",
                 "arguments": "{}", "call_id": "c2"},
                {"type": "custom_tool_call", "call_id": "c3", "name": "apply_patch", "input": "*** Begin Patch"},
                {"type": "custom_tool_call_output", "call_id": "c3", "output": "Done"}
            ],
            "tools": [
                {"type": "function", "name": "exec_command", "strict": false,
                 "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
                {"type": "namespace", "name": "multi_agent_v1", "description": "agents",
                 "tools": [{"type": "function", "name": "close_agent", "parameters": {"type": "object"}}]},
                {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
                {"type": "web_search", "external_web_access": false}
            ]
        }))
        .unwrap();
        let Input::Items(items) = &req.input else {
            panic!("items expected")
        };
        assert_eq!(items.len(), 8);
        assert!(matches!(
            &items[2],
            InputItem::Reasoning { encrypted_content: Some(b), summary } if b == "BLOB" && summary.len() == 1
        ));
        assert!(matches!(
            &items[5],
            InputItem::FunctionCall { namespace: Some(n), .. } if n == "multi_agent_v1"
        ));
        assert_eq!(req.user_text(), "run it");
        let tools = req.tools.as_ref().unwrap();
        assert_eq!(
            tools[1].tools.as_ref().unwrap()[0].name.as_deref(),
            Some("close_agent")
        );
        assert_eq!(tools[3].kind, "web_search");
    }

    #[test]
    fn a_message_may_omit_its_type_and_input_may_be_text() {
        let req: ResponsesRequest = serde_json::from_value(json!({
            "model": "m", "input": [{"role": "user", "content": "hi"}, {"type": "item_reference", "id": "x"}]
        }))
        .unwrap();
        let Input::Items(items) = &req.input else {
            panic!("items expected")
        };
        assert_eq!(
            items[0],
            InputItem::Message {
                role: Role::User,
                content: MessageContent::Text("hi".into())
            }
        );
        assert_eq!(items[1], InputItem::Unsupported);
        let req: ResponsesRequest =
            serde_json::from_value(json!({"model": "m", "input": "hello"})).unwrap();
        assert_eq!(req.user_text(), "hello");
        let robot = json!({"model": "m", "input": [{"role": "user", "content": "x"}, {"role": "robot", "content": "x"}]});
        let err = serde_json::from_value::<ResponsesRequest>(robot).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("input[1]: unknown variant `robot`"),
            "{err}"
        );
    }

    #[test]
    fn events_carry_their_type_and_sequence_number() {
        let event = StreamEvent {
            kind: EventKind::OutputTextDelta {
                item_id: "msg_1".into(),
                output_index: 0,
                content_index: 0,
                delta: "hi".into(),
                logprobs: Vec::new(),
            },
            sequence_number: 3,
        };
        assert_eq!(event.name(), "response.output_text.delta");
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
                   "content_index": 0, "delta": "hi", "logprobs": [], "sequence_number": 3})
        );
    }
}
