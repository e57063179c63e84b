//! What a wire format (a client protocol: Chat Completions, Messages, …) is
//! to the request pipeline: how to read its requests, what the router and
//! Bedrock get from one, and how Bedrock's answer goes back to its clients,
//! whole or as a stream. The pipeline ([`super::pipeline`]) does everything
//! else once for all formats: planning, fallback, health, stickiness and the
//! ledger.
//!
//! A format's upstream is one of two Bedrock APIs ([`Upstream`]): Converse,
//! for formats that need translating (OpenAI's), or InvokeModel with
//! Anthropic's native body (the Messages API).

use std::future::Future;

use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{ApiError, Protocol};
use crate::adjust::Adjustments;
use crate::bedrock::{
    BedrockClient, ConverseEvents, ConverseOutput, ConverseRequest, ConverseStreamEvent,
    InvokeEvents, UpstreamError,
};
use crate::catalog::{Catalog, Model, TokenUsage};
use crate::router::RouteInput;

/// A client protocol served on the pipeline.
pub trait WireFormat: Send + Sync + 'static {
    /// A parsed request (with whatever else of the HTTP request it needs).
    type Request: Send + Sync + 'static;
    /// The Bedrock API this format is served by.
    type Upstream: Upstream;
    /// Turns one upstream stream into the client's frames.
    type Stream: StreamAdapter<Event = <Self::Upstream as Upstream>::Event>;

    /// The route recorded in the ledger.
    const ROUTE: &'static str;
    /// The error shape its clients read.
    const PROTOCOL: Protocol;

    /// Reads a JSON body (already checked to be JSON and within the size
    /// limit); [`json_body`] for a format that needs nothing else.
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self::Request, ApiError>;
    /// The model as the client named it (`auto` to let the router choose).
    fn requested_model(req: &Self::Request) -> &str;
    fn wants_stream(req: &Self::Request) -> bool;
    /// The signals the router decides on.
    fn route_input(req: &Self::Request) -> RouteInput<'_>;
    /// Cuts the override tag (`[low] …`) the router has read, so the model
    /// does not see it.
    fn strip_override_tag(req: &mut Self::Request);
    /// Input tokens to account for a stream cut before Bedrock reported usage.
    fn input_token_estimate(req: &Self::Request) -> u64;
    /// The upstream call for one candidate model, fitted to its rules, and
    /// what was changed to fit them.
    fn upstream_call(
        req: &Self::Request,
        model: &Model,
        profile_id: &str,
    ) -> Result<(<Self::Upstream as Upstream>::Call, Adjustments), ApiError>;
    /// A whole upstream answer, as the client's response.
    fn adapt_reply(
        req: &Self::Request,
        reply: <Self::Upstream as Upstream>::Reply,
        ctx: &ReplyContext<'_>,
    ) -> Result<WholeReply, ApiError>;
    /// The adapter for one streamed answer.
    fn adapt_stream(req: &Self::Request, ctx: &ReplyContext<'_>) -> Self::Stream;
    /// Headers of the format's own for every answer, whole or streamed
    /// (e.g. which requested features were dropped).
    fn response_headers(_req: &Self::Request) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// What adapting an answer may depend on besides the request.
pub struct ReplyContext<'a> {
    pub catalog: &'a Catalog,
    /// The model that answered.
    pub model: &'a Model,
    /// Goes before the reply's first text (the `[low] ` tier tag), when set.
    pub prefix: Option<&'a str>,
}

/// A whole answer ready to send, and what the pipeline records of it.
pub struct WholeReply {
    pub response: Response,
    pub usage: TokenUsage,
    /// Ids of the tools the model called (for routing the next turn back).
    pub tool_call_ids: Vec<String>,
}

