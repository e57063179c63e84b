//! The one path every model request takes, whatever its wire format
//! ([`WireFormat`]): read the JSON body, parse, plan (the named model, or
//! the router's candidates for `auto`), call the candidates in order until
//! one answers — falling back only on upstream faults, and only before any
//! byte of the answer has gone to the client — adapt the answer whole or as
//! a stream, and record health, tool-call stickiness and the ledger row.

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::accounting::{Completed, Outcome, StreamEstimate, Ticket};
use super::wire_format::{ReplyContext, StreamAdapter, Upstream, WireFormat};
use super::{ApiError, AppState, sse};
use crate::adjust::{self, Adjustments};
use crate::bedrock::UpstreamError;
use crate::catalog::{Catalog, Category, Model, NameError, Tier};
use crate::router::{Availability, RouteInput};

/// Serves one request of format `F`: the whole of a model route's handler.
pub async fn handle<F: WireFormat>(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ticket = Ticket::new(F::ROUTE, &headers);
    let (req, plan) = match parse_and_plan::<F>(&state, &headers, body) {
        Ok(parsed) => parsed,
        Err(e) => return e.into_response_for(F::PROTOCOL),
    };
    let answered = if F::wants_stream(&req) {
        open_stream::<F>(&state, &req, &plan).await
    } else {
        complete::<F>(&state, &req, &plan).await
    };
    let requested = F::requested_model(&req);
    match answered {
        Ok(Answered::Whole(response, completed)) => {
            ticket
                .record(&state, &plan, requested, completed.outcome(&plan))
                .await;
            response
        }
        Ok(Answered::Streaming(response, pump)) => {
            let requested = requested.to_owned();
            tokio::spawn(pump.run(state, plan, requested, ticket));
            response
        }
        Err(e) => {
            ticket.failed(&state, &plan, requested, &e).await;
            e.into_response_for(F::PROTOCOL)
        }
    }
}

/// The parsed request and its plan; the override tag is cut once the
/// router has read it.
pub fn parse_and_plan<F: WireFormat>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(F::Request, Plan), ApiError> {
    let body = json_body_bytes(headers, body, state.config.max_body_bytes)?;
    let mut req = F::parse(headers, &body)?;
    let requested = F::requested_model(&req);
    let plan = if requested == "auto" {
        let plan = plan_routed(state, &F::route_input(&req))?;
        F::strip_override_tag(&mut req);
        plan
    } else {
        plan_named(state, requested)?
    };
    Ok((req, plan))
}

/// A model, resolved once (from the client's or the router's name) and
/// carried as is to the upstream call, the headers and the ledger.
#[derive(Clone)]
pub struct ModelRef(Source);

#[derive(Clone)]
enum Source {
    Catalog {
        catalog: Arc<Catalog>,
        index: usize,
    },
    /// A profile discovery found that the catalog lacks.
    Discovered(Arc<Model>),
}

impl ModelRef {
    /// The reference to `model`, which must be one of `catalog`'s.
    fn of(catalog: &Arc<Catalog>, model: &Model) -> Option<Self> {
        let index = catalog
            .models()
            .iter()
            .position(|m| std::ptr::eq(m, model))?;
        Some(Self(Source::Catalog {
            catalog: catalog.clone(),
            index,
        }))
    }

    fn named(catalog: &Arc<Catalog>, name: &str) -> Option<Self> {
        let index = catalog.models().iter().position(|m| m.name == name)?;
        Some(Self(Source::Catalog {
            catalog: catalog.clone(),
            index,
        }))
    }
}

impl Deref for ModelRef {
    type Target = Model;

    fn deref(&self) -> &Model {
        match &self.0 {
            // Only built from a position in this (immutable) catalog.
            Source::Catalog { catalog, index } => &catalog.models()[*index],
            Source::Discovered(model) => model,
        }
    }
}

impl std::fmt::Debug for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// The models that may answer one request, best first.
#[derive(Debug, Clone)]
pub struct Plan {
    pub candidates: Vec<Attempt>,
    /// Set when the router chose (model `auto`).
    pub routed: Option<(Category, Tier)>,
    /// The router's why, for the ledger (model `auto`).
    pub reason: Option<String>,
    /// The name the client asked for, when the catalog serves it with another
    /// model (an unknown newer name of a family).
    pub substituted_for: Option<String>,
}

