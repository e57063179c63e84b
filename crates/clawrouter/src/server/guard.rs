//! Admission of every request before authentication, because anything that
//! reaches the loopback port can spend the user's AWS money:
//!
//! 1. `Host` must name this server on loopback — `localhost`, `127.0.0.1` or
//!    `[::1]` with the exact bound port — so a DNS-rebound web page
//!    (`evil.example` now resolving to 127.0.0.1) is refused.
//! 2. A browser `Origin` must be on the allow-list (empty by default);
//!    `Origin: null` (file:// pages, sandboxed frames) never is. Without an
//!    Origin, a browser's `Sec-Fetch-Site: cross-site` is refused too.
//! 3. CORS preflights (`OPTIONS`) are never approved and no response carries
//!    an `Access-Control-Allow-*` header.
//! 4. A panicking handler becomes a generic 500, never a dropped connection
//!    or a message with request data.
//!
//! Once the key is checked ([`hold_resources`], inside authentication, so an
//! unauthenticated request holds nothing shared):
//!
//! 5. The body is read whole before anything else, within `body_timeout`,
//!    under a cap on the bytes of all bodies in flight together.
//! 6. At most `max_concurrent_requests` requests (streams until their last
//!    byte) run at once; the next one is shed at once with 503/529.
//!
//! Refusals are rendered in the client's protocol shape like every error.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::Router as HttpRouter;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::BytesMut;
use futures_util::FutureExt;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{ApiError, Rejection, Rejections, ServerConfig, auth};

/// Wraps `app` (every route and the fallback) in the admission checks for a
/// server bound to `port`.
pub fn protect(app: HttpRouter, admission: Arc<Admission>) -> HttpRouter {
    app.layer(axum::middleware::from_fn_with_state(admission, admit))
}

/// True when `value` (a `Host` header or request-target authority) names
/// this server: a loopback name, case-insensitive, with exactly `port`.
/// Trailing dots, userinfo, a second port, other names and any byte outside
/// visible ASCII are refused.
pub fn host_allowed(value: &[u8], port: u16) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let (host, port_text) = if let Some(bracketed) = value.strip_prefix('[') {
        let Some((inside, rest)) = bracketed.split_once(']') else {
            return false;
        };
        let host = &value[..inside.len() + 2];
        match rest {
            "" => (host, None),
            _ => match rest.strip_prefix(':') {
                Some(port_text) => (host, Some(port_text)),
                None => return false,
            },
        }
    } else {
        match value.split_once(':') {
            Some((host, rest)) => (host, Some(rest)),
            None => (value, None),
        }
    };
    let port_ok = match port_text {
        Some(text) => text == port.to_string(),
        // Browsers omit only the scheme's default port.
        None => port == 80,
    };
    port_ok && LOOPBACK_NAMES.iter().any(|n| host.eq_ignore_ascii_case(n))
}

/// True when a browser `Origin` may call the proxy: an exact
/// (ASCII case-insensitive) member of `allowed`; `null` never is.
pub fn origin_allowed(value: &[u8], allowed: &[String]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    !value.eq_ignore_ascii_case("null") && allowed.iter().any(|a| a.eq_ignore_ascii_case(value))
}

/// What the admission checks need: the bound port, the origin allow-list,
/// the request-body budget and the concurrency slots.
pub struct Admission {
    port: u16,
    allowed_origins: Vec<String>,
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    /// One permit per byte of request body held.
    body_bytes: Arc<Semaphore>,
    max_body_bytes: usize,
    body_timeout: Duration,
    rejections: Arc<Rejections>,
}

impl Admission {
    pub fn new(port: u16, config: &ServerConfig, rejections: Arc<Rejections>) -> Self {
        // Semaphore permits are u32-sized; a largest body must always fit.
        let in_flight = config
            .max_body_bytes_in_flight
            .max(config.max_body_bytes)
            .min(u32::MAX as usize);
        Self {
            port,
            allowed_origins: config.allowed_origins.clone(),
            slots: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            max_concurrent: config.max_concurrent_requests,
            body_bytes: Arc::new(Semaphore::new(in_flight)),
            max_body_bytes: config.max_body_bytes.min(in_flight),
            body_timeout: config.body_timeout,
            rejections,
        }
    }

