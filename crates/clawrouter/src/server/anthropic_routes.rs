//! `POST /v1/messages` and `POST /v1/messages/count_tokens`, for Claude Code
//! and the Anthropic SDKs: parse, plan, send Anthropic's own body to Bedrock
//! InvokeModel (falling back across candidates), relay the answer whole or
//! as named SSE events, and account it. Errors are Anthropic-shaped, in the
//! response or, once a stream has started, as a final `event: error`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::mpsc;

use super::accounting::{Completed, Outcome, StreamEstimate, Ticket};
use super::dispatch::{self, Plan};
use super::{ApiError, AppState, Protocol, sse};
use crate::anthropic::{self, AnthropicError, MessagesRequest, StreamRelay};
use crate::bedrock::{InvokeEvents, UpstreamError};

/// How long `count_tokens` waits for Bedrock before estimating instead.
const COUNT_TOKENS_TIMEOUT: Duration = Duration::from_secs(10);

const ROUTE: &str = "/v1/messages";

pub async fn messages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ticket = Ticket::new(ROUTE, &headers);
    let (req, plan) = match parse_and_plan(&state, &headers, body) {
        Ok(parsed) => parsed,
        Err(e) => return e.into_response_for(Protocol::Anthropic),
    };
    let betas = beta_header(&headers);
    if req.stream {
        match stream(&state, &req, betas.as_deref(), &plan).await {
            Ok((response, pump)) => {
                tokio::spawn(pump.run(state, plan, req.model, ticket));
                response
            }
            Err(e) => {
                ticket.failed(&state, &plan, &req.model, &e);
                e.into_response_for(Protocol::Anthropic)
            }
        }
    } else {
        match complete(&state, &req, betas.as_deref(), &plan).await {
            Ok((response, completed)) => {
                ticket.record(&state, &plan, &req.model, completed.outcome(&plan));
                response
            }
            Err(e) => {
                ticket.failed(&state, &plan, &req.model, &e);
                e.into_response_for(Protocol::Anthropic)
            }
        }
    }
}

/// Bedrock's CountTokens for the request on the model it would go to; an
/// estimate ([`anthropic::estimate_tokens`]) when Bedrock cannot count
/// (older models, regions without CountTokens, throttling), so clients that
/// size their context by it keep working. Only an authentication failure is
/// an error: that one the user must fix.
pub async fn count_tokens(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (req, plan) = parse_and_plan(&state, &headers, body)?;
        let betas = beta_header(&headers);
        let Some((attempt, model)) = plan
            .candidates
            .first()
            .and_then(|a| Some((a, state.catalog.models().get(a.model)?)))
        else {
            return Err(ApiError::NoCandidate("no model for this request".into()));
        };
        let body =
            anthropic::count_tokens_body(&req, betas.as_deref(), model).map_err(api_error)?;
        let counted = tokio::time::timeout(
            COUNT_TOKENS_TIMEOUT,
            state.bedrock.count_tokens(&attempt.profile_id, body),
        )
        .await
        .unwrap_or_else(|_| {
            Err(UpstreamError::Timeout {
                message: "CountTokens did not answer".into(),
            })
        });
        let input_tokens = match counted {
            Ok(n) => n,
            Err(e @ (UpstreamError::AccessDenied { .. } | UpstreamError::Credentials { .. })) => {
                return Err(e.into());
            }
            Err(e) => {
                tracing::debug!(error = %e, profile_id = %attempt.profile_id, "count_tokens: Bedrock could not count, estimating");
                anthropic::estimate_tokens(&req)
            }
        };
        Ok(axum::Json(json!({"input_tokens": input_tokens})).into_response())
    };
    result
        .await
        .unwrap_or_else(|e| e.into_response_for(Protocol::Anthropic))
}

