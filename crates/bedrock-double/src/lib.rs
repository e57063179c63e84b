//! A local stand-in for AWS Bedrock Runtime, real enough that the official
//! SDKs (Rust `aws-sdk-bedrockruntime`, boto3, `anthropic.AnthropicBedrock`)
//! cannot tell it from Bedrock. It is the upstream for the proxy's tests, the
//! benchmarks and the offline demo.
//!
//! # What it serves (127.0.0.1 only)
//! - `POST /model/{modelId}/converse`, `/converse-stream`, `/invoke`,
//!   `/invoke-with-response-stream`, `/count-tokens` (model id raw or
//!   percent-encoded), every one SigV4-verified against the configured keys.
//! - The control plane (service `bedrock`, which the SDKs select with
//!   `AWS_ENDPOINT_URL_BEDROCK`; same port, routed by path), SigV4-verified:
//!   `GET /inference-profiles` (ListInferenceProfiles, paged),
//!   `GET /foundation-models` (ListFoundationModels with `modelLifecycle`),
//!   `GET /foundation-model-availability/{modelId}`. Answers depend on the
//!   region the request is signed for (`jp.` profiles only from Japan…).
//! - `GET /__double/stats` (unauthenticated): [`Stats`] as JSON.
//!
//! # Today's Claude lineup, as data
//! `claude-models.yaml` (in this crate, with sources) lists the Claude models
//! Bedrock serves: base id, geographies with a profile, lifecycle, output
//! limit, thinking style, sampling and tool-choice rules. An id not in it is
//! "The provided model identifier is invalid."; a bare base id gets the
//! on-demand ValidationException; a model past its end of life (Sonnet 4
//! from 2026-10-14) the end-of-life ResourceNotFoundException; each model's
//! request rules are enforced on every operation, CountTokens included, with
//! Bedrock's messages (the 5.x family refuses the budget thinking form,
//! Sonnet/Opus 5.5 refuse `thinking: disabled` and forced tool choice, the
//! 5.5 models refuse non-default sampling parameters, …). With budget-form
//! thinking asked for, a request whose closing tool results answer an
//! assistant turn that does not start with its thinking is refused, as on
//! every model; adaptive thinking takes such a turn.
//!
//! # Access denial
//! [`DoubleConfig::denied_models`] (`--deny-model ID`, repeatable, or
//! `BEDROCK_DOUBLE_DENY_MODELS=ID,ID`) plays an account without access to a
//! model: its invocations answer AccessDeniedException (403) and
//! GetFoundationModelAvailability shows it `NOT_AUTHORIZED`; listing still
//! offers it, as Bedrock's does. For one request, `[[double:status=403]]`
//! with `only=` does the same.
//!
//! # Data retention
//! The account's data retention mode starts at `inherit`, as a fresh
//! account's does ([`DoubleConfig::data_retention`], `--data-retention`,
//! `BEDROCK_DOUBLE_DATA_RETENTION`), and GetAccountDataRetention /
//! PutAccountDataRetention read and set it. A model with `data_retention`
//! in `claude-models.yaml` (Claude Fable) refuses every invocation under any
//! other mode with Bedrock's ValidationException.
//!
//! # A model newer than the client's catalog
//! [`DoubleConfig::extra_models`] (`--extra-model anthropic.claude-…`,
//! repeatable, or `BEDROCK_DOUBLE_EXTRA_MODELS=ID,ID`) adds a Claude model
//! the table lacks, as Bedrock does when it launches one: offered in every
//! geography, listed by the control plane, invocable, and taking any
//! request the newest models take (both thinking forms, any sampling).
//!
//! # Deterministic replies
//! - Text: `Reply from {modelId}: {prompt}` where `{prompt}` is the first 120
//!   characters of the last user message's text, directives removed and
//!   whitespace collapsed (`Reply from {modelId}.` when that text is empty).
//!   `{modelId}` is the id as decoded from the path.
//! - A tool choice that forces a tool (`tool` by name, or `any`: the first
//!   tool) makes the reply call it, as `tool=NAME` below does.
//! - With thinking enabled, a reasoning block `Thinking about: {first 60
//!   chars}` with a signature comes first. Its text is empty (the signature
//!   and the output tokens unchanged) where `thinking.display` is `omitted`,
//!   the default of the models marked `thinking_display: omitted`. The
//!   signature names the model that wrote it: a model marked
//!   `thinking_bound` refuses a replayed block another model signed.
//! - Tokens: `ceil(chars / 4)`, minimum 1. Input counts every string in
//!   system, messages and tools except binary payloads (`bytes`, `data`),
//!   tags, ids and signatures; output counts the reply's text, reasoning and
//!   tool input JSON.
//! - Prompt caching, by prefix as Bedrock does it: a `cachePoint` (Converse)
//!   or a block carrying `cache_control` (invoke) caches the whole prompt
//!   before it, in the order tools → system → messages. A point counts only
//!   when it adds at least the model's minimum (`min_cache_tokens` in
//!   `claude-models.yaml`) since the previous counted point; below it nothing
//!   is cached and no error is given. The longest prefix this double instance
//!   already cached — at a point, or at a block boundary up to 20 blocks
//!   before one — is reported as cache *read*, what lies between it and the
//!   last counted point as cache *write*, and the rest as `inputTokens`
//!   (non-cached input). More than four points is Bedrock's 400.
//!
//! # Scriptable faults
//! Directives anywhere in the text of the LAST user message, `[[double:NAME]]`
//! or `[[double:NAME=VALUE]]`, several allowed, never echoed in the reply. An
//! unknown or malformed directive is a 400 ValidationException, so typos show.
//! - `throttle`: 429 ThrottlingException.
//! - `status=CODE`: that error (400 Validation, 403 AccessDenied, 404
//!   ResourceNotFound, 408 ModelTimeout, 424 ModelError, 429 Throttling, 500
//!   InternalServer, 503 ServiceUnavailable).
//! - `midstream[=EXCEPTION]` (streams only): the start and the first delta,
//!   then an exception frame (default `modelStreamErrorException`; also
//!   `throttlingException`, `internalServerException`,
//!   `serviceUnavailableException`, `validationException`, and for invoke
//!   streams `modelTimeoutException`), then the body ends.
//! - `delay=MS`: wait before the response headers. `chunk-delay=MS`: wait
//!   between stream events.
//! - `stall` (streams only): the start and the first delta, then silence
//!   until the client goes away.
//! - `tool=NAME`: after the text, call tool NAME (it must be in the request's
//!   tools) with each `required` property filled by type (string `"sample"`,
//!   number/integer 1, boolean true, array `[]`, object `{}`); id `tooluse_`
//!   (Converse) or `toolu_bdrk_01` (invoke) + 22 deterministic alphanumerics.
//! - `long=N`: the text is N words instead; cut at `max tokens` with stop
//!   reason `max_tokens` when longer (this cut applies to every reply).
//! - `stop=SEQ`: the text would continue with ` SEQ …`, so it ends right
//!   before SEQ with stop reason `stop_sequence`. Request stop sequences cut
//!   the same way.
//! - `on-demand`: the ValidationException Bedrock gives a bare model id
//!   ("… with on-demand throughput isn’t supported …") for the requested id.
//! - `retry-after=SECS`: error responses carry `Retry-After: SECS`.
//! - `only=TEXT`: the faults above (not `tool`, `long`, `stop`) apply only
//!   when the model id contains TEXT (`only=us.`, `only=sonnet-4-5`) — fail
//!   one candidate, let the next answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod control_plane;
mod converse;
mod count_tokens;
mod dates;
mod errors;
mod eventstream;
mod faults;
mod invoke;
mod limits;
mod lineup;
mod model_id;
mod reply;
mod rules;
mod server;
mod sigv4;
mod usage;

