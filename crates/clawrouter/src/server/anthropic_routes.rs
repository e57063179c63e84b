//! `POST /v1/messages` and `POST /v1/messages/count_tokens`, for Claude Code
//! and the Anthropic SDKs: parse, plan, send Anthropic's own body to Bedrock
//! InvokeModel (falling back across candidates), relay the answer whole or
//! as named SSE events. Errors are Anthropic-shaped, in the response or, once
//! a stream has started, as a final `event: error`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::mpsc;

use super::dispatch::{self, Plan};
use super::{ApiError, AppState, Protocol, sse};
use crate::anthropic::{self, AnthropicError, MessagesRequest, StreamRelay};
use crate::bedrock::{InvokeEvents, UpstreamError};
use crate::catalog::Model;

/// How long `count_tokens` waits for Bedrock before estimating instead.
const COUNT_TOKENS_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn messages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let mut req: MessagesRequest =
            dispatch::parse_json(&headers, body, state.config.max_body_bytes)?;
        let plan = plan(&state, &mut req)?;
        let betas = beta_header(&headers);
        if req.stream {
            stream(state, req, betas, plan).await
        } else {
            complete(&state, &req, betas.as_deref(), &plan).await
        }
    };
    result
        .await
        .unwrap_or_else(|e| e.into_response_for(Protocol::Anthropic))
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
        let mut req: MessagesRequest =
            dispatch::parse_json(&headers, body, state.config.max_body_bytes)?;
        let plan = plan(&state, &mut req)?;
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

