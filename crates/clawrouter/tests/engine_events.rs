//! The engine façade as a host uses it: an engine built from a home folder,
//! settings and a secret store, its proxy started, real requests through it
//! to the Bedrock double, what the engine pushes to the host, and that the
//! proxy routes with the lineup the engine shows.
//!
//! The engine reaches Bedrock where the AWS SDK's own variables say
//! (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`), which a test cannot set in its own
//! process (no unsafe code), so the test runs itself again as a child
//! process with them set, aimed at a double the parent started.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use bedrock_double::{DoubleConfig, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use clawrouter::catalog::Geography;
use clawrouter::credentials::{self, AwsKeys, MemoryStore, SecretStore};
use clawrouter::engine::{Engine, EngineEvent, ProxyStatus};
use clawrouter::health::Status;
use clawrouter::ledger::LedgerEvent;
use clawrouter::router::RouteInput;
use clawrouter::settings::{Home, Settings};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// Set in the child run: the double's URL.
const DOUBLE_URL_ENV: &str = "CLAWROUTER_TEST_ENGINE_DOUBLE_URL";
const TEST_NAME: &str = "a_request_pushes_a_ledger_row_and_a_health_change";
const SONNET: &str = "bedrock/claude-sonnet-4-5";

#[tokio::test(flavor = "multi_thread")]
async fn a_request_pushes_a_ledger_row_and_a_health_change() {
    match std::env::var(DOUBLE_URL_ENV) {
        Ok(_) => through_the_engine().await,
        Err(_) => run_as_child().await,
    }
}

/// Parent: a double, and this test again in a child aimed at it.
async fn run_as_child() {
    let double = bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap();
    let url = double.url();
    let child = tokio::task::spawn_blocking(move || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([TEST_NAME, "--exact", "--nocapture"])
            .env(DOUBLE_URL_ENV, &url)
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &url)
            .env("AWS_ENDPOINT_URL_BEDROCK", &url)
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "the engine test failed:\n{out}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    // The child really ran the test (a filter matching nothing also succeeds).
    assert!(out.contains("1 passed"), "{out}");
}

/// Child: the engine as the desktop shell holds it.
async fn through_the_engine() {
    let home = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
    credentials::save_aws_keys(
        store.as_ref(),
        &AwsKeys {
            access_key_id: TEST_ACCESS_KEY_ID.to_owned(),
            secret_access_key: SecretString::from(TEST_SECRET_ACCESS_KEY),
            session_token: None,
        },
    )
    .unwrap();
    let settings = Settings {
        region: Some("us-east-1".into()),
        ..Settings::default()
    };
    let engine = Engine::new(Home::at(home.path()), settings, store.clone()).unwrap();
    let mut events = engine.events();
    let ProxyStatus::Running { port, .. } = engine.start_proxy_on(0).await else {
        panic!("the proxy did not start: {:?}", engine.status());
    };
    let (key, _) = credentials::client_api_key(store.as_ref()).unwrap();

    let reply = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", engine.endpoint()))
        .bearer_auth(key.expose_secret())
        .json(&json!({"model": SONNET, "messages": [{"role": "user", "content": "Say hi."}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
    assert!(engine.endpoint().ends_with(&format!(":{port}")));

    // Both arrive, in whatever order; nothing else is needed to see them.
    let profile_id = engine
        .lineup()
        .catalog
        .models()
        .iter()
        .find(|m| m.name == SONNET)
        .unwrap()
        .profile_id
        .clone();
    let (mut row_seen, mut health_seen) = (false, false);
    while !(row_seen && health_seen) {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("the engine pushed no event within 30 s")
            .expect("the engine's event sources closed");
        match event {
            EngineEvent::Usage(LedgerEvent::Changed) => row_seen = true,
            EngineEvent::Health(change) => {
                assert_eq!(change.profile_id, profile_id);
                assert_eq!(change.status, Status::Healthy);
                assert_eq!(change.problem, None);
                health_seen = true;
            }
            // Discovery may tell availability changes meanwhile.
            _ => {}
        }
    }
    // The row the event announced is in the ledger the host reads.
    let ledger = engine.ledger.clone().unwrap();
    let recent = tokio::task::spawn_blocking(move || ledger.recent(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].model, SONNET);
    assert_eq!(recent[0].status, 200);

    the_proxy_routes_with_the_engines_lineup(&engine, key.expose_secret()).await;
    engine.stop_proxy().await;
}

/// The proxy routes with the engine's own router and catalog, the ones a
/// host shows and `clawrouter route` explains, and takes new settings on a
/// restart.
async fn the_proxy_routes_with_the_engines_lineup(engine: &Engine, key: &str) {
    let post = |body: serde_json::Value| async move {
        let reply = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", engine.endpoint()))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let header = |name| reply.headers()[name].to_str().unwrap().to_owned();
        let (model, profile) = (header("x-clawrouter-model"), header("x-clawrouter-profile"));
        (
            model,
            profile,
            reply.json::<serde_json::Value>().await.unwrap(),
        )
    };

    // A tool call answered on `auto` is remembered by the engine's router:
    // the turn carrying its result goes back to the model that made it.
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]);
    let (model, _, body) = post(json!({"model": "auto", "tools": tools, "messages": [
        {"role": "user", "content": "[[double:tool=get_weather]] weather in Paris?"}]}))
    .await;
    let call_id = body["choices"][0]["message"]["tool_calls"][0]["id"]
        .as_str()
        .unwrap();
    let lineup = engine.lineup();
    let result_turn = RouteInput {
        tool_use_ids: vec![call_id],
        tool_results_in_flight: true,
        has_tools: true,
        ..RouteInput::from_text("")
    };
    let decision = lineup
        .router
        .decide(&lineup.catalog, &result_turn, &engine.availability())
        .unwrap();
    assert_eq!(decision.model, model);
    assert!(
        decision.why.starts_with("continuing a tool loop"),
        "{}",
        decision.why
    );

    // New settings take effect on the running proxy once it restarts.
    let profile_of = |engine: &Engine| {
        let lineup = engine.lineup();
        lineup.catalog.model(SONNET).unwrap().profile_id.clone()
    };
    let before = profile_of(engine);
    let named = json!({"model": SONNET, "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(post(named.clone()).await.1, before);
    let mut settings = engine.settings();
    settings.geography = Some(Geography::Global);
    engine.save_settings(settings).unwrap();
    assert!(
        engine.restart_if_running().await.1,
        "the proxy was not restarted"
    );
    let after = profile_of(engine);
    assert_ne!(after, before);
    assert!(after.starts_with("global."), "{after}");
    assert_eq!(post(named).await.1, after);
}