/// AWS documentation example access key id; the double's default credential.
pub const TEST_ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// AWS documentation example secret key, paired with [`TEST_ACCESS_KEY_ID`].
pub const TEST_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// How to run a double.
#[derive(Clone)]
pub struct DoubleConfig {
    /// Port on 127.0.0.1; 0 picks any free port.
    pub port: u16,
    /// Accepted `(access key id, secret access key)` pairs.
    pub credentials: Vec<(String, String)>,
    /// Models this account has no access to (base or profile ids): their
    /// invocations answer AccessDeniedException and the control plane shows
    /// them `NOT_AUTHORIZED`.
    pub denied_models: Vec<String>,
    /// Base ids (`anthropic.claude-…`) of Claude models the double serves
    /// besides its table: a model Bedrock launched after a client's catalog
    /// was written (see [`lineup::Lineup::with_extra`]).
    pub extra_models: Vec<String>,
    /// The account's data retention mode at start (`inherit`, as a fresh
    /// account; PutAccountDataRetention changes it).
    pub data_retention: String,
}

impl Default for DoubleConfig {
    fn default() -> Self {
        DoubleConfig {
            port: 0,
            credentials: vec![(
                TEST_ACCESS_KEY_ID.to_owned(),
                TEST_SECRET_ACCESS_KEY.to_owned(),
            )],
            denied_models: Vec::new(),
            extra_models: Vec::new(),
            data_retention: "inherit".to_owned(),
        }
    }
}

