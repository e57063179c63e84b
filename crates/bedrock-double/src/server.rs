//! HTTP serving: the accept loop, routing by Bedrock Runtime path, SigV4,
//! stats, and the path every generating operation shares from a verified
//! request to a reply (directive delay and errors first).

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::control_plane::{self, Caller, DataRetention};
use crate::errors::{ApiError, ErrorKind};
use crate::eventstream::{StreamPlan, stream_body};
use crate::faults::Directives;
use crate::lineup::{self, Lineup, Model, Target};
use crate::reply::{self, Reply, Turn};
use crate::sigv4::{self, SignedRequest};
use crate::usage::PromptCache;
use crate::{Stats, converse, count_tokens, dates, invoke};

/// Every response body: whole JSON or a live event stream.
pub type Body = BoxBody<Bytes, Infallible>;

/// Bedrock's own request limit is 20 MB; leave room for JSON overhead.
const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// What every connection shares.
pub struct State {
    credentials: Vec<(String, String)>,
    lineup: Lineup,
    /// Base ids this account has no access to.
    denied: BTreeSet<String>,
    pub stats: Arc<Mutex<Stats>>,
    cache: PromptCache,
    requests: AtomicU64,
    retention: DataRetention,
}

impl State {
    pub fn new(
        credentials: Vec<(String, String)>,
        lineup: Lineup,
        denied: BTreeSet<String>,
        retention: DataRetention,
    ) -> State {
        State {
            credentials,
            lineup,
            denied,
            stats: Arc::default(),
            cache: PromptCache::default(),
            requests: AtomicU64::new(0),
            retention,
        }
    }

    /// Control-plane calls are counted apart, so the proxy's discovery does
    /// not show up as model traffic.
    fn record_control_plane(&self, operation: &control_plane::Operation) {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        *stats
            .control_plane
            .entry(operation.name().to_owned())
            .or_default() += 1;
    }

    /// Access and lifecycle, checked before any request rule: a denied model
    /// answers AccessDeniedException, one past its end of life the
    /// end-of-life ResourceNotFoundException.
    fn check_callable(&self, model: &Model) -> Result<(), ApiError> {
        if self.denied.contains(&model.id) {
            return Err(ApiError::new(ErrorKind::AccessDenied, lineup::NO_ACCESS));
        }
        if model.is_end_of_life(&dates::today()) {
            return Err(lineup::end_of_life_error());
        }
        Ok(())
    }

    /// A model that serves only under certain account data retention modes
    /// refuses an invocation under any other, before any other validation
    /// and whatever the request (pydantic/pydantic-ai#8170, probed with
    /// boto3); the text as Claude Code shows it (anthropics/claude-code#66594).
    /// The sources speak of invocations only, so CountTokens is not gated.
    fn check_data_retention(&self, model: &Model) -> Result<(), ApiError> {
        let mode = self.retention.effective();
        if model.data_retention.is_empty() || model.data_retention.contains(&mode) {
            return Ok(());
        }
        Err(ApiError::validation(format!(
            "data retention mode '{mode}' is not available for this model"
        )))
    }

    fn record(&self, operation: Operation, model_id: &str) {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.requests += 1;
        *stats
            .by_operation
            .entry(operation.name().to_owned())
            .or_default() += 1;
        *stats.by_model.entry(model_id.to_owned()).or_default() += 1;
    }

    /// A UUID-shaped, unique-per-instance `x-amzn-RequestId`.
    fn next_request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let hex = hex::encode(Sha256::digest(format!("{}|{n}", now.as_nanos())));
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// Serves until `stopped` fires, then drops every connection.
pub async fn serve(listener: TcpListener, state: Arc<State>, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        continue;
                    }
                };
                // Stream events are small writes; with Nagle's algorithm each
                // one after the first waits for the client's delayed ACK (40 ms
                // on Linux), which Bedrock's own endpoints do not add.
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let builder = auto::Builder::new(TokioExecutor::new());
                    // A client hanging up mid-response is normal here.
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                });
                while connections.try_join_next().is_some() {}
            }
        }
    }
    connections.shutdown().await;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeModelWithResponseStream,
    CountTokens,
}

impl Operation {
    fn from_path_suffix(suffix: &str) -> Option<Operation> {
        Some(match suffix {
            "converse" => Operation::Converse,
            "converse-stream" => Operation::ConverseStream,
            "invoke" => Operation::InvokeModel,
            "invoke-with-response-stream" => Operation::InvokeModelWithResponseStream,
            "count-tokens" => Operation::CountTokens,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Operation::Converse => "Converse",
            Operation::ConverseStream => "ConverseStream",
            Operation::InvokeModel => "InvokeModel",
            Operation::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
            Operation::CountTokens => "CountTokens",
        }
    }
}

enum Route {
    Stats,
    Operation(Operation, String),
    ControlPlane(control_plane::Operation),
    Unknown,
}

/// `/model/{modelId}/{operation}` (the id may be percent-encoded or raw) for
/// the runtime; the control plane's paths share the port.
fn route(method: &Method, raw_path: &str) -> Route {
    if method == Method::GET && raw_path == "/__double/stats" {
        return Route::Stats;
    }
    if let Some(operation) =
        control_plane::Operation::from_request(method, raw_path, percent_decode)
    {
        return Route::ControlPlane(operation);
    }
    let operation = raw_path
        .strip_prefix("/model/")
        .and_then(|rest| rest.rsplit_once('/'))
        .and_then(|(id, suffix)| Some((Operation::from_path_suffix(suffix)?, percent_decode(id))));
    match operation {
        Some((operation, model_id)) if method == Method::POST && !model_id.is_empty() => {
            Route::Operation(operation, model_id)
        }
        _ => Route::Unknown,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let request_id = state.next_request_id();
    let mut response = match route(request.method(), request.uri().path()) {
        Route::Stats => {
            let stats = state
                .stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            json_response(
                StatusCode::OK,
                &serde_json::to_value(stats).unwrap_or_default(),
            )
        }
        Route::Operation(operation, model_id) => {
            state.record(operation, &model_id);
            serve_operation(&state, operation, &model_id, request, started)
                .await
                .unwrap_or_else(ApiError::into_response)
        }
        Route::ControlPlane(operation) => {
            state.record_control_plane(&operation);
            serve_control_plane(&state, &operation, request)
                .await
                .unwrap_or_else(ApiError::into_response)
        }
        Route::Unknown => ApiError::of(ErrorKind::UnknownOperation).into_response(),
    };
    if let Ok(value) = http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    Ok(response)
}

/// Reads the body and checks its signature; returns the body and the
/// region the request was signed for.
async fn verified_body(
    state: &State,
    request: Request<Incoming>,
) -> Result<(http::request::Parts, Bytes, String), ApiError> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| ApiError::validation("The request body is too large or was cut off."))?
        .to_bytes();
    let region = sigv4::verify(
        &SignedRequest {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &body,
        },
        &state.credentials,
    )?;
    Ok((parts, body, region))
}

