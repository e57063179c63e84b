//! Discovery against the bedrock double's control plane, through the real
//! aws-sdk-bedrock client on the same configuration as the runtime client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bedrock_double::DoubleConfig;
use clawrouter::bedrock::sdk_config;
use clawrouter::discovery::{self, Unavailable};
use clawrouter::server::ServerConfig;
use clawrouter::settings::Budgets;
use secrecy::SecretString;
use serde_json::{Value, json};

mod common;

const DENIED: &str = "anthropic.claude-sonnet-5-5";

async fn sdk_for(url: &str, region: &str) -> aws_config::SdkConfig {
    sdk_config(common::double_client_options(url, region)).await
}

#[tokio::test]
async fn discovery_learns_profiles_access_and_lifecycle_from_the_control_plane() {
    let double = bedrock_double::start(DoubleConfig {
        denied_models: vec![DENIED.to_owned()],
        ..DoubleConfig::default()
    })
    .await
    .unwrap();
    let found = discovery::fetch(&sdk_for(&double.url(), "us-east-1").await)
        .await
        .unwrap();
    assert_eq!(found.region, "us-east-1");
    assert!(found.fetched_at.starts_with("20"), "{}", found.fetched_at);
    assert_eq!(found.verdict("us.anthropic.claude-opus-5-5"), None);
    assert_eq!(
        found.verdict("us.anthropic.claude-sonnet-5-5"),
        Some(Unavailable::AccessDenied)
    );
    // Not offered from us-east-1, and gone after its end of life.
    for missing in [
        "jp.anthropic.claude-opus-5-5",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
    ] {
        assert!(
            matches!(
                found.verdict(missing),
                Some(Unavailable::ProfileMissing { .. })
            ),
            "{missing}"
        );
    }
    let stats = double.stats();
    assert_eq!(stats.requests, 0, "discovery makes no model call");
    assert_eq!(stats.control_plane["ListFoundationModels"], 1);
    assert!(stats.control_plane["GetFoundationModelAvailability"] > 1);

    // From Tokyo the jp. profiles are offered.
    let tokyo = discovery::fetch(&sdk_for(&double.url(), "ap-northeast-1").await)
        .await
        .unwrap();
    assert_eq!(tokyo.verdict("jp.anthropic.claude-opus-5-5"), None);
    double.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_control_plane_is_an_error_not_a_hang() {
    // Nothing listens on port 9 (discard) on loopback.
    let err = discovery::fetch(&sdk_for("http://127.0.0.1:9", "us-east-1").await)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("asking Bedrock which models this account can call"),
        "{err}"
    );
}

/// A Claude model Bedrock launched after the catalog was written.
const EXTRA: &str = "anthropic.claude-foo-9-9";
const EXTRA_PROFILE: &str = "us.anthropic.claude-foo-9-9";

#[tokio::test]
async fn a_discovered_profile_is_callable_on_every_route_at_an_unknown_price() {
    let double = bedrock_double::start(DoubleConfig {
        extra_models: vec![EXTRA.to_owned()],
        ..DoubleConfig::default()
    })
    .await
    .unwrap();
    let (state, ledger) = common::app_state(
        &double.url(),
        ServerConfig::new(SecretString::from(common::KEY)),
        &Budgets::default(),
    )
    .await;
    let home = tempfile::tempdir().unwrap();
    let found = discovery::refresh(
        &sdk_for(&double.url(), "us-east-1").await,
        &discovery::cache_path(home.path()),
    )
    .await
    .unwrap();
    assert!(
        found
            .discovered(&state.catalog)
            .iter()
            .any(|d| d.model_id == EXTRA),
        "refresh finds the new model"
    );
    // Before discovery is applied the proxy does not know the id.
    let catalog = state.catalog.clone();
    let availability = state.availability.clone();
    let s = common::Stack::serving(double, state, ledger.clone()).await;
    let (status, _, _) = s.chat(common::chat_body(EXTRA_PROFILE, "hi")).await;
    assert_eq!(status, 404);
    assert!(!s.model_ids().await.contains(&EXTRA_PROFILE.to_owned()));
    found.apply(&catalog, &availability);
    // Model pickers offer it once it is callable.
    assert!(s.model_ids().await.contains(&EXTRA_PROFILE.to_owned()));

    let (status, headers, body) = s.chat(common::chat_body(EXTRA_PROFILE, "hi")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-clawrouter-model"], EXTRA_PROFILE);
    let messages = s
        .post("/v1/messages")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": EXTRA_PROFILE, "max_tokens": 64,
            "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(messages.status(), 200);
    let messages: Value = messages.json().await.unwrap();
    assert_eq!(messages["model"], EXTRA_PROFILE);
    let responses = s
        .post("/v1/responses")
        .json(&json!({"model": EXTRA_PROFILE, "input": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(responses.status(), 200);
    responses.bytes().await.unwrap();
    assert_eq!(s.double.stats().by_model[EXTRA_PROFILE], 3);

    ledger.flush().unwrap();
    let rows: Vec<_> = ledger
        .recent(100)
        .unwrap()
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.model, EXTRA_PROFILE);
        assert_eq!(r.profile_id, EXTRA_PROFILE);
        assert!(r.usage.output > 0);
        assert_eq!(r.cost_usd, None, "its price is unknown, not $0");
        assert_eq!(r.tier, None);
    }
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let summary = ledger.summary(now).unwrap();
    let spend = summary
        .per_model
        .iter()
        .find(|m| m.model == EXTRA_PROFILE)
        .unwrap();
    assert_eq!(spend.spend.unpriced_requests_30d, 3);
    assert_eq!(spend.spend.last_30d_usd, clawrouter::money::Usd::ZERO);

    // `auto` never picks it, whatever the prompt.
    for text in [
        "hi",
        "prove this theorem step by step",
        "write a sorting function",
    ] {
        let (status, headers, _) = s.chat(common::chat_body("auto", text)).await;
        assert_eq!(status, 200);
        assert_ne!(headers["x-clawrouter-model"], EXTRA_PROFILE);
    }
    s.proxy.stop().await;
    s.double.shutdown().await;
}
