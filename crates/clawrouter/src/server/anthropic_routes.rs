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

use super::pipeline;
use super::wire_format::{
    InvokeModel, ReplyContext, StreamAdapter, WholeReply, WireFormat, json_body,
};
use super::{ApiError, AppState, Protocol, sse};
use crate::adjust::Adjustments;
use crate::anthropic::{self, AnthropicError, MessagesRequest, StreamRelay};
use crate::bedrock::UpstreamError;
use crate::catalog::{Model, TokenUsage};
use crate::router::RouteInput;

/// How long `count_tokens` waits for Bedrock before estimating instead.
const COUNT_TOKENS_TIMEOUT: Duration = Duration::from_secs(10);

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
        let (call, plan) = pipeline::parse_and_plan::<Messages>(&state, &headers, body)?;
        let Some(attempt) = plan.candidates.first() else {
            return Err(ApiError::NoCandidate("no model for this request".into()));
        };
        let body = anthropic::count_tokens_body(&call.req, call.betas.as_deref(), &attempt.model)
            .map_err(api_error)?;
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
                anthropic::estimate_tokens(&call.req)
            }
        };
        Ok(axum::Json(json!({"input_tokens": input_tokens})).into_response())
    };
    result
        .await
        .unwrap_or_else(|e| e.into_response_for(Protocol::Anthropic))
}

/// The Messages wire format: Anthropic's own body, sent to InvokeModel.
pub struct Messages;

/// A Messages request and its `anthropic-beta` header values.
pub struct MessagesCall {
    req: MessagesRequest,
    betas: Option<String>,
}

impl WireFormat for Messages {
    type Request = MessagesCall;
    type Upstream = InvokeModel;
    type Stream = EventStream;

    const ROUTE: &'static str = "/v1/messages";
    const PROTOCOL: Protocol = Protocol::Anthropic;

    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<MessagesCall, ApiError> {
        Ok(MessagesCall {
            req: json_body(body)?,
            betas: beta_header(headers),
        })
    }

    fn requested_model(call: &MessagesCall) -> &str {
        &call.req.model
    }

    fn wants_stream(call: &MessagesCall) -> bool {
        call.req.stream
    }

    fn route_input(call: &MessagesCall) -> RouteInput<'_> {
        anthropic::route_input(&call.req)
    }

    fn strip_override_tag(call: &mut MessagesCall) {
        anthropic::strip_override_tag(&mut call.req);
    }

    fn input_token_estimate(call: &MessagesCall) -> u64 {
        anthropic::estimate_tokens(&call.req)
    }

    fn upstream_call(
        call: &MessagesCall,
        model: &Model,
        _profile_id: &str,
    ) -> Result<(Bytes, Adjustments), ApiError> {
        anthropic::bedrock_body(&call.req, call.betas.as_deref(), model).map_err(api_error)
    }

    fn adapt_reply(
        call: &MessagesCall,
        reply: Bytes,
        ctx: &ReplyContext<'_>,
    ) -> Result<WholeReply, ApiError> {
        let name = anthropic::response_model_name(ctx.catalog, &call.req.model, ctx.model);
        let message = anthropic::relay_message(&reply, &name, ctx.prefix).map_err(api_error)?;
        let mut response = Response::new(axum::body::Body::from(message.body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(WholeReply {
            response,
            usage: message.usage,
            tool_call_ids: message.tool_use_ids,
        })
    }

    fn adapt_stream(call: &MessagesCall, ctx: &ReplyContext<'_>) -> EventStream {
        EventStream(StreamRelay::new(
            anthropic::response_model_name(ctx.catalog, &call.req.model, ctx.model),
            ctx.prefix.map(str::to_owned),
        ))
    }
}

/// Bedrock's Anthropic event chunks, relayed as named SSE events. A stream
/// that ends before `message_stop` was cut off and ends in an `error` event.
pub struct EventStream(StreamRelay);

impl StreamAdapter for EventStream {
    type Event = Bytes;

    fn on_event(&mut self, chunk: &Bytes, frames: &mut Vec<Bytes>) -> Result<(), ApiError> {
        let event = self.0.relay(chunk).map_err(api_error)?;
        frames.push(sse::named(&event.name, &event.data));
        Ok(())
    }

    /// `message_stop` was relayed.
    fn is_complete(&self) -> bool {
        self.0.is_complete()
    }

    fn finish(&mut self, _frames: &mut Vec<Bytes>) -> Result<(), ApiError> {
        if self.0.is_complete() {
            Ok(())
        } else {
            Err(ApiError::Upstream(UpstreamError::Unavailable {
                status: 502,
                message: "the Bedrock stream ended before message_stop".into(),
            }))
        }
    }

    fn error_frame(&self, error: &ApiError) -> Bytes {
        let body = error.body(Protocol::Anthropic).to_string();
        sse::named("error", body.as_bytes())
    }

    fn usage(&self) -> TokenUsage {
        self.0.usage()
    }

    fn tool_call_ids(&self) -> &[String] {
        self.0.tool_use_ids()
    }

    fn output_chars(&self) -> usize {
        self.0.generated_chars()
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
