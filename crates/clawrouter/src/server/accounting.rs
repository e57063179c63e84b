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

use super::dispatch::{Attempt, Plan};
use super::{ApiError, AppState, auth};
use crate::catalog::TokenUsage;
use crate::ledger::{CLIENT_MAX_CHARS, RequestRow};

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

impl<'a> Outcome<'a> {
    /// How a stream ended: cut by the client (whatever else happened),
    /// failed upstream, or complete.
    pub fn of_stream(
        attempt: Option<&'a Attempt>,
        usage: TokenUsage,
        ttft: Duration,
        failure: Option<&'a ApiError>,
        client_gone: bool,
    ) -> Self {
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

    pub fn record(
        self,
        state: &AppState,
        plan: &Plan,
        requested_model: &str,
        outcome: Outcome<'_>,
    ) {
        let attempt = outcome.attempt.or_else(|| plan.candidates.first());
        let Some(model) = attempt.and_then(|a| state.catalog.models().get(a.model)) else {
            return;
        };
        let row = RequestRow {
            at_ms: self.at_ms,
            client: self.client,
            route: self.route.to_owned(),
            requested_model: requested_model.to_owned(),
            tier: plan.routed.map(|(_, tier)| tier),
            category: plan.routed.map(|(category, _)| category),
            model: model.name.clone(),
            profile_id: attempt.map_or_else(|| model.profile_id.clone(), |a| a.profile_id.clone()),
            usage: outcome.usage,
            cost_usd: 0.0,
            latency_ms: millis(self.started.elapsed()),
            ttft_ms: outcome.ttft.map(millis),
            status: outcome.status,
            error_kind: outcome.error_kind.map(str::to_owned),
        }
        .priced(model);
        state.ledger.record(row);
    }

    /// Records a request that failed with `error` before any answer.
    pub fn failed(self, state: &AppState, plan: &Plan, requested_model: &str, error: &ApiError) {
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
        );
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
        Err(exceeded) => ApiError::BudgetExceeded {
            message: exceeded.to_string(),
        }
        .into_response_for(auth::protocol_of(request.uri().path())),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
