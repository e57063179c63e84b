//! Hostile local traffic (issue 13): what another process on the machine can
//! do without the key, or with it but slowly, must not hold shared
//! resources; and upstream faults keep their meaning. Raw sockets and a raw
//! HTTP/2 client where the attack is in the bytes; the real binary as a
//! child where the attack is on the process (file descriptors, memory).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{KEY, ProxyProcess, chat_body, stack_with};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SONNET: &str = "bedrock/claude-sonnet-4-5";

/// How long until the server closes `stream` (reading and discarding), or
/// `None` if it is still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 4096];
    let read_to_end = async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_to_end)
        .await
        .ok()
        .map(|()| started.elapsed())
}

/// A raw HTTP/2 client that never opens its receive window, on its own connection.
async fn zero_window_h2(
    addr: SocketAddr,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<()>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake(tcp)
        .await
        .unwrap();
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, driver)
}

#[tokio::test]
async fn keyless_zero_window_http2_streams_hold_no_slot_and_get_closed() {
    let send_timeout = Duration::from_millis(800);
    let s = stack_with(|c| {
        c.max_concurrent_requests = 4;
        c.send_timeout = send_timeout;
    })
    .await;
    let addr = s.proxy.addr();
    // Two connections, eight streams each, twice the slots: every 401 is
    // stuck behind a window the client never opens.
    let mut attackers = Vec::new();
    for _ in 0..2 {
        let (mut client, driver) = zero_window_h2(addr).await;
        let mut heads = Vec::new();
        for _ in 0..8 {
            client = client.ready().await.unwrap();
            let request =
                http::Request::post(format!("http://127.0.0.1:{}/v1/messages", addr.port()))
                    .header("content-type", "application/json")
                    .body(())
                    .unwrap();
            let (response, mut body) = client.send_request(request, false).unwrap();
            body.send_data(bytes::Bytes::from_static(b"{}"), true)
                .unwrap();
            heads.push(response);
        }
        for head in heads {
            let response = head.await.unwrap();
            assert_eq!(response.status(), 401);
            // The body stays unread: the window is zero.
            std::mem::forget(response);
        }
        attackers.push((client, driver));
    }
    // A real client is served meanwhile.
    let mut body = chat_body(SONNET, "hello");
    body["max_tokens"] = json!(50);
    let r = s.post("/v1/messages").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(s.proxy.in_flight(), 0);
    // And the attackers' connections are closed once their answers have waited too long.
    for (_client, driver) in attackers {
        tokio::time::timeout(send_timeout + Duration::from_secs(3), driver)
            .await
            .expect("a connection whose client never reads stayed open")
            .unwrap();
    }
}

#[tokio::test]
async fn silent_and_incomplete_connections_are_closed_within_seconds() {
    let timeout = Duration::from_millis(500);
    let s = stack_with(|c| c.header_read_timeout = timeout).await;
    let addr = s.proxy.addr();
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // An empty SETTINGS frame: 3-byte length, type 4, flags 0, stream 0.
    let settings = [0u8, 0, 0, 4, 0, 0, 0, 0, 0];
    let mut full_preface = preface.to_vec();
    full_preface.extend_from_slice(&settings);
    let cases: [(&str, &[u8]); 6] = [
        ("nothing", b""),
        ("one byte", b"P"),
        ("half an HTTP/2 preface", &preface[..12]),
        ("an HTTP/2 preface and SETTINGS", &full_preface),
        (
            "half a request head",
            b"POST /v1/messages HTTP/1.1\r\nHost: 127.0",
        ),
        ("a request line only", b"GET /v1/models HTTP/1.1\r\n"),
    ];
    let mut sockets = Vec::new();
    for (what, bytes) in cases {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        sockets.push((what, stream));
    }
    for (what, mut stream) in sockets {
        let took = closed_within(&mut stream, timeout + Duration::from_secs(3)).await;
        assert!(took.is_some(), "{what}: still open");
    }
    assert_eq!(s.proxy.connections(), 0);
}

