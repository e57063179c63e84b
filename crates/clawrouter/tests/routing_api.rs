//! `auto` routing, override tags, fallbacks and stickiness over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{chat_body, stack, stack_with, streamed_text, user};
use serde_json::{Value, json};

const HAIKU_US: &str = "us.anthropic.claude-haiku-5-5";
const HAIKU_GLOBAL: &str = "global.anthropic.claude-haiku-5-5";
const OPUS_US: &str = "us.anthropic.claude-opus-5-5";

fn reply(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn auto_picks_the_tier_by_category_and_says_so() {
    let s = stack().await;
    let cases = [
        ("hi", "low", HAIKU_US),
        (
            "write a python function that reverses a linked list",
            "mid",
            "us.anthropic.claude-sonnet-5-5",
        ),
        (
            "prove that the square root of 2 is irrational",
            "top",
            OPUS_US,
        ),
    ];
    for (text, tier, model) in cases {
        let (status, headers, body) = s.chat(chat_body("auto", text)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["x-clawrouter-tier"], tier, "{text}");
        assert!(headers.contains_key("x-clawrouter-category"));
        assert!(reply(&body).contains(model), "{text}: {}", reply(&body));
    }
    let (_, headers, _) = s
        .chat(chat_body("bedrock/claude-haiku-5-5", "prove it"))
        .await;
    assert!(
        !headers.contains_key("x-clawrouter-tier"),
        "named models are not routed"
    );
}

#[tokio::test]
async fn override_tags_force_the_tier_and_never_reach_the_model() {
    let s = stack().await;
    for (text, tier) in [
        ("[high] hi", "top"),
        ("[MEDIUM] hi", "mid"),
        ("[low]prove that 2+2=4", "low"),
    ] {
        let (status, headers, body) = s.chat(chat_body("auto", text)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["x-clawrouter-tier"], tier, "{text}");
        assert!(
            !reply(&body).contains('['),
            "tag leaked upstream: {}",
            reply(&body)
        );
    }
    // Claude Code style: a wrapper part first, then the user's own words with the tag.
    let (_, headers, body) = s
        .chat(
            json!({"model": "auto", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>Context the IDE adds.</system-reminder>"},
            {"type": "text", "text": "[low] prove that the square root of 2 is irrational"}]}]}),
        )
        .await;
    assert_eq!(headers["x-clawrouter-tier"], "low");
    assert!(!reply(&body).contains("[low]"), "{}", reply(&body));
}

#[tokio::test]
async fn tier_prefix_is_shown_when_switched_on() {
    let s = stack_with(|c| c.show_tier_prefix = true).await;
    let (_, _, body) = s.chat(chat_body("auto", "hi")).await;
    assert!(
        reply(&body).starts_with("[low] Reply from"),
        "{}",
        reply(&body)
    );
    let (_, chunks) = s.chat_stream(chat_body("auto", "hi")).await;
    assert!(streamed_text(&chunks).starts_with("[low] Reply from"));
    let (_, _, body) = s.chat(chat_body("bedrock/claude-haiku-5-5", "hi")).await;
    assert!(
        reply(&body).starts_with("Reply from"),
        "named models get no prefix"
    );
}

#[tokio::test]
async fn throttled_regional_profile_falls_back_to_global() {
    let s = stack().await;
    for stream in [false, true] {
        let mut req = chat_body(
            "bedrock/claude-haiku-5-5",
            "[[double:only=us.]] [[double:throttle]] hi",
        );
        req["stream"] = json!(stream);
        let r = s
            .post("/v1/chat/completions")
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "stream={stream}");
        assert_eq!(r.headers()["x-clawrouter-profile"], HAIKU_GLOBAL);
        assert!(r.text().await.unwrap().contains(HAIKU_GLOBAL));
    }
    let by_model = s.double.stats().by_model;
    assert_eq!(
        by_model[HAIKU_US], 2,
        "the regional profile was tried first"
    );
    assert_eq!(by_model[HAIKU_GLOBAL], 2);
}

#[tokio::test]
async fn a_failing_tier_candidate_hands_over_to_the_next_model() {
    let s = stack().await;
    let text =
        "[[double:only=sonnet-5-5]] [[double:status=500]] write a rust function to parse json";
    let (status, headers, body) = s.chat(chat_body("auto", text)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-clawrouter-tier"], "mid");
    assert_eq!(headers["x-clawrouter-model"], "bedrock/claude-sonnet-4-6");
}

#[tokio::test]
async fn when_every_candidate_is_throttled_the_retry_after_is_passed_on() {
    let s = stack().await;
    let (status, headers, body) = s
        .chat(chat_body(
            "bedrock/claude-haiku-5-5",
            "[[double:throttle]] [[double:retry-after=7]] hi",
        ))
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "7");
}

