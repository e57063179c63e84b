//! `POST /v1/chat/completions`: parse, plan, translate to Converse, call
//! Bedrock (falling back across candidates), translate back — whole or as
//! an SSE stream — and account the request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::accounting::{Completed, Outcome, StreamEstimate, Ticket};
use super::dispatch::{self, Plan};
use super::errors::OpenAiError;
use super::{ApiError, AppState, Protocol, sse};
use crate::adjust::Adjustments;
use crate::bedrock::{ConverseEvents, ConverseRequest, ConverseStreamEvent, UpstreamError};
use crate::catalog::Model;
use crate::openai::{self, ChatCompletionChunk, ChatCompletionRequest, StreamTranslator};

const ROUTE: &str = "/v1/chat/completions";

pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OpenAiError> {
    let ticket = Ticket::new(ROUTE, &headers);
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
    let result = if req.wants_stream() {
        stream(state.clone(), &req, &plan).await
    } else {
        complete(&state, &req, &plan).await
    };
    match result {
        Ok(Answered::Whole(response, outcome)) => {
            ticket.record(&state, &plan, &req.model, outcome.outcome(&plan));
            Ok(response)
        }
        Ok(Answered::Streaming(response, pump)) => {
            tokio::spawn(pump.run(state, plan, req.model, ticket));
            Ok(response)
        }
        Err(e) => {
            ticket.failed(&state, &plan, &req.model, &e);
            Err(e.into())
        }
    }
}

/// A response, and what is still to be done for it.
enum Answered {
    Whole(Response, Completed),
    Streaming(Response, Box<Pump>),
}

fn translate(
    req: &ChatCompletionRequest,
    model: &Model,
    profile_id: &str,
) -> Result<(ConverseRequest, Adjustments), ApiError> {
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
) -> Result<Answered, ApiError> {
    let answer = dispatch::first_success(state, plan, |attempt, model| {
        let (converse, adjusted) = translate(req, model, &attempt.profile_id)?;
        let call = state.bedrock.converse(converse);
        Ok(async move { Ok((call.await?, adjusted)) })
    })
    .await?;
    let (value, adjusted) = &answer.value;
    let model = &state.catalog.models()[answer.attempt.model];
    let mut completion = openai::from_converse(
        value,
        &model.name,
        &dispatch::response_id("chatcmpl-"),
        dispatch::unix_now(),
    );
    if let Some(message) = completion.choices.first_mut().map(|c| &mut c.message) {
        dispatch::remember_tool_calls(
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
    let usage = value.usage().map(openai::token_usage).unwrap_or_default();
    let mut response = Json(completion).into_response();
    dispatch::decision_headers(
        &mut response,
        plan,
        model,
        &answer.attempt.profile_id,
        adjusted,
    );
    Ok(Answered::Whole(
        response,
        Completed {
            attempt: answer.index,
            usage,
            latency: answer.latency,
        },
    ))
}

async fn stream(
    state: Arc<AppState>,
    req: &ChatCompletionRequest,
    plan: &Plan,
) -> Result<Answered, ApiError> {
    let idle = state.config.stream_idle_timeout;
    // The first event is awaited before the response is committed, so a
    // candidate that fails at once can still be replaced by the next one.
    let answer = dispatch::first_success(&state, plan, |attempt, model| {
        let (converse, adjusted) = translate(req, model, &attempt.profile_id)?;
        let bedrock = state.bedrock.clone();
        Ok(async move {
            let mut events = bedrock.converse_stream(converse).await?;
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
        translator: StreamTranslator::new(
            &model.name,
            &dispatch::response_id("chatcmpl-"),
            dispatch::unix_now(),
            req.include_usage(),
        ),
        prefix: dispatch::tier_prefix(&state, plan),
        tool_call_ids: Vec::new(),
        estimate: StreamEstimate {
            input_tokens: u64::try_from(openai::route_input(req).context_chars / 4).unwrap_or(0),
            output_chars: 0,
        },
        tx,
        events,
        first,
        attempt: answer.index,
        ttft: answer.latency,
    };
    Ok(Answered::Streaming(response, Box::new(pump)))
}

/// Moves one upstream stream to one client, then accounts it.
struct Pump {
    translator: StreamTranslator,
    prefix: Option<String>,
    tool_call_ids: Vec<String>,
    estimate: StreamEstimate,
    tx: mpsc::Sender<Bytes>,
    events: ConverseEvents,
    first: Option<ConverseStreamEvent>,
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
        let started = Instant::now();
        let mut pending = self.first.take();
        let mut failure: Option<UpstreamError> = None;
        let mut client_gone = false;
        while let Some(event) = pending.take() {
            let chunks = self.translator.on_event(&event);
            if !self.send_all(chunks).await {
                client_gone = true;
                break;
            }
            match dispatch::within_idle(idle, self.events.next()).await {
                Ok(next) => pending = next,
                Err(e) => failure = Some(e),
            }
        }
        let attempt = plan.candidates.get(self.attempt);
        let error = failure.map(ApiError::Upstream);
        match &error {
            None if !client_gone => {
                let tail = self.translator.finish();
                if self.send_all(tail).await {
                    client_gone = self.tx.send(Bytes::from_static(sse::DONE)).await.is_err();
                } else {
                    client_gone = true;
                }
            }
            None => {}
            Some(e) => {
                if let (Some(a), ApiError::Upstream(u)) = (attempt, e) {
                    state.health.record_failure(&a.profile_id, u);
                }
                client_gone = self
                    .tx
                    .send(sse::data(&e.body(Protocol::OpenAi)))
                    .await
                    .is_err();
            }
        }
        if let Some(a) = attempt
            && let Some(model) = state.catalog.models().get(a.model)
        {
            dispatch::remember_tool_calls(
                &state,
                self.tool_call_ids.iter().map(String::as_str),
                model,
            );
        }
        let usage = self.translator.usage();
        let outcome = Outcome::of_stream(
            attempt,
            usage,
            self.estimate,
            self.ttft,
            error.as_ref(),
            client_gone,
        );
        tracing::debug!(
            duration_ms = started.elapsed().as_millis() as u64,
            status = outcome.status,
            "stream ended"
        );
        ticket.record(&state, &plan, &requested_model, outcome);
    }

    /// Sends chunks in order; false once the client has gone away.
    async fn send_all(&mut self, chunks: Vec<ChatCompletionChunk>) -> bool {
        for mut chunk in chunks {
            for choice in &mut chunk.choices {
                if let (Some(text), Some(prefix)) = (choice.delta.content.as_mut(), &self.prefix)
                    && !text.is_empty()
                {
                    text.insert_str(0, prefix);
                    self.prefix = None;
                }
                self.estimate.output_chars += choice.delta.content.as_ref().map_or(0, String::len);
                for call in choice.delta.tool_calls.iter().flatten() {
                    self.tool_call_ids.extend(call.id.clone());
                    self.estimate.output_chars +=
                        call.function.arguments.as_ref().map_or(0, String::len);
                }
            }
            if self.tx.send(sse::data(&chunk)).await.is_err() {
                return false;
            }
        }
        true
    }
}
