//! What the proxy's own work costs per request and per streamed chunk, apart
//! from the network: parsing and translating an OpenAI request to Converse,
//! the answer back, one stream event, the Anthropic route's body filter and
//! stream relay, and SSE framing. bench/run.py puts the medians next to the
//! end-to-end figures (bench/results.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockDeltaEvent, ConversationRole,
    ConverseOutput as OutputUnion, Message, StopReason, TokenUsage,
};
use clawrouter::anthropic::{self, MessagesRequest, StreamRelay};
use clawrouter::bedrock::ConverseStreamEvent;
use clawrouter::catalog::{Catalog, Model};
use clawrouter::openai::{self, ChatCompletionRequest, StreamTranslator};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const MODEL: &str = "bedrock/claude-haiku-4-5";
const PROFILE: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

fn model(catalog: &Catalog) -> &Model {
    catalog.model(MODEL).unwrap()
}

/// A coding-assistant turn: system prompt, some history, a tool call and
/// its result, two tool definitions (about 2 KB of JSON).
fn chat_request() -> serde_json::Value {
    let tool = |name: &str, desc: &str| {
        json!({"type": "function", "function": {"name": name, "description": desc,
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                           "required": ["path"]}}})
    };
    json!({
        "model": MODEL,
        "max_tokens": 1024,
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You are a careful coding assistant. Answer briefly and cite file paths."},
            {"role": "user", "content": "Why does the proxy return 502 after a restart? ".repeat(8)},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "read_file", "arguments": "{\"path\":\"src/server/mod.rs\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "fn serve() { /* … */ }\n".repeat(20)},
            {"role": "user", "content": "And how do I fix it?"}
        ],
        "tools": [tool("read_file", "Read a file of the repository"), tool("list_dir", "List a directory")]
    })
}

fn converse_answer() -> ConverseOutput {
    let text = "The listener is rebound before the old socket closes; ".repeat(6);
    let message = Message::builder()
        .role(ConversationRole::Assistant)
        .content(ContentBlock::Text(text))
        .build()
        .unwrap();
    ConverseOutput::builder()
        .output(OutputUnion::Message(message))
        .stop_reason(StopReason::EndTurn)
        .usage(
            TokenUsage::builder()
                .input_tokens(600)
                .output_tokens(80)
                .total_tokens(680)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn text_delta(text: &str) -> ConverseStreamEvent {
    ConverseStreamEvent::ContentBlockDelta(
        ContentBlockDeltaEvent::builder()
            .content_block_index(0)
            .delta(ContentBlockDelta::Text(text.to_owned()))
            .build()
            .unwrap(),
    )
}

fn openai_route(c: &mut Criterion) {
    let catalog = Catalog::builtin().unwrap();
    let model = model(&catalog);
    let body = serde_json::to_vec(&chat_request()).unwrap();
    let req: ChatCompletionRequest = serde_json::from_slice(&body).unwrap();
    let answer = converse_answer();
    let mut g = c.benchmark_group("translate");

    g.bench_function("openai: parse request JSON (2 KB)", |b| {
        b.iter(|| serde_json::from_slice::<ChatCompletionRequest>(black_box(&body)).unwrap())
    });
    g.bench_function("openai::to_converse", |b| {
        b.iter(|| openai::to_converse(black_box(&req), model, PROFILE).unwrap())
    });
    g.bench_function("openai::from_converse", |b| {
        b.iter(|| openai::from_converse(black_box(&answer), MODEL, "chatcmpl-1", 1_700_000_000))
    });
    g.bench_function("openai: serialize response JSON", |b| {
        let completion = openai::from_converse(&answer, MODEL, "chatcmpl-1", 1_700_000_000);
        b.iter(|| serde_json::to_vec(black_box(&completion)).unwrap())
    });

    let delta = text_delta("alpha bravo charlie ");
    let mut translator = StreamTranslator::new(MODEL, "chatcmpl-1", 1_700_000_000, false);
    // Past the first event, which also carries the role.
    translator.on_event(&delta);
    g.bench_function("StreamTranslator::on_event (text delta)", |b| {
        b.iter(|| translator.on_event(black_box(&delta)))
    });
    let chunk = translator.on_event(&delta).pop().unwrap();
    g.bench_function(
        "sse: serde_json::to_writer + data: framing (one chunk)",
        |b| b.iter(|| clawrouter::server::sse_data_frame(black_box(&chunk))),
    );
    g.finish();
}

fn anthropic_route(c: &mut Criterion) {
    let catalog = Catalog::builtin().unwrap();
    let model = model(&catalog);
    let req: MessagesRequest = serde_json::from_value(json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 1024,
        "stream": true,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Why does the proxy return 502 after a restart? ".repeat(8)},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read",
                "input": {"path": "src/server/mod.rs"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                "content": "fn serve() { /* … */ }\n".repeat(20)}, {"type": "text", "text": "Fix it."}]}
        ],
        "tools": [{"name": "Read", "description": "Read a file",
                   "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}],
        "metadata": {"user_id": "bench"}
    }))
    .unwrap();
    let beta = Some("interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14");
    let mut g = c.benchmark_group("translate");
    g.bench_function("anthropic::bedrock_body", |b| {
        b.iter(|| anthropic::bedrock_body(black_box(&req), beta, model).unwrap())
    });

    let delta = serde_json::to_vec(&json!({"type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": "alpha bravo charlie "}}))
    .unwrap();
    let start = serde_json::to_vec(&json!({"type": "message_start", "message": {
        "id": "msg_bdrk_01", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 600, "output_tokens": 1}}}))
    .unwrap();
    let mut relay = StreamRelay::new("claude-haiku-4-5", None);
    g.bench_function("StreamRelay::relay (text delta, passed through)", |b| {
        b.iter(|| relay.relay(black_box(&delta)).unwrap())
    });
    g.bench_function("StreamRelay::relay (message_start, model rewritten)", |b| {
        b.iter(|| relay.relay(black_box(&start)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, openai_route, anthropic_route);
criterion_main!(benches);
