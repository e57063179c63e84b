//! One ledger row per model request, and the budget gate in front of every
//! model route. A [`Ticket`] is taken when a request arrives and recorded
//! once its outcome is known — including a stream the client abandoned, so
//! disconnecting just before the usage chunk cannot skip the accounting.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::pipeline::{Attempt, Plan};
use super::{ApiError, AppState, Rejection, auth};
use crate::catalog::TokenUsage;
use crate::ledger::{CLIENT_MAX_CHARS, RequestRow};
use crate::money::Usd;

/// Longest an answer's end waits for its ledger row to be committed.
const COMMIT_WAIT: Duration = Duration::from_secs(2);

/// HTTP status recorded when the client went away mid-stream (nginx's convention).
const CLIENT_CLOSED: u16 = 499;

/// A request's accounting, from arrival to outcome.
pub struct Ticket {
    at_ms: i64,
    started: Instant,
    route: &'static str,
    client: String,
}

/// How a request ended.
pub struct Outcome<'a> {
    /// The candidate that answered, or the one that failed.
    pub attempt: Option<&'a Attempt>,
    pub usage: TokenUsage,
    pub ttft: Option<Duration>,
    pub status: u16,
    pub error_kind: Option<&'a str>,
}

/// What a stream's usage is estimated from if it is cut short.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamEstimate {
    pub input_tokens: u64,
    pub output_chars: usize,
}

/// A whole (non-streamed) answer's outcome, kept until it is recorded.
pub struct Completed {
    /// Index of the answering candidate in the plan.
    pub attempt: usize,
    pub usage: TokenUsage,
    pub latency: Duration,
}

impl Completed {
    pub fn outcome<'p>(&self, plan: &'p Plan) -> Outcome<'p> {
        Outcome {
            attempt: plan.candidates.get(self.attempt),
            usage: self.usage,
            ttft: Some(self.latency),
            status: 200,
            error_kind: None,
        }
    }
}

/// Usage for a stream that ended before Bedrock reported it (the client
/// left, or the upstream failed): what was reported, with a missing input
/// count estimated and output at least what was relayed, at four characters
/// a token. Bedrock bills what it generated even when nobody reads it.
pub fn with_estimates(
    reported: TokenUsage,
    input_estimate: u64,
    output_chars: usize,
) -> TokenUsage {
    TokenUsage {
        input: if reported.input == 0 {
            input_estimate
        } else {
            reported.input
        },
        output: reported
            .output
            .max(u64::try_from(output_chars.div_ceil(4)).unwrap_or(u64::MAX)),
        ..reported
    }
}

impl<'a> Outcome<'a> {
    /// How a stream ended: cut by the client (whatever else happened),
    /// failed upstream, or complete.
    pub fn of_stream(
        attempt: Option<&'a Attempt>,
        usage: TokenUsage,
        estimate: StreamEstimate,
        ttft: Duration,
        failure: Option<&'a ApiError>,
        client_gone: bool,
    ) -> Self {
        // Cut short: Bedrock's usage report may never have come.
        let usage = if failure.is_some() || client_gone {
            with_estimates(usage, estimate.input_tokens, estimate.output_chars)
        } else {
            usage
        };
        let (status, error_kind) = match (failure, client_gone) {
            (_, true) => (CLIENT_CLOSED, Some("client_disconnected")),
            (Some(e), false) => (e.status().as_u16(), Some(e.code())),
            (None, false) => (200, None),
        };
        Outcome {
            attempt,
            usage,
            ttft: Some(ttft),
            status,
            error_kind,
        }
    }
}

impl Ticket {
    pub fn new(route: &'static str, headers: &HeaderMap) -> Self {
        let client = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .chars()
            .take(CLIENT_MAX_CHARS)
            .collect();
        Self {
            at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            started: Instant::now(),
            route,
            client,
        }
    }

    /// Records the outcome and returns once its row survives the process
    /// being killed (see [`crate::ledger::Ledger::record_durably`]), or after
    /// [`COMMIT_WAIT`] if the disk is stuck (the row stays queued). Callers
    /// release the answer's last byte only then, so an answer the client has
    /// whole is in the ledger even if the process is killed right after.
    pub async fn record(
        self,
        state: &AppState,
        plan: &Plan,
        requested_model: &str,
        outcome: Outcome<'_>,
    ) {
        let Some(attempt) = outcome.attempt.or_else(|| plan.candidates.first()) else {
            return;
        };
        let model = &attempt.model;
        let row = RequestRow {
            at_ms: self.at_ms,
            client: self.client,
            route: self.route.to_owned(),
            requested_model: requested_model.to_owned(),
            tier: plan.routed.map(|(_, tier)| tier),
            category: plan.routed.map(|(category, _)| category),
            model: model.name.clone(),
            profile_id: attempt.profile_id.clone(),
            usage: outcome.usage,
            cost_usd: None,
            top_tier_cost_usd: Usd::ZERO,
            cache_saved_usd: Usd::ZERO,
            latency_ms: millis(self.started.elapsed()),
            ttft_ms: outcome.ttft.map(millis),
            status: outcome.status,
            error_kind: outcome.error_kind.map(str::to_owned),
            reason: reason(plan, attempt),
        }
        .priced(model);
        let row = match state.catalog.top_tier_model() {
            Some(top) => row.against_top_tier(top),
            None => row,
        };
        match tokio::time::timeout(COMMIT_WAIT, state.ledger.record_durably(row)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("{e}"),
            Err(_) => tracing::warn!("the ledger is slow to commit; answering without waiting"),
        }
    }

    /// Records a request that failed with `error` before any answer.
    pub async fn failed(
        self,
        state: &AppState,
        plan: &Plan,
        requested_model: &str,
        error: &ApiError,
    ) {
        self.record(
            state,
            plan,
            requested_model,
            Outcome {
                attempt: None,
                usage: TokenUsage::default(),
                ttft: None,
                status: error.status().as_u16(),
                error_kind: Some(error.code()),
            },
        )
        .await;
    }
}

/// Refuses model requests once a daily or monthly budget is spent, before
/// anything is sent upstream.
pub async fn budget_gate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    match state.budget.check(now_ms) {
        Ok(()) => next.run(request).await,
        Err(exceeded) => {
            state.rejections.count(Rejection::Budget);
            ApiError::BudgetExceeded {
                message: exceeded.to_string(),
            }
            .into_response_for(auth::protocol_of(request.uri().path()))
        }
    }
}

/// The router's why, and the fallback when another model than its first
/// choice answered (or failed last).
fn reason(plan: &Plan, attempt: &Attempt) -> Option<String> {
    let why = plan.reason.as_deref()?;
    match plan.candidates.first() {
        Some(first) if first.model.name != attempt.model.name => Some(format!(
            "{why}; {} failed, so {} answered",
            first.model.name, attempt.model.name
        )),
        _ => Some(why.to_owned()),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_fill_only_what_was_not_reported() {
        let reported = TokenUsage {
            input: 0,
            output: 1,
            cache_read: 5,
            cache_write: 0,
            cache_write_1h: 0,
        };
        let usage = with_estimates(reported, 120, 41);
        assert_eq!(
            usage,
            TokenUsage {
                input: 120,
                output: 11,
                cache_read: 5,
                cache_write: 0,
                cache_write_1h: 0
            }
        );
        let complete = TokenUsage {
            input: 30,
            output: 50,
            ..TokenUsage::default()
        };
        assert_eq!(
            with_estimates(complete, 120, 41),
            complete,
            "reported counts win"
        );
    }
}