async fn serve_control_plane(
    state: &State,
    operation: &control_plane::Operation,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let (parts, body, region) = verified_body(state, request).await?;
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(key),
                percent_decode(&value.replace('+', " ")),
            )
        })
        .collect();
    let today = dates::today();
    let caller = Caller {
        lineup: &state.lineup,
        denied: &state.denied,
        region: &region,
        today: &today,
        retention: &state.retention,
    };
    let body = control_plane::answer(operation, &caller, &query, &body)?;
    Ok(json_response(StatusCode::OK, &body))
}

async fn serve_operation(
    state: &State,
    operation: Operation,
    model_id: &str,
    request: Request<Incoming>,
    started: Instant,
) -> Result<Response<Body>, ApiError> {
    let (_, body, _) = verified_body(state, request).await?;
    let target = state.lineup.resolve(model_id)?;
    let model = target.model();
    // CountTokens names the foundation model, so a bare id is fine there.
    if operation != Operation::CountTokens && matches!(target, Target::Bare(_)) {
        return Err(lineup::on_demand_error(model_id));
    }
    state.check_callable(model)?;
    if operation == Operation::CountTokens {
        return Ok(json_response(
            StatusCode::OK,
            &count_tokens::count(model, &body)?,
        ));
    }
    state.check_data_retention(model)?;
    let elapsed_ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match operation {
        Operation::Converse | Operation::ConverseStream => {
            let call = converse::parse(model_id, model, &body, &state.cache)?;
            let reply = answer(&call.turn).await?;
            Ok(if operation == Operation::Converse {
                json_response(
                    StatusCode::OK,
                    &converse::response(&call, &reply, elapsed_ms()),
                )
            } else {
                let plan = converse::stream(&call, &reply, elapsed_ms());
                stream_response(state, plan, &call.turn.directives, false)
            })
        }
        _ => {
            let call = invoke::parse(model_id, model, &body, &state.cache)?;
            let reply = answer(&call.turn).await?;
            Ok(if operation == Operation::InvokeModel {
                let mut response = json_response(StatusCode::OK, &invoke::response(&call, &reply));
                for (name, value) in invoke::metric_headers(&call, &reply, elapsed_ms()) {
                    if let Ok(value) = http::HeaderValue::from_str(&value) {
                        response.headers_mut().insert(name, value);
                    }
                }
                response
            } else {
                let plan = invoke::stream(&call, &reply, elapsed_ms());
                stream_response(state, plan, &call.turn.directives, true)
            })
        }
    }
}

/// Applies `delay` and error directives, then plans the reply.
async fn answer(turn: &Turn) -> Result<Reply, ApiError> {
    if let Some(delay) = turn.directives.delay {
        tokio::time::sleep(delay).await;
    }
    if turn.directives.on_demand {
        return Err(lineup::on_demand_error(&turn.model_id));
    }
    if let Some(kind) = turn.directives.error {
        return Err(ApiError {
            retry_after: turn.directives.retry_after,
            ..ApiError::of(kind)
        });
    }
    reply::plan(turn)
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn stream_response(
    state: &State,
    plan: StreamPlan,
    directives: &Directives,
    invoke: bool,
) -> Response<Body> {
    let stats = state.stats.clone();
    let abandoned = move || {
        stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .streams_abandoned += 1;
    };
    let mut response = Response::new(stream_body(plan, directives, abandoned));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if invoke {
        headers.insert(
            "x-amzn-bedrock-content-type",
            http::HeaderValue::from_static("application/json"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_encoded_and_raw_model_ids() {
        for path in [
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream",
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse-stream",
        ] {
            let Route::Operation(operation, id) = route(&Method::POST, path) else {
                panic!("{path}")
            };
            assert_eq!(operation, Operation::ConverseStream);
            assert_eq!(id, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
        }
        let Route::Operation(_, arn) = route(
            &Method::POST,
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-6/invoke",
        ) else {
            panic!()
        };
        assert_eq!(
            arn,
            "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-sonnet-4-6"
        );
        assert!(matches!(
            route(&Method::GET, "/model/x/converse"),
            Route::Unknown
        ));
        assert!(matches!(
            route(&Method::POST, "/model/x/other"),
            Route::Unknown
        ));
        assert!(matches!(
            route(&Method::GET, "/__double/stats"),
            Route::Stats
        ));
    }

    #[test]
    fn percent_decode_leaves_stray_percent_signs() {
        assert_eq!(percent_decode("a%3Ab%2"), "a:b%2");
    }
}
