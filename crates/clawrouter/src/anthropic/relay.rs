//! Bedrock's answers, relayed in Anthropic's shape: each stream chunk is one
//! Anthropic event JSON (`{"type": "message_start", …}`) and becomes one SSE
//! event named by its `type`; a non-streamed answer is Anthropic's Message
//! JSON. Both carry the usage the ledger needs and a `model` field that is
//! set to the name the client knows.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::AnthropicError;
use crate::catalog::{Catalog, Model, TokenUsage};

/// Bedrock's own per-invocation metrics on `message_stop` (token counts and
/// latencies); not part of Anthropic's event, so clients never see it.
const BEDROCK_METRICS_KEY: &str = "amazon-bedrock-invocationMetrics";

/// The `model` value to put in responses.
///
/// When the model that answered is the one the client named (in any
/// spelling the catalog resolves), the client's own spelling is echoed back:
/// Claude Code and the SDKs compare it with what they sent. Otherwise (the
/// client asked for `auto`, named a model the catalog serves with another of
/// its family, or the request fell back to another model) it is
/// the answering model's dated Anthropic name, so the client can tell. A
/// discovered model is only ever served to a client that named it.
pub fn response_model_name(catalog: &Catalog, requested: &str, served: &Model) -> String {
    let named = catalog.resolve(requested);
    if served.discovered || named.is_ok_and(|r| !r.substituted && r.model.name == served.name) {
        requested.trim().to_owned()
    } else {
        served
            .anthropic_names()
            .into_iter()
            .next()
            .unwrap_or_else(|| served.name.clone())
    }
}

/// One event ready to write as `event: {name}\ndata: {data}\n\n`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    pub name: String,
    pub data: Bytes,
}

/// Relays one InvokeModelWithResponseStream answer, chunk by chunk, and
/// keeps its usage.
#[derive(Debug, Clone)]
pub struct StreamRelay {
    response_model: String,
    /// Put before the first text the model streams (the `[low] ` tier tag).
    text_prefix: Option<String>,
    usage: TokenUsage,
    tool_use_ids: Vec<String>,
    complete: bool,
    /// Characters of text, thinking and tool input relayed, for estimating
    /// output when the stream ends before its usage is reported.
    generated_chars: usize,
}

impl StreamRelay {
    /// `response_model` is what [`response_model_name`] chose; `text_prefix`
    /// goes before the first text delta.
    pub fn new(response_model: impl Into<String>, text_prefix: Option<String>) -> Self {
        Self {
            response_model: response_model.into(),
            text_prefix,
            usage: TokenUsage::default(),
            tool_use_ids: Vec::new(),
            complete: false,
            generated_chars: 0,
        }
    }

    /// The SSE event for one decoded chunk (the JSON in `PayloadPart.bytes`).
    ///
    /// Usage is read from `message_start.message.usage` (input and cache
    /// tokens) and `message_delta.usage` (cumulative output tokens, and
    /// input/cache counts when present); Bedrock's metrics on `message_stop`
    /// fill whatever the events did not report. Unchanged events are
    /// relayed byte-for-byte.
    pub fn relay(&mut self, chunk: &[u8]) -> Result<StreamEvent, AnthropicError> {
        let mut event: Map<String, Value> = serde_json::from_slice(chunk)
            .map_err(|e| AnthropicError::UpstreamFormat(format!("stream event: {e}")))?;
        let name = event
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| AnthropicError::UpstreamFormat("stream event without a type".into()))?
            .to_owned();
        if let Some(delta) = event.get("delta").filter(|_| name == "content_block_delta") {
            self.generated_chars += ["text", "thinking", "partial_json"]
                .iter()
                .filter_map(|k| delta[*k].as_str())
                .map(str::len)
                .sum::<usize>();
        }
        let changed = match name.as_str() {
            "message_start" => match event.get_mut("message").and_then(Value::as_object_mut) {
                Some(message) => {
                    if let Some(usage) = message.get("usage") {
                        merge_usage(&mut self.usage, usage);
                    }
                    message.insert("model".into(), self.response_model.clone().into());
                    true
                }
                None => false,
            },
            "message_delta" => {
                if let Some(usage) = event.get("usage") {
                    merge_usage(&mut self.usage, usage);
                }
                false
            }
            "content_block_start" => {
                // `Map` indexing panics on a missing key (found by fuzzing).
                let block = event.get("content_block").unwrap_or(&Value::Null);
                if block["type"] == "tool_use"
                    && let Some(id) = block["id"].as_str()
                {
                    self.tool_use_ids.push(id.to_owned());
                }
                false
            }
            "content_block_delta" => match event.get_mut("delta") {
                Some(delta) if delta["type"] == "text_delta" => self
                    .text_prefix
                    .take()
                    .is_some_and(|p| prefix_text(delta, &p)),
                _ => false,
            },
            "message_stop" => {
                self.complete = true;
                let metrics = event.remove(BEDROCK_METRICS_KEY);
                if let Some(metrics) = &metrics {
                    fill_from_metrics(&mut self.usage, metrics);
                }
                metrics.is_some()
            }
            _ => false,
        };
        let data = if changed {
            encode(&event)?
        } else {
            Bytes::copy_from_slice(chunk)
        };
        Ok(StreamEvent { name, data })
    }

    /// Tokens reported so far.
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// Characters of generated content relayed so far.
    pub fn generated_chars(&self) -> usize {
        self.generated_chars
    }

    /// Ids of the tools the model called, in order.
    pub fn tool_use_ids(&self) -> &[String] {
        &self.tool_use_ids
    }

    /// Whether `message_stop` was relayed: a stream that ends without it was
    /// cut off, and the client must be sent an `error` event.
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

