//! `POST /v1/responses` on the pipeline: OpenAI's Responses API (stateless),
//! translated to Bedrock Converse and back, whole or as named SSE events
//! (`event: response.output_text.delta` …) ending in `response.completed`.

use std::time::Duration;

use axum::Json;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use bytes::Bytes;

use super::pipeline::{response_id, unix_now};
use super::wire_format::{
    Converse, ReplyContext, StreamAdapter, WholeReply, WireFormat, json_body,
};
use super::{ApiError, Protocol, sse};
use crate::adjust::Adjustments;
use crate::bedrock::{ConverseOutput, ConverseRequest, ConverseStreamEvent, UpstreamError};
use crate::catalog::{Model, TokenUsage};
use crate::openai::TranslateError;
use crate::responses::{
    self, OutputContent, OutputItem, Prepared, ResponseContext, ResponseError, StreamEvent,
    StreamTranslator,
};
use crate::router::RouteInput;

/// Names the hosted tools (`web_search`, …) left out because Bedrock cannot run them.
const DROPPED_TOOLS_HEADER: &str = "x-clawrouter-dropped-tools";
/// The wait suggested to a throttled client when Bedrock gave none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The Responses wire format.
pub struct Responses;

impl WireFormat for Responses {
    type Request = Prepared;
    type Upstream = Converse;
    type Stream = EventStream;

    const ROUTE: &'static str = "/v1/responses";
    const PROTOCOL: Protocol = Protocol::OpenAi;

    fn parse(_headers: &HeaderMap, body: &[u8]) -> Result<Prepared, ApiError> {
        Prepared::new(json_body(body)?).map_err(|e| bad_request(&e))
    }

    fn requested_model(req: &Prepared) -> &str {
        &req.request.model
    }

    fn wants_stream(req: &Prepared) -> bool {
        req.request.wants_stream()
    }

    fn route_input(req: &Prepared) -> RouteInput<'_> {
        responses::route_input(&req.request)
    }

    fn strip_override_tag(req: &mut Prepared) {
        responses::strip_override_tag(&mut req.request);
    }

    fn input_token_estimate(req: &Prepared) -> u64 {
        u64::try_from(responses::route_input(&req.request).context_chars / 4).unwrap_or(0)
    }

    fn upstream_call(
        req: &Prepared,
        model: &Model,
        profile_id: &str,
    ) -> Result<(ConverseRequest, Adjustments), ApiError> {
        responses::to_converse(req, model, profile_id).map_err(|e| bad_request(&e))
    }

    fn adapt_reply(
        req: &Prepared,
        reply: ConverseOutput,
        ctx: &ReplyContext<'_>,
    ) -> Result<WholeReply, ApiError> {
        let mut response = responses::from_converse(&reply, &context(req, ctx));
        if let Some(prefix) = ctx.prefix
            && let Some(OutputContent::OutputText { text, .. }) =
                response.output.iter_mut().find_map(|item| match item {
                    OutputItem::Message { content, .. } => content.first_mut(),
                    _ => None,
                })
        {
            text.insert_str(0, prefix);
        }
        let tool_call_ids = response
            .output
            .iter()
            .filter_map(|item| match item {
                OutputItem::FunctionCall { call_id, .. }
                | OutputItem::CustomToolCall { call_id, .. } => Some(call_id.clone()),
                _ => None,
            })
            .collect();
        Ok(WholeReply {
            response: Json(response).into_response(),
            usage: reply
                .usage()
                .map(crate::openai::token_usage)
                .unwrap_or_default(),
            tool_call_ids,
        })
    }

    fn adapt_stream(req: &Prepared, ctx: &ReplyContext<'_>) -> EventStream {
        let mut translator = StreamTranslator::new(context(req, ctx), ctx.prefix);
        let mut opening = Vec::new();
        frame(translator.start(), &mut opening);
        EventStream {
            translator,
            opening,
            tool_call_ids: Vec::new(),
        }
    }

    fn response_headers(req: &Prepared) -> Vec<(&'static str, String)> {
        let dropped = &req.tools.dropped;
        if dropped.is_empty() {
            return Vec::new();
        }
        vec![(DROPPED_TOOLS_HEADER, dropped.join(", "))]
    }
}

fn context(req: &Prepared, ctx: &ReplyContext<'_>) -> ResponseContext {
    ResponseContext::new(
        &req.request,
        req.tools.clone(),
        &ctx.model.name,
        &response_id("resp_"),
        unix_now(),
    )
}

fn bad_request(e: &TranslateError) -> ApiError {
    ApiError::BadRequest {
        message: e.to_string(),
        param: e.param().map(str::to_owned),
        code: e.code(),
    }
}