fn parse_and_plan(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(MessagesRequest, Plan), ApiError> {
    let mut req: MessagesRequest =
        dispatch::parse_json(headers, body, state.config.max_body_bytes)?;
    let plan = plan(state, &mut req)?;
    Ok((req, plan))
}

/// The named model (in any spelling the catalog resolves), or
/// the router's choice for `auto`, with the override tag cut from the text.
fn plan(state: &AppState, req: &mut MessagesRequest) -> Result<Plan, ApiError> {
    if req.model == "auto" {
        // The router reads the override tag; the model must not see it.
        let plan = dispatch::plan_routed(state, &anthropic::route_input(req))?;
        anthropic::strip_override_tag(req);
        Ok(plan)
    } else {
        dispatch::plan_named(state, &req.model)
    }
}

/// Every `anthropic-beta` header value, joined with commas.
fn beta_header(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn api_error(e: AnthropicError) -> ApiError {
    match e {
        AnthropicError::InvalidRequest(message) => ApiError::bad_request(message),
        AnthropicError::UpstreamFormat(message) => {
            ApiError::Upstream(UpstreamError::ModelError { message })
        }
    }
}

async fn complete(
    state: &AppState,
    req: &MessagesRequest,
    betas: Option<&str>,
    plan: &Plan,
) -> Result<(Response, Completed), ApiError> {
    let answer = dispatch::first_success(state, plan, |attempt, model| {
        let (body, adjusted) = anthropic::bedrock_body(req, betas, model).map_err(api_error)?;
        let call = state.bedrock.invoke(&attempt.profile_id, body);
        Ok(async move { Ok((call.await?, adjusted)) })
    })
    .await?;
    let (value, adjusted) = &answer.value;
    let model = &state.catalog.models()[answer.attempt.model];
    let name = anthropic::response_model_name(&state.catalog, &req.model, model);
    let prefix = dispatch::tier_prefix(state, plan);
    let message = anthropic::relay_message(value, &name, prefix.as_deref()).map_err(api_error)?;
    dispatch::remember_tool_calls(
        state,
        message.tool_use_ids.iter().map(String::as_str),
        model,
    );
    let mut response = Response::new(axum::body::Body::from(message.body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    dispatch::decision_headers(
        &mut response,
        plan,
        model,
        &answer.attempt.profile_id,
        adjusted,
    );
    Ok((
        response,
        Completed {
            attempt: answer.index,
            usage: message.usage,
            latency: answer.latency,
        },
    ))
}

async fn stream(
    state: &AppState,
    req: &MessagesRequest,
    betas: Option<&str>,
    plan: &Plan,
) -> Result<(Response, Pump), ApiError> {
    let idle = state.config.stream_idle_timeout;
    // The first event is awaited before the response is committed, so a
    // candidate that fails at once can still be replaced by the next one.
    let answer = dispatch::first_success(state, plan, |attempt, model| {
        let (body, adjusted) = anthropic::bedrock_body(req, betas, model).map_err(api_error)?;
        let bedrock = state.bedrock.clone();
        let profile_id = attempt.profile_id.clone();
        Ok(async move {
            let mut events = bedrock.invoke_stream(&profile_id, body).await?;
            let first = dispatch::within_idle(idle, events.next()).await?;
            Ok((events, first, adjusted))
        })
    })
    .await?;
    let model = &state.catalog.models()[answer.attempt.model];
    let (tx, mut response) = sse::channel();
    let (events, first, adjusted) = answer.value;
    dispatch::decision_headers(
        &mut response,
        plan,
        model,
        &answer.attempt.profile_id,
        &adjusted,
    );
    let pump = Pump {
        relay: StreamRelay::new(
            anthropic::response_model_name(&state.catalog, &req.model, model),
            dispatch::tier_prefix(state, plan),
        ),
        input_estimate: anthropic::estimate_tokens(req),
        events,
        first,
        tx,
        attempt: answer.index,
        ttft: answer.latency,
    };
    Ok((response, pump))
}

/// Moves one upstream stream to one client, then accounts it. Every way it
/// can end sends the client something final: `message_stop` relayed, or an
/// `error` event (upstream fault, unreadable event, or a stream cut before
/// `message_stop`), so no client is left waiting.
struct Pump {
    relay: StreamRelay,
    input_estimate: u64,
    events: InvokeEvents,
    first: Option<Bytes>,
    tx: mpsc::Sender<Bytes>,
    attempt: usize,
    ttft: Duration,
}

impl Pump {
    async fn run(
        mut self,
        state: Arc<AppState>,
        plan: Plan,
        requested_model: String,
        ticket: Ticket,
    ) {
        let idle = state.config.stream_idle_timeout;
        let attempt = plan.candidates.get(self.attempt);
        let mut pending = self.first.take();
        let mut failure: Option<ApiError> = None;
        let mut client_gone = false;
        while let Some(chunk) = pending.take() {
            match self.relay.relay(&chunk) {
                Ok(event) => {
                    if self
                        .tx
                        .send(sse::named(&event.name, &event.data))
                        .await
                        .is_err()
                    {
                        client_gone = true;
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(api_error(e));
                    break;
                }
            }
            match dispatch::within_idle(idle, self.events.next()).await {
                Ok(next) => pending = next,
                Err(e) => {
                    if let Some(a) = attempt {
                        state.health.record_failure(&a.profile_id, &e);
                    }
                    failure = Some(e.into());
                }
            }
        }
        if failure.is_none() && !client_gone && !self.relay.is_complete() {
            failure = Some(ApiError::Upstream(UpstreamError::Unavailable {
                status: 502,
                message: "the Bedrock stream ended before message_stop".into(),
            }));
        }
        if let Some(error) = &failure {
            let body = error.body(Protocol::Anthropic).to_string();
            client_gone = self
                .tx
                .send(sse::named("error", body.as_bytes()))
                .await
                .is_err();
        }
        if let Some(model) = attempt.and_then(|a| state.catalog.models().get(a.model)) {
            dispatch::remember_tool_calls(
                &state,
                self.relay.tool_use_ids().iter().map(String::as_str),
                model,
            );
        }
        let usage = self.relay.usage();
        let outcome = Outcome::of_stream(
            attempt,
            usage,
            StreamEstimate {
                input_tokens: self.input_estimate,
                output_chars: self.relay.generated_chars(),
            },
            self.ttft,
            failure.as_ref(),
            client_gone,
        );
        ticket.record(&state, &plan, &requested_model, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_headers_are_joined() {
        let mut headers = HeaderMap::new();
        assert_eq!(beta_header(&headers), None);
        headers.append("anthropic-beta", HeaderValue::from_static("a,b"));
        headers.append("anthropic-beta", HeaderValue::from_static("c"));
        assert_eq!(beta_header(&headers).as_deref(), Some("a,b,c"));
    }
}