#[tokio::test]
async fn stalled_authenticated_uploads_hold_no_slot_and_get_408() {
    let body_timeout = Duration::from_millis(800);
    let s = stack_with(|c| {
        c.max_concurrent_requests = 2;
        c.body_timeout = body_timeout;
    })
    .await;
    let addr = s.proxy.addr();
    let mut uploads = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n\
             Content-Length: 1000\r\nConnection: close\r\n\r\n{{\"model\"",
            addr.port()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        uploads.push(stream);
    }
    // More stalled uploads than slots, and a real request still gets one.
    let (status, _, body) = s.chat(chat_body(SONNET, "hello")).await;
    assert_eq!(status, 200, "{body}");
    for mut stream in uploads {
        let mut answer = Vec::new();
        tokio::time::timeout(
            body_timeout + Duration::from_secs(3),
            stream.read_to_end(&mut answer),
        )
        .await
        .expect("a stalled upload was never cut")
        .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
    }
    assert_eq!(s.double.stats().requests, 1);
}

#[tokio::test]
async fn method_not_allowed_is_in_the_protocols_error_shape() {
    let s = stack_with(|_| {}).await;
    let r = s.get("/v1/chat/completions").send().await.unwrap();
    assert_eq!(r.status(), 405);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let r = s.get("/v1/messages").send().await.unwrap();
    assert_eq!(r.status(), 405);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let s = stack_with(|_| {}).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = s
            .http
            .get(format!("{}/v1/models", s.url))
            .header("authorization", format!("{scheme} {KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
    }
}

// ------------------------------------------------------- the process itself

/// Whether `prlimit` (util-linux) can run a child here.
fn have_prlimit() -> bool {
    std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn descriptor_exhaustion_refuses_new_connections_and_recovers() {
    assert!(have_prlimit(), "prlimit (util-linux) is needed");
    let double = bedrock_double::start(bedrock_double::DoubleConfig::default())
        .await
        .unwrap();
    // 256 descriptors in all, soft and hard: nothing to raise to.
    let proxy = ProxyProcess::start(
        &double.url(),
        r#"{"client_timeout_secs": 1}"#,
        &["prlimit", "--nofile=256:256"],
    )
    .await;
    let addr: SocketAddr = proxy.url.trim_start_matches("http://").parse().unwrap();
    // Every wait is bounded: a proxy out of descriptors answers nothing.
    let client = || {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(1)
            .build()
            .unwrap()
    };
    let models = |client: &reqwest::Client| {
        client
            .get(format!("{}/v1/models", proxy.url))
            .bearer_auth(KEY)
            .send()
    };
    // An answer streaming when the flood starts is not starved.
    let early = client();
    assert_eq!(models(&early).await.unwrap().status(), 200);
    let mut slow = chat_body(SONNET, "[[double:chunk-delay=100]] [[double:long=30]] go");
    slow["stream"] = json!(true);
    let streaming = early
        .post(format!("{}/v1/chat/completions", proxy.url))
        .bearer_auth(KEY)
        .json(&slow)
        .send()
        .await
        .unwrap();
    assert_eq!(streaming.status(), 200);
    let streamed = tokio::spawn(streaming.text());
    // Twice as many silent sockets as the process has descriptors.
    let connects =
        (0..512).map(|_| tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)));
    let mut flood: Vec<TcpStream> = futures_util::future::join_all(connects)
        .await
        .into_iter()
        .filter_map(|c| c.ok()?.ok())
        .collect();
    assert!(flood.len() > 256, "only {} sockets connected", flood.len());
    let streamed = tokio::time::timeout(Duration::from_secs(10), streamed)
        .await
        .expect("the stream stalled")
        .unwrap();
    assert!(
        streamed.as_ref().is_ok_and(|t| t.contains("data: [DONE]")),
        "an open connection was starved: {streamed:?}"
    );
    // New clients get in again once the silent ones are closed (1 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    let served = loop {
        match models(&client()).await {
            Ok(r) if r.status() == 200 => break true,
            _ if Instant::now() > deadline => break false,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert!(served, "no new client was served after the flood");
    let opened = flood.len();
    let closes = flood
        .iter_mut()
        .map(|socket| closed_within(socket, Duration::from_secs(3)));
    let closed = futures_util::future::join_all(closes)
        .await
        .iter()
        .filter(|c| c.is_some())
        .count();
    assert_eq!(closed, opened, "every silent socket is closed");
    let mut body = chat_body(SONNET, "still spending money correctly?");
    body["max_tokens"] = json!(20);
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// `count` alternating one-word turns: about `count * 40` bytes of JSON.
fn many_tiny_messages(count: usize) -> Value {
    let messages: Vec<Value> = (0..count)
        .map(|i| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            json!({"role": role, "content": "hi"})
        })
        .collect();
    json!({"model": SONNET, "max_tokens": 10, "messages": messages})
}

/// POSTs a raw `/v1/messages` body to `proxy` with the client key.
fn post_messages(
    proxy: &ProxyProcess,
    body: Vec<u8>,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", proxy.url))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
}

/// Sends a `/v1/messages` body of `count` tiny messages to a fresh proxy
/// process; returns the body size and the rise of the process's peak RSS (kB).
async fn memory_for_messages_body(count: usize) -> (u64, u64) {
    let double = bedrock_double::start(bedrock_double::DoubleConfig::default())
        .await
        .unwrap();
    let proxy = ProxyProcess::start(&double.url(), "{}", &[]).await;
    let body = serde_json::to_vec(&many_tiny_messages(count)).unwrap();
    let send = |body: Vec<u8>| post_messages(&proxy, body);
    // Warm up (runtime, upstream client, catalog), then measure.
    let warm = send(serde_json::to_vec(&many_tiny_messages(2)).unwrap())
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let peak_before = proxy.status_kb("VmHWM");
    let r = send(body.clone()).await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let peak_rise = proxy.status_kb("VmHWM") - peak_before;
    let body_kb = body.len() as u64 / 1024;
    eprintln!("{body_kb} kB body: peak RSS +{peak_rise} kB");
    (body_kb, peak_rise)
}

/// Today's parse (a generic tree per message) peaked at 25 times the body;
/// now it is a few times the body (the body, its parsed messages, the body
/// sent on).
fn assert_proportional((body_kb, peak_rise): (u64, u64)) {
    assert!(
        peak_rise < 8 * body_kb,
        "peak RSS rose {peak_rise} kB for a {body_kb} kB body"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_messages_body_costs_memory_proportional_to_it() {
    // 4 MB: the same assertion as the 19 MB test below, quick enough for every run.
    assert_proportional(memory_for_messages_body(120_000).await);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "19 MB through a debug build takes half a minute; the 4 MB test runs by default"]
async fn a_19_mb_messages_body_costs_memory_proportional_to_it() {
    let measured = memory_for_messages_body(580_000).await;
    assert!(measured.0 > 18_500 && measured.0 < 19_500, "{measured:?}");
    assert_proportional(measured);
}

/// After a burst of large bodies the memory they took goes back to the
/// system, not only to the allocator: a desktop app that peaked at a
/// gigabyte once should not keep it for the rest of the day.
#[tokio::test(flavor = "multi_thread")]
async fn memory_returns_to_the_system_after_a_burst() {
    let double = bedrock_double::start(bedrock_double::DoubleConfig::default())
        .await
        .unwrap();
    let proxy = ProxyProcess::start(&double.url(), "{}", &[]).await;
    let send = |body: Vec<u8>| post_messages(&proxy, body);
    let small = || serde_json::to_vec(&many_tiny_messages(2)).unwrap();
    assert_eq!(send(small()).await.unwrap().status(), 200);
    let resting = proxy.status_kb("VmRSS");
    // Four 4 MB bodies at once.
    let big = serde_json::to_vec(&many_tiny_messages(120_000)).unwrap();
    let burst = futures_util::future::join_all((0..4).map(|_| send(big.clone()))).await;
    for r in burst {
        assert_eq!(r.unwrap().status(), 200);
    }
    let peak = proxy.status_kb("VmHWM");
    let rise = peak.saturating_sub(resting);
    assert!(
        rise > 20_000,
        "the burst should have cost memory: +{rise} kB"
    );
    // Ordinary small requests go on meanwhile; within a bounded number of
    // them, resident memory gives back at least half of the rise (glibc's
    // malloc kept three quarters of it).
    let mut settled = proxy.status_kb("VmRSS");
    let mut requests = 0;
    while requests < 200 {
        if settled < resting + rise / 2 {
            break;
        }
        requests += 1;
        assert_eq!(send(small()).await.unwrap().status(), 200);
        settled = proxy.status_kb("VmRSS");
    }
    eprintln!("resting {resting} kB, peak {peak} kB, {settled} kB after {requests} small requests");
    assert!(
        settled < resting + rise / 2,
        "resident memory stayed at {settled} kB after a peak of {peak} kB (resting {resting} kB)"
    );
}

// ------------------------------------------------------- upstream faults

/// A Bedrock exception after the stream started is the server's fault, in
/// each protocol's terms, and the ledger says so: a 5xx or a 429, never the
/// client's 400 (Claude Code gives up at once on a 400, and retries the others).
#[tokio::test]
async fn mid_stream_exceptions_keep_their_meaning_on_both_protocols() {
    let s = stack_with(|_| {}).await;
    // (exception, Anthropic type, OpenAI type, ledger status)
    let cases = [
        (
            "modelStreamErrorException",
            "api_error",
            "server_error",
            502,
        ),
        ("internalServerException", "api_error", "server_error", 502),
        (
            "serviceUnavailableException",
            "api_error",
            "server_error",
            503,
        ),
        (
            "throttlingException",
            "overloaded_error",
            "rate_limit_error",
            429,
        ),
    ];
    for (exception, anthropic, openai, _) in cases {
        let text = format!("[[double:midstream={exception}]] go");
        let mut body = chat_body(SONNET, &text);
        body["max_tokens"] = json!(100);
        body["stream"] = json!(true);
        let sse = s
            .post("/v1/messages")
            .json(&body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let last = sse.trim_end().rsplit("\n\n").next().unwrap();
        assert!(last.starts_with("event: error\n"), "{exception}: {sse}");
        let data: Value = serde_json::from_str(last.split_once("data: ").unwrap().1).unwrap();
        assert_eq!(data["error"]["type"], anthropic, "{exception}: {data}");

        let (_, chunks) = s.chat_stream(chat_body(SONNET, &text)).await;
        let error = &chunks.last().unwrap()["error"];
        assert_eq!(error["type"], openai, "{exception}: {chunks:?}");
    }
    s.ledger.flush().unwrap();
    let rows = s.ledger.recent(100).unwrap();
    assert_eq!(rows.len(), 2 * cases.len());
    // Newest first: two rows per case, in reverse.
    for (pair, (exception, _, _, status)) in rows.chunks(2).zip(cases.iter().rev()) {
        for row in pair {
            assert_eq!(row.status, *status, "{exception}: {row:?}");
        }
    }
}

#[tokio::test]
async fn one_deadline_covers_every_fallback_attempt() {
    let deadline = Duration::from_millis(1500);
    let first_byte = Duration::from_millis(400);
    let s = stack_with(|c| {
        c.upstream_timeout = deadline;
        c.first_byte_timeout = first_byte;
    })
    .await;
    // Both candidates (the model's regional and global profiles) hang for 5 s.
    let hung = || chat_body(SONNET, "[[double:delay=5000]] anyone there?");
    let started = Instant::now();
    let (status, _, body) = s.chat(hung()).await;
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert!(
        took >= deadline && took < deadline + Duration::from_millis(900),
        "a whole answer took {took:?} with a {deadline:?} deadline"
    );
    // A stream gives each candidate its time to first byte, within the deadline.
    let started = Instant::now();
    let (status, _) = s.chat_stream(hung()).await;
    let took = started.elapsed();
    assert_eq!(status, 504);
    assert!(
        took >= 2 * first_byte && took < deadline,
        "two hung stream attempts took {took:?}"
    );
    let ledger = s.ledger.recent(10).unwrap();
    assert!(ledger.iter().all(|row| row.status == 504), "{ledger:?}");
}

// ------------------------------------------------------- the ledger under kill -9

/// Keeps `clients` requests in flight against `url` (both protocols,
/// streamed and whole, each with its own user agent, unique across rounds)
/// until `stop`; returns the user agents of the answers received whole.
async fn load_until(
    url: String,
    round: usize,
    clients: usize,
    stop: tokio::sync::watch::Receiver<bool>,
    done: tokio::sync::watch::Sender<usize>,
) -> Vec<String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, url, stop, done) = (http.clone(), url.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut received = Vec::new();
            for n in 0.. {
                if *stop.borrow() {
                    break;
                }
                let agent = format!("kill9-{round}-{client}-{n}");
                let stream = n % 2 == 1;
                let anthropic = (n / 2) % 2 == 1;
                let mut body = chat_body(SONNET, "[[double:long=20]] count");
                body["max_tokens"] = json!(100);
                body["stream"] = json!(stream);
                let path = if anthropic {
                    "/v1/messages"
                } else {
                    "/v1/chat/completions"
                };
                let sent = http
                    .post(format!("{url}{path}"))
                    .bearer_auth(KEY)
                    .header("user-agent", &agent)
                    .json(&body)
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() != 200 {
                    break;
                }
                let Ok(text) = response.text().await else {
                    break;
                };
                let whole = if stream {
                    text.contains("event: message_stop") || text.contains("data: [DONE]")
                } else {
                    serde_json::from_str::<Value>(&text).is_ok_and(|v| v["id"].is_string())
                };
                if !whole {
                    break;
                }
                received.push(agent);
                done.send_modify(|count| *count += 1);
            }
            received
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

/// Rounds of: start the real proxy, load it, kill -9 it after some answers
/// (a different number each round), then check the ledger holds a row for
/// every answer a client received whole, and no request twice.
async fn kill9_rounds(rounds: usize) {
    use clawrouter::ledger::Ledger;
    let double = bedrock_double::start(bedrock_double::DoubleConfig::default())
        .await
        .unwrap();
    let mut home = tempfile::tempdir().unwrap();
    let mut expected = 0;
    for round in 0..rounds {
        let proxy = ProxyProcess::start_in(home, &double.url(), "{}", &[]).await;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let (done_tx, mut done_rx) = tokio::sync::watch::channel(0usize);
        let load = tokio::spawn(load_until(proxy.url.clone(), round, 12, stop_rx, done_tx));
        let kill_after = 3 + (round * 7) % 23;
        tokio::time::timeout(
            Duration::from_secs(30),
            done_rx.wait_for(|count| *count >= kill_after),
        )
        .await
        .expect("the proxy answered too few requests")
        .unwrap();
        home = proxy.kill9().await;
        let _ = stop_tx.send(true);
        let received = load.await.unwrap();
        expected += received.len();
        let ledger = Ledger::open(&home.path().join("ledger.sqlite3")).unwrap();
        let clients: Vec<String> = ledger
            .recent(1_000_000)
            .unwrap()
            .into_iter()
            .map(|r| r.client)
            .collect();
        let recorded: std::collections::HashSet<String> = clients.iter().cloned().collect();
        // Each user agent made one request: a row recovered twice would show.
        assert_eq!(
            recorded.len(),
            clients.len(),
            "round {round}: a request was recorded twice"
        );
        let missing: Vec<&String> = received.iter().filter(|a| !recorded.contains(*a)).collect();
        assert!(
            missing.is_empty(),
            "round {round}: answers received whole but not in the ledger: {missing:?}"
        );
    }
    assert!(
        expected >= rounds * 3,
        "{expected} answers in {rounds} rounds"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_received_whole_survives_kill_9() {
    kill9_rounds(12).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "50 rounds take a while; 12 rounds run by default"]
async fn every_answer_received_whole_survives_many_kill_9_rounds() {
    kill9_rounds(50).await;
}