    /// Requests (streams included) currently holding a slot.
    pub fn in_flight(&self) -> usize {
        self.max_concurrent
            .saturating_sub(self.slots.available_permits())
    }
}

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

async fn admit(State(admission): State<Arc<Admission>>, request: Request, next: Next) -> Response {
    let protocol = auth::protocol_of(request.uri().path());
    if let Err(refusal) = check(&admission, &request) {
        admission.rejections.count(Rejection::Guard);
        return refusal.into_response_for(protocol);
    }
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a request handler panicked");
            ApiError::Internal.into_response_for(protocol)
        }
    }
}

/// For an authenticated request: its body, read whole (within the body
/// timeout and the in-flight byte budget), then a concurrency slot held
/// until the answer's last byte.
pub async fn hold_resources(
    State(admission): State<Arc<Admission>>,
    request: Request,
    next: Next,
) -> Response {
    let protocol = auth::protocol_of(request.uri().path());
    let (request, body_budget) = match read_body(&admission, request).await {
        Ok(read) => read,
        Err(refusal) => return refusal.into_response_for(protocol),
    };
    let Ok(slot) = admission.slots.clone().try_acquire_owned() else {
        tracing::warn!(
            limit = admission.max_concurrent,
            "shedding a request: concurrency limit reached"
        );
        return ApiError::Overloaded("the concurrent request limit is reached")
            .into_response_for(protocol);
    };
    let response = next.run(request).await;
    // The handler has parsed and sent on what it needs of the body.
    drop(body_budget);
    // The slot lives in the body (dropped with it): held until the last
    // byte is sent or the client goes away.
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _held = &slot;
            frame
        }))
    })
}

/// The request with its body in memory, and the budget that memory holds.
/// A declared length is reserved up front (waiting for room until the body
/// timeout); a chunked body takes room per chunk and is refused when there
/// is none, so half-read bodies never wait on each other.
async fn read_body(
    admission: &Admission,
    request: Request,
) -> Result<(Request, Vec<OwnedSemaphorePermit>), ApiError> {
    let limit = admission.max_body_bytes;
    let too_large = || ApiError::PayloadTooLarge { limit };
    let busy = || ApiError::Overloaded("too many large request bodies in flight");
    let deadline = tokio::time::Instant::now() + admission.body_timeout;
    let late = || ApiError::BodyTimeout {
        after: admission.body_timeout,
    };
    let (parts, mut body) = request.into_parts();
    let declared = body.size_hint().exact();
    let mut budget = Vec::new();
    if let Some(length) = declared {
        let length = usize::try_from(length).map_err(|_| too_large())?;
        if length > limit {
            return Err(too_large());
        }
        if length > 0 {
            let permits = u32::try_from(length).map_err(|_| too_large())?;
            let reserved = tokio::time::timeout_at(
                deadline,
                admission.body_bytes.clone().acquire_many_owned(permits),
            )
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
            budget.push(reserved);
        }
    }
    let mut bytes = BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(late()),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::bad_request(format!(
                    "cannot read the request body: {}",
                    std::error::Error::source(&e)
                        .map_or_else(|| e.to_string(), ToString::to_string)
                )));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if bytes.len() + data.len() > limit {
            return Err(too_large());
        }
        if declared.is_none() && !data.is_empty() {
            let permits = u32::try_from(data.len()).map_err(|_| too_large())?;
            let room = admission
                .body_bytes
                .clone()
                .try_acquire_many_owned(permits)
                .map_err(|_| busy())?;
            budget.push(room);
        }
        bytes.extend_from_slice(&data);
    }
    Ok((
        Request::from_parts(parts, Body::from(bytes.freeze())),
        budget,
    ))
}

fn check(admission: &Admission, request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    if !host_ok(admission.port, request) {
        return Err(ApiError::Forbidden(
            "the Host header must be localhost, 127.0.0.1 or [::1] with this server's port",
        ));
    }
    let origin_ok = match single(headers, header::ORIGIN) {
        Single::Absent => !cross_site_fetch(headers),
        Single::One(origin) => origin_allowed(origin, &admission.allowed_origins),
        Single::Many => false,
    };
    if !origin_ok {
        return Err(ApiError::Forbidden("cross-origin requests are not allowed"));
    }
    if request.method() == Method::OPTIONS {
        return Err(ApiError::Forbidden(
            "CORS preflight requests are never approved",
        ));
    }
    Ok(())
}