/// One model to try, and the profile id to call it on.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub model: ModelRef,
    pub profile_id: String,
}

/// The attempt that answered (and its index in the plan), with how long it took.
struct Answer<'p, T> {
    value: T,
    attempt: &'p Attempt,
    index: usize,
    latency: Duration,
}

/// A response, and what is still to be done for it.
enum Answered<F: WireFormat> {
    Whole(Response, Completed),
    Streaming(Response, Box<Pump<F>>),
}

/// The body of a JSON request, refusing other content types (a browser can
/// send `text/plain` cross-site without a preflight; JSON forces one).
fn json_body_bytes(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::bad_request(format!("cannot read the request body: {rejection}"))
        }
    })
}

/// The plan for a named model (any spelling [`Catalog::resolve`] takes):
/// the model on the profile named or its own, then its `global.` profile
/// (another capacity pool) when Bedrock offers one. A model that is
/// unavailable is refused here, saying why and what to use instead.
fn plan_named(state: &AppState, requested: &str) -> Result<Plan, ApiError> {
    if let Some(plan) = plan_discovered(state, requested)? {
        return Ok(plan);
    }
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
    if let Some(why) = state.availability.reason(&resolved.model.name) {
        return Err(ApiError::ModelUnavailable {
            requested: requested.to_owned(),
            why,
        });
    }
    let model = ModelRef::of(catalog, resolved.model).ok_or(ApiError::Internal)?;
    let global = (resolved.profile_id == model.profile_id)
        .then(|| model.global_profile_id())
        .flatten();
    let mut candidates = vec![Attempt {
        profile_id: resolved.profile_id.clone(),
        model: model.clone(),
    }];
    if let Some(global) = global {
        candidates.push(Attempt {
            model,
            profile_id: global,
        });
    }
    Ok(Plan {
        candidates,
        routed: None,
        reason: None,
        substituted_for: resolved.substituted.then(|| requested.trim().to_owned()),
    })
}

/// The plan for a profile id discovery found that the catalog lacks (whose
/// base id no catalog model has, so no catalog name can mean it): that
/// profile only, with no fallback, as nothing is known to fall back to.
fn plan_discovered(state: &AppState, requested: &str) -> Result<Option<Plan>, ApiError> {
    let wanted = requested.trim();
    let Some(model) = state
        .availability
        .discovered(wanted.strip_prefix("bedrock/").unwrap_or(wanted))
    else {
        return Ok(None);
    };
    if let Some(why) = state.availability.reason(&model.name) {
        return Err(ApiError::ModelUnavailable {
            requested: requested.to_owned(),
            why,
        });
    }
    Ok(Some(Plan {
        candidates: vec![Attempt {
            profile_id: model.profile_id.clone(),
            model: ModelRef(Source::Discovered(model)),
        }],
        routed: None,
        reason: None,
        substituted_for: None,
    }))
}

/// The plan for `auto`: the router's decision and its ordered candidates.
fn plan_routed(state: &AppState, input: &RouteInput) -> Result<Plan, ApiError> {
    let decision = state
        .router
        .decide(&state.catalog, input, &HealthAvailability(state))
        .map_err(|e| ApiError::NoCandidate(e.to_string()))?;
    let candidates = decision
        .candidates
        .into_iter()
        .filter_map(|c| {
            Some(Attempt {
                model: ModelRef::named(&state.catalog, &c.model)?,
                profile_id: c.profile_id,
            })
        })
        .collect();
    tracing::debug!(category = %decision.category, tier = %decision.tier, why = %decision.why, "routed");
    Ok(Plan {
        candidates,
        routed: Some((decision.category, decision.tier)),
        reason: Some(decision.why),
        substituted_for: None,
    })
}

