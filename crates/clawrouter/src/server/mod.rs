//! The loopback HTTP server: binding, the route table, authentication and
//! limits, and graceful shutdown. Handlers are plain async functions over an
//! explicit [`AppState`]; the protocol modules do the translating.
//!
//! Routes (everything but `/health/liveliness` needs the client key):
//! - `POST /v1/chat/completions`, `GET /v1/models` — OpenAI shape
//! - `POST /v1/responses` — OpenAI Responses shape (stateless), for Codex
//! - `POST /v1/messages`, `POST /v1/messages/count_tokens` — Anthropic shape
//! - `GET /health` (LiteLLM shape), `GET /health/liveliness`

mod accounting;
mod anthropic_routes;
mod auth;
mod connections;
mod errors;
mod guard;
mod listen;
mod openai_routes;
mod pipeline;
mod rejections;
mod responses_routes;
mod sse;
mod status_routes;
mod wire_format;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router as HttpRouter;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bedrock::BedrockClient;
use crate::catalog::{Catalog, ModelAvailability};
use crate::health::Health;
use crate::ledger::{BudgetGuard, Ledger};
use crate::router::Router;
use anthropic_routes::Messages;
use connections::{Activity, Admitted, ConnectionLimits, Gate, Verdict};
use openai_routes::ChatCompletions;
use pipeline::handle;
use responses_routes::Responses;

pub use errors::{ApiError, Protocol};
pub use guard::{host_allowed, origin_allowed};
pub use listen::bind_loopback;
pub use rejections::{Rejection, RejectionCounts, Rejections};
pub use sse::data as sse_data_frame;

/// Limits and behaviour of the server, taken from settings by the caller.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The key clients must present (`Authorization: Bearer` or `x-api-key`).
    pub api_key: SecretString,
    pub max_body_bytes: usize,
    /// One deadline per request, across every fallback attempt: for the
    /// whole answer, or for a stream's first event.
    pub upstream_timeout: Duration,
    /// Longest one streaming attempt may take to its first event before the
    /// next candidate is tried (within `upstream_timeout`).
    pub first_byte_timeout: Duration,
    /// Longest silence allowed between two upstream stream events.
    pub stream_idle_timeout: Duration,
    /// Prefix routed replies with `[low] ` / `[mid] ` / `[top] `.
    pub show_tier_prefix: bool,
    /// Add prompt cache points for Chat Completions and Responses clients
    /// (see [`crate::prompt_cache`]).
    pub auto_cache: bool,
    /// How long shutdown waits for in-flight requests and streams.
    pub drain_timeout: Duration,
    /// Slowloris defence: a client must send its request head within this.
    pub header_read_timeout: Duration,
    /// Browser origins allowed to call (exact match); empty: none.
    pub allowed_origins: Vec<String>,
    /// Requests (streams until their last byte) served at once; more are shed.
    pub max_concurrent_requests: usize,
    /// Client connections open at once, in total and from one peer address
    /// (lowered further to fit `RLIMIT_NOFILE`); more are closed at once.
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    /// Keep-alive: a connection with nothing in flight is closed after this.
    pub idle_timeout: Duration,
    /// A ready part of an answer the client does not take within this gets
    /// its connection closed (a zero HTTP/2 window, a client that stopped reading).
    pub send_timeout: Duration,
    /// A request body must have arrived whole within this.
    pub body_timeout: Duration,
    /// Bytes of request bodies held at once, all requests together.
    pub max_body_bytes_in_flight: usize,
}

impl ServerConfig {
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            max_body_bytes: 20 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(300),
            first_byte_timeout: Duration::from_secs(60),
            stream_idle_timeout: Duration::from_secs(60),
            show_tier_prefix: false,
            auto_cache: true,
            drain_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            allowed_origins: Vec::new(),
            max_concurrent_requests: 256,
            max_connections: 1024,
            max_connections_per_peer: 512,
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_body_bytes_in_flight: 128 * 1024 * 1024,
        }
    }

    fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_total: self.max_connections,
            max_per_peer: self.max_connections_per_peer,
            first_request_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            send_timeout: self.send_timeout,
        }
        .within_descriptors(
            listen::raise_descriptor_limit(),
            self.max_concurrent_requests,
        )
    }
}

/// Everything a request handler reads.
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// Catalog models that cannot be called now, and why (shared: discovery
    /// and access denials update it while the proxy runs).
    pub availability: ModelAvailability,
    pub router: Arc<Router>,
    pub bedrock: BedrockClient,
    pub health: Arc<Health>,
    /// Requests refused before reaching a model (wrong key, budget, guard).
    pub rejections: Arc<Rejections>,
    /// Where every model request is accounted.
    pub ledger: Ledger,
    pub budget: BudgetGuard,
    pub config: ServerConfig,
}

/// A proxy that is accepting connections.
pub struct RunningProxy {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    admission: Arc<guard::Admission>,
    gate: Arc<Gate>,
}

impl RunningProxy {
    /// The address actually bound (after port fallback).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests currently being served, open streams included.
    pub fn in_flight(&self) -> usize {
        self.admission.in_flight()
    }

    /// Client connections open now.
    pub fn connections(&self) -> usize {
        self.gate.open()
    }

    /// Stops accepting, drains in-flight requests (bounded by the drain
    /// timeout) and returns when the server is gone.
    pub async fn stop(self) {
        self.shutdown.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "server task failed");
        }
    }
}