/// A non-streamed answer, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayedMessage {
    pub body: Bytes,
    pub usage: TokenUsage,
    /// Ids of the tools the model called, in order.
    pub tool_use_ids: Vec<String>,
}

/// Bedrock's InvokeModel answer (Anthropic's Message JSON) with `model` set
/// to `response_model` and `text_prefix` before its first text, with its
/// usage and tool calls.
pub fn relay_message(
    json: &[u8],
    response_model: &str,
    text_prefix: Option<&str>,
) -> Result<RelayedMessage, AnthropicError> {
    let mut message: Map<String, Value> = serde_json::from_slice(json)
        .map_err(|e| AnthropicError::UpstreamFormat(format!("message: {e}")))?;
    let mut usage = TokenUsage::default();
    if let Some(u) = message.get("usage") {
        merge_usage(&mut usage, u);
    }
    if let Some(metrics) = message.remove(BEDROCK_METRICS_KEY) {
        fill_from_metrics(&mut usage, &metrics);
    }
    message.insert("model".into(), response_model.into());
    let blocks = message.get_mut("content").and_then(Value::as_array_mut);
    let blocks = blocks.map_or(&mut [][..], Vec::as_mut_slice);
    if let (Some(prefix), Some(first_text)) =
        (text_prefix, blocks.iter_mut().find(|b| b["type"] == "text"))
    {
        prefix_text(first_text, prefix);
    }
    let tool_use_ids = blocks
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .filter_map(|b| b["id"].as_str().map(str::to_owned))
        .collect();
    Ok(RelayedMessage {
        body: encode(&message)?,
        usage,
        tool_use_ids,
    })
}

/// Puts `prefix` before a text block's or text delta's `text`.
fn prefix_text(holder: &mut Value, prefix: &str) -> bool {
    match holder.get_mut("text") {
        Some(Value::String(text)) => {
            text.insert_str(0, prefix);
            true
        }
        _ => false,
    }
}

/// Takes each count an Anthropic `usage` object reports (counts are totals
/// so far, never increments).
fn merge_usage(usage: &mut TokenUsage, reported: &Value) {
    let fields: [(&str, &mut u64); 4] = [
        ("input_tokens", &mut usage.input),
        ("output_tokens", &mut usage.output),
        ("cache_read_input_tokens", &mut usage.cache_read),
        ("cache_creation_input_tokens", &mut usage.cache_write),
    ];
    for (key, slot) in fields {
        if let Some(n) = reported.get(key).and_then(Value::as_u64) {
            *slot = n;
        }
    }
    // The split of cache writes by TTL: 1-hour writes cost more.
    if let Some(n) = reported
        .pointer("/cache_creation/ephemeral_1h_input_tokens")
        .and_then(Value::as_u64)
    {
        usage.cache_write_1h = n;
    }
}

/// Fills counts still zero from Bedrock's invocation metrics.
fn fill_from_metrics(usage: &mut TokenUsage, metrics: &Value) {
    let fields: [(&str, &mut u64); 4] = [
        ("inputTokenCount", &mut usage.input),
        ("outputTokenCount", &mut usage.output),
        ("cacheReadInputTokenCount", &mut usage.cache_read),
        ("cacheWriteInputTokenCount", &mut usage.cache_write),
    ];
    for (key, slot) in fields {
        if *slot == 0
            && let Some(n) = metrics.get(key).and_then(Value::as_u64)
        {
            *slot = n;
        }
    }
}