/// One streamed answer, event by event, in a client's framing.
pub trait StreamAdapter: Send + 'static {
    type Event: Send + 'static;
    /// Appends the client frames (zero or more) for one upstream event.
    fn on_event(&mut self, event: &Self::Event, frames: &mut Vec<Bytes>) -> Result<(), ApiError>;
    /// Appends the frames that close a stream Bedrock ended; an error when
    /// the stream ended before the answer was complete.
    fn finish(&mut self, frames: &mut Vec<Bytes>) -> Result<(), ApiError>;
    /// True once the frames produced so far end the answer (its last
    /// event), so the pump holds them until the ledger row is safe. A
    /// format whose end comes only from `finish` keeps the default.
    fn is_complete(&self) -> bool {
        false
    }
    /// The last frame of a stream that failed after it started.
    fn error_frame(&self, error: &ApiError) -> Bytes;
    /// Tokens reported so far.
    fn usage(&self) -> TokenUsage;
    /// Ids of the tools the model called so far.
    fn tool_call_ids(&self) -> &[String];
    /// Characters generated so far, for estimating the output of a cut stream.
    fn output_chars(&self) -> usize;
}

/// A Bedrock API, whole and streamed.
pub trait Upstream: Send + Sync + 'static {
    type Call: Send + 'static;
    type Reply: Send + 'static;
    type Event: Send + 'static;
    type Events: Send + 'static;

    fn call<'a>(
        bedrock: &'a BedrockClient,
        profile_id: &'a str,
        call: Self::Call,
    ) -> impl Future<Output = Result<Self::Reply, UpstreamError>> + Send + 'a;
    fn open_stream<'a>(
        bedrock: &'a BedrockClient,
        profile_id: &'a str,
        call: Self::Call,
    ) -> impl Future<Output = Result<Self::Events, UpstreamError>> + Send + 'a;
    /// The next event; `None` at the end of the stream.
    fn next(
        events: &mut Self::Events,
    ) -> impl Future<Output = Result<Option<Self::Event>, UpstreamError>> + Send + '_;
    /// Adds prompt cache points for a client that cannot ask for them (the
    /// `auto_cache` setting); nothing for a format that has its own markers.
    fn add_cache_points(_call: &mut Self::Call, _model: &Model) {}
}

/// Converse / ConverseStream; the request names its profile itself.
pub struct Converse;

impl Upstream for Converse {
    type Call = ConverseRequest;
    type Reply = ConverseOutput;
    type Event = ConverseStreamEvent;
    type Events = ConverseEvents;

    fn call<'a>(
        bedrock: &'a BedrockClient,
        _profile_id: &'a str,
        call: ConverseRequest,
    ) -> impl Future<Output = Result<ConverseOutput, UpstreamError>> + Send + 'a {
        bedrock.converse(call)
    }

    fn open_stream<'a>(
        bedrock: &'a BedrockClient,
        _profile_id: &'a str,
        call: ConverseRequest,
    ) -> impl Future<Output = Result<ConverseEvents, UpstreamError>> + Send + 'a {
        bedrock.converse_stream(call)
    }

    fn next(
        events: &mut ConverseEvents,
    ) -> impl Future<Output = Result<Option<ConverseStreamEvent>, UpstreamError>> + Send + '_ {
        events.next()
    }

    /// Chat Completions and Responses have no cache markers of their own.
    fn add_cache_points(call: &mut ConverseRequest, model: &Model) {
        crate::prompt_cache::add_cache_points(call, model);
    }
}

/// InvokeModel / InvokeModelWithResponseStream with a native JSON body;
/// each stream event is one JSON chunk.
pub struct InvokeModel;

impl Upstream for InvokeModel {
    type Call = Bytes;
    type Reply = Bytes;
    type Event = Bytes;
    type Events = InvokeEvents;

    fn call<'a>(
        bedrock: &'a BedrockClient,
        profile_id: &'a str,
        body: Bytes,
    ) -> impl Future<Output = Result<Bytes, UpstreamError>> + Send + 'a {
        bedrock.invoke(profile_id, body)
    }

    fn open_stream<'a>(
        bedrock: &'a BedrockClient,
        profile_id: &'a str,
        body: Bytes,
    ) -> impl Future<Output = Result<InvokeEvents, UpstreamError>> + Send + 'a {
        bedrock.invoke_stream(profile_id, body)
    }

    fn next(
        events: &mut InvokeEvents,
    ) -> impl Future<Output = Result<Option<Bytes>, UpstreamError>> + Send + '_ {
        events.next()
    }
}

/// A JSON body as the request type, or a 400 saying why not.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("request body is not valid for this route: {e}"))
    })
}