fn frame(events: Vec<StreamEvent>, frames: &mut Vec<Bytes>) {
    for event in events {
        let json = serde_json::to_vec(&event).unwrap_or_else(|_| b"{}".to_vec());
        frames.push(sse::named(event.name(), &json));
    }
}

/// Converse stream events as Responses events.
pub struct EventStream {
    translator: StreamTranslator,
    /// `response.created` and `.in_progress`, sent before the first event.
    opening: Vec<Bytes>,
    tool_call_ids: Vec<String>,
}

impl StreamAdapter for EventStream {
    type Event = ConverseStreamEvent;

    fn on_event(
        &mut self,
        event: &ConverseStreamEvent,
        frames: &mut Vec<Bytes>,
    ) -> Result<(), ApiError> {
        frames.append(&mut self.opening);
        frame(self.translator.on_event(event), frames);
        self.tool_call_ids = self.translator.tool_call_ids();
        Ok(())
    }

    fn finish(&mut self, frames: &mut Vec<Bytes>) -> Result<(), ApiError> {
        frames.append(&mut self.opening);
        if !self.translator.stopped() {
            return Err(ApiError::Upstream(UpstreamError::ModelError {
                message: "the stream ended before the answer was complete".into(),
            }));
        }
        frame(self.translator.finish(), frames);
        self.tool_call_ids = self.translator.tool_call_ids();
        Ok(())
    }

    fn error_frame(&self, error: &ApiError) -> Bytes {
        let mut frames = Vec::new();
        frame(
            vec![self.translator.fail(response_error(error))],
            &mut frames,
        );
        frames.pop().unwrap_or_default()
    }

    fn usage(&self) -> TokenUsage {
        self.translator.usage()
    }

    fn tool_call_ids(&self) -> &[String] {
        &self.tool_call_ids
    }

    fn output_chars(&self) -> usize {
        self.translator.output_chars()
    }
}

/// A failure in the codes Codex acts on (openai/codex,
/// `codex-rs/codex-api/src/sse/responses.rs`): `context_length_exceeded`
/// ends the turn with a hint to compact, `insufficient_quota` stops, and
/// `rate_limit_exceeded` is retried after the "try again in N s" it reads
/// from the message; any other code is retried with backoff.
fn response_error(error: &ApiError) -> ResponseError {
    let message = error.to_string();
    let retry = |after: Option<Duration>| ResponseError {
        code: "rate_limit_exceeded".to_owned(),
        message: format!(
            "{message}. Please try again in {}s.",
            after.unwrap_or(DEFAULT_RETRY_AFTER).as_secs().max(1)
        ),
    };
    match error {
        ApiError::Upstream(UpstreamError::Throttled { retry_after, .. }) => retry(*retry_after),
        ApiError::Overloaded { .. } => retry(None),
        ApiError::BudgetExceeded { .. } => ResponseError {
            code: "insufficient_quota".to_owned(),
            message,
        },
        ApiError::Upstream(UpstreamError::Validation { message: upstream })
            if is_context_overflow(upstream) =>
        {
            ResponseError {
                code: "context_length_exceeded".to_owned(),
                message,
            }
        }
        other => ResponseError {
            code: other.code().to_owned(),
            message,
        },
    }
}

/// Bedrock's and Claude's words for an input over the context window:
/// "Input is too long for requested model", "prompt is too long: N tokens > M maximum".
fn is_context_overflow(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("too long") || message.contains("context window")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_the_codes_codex_acts_on() {
        let throttled = ApiError::Upstream(UpstreamError::Throttled {
            message: "Too many requests".into(),
            retry_after: Some(Duration::from_secs(7)),
        });
        let e = response_error(&throttled);
        assert_eq!(e.code, "rate_limit_exceeded");
        assert!(
            e.message.ends_with("Please try again in 7s."),
            "{}",
            e.message
        );
        let e = response_error(&ApiError::Overloaded(
            "the concurrent request limit is reached",
        ));
        assert!(e.message.ends_with("try again in 2s."), "{}", e.message);
        let long = ApiError::Upstream(UpstreamError::Validation {
            message: "Input is too long for requested model.".into(),
        });
        assert_eq!(response_error(&long).code, "context_length_exceeded");
        let budget = ApiError::BudgetExceeded {
            message: "the daily budget of $5 is spent".into(),
        };
        assert_eq!(response_error(&budget).code, "insufficient_quota");
        let other = ApiError::Upstream(UpstreamError::Validation {
            message: "bad tool schema".into(),
        });
        assert_eq!(response_error(&other).code, "upstream_validation");
    }
}
