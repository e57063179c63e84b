//! The OpenAI-compatible surface over real HTTP: proxy → bedrock double.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine;
use common::{KEY, chat_body, stack, stack_with, streamed_text, user};
use serde_json::{Value, json};

const SONNET: &str = "bedrock/claude-sonnet-4-5";

fn weather_tool() -> Value {
    json!([{"type": "function", "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
    }}])
}

fn png_data_url(bytes: usize) -> String {
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    png.resize(bytes, 0);
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

#[tokio::test]
async fn text_completion_round_trip() {
    let s = stack().await;
    let (status, headers, body) = s.chat(chat_body(SONNET, "Hello there")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], SONNET);
    let text = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        text.contains("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        "{text}"
    );
    assert!(text.contains("Hello there"), "{text}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let usage = &body["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(headers["x-clawrouter-model"], SONNET);
}

#[tokio::test]
async fn streaming_matches_the_whole_answer_and_ends_with_done() {
    let s = stack().await;
    let (_, _, whole) = s.chat(chat_body(SONNET, "Stream me a reply please")).await;
    let (status, chunks) = s
        .chat_stream(chat_body(SONNET, "Stream me a reply please"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks.last().unwrap(), &json!("[DONE]"));
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    assert!(chunks.len() > 4, "expected several deltas, got {chunks:?}");
    assert_eq!(
        streamed_text(&chunks),
        whole["choices"][0]["message"]["content"].as_str().unwrap()
    );
}

#[tokio::test]
async fn stream_usage_chunk_when_asked() {
    let s = stack().await;
    let mut body = chat_body(SONNET, "count my tokens");
    body["stream_options"] = json!({"include_usage": true});
    let (_, chunks) = s.chat_stream(body).await;
    let usage_chunk = &chunks[chunks.len() - 2];
    assert_eq!(usage_chunk["choices"], json!([]));
    assert!(usage_chunk["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let (_, plain) = s.chat_stream(chat_body(SONNET, "count my tokens")).await;
    assert!(
        plain
            .iter()
            .all(|c| c.get("usage").is_none_or(Value::is_null))
    );
}

#[tokio::test]
async fn system_developer_and_same_role_turns_are_accepted() {
    // The double, like Bedrock, rejects conversations that do not alternate,
    // so a 200 shows consecutive user turns were merged.
    let s = stack().await;
    let (status, _, body) = s
        .chat(json!({"model": SONNET, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer in English."},
            user("first"),
            {"role": "assistant", "content": "ok"},
            user("second"),
            {"role": "user", "content": [{"type": "text", "text": "third part"}]},
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("third part")
    );
}

#[tokio::test]
async fn images_as_data_urls_and_their_limits() {
    let s = stack().await;
    let msg = |url: String| {
        json!({"model": SONNET, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    let (status, _, body) = s.chat(msg(png_data_url(64))).await;
    assert_eq!(status, 200, "{body}");
    for bad in [
        "https://example.com/cat.png".to_owned(),
        png_data_url(4 * 1024 * 1024),
        "data:image/tiff;base64,AAAA".to_owned(),
    ] {
        let (status, _, body) = s.chat(msg(bad)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    let parts: Vec<Value> = (0..21)
        .map(|_| json!({"type": "image_url", "image_url": {"url": png_data_url(16)}}))
        .collect();
    let (status, _, body) = s
        .chat(json!({"model": SONNET, "messages": [{"role": "user", "content": parts}]}))
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn tool_call_and_tool_result_round_trip() {
    let s = stack().await;
    let (status, _, body) = s
        .chat(
            json!({"model": SONNET, "tools": weather_tool(), "tool_choice": "auto",
            "messages": [user("[[double:tool=get_weather]] weather in Paris?")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(args["location"].is_string());
    let (status, _, body) = s
        .chat(
            json!({"model": SONNET, "tools": weather_tool(), "messages": [
                user("weather in Paris?"),
                {"role": "assistant", "content": null, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": "{\"temp_c\": 21}"},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn streamed_tool_call_arguments_are_keyed_by_index() {
    let s = stack().await;
    let (status, chunks) = s
        .chat_stream(
            json!({"model": SONNET, "tools": weather_tool(), "tool_choice": "required",
            "messages": [user("[[double:tool=get_weather]] weather?")]}),
        )
        .await;
    assert_eq!(status, 200);
    let deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    assert!(deltas.len() >= 2, "{chunks:?}");
    assert!(deltas.iter().all(|d| d["index"] == 0));
    assert_eq!(deltas[0]["function"]["name"], "get_weather");
    assert!(deltas[0]["id"].is_string());
    let args: String = deltas
        .iter()
        .filter_map(|d| d["function"]["arguments"].as_str())
        .collect();
    let args: Value = serde_json::from_str(&args).unwrap();
    assert!(args["location"].is_string());
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
}

#[tokio::test]
async fn named_tool_choice_must_name_a_tool() {
    let s = stack().await;
    let (status, _, body) = s
        .chat(json!({"model": SONNET, "tools": weather_tool(),
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "messages": [user("[[double:tool=get_weather]] go")]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = s
        .chat(json!({"model": SONNET, "tools": weather_tool(),
            "tool_choice": {"type": "function", "function": {"name": "nope"}},
            "messages": [user("go")]}))
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn stop_sequences_and_token_limits_set_finish_reason() {
    let s = stack().await;
    let (status, _, body) = s
        .chat(
            json!({"model": SONNET, "stop": ["BANANA"], "messages": [user("apple BANANA cherry")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let text = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        !text.contains("BANANA") && !text.contains("cherry"),
        "{text}"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    for limit in ["max_tokens", "max_completion_tokens"] {
        let mut req = chat_body(SONNET, "[[double:long=400]] talk");
        req[limit] = json!(16);
        let (status, _, body) = s.chat(req).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["choices"][0]["finish_reason"], "length", "{limit}");
        assert!(body["usage"]["completion_tokens"].as_u64().unwrap() <= 16);
    }
}

#[tokio::test]
async fn temperature_and_top_p_together_are_accepted_for_models_that_take_one() {
    // Sonnet 4.5 rejects both at once upstream (the double does too).
    let s = stack().await;
    let mut req = chat_body(SONNET, "hi");
    req["temperature"] = json!(0.5);
    req["top_p"] = json!(0.9);
    let (status, _, body) = s.chat(req).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bad_requests_get_openai_shaped_4xx() {
    let s = stack().await;
    let raw = |body: &'static str, ct: &'static str| {
        s.post("/v1/chat/completions")
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = raw("{not json", "application/json").await.unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["type"], "invalid_request_error");
    let r = raw(r#"{"model":"auto","messages":[]}"#, "text/plain")
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = raw(
        r#"{"model":"bedrock/claude-sonnet-4-5"}"#,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);

    let (status, _, body) = s.chat(chat_body("gpt-4o", "hi")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "model_not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bedrock/claude-opus-4-6")
    );

    let cases = [
        json!({"model": SONNET, "n": 2, "messages": [user("hi")]}),
        json!({"model": SONNET, "temperature": -1, "messages": [user("hi")]}),
        json!({"model": SONNET, "max_tokens": 0, "messages": [user("hi")]}),
        json!({"model": SONNET, "messages": [{"role": "assistant", "content": "first"}]}),
        json!({"model": SONNET, "tools": [{"type": "function", "function": {"name": "bad name!"}}], "messages": [user("hi")]}),
        json!({"model": SONNET, "tools": weather_tool(), "messages": [
            user("hi"),
            {"role": "assistant", "tool_calls": [{"id": "bad id!", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "bad id!", "content": "x"}]}),
        json!({"model": SONNET, "tools": weather_tool(), "messages": [
            user("hi"),
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{not json"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"}]}),
    ];
    for case in cases {
        let (status, _, body) = s.chat(case.clone()).await;
        assert_eq!(status, 400, "{case} -> {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{case}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        s.double.stats().by_model.len(),
        0,
        "no bad request may reach Bedrock"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let s = stack_with(|c| c.max_body_bytes = 1024).await;
    let (status, _, body) = s.chat(chat_body(SONNET, &"x".repeat(2048))).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "request_too_large");
}

#[tokio::test]
async fn upstream_faults_map_to_statuses() {
    let s = stack().await;
    let cases = [
        ("[[double:throttle]]", 429, "rate_limit_error"),
        ("[[double:status=400]]", 400, "invalid_request_error"),
        ("[[double:status=404]]", 404, "invalid_request_error"),
        ("[[double:status=408]]", 504, "timeout_error"),
        ("[[double:status=424]]", 502, "server_error"),
        ("[[double:status=500]]", 502, "server_error"),
        ("[[double:status=503]]", 503, "server_error"),
        // Last: an access denial marks the model unavailable, so it stays
        // refused (403) from then on.
        ("[[double:status=403]]", 403, "permission_error"),
    ];
    for (directive, status, kind) in cases {
        for stream in [false, true] {
            let mut req = chat_body(SONNET, &format!("{directive} hello"));
            req["stream"] = json!(stream);
            let (got, _, body) = s.chat(req).await;
            assert_eq!(got, status, "{directive} stream={stream}: {body}");
            assert_eq!(body["error"]["type"], kind, "{directive}");
        }
    }
}

#[tokio::test]
async fn upstream_timeout_is_504() {
    let s = stack_with(|c| c.upstream_timeout = Duration::from_millis(300)).await;
    let (status, _, body) = s
        .chat(chat_body(SONNET, "[[double:delay=3000]] slow"))
        .await;
    assert_eq!(status, 504, "{body}");
}

#[tokio::test]
async fn mid_stream_errors_end_the_stream_with_an_error_event() {
    let s = stack().await;
    let (status, chunks) = s
        .chat_stream(chat_body(SONNET, "[[double:midstream]] go"))
        .await;
    assert_eq!(status, 200);
    let last = chunks.last().unwrap();
    assert!(last["error"]["message"].is_string(), "{chunks:?}");
    assert!(!chunks.contains(&json!("[DONE]")));
    assert!(
        !streamed_text(&chunks).is_empty(),
        "the text before the fault is kept"
    );
}

#[tokio::test]
async fn a_stalled_stream_ends_after_the_idle_timeout() {
    let s = stack_with(|c| c.stream_idle_timeout = Duration::from_millis(300)).await;
    let (status, chunks) = s
        .chat_stream(chat_body(SONNET, "[[double:stall]] go"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        chunks.last().unwrap()["error"]["type"],
        "timeout_error",
        "{chunks:?}"
    );
}

#[tokio::test]
async fn models_health_and_liveliness() {
    let s = stack().await;
    let ids = s.model_ids().await;
    assert_eq!(ids[0], "auto");
    assert!(ids.iter().any(|id| id == "bedrock/claude-haiku-4-5"));
    // Past end of life: Bedrock would refuse it, so model pickers never offer it.
    assert!(
        !ids.iter().any(|id| id == "bedrock/claude-sonnet-4"),
        "{ids:?}"
    );
    let health: Value = s.get("/health").send().await.unwrap().json().await.unwrap();
    // Sonnet 4 is past end of life: Bedrock (the double) answers 404 and
    // /health says so; every living model is healthy.
    assert_eq!(health["healthy_count"], 10, "{health}");
    assert_eq!(health["unhealthy_count"], 1);
    assert_eq!(health["healthy_endpoints"].as_array().unwrap().len(), 10);
    let retired = &health["unhealthy_endpoints"][0];
    assert_eq!(retired["model_name"], "bedrock/claude-sonnet-4");
    assert!(
        retired["error"]
            .as_str()
            .unwrap()
            .contains("end of its life"),
        "{retired}"
    );
    let live = s
        .http
        .get(format!("{}/health/liveliness", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "liveliness needs no key");
}

#[tokio::test]
async fn client_key_is_required_and_failures_look_alike() {
    let s = stack().await;
    let url = format!("{}/v1/chat/completions", s.url);
    let body = chat_body(SONNET, "hi");
    let none = s.http.post(&url).json(&body).send().await.unwrap();
    let wrong = s
        .http
        .post(&url)
        .bearer_auth("sk-wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    let longer = s
        .http
        .post(&url)
        .bearer_auth(format!("{KEY}x"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let query = s
        .http
        .post(format!("{url}?api_key={KEY}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut bodies = Vec::new();
    for r in [none, wrong, longer, query] {
        assert_eq!(r.status(), 401);
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert!(!bodies[0].contains(KEY));
    let x_api_key = s
        .http
        .post(&url)
        .header("x-api-key", KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(x_api_key.status(), 200);
    assert_eq!(s.get("/v1/models").send().await.unwrap().status(), 200);
    assert_eq!(
        s.http
            .get(format!("{}/v1/models", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

/// Requests a client may send to any model, to models whose rules (enforced
/// by the double as Bedrock does) would refuse them as sent: the proxy fits
/// them and says what it changed.
#[tokio::test]
async fn requests_are_fitted_to_each_models_rules() {
    let s = stack().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]);
    let (status, headers, body) = s
        .chat(
            json!({"model": "bedrock/claude-sonnet-5-5", "temperature": 0.2,
            "tools": tools, "tool_choice": "required",
            "messages": [user("weather in Paris?")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers["x-clawrouter-adjusted"],
        "tool_choice=auto;temperature=dropped"
    );
    let (status, headers, body) = s
        .chat(
            json!({"model": "claude-opus-5-5", "reasoning_effort": "high",
            "messages": [user("think hard")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-clawrouter-adjusted"], "thinking=adaptive");
    // No reasoning, on a model that refuses `disabled`: its own way.
    let (status, headers, body) = s
        .chat(
            json!({"model": "claude-sonnet-5-5", "reasoning_effort": "none",
            "messages": [user("just answer")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-clawrouter-adjusted"], "thinking=between_tools");
    // Nothing to fit: no header.
    let (status, headers, body) = s
        .chat(
            json!({"model": "bedrock/claude-sonnet-4-6", "temperature": 0.2,
            "messages": [user("hi")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!headers.contains_key("x-clawrouter-adjusted"));
}
