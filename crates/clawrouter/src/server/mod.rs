//! The loopback HTTP server: binding, the route table, authentication and
//! limits, and graceful shutdown. Handlers are plain async functions over an
//! explicit [`AppState`]; the protocol modules do the translating.
//!
//! Routes (everything but `/health/liveliness` needs the client key):
//! - `POST /v1/chat/completions`, `GET /v1/models` — OpenAI shape
//! - `POST /v1/messages`, `POST /v1/messages/count_tokens` — Anthropic shape
//! - `GET /health` (LiteLLM shape), `GET /health/liveliness`

mod accounting;
mod anthropic_routes;
mod auth;
mod dispatch;
mod errors;
mod guard;
mod listen;
mod openai_routes;
mod setup;
mod sse;
mod status_routes;
mod supervisor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router as HttpRouter;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bedrock::BedrockClient;
use crate::catalog::{Catalog, ModelAvailability};
use crate::health::Health;
use crate::ledger::{BudgetGuard, Ledger};
use crate::router::Router;

pub use errors::{ApiError, Protocol};
pub use guard::{host_allowed, origin_allowed};
pub use listen::bind_loopback;
pub use setup::{CheckReport, ModelCheck, StartError, assemble, aws_sdk_config, check};
pub use sse::data as sse_data_frame;
pub use supervisor::{ProxyStatus, Supervisor};

/// Limits and behaviour of the server, taken from settings by the caller.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The key clients must present (`Authorization: Bearer` or `x-api-key`).
    pub api_key: SecretString,
    pub max_body_bytes: usize,
    /// Whole-call limit for non-streaming upstream calls.
    pub upstream_timeout: Duration,
    /// Longest silence allowed between two upstream stream events.
    pub stream_idle_timeout: Duration,
    /// Prefix routed replies with `[low] ` / `[mid] ` / `[top] `.
    pub show_tier_prefix: bool,
    /// How long shutdown waits for in-flight requests and streams.
    pub drain_timeout: Duration,
    /// Slowloris defence: a client must send its request head within this.
    pub header_read_timeout: Duration,
    /// Browser origins allowed to call (exact match); empty: none.
    pub allowed_origins: Vec<String>,
    /// Requests (streams until their last byte) served at once; more are shed.
    pub max_concurrent_requests: usize,
}

impl ServerConfig {
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            max_body_bytes: 20 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(300),
            stream_idle_timeout: Duration::from_secs(60),
            show_tier_prefix: false,
            drain_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            allowed_origins: Vec::new(),
            max_concurrent_requests: 256,
        }
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
    let listener = bind_loopback(port).await?;
    let addr = listen::loopback_addr(&listener)?;
    let config = state.config.clone();
    // The Host check needs the port actually bound, known only now.
    let admission = Arc::new(guard::Admission::new(addr.port(), &config));
    let app = guard::protect(routes(Arc::new(state)), admission.clone());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(listener, app, config, shutdown.clone()));
    Ok(RunningProxy {
        addr,
        shutdown,
        task,
        admission,
    })
}

/// The route table: one place to see the whole HTTP surface.
pub fn routes(state: Arc<AppState>) -> HttpRouter {
    // Routes that call a model: refused before any upstream call once a budget is spent.
    let model_routes = HttpRouter::new()
        .route(
            "/v1/chat/completions",
            post(openai_routes::chat_completions),
        )
        .route("/chat/completions", post(openai_routes::chat_completions))
        .route("/v1/messages", post(anthropic_routes::messages))
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
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ));
    HttpRouter::new()
        .route("/health/liveliness", get(status_routes::liveliness))
        .merge(authenticated)
        .fallback(status_routes::not_found)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

async fn serve(
    listener: TcpListener,
    app: HttpRouter,
    config: ServerConfig,
    shutdown: CancellationToken,
) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // hyper applies the header read timeout only with a timer installed.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_headers(100)
        .max_buf_size(64 * 1024);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Typically EMFILE; keep serving the connections we have.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        // SSE events are small writes; with Nagle's algorithm each one after
        // the first waits for the client's delayed ACK (40 ms on Linux), so a
        // stream's first token would arrive 40 ms late.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(config.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the drain timeout");
    }
}
