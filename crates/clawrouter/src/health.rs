//! Model health from two sources: the outcomes of real traffic (passive),
//! and a probe that costs nothing (Bedrock's CountTokens is free), run when
//! `/health` or `clawrouter check` asks.
//!
//! A model is *unhealthy* while its latest outcome is an upstream failure.
//! The router stops choosing it after two failures in a row, for a cool-down,
//! so one throttled request does not push all traffic elsewhere, and a sick
//! model gets traffic again (and can recover) once the cool-down is over.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::bedrock::{BedrockClient, ConverseRequest, DATA_RETENTION_ADVICE, UpstreamError};
use crate::catalog::{Model, TokenUsage};
use crate::money::Usd;

/// How long a model that failed repeatedly is skipped by the router.
pub const COOL_DOWN: Duration = Duration::from_secs(30);
const FAILURES_BEFORE_COOL_DOWN: u32 = 2;
const LATENCY_SAMPLES: usize = 200;

#[derive(Debug)]
pub struct Health {
    models: Mutex<HashMap<String, Record>>,
    cool_down: Duration,
    changes: broadcast::Sender<HealthChange>,
}

/// A model's health turned: it answered after failing (or for the first
/// time), or it failed, or failed in a new way. Sent to [`Health::subscribe`]rs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthChange {
    pub profile_id: String,
    pub status: Status,
    pub problem: Option<Problem>,
}

/// Changes a slow subscriber may fall behind by before it is told it missed some.
const CHANGE_CAPACITY: usize = 64;

impl Default for Health {
    fn default() -> Self {
        Self::with_cool_down(COOL_DOWN)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Unhealthy,
    Unknown,
}

/// What kind of failure a model's last error was, so the dashboard,
/// `/health` and `clawrouter check` can say what to do without parsing
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// No AWS credentials could be loaded.
    NoCredentials,
    /// AWS refused the credentials (wrong, expired).
    CredentialsRejected,
    /// The credentials work but may not call this model.
    AccessDenied,
    Throttled,
    /// Bedrock could not be reached (network, proxy, endpoint).
    Network,
    /// Bedrock retired this model version, or keeps it only for accounts
    /// that used it recently.
    ModelRetired,
    /// Bedrock does not offer this model id here (region, account).
    NotFound,
    /// The account's data retention mode is not one the model serves under
    /// (Claude Fable's opt-in).
    DataRetention,
    Timeout,
    Unavailable,
    ModelError,
}

impl Problem {
    pub fn of(error: &UpstreamError) -> Option<Problem> {
        Some(match error {
            // A request's own mistake says nothing of the model, except
            // this refusal, which every request to it gets.
            UpstreamError::Validation { .. } if error.refuses_data_retention() => {
                Problem::DataRetention
            }
            UpstreamError::Validation { .. } => return None,
            UpstreamError::Credentials {
                rejected: false, ..
            } => Problem::NoCredentials,
            UpstreamError::Credentials { rejected: true, .. } => Problem::CredentialsRejected,
            UpstreamError::AccessDenied { .. } => Problem::AccessDenied,
            UpstreamError::Throttled { .. } => Problem::Throttled,
            UpstreamError::Connect { .. } => Problem::Network,
            // Bedrock answers ResourceNotFoundException with "This model
            // version has reached the end of its life" for retired models,
            // and "Access denied. This Model is marked by provider as Legacy
            // and you have not been actively using the model in the last 15
            // days" for legacy ones (aws-samples/amazon-bedrock-workshop#386,
            // 0xPlaygrounds/rig#2309).
            UpstreamError::NotFound { message }
                if message.contains("end of its life") || message.contains("as Legacy") =>
            {
                Problem::ModelRetired
            }
            UpstreamError::NotFound { .. } => Problem::NotFound,
            UpstreamError::Timeout { .. } => Problem::Timeout,
            UpstreamError::Unavailable { .. } => Problem::Unavailable,
            UpstreamError::ModelError { .. } => Problem::ModelError,
        })
    }

