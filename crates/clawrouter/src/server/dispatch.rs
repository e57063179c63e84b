//! What every model route does between parsing and translating: read the
//! JSON body, decide which models may answer (the named one, or the router's
//! candidates for `auto`), and call them in order until one answers —
//! falling back only on upstream faults, and only before any byte of the
//! answer has gone to the client (callers commit the response after this).

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::adjust::{self, Adjustments};
use crate::bedrock::UpstreamError;
use crate::catalog::{Category, Model, NameError, Tier};
use crate::router::{Availability, RouteInput};

/// The models that may answer one request, best first.
#[derive(Debug, Clone)]
pub struct Plan {
    pub candidates: Vec<Attempt>,
    /// Set when the router chose (model `auto`).
    pub routed: Option<(Category, Tier)>,
    /// The name the client asked for, when the catalog serves it with another
    /// model (an unknown newer name of a family).
    pub substituted_for: Option<String>,
}

/// One model to try: its catalog index and the profile id to call it on.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub model: usize,
    pub profile_id: String,
}

/// The attempt that answered (and its index in the plan), with how long it took.
pub struct Answer<'p, T> {
    pub value: T,
    pub attempt: &'p Attempt,
    pub index: usize,
    pub latency: Duration,
}

/// Parses a JSON request body, refusing other content types (a browser can
/// send `text/plain` cross-site without a preflight; JSON forces one).
pub fn parse_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::bad_request(format!("cannot read the request body: {rejection}"))
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("request body is not valid for this route: {e}"))
    })
}

/// The plan for a named model (any spelling [`crate::catalog::Catalog::resolve`]
/// takes): the model on the profile named or its own, then its `global.`
/// profile (another capacity pool) when Bedrock offers one. A model that is
/// unavailable is refused here, saying why and what to use instead.
pub fn plan_named(state: &AppState, requested: &str) -> Result<Plan, ApiError> {
    let catalog = &state.catalog;
    let resolved = catalog.resolve(requested).map_err(|e| match e {
        NameError::Unknown => ApiError::ModelNotFound {
            requested: requested.to_owned(),
            available: std::iter::once("auto".to_owned())
                .chain(catalog.models().iter().map(|m| m.name.clone()))
                .collect(),
        },
        NameError::UseInstead(advice) => ApiError::BadRequest {
            message: format!("model: {advice}"),
            param: Some("model".to_owned()),
            code: "invalid_model_id",
        },
    })?;
    let model = resolved.model;
    if let Some(why) = state.availability.reason(&model.name) {
        return Err(ApiError::ModelUnavailable {
            requested: requested.to_owned(),
            why,
        });
    }
    let mut candidates = vec![Attempt {
        model: resolved.index,
        profile_id: resolved.profile_id.clone(),
    }];
    if resolved.profile_id == model.profile_id
        && let Some(global) = model.global_profile_id()
    {
        candidates.push(Attempt {
            model: resolved.index,
            profile_id: global,
        });
    }
    Ok(Plan {
        candidates,
        routed: None,
        substituted_for: resolved.substituted.then(|| requested.trim().to_owned()),
    })
}

/// The plan for `auto`: the router's decision and its ordered candidates.
pub fn plan_routed(state: &AppState, input: &RouteInput) -> Result<Plan, ApiError> {
    let decision = state
        .router
        .decide(&state.catalog, input, &HealthAvailability(state))
        .map_err(|e| ApiError::NoCandidate(e.to_string()))?;
    let models = state.catalog.models();
    let candidates = decision
        .candidates
        .iter()
        .filter_map(|c| {
            models
                .iter()
                .position(|m| m.name == c.model)
                .map(|model| Attempt {
                    model,
                    profile_id: c.profile_id.clone(),
                })
        })
        .collect();
    tracing::debug!(category = %decision.category, tier = %decision.tier, why = %decision.why, "routed");
    Ok(Plan {
        candidates,
        routed: Some((decision.category, decision.tier)),
        substituted_for: None,
    })
}

