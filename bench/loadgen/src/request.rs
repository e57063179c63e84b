//! The request each target gets, and how its response is read: the double
//! answers a stream in AWS event-stream frames, a proxy in SSE events.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Request};
use http_body_util::Full;
use serde_json::json;

/// The bedrock double's default keys (`bedrock_double::TEST_ACCESS_KEY_ID` /
/// `TEST_SECRET_ACCESS_KEY`, AWS's documentation example pair).
const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// SigV4-signed Converse(Stream) to the bedrock double.
    Direct,
    /// OpenAI chat completion to a proxy.
    Openai,
    /// OpenAI Responses API call (`POST /v1/responses`, stateless) to a proxy.
    Responses,
}

/// Everything about the request that does not change between sends.
pub struct Workload {
    target: Target,
    host: String,
    /// Path and query, as sent (the model id percent-encoded like the AWS SDK does).
    path: String,
    body: Bytes,
    key: HeaderValue,
    identity: Identity,
    pub stream: bool,
}

impl Workload {
    pub fn new(
        target: Target,
        url: &str,
        key: &str,
        model: &str,
        prompt: &str,
        max_tokens: u32,
        stream: bool,
    ) -> anyhow::Result<Self> {
        let host = url
            .strip_prefix("http://")
            .context("the URL must start with http://")?
            .trim_end_matches('/')
            .to_owned();
        let (path, body) = match target {
            Target::Direct => {
                let op = if stream {
                    "converse-stream"
                } else {
                    "converse"
                };
                let body = json!({
                    "messages": [{"role": "user", "content": [{"text": prompt}]}],
                    "inferenceConfig": {"maxTokens": max_tokens},
                });
                (format!("/model/{}/{op}", model.replace(':', "%3A")), body)
            }
            Target::Openai => {
                let body = json!({
                    "model": model,
                    "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": max_tokens,
                    "stream": stream,
                });
                ("/v1/chat/completions".to_owned(), body)
            }
            Target::Responses => {
                // What Codex sends, reduced to the fields that matter here.
                let body = json!({
                    "model": model,
                    "input": prompt,
                    "max_output_tokens": max_tokens,
                    "stream": stream,
                    "store": false,
                });
                ("/v1/responses".to_owned(), body)
            }
        };
        Ok(Workload {
            target,
            host,
            path,
            body: Bytes::from(serde_json::to_vec(&body)?),
            key: HeaderValue::from_str(&format!("Bearer {key}"))?,
            identity: Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "bench")
                .into(),
            stream,
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// A fresh request; `direct` ones are signed now, as an SDK signs each call.
    pub fn build(&self) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut req = Request::post(&self.path)
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(self.body.clone()))?;
        match self.target {
            Target::Openai | Target::Responses => {
                req.headers_mut().insert(AUTHORIZATION, self.key.clone());
            }
            Target::Direct => self.sign(&mut req)?,
        }
        Ok(req)
    }

    fn sign(&self, req: &mut Request<Full<Bytes>>) -> anyhow::Result<()> {
        let params = SigningParams::builder()
            .identity(&self.identity)
            .region(REGION)
            .name("bedrock")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let uri = format!("http://{}{}", self.host, self.path);
        let headers = [
            ("host", self.host.as_str()),
            ("content-type", "application/json"),
        ];
        let signable = SignableRequest::new(
            "POST",
            &uri,
            headers.into_iter(),
            SignableBody::Bytes(&self.body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }

    pub fn event_counter(&self) -> EventCounter {
        EventCounter {
            framing: match self.target {
                Target::Direct => Framing::EventStream,
                Target::Openai => Framing::ChatSse,
                Target::Responses => Framing::ResponsesSse,
            },
            buf: Vec::new(),
            first_content: None,
            last_content: None,
            content_events: 0,
        }
    }
}

enum Framing {
    /// AWS event stream: binary frames, a 12-byte prelude whose first 4
    /// bytes are the frame's total length.
    EventStream,
    /// `data: …\n\n` events of a chat completion stream.
    ChatSse,
    /// `event: …\ndata: …\n\n` events of a Responses stream.
    ResponsesSse,
}

/// Finds the events in a response body that carry model text, and when they arrived.
pub struct EventCounter {
    framing: Framing,
    buf: Vec<u8>,
    pub first_content: Option<Duration>,
    pub last_content: Option<Duration>,
    pub content_events: u32,
}

impl EventCounter {
    /// Takes the next body bytes, received `at` after the request was sent.
    pub fn feed(&mut self, data: &[u8], at: Duration) {
        self.buf.extend_from_slice(data);
        while let Some(len) = self.complete_event() {
            let event: Vec<u8> = self.buf.drain(..len).collect();
            if self.carries_text(&event) {
                self.first_content.get_or_insert(at);
                self.last_content = Some(at);
                self.content_events += 1;
            }
        }
    }

    /// Length of the first complete event in the buffer.
    fn complete_event(&self) -> Option<usize> {
        match self.framing {
            Framing::EventStream => {
                let prelude: [u8; 4] = self.buf.get(..4)?.try_into().ok()?;
                let len = u32::from_be_bytes(prelude) as usize;
                (len >= 16 && self.buf.len() >= len).then_some(len)
            }
            Framing::ChatSse | Framing::ResponsesSse => self
                .buf
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|end| end + 2),
        }
    }

    fn carries_text(&self, event: &[u8]) -> bool {
        match self.framing {
            // The `:event-type` header names it; it sits before the payload.
            Framing::EventStream => contains(event, b"contentBlockDelta"),
            // A non-empty `"content": "…"` (LiteLLM writes a space after the colon).
            Framing::ChatSse => find(event, b"\"content\":").is_some_and(|at| {
                let rest = &event[at + 10..];
                let rest = rest.strip_prefix(b" ").unwrap_or(rest);
                rest.starts_with(b"\"") && !rest.starts_with(b"\"\"")
            }),
            // Text arrives only in `response.output_text.delta` events.
            Framing::ResponsesSse => contains(event, b"response.output_text.delta"),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}