/// The named model (in any spelling [`anthropic::resolve_model`] takes), or
/// the router's choice for `auto`, with the override tag cut from the text.
fn plan(state: &AppState, req: &mut MessagesRequest) -> Result<Plan, ApiError> {
    if req.model == "auto" {
        // The router reads the override tag; the model must not see it.
        let plan = dispatch::plan_routed(state, &anthropic::route_input(req))?;
        anthropic::strip_override_tag(req);
        Ok(plan)
    } else {
        let name = anthropic::resolve_model(&state.catalog, &req.model)
            .map_or(req.model.as_str(), |m| m.name.as_str());
        dispatch::plan_named(state, name)
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
) -> Result<Response, ApiError> {
    let answer = dispatch::first_success(state, plan, |attempt, model| {
        let body = anthropic::bedrock_body(req, betas, model).map_err(api_error)?;
        Ok(state.bedrock.invoke(&attempt.profile_id, body))
    })
    .await?;
    let model = &state.catalog.models()[answer.attempt.model];
    let name = anthropic::response_model_name(&state.catalog, &req.model, model);
    let prefix = dispatch::tier_prefix(state, plan);
    let message =
        anthropic::relay_message(&answer.value, &name, prefix.as_deref()).map_err(api_error)?;
    remember_tool_calls(state, &message.tool_use_ids, model);
    let usage = message.usage;
    tracing::info!(model = %model.name, profile_id = %answer.attempt.profile_id, input = usage.input, output = usage.output, cache_read = usage.cache_read, cache_write = usage.cache_write, latency_ms = answer.latency.as_millis() as u64, "messages");
    let mut response = Response::new(axum::body::Body::from(message.body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    dispatch::decision_headers(&mut response, plan, model, &answer.attempt.profile_id);
    Ok(response)
}

async fn stream(
    state: Arc<AppState>,
    req: MessagesRequest,
    betas: Option<String>,
    plan: Plan,
) -> Result<Response, ApiError> {
    let idle = state.config.stream_idle_timeout;
    // The first event is awaited before the response is committed, so a
    // candidate that fails at once can still be replaced by the next one.
    let answer = dispatch::first_success(&state, &plan, |attempt, model| {
        let body = anthropic::bedrock_body(&req, betas.as_deref(), model).map_err(api_error)?;
        let bedrock = state.bedrock.clone();
        let profile_id = attempt.profile_id.clone();
        Ok(async move {
            let mut events = bedrock.invoke_stream(&profile_id, body).await?;
            let first = next_event(&mut events, idle).await?;
            Ok((events, first))
        })
    })
    .await?;
    let model_index = answer.attempt.model;
    let profile_id = answer.attempt.profile_id.clone();
    let model = &state.catalog.models()[model_index];
    let (tx, mut response) = sse::channel();
    dispatch::decision_headers(&mut response, &plan, model, &profile_id);
    let relay = StreamRelay::new(
        anthropic::response_model_name(&state.catalog, &req.model, model),
        dispatch::tier_prefix(&state, &plan),
    );
    let (events, first) = answer.value;
    tokio::spawn(pump(
        state.clone(),
        model_index,
        profile_id,
        events,
        first,
        relay,
        tx,
    ));
    Ok(response)
}

async fn next_event(
    events: &mut InvokeEvents,
    idle: Duration,
) -> Result<Option<Bytes>, UpstreamError> {
    tokio::time::timeout(idle, events.next())
        .await
        .unwrap_or_else(|_| {
            Err(UpstreamError::Timeout {
                message: format!("the stream sent nothing for {idle:?}"),
            })
        })
}

/// Moves one upstream stream to one client. Every way it can end sends
/// the client something final: `message_stop` relayed, or an `error` event
/// (upstream fault, unreadable event, or a stream cut before
/// `message_stop`), so no client is left waiting.
async fn pump(
    state: Arc<AppState>,
    model_index: usize,
    profile_id: String,
    mut events: InvokeEvents,
    first: Option<Bytes>,
    mut relay: StreamRelay,
    tx: mpsc::Sender<Bytes>,
) {
    let started = Instant::now();
    let idle = state.config.stream_idle_timeout;
    let mut pending = first;
    let mut failure: Option<ApiError> = None;
    let mut client_gone = false;
    while let Some(chunk) = pending.take() {
        match relay.relay(&chunk) {
            Ok(event) => {
                if tx.send(named(&event.name, &event.data)).await.is_err() {
                    client_gone = true;
                    break;
                }
            }
            Err(e) => {
                failure = Some(api_error(e));
                break;
            }
        }
        match next_event(&mut events, idle).await {
            Ok(next) => pending = next,
            Err(e) => {
                state.health.record_failure(&profile_id, &e);
                failure = Some(e.into());
                break;
            }
        }
    }
    // Dropping the upstream receiver closes the Bedrock connection.
    drop(events);
    if failure.is_none() && !client_gone && !relay.is_complete() {
        failure = Some(ApiError::Upstream(UpstreamError::Unavailable {
            status: 502,
            message: "the Bedrock stream ended before message_stop".into(),
        }));
    }
    if let Some(error) = &failure {
        let body = error.body(Protocol::Anthropic);
        let _ = tx.send(named("error", body.to_string().as_bytes())).await;
    }
    let model = &state.catalog.models()[model_index];
    remember_tool_calls(&state, relay.tool_use_ids(), model);
    let usage = relay.usage();
    tracing::info!(model = %model.name, %profile_id, input = usage.input, output = usage.output, cache_read = usage.cache_read, cache_write = usage.cache_write, client_gone, ok = failure.is_none(), duration_ms = started.elapsed().as_millis() as u64, "messages stream");
}

/// One SSE event with Anthropic's `event:` name line.
fn named(event: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(event.len() + data.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Tool-use ids tie the next turn of an agent loop to the model that made
/// the calls, so `auto` does not switch models mid-loop.
fn remember_tool_calls(state: &AppState, ids: &[String], model: &Model) {
    if !ids.is_empty() {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        state.router.remember_tool_calls(&ids, &model.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_name() {
        assert_eq!(
            &named("ping", br#"{"type":"ping"}"#)[..],
            b"event: ping\ndata: {\"type\":\"ping\"}\n\n"
        );
    }

    #[test]
    fn beta_headers_are_joined() {
        let mut headers = HeaderMap::new();
        assert_eq!(beta_header(&headers), None);
        headers.append("anthropic-beta", HeaderValue::from_static("a,b"));
        headers.append("anthropic-beta", HeaderValue::from_static("c"));
        assert_eq!(beta_header(&headers).as_deref(), Some("a,b,c"));
    }
}
