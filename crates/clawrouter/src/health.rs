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

use crate::bedrock::{BedrockClient, ConverseRequest, UpstreamError};
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
}

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

/// What the dashboard, `/health` and `clawrouter check` show for one profile id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelHealth {
    pub profile_id: String,
    pub status: Status,
    pub last_error: Option<String>,
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
    last_success: Option<SystemTime>,
    latencies_ms: VecDeque<u64>,
    successes: u64,
    failures: u64,
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
        }
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
        if matches!(error, UpstreamError::Validation { .. }) {
            return;
        }
        self.with(profile_id, |r| {
            r.consecutive_failures += 1;
            r.failures += 1;
            r.last_failure = Some(Instant::now());
            r.last_error = Some(error.to_string());
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
                    last_success: None,
                    p50_ms: None,
                    p95_ms: None,
                    successes: 0,
                    failures: 0,
                };
            };
            let mut sorted: Vec<u64> = r.latencies_ms.iter().copied().collect();
            sorted.sort_unstable();
            ModelHealth {
                profile_id: profile_id.to_owned(),
                status: if r.consecutive_failures > 0 {
                    Status::Unhealthy
                } else if r.successes > 0 {
                    Status::Healthy
                } else {
                    Status::Unknown
                },
                last_error: r.last_error.clone(),
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
        f(models.entry(profile_id.to_owned()).or_default());
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
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
    }
}
