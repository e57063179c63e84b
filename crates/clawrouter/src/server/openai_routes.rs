//! `POST /v1/chat/completions` on the pipeline: OpenAI's Chat Completions,
//! translated to Bedrock Converse and back, whole or as `data:` SSE chunks
//! ending in `data: [DONE]`.

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
use crate::bedrock::{ConverseOutput, ConverseRequest, ConverseStreamEvent};
use crate::catalog::{Model, TokenUsage};
use crate::openai::{self, ChatCompletionChunk, ChatCompletionRequest, StreamTranslator};
use crate::router::RouteInput;

/// The Chat Completions wire format.
pub struct ChatCompletions;

impl WireFormat for ChatCompletions {
    type Request = ChatCompletionRequest;
    type Upstream = Converse;
    type Stream = ChunkStream;

    const ROUTE: &'static str = "/v1/chat/completions";
    const PROTOCOL: Protocol = Protocol::OpenAi;

    fn parse(_headers: &HeaderMap, body: &[u8]) -> Result<ChatCompletionRequest, ApiError> {
        json_body(body)
    }

    fn requested_model(req: &ChatCompletionRequest) -> &str {
        &req.model
    }

    fn wants_stream(req: &ChatCompletionRequest) -> bool {
        req.wants_stream()
    }

    fn route_input(req: &ChatCompletionRequest) -> RouteInput<'_> {
        openai::route_input(req)
    }

    fn strip_override_tag(req: &mut ChatCompletionRequest) {
        openai::strip_override_tag(req);
    }

    fn input_token_estimate(req: &ChatCompletionRequest) -> u64 {
        u64::try_from(openai::route_input(req).context_chars / 4).unwrap_or(0)
    }

    fn upstream_call(
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

    fn adapt_reply(
        _req: &ChatCompletionRequest,
        reply: ConverseOutput,
        ctx: &ReplyContext<'_>,
    ) -> Result<WholeReply, ApiError> {
        let mut completion = openai::from_converse(
            &reply,
            &ctx.model.name,
            &response_id("chatcmpl-"),
            unix_now(),
        );
        let mut tool_call_ids = Vec::new();
        if let Some(message) = completion.choices.first_mut().map(|c| &mut c.message) {
            tool_call_ids.extend(message.tool_calls.iter().flatten().map(|c| c.id.clone()));
            if let (Some(prefix), Some(text)) = (ctx.prefix, message.content.as_mut()) {
                text.insert_str(0, prefix);
            }
        }
        Ok(WholeReply {
            response: Json(completion).into_response(),
            usage: reply.usage().map(openai::token_usage).unwrap_or_default(),
            tool_call_ids,
        })
    }

    fn adapt_stream(req: &ChatCompletionRequest, ctx: &ReplyContext<'_>) -> ChunkStream {
        ChunkStream {
            translator: StreamTranslator::new(
                &ctx.model.name,
                &response_id("chatcmpl-"),
                unix_now(),
                req.include_usage(),
            ),
            prefix: ctx.prefix.map(str::to_owned),
            tool_call_ids: Vec::new(),
            output_chars: 0,
        }
    }
}

/// Converse stream events as `chat.completion.chunk`s.
pub struct ChunkStream {
    translator: StreamTranslator,
    /// Goes before the first non-empty text, then is spent.
    prefix: Option<String>,
    tool_call_ids: Vec<String>,
    output_chars: usize,
}

impl ChunkStream {
    fn frame(&mut self, chunks: Vec<ChatCompletionChunk>, frames: &mut Vec<Bytes>) {
        for mut chunk in chunks {
            for choice in &mut chunk.choices {
                if let (Some(text), Some(prefix)) = (choice.delta.content.as_mut(), &self.prefix)
                    && !text.is_empty()
                {
                    text.insert_str(0, prefix);
                    self.prefix = None;
                }
                self.output_chars += choice.delta.content.as_ref().map_or(0, String::len);
                for call in choice.delta.tool_calls.iter().flatten() {
                    self.tool_call_ids.extend(call.id.clone());
                    self.output_chars += call.function.arguments.as_ref().map_or(0, String::len);
                }
            }
            frames.push(sse::data(&chunk));
        }
    }
}

impl StreamAdapter for ChunkStream {
    type Event = ConverseStreamEvent;

    fn on_event(
        &mut self,
        event: &ConverseStreamEvent,
        frames: &mut Vec<Bytes>,
    ) -> Result<(), ApiError> {
        let chunks = self.translator.on_event(event);
        self.frame(chunks, frames);
        Ok(())
    }

    fn finish(&mut self, frames: &mut Vec<Bytes>) -> Result<(), ApiError> {
        let tail = self.translator.finish();
        self.frame(tail, frames);
        frames.push(Bytes::from_static(sse::DONE));
        Ok(())
    }

    fn error_frame(&self, error: &ApiError) -> Bytes {
        sse::data(&error.body(Protocol::OpenAi))
    }

    fn usage(&self) -> TokenUsage {
        self.translator.usage()
    }

    fn tool_call_ids(&self) -> &[String] {
        &self.tool_call_ids
    }

    fn output_chars(&self) -> usize {
        self.output_chars
    }
}
