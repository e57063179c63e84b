//! A proxy and a bedrock double on free loopback ports, driven over real HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use bedrock_double::{DoubleConfig, RunningDouble};
use clawrouter::bedrock::{BedrockClient, ClientOptions};
use clawrouter::catalog::{Catalog, ModelAvailability};
use clawrouter::health::Health;
use clawrouter::ledger::{BudgetGuard, Ledger};
use clawrouter::router::Router;
use clawrouter::server::{self, AppState, RunningProxy, ServerConfig};
use clawrouter::settings::Budgets;
use secrecy::SecretString;
use serde_json::{Value, json};

pub const KEY: &str = "sk-test-0123456789abcdef";

pub struct Stack {
    pub double: RunningDouble,
    pub proxy: RunningProxy,
    pub url: String,
    pub http: reqwest::Client,
    pub ledger: Ledger,
}

pub async fn stack() -> Stack {
    stack_with(|_| {}).await
}

/// Starts a double and a proxy in front of it; `tune` adjusts the server config.
pub async fn stack_with(tune: impl FnOnce(&mut ServerConfig)) -> Stack {
    stack_full(tune, &Budgets::default()).await
}

/// Like [`stack_with`], with budgets.
pub async fn stack_full(tune: impl FnOnce(&mut ServerConfig), budgets: &Budgets) -> Stack {
    let double = bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap();
    let mut config = ServerConfig::new(SecretString::from(KEY));
    tune(&mut config);
    let (state, ledger) = app_state(&double.url(), config, budgets).await;
    let proxy = server::start(state, 0).await.unwrap();
    let url = format!("http://{}", proxy.addr());
    Stack {
        double,
        proxy,
        url,
        http: reqwest::Client::new(),
        ledger,
    }
}

/// AWS client options aimed at a double, with its default keys.
pub fn double_client_options(double_url: &str, region: &str) -> ClientOptions {
    ClientOptions {
        region: Some(region.to_owned()),
        credentials: Some(SharedCredentialsProvider::new(Credentials::new(
            bedrock_double::TEST_ACCESS_KEY_ID,
            bedrock_double::TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))),
        endpoint_url: Some(double_url.to_owned()),
        connect_timeout: Duration::from_secs(2),
    }
}

/// The built-in catalog served through a Bedrock client aimed at
/// `double_url` (with the double's default keys), and an in-memory ledger.
pub async fn app_state(
    double_url: &str,
    config: ServerConfig,
    budgets: &Budgets,
) -> (AppState, Ledger) {
    let catalog = Catalog::builtin().unwrap();
    let bedrock = BedrockClient::new(double_client_options(double_url, "us-east-1")).await;
    let ledger = Ledger::open_in_memory().unwrap();
    let state = AppState {
        budget: BudgetGuard::new(budgets, ledger.clone()),
        ledger: ledger.clone(),
        router: Arc::new(Router::new(&catalog).unwrap()),
        availability: ModelAvailability::from_catalog(&catalog),
        catalog: Arc::new(catalog),
        bedrock,
        health: Arc::new(Health::new()),
        config,
    };
    (state, ledger)
}

impl Stack {
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(KEY)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(KEY)
    }

    /// A chat completion request; returns status, headers and JSON body.
    pub async fn chat(&self, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = self
            .post("/v1/chat/completions")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// A streamed chat completion: the `data:` payloads in order (`[DONE]` kept as a string).
    pub async fn chat_stream(&self, mut body: Value) -> (u16, Vec<Value>) {
        body["stream"] = json!(true);
        let r = self
            .post("/v1/chat/completions")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, sse_data(&text))
    }
}

/// The `data:` payloads of an SSE body, parsed as JSON (`[DONE]` as a string).
pub fn sse_data(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_owned())))
        .collect()
}

pub fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

pub fn chat_body(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [user(text)]})
}

/// The concatenated `delta.content` of stream chunks.
pub fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}
