//! The Anthropic Messages surface over real HTTP: proxy → bedrock double,
//! as Claude Code and the Anthropic SDKs use it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{KEY, Stack, stack, stack_with};
use serde_json::{Value, json};

const SONNET: &str = "claude-sonnet-4-5-20250929";
const SONNET_PROFILE: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const CLAUDE_CODE_BETAS: &str = "claude-code-20250219,context-1m-2025-08-07,\
    interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,\
    context-management-2025-06-27,prompt-caching-scope-2026-01-05,\
    mid-conversation-system-2026-04-07,effort-2025-11-24";

fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": text}]})
}

fn weather_tool() -> Value {
    json!([{"name": "get_weather", "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}])
}

/// POST `path` with the key; returns status, headers and the body (JSON, or
/// the raw text as a string).
async fn post(
    s: &Stack,
    path: &str,
    body: &Value,
    betas: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = s
        .post(path)
        .header("anthropic-version", "2023-06-01")
        .json(body);
    if let Some(betas) = betas {
        request = request.header("anthropic-beta", betas);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn message(s: &Stack, body: &Value) -> (u16, Value) {
    let (status, _, text) = post(s, "/v1/messages?beta=true", body, None).await;
    (status, serde_json::from_str(&text).unwrap())
}

/// A streamed request: the `(event, data)` pairs in order.
async fn stream_events(
    s: &Stack,
    body: &Value,
    betas: Option<&str>,
) -> (u16, Vec<(String, Value)>) {
    let mut body = body.clone();
    body["stream"] = json!(true);
    let (status, headers, text) = post(s, "/v1/messages?beta=true", &body, betas).await;
    if status == 200 {
        assert_eq!(headers["content-type"], "text/event-stream");
    }
    let events = text
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name.to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect();
    (status, events)
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect()
}

#[tokio::test]
async fn text_message_round_trip() {
    let s = stack().await;
    let (status, headers, text) = post(
        &s,
        "/v1/messages?beta=true",
        &ask(SONNET, "Hello there"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-clawrouter-model"], "bedrock/claude-sonnet-4-5");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], SONNET, "the client's own name comes back");
    let reply = body["content"][0]["text"].as_str().unwrap();
    assert!(reply.contains(SONNET_PROFILE), "{reply}");
    assert!(reply.contains("Hello there"), "{reply}");
    assert_eq!(body["stop_reason"], "end_turn");
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(body["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert!(!text.contains("amazon-bedrock"));
}

#[tokio::test]
async fn stream_has_named_events_and_matches_the_whole_answer() {
    let s = stack().await;
    let (_, whole) = message(&s, &ask("claude-sonnet-4-5", "Stream me a reply please")).await;
    let (status, events) = stream_events(
        &s,
        &ask("claude-sonnet-4-5", "Stream me a reply please"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let names = names(&events);
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    for wanted in [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
    ] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    for (name, data) in &events {
        assert_eq!(data["type"], name.as_str(), "event name is the data's type");
    }
    assert_eq!(events[0].1["message"]["model"], "claude-sonnet-4-5");
    assert!(
        events
            .last()
            .unwrap()
            .1
            .get("amazon-bedrock-invocationMetrics")
            .is_none()
    );
    assert_eq!(
        streamed_text(&events),
        whole["content"][0]["text"].as_str().unwrap()
    );
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(
        delta["usage"]["output_tokens"],
        whole["usage"]["output_tokens"]
    );
}

#[tokio::test]
async fn tool_use_round_trip() {
    let s = stack().await;
    let mut body = ask(SONNET, "[[double:tool=get_weather]] weather in Paris?");
    body["tools"] = weather_tool();
    let (status, first) = message(&s, &body).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["stop_reason"], "tool_use");
    let call = first["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap()
        .clone();
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["input"]["location"], "sample");
    assert!(call["id"].as_str().unwrap().starts_with("toolu_bdrk_01"));

    body["messages"] = json!([
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "18°C and sunny"}]}
    ]);
    let (status, second) = message(&s, &body).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["stop_reason"], "end_turn");

    let (_, streamed) = stream_events(
        &s,
        &json!({"model": SONNET, "max_tokens": 512, "tools": weather_tool(),
        "messages": [{"role": "user", "content": "[[double:tool=get_weather]] again"}]}),
        None,
    )
    .await;
    let start = streamed
        .iter()
        .find(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use")
        .unwrap();
    assert_eq!(start.1["content_block"]["name"], "get_weather");
    assert!(
        streamed
            .iter()
            .any(|(_, d)| d["delta"]["type"] == "input_json_delta")
    );
}

#[tokio::test]
async fn thinking_blocks_come_back_signed_whole_and_streamed() {
    let s = stack().await;
    let mut body = ask(SONNET, "Think about this");
    body["max_tokens"] = json!(4000);
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2000});
    let (status, whole) = message(&s, &body).await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["content"][0]["type"], "thinking");
    assert!(
        whole["content"][0]["signature"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );

    let (_, streamed) = stream_events(&s, &body, Some("interleaved-thinking-2025-05-14")).await;
    let delta_types: Vec<&str> = streamed
        .iter()
        .filter_map(|(_, d)| d["delta"]["type"].as_str())
        .collect();
    assert!(delta_types.contains(&"thinking_delta"), "{delta_types:?}");
    assert!(delta_types.contains(&"signature_delta"), "{delta_types:?}");
}

#[tokio::test]
async fn cache_tokens_are_reported_whole_and_streamed() {
    let s = stack().await;
    let body = json!({"model": SONNET, "max_tokens": 256,
        "system": [{"type": "text", "text": "A long and stable system prompt. ".repeat(300),
                    "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": "hi"}]});
    let (status, first) = message(&s, &body).await;
    assert_eq!(status, 200, "{first}");
    assert!(
        first["usage"]["cache_creation_input_tokens"]
            .as_u64()
            .unwrap()
            > 0,
        "{first}"
    );
    let (_, streamed) = stream_events(&s, &body, None).await;
    let usage = &streamed[0].1["message"]["usage"];
    assert_eq!(
        usage["cache_read_input_tokens"],
        first["usage"]["cache_creation_input_tokens"]
    );
}

#[tokio::test]
async fn anthropic_only_betas_and_fields_never_reach_bedrock() {
    // The double, like Bedrock, refuses unknown betas ("invalid beta flag")
    // and the `model`/`stream` keys; every request here still succeeds.
    let s = stack().await;
    let mut body = ask(SONNET, "hi");
    body["metadata"] = json!({"user_id": "someone"});
    body["context_management"] =
        json!({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]});
    let (status, _, text) = post(&s, "/v1/messages", &body, Some(CLAUDE_CODE_BETAS)).await;
    assert_eq!(status, 200, "{text}");
    let (status, events) = stream_events(&s, &body, Some(CLAUDE_CODE_BETAS)).await;
    assert_eq!(status, 200);
    assert_eq!(names(&events).last(), Some(&"message_stop"));
}

#[tokio::test]
async fn claude_code_requests_as_sent_work() {
    let s = stack().await;
    // Claude Code 2.1.197's first turn: default model claude-opus-4-8, a
    // trailing system-role message, adaptive thinking, effort.
    let sent: Value =
        serde_json::from_str(include_str!("fixtures/claude_code_2_1_197_messages.json")).unwrap();
    let (status, events) = stream_events(&s, &sent, Some(CLAUDE_CODE_BETAS)).await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(events[0].1["message"]["model"], "claude-opus-4-8");
    let text = streamed_text(&events);
    assert!(text.contains("us.anthropic.claude-opus-4-8"), "{text}");
    assert_eq!(names(&events).last(), Some(&"message_stop"));

    // An older 2.1 turn: sonnet, 24 tools, a 26 KB cached system prompt.
    let older: Value =
        serde_json::from_str(include_str!("fixtures/claude_code_messages.json")).unwrap();
    let (status, events) = stream_events(&s, &older, Some(CLAUDE_CODE_BETAS)).await;
    assert_eq!(status, 200, "{events:?}");
    assert!(streamed_text(&events).contains(SONNET_PROFILE));
    let usage = &events[0].1["message"]["usage"];
    assert!(
        usage["cache_creation_input_tokens"].as_u64().unwrap() > 6_000,
        "{usage}"
    );
}

#[tokio::test]
async fn auto_routes_and_the_override_tag_never_reaches_the_model() {
    let s = stack().await;
    let (status, headers, text) = post(
        &s,
        "/v1/messages",
        &ask("auto", "[low] what is the capital of France?"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["x-clawrouter-tier"], "low");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["model"], "claude-haiku-5-5");
    // Haiku 5.5 thinks unasked: the answer is the text block after it.
    let blocks = body["content"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "thinking");
    let text = blocks.iter().find(|b| b["type"] == "text").unwrap();
    let reply = text["text"].as_str().unwrap();
    assert!(reply.contains("claude-haiku-5-5"), "{reply}");
    assert!(reply.contains("what is the capital of France?"), "{reply}");
    assert!(!reply.contains("[low]"), "the model saw the tag: {reply}");
}

#[tokio::test]
async fn count_tokens_asks_bedrock_and_estimates_when_it_cannot() {
    let s = stack().await;
    let body = json!({"model": SONNET, "system": "Be brief.",
        "messages": [{"role": "user", "content": "How many tokens is this sentence?"}]});
    let (status, _, text) = post(
        &s,
        "/v1/messages/count_tokens?beta=true",
        &body,
        Some(CLAUDE_CODE_BETAS),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let counted: Value = serde_json::from_str(&text).unwrap();
    let mut with_max = body.clone();
    with_max["max_tokens"] = json!(10);
    let (_, answered) = message(&s, &with_max).await;
    assert_eq!(
        counted["input_tokens"], answered["usage"]["input_tokens"],
        "Bedrock's own count"
    );
    assert_eq!(s.double.stats().by_operation["CountTokens"], 1);

    let Stack {
        double,
        url,
        http,
        proxy,
        ..
    } = s;
    double.shutdown().await;
    let r = http
        .post(format!("{url}/v1/messages/count_tokens"))
        .header("x-api-key", KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "an estimate, not an error");
    let estimated: Value = r.json().await.unwrap();
    assert!(estimated["input_tokens"].as_u64().unwrap() > 0);
    proxy.stop().await;
}

#[tokio::test]
async fn errors_are_anthropic_shaped() {
    let s = stack().await;
    let cases = [
        ("[[double:throttle]]", 529, "overloaded_error"),
        ("[[double:status=400]]", 400, "invalid_request_error"),
        ("[[double:status=500]]", 502, "api_error"),
    ];
    for (directive, status, kind) in cases {
        let (got, body) = message(&s, &ask(SONNET, &format!("{directive} hi"))).await;
        assert_eq!(got, status, "{directive}: {body}");
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], kind, "{directive}: {body}");
        assert!(body["error"]["message"].is_string());
    }
    // On another model: an access denial marks the model unavailable.
    let (got, body) = message(&s, &ask("claude-haiku-4-5", "[[double:status=403]] hi")).await;
    assert_eq!(got, 403, "{body}");
    assert_eq!(body["error"]["type"], "permission_error");

    let (status, body) = message(&s, &ask("gpt-4o", "hi")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "not_found_error");
    let listing = body["error"]["message"].as_str().unwrap();
    assert!(
        listing.contains("bedrock/claude-sonnet-4-5") && listing.contains("auto"),
        "{listing}"
    );

    let calls_before = s.double.stats().requests;
    let bad = [
        json!({"model": SONNET, "max_tokens": 10, "messages": []}),
        json!({"model": SONNET, "messages": [{"role": "user", "content": "no max_tokens"}]}),
        json!({"model": SONNET, "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}),
        json!({"model": SONNET, "max_tokens": 10, "messages": [{"role": "robot", "content": "x"}]}),
    ];
    for body in bad {
        let (status, answer) = message(&s, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["type"], "invalid_request_error");
    }
    assert_eq!(
        s.double.stats().requests,
        calls_before,
        "bad requests cost nothing"
    );
}

#[tokio::test]
async fn mid_stream_faults_end_with_an_error_event() {
    let s = stack().await;
    let (status, events) = stream_events(&s, &ask(SONNET, "[[double:midstream]] go"), None).await;
    assert_eq!(status, 200);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    assert_eq!(data["type"], "error");
    assert!(data["error"]["message"].is_string());
    assert!(!names(&events).contains(&"message_stop"));
    assert!(
        !streamed_text(&events).is_empty(),
        "the text before the fault is kept"
    );
}

#[tokio::test]
async fn a_stalled_stream_ends_with_a_timeout_error_event() {
    let s = stack_with(|c| c.stream_idle_timeout = Duration::from_millis(300)).await;
    let (status, events) = stream_events(&s, &ask(SONNET, "[[double:stall]] go"), None).await;
    assert_eq!(status, 200);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["error"]["type"], "timeout_error", "{events:?}");
}

#[tokio::test]
async fn the_key_is_required_and_refusals_are_anthropic_shaped() {
    let s = stack().await;
    for path in ["/v1/messages", "/v1/messages/count_tokens"] {
        let r = s
            .http
            .post(format!("{}{path}", s.url))
            .header("x-api-key", "sk-wrong")
            .json(&ask(SONNET, "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "authentication_error");
    }
    let ok = s
        .http
        .post(format!("{}/v1/messages", s.url))
        .header("x-api-key", KEY)
        .json(&ask(SONNET, "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn names_resolve_exactly_and_a_substitute_says_so() {
    let s = stack().await;
    // Anthropic name with Claude Code's [1m] suffix, bare id and any
    // geography's profile id all reach the model they name.
    for (name, profile) in [
        ("claude-opus-5-5[1m]", "us.anthropic.claude-opus-5-5"),
        (
            "anthropic.claude-haiku-5-5",
            "us.anthropic.claude-haiku-5-5",
        ),
        (
            "eu.anthropic.claude-sonnet-5-5",
            "eu.anthropic.claude-sonnet-5-5",
        ),
    ] {
        let (status, headers, text) = post(&s, "/v1/messages", &ask(name, "hi"), None).await;
        assert_eq!(status, 200, "{name}: {text}");
        assert_eq!(headers["x-clawrouter-profile"], profile, "{name}");
        assert!(!headers.contains_key("x-clawrouter-substituted-for"));
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["model"], name, "the client's own spelling comes back");
    }
    // A newer name the catalog lacks: served by the family's newest, and the
    // body, a header and the ledger row say so.
    let (status, headers, text) = post(&s, "/v1/messages", &ask("claude-opus-6", "hi"), None).await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["model"], "claude-opus-5-5");
    assert_eq!(headers["x-clawrouter-substituted-for"], "claude-opus-6");
    assert_eq!(headers["x-clawrouter-model"], "bedrock/claude-opus-5-5");
    s.ledger.flush().unwrap();
    let row = s.ledger.recent(1).unwrap().remove(0);
    assert_eq!(
        (row.requested_model.as_str(), row.model.as_str()),
        ("claude-opus-6", "bedrock/claude-opus-5-5")
    );
}

#[tokio::test]
async fn an_end_of_life_model_is_refused_naming_its_replacement() {
    let s = stack().await;
    for name in ["claude-sonnet-4-20250514", "bedrock/claude-sonnet-4"] {
        let (status, _, text) = post(&s, "/v1/messages", &ask(name, "hi"), None).await;
        assert_eq!(status, 404, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "not_found_error");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("end of life"), "{message}");
        assert!(message.contains("2026-10-14"), "{message}");
        assert!(message.contains("`bedrock/claude-sonnet-4-6`"), "{message}");
    }
    assert_eq!(
        s.double.stats().by_operation.get("InvokeModel"),
        None,
        "refused before any upstream call"
    );
}

#[tokio::test]
async fn budget_thinking_and_forced_tools_are_fitted_to_sonnet_5_5() {
    let body = json!({"model": "claude-sonnet-5-5", "max_tokens": 4096, "temperature": 0.5,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": weather_tool(), "tool_choice": {"type": "any"},
        "messages": [{"role": "user", "content": "weather in Oslo?"}]});
    answered_as_adjusted(
        body,
        "temperature=dropped;tool_choice=auto;thinking=adaptive;effort=low",
    )
    .await;
}

/// Sonnet 5.5 refuses `thinking: disabled` (Bedrock's 400, played by the
/// double) and turns up-front thinking off with `between_tools`, at most at
/// high effort: a client's "no thinking" is sent that way.
#[tokio::test]
async fn disabled_thinking_becomes_between_tools_on_sonnet_5_5() {
    let body = json!({"model": "claude-sonnet-5-5", "max_tokens": 1024,
        "thinking": {"type": "disabled"}, "output_config": {"effort": "max"},
        "messages": [{"role": "user", "content": "hi"}]});
    answered_as_adjusted(body, "thinking=between_tools;effort=high").await;
}

/// `body` is answered, whole and streamed, by the double (which refuses what
/// the model would), and the proxy says it changed `adjusted`.
async fn answered_as_adjusted(body: Value, adjusted: &str) {
    let s = stack().await;
    for stream in [false, true] {
        let mut body = body.clone();
        body["stream"] = json!(stream);
        let (status, headers, text) = post(&s, "/v1/messages", &body, None).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(headers["x-clawrouter-adjusted"], adjusted);
    }
}
