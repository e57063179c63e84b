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
use clawrouter::server::{self, AppState, Rejections, RunningProxy, ServerConfig};
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
    /// The proxy's counts of requests refused at the door.
    pub rejections: Arc<Rejections>,
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
    Stack::serving(double, state, ledger).await
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
        rejections: Arc::default(),
        config,
    };
    (state, ledger)
}

impl Stack {
    /// A proxy serving `state` (whose ledger is `ledger`) in front of `double`.
    pub async fn serving(double: RunningDouble, state: AppState, ledger: Ledger) -> Stack {
        let rejections = state.rejections.clone();
        let proxy = server::start(state, 0).await.unwrap();
        Stack {
            url: format!("http://{}", proxy.addr()),
            double,
            proxy,
            http: reqwest::Client::new(),
            ledger,
            rejections,
        }
    }

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

    /// The model ids `GET /v1/models` lists, in order.
    pub async fn model_ids(&self) -> Vec<String> {
        let list: Value = self
            .get("/v1/models")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
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

/// The real `clawrouter serve` as a child process in front of `double`, with
/// its own home folder (settings from `settings_json`) and the key [`KEY`].
/// `wrapper` runs it through another program, e.g. `prlimit --nofile=256:256`.
pub struct ProxyProcess {
    pub child: tokio::process::Child,
    pub url: String,
    pub home: tempfile::TempDir,
}

impl ProxyProcess {
    pub async fn start(double_url: &str, settings_json: &str, wrapper: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        Self::start_in(home, double_url, settings_json, wrapper).await
    }

    /// Like [`ProxyProcess::start`], in an existing home folder (a restart).
    pub async fn start_in(
        home: tempfile::TempDir,
        double_url: &str,
        settings_json: &str,
        wrapper: &[&str],
    ) -> Self {
        use tokio::io::AsyncBufReadExt;
        std::fs::write(home.path().join("settings.json"), settings_json).unwrap();
        let bin = env!("CARGO_BIN_EXE_clawrouter");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = tokio::process::Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => tokio::process::Command::new(bin),
        };
        command
            .args(["serve", "--port", "0"])
            .env("RUST_LOG", "warn")
            .env("CLAWROUTER_HOME", home.path())
            .env("CLAWROUTER_API_KEY", KEY)
            .env("AWS_ACCESS_KEY_ID", bedrock_double::TEST_ACCESS_KEY_ID)
            .env(
                "AWS_SECRET_ACCESS_KEY",
                bedrock_double::TEST_SECRET_ACCESS_KEY,
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", double_url)
            // Discovery asks the double too, never the internet.
            .env("AWS_ENDPOINT_URL_BEDROCK", double_url)
            // No keychain: credentials come from the environment above.
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut first_line))
            .await
            .expect("the proxy did not start within 30 s")
            .unwrap();
        let url = first_line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve did not start: {first_line:?}"))
            .trim()
            .to_owned();
        Self { child, url, home }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// A line of `/proc/PID/status` in kB, e.g. `VmHWM` (peak RSS) or `VmRSS`.
    pub fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// SIGKILL, and wait until it is gone.
    pub async fn kill9(mut self) -> tempfile::TempDir {
        self.child.kill().await.unwrap();
        self.home
    }
}