/// Secrets must not reach logs, so Debug shows only the key ids.
impl std::fmt::Debug for DoubleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.credentials.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("DoubleConfig")
            .field("port", &self.port)
            .field("access_key_ids", &ids)
            .field("denied_models", &self.denied_models)
            .field("extra_models", &self.extra_models)
            .field("data_retention", &self.data_retention)
            .finish()
    }
}

/// Requests that reached an operation handler (failing ones included), so
/// tests can assert whether the proxy called upstream at all.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Stats {
    pub requests: u64,
    /// Keyed by operation name: `Converse`, `ConverseStream`, `InvokeModel`,
    /// `InvokeModelWithResponseStream`, `CountTokens`.
    pub by_operation: BTreeMap<String, u64>,
    /// Keyed by model id as decoded from the path.
    pub by_model: BTreeMap<String, u64>,
    /// Event streams whose client went away before the last frame, so tests
    /// can see that a caller cancelled its upstream call.
    pub streams_abandoned: u64,
    /// Control-plane calls by operation (`ListInferenceProfiles`,
    /// `ListFoundationModels`, `GetFoundationModelAvailability`); not in
    /// `requests`.
    pub control_plane: BTreeMap<String, u64>,
}

/// A double serving in the background; dropping it without
/// [`RunningDouble::shutdown`] leaves the server running until the runtime ends.
pub struct RunningDouble {
    addr: SocketAddr,
    stats: Arc<Mutex<Stats>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningDouble {
    /// Base URL to use as the SDK's `endpoint_url`, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn stats(&self) -> Stats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops accepting and drops every open connection, stalled streams included.
    pub async fn shutdown(self) {
        // The server task may already be gone; either way it ends here.
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Binds 127.0.0.1:`config.port` and serves in a tokio task. A denied model
/// the double does not know is an error, so a typo does not pass silently.
pub async fn start(config: DoubleConfig) -> std::io::Result<RunningDouble> {
    use std::io::{Error, ErrorKind};
    let mut lineup =
        lineup::Lineup::builtin().map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
    for id in &config.extra_models {
        lineup
            .with_extra(id)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("--extra-model {id}: {e}")))?;
    }
    let denied = config
        .denied_models
        .iter()
        .map(|id| {
            lineup.base_id(id).map(str::to_owned).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("--deny-model {id}: not a Claude model id the double knows"),
                )
            })
        })
        .collect::<std::io::Result<_>>()?;
    let retention = control_plane::DataRetention::new(&config.data_retention)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("--data-retention: {e}")))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(server::State::new(
        config.credentials,
        lineup,
        denied,
        retention,
    ));
    let stats = state.stats.clone();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(server::serve(listener, state, stopped));
    Ok(RunningDouble {
        addr,
        stats,
        stop,
        task,
    })
}