    /// What happened and what to do, in one sentence.
    pub fn advice(self) -> &'static str {
        match self {
            Problem::NoCredentials => {
                "No AWS credentials: save keys in Settings (or `clawrouter keys set`) or run                  `aws configure`; `clawrouter check` shows where ClawRouter looked."
            }
            Problem::CredentialsRejected => {
                "AWS did not accept the credentials (wrong or expired): save new keys, or                  `aws sso login` again."
            }
            Problem::AccessDenied => {
                "AWS refused access: the IAM policy must allow bedrock:InvokeModel on this                  model, and the model must be enabled in the Bedrock console."
            }
            Problem::Throttled => {
                "Bedrock is throttling (requests or tokens per minute); `auto` tries the next                  model of the tier meanwhile."
            }
            Problem::Network => {
                "Cannot reach Bedrock: check the network, a proxy, or                  AWS_ENDPOINT_URL_BEDROCK_RUNTIME."
            }
            Problem::ModelRetired => {
                "Bedrock has retired this model version: choose a newer one in models.yaml."
            }
            Problem::NotFound => {
                "Bedrock does not offer this model id here: check the region and the profile id."
            }
            Problem::DataRetention => DATA_RETENTION_ADVICE,
            Problem::Timeout => "Bedrock did not answer in time.",
            Problem::Unavailable => "Bedrock had a server error; this usually passes.",
            Problem::ModelError => "The model failed on a request.",
        }
    }
}

/// What the dashboard, `/health` and `clawrouter check` show for one profile id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelHealth {
    pub profile_id: String,
    pub status: Status,
    pub last_error: Option<String>,
    /// The kind of the last error, while the model is unhealthy.
    pub problem: Option<Problem>,
    /// [`Problem::advice`] for it.
    pub advice: Option<&'static str>,
    /// Unix seconds.
    pub last_success: Option<u64>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub successes: u64,
    pub failures: u64,
}

#[derive(Debug, Default)]
struct Record {
    consecutive_failures: u32,
    last_failure: Option<Instant>,
    last_error: Option<String>,
    last_problem: Option<Problem>,
    last_success: Option<SystemTime>,
    latencies_ms: VecDeque<u64>,
    successes: u64,
    failures: u64,
}

impl Record {
    /// The status, and the kind of the last error while unhealthy.
    fn verdict(&self) -> (Status, Option<Problem>) {
        if self.consecutive_failures > 0 {
            (Status::Unhealthy, self.last_problem)
        } else if self.successes > 0 {
            (Status::Healthy, None)
        } else {
            (Status::Unknown, None)
        }
    }
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker whose failing models are skipped for `cool_down`.
    pub fn with_cool_down(cool_down: Duration) -> Self {
        Self {
            models: Mutex::default(),
            cool_down,
            changes: broadcast::channel(CHANGE_CAPACITY).0,
        }
    }