/// Exactly one acceptable `Host` (HTTP/2 may carry only `:authority`), and an
/// absolute-form request target must name this server too.
fn host_ok(port: u16, request: &Request) -> bool {
    let authority = request.uri().authority().map(|a| a.as_str().as_bytes());
    if authority.is_some_and(|a| !host_allowed(a, port)) {
        return false;
    }
    match single(request.headers(), header::HOST) {
        Single::One(host) => host_allowed(host, port),
        Single::Absent => authority.is_some() && request.version() == axum::http::Version::HTTP_2,
        Single::Many => false,
    }
}

/// A browser's own word that a page on another site sent this request.
fn cross_site_fetch(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

enum Single<'a> {
    Absent,
    One(&'a [u8]),
    Many,
}

fn single(headers: &HeaderMap, name: header::HeaderName) -> Single<'_> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Single::Absent,
        (Some(v), None) => Single::One(v.as_bytes()),
        (Some(_), Some(_)) => Single::Many,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: u16 = 4242;

    #[test]
    fn loopback_names_with_the_bound_port_pass() {
        for host in [
            "localhost:4242",
            "LOCALHOST:4242",
            "LocalHost:4242",
            "127.0.0.1:4242",
            "[::1]:4242",
        ] {
            assert!(host_allowed(host.as_bytes(), PORT), "{host}");
        }
    }

    #[test]
    fn everything_else_is_refused() {
        for host in [
            "evil.example:4242",
            "localhost.:4242",
            "localhost:4243",
            "localhost",
            "localhost:",
            "localhost:04242",
            "localhost:+4242",
            "127.0.0.1:4242:80",
            "user@localhost:4242",
            "localhost:4242@evil.example",
            "0.0.0.0:4242",
            "foo.local:4242",
            "a.localhost:4242",
            "127.0.0.2:4242",
            "[::1]",
            "[::1]4242",
            "[::1:4242",
            "[::ffff:127.0.0.1]:4242",
            "local\thost:4242",
            "localhost\x00:4242",
            "localhost :4242",
            "",
        ] {
            assert!(!host_allowed(host.as_bytes(), PORT), "{host:?}");
        }
        assert!(!host_allowed(b"localhost\xff:4242", PORT));
    }

    #[test]
    fn port_80_may_be_implied() {
        assert!(host_allowed(b"localhost", 80));
        assert!(host_allowed(b"[::1]", 80));
        assert!(host_allowed(b"localhost:80", 80));
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_generic_500_and_frees_its_slot() {
        use axum::routing::post;
        use tower::ServiceExt;
        const CANARY: &str = "sk-canary-client-0123456789abcdef";
        let config = ServerConfig::new(secrecy::SecretString::from(CANARY));
        let admission = Arc::new(Admission::new(PORT, &config, Arc::default()));
        let detail = format!("{config:?} {CANARY}");
        let handler = move || {
            let detail = detail.clone();
            async move {
                if !detail.is_empty() {
                    panic!("handler bug with {detail}");
                }
                "unreachable"
            }
        };
        let app = protect(
            HttpRouter::new().route("/v1/messages", post(handler)),
            admission.clone(),
        );
        let request = Request::post("/v1/messages")
            .header(header::HOST, "localhost:4242")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"type": "error", "error": {"type": "api_error", "message": "internal error"}})
        );
        assert_eq!(admission.in_flight(), 0);
    }

    #[test]
    fn origins_match_the_allow_list_exactly_and_never_null() {
        let allowed = vec!["http://localhost:3000".to_owned(), "null".to_owned()];
        assert!(origin_allowed(b"http://localhost:3000", &allowed));
        assert!(origin_allowed(b"HTTP://LOCALHOST:3000", &allowed));
        assert!(!origin_allowed(b"http://localhost:3000/", &allowed));
        assert!(!origin_allowed(b"http://localhost:30000", &allowed));
        assert!(!origin_allowed(b"null", &allowed));
        assert!(!origin_allowed(b"https://evil.example", &[]));
    }
}