/// Binds 127.0.0.1 at `port` (falling back to a free port when taken) and
/// serves until [`RunningProxy::stop`].
pub async fn start(state: AppState, port: u16) -> std::io::Result<RunningProxy> {
    let listener = bind_loopback(port)?;
    let addr = listen::loopback_addr(&listener)?;
    let config = state.config.clone();
    // The Host check needs the port actually bound, known only now.
    let admission = Arc::new(guard::Admission::new(
        addr.port(),
        &config,
        state.rejections.clone(),
    ));
    let app = guard::protect(routes(Arc::new(state), &admission), admission.clone());
    let gate = Gate::new(config.connection_limits());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(listener, app, config, gate.clone(), shutdown.clone()));
    Ok(RunningProxy {
        addr,
        shutdown,
        task,
        admission,
        gate,
    })
}

/// The route table: one place to see the whole HTTP surface.
fn routes(state: Arc<AppState>, admission: &Arc<guard::Admission>) -> HttpRouter {
    // Routes that call a model: refused before any upstream call once a budget is spent.
    let model_routes = HttpRouter::new()
        // Each wire format is one handler: the pipeline, typed by the format.
        .route("/v1/chat/completions", post(handle::<ChatCompletions>))
        .route("/chat/completions", post(handle::<ChatCompletions>))
        .route("/v1/responses", post(handle::<Responses>))
        .route("/responses", post(handle::<Responses>))
        .route("/v1/messages", post(handle::<Messages>))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            accounting::budget_gate,
        ));
    let authenticated = HttpRouter::new()
        .merge(model_routes)
        // Counting tokens is free upstream, so it is not budget-gated.
        .route(
            "/v1/messages/count_tokens",
            post(anthropic_routes::count_tokens),
        )
        .route("/v1/models", get(status_routes::models))
        .route("/models", get(status_routes::models))
        .route("/health", get(status_routes::health))
        // Only an authenticated request may hold request-body memory and a
        // concurrency slot: the key is checked first.
        .route_layer(axum::middleware::from_fn_with_state(
            admission.clone(),
            guard::hold_resources,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ));
    HttpRouter::new()
        .route("/health/liveliness", get(status_routes::liveliness))
        .merge(authenticated)
        .fallback(status_routes::not_found)
        .method_not_allowed_fallback(status_routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

async fn serve(
    listener: TcpListener,
    app: HttpRouter,
    config: ServerConfig,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
) {
    let limits = *gate.limits();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // hyper applies the header read timeout only with a timer installed.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_headers(100)
        .max_buf_size(64 * 1024);
    // Pings find peers that vanished; the watchdog closes the ones that stay
    // but send nothing. 100 streams: Envoy's edge best practice.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEP_ALIVE)
        .keep_alive_timeout(H2_KEEP_ALIVE)
        .max_concurrent_streams(100);
    let connections = TaskTracker::new();
    // Cancelled when the drain timeout is over: the rest are dropped.
    let abandon = CancellationToken::new();
    let mut last_refusal_warning: Option<std::time::Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE/ENFILE: the connection cap keeps us under the
                    // limit, so this is another process's doing; back off.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Some(admitted) = gate.admit(peer.ip()) else {
            // A flood would otherwise write a line per refused socket.
            if last_refusal_warning.is_none_or(|at| at.elapsed() > REFUSAL_WARNING_EVERY) {
                tracing::warn!(%peer, open = gate.open(), "refusing connections: too many open");
                last_refusal_warning = Some(std::time::Instant::now());
            }
            continue;
        };
        // SSE events are small writes; with Nagle's algorithm each one after
        // the first waits for the client's delayed ACK (40 ms on Linux), so a
        // stream's first token would arrive 40 ms late.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let activity = Activity::new();
        let service = Tracked {
            app: app.clone(),
            activity: activity.clone(),
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        connections.spawn(watch_connection(
            conn,
            activity,
            limits,
            shutdown.clone(),
            abandon.clone(),
            admitted,
        ));
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(config.drain_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the drain timeout");
        abandon.cancel();
        connections.wait().await;
    }
}

/// At most one warning per this while connections are being refused.
const REFUSAL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// HTTP/2 keep-alive ping interval, and how long a ping may go unanswered.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

type Connection = hyper_util::server::conn::auto::UpgradeableConnection<
    'static,
    TokioIo<TcpStream>,
    Tracked,
    TokioExecutor,
>;

/// Serves one connection until it ends, is found idle or not reading (see
/// [`connections`]), or the server stops.
async fn watch_connection(
    conn: Connection,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    abandon: CancellationToken,
    _admitted: Admitted,
) {
    let mut conn = std::pin::pin!(conn);
    let mut ticks = tokio::time::interval(limits.tick());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = abandon.cancelled() => return,
            _ = ticks.tick() => match activity.verdict(&limits, std::time::Instant::now()) {
                Verdict::Keep => {}
                // Closed politely once (HTTP/2 GOAWAY); dropped if still open a tick later.
                Verdict::Idle if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                Verdict::Idle => return,
                Verdict::NotReading => {
                    tracing::debug!("closing a connection whose client does not take its answer");
                    return;
                }
            },
        }
    }
}

/// The app as one connection's service: every request and its answer are
/// counted as that connection's activity.
#[derive(Clone)]
struct Tracked {
    app: HttpRouter,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Tracked {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        use tower::ServiceExt;
        let app = self.app.clone();
        let activity = self.activity.clone();
        Box::pin(async move {
            let in_flight = activity.begin();
            let response = app.oneshot(request.map(axum::body::Body::new)).await?;
            Ok(response.map(|body| activity.watch(body, in_flight)))
        })
    }
}
