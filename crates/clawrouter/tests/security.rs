//! The security checklist (`shared/reference/security-checklist.md` §6), one
//! test per row, named `rowNN_…`, against a real proxy on loopback in front of
//! the bedrock double. Raw TCP where the attack is in the bytes (nginx-tests
//! style); reqwest where it is in the semantics. Row 18 (secrets canary)
//! runs the real `clawrouter` binary at TRACE level.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::{KEY, Stack, app_state, chat_body, stack, stack_with};
use futures_util::StreamExt;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use clawrouter::server::{self, ServerConfig};
use clawrouter::settings::Budgets;

const SONNET: &str = "bedrock/claude-sonnet-4-5";

/// One HTTP/1.1 response as read off the socket.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Writes `request` and reads until the server closes (requests say `Connection: close`).
async fn send_raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_until_closed(&mut stream).await
}

async fn read_until_closed(stream: &mut TcpStream) -> Raw {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    let read_all = async {
        loop {
            // A reset after the response (server closed with our bytes unread) ends it too.
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_all)
        .await
        .expect("the server neither answered nor closed");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Raw {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// `GET path` with the key and the given header lines (each ending in CRLF).
fn get_with(path: &str, header_lines: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\n{header_lines}Authorization: Bearer {KEY}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

fn host(port: u16) -> String {
    format!("Host: 127.0.0.1:{port}\r\n")
}

/// Polls `condition` every 20 ms until it holds or `within` passes.
async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

fn assert_no_cors_approval(head: &str) {
    let lower = head.to_ascii_lowercase();
    assert!(
        !lower.contains("access-control-allow"),
        "a response approved CORS:\n{head}"
    );
}

// ---------------------------------------------------------------- row 1

/// The machine's own non-loopback address, if it has one (a UDP "connect"
/// sends nothing; it only picks the outgoing interface).
fn lan_ip() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn row01_binds_loopback_only() {
    let s = stack().await;
    let addr = s.proxy.addr();
    assert!(addr.ip().is_loopback(), "{addr}");
    // The bind API takes a port, never an address: a wildcard bind cannot be configured.
    let listener = server::bind_loopback(0).unwrap();
    assert!(listener.local_addr().unwrap().ip().is_loopback());
    match lan_ip() {
        Some(ip) => assert!(
            TcpStream::connect((ip, addr.port())).await.is_err(),
            "the proxy answered on {ip}"
        ),
        None => eprintln!("no non-loopback interface here; LAN refusal not exercised"),
    }
}

// ---------------------------------------------------------------- row 2

#[tokio::test]
async fn row02_host_allow_list_stops_dns_rebinding() {
    let s = stack().await;
    let addr = s.proxy.addr();
    let port = addr.port();
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "workstation".to_owned());
    let allowed = [
        format!("Host: LOCALHOST:{port}\r\n"),
        format!("Host: localhost:{port}\r\n"),
        format!("Host: 127.0.0.1:{port}\r\n"),
        format!("Host: [::1]:{port}\r\n"),
    ];
    for line in &allowed {
        let r = send_raw(addr, &get_with("/v1/models", line)).await;
        assert_eq!(r.status, 200, "{line:?}: {}", r.head);
    }
    let refused = [
        format!("Host: evil.example:{port}\r\n"),
        format!("Host: localhost.:{port}\r\n"),
        format!("Host: 127.0.0.1:{port}:80\r\n"),
        format!("Host: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n"),
        format!("Host: 127.0.0.1:{port}\r\nHost: evil.example:{port}\r\n"),
        format!("Host: 0.0.0.0:{port}\r\n"),
        format!("Host: {machine}:{port}\r\n"),
        format!("Host: foo.local:{port}\r\n"),
        format!("Host: user@localhost:{port}\r\n"),
        format!("Host: localhost:{}\r\n", port.wrapping_add(1)),
        "Host: localhost\r\n".to_owned(),
        String::new(),
    ];
    for line in &refused {
        let r = send_raw(addr, &get_with("/v1/models", line)).await;
        assert_eq!(r.status, 403, "{line:?}: {}", r.head);
        assert_eq!(r.json()["error"]["type"], "permission_error", "{line:?}");
    }
    // A control byte in the value: hyper refuses the header line itself (400);
    // either way the request never reaches a handler.
    for line in [
        format!("Host: local\x01host:{port}\r\n"),
        format!("Host: localhost\x7f:{port}\r\n"),
    ] {
        let r = send_raw(addr, &get_with("/v1/models", &line)).await;
        assert!(matches!(r.status, 400 | 403), "{line:?}: {}", r.head);
    }
    // Absolute-form: the request target's authority must be ours too.
    let r = send_raw(
        addr,
        &get_with(
            &format!("http://evil.example:{port}/v1/models"),
            &host(port),
        ),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.head);
    let r = send_raw(
        addr,
        &get_with(&format!("http://127.0.0.1:{port}/v1/models"), &host(port)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.head);
    // HTTP/1.0 without any Host.
    let r = send_raw(
        addr,
        format!("GET /v1/models HTTP/1.0\r\nAuthorization: Bearer {KEY}\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.head);
    // HTTP/2 (prior knowledge) carries the name in `:authority` instead.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for (authority, status) in [
        (format!("127.0.0.1:{port}"), 200),
        (format!("localhost:{port}"), 200),
    ] {
        let r = h2
            .get(format!("http://{authority}/v1/models"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        assert_eq!(r.status(), status, "{authority}");
    }
    let r = h2
        .get(format!("http://127.0.0.1:{port}/v1/models"))
        .header("host", format!("evil.example:{port}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Anthropic clients get the refusal in their own shape.
    let r = send_raw(
        addr,
        &get_with("/v1/messages", &format!("Host: evil.example:{port}\r\n")),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "permission_error");
    assert_eq!(s.double.stats().requests, 0);
}

// ---------------------------------------------------------------- row 3

#[tokio::test]
async fn row03_origin_must_be_allow_listed_and_never_null() {
    let s = stack_with(|c| c.allowed_origins = vec!["http://localhost:3000".into()]).await;
    let models = |origin: Option<&str>| {
        let mut r = s.get("/v1/models");
        if let Some(origin) = origin {
            r = r.header("origin", origin);
        }
        r.send()
    };
    assert_eq!(models(None).await.unwrap().status(), 200);
    assert_eq!(
        models(Some("http://localhost:3000"))
            .await
            .unwrap()
            .status(),
        200
    );
    for origin in [
        "https://evil.example",
        "null",
        "http://localhost:3000.evil.example",
        "http://localhost:3001",
    ] {
        let r = models(Some(origin)).await.unwrap();
        assert_eq!(r.status(), 403, "{origin}");
    }
    // A chat POST from a foreign page never reaches Bedrock.
    let r = s
        .post("/v1/chat/completions")
        .header("origin", "https://evil.example")
        .json(&chat_body(SONNET, "spend money"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A browser that says the page is cross-site, even without Origin.
    let r = s
        .get("/v1/models")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(s.double.stats().requests, 0);

    // Default configuration: no origin at all is allowed.
    let s = stack().await;
    let r = s
        .get("/v1/models")
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

// ---------------------------------------------------------------- row 4

#[tokio::test]
async fn row04_no_cors_approval_in_any_response() {
    let s = stack_with(|c| c.allowed_origins = vec!["http://localhost:3000".into()]).await;
    let addr = s.proxy.addr();
    let port = addr.port();
    let preflight = |path: &str, origin: &str| {
        format!(
            "OPTIONS {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: authorization, content-type\r\n\
             Access-Control-Request-Private-Network: true\r\nConnection: close\r\n\r\n"
        )
    };
    for (path, origin) in [
        ("/v1/chat/completions", "https://evil.example"),
        ("/v1/chat/completions", "http://localhost:3000"),
        ("/v1/messages", "http://localhost:3000"),
        ("/v1/models", "null"),
    ] {
        let r = send_raw(addr, preflight(path, origin).as_bytes()).await;
        assert_eq!(r.status, 403, "{path} {origin}: {}", r.head);
        assert_no_cors_approval(&r.head);
    }
    // Ordinary answers (success, auth failure, not found, bad host) approve nothing either.
    let origin = "Origin: http://localhost:3000\r\n";
    for request in [
        get_with("/v1/models", &format!("{}{origin}", host(port))),
        get_with("/health/liveliness", &host(port)),
        get_with("/nope", &host(port)),
        get_with("/v1/models", "Host: evil.example\r\n"),
        format!(
            "GET /v1/models HTTP/1.1\r\n{}{origin}Connection: close\r\n\r\n",
            host(port)
        )
        .into_bytes(),
    ] {
        let r = send_raw(addr, &request).await;
        assert_ne!(r.status, 0);
        assert_no_cors_approval(&r.head);
    }
    let r = s
        .post("/v1/chat/completions")
        .header("origin", "http://localhost:3000")
        .json(&chat_body(SONNET, "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-allow")),
        "{:?}",
        r.headers()
    );
}

// ---------------------------------------------------------------- row 5

#[tokio::test]
async fn row05_token_required_generic_401() {
    let s = stack().await;
    let url = format!("{}/v1/models", s.url);
    let http = &s.http;
    let attempts = [
        http.get(&url),
        http.get(&url).bearer_auth("sk-test-0123456789abcdeX"),
        http.get(&url)
            .bearer_auth("sk-test-0123456789abcdef-longer"),
        http.get(&url).bearer_auth("s"),
        http.get(&url).header("x-api-key", "wrong"),
        http.get(&url).basic_auth(KEY, Some(KEY)),
        http.get(format!("{url}?api_key={KEY}")),
        http.get(format!("{url}?key={KEY}")),
        http.get(format!("{url}?access_token={KEY}")),
    ];
    let mut bodies = Vec::new();
    for attempt in attempts {
        let r = attempt.send().await.unwrap();
        assert_eq!(r.status(), 401);
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:#?}");
    assert!(!bodies[0].contains("sk-test"), "{}", bodies[0]);
    for accepted in [
        http.get(&url).bearer_auth(KEY),
        http.get(&url).header("x-api-key", KEY),
    ] {
        assert_eq!(accepted.send().await.unwrap().status(), 200);
    }
    // A reset issues a new random key each time.
    let store = clawrouter::credentials::MemoryStore::default();
    use secrecy::ExposeSecret;
    let first = clawrouter::credentials::regenerate_api_key(&store).unwrap();
    let second = clawrouter::credentials::regenerate_api_key(&store).unwrap();
    assert_ne!(first.expose_secret(), second.expose_secret());
    assert!(second.expose_secret().len() >= 32);
    // The compare is constant-time (subtle, over SHA-256 digests) and exact.
    let key = SecretString::from(KEY);
    assert!(clawrouter::credentials::keys_match(KEY.as_bytes(), &key));
    assert!(!clawrouter::credentials::keys_match(
        &KEY.as_bytes()[..KEY.len() - 1],
        &key
    ));
}

// ---------------------------------------------------------------- row 6

#[tokio::test]
async fn row06_json_content_type_required() {
    let s = stack().await;
    let mut body = chat_body(SONNET, "hello");
    body["max_tokens"] = json!(100);
    let body = serde_json::to_string(&body).unwrap();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
        None,
    ] {
        for path in [
            "/v1/chat/completions",
            "/v1/messages",
            "/v1/messages/count_tokens",
        ] {
            let mut r = s.post(path).body(body.clone());
            if let Some(ct) = content_type {
                r = r.header("content-type", ct);
            }
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 415, "{path} {content_type:?}");
        }
    }
    assert_eq!(s.double.stats().requests, 0, "no upstream call");
}

// ---------------------------------------------------------------- row 7

#[tokio::test]
async fn row07_route_allow_list() {
    let s = stack().await;
    // The whole surface.
    for path in ["/v1/models", "/models", "/health/liveliness"] {
        assert_eq!(s.get(path).send().await.unwrap().status(), 200, "{path}");
    }
    let mut body = chat_body(SONNET, "hi");
    body["max_tokens"] = json!(100);
    for path in [
        "/v1/chat/completions",
        "/chat/completions",
        "/v1/messages",
        "/v1/messages/count_tokens",
    ] {
        let r = s.post(path).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    for path in [
        "/",
        "/api/pull",
        "/api/create",
        "/api/tags",
        "/admin",
        "/config",
        "/settings",
        "/v1/keys",
        "/v1/completions",
        "/v1/embeddings",
        "/metrics",
        "/debug/pprof",
        "/__double/stats",
        "/model/x/converse",
        "/v1/models/../../admin",
        "/V1/MODELS",
    ] {
        let r = s.get(path).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let r = s.post(path).json(&json!({})).send().await.unwrap();
        assert!(matches!(r.status().as_u16(), 404 | 405), "POST {path}");
    }
}

// ---------------------------------------------------------------- row 8

#[tokio::test]
async fn row08_upstream_is_pinned() {
    let s = stack().await;
    let mut body = chat_body(SONNET, "where do I go");
    for (field, value) in [
        ("api_base", "http://evil.example"),
        ("base_url", "http://evil.example"),
        ("endpoint", "http://evil.example"),
        ("region", "eu-west-1"),
        ("aws_region_name", "eu-west-1"),
        ("aws_access_key_id", concat!("AKIA", "EVILEVILEVILEVIL")),
    ] {
        body[field] = json!(value);
    }
    let r = s
        .post("/v1/chat/completions")
        .header("x-amz-target", "evil")
        .header("x-amz-security-token", "evil")
        .header("x-forwarded-host", "evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    // The double verifies SigV4 with its own keys: a forwarded Authorization
    // or a client-chosen region would fail the signature.
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let stats = s.double.stats();
    assert_eq!(stats.requests, 1);
    assert_eq!(
        stats.by_model.keys().collect::<Vec<_>>(),
        ["us.anthropic.claude-sonnet-4-5-20250929-v1:0"]
    );
    // Unknown or raw upstream ids are not reachable: a bare id of a model
    // the catalog lacks gets the profile-id advice (400), the rest a 404.
    for (model, expected) in [
        ("anthropic.claude-3-opus-20240229-v1:0", 400),
        ("arn:aws:bedrock:us-east-1:1:inference-profile/x", 404),
        ("gpt-4o", 404),
    ] {
        let (status, _, _) = s.chat(chat_body(model, "hi")).await;
        assert_eq!(status, expected, "{model}");
    }
    assert_eq!(s.double.stats().requests, 1, "no upstream call");
}

// ---------------------------------------------------------------- row 9

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever a client asks for, the translated `max_tokens` stays within the model's cap.
    #[test]
    fn row09_max_tokens_clamped(asked in any::<u32>(), completion in proptest::option::of(any::<u32>())) {
        let catalog = clawrouter::catalog::Catalog::builtin().unwrap();
        let mut body = chat_body(SONNET, "hi");
        body["max_tokens"] = json!(asked);
        if let Some(c) = completion {
            body["max_completion_tokens"] = json!(c);
        }
        let req: clawrouter::openai::ChatCompletionRequest = serde_json::from_value(body).unwrap();
        for model in catalog.models() {
            if let Ok((converse, _)) = clawrouter::openai::to_converse(&req, model, &model.profile_id) {
                let max = converse.inference.and_then(|i| i.max_tokens()).unwrap();
                prop_assert!(max > 0 && max as u32 <= model.max_output, "{max} > {}", model.max_output);
            }
        }
    }

    /// The same for the Anthropic route's InvokeModel body.
    #[test]
    fn row09_max_tokens_clamped_anthropic(asked in 1..=u32::MAX) {
        let catalog = clawrouter::catalog::Catalog::builtin().unwrap();
        let mut body = chat_body(SONNET, "hi");
        body["max_tokens"] = json!(asked);
        let req: clawrouter::anthropic::MessagesRequest = serde_json::from_value(body).unwrap();
        for model in catalog.models() {
            let (sent, _) = clawrouter::anthropic::bedrock_body(&req, None, model).unwrap();
            let sent: Value = serde_json::from_slice(&sent).unwrap();
            let max = sent["max_tokens"].as_u64().unwrap();
            prop_assert!(max > 0 && max <= u64::from(model.max_output), "{max} > {}", model.max_output);
        }
    }
}

// ---------------------------------------------------------------- row 10

#[tokio::test]
async fn row10_body_limit_content_length_and_chunked() {
    const LIMIT: usize = 4096;
    let s = stack_with(|c| c.max_body_bytes = LIMIT).await;
    let addr = s.proxy.addr();
    let port = addr.port();
    // Valid JSON of an exact size: the prompt pads it.
    let body_of = |size: usize| {
        let base = serde_json::to_string(&chat_body(SONNET, "")).unwrap();
        let padded = chat_body(SONNET, &"a".repeat(size - base.len()));
        let text = serde_json::to_string(&padded).unwrap();
        assert_eq!(text.len(), size);
        text
    };
    let at_limit = s
        .post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(body_of(LIMIT))
        .send()
        .await
        .unwrap();
    assert_eq!(at_limit.status(), 200);
    let over = s
        .post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(body_of(LIMIT + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 413);
    // Chunked: no Content-Length to refuse up front; the count still stops it.
    let body = body_of(LIMIT + 1);
    let (a, b) = body.split_at(LIMIT / 2);
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let r = send_raw(addr, request.as_bytes()).await;
    assert_eq!(r.status, 413, "{}", r.head);
    // A streaming request is refused the same way.
    let mut streaming: Value = serde_json::from_str(&body_of(LIMIT + 1)).unwrap();
    streaming["stream"] = json!(true);
    let r = s
        .post("/v1/chat/completions")
        .json(&streaming)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(s.double.stats().requests, 1, "only the at-limit request");
}

// ---------------------------------------------------------------- row 11

#[tokio::test]
async fn row11_header_count_and_size_limits() {
    let s = stack().await;
    let addr = s.proxy.addr();
    let port = addr.port();
    let many: String = (0..101).map(|i| format!("X-H-{i}: v\r\n")).collect();
    let r = send_raw(
        addr,
        &get_with("/v1/models", &format!("{}{many}", host(port))),
    )
    .await;
    assert_eq!(r.status, 431, "{}", r.head);
    // 70 KiB of header, in two writes (hyper #4081: limits checked per read).
    let big = "a".repeat(70 * 1024);
    let request = get_with("/v1/models", &format!("{}X-Big: {big}\r\n", host(port)));
    let (first, second) = request.split_at(request.len() / 2);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The server may already have refused and closed.
    let _ = stream.write_all(second).await;
    let r = read_until_closed(&mut stream).await;
    assert_eq!(r.status, 431, "{}", r.head);
    // 99 small headers are fine.
    let fine: String = (0..95).map(|i| format!("X-H-{i}: v\r\n")).collect();
    let r = send_raw(
        addr,
        &get_with("/v1/models", &format!("{}{fine}", host(port))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.head);
}

// ---------------------------------------------------------------- row 12

#[tokio::test]
async fn row12_slowloris_header_read_timeout() {
    let timeout = Duration::from_millis(800);
    let s = stack_with(|c| c.header_read_timeout = timeout).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(s.proxy.addr()).await.unwrap();
    stream.write_all(b"GET /v1/models HTT").await.unwrap();
    let mut byte = [0u8; 64];
    let closed = tokio::time::timeout(timeout + Duration::from_secs(3), async {
        loop {
            match stream.read(&mut byte).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue, // a 408 is fine, as long as it closes
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the half-sent request kept the socket open");
    assert!(started.elapsed() >= timeout - Duration::from_millis(100));
}

// ---------------------------------------------------------------- row 13

#[tokio::test]
async fn row13_stalled_upstream_stream_times_out_and_frees_the_slot() {
    let idle = Duration::from_millis(500);
    let s = stack_with(|c| c.stream_idle_timeout = idle).await;
    let started = Instant::now();
    let (status, events) = s
        .chat_stream(chat_body(SONNET, "hello [[double:stall]]"))
        .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < idle + Duration::from_secs(3));
    let last = events.last().unwrap();
    assert_eq!(last["error"]["code"], "upstream_timeout", "{events:?}");
    assert!(eventually(Duration::from_secs(2), || s.proxy.in_flight() == 0).await);
    // The stalled upstream call was dropped, not left hanging.
    assert!(
        eventually(Duration::from_secs(2), || s
            .double
            .stats()
            .streams_abandoned
            == 1)
        .await
    );
}

// ---------------------------------------------------------------- row 14

#[tokio::test]
async fn row14_concurrency_limit_sheds_at_once() {
    let s = stack_with(|c| c.max_concurrent_requests = 2).await;
    let slow = |s: &Stack| {
        s.post("/v1/chat/completions")
            .json(&chat_body(SONNET, "slow [[double:delay=1500]]"))
            .send()
    };
    let (first, second) = (tokio::spawn(slow(&s)), tokio::spawn(slow(&s)));
    assert!(eventually(Duration::from_secs(5), || s.proxy.in_flight() == 2).await);
    let started = Instant::now();
    let shed = s.get("/v1/models").send().await.unwrap();
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert!(started.elapsed() < Duration::from_millis(500));
    let shed = s
        .post("/v1/messages")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        shed.status(),
        529,
        "Anthropic clients retry overloaded_error"
    );
    assert_eq!(
        shed.json::<Value>().await.unwrap()["error"]["type"],
        "overloaded_error"
    );
    for held in [first, second] {
        assert_eq!(held.await.unwrap().unwrap().status(), 200);
    }
    assert!(eventually(Duration::from_secs(2), || s.proxy.in_flight() == 0).await);
    assert_eq!(s.get("/v1/models").send().await.unwrap().status(), 200);
}

// ---------------------------------------------------------------- row 15

#[tokio::test]
async fn row15_client_disconnect_cancels_upstream_and_is_accounted() {
    let s = stack().await;
    let mut body = chat_body(SONNET, "[[double:chunk-delay=100]] [[double:long=300]]");
    body["stream"] = json!(true);
    let r = s
        .post("/v1/chat/completions")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut chunks = r.bytes_stream();
    let mut seen = String::new();
    while seen.matches("data: ").count() < 2 {
        seen.push_str(&String::from_utf8_lossy(
            &chunks.next().await.unwrap().unwrap(),
        ));
    }
    drop(chunks);
    // 300 words at 100 ms would take half a minute; the double sees the hang-up at once.
    assert!(
        eventually(Duration::from_secs(1), || s
            .double
            .stats()
            .streams_abandoned
            == 1)
        .await,
        "{:?}",
        s.double.stats()
    );
    assert!(eventually(Duration::from_secs(1), || s.proxy.in_flight() == 0).await);
    // The ledger still gets the request, marked as closed by the client
    // (499), with what was used: Bedrock bills the prompt and whatever it
    // generated even when nobody reads it.
    let recorded = || s.ledger.recent(10).unwrap();
    assert!(eventually(Duration::from_secs(2), || recorded().len() == 1).await);
    let row = &recorded()[0];
    assert_eq!(row.status, 499, "{row:?}");
    assert!(row.usage.input > 0 && row.usage.output > 0, "{row:?}");
}

// ---------------------------------------------------------------- row 16

#[tokio::test]
async fn row16_graceful_shutdown_is_bounded_and_the_port_is_reusable() {
    let drain = Duration::from_secs(1);
    let s = stack_with(|c| c.drain_timeout = drain).await;
    let addr = s.proxy.addr();
    // An idle half-request...
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0")
        .await
        .unwrap();
    // ...and an active slow stream (30 s if left alone).
    let mut body = chat_body(SONNET, "[[double:chunk-delay=300]] [[double:long=100]]");
    body["stream"] = json!(true);
    let r = s
        .post("/v1/chat/completions")
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    stream.next().await.unwrap().unwrap();
    let started = Instant::now();
    tokio::time::timeout(drain + Duration::from_secs(2), s.proxy.stop())
        .await
        .expect("shutdown hung past the drain deadline");
    assert!(started.elapsed() >= drain - Duration::from_millis(100));
    drop(stream);

    // Restart on the same port at once (SO_REUSEADDR; nothing falls back).
    let config = ServerConfig::new(SecretString::from(KEY));
    let (url, budgets) = (s.double.url(), Budgets::default());
    let state = || app_state(&url, config.clone(), &budgets);
    let first = server::start(state().await.0, 0).await.unwrap();
    let port = first.addr().port();
    first.stop().await;
    let again = server::start(state().await.0, port).await.unwrap();
    assert_eq!(again.addr().port(), port);
    again.stop().await;
}

// ---------------------------------------------------------------- row 17

/// Autoref probe: `Probe::<T>::new().serializable()` is true only when T: Serialize.
struct Probe<T>(std::marker::PhantomData<T>);
trait NotSerialize {
    fn serializable(&self) -> bool {
        false
    }
}
impl<T> NotSerialize for &Probe<T> {}
impl<T: serde::Serialize> Probe<T> {
    fn serializable(&self) -> bool {
        true
    }
}

#[test]
// The explicit `&` is the probe: without it the trait fallback is never tried.
#[allow(clippy::needless_borrow)]
fn row17_secret_holders_never_print_or_serialize_secrets() {
    const SECRET: &str = "Canary/Secret+Key0123456789abcdefghijklm";
    const TOKEN: &str = "CanarySessionToken0123456789";
    const CLIENT: &str = "sk-canary-client-0123456789abcdef";
    let mut config = ServerConfig::new(SecretString::from(CLIENT));
    config.allowed_origins = vec!["http://localhost:3000".into()];
    let keys = clawrouter::credentials::AwsKeys {
        access_key_id: concat!("AKIA", "CANARY0000000000").into(),
        secret_access_key: SecretString::from(SECRET),
        session_token: Some(SecretString::from(TOKEN)),
    };
    let sdk = aws_credential_types::Credentials::new(
        concat!("AKIA", "CANARY0000000000"),
        SECRET,
        Some(TOKEN.into()),
        None,
        "canary",
    );
    let double = bedrock_double::DoubleConfig {
        port: 0,
        credentials: vec![(concat!("AKIA", "CANARY0000000000").into(), SECRET.into())],
        ..Default::default()
    };
    for printed in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{keys:?}"),
        format!("{sdk:?}"),
        format!("{double:?}"),
    ] {
        for secret in [SECRET, TOKEN, CLIENT] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
    assert!(!(&Probe::<clawrouter::credentials::AwsKeys>(Default::default())).serializable());
    assert!(!(&Probe::<ServerConfig>(Default::default())).serializable());
    assert!(!(&Probe::<SecretString>(Default::default())).serializable());
    // The probe itself works.
    assert!((&Probe::<String>(Default::default())).serializable());
}

// ---------------------------------------------------------------- row 18

/// Canary secrets shaped like the real ones (a 40-character secret with `/`
/// and `+`, an STS session token, a client key), random per run.
struct Canaries {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    client_key: String,
}

impl Canaries {
    fn new() -> Self {
        use rand::Rng;
        use rand::distr::Alphanumeric;
        let random = |n: usize| -> String {
            rand::rng()
                .sample_iter(&Alphanumeric)
                .take(n)
                .map(char::from)
                .collect()
        };
        Canaries {
            access_key_id: format!("AKIA{}", random(16).to_ascii_uppercase()),
            secret_access_key: format!("Cn/{}+{}", random(18), random(18)),
            session_token: format!("Tk{}/{}+{}==", random(30), random(40), random(30)),
            client_key: format!("sk-canary-{}", random(32)),
        }
    }

    /// Every way a secret could be written: raw, JSON-quoted, with `\/`
    /// escapes, Debug-quoted, percent-encoded, and its first 16 characters.
    fn needles(secret: &str) -> Vec<String> {
        vec![
            secret.to_owned(),
            serde_json::to_string(secret).unwrap(),
            secret.replace('/', "\\/"),
            format!("{secret:?}"),
            secret.replace('/', "%2F").replace('+', "%2B"),
            secret[..16].to_owned(),
        ]
    }
}

fn find_leaks(haystack: &[u8], secrets: &[&str]) -> Vec<String> {
    let text = String::from_utf8_lossy(haystack);
    secrets
        .iter()
        .flat_map(|s| Canaries::needles(s))
        .filter(|needle| text.contains(needle.as_str()))
        .collect()
}

/// Every file under `dir`, recursively, as bytes.
fn all_files(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.extend(bytes);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn row18_secrets_canary_at_trace_level() {
    use tokio::io::AsyncBufReadExt;
    use tokio::process::Command;

    let canaries = Canaries::new();
    let double = bedrock_double::start(bedrock_double::DoubleConfig {
        port: 0,
        credentials: vec![(
            canaries.access_key_id.clone(),
            canaries.secret_access_key.clone(),
        )],
        ..Default::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("settings.json"),
        r#"{"upstream_timeout_secs": 1, "stream_idle_timeout_secs": 1}"#,
    )
    .unwrap();
    let command = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clawrouter"));
        c.args(args)
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env("CLAWROUTER_HOME", home.path())
            .env("CLAWROUTER_API_KEY", &canaries.client_key)
            .env("AWS_ACCESS_KEY_ID", &canaries.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &canaries.secret_access_key)
            .env("AWS_SESSION_TOKEN", &canaries.session_token)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", double.url())
            .env("AWS_ENDPOINT_URL_BEDROCK", double.url())
            // No keychain: credentials come from the environment above.
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("AWS_PROFILE")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        c
    };

    let mut proxy = command(&["serve", "--port", "0"]).spawn().unwrap();
    let mut stderr = proxy.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut all = Vec::new();
        stderr.read_to_end(&mut all).await.unwrap();
        all
    });
    let mut stdout = tokio::io::BufReader::new(proxy.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).await.unwrap();
    let url = first_line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve did not start: {first_line:?}"))
        .trim()
        .to_owned();

    // Success, auth failure, upstream errors, timeouts, streams, status routes.
    let http = reqwest::Client::new();
    let mut transcript = Vec::new();
    let chat = |text: &str, stream: bool| {
        let mut body = chat_body(SONNET, text);
        body["stream"] = json!(stream);
        body
    };
    let requests = [
        (KEY_RIGHT, chat("hello", false)),
        (KEY_RIGHT, chat("hello", true)),
        (
            KEY_RIGHT,
            json!({"model": "auto", "messages": [{"role": "user", "content": "route me"}]}),
        ),
        (KEY_WRONG, chat("hello", false)),
        (KEY_RIGHT, chat("[[double:status=500]]", false)),
        (KEY_RIGHT, chat("[[double:status=403]]", false)),
        (KEY_RIGHT, chat("[[double:status=400]]", false)),
        (KEY_RIGHT, chat("[[double:throttle]]", true)),
        (KEY_RIGHT, chat("[[double:delay=2500]]", false)),
        (KEY_RIGHT, chat("[[double:stall]]", true)),
        (KEY_RIGHT, chat("[[double:midstream]]", true)),
        (KEY_RIGHT, chat("[[double:bogus]]", false)),
    ];
    for (which, body) in requests {
        let key = if which == KEY_RIGHT {
            canaries.client_key.clone()
        } else {
            format!("{}x", canaries.client_key)
        };
        let r = http
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        transcript.extend(format!("{} {:?}\n", r.status(), r.headers()).into_bytes());
        transcript.extend(r.bytes().await.unwrap());
    }
    for text in ["hello", "[[double:status=500]]"] {
        let mut body = chat_body(SONNET, text);
        body["max_tokens"] = json!(50);
        let r = http
            .post(format!("{url}/v1/messages"))
            .header("x-api-key", &canaries.client_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        transcript.extend(format!("{} {:?}\n", r.status(), r.headers()).into_bytes());
        transcript.extend(r.bytes().await.unwrap());
    }
    for path in ["/health", "/v1/models", "/nope", "/health/liveliness"] {
        let r = http
            .get(format!("{url}{path}"))
            .header("x-api-key", &canaries.client_key)
            .send()
            .await
            .unwrap();
        transcript.extend(format!("{} {:?}\n", r.status(), r.headers()).into_bytes());
        transcript.extend(r.bytes().await.unwrap());
    }
    assert!(
        double.stats().requests >= 8,
        "the proxy did call upstream: {:?}",
        double.stats()
    );

    // SIGTERM: the graceful path; then everything it wrote.
    let pid = proxy.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), proxy.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).await.unwrap();
    let mut output = first_line.into_bytes();
    output.extend(rest);
    output.extend(stderr_task.await.unwrap());
    // Our own code's DEBUG events show the capture works at that verbosity
    // (the wire crates' DEBUG/TRACE are capped by design).
    assert!(
        String::from_utf8_lossy(&output).contains(" DEBUG "),
        "the proxy did not log at DEBUG level"
    );

    let check = command(&["check", "--json"]).output().await.unwrap();
    let keys = command(&["keys", "status", "--json"])
        .output()
        .await
        .unwrap();
    let aws_secrets = [
        canaries.secret_access_key.as_str(),
        canaries.session_token.as_str(),
    ];
    let all_secrets = [aws_secrets[0], aws_secrets[1], canaries.client_key.as_str()];
    for (what, bytes) in [
        ("serve stdout+stderr", &output),
        ("responses", &transcript),
        ("check stdout", &check.stdout),
        ("check stderr", &check.stderr),
        ("keys status stderr", &keys.stderr),
        ("files under CLAWROUTER_HOME", &all_files(home.path())),
    ] {
        assert_eq!(
            find_leaks(bytes, &all_secrets),
            Vec::<String>::new(),
            "{what}"
        );
    }
    // `keys status` exists to show the client key to its user; AWS secrets never.
    assert_eq!(find_leaks(&keys.stdout, &aws_secrets), Vec::<String>::new());
}

const KEY_RIGHT: bool = true;
const KEY_WRONG: bool = false;