#[tokio::test]
async fn no_fallback_once_the_stream_has_started() {
    let s = stack().await;
    let (status, chunks) = s
        .chat_stream(chat_body(
            "bedrock/claude-haiku-5-5",
            "[[double:midstream=throttlingException]] go",
        ))
        .await;
    assert_eq!(status, 200);
    assert!(chunks.last().unwrap()["error"].is_object(), "{chunks:?}");
    let by_model = s.double.stats().by_model;
    assert_eq!(by_model.get(HAIKU_US), Some(&1));
    assert_eq!(
        by_model.get(HAIKU_GLOBAL),
        None,
        "a started stream must not switch model"
    );
}

#[tokio::test]
async fn on_demand_errors_carry_the_profile_id_advice() {
    let s = stack().await;
    let (status, _, body) = s
        .chat(chat_body(
            "bedrock/claude-sonnet-4-5",
            "[[double:on-demand]] hi",
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("on-demand throughput"), "{message}");
    assert!(message.contains("ClawRouter:"), "{message}");
}

#[tokio::test]
async fn a_tool_loop_stays_on_the_model_that_made_the_call() {
    let s = stack().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]);
    let (_, headers, body) = s
        .chat(json!({"model": "auto", "tools": tools,
            "messages": [user("[high] [[double:tool=get_weather]] what's the weather")]}))
        .await;
    assert_eq!(headers["x-clawrouter-tier"], "top");
    let call = body["choices"][0]["message"]["tool_calls"][0].clone();
    // The follow-up alone would be a mid-tier turn; the loop keeps it on Opus.
    let (status, headers, body) = s
        .chat(json!({"model": "auto", "tools": tools, "messages": [
            user("what's the weather"),
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-clawrouter-model"], "bedrock/claude-opus-5-5");
}

#[tokio::test]
async fn a_model_failing_repeatedly_is_skipped_until_it_answers_again() {
    let s = stack().await;
    let fail = "[[double:only=haiku]] [[double:status=503]] hi";
    for _ in 0..2 {
        let (status, _, _) = s.chat(chat_body("bedrock/claude-haiku-5-5", fail)).await;
        assert_eq!(status, 503);
    }
    let (_, headers, _) = s.chat(chat_body("auto", "hi")).await;
    assert_ne!(
        headers["x-clawrouter-model"], "bedrock/claude-haiku-5-5",
        "unhealthy model skipped"
    );
    // A named request still reaches it; its success makes it healthy again.
    let (status, _, _) = s.chat(chat_body("bedrock/claude-haiku-5-5", "hi")).await;
    assert_eq!(status, 200);
    let (_, headers, _) = s.chat(chat_body("auto", "hi")).await;
    assert_eq!(headers["x-clawrouter-model"], "bedrock/claude-haiku-5-5");
}

#[tokio::test]
async fn an_end_of_life_model_gets_an_openai_4xx_naming_its_replacement() {
    let s = stack().await;
    let (status, _, body) = s.chat(chat_body("bedrock/claude-sonnet-4", "hi")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "model_end_of_life");
    assert_eq!(body["error"]["param"], "model");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("end of life"), "{message}");
    assert!(message.contains("`bedrock/claude-sonnet-4-6`"), "{message}");
    assert!(
        s.double.stats().by_model.is_empty(),
        "refused before any upstream call"
    );
}

#[tokio::test]
async fn bare_and_shortened_ids_are_answered_or_advised_never_a_generic_404() {
    let s = stack().await;
    // The seed's bare id and its shortened id are served by the model they mean.
    for id in [
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/us.anthropic.claude-sonnet-4-5-v1",
    ] {
        let (status, headers, body) = s.chat(chat_body(id, "hi")).await;
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(headers["x-clawrouter-model"], "bedrock/claude-sonnet-4-5");
        assert_eq!(
            headers["x-clawrouter-profile"],
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
    }
    // A geography without that profile: a 400 naming the ids that exist.
    let (status, _, body) = s
        .chat(chat_body("apac.anthropic.claude-sonnet-4-6", "hi"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_model_id");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`global.anthropic.claude-sonnet-4-6`"),
        "{message}"
    );
}

#[tokio::test]
async fn auto_never_routes_to_a_model_bedrock_denied() {
    const DENIED: &str = "bedrock/claude-haiku-5-5";
    let s = stack().await;
    assert!(s.model_ids().await.iter().any(|id| id == DENIED));
    // The double denies Haiku 5.5 once; the proxy marks it unavailable.
    let (status, _, body) = s
        .chat(chat_body(
            DENIED,
            "[[double:only=haiku-5-5]] [[double:status=403]] hi",
        ))
        .await;
    assert_eq!(status, 403, "{body}");
    // Nor is it offered to clients any more.
    assert!(!s.model_ids().await.iter().any(|id| id == DENIED));
    for _ in 0..3 {
        let (status, headers, body) = s.chat(chat_body("auto", "hi")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["x-clawrouter-tier"], "low");
        assert_eq!(headers["x-clawrouter-model"], "bedrock/claude-haiku-4-5");
    }
    let (status, _, body) = s.chat(chat_body(DENIED, "hi")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "model_access_denied");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("denied access"),
        "{body}"
    );
}
