//! Bounded load through the real `clawrouter serve` binary to the bedrock
//! double, loopback only, stopping by itself: every request must succeed and
//! the proxy's resident memory must not grow between the first and the last
//! thousand requests.
//!
//! - `load_smoke_500_at_16` runs in the normal test run (a few seconds).
//! - `load_10k_at_64` is `#[ignore]`d; `make load` runs it on release builds
//!   and it writes `bench/load-report.md` and `bench/load-report.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

const KEY: &str = "sk-load-0123456789abcdef";
/// Every `STREAM_EVERY`th request streams, so both paths are under load.
const STREAM_EVERY: usize = 4;

#[tokio::test(flavor = "multi_thread")]
async fn load_smoke_500_at_16() {
    let report = run_load(500, 16, 100).await;
    assert_eq!(report["errors"], 0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "takes about a minute; run with `make load` (release builds)"]
async fn load_10k_at_64() {
    let report = run_load(10_000, 64, 1_000).await;
    write_report(&report);
    assert_eq!(report["errors"], 0, "{report:#}");
    let rss = &report["rss_kib"];
    let (early, late) = (
        rss["after_first_window"].as_u64().unwrap(),
        rss["at_end"].as_u64().unwrap(),
    );
    // Allocator noise is allowed; steady growth (a leak per request) is not.
    assert!(
        late <= early + early / 10 + 4096,
        "proxy RSS grew from {early} KiB to {late} KiB"
    );
}

/// The proxy under test, started as its own process.
struct Proxy {
    child: Child,
    url: String,
    pid: u32,
}

impl Proxy {
    async fn start(double_url: &str, home: &Path) -> Proxy {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clawrouter"))
            .args(["serve", "--port", "0"])
            .env("CLAWROUTER_HOME", home)
            .env("CLAWROUTER_API_KEY", KEY)
            .env("AWS_ACCESS_KEY_ID", bedrock_double::TEST_ACCESS_KEY_ID)
            .env(
                "AWS_SECRET_ACCESS_KEY",
                bedrock_double::TEST_SECRET_ACCESS_KEY,
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", double_url)
            .env("AWS_ENDPOINT_URL_BEDROCK", double_url)
            .env("RUST_LOG", "warn")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).await.unwrap();
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
            .trim()
            .to_owned();
        let pid = child.id().unwrap();
        Proxy { child, url, pid }
    }

    fn rss_kib(&self) -> u64 {
        rss_of(self.pid)
    }
}

/// Sends `total` requests from `concurrency` workers; reads the proxy's RSS
/// at start, after the first `window` requests and at the end.
async fn run_load(total: usize, concurrency: usize, window: usize) -> Value {
    let double = bedrock_double::start(bedrock_double::DoubleConfig::default())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut proxy = Proxy::start(&double.url(), home.path()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // One request before measuring, so lazy start-up work is not counted as growth.
    assert_eq!(send(&http, &proxy.url, 0).await, Ok(()));
    let rss_start = proxy.rss_kib();

    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let rss_window = Arc::new(Mutex::new(None));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url) = (http.clone(), proxy.url.clone());
            let (next, done, errors) = (next.clone(), done.clone(), errors.clone());
            let (rss_window, pid) = (rss_window.clone(), proxy.pid);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return latencies;
                    }
                    let sent = Instant::now();
                    if let Err(e) = send(&http, &url, n).await {
                        errors.lock().await.push(e);
                    }
                    latencies.push(sent.elapsed());
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == window {
                        *rss_window.lock().await = Some(rss_of(pid));
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    let rss_end = proxy.rss_kib();
    let errors = errors.lock().await.clone();
    latencies.sort();
    let percentile = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    let upstream = double.stats().requests;
    proxy.child.kill().await.unwrap();
    json!({
        "requests": total,
        "concurrency": concurrency,
        "streamed_every": STREAM_EVERY,
        "errors": errors.len(),
        "first_errors": errors.iter().take(5).collect::<Vec<_>>(),
        "upstream_calls": upstream,
        "elapsed_s": round(elapsed.as_secs_f64()),
        "throughput_rps": round(total as f64 / elapsed.as_secs_f64()),
        "latency_ms": {"p50": round(percentile(0.50)), "p99": round(percentile(0.99)), "max": round(percentile(1.0))},
        "rss_kib": {
            "start": rss_start,
            "after_first_window": *rss_window.lock().await,
            "window": window,
            "at_end": rss_end,
        },
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}

/// Resident set size from `/proc/<pid>/status`, in KiB (0 if unreadable).
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One chat completion, whole or streamed; Ok when it fully succeeded.
async fn send(http: &reqwest::Client, url: &str, n: usize) -> Result<(), String> {
    let stream = n % STREAM_EVERY == STREAM_EVERY - 1;
    let body = json!({
        "model": "bedrock/claude-haiku-4-5",
        "messages": [{"role": "user", "content": format!("load request {n}")}],
        "stream": stream,
    });
    let response = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("#{n}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("#{n}: {e}"))?;
    let complete = if stream {
        text.ends_with("data: [DONE]\n\n")
    } else {
        text.contains("\"chat.completion\"")
    };
    if status == 200 && complete {
        Ok(())
    } else {
        Err(format!(
            "#{n}: {status} {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

fn write_report(report: &Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("load-report.json"),
        serde_json::to_string_pretty(report).unwrap() + "\n",
    )
    .unwrap();
    let r = report;
    let markdown = format!(
        "# Load report\n\n\
         `make load`: {requests} chat completions (every {every}th streamed) at concurrency \
         {concurrency}, from a reqwest client through the {build} `clawrouter serve` binary to \
         the in-process bedrock double, all on 127.0.0.1.\n\n\
         | measure | value |\n|---|---|\n\
         | errors | {errors} |\n\
         | upstream calls | {upstream} |\n\
         | elapsed | {elapsed} s |\n\
         | throughput | {rps} req/s |\n\
         | latency p50 | {p50} ms |\n\
         | latency p99 | {p99} ms |\n\
         | latency max | {max} ms |\n\
         | proxy RSS at start | {rss0} KiB |\n\
         | proxy RSS after {window} requests | {rss1} KiB |\n\
         | proxy RSS after {requests} requests | {rss2} KiB |\n\n\
         Pass criteria: zero errors; RSS at the end at most 10% + 4 MiB above RSS after the \
         first {window} (allocator noise allowed, per-request growth not). The machine: {cpus} \
         CPU(s), shared with the load generator and the double.\n",
        requests = r["requests"],
        every = r["streamed_every"],
        concurrency = r["concurrency"],
        build = r["build"].as_str().unwrap_or("?"),
        errors = r["errors"],
        upstream = r["upstream_calls"],
        elapsed = r["elapsed_s"],
        rps = r["throughput_rps"],
        p50 = r["latency_ms"]["p50"],
        p99 = r["latency_ms"]["p99"],
        max = r["latency_ms"]["max"],
        rss0 = r["rss_kib"]["start"],
        window = r["rss_kib"]["window"],
        rss1 = r["rss_kib"]["after_first_window"],
        rss2 = r["rss_kib"]["at_end"],
        cpus = std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    std::fs::write(dir.join("load-report.md"), markdown).unwrap();
}