/// Calls the plan's candidates in order; the first success wins. A failure
/// that another model could avoid (throttling, 5xx, timeouts) moves on to
/// the next candidate; any other failure is the answer. All attempts share
/// one deadline (`upstream_timeout`), so fallbacks never multiply it.
async fn first_success<'p, T, C, Fut>(
    state: &AppState,
    plan: &'p Plan,
    mut call: C,
) -> Result<Answer<'p, T>, ApiError>
where
    C: FnMut(&'p Attempt) -> Result<Fut, ApiError>,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let limit = state.config.upstream_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let mut last_error = None;
    for (index, attempt) in plan.candidates.iter().enumerate() {
        let started = Instant::now();
        let Ok(result) = tokio::time::timeout_at(deadline, call(attempt)?).await else {
            let e = UpstreamError::Timeout {
                message: format!("no answer within {limit:?} (every candidate included)"),
            };
            state.health.record_failure(&attempt.profile_id, &e);
            return Err(e.into());
        };
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
                    state
                        .availability
                        .mark_access_denied(&attempt.model.name, message);
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

/// The upstream call for one attempt, with cache points added when the
/// `auto_cache` setting is on.
fn upstream_call<F: WireFormat>(
    state: &AppState,
    req: &F::Request,
    attempt: &Attempt,
) -> Result<(<F::Upstream as Upstream>::Call, Adjustments), ApiError> {
    let (mut call, adjusted) = F::upstream_call(req, &attempt.model, &attempt.profile_id)?;
    if state.config.auto_cache {
        F::Upstream::add_cache_points(&mut call, &attempt.model);
    }
    Ok((call, adjusted))
}

/// A whole answer.
async fn complete<F: WireFormat>(
    state: &AppState,
    req: &F::Request,
    plan: &Plan,
) -> Result<Answered<F>, ApiError> {
    let answer = first_success(state, plan, |attempt| {
        let (call, adjusted) = upstream_call::<F>(state, req, attempt)?;
        let reply = F::Upstream::call(&state.bedrock, &attempt.profile_id, call);
        Ok(async move { Ok((reply.await?, adjusted)) })
    })
    .await?;
    let (value, adjusted) = answer.value;
    let model = &answer.attempt.model;
    let prefix = tier_prefix(state, plan);
    let ctx = ReplyContext {
        catalog: &state.catalog,
        model,
        prefix: prefix.as_deref(),
    };
    let reply = F::adapt_reply(req, value, &ctx)?;
    remember_tool_calls(state, &reply.tool_call_ids, model);
    let mut response = reply.response;
    decision_headers(
        &mut response,
        plan,
        model,
        &answer.attempt.profile_id,
        &adjusted,
    );
    format_headers(&mut response, F::response_headers(req));
    Ok(Answered::Whole(
        response,
        Completed {
            attempt: answer.index,
            usage: reply.usage,
            latency: answer.latency,
        },
    ))
}

/// A streamed answer: its response, and the pump that fills it. The first
/// event is awaited before the response is committed, so a candidate that
/// fails at once can still be replaced by the next one.
async fn open_stream<F: WireFormat>(
    state: &AppState,
    req: &F::Request,
    plan: &Plan,
) -> Result<Answered<F>, ApiError> {
    let first_byte = state.config.first_byte_timeout;
    let answer = first_success(state, plan, |attempt| {
        let (call, adjusted) = upstream_call::<F>(state, req, attempt)?;
        let bedrock = &state.bedrock;
        // Time to first byte is its own limit, per attempt: a candidate that
        // hangs before its first event yields to the next one.
        let opened = async move {
            let mut events = F::Upstream::open_stream(bedrock, &attempt.profile_id, call).await?;
            let first = F::Upstream::next(&mut events).await?;
            Ok((events, first, adjusted))
        };
        Ok(async move {
            tokio::time::timeout(first_byte, opened)
                .await
                .unwrap_or_else(|_| {
                    Err(UpstreamError::Timeout {
                        message: format!("no first event within {first_byte:?}"),
                    })
                })
        })
    })
    .await?;
    let model = &answer.attempt.model;
    let (events, first, adjusted) = answer.value;
    let (tx, mut response) = sse::channel();
    decision_headers(
        &mut response,
        plan,
        model,
        &answer.attempt.profile_id,
        &adjusted,
    );
    format_headers(&mut response, F::response_headers(req));
    let prefix = tier_prefix(state, plan);
    let ctx = ReplyContext {
        catalog: &state.catalog,
        model,
        prefix: prefix.as_deref(),
    };
    let pump = Pump::<F> {
        adapter: F::adapt_stream(req, &ctx),
        input_estimate: F::input_token_estimate(req),
        events,
        first,
        tx,
        attempt: answer.index,
        ttft: answer.latency,
    };
    Ok(Answered::Streaming(response, Box::new(pump)))
}

/// Moves one upstream stream to one client, then accounts it. Every way it
/// can end sends the client something final: the format's closing frames,
/// or its error frame (upstream fault, unreadable event, or a stream cut
/// before the answer was complete), so no client is left waiting.
struct Pump<F: WireFormat> {
    adapter: F::Stream,
    input_estimate: u64,
    events: <F::Upstream as Upstream>::Events,
    first: Option<<F::Upstream as Upstream>::Event>,
    tx: mpsc::Sender<Bytes>,
    attempt: usize,
    ttft: Duration,
}

impl<F: WireFormat> Pump<F> {
    async fn run(
        mut self,
        state: Arc<AppState>,
        plan: Plan,
        requested_model: String,
        ticket: Ticket,
    ) {
        let idle = state.config.stream_idle_timeout;
        let started = Instant::now();
        let attempt = plan.candidates.get(self.attempt);
        let mut pending = self.first.take();
        let mut frames = Vec::new();
        // The answer's end (its last event's frames, the format's closing
        // frames, or an error frame) waits here until the ledger row is
        // committed: a client that has the whole answer finds it recorded,
        // even if the process is killed right after.
        let mut end = Vec::new();
        let mut failure: Option<ApiError> = None;
        let mut client_gone = false;
        while let Some(event) = pending.take() {
            let adapted = self.adapter.on_event(&event, &mut frames);
            if adapted.is_ok() && (self.adapter.is_complete() || !end.is_empty()) {
                end.append(&mut frames);
            } else if !send_all(&self.tx, &mut frames).await {
                client_gone = true;
                break;
            }
            if let Err(e) = adapted {
                failure = Some(e);
                break;
            }
            match within_idle(idle, F::Upstream::next(&mut self.events)).await {
                Ok(next) => pending = next,
                Err(e) => {
                    if let Some(a) = attempt {
                        state.health.record_failure(&a.profile_id, &e);
                    }
                    failure = Some(e.into());
                }
            }
        }
        if failure.is_none()
            && !client_gone
            && let Err(e) = self.adapter.finish(&mut end)
        {
            failure = Some(e);
        }
        if let Some(error) = &failure {
            end.push(self.adapter.error_frame(error));
        }
        if let Some(a) = attempt {
            remember_tool_calls(&state, self.adapter.tool_call_ids(), &a.model);
        }
        let outcome = Outcome::of_stream(
            attempt,
            self.adapter.usage(),
            StreamEstimate {
                input_tokens: self.input_estimate,
                output_chars: self.adapter.output_chars(),
            },
            self.ttft,
            failure.as_ref(),
            client_gone,
        );
        tracing::debug!(
            duration_ms = started.elapsed().as_millis() as u64,
            status = outcome.status,
            "stream ended"
        );
        ticket
            .record(&state, &plan, &requested_model, outcome)
            .await;
        if !client_gone && !send_all(&self.tx, &mut end).await {
            tracing::debug!("the client left before the end of its answer");
        }
    }
}

/// Sends the frames in order; false once the client has gone away.
async fn send_all(tx: &mpsc::Sender<Bytes>, frames: &mut Vec<Bytes>) -> bool {
    for frame in frames.drain(..) {
        if tx.send(frame).await.is_err() {
            return false;
        }
    }
    true
}

/// The next stream event, or a timeout error after `idle` of silence.
async fn within_idle<T>(
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
fn remember_tool_calls(state: &AppState, ids: &[String], model: &Model) {
    if !ids.is_empty() {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        state.router.remember_tool_calls(&ids, &model.name);
    }
}

/// The routing decision headers every model response carries, and what was
/// changed in the request to fit the model's rules.
fn decision_headers(
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

/// Adds a format's own headers; values that are not valid header text are left out.
fn format_headers(response: &mut Response, headers: Vec<(&'static str, String)>) {
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
}

/// The reply prefix (`[low] `) when the setting is on and the router chose.
fn tier_prefix(state: &AppState, plan: &Plan) -> Option<String> {
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
