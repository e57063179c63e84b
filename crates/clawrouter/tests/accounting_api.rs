//! Every model request lands in the ledger, priced from the catalog; budgets
//! stop spending before Bedrock is called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use clawrouter::catalog::{Catalog, TokenUsage};
use clawrouter::ledger::{Ledger, RequestRow};
use clawrouter::money::Usd;
use clawrouter::settings::Budgets;
use common::{chat_body, stack, stack_full};
use serde_json::json;

const HAIKU: &str = "bedrock/claude-haiku-5-5";

fn rows(ledger: &Ledger) -> Vec<RequestRow> {
    ledger.flush().unwrap();
    ledger.recent(1000).unwrap()
}

#[tokio::test]
async fn a_completion_is_recorded_with_its_usage_and_price() {
    let s = stack().await;
    let (status, _, body) = s.chat(chat_body("auto", "hi there")).await;
    assert_eq!(status, 200);
    let rows = rows(&s.ledger);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.route, "/v1/chat/completions");
    assert_eq!(row.requested_model, "auto");
    assert_eq!(row.model, HAIKU);
    assert_eq!(row.tier.map(|t| t.as_str()), Some("low"));
    assert_eq!(row.status, 200);
    // The router's own reason, kept for the dashboard's request rows.
    let reason = row.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("low"), "{reason:?}");
    let usage = &body["usage"];
    assert_eq!(
        row.usage.output,
        usage["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        row.usage.input + row.usage.cache_read + row.usage.cache_write,
        usage["prompt_tokens"].as_u64().unwrap()
    );
    let catalog = Catalog::builtin().unwrap();
    let expected = catalog
        .model(HAIKU)
        .unwrap()
        .cost(&row.profile_id, row.usage);
    assert!(expected > Usd::ZERO);
    assert_eq!(row.cost_usd, Some(expected));
    // Routed to the low tier: what the same tokens cost on the top tier's
    // model is recorded, and is more.
    let top = catalog.top_tier_model().unwrap();
    assert_eq!(row.top_tier_cost_usd, top.cost(&row.profile_id, row.usage));
    assert!(row.saved_by_routing() > Usd::ZERO);
}

#[tokio::test]
async fn streams_failures_and_abandoned_streams_are_recorded() {
    let s = stack().await;
    let mut streamed = chat_body(HAIKU, "stream please");
    streamed["stream_options"] = json!({"include_usage": true});
    let (_, chunks) = s.chat_stream(streamed).await;
    let reported = chunks[chunks.len() - 2]["usage"]["completion_tokens"]
        .as_u64()
        .unwrap();
    let (status, _, _) = s.chat(chat_body(HAIKU, "[[double:throttle]] hi")).await;
    assert_eq!(status, 429);

    // A client that leaves after the first bytes of a slow stream.
    let mut events = s.ledger.subscribe();
    let mut r = s
        .post("/v1/chat/completions")
        .json(&json!({"model": HAIKU, "stream": true, "messages": [common::user("[[double:chunk-delay=50]] [[double:long=200]] go")]}))
        .send()
        .await
        .unwrap();
    assert!(r.chunk().await.unwrap().is_some());
    drop(r);
    tokio::time::timeout(Duration::from_secs(10), async {
        while rows(&s.ledger).len() < 3 {
            events.recv().await.unwrap();
        }
    })
    .await
    .expect("the abandoned stream is accounted");

    let rows = rows(&s.ledger);
    let stream_row = rows.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(stream_row.usage.output, reported);
    let throttled = rows.iter().find(|r| r.status == 429).unwrap();
    assert_eq!(throttled.error_kind.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(throttled.usage, TokenUsage::default());
    let gone = rows.iter().find(|r| r.status == 499).unwrap();
    assert_eq!(gone.error_kind.as_deref(), Some("client_disconnected"));
}

#[tokio::test]
async fn two_hundred_parallel_requests_lose_no_row() {
    let s = stack().await;
    let requests = (0..200).map(|i| s.chat(chat_body(HAIKU, &format!("request {i}"))));
    let results = futures_util::future::join_all(requests).await;
    assert!(results.iter().all(|(status, _, _)| *status == 200));
    let rows = rows(&s.ledger);
    assert_eq!(rows.len(), 200);
    let total: u64 = results
        .iter()
        .map(|(_, _, b)| b["usage"]["completion_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(rows.iter().map(|r| r.usage.output).sum::<u64>(), total);
}

#[tokio::test]
async fn a_spent_budget_refuses_requests_before_any_upstream_call() {
    let budgets = Budgets {
        daily_usd: Some(0.000_001),
        monthly_usd: None,
    };
    let s = stack_full(|_| {}, &budgets).await;
    let (status, _, _) = s.chat(chat_body(HAIKU, "spend a little")).await;
    assert_eq!(status, 200);
    s.ledger.flush().unwrap();
    let calls = s.double.stats().requests;
    let (status, _, body) = s.chat(chat_body(HAIKU, "and more")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "budget_exceeded");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("daily budget") && message.contains("budgets.daily_usd"),
        "{message}"
    );
    assert_eq!(
        s.double.stats().requests,
        calls,
        "no upstream call once the budget is spent"
    );
    // Refused requests reach no ledger row; the dashboard shows their count.
    let (status, _, _) = s.chat(chat_body(HAIKU, "once more")).await;
    assert_eq!(status, 429);
    let counts = s.rejections.counts();
    assert_eq!(
        (counts.budget, counts.unauthorized, counts.guard),
        (2, 0, 0)
    );
    s.ledger.flush().unwrap();
    assert_eq!(
        s.ledger.recent(10).unwrap().len(),
        1,
        "only the answered request"
    );
}

#[tokio::test]
async fn anthropic_messages_are_recorded_too() {
    let s = stack().await;
    for stream in [false, true] {
        let r = s
            .post("/v1/messages")
            .header("anthropic-version", "2023-06-01")
            .json(
                &json!({"model": "claude-haiku-5-5", "max_tokens": 64, "stream": stream,
                "messages": [{"role": "user", "content": "hello"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    let mut events = s.ledger.subscribe();
    tokio::time::timeout(Duration::from_secs(10), async {
        while rows(&s.ledger).len() < 2 {
            events.recv().await.unwrap();
        }
    })
    .await
    .expect("both requests are accounted");
    let rows = rows(&s.ledger);
    assert!(
        rows.iter()
            .all(|r| r.route == "/v1/messages" && r.model == HAIKU && r.status == 200)
    );
    assert!(
        rows.iter()
            .all(|r| r.usage.output > 0 && r.cost_usd > Some(Usd::ZERO))
    );
    assert!(rows.iter().all(|r| r.requested_model == "claude-haiku-5-5"));
    // A named model is served as asked: no routing reason.
    assert!(rows.iter().all(|r| r.reason.is_none()));
}