    /// Every [`HealthChange`] from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HealthChange> {
        self.changes.subscribe()
    }

    pub fn record_success(&self, profile_id: &str, latency: Duration) {
        self.with(profile_id, |r| {
            r.consecutive_failures = 0;
            r.last_success = Some(SystemTime::now());
            r.successes += 1;
            if r.latencies_ms.len() == LATENCY_SAMPLES {
                r.latencies_ms.pop_front();
            }
            r.latencies_ms
                .push_back(u64::try_from(latency.as_millis()).unwrap_or(u64::MAX));
        });
    }

    /// Records an upstream failure. Mistakes of the request itself
    /// (validation) say nothing about the model and are not counted.
    pub fn record_failure(&self, profile_id: &str, error: &UpstreamError) {
        let Some(problem) = Problem::of(error) else {
            return;
        };
        self.with(profile_id, |r| {
            r.consecutive_failures += 1;
            r.failures += 1;
            r.last_failure = Some(Instant::now());
            r.last_error = Some(error.to_string());
            r.last_problem = Some(problem);
        });
    }

    /// Whether the router may choose this profile now.
    pub fn is_usable(&self, profile_id: &str) -> bool {
        self.read(profile_id, |r| {
            r.is_none_or(|r| {
                r.consecutive_failures < FAILURES_BEFORE_COOL_DOWN
                    || r.last_failure.is_none_or(|t| t.elapsed() >= self.cool_down)
            })
        })
    }

    pub fn status(&self, profile_id: &str) -> ModelHealth {
        self.read(profile_id, |r| {
            let Some(r) = r else {
                return ModelHealth {
                    profile_id: profile_id.to_owned(),
                    status: Status::Unknown,
                    last_error: None,
                    problem: None,
                    advice: None,
                    last_success: None,
                    p50_ms: None,
                    p95_ms: None,
                    successes: 0,
                    failures: 0,
                };
            };
            let mut sorted: Vec<u64> = r.latencies_ms.iter().copied().collect();
            sorted.sort_unstable();
            let (status, problem) = r.verdict();
            ModelHealth {
                profile_id: profile_id.to_owned(),
                status,
                last_error: r.last_error.clone(),
                problem,
                advice: problem.map(Problem::advice),
                last_success: r
                    .last_success
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()),
                p50_ms: percentile(&sorted, 50),
                p95_ms: percentile(&sorted, 95),
                successes: r.successes,
                failures: r.failures,
            }
        })
    }

    /// Probes a model for free (CountTokens) and records the outcome.
    pub async fn probe(&self, bedrock: &BedrockClient, profile_id: &str) -> ModelHealth {
        const BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"ping"}]}"#;
        let started = Instant::now();
        match bedrock
            .count_tokens(profile_id, Bytes::from_static(BODY.as_bytes()))
            .await
        {
            Ok(_) => self.record_success(profile_id, started.elapsed()),
            Err(e) => self.record_failure(profile_id, &e),
        }
        self.status(profile_id)
    }

    /// A real, minimal request (one output token) to prove the model answers,
    /// for when the free probe cannot tell. It costs money: callers ask for it
    /// explicitly and show [`paid_probe_estimate_usd`] first. Returns the
    /// health and what the probe cost.
    pub async fn paid_probe(&self, bedrock: &BedrockClient, model: &Model) -> (ModelHealth, Usd) {
        let started = Instant::now();
        let cost = match bedrock
            .converse(paid_probe_request(&model.profile_id))
            .await
        {
            Ok(out) => {
                self.record_success(&model.profile_id, started.elapsed());
                let usage = out
                    .usage()
                    .map(crate::openai::token_usage)
                    .unwrap_or_default();
                model.cost(&model.profile_id, usage)
            }
            Err(e) => {
                self.record_failure(&model.profile_id, &e);
                Usd::ZERO
            }
        };
        (self.status(&model.profile_id), cost)
    }

    fn with(&self, profile_id: &str, f: impl FnOnce(&mut Record)) {
        let mut models = self.models.lock().unwrap_or_else(|p| p.into_inner());
        let record = models.entry(profile_id.to_owned()).or_default();
        let before = record.verdict();
        f(record);
        let (status, problem) = record.verdict();
        if (status, problem) != before {
            // No subscriber (the CLI, `check`) is not an error.
            let _ = self.changes.send(HealthChange {
                profile_id: profile_id.to_owned(),
                status,
                problem,
            });
        }
    }

    fn read<T>(&self, profile_id: &str, f: impl FnOnce(Option<&Record>) -> T) -> T {
        let models = self.models.lock().unwrap_or_else(|p| p.into_inner());
        f(models.get(profile_id))
    }
}

/// What [`Health::paid_probe`] is expected to cost on `model`: a one-word
/// prompt (about 10 input tokens with the message framing) and one output token.
pub fn paid_probe_estimate_usd(model: &Model) -> Usd {
    model.cost(
        &model.profile_id,
        TokenUsage {
            input: 10,
            output: 1,
            ..TokenUsage::default()
        },
    )
}

fn paid_probe_request(profile_id: &str) -> ConverseRequest {
    use aws_sdk_bedrockruntime::types::{
        ContentBlock, ConversationRole, InferenceConfiguration, Message,
    };
    ConverseRequest {
        model_id: profile_id.to_owned(),
        messages: Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text("ping".to_owned()))
            .build()
            .into_iter()
            .collect(),
        inference: Some(InferenceConfiguration::builder().max_tokens(1).build()),
        ..ConverseRequest::default()
    }
}

fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1) - 1;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled() -> UpstreamError {
        UpstreamError::Throttled {
            message: "slow down".into(),
            retry_after: None,
        }
    }

    #[test]
    fn unknown_until_traffic_then_healthy() {
        let h = Health::new();
        assert_eq!(h.status("m").status, Status::Unknown);
        h.record_success("m", Duration::from_millis(10));
        let s = h.status("m");
        assert_eq!(s.status, Status::Healthy);
        assert_eq!(s.p50_ms, Some(10));
    }

    #[test]
    fn two_failures_make_it_unusable_and_a_success_recovers() {
        let h = Health::new();
        h.record_failure("m", &throttled());
        assert!(h.is_usable("m"), "one failure must not take a model out");
        assert_eq!(h.status("m").status, Status::Unhealthy);
        h.record_failure("m", &throttled());
        assert!(!h.is_usable("m"));
        h.record_success("m", Duration::from_millis(5));
        assert!(h.is_usable("m"));
        assert_eq!(h.status("m").status, Status::Healthy);
    }

    #[test]
    fn validation_errors_do_not_count() {
        let h = Health::new();
        for _ in 0..3 {
            h.record_failure(
                "m",
                &UpstreamError::Validation {
                    message: "bad".into(),
                },
            );
        }
        assert!(h.is_usable("m"));
        assert_eq!(h.status("m").status, Status::Unknown);
    }

    #[test]
    fn paid_probe_is_one_message_capped_at_one_token() {
        let req = paid_probe_request("us.anthropic.claude-haiku-4-5-20251001-v1:0");
        assert_eq!(req.messages.len(), 1);
        assert_eq!(req.inference.and_then(|i| i.max_tokens()), Some(1));
        let catalog = crate::catalog::Catalog::builtin().unwrap();
        let haiku = catalog.model("bedrock/claude-haiku-4-5").unwrap();
        // 10 input + 1 output tokens at $1.10/$5.50 per million (us. profile):
        // (11 + 5.5) / 1e6 = $0.0000165, exactly.
        assert_eq!(
            paid_probe_estimate_usd(haiku),
            Usd::from_picodollars(16_500_000)
        );
    }

    #[test]
    fn problems_tell_the_causes_apart() {
        let of = |e: UpstreamError| Problem::of(&e);
        let message = |m: &str| m.to_owned();
        assert_eq!(
            of(UpstreamError::Credentials {
                message: message("none"),
                rejected: false
            }),
            Some(Problem::NoCredentials)
        );
        assert_eq!(
            of(UpstreamError::Credentials {
                message: message("ExpiredTokenException"),
                rejected: true
            }),
            Some(Problem::CredentialsRejected)
        );
        assert_eq!(
            of(UpstreamError::AccessDenied {
                message: message("not authorized")
            }),
            Some(Problem::AccessDenied)
        );
        assert_eq!(of(throttled()), Some(Problem::Throttled));
        assert_eq!(
            of(UpstreamError::Connect {
                message: message("dns error")
            }),
            Some(Problem::Network)
        );
        assert_eq!(
            of(UpstreamError::NotFound {
                message: message(
                    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
                )
            }),
            Some(Problem::ModelRetired)
        );
        assert_eq!(
            of(UpstreamError::NotFound {
                message: message("Model not found")
            }),
            Some(Problem::NotFound)
        );
        assert_eq!(
            of(UpstreamError::Validation {
                message: message("bad")
            }),
            None
        );
    }

    #[test]
    fn unhealthy_models_carry_their_problem_until_they_recover() {
        let h = Health::new();
        h.record_failure(
            "m",
            &UpstreamError::Credentials {
                message: "none".into(),
                rejected: false,
            },
        );
        let s = h.status("m");
        assert_eq!(s.problem, Some(Problem::NoCredentials));
        assert!(s.advice.unwrap().contains("save keys"));
        h.record_success("m", Duration::from_millis(3));
        assert_eq!(h.status("m").problem, None);
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
    }
}