fn encode(object: &Map<String, Value>) -> Result<Bytes, AnthropicError> {
    serde_json::to_vec(object)
        .map(Bytes::from)
        .map_err(|e| AnthropicError::UpstreamFormat(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    fn chunk(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn response_model_echoes_the_clients_spelling_of_the_same_model() {
        let catalog = Catalog::builtin().unwrap();
        let sonnet = catalog.model("bedrock/claude-sonnet-4-5").unwrap();
        for asked in [
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5[1m]",
            "bedrock/claude-sonnet-4-5",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ] {
            assert_eq!(response_model_name(&catalog, asked, sonnet), asked);
        }
        assert_eq!(
            response_model_name(&catalog, "auto", sonnet),
            "claude-sonnet-4-5-20250929"
        );
        assert_eq!(
            response_model_name(&catalog, "claude-opus-4-6", sonnet),
            "claude-sonnet-4-5-20250929"
        );
    }

    #[test]
    fn stream_events_are_named_usage_kept_and_bedrock_metrics_stripped() {
        let mut relay = StreamRelay::new("claude-sonnet-4-5", Some("[mid] ".into()));
        let start = relay
            .relay(&chunk(json!({"type": "message_start", "message": {
                "id": "msg_bdrk_1", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929", "content": [],
                "usage": {"input_tokens": 12, "cache_creation_input_tokens": 300,
                          "cache_read_input_tokens": 4000, "output_tokens": 1}}})))
            .unwrap();
        assert_eq!(start.name, "message_start");
        let data: Value = serde_json::from_slice(&start.data).unwrap();
        assert_eq!(data["message"]["model"], "claude-sonnet-4-5");
        assert_eq!(data["message"]["usage"]["cache_read_input_tokens"], 4000);

        let delta = |text: &str| {
            chunk(json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": text}}))
        };
        let first = relay.relay(&delta("hé")).unwrap();
        assert_eq!(first.name, "content_block_delta");
        let first: Value = serde_json::from_slice(&first.data).unwrap();
        assert_eq!(first["delta"]["text"], "[mid] hé");
        let second = relay.relay(&delta("llo")).unwrap();
        assert_eq!(second.data, delta("llo"), "relayed byte-for-byte");
        let tool = relay
            .relay(&chunk(json!({"type": "content_block_start", "index": 1,
                "content_block": {"type": "tool_use", "id": "toolu_bdrk_01x", "name": "t", "input": {}}})))
            .unwrap();
        assert_eq!(tool.name, "content_block_start");
        assert_eq!(relay.tool_use_ids(), ["toolu_bdrk_01x"]);
        assert_eq!(relay.relay(br#"{"type":"ping"}"#).unwrap().name, "ping");

        relay
            .relay(&chunk(json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}})))
            .unwrap();
        assert!(!relay.is_complete());
        let stop = relay
            .relay(&chunk(json!({"type": "message_stop",
                "amazon-bedrock-invocationMetrics": {"inputTokenCount": 12, "outputTokenCount": 42,
                    "invocationLatency": 900, "firstByteLatency": 300}})))
            .unwrap();
        assert_eq!(stop.name, "message_stop");
        assert_eq!(
            serde_json::from_slice::<Value>(&stop.data).unwrap(),
            json!({"type": "message_stop"})
        );
        assert!(relay.is_complete());
        assert_eq!(
            relay.usage(),
            TokenUsage {
                input: 12,
                output: 42,
                cache_read: 4000,
                cache_write: 300,
                cache_write_1h: 0
            }
        );
    }

    #[test]
    fn metrics_fill_usage_the_events_did_not_report() {
        let mut relay = StreamRelay::new("m", None);
        relay
            .relay(br#"{"type":"message_start","message":{"usage":{}}}"#)
            .unwrap();
        relay
            .relay(br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":7,"outputTokenCount":3,"cacheReadInputTokenCount":5}}"#)
            .unwrap();
        assert_eq!(
            relay.usage(),
            TokenUsage {
                input: 7,
                output: 3,
                cache_read: 5,
                cache_write: 0,
                cache_write_1h: 0
            }
        );
    }

    #[test]
    fn a_block_start_without_its_block_is_relayed_not_a_panic() {
        let mut relay = StreamRelay::new("m", None);
        let event = relay.relay(br#"{"type":"content_block_start"}"#).unwrap();
        assert_eq!(event.name, "content_block_start");
    }

    #[test]
    fn unreadable_events_are_upstream_errors() {
        let mut relay = StreamRelay::new("m", None);
        for bad in [&b"not json"[..], br#"{"no":"type"}"#, br#"[1]"#] {
            assert!(matches!(
                relay.relay(bad),
                Err(AnthropicError::UpstreamFormat(_))
            ));
        }
    }

    #[test]
    fn message_gets_the_model_name_and_its_usage_read() {
        let json = chunk(
            json!({"id": "msg_bdrk_1", "type": "message", "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "thinking", "thinking": "…", "signature": "s"}, {"type": "text", "text": "hi"},
                        {"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 9, "output_tokens": 4, "cache_read_input_tokens": 2,
                      "cache_creation_input_tokens": 1}}),
        );
        let out = relay_message(&json, "claude-haiku-4-5", Some("[low] ")).unwrap();
        let body: Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(body["model"], "claude-haiku-4-5");
        assert_eq!(body["content"][0]["signature"], "s");
        assert_eq!(body["content"][1]["text"], "[low] hi");
        assert_eq!(out.tool_use_ids, ["toolu_1"]);
        assert_eq!(body["stop_sequence"], Value::Null);
        assert_eq!(
            out.usage,
            TokenUsage {
                input: 9,
                output: 4,
                cache_read: 2,
                cache_write: 1,
                cache_write_1h: 0
            }
        );
        assert!(relay_message(b"<html>", "m", None).is_err());
    }
}