/// Calls the plan's candidates in order; the first success wins. A failure
/// that another model could avoid (throttling, 5xx, timeouts) moves on to
/// the next candidate; any other failure is the answer.
pub async fn first_success<'p, T, F, Fut>(
    state: &AppState,
    plan: &'p Plan,
    mut call: F,
) -> Result<Answer<'p, T>, ApiError>
where
    F: FnMut(&'p Attempt, &Model) -> Result<Fut, ApiError>,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut last_error = None;
    for (index, attempt) in plan.candidates.iter().enumerate() {
        let Some(model) = state.catalog.models().get(attempt.model) else {
            continue;
        };
        let started = Instant::now();
        let result = tokio::time::timeout(state.config.upstream_timeout, call(attempt, model)?)
            .await
            .unwrap_or_else(|_| {
                Err(UpstreamError::Timeout {
                    message: format!("no answer within {:?}", state.config.upstream_timeout),
                })
            });
        match result {
            Ok(value) => {
                let latency = started.elapsed();
                state.health.record_success(&attempt.profile_id, latency);
                return Ok(Answer {
                    value,
                    attempt,
                    index,
                    latency,
                });
            }
            Err(e) => {
                state.health.record_failure(&attempt.profile_id, &e);
                if let UpstreamError::AccessDenied { message } = &e {
                    // `auto` stops routing to it; naming it says why.
                    state.availability.mark_access_denied(&model.name, message);
                }
                if !e.is_retryable_elsewhere() {
                    return Err(e.into());
                }
                tracing::warn!(profile_id = %attempt.profile_id, error = %e, "falling back to the next candidate");
                last_error = Some(e);
            }
        }
    }
    Err(last_error.map_or_else(
        || ApiError::NoCandidate("every candidate model is cooling down after failures".to_owned()),
        ApiError::from,
    ))
}

/// The next stream event, or a timeout error after `idle` of silence.
pub async fn within_idle<T>(
    idle: Duration,
    next: impl Future<Output = Result<Option<T>, UpstreamError>>,
) -> Result<Option<T>, UpstreamError> {
    tokio::time::timeout(idle, next).await.unwrap_or_else(|_| {
        Err(UpstreamError::Timeout {
            message: format!("the stream sent nothing for {idle:?}"),
        })
    })
}

/// Tool-call ids tie the next turn of an agent loop to the model that made
/// the calls, so `auto` does not switch models mid-loop.
pub fn remember_tool_calls<'a>(
    state: &AppState,
    ids: impl IntoIterator<Item = &'a str>,
    model: &Model,
) {
    let ids: Vec<&str> = ids.into_iter().collect();
    if !ids.is_empty() {
        state.router.remember_tool_calls(&ids, &model.name);
    }
}

/// Adds the routing decision headers every model response carries, and
/// what was changed in the request to fit the model's rules.
pub fn decision_headers(
    response: &mut Response,
    plan: &Plan,
    model: &Model,
    profile_id: &str,
    adjusted: &Adjustments,
) {
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("x-clawrouter-model", &model.name);
    set("x-clawrouter-profile", profile_id);
    if let Some(changes) = adjusted.header_value() {
        set(adjust::HEADER, &changes);
    }
    if let Some(requested) = &plan.substituted_for {
        // The client named a model the catalog does not have.
        set("x-clawrouter-substituted-for", requested);
    }
    if let Some((category, tier)) = plan.routed {
        set("x-clawrouter-tier", tier.as_str());
        set("x-clawrouter-category", category.as_str());
    }
}

/// The reply prefix (`[low] `) when the setting is on and the router chose.
pub fn tier_prefix(state: &AppState, plan: &Plan) -> Option<String> {
    match plan.routed {
        Some((_, tier)) if state.config.show_tier_prefix => Some(format!("[{tier}] ")),
        _ => None,
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A response id: a prefix plus 24 random alphanumerics.
pub fn response_id(prefix: &str) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}{suffix}")
}

struct HealthAvailability<'a>(&'a AppState);

impl Availability for HealthAvailability<'_> {
    fn usable(&self, model: &Model) -> bool {
        self.0.availability.is_available(&model.name) && self.0.health.is_usable(&model.profile_id)
    }
}
