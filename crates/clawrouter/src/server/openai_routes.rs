//! `POST /v1/chat/completions`: parse, plan, translate to Converse, call
//! Bedrock (falling back across candidates), translate back — whole or as
//! an SSE stream.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::dispatch::{self, Plan};
use super::errors::OpenAiError;
use super::{ApiError, AppState, Protocol, sse};
use crate::bedrock::{ConverseEvents, ConverseStreamEvent, UpstreamError};
use crate::catalog::Model;
use crate::openai::{self, ChatCompletionChunk, ChatCompletionRequest, StreamTranslator};

pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OpenAiError> {
    let mut req: ChatCompletionRequest =
        dispatch::parse_json(&headers, body, state.config.max_body_bytes)?;
    let plan = if req.model == "auto" {
        // The router reads the override tag; the model must not see it.
        let plan = dispatch::plan_routed(&state, &openai::route_input(&req))?;
        openai::strip_override_tag(&mut req);
        plan
    } else {
        dispatch::plan_named(&state, &req.model)?
    };
    if req.wants_stream() {
        Ok(stream(state, req, plan).await?)
    } else {
        Ok(complete(&state, &req, &plan).await?)
    }
}

fn translate(
    req: &ChatCompletionRequest,
    model: &Model,
    profile_id: &str,
) -> Result<crate::bedrock::ConverseRequest, ApiError> {
    openai::to_converse(req, model, profile_id).map_err(|e| ApiError::BadRequest {
        message: e.to_string(),
        param: e.param().map(str::to_owned),
        code: e.code(),
    })
}

async fn complete(
    state: &AppState,
    req: &ChatCompletionRequest,
    plan: &Plan,
) -> Result<Response, ApiError> {
    let answer = dispatch::first_success(state, plan, |attempt, model| {
        let converse = translate(req, model, &attempt.profile_id)?;
        Ok(state.bedrock.converse(converse))
    })
    .await?;
    let model = &state.catalog.models()[answer.attempt.model];
    let mut completion = openai::from_converse(
        &answer.value,
        &model.name,
        &dispatch::response_id("chatcmpl-"),
        dispatch::unix_now(),
    );
    if let Some(message) = completion.choices.first_mut().map(|c| &mut c.message) {
        remember_tool_calls(
            state,
            message.tool_calls.iter().flatten().map(|c| c.id.as_str()),
            model,
        );
        if let (Some(prefix), Some(text)) =
            (dispatch::tier_prefix(state, plan), message.content.as_mut())
        {
            text.insert_str(0, &prefix);
        }
    }
    let usage = answer
        .value
        .usage()
        .map(openai::token_usage)
        .unwrap_or_default();
    tracing::info!(model = %model.name, profile_id = %answer.attempt.profile_id, input = usage.input, output = usage.output, latency_ms = answer.latency.as_millis() as u64, "chat completion");
    let mut response = Json(completion).into_response();
    dispatch::decision_headers(&mut response, plan, model, &answer.attempt.profile_id);
    Ok(response)
}

async fn stream(
    state: Arc<AppState>,
    req: ChatCompletionRequest,
    plan: Plan,
) -> Result<Response, ApiError> {
    let idle = state.config.stream_idle_timeout;
    // The first event is awaited before the response is committed, so a
    // candidate that fails at once can still be replaced by the next one.
    let answer = dispatch::first_success(&state, &plan, |attempt, model| {
        let converse = translate(&req, model, &attempt.profile_id)?;
        let bedrock = state.bedrock.clone();
        Ok(async move {
            let mut events = bedrock.converse_stream(converse).await?;
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
    let (events, first) = answer.value;
    let pump = Pump {
        translator: StreamTranslator::new(
            &model.name,
            &dispatch::response_id("chatcmpl-"),
            dispatch::unix_now(),
            req.include_usage(),
        ),
        prefix: dispatch::tier_prefix(&state, &plan),
        tool_call_ids: Vec::new(),
        tx,
    };
    tokio::spawn(pump.run(
        state.clone(),
        model_index,
        profile_id,
        events,
        first,
        Instant::now(),
    ));
    Ok(response)
}

async fn next_event(
    events: &mut ConverseEvents,
    idle: std::time::Duration,
) -> Result<Option<ConverseStreamEvent>, UpstreamError> {
    tokio::time::timeout(idle, events.next())
        .await
        .unwrap_or_else(|_| {
            Err(UpstreamError::Timeout {
                message: format!("the stream sent nothing for {idle:?}"),
            })
        })
}

/// Moves one upstream stream to one client.
struct Pump {
    translator: StreamTranslator,
    prefix: Option<String>,
    tool_call_ids: Vec<String>,
    tx: mpsc::Sender<Bytes>,
}

impl Pump {
    async fn run(
        mut self,
        state: Arc<AppState>,
        model_index: usize,
        profile_id: String,
        mut events: ConverseEvents,
        first: Option<ConverseStreamEvent>,
        started: Instant,
    ) {
        let idle = state.config.stream_idle_timeout;
        let mut pending = first;
        let mut outcome: Result<(), UpstreamError> = Ok(());
        let mut client_gone = false;
        while let Some(event) = pending.take() {
            let chunks = self.translator.on_event(&event);
            if !self.send_all(chunks).await {
                client_gone = true;
                break;
            }
            match next_event(&mut events, idle).await {
                Ok(next) => pending = next,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        // Dropping the upstream receiver closes the Bedrock connection.
        drop(events);
        let model = &state.catalog.models()[model_index];
        match &outcome {
            Ok(()) if !client_gone => {
                let tail = self.translator.finish();
                if self.send_all(tail).await {
                    let _ = self.tx.send(Bytes::from_static(sse::DONE)).await;
                }
            }
            Ok(()) => {}
            Err(e) => {
                state.health.record_failure(&profile_id, e);
                let error = ApiError::Upstream(e.clone()).body(Protocol::OpenAi);
                let _ = self.tx.send(sse::data(&error)).await;
            }
        }
        remember_tool_calls(&state, self.tool_call_ids.iter().map(String::as_str), model);
        let usage = self.translator.usage();
        tracing::info!(model = %model.name, %profile_id, input = usage.input, output = usage.output, client_gone, ok = outcome.is_ok(), duration_ms = started.elapsed().as_millis() as u64, "chat completion stream");
    }

    /// Sends chunks in order; false once the client has gone away.
    async fn send_all(&mut self, chunks: Vec<ChatCompletionChunk>) -> bool {
        for mut chunk in chunks {
            for choice in &mut chunk.choices {
                if let (Some(text), Some(prefix)) = (choice.delta.content.as_mut(), &self.prefix) {
                    text.insert_str(0, prefix);
                    self.prefix = None;
                }
                for call in choice.delta.tool_calls.iter().flatten() {
                    self.tool_call_ids.extend(call.id.clone());
                }
            }
            if self.tx.send(sse::data(&chunk)).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// Tool-call ids tie the next turn of an agent loop to the model that made
/// the calls, so `auto` does not switch models mid-loop.
fn remember_tool_calls<'a>(state: &AppState, ids: impl Iterator<Item = &'a str>, model: &Model) {
    let ids: Vec<&str> = ids.collect();
    if !ids.is_empty() {
        state.router.remember_tool_calls(&ids, &model.name);
    }
}
