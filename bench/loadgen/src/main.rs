//! `loadgen`: N workers, each on its own keep-alive HTTP/1.1 connection,
//! send requests back to back (a closed loop: N requests always in flight)
//! until a request count or a time limit is reached, then print one JSON
//! object of latency percentiles, throughput and (for streams) time to first
//! token and per-chunk time.
//!
//! Three targets, so the client speaks to each system the way a user would:
//! - `direct`: a SigV4-signed Converse / ConverseStream straight to the
//!   bedrock double — the upstream cost any proxy pays (signing included).
//! - `openai`: an OpenAI chat completion (bearer key) to a proxy.
//! - `responses`: an OpenAI Responses call (bearer key) to a proxy, as Codex makes.
//!
//! Both go through the same hyper client code, so the client's own cost
//! cancels out of "proxy minus direct".

mod request;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use request::{Target, Workload};
use stats::Sample;

#[derive(Parser)]
#[command(about = "Closed-loop load against the bedrock double or a proxy")]
struct Args {
    #[arg(long, value_enum)]
    target: Target,
    /// Base URL, e.g. http://127.0.0.1:4242 (loopback only).
    #[arg(long)]
    url: String,
    /// Bearer key for `openai` and `responses`.
    #[arg(long, default_value = "")]
    key: String,
    /// Model field for `openai` and `responses`; the Bedrock model id for `direct`.
    #[arg(long)]
    model: String,
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Measured requests (all workers together), after the warm-up.
    #[arg(long, default_value_t = 1000)]
    requests: u64,
    /// Time limit for the measured phase; whichever of this and --requests comes first.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Unmeasured requests first (connections open, caches warm).
    #[arg(long, default_value_t = 100)]
    warmup: u64,
    #[arg(long)]
    stream: bool,
    /// User message text (may carry `[[double:…]]` directives).
    #[arg(long, default_value = "Say hello to the benchmark.")]
    prompt: String,
    #[arg(long, default_value_t = 256)]
    max_tokens: u32,
}

/// No single request may take longer than this; a slower one is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let workload = Arc::new(Workload::new(
        args.target,
        &args.url,
        &args.key,
        &args.model,
        &args.prompt,
        args.max_tokens,
        args.stream,
    )?);
    if !workload.host().starts_with("127.0.0.1:") {
        bail!("loopback only: {} is not 127.0.0.1", workload.host());
    }

    // Warm-up: same concurrency, nothing recorded; the connections stay open.
    let mut connections = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        connections.push(connect(workload.host()).await?);
    }
    let warm_limit = Instant::now() + Duration::from_secs_f64(args.seconds.max(1.0));
    let (connections, warm) = phase(&workload, connections, args.warmup, warm_limit).await;
    if warm.errors > 0 && warm.samples.is_empty() && args.warmup > 0 {
        bail!(
            "every warm-up request failed: {}",
            warm.first_error.unwrap_or_default()
        );
    }

    let started = Instant::now();
    let limit = started + Duration::from_secs_f64(args.seconds);
    let (_, run) = phase(&workload, connections, args.requests, limit).await;
    let elapsed = started.elapsed().as_secs_f64();
    let report = stats::report(
        &run.samples,
        run.errors,
        run.first_error,
        elapsed,
        args.stream,
    );
    println!("{report}");
    Ok(())
}

/// What the workers of one phase measured.
#[derive(Default)]
struct Outcome {
    samples: Vec<Sample>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `total` requests over `connections` (one worker each) or until `limit`.
async fn phase(
    workload: &Arc<Workload>,
    connections: Vec<SendRequest<Full<Bytes>>>,
    total: u64,
    limit: Instant,
) -> (Vec<SendRequest<Full<Bytes>>>, Outcome) {
    let issued = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = connections
        .into_iter()
        .map(|conn| {
            let workload = workload.clone();
            let issued = issued.clone();
            tokio::spawn(worker(workload, conn, issued, total, limit))
        })
        .collect();
    let mut kept = Vec::new();
    let mut outcome = Outcome::default();
    for w in workers {
        match w.await {
            Ok((conn, mut o)) => {
                kept.extend(conn);
                outcome.samples.append(&mut o.samples);
                outcome.errors += o.errors;
                outcome.first_error = outcome.first_error.or(o.first_error);
            }
            Err(e) => {
                outcome.errors += 1;
                outcome.first_error.get_or_insert(format!("worker: {e}"));
            }
        }
    }
    (kept, outcome)
}

async fn worker(
    workload: Arc<Workload>,
    mut conn: SendRequest<Full<Bytes>>,
    issued: Arc<AtomicU64>,
    total: u64,
    limit: Instant,
) -> (Option<SendRequest<Full<Bytes>>>, Outcome) {
    let mut out = Outcome::default();
    while Instant::now() < limit && issued.fetch_add(1, Ordering::Relaxed) < total {
        let result = match workload.build() {
            Ok(req) => tokio::time::timeout(REQUEST_TIMEOUT, exchange(&workload, &mut conn, req))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after {REQUEST_TIMEOUT:?}"))),
            Err(e) => Err(e),
        };
        match result {
            Ok(sample) => out.samples.push(sample),
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("{e:#}"));
                // The connection may be unusable now; start a fresh one.
                match connect(workload.host()).await {
                    Ok(c) => conn = c,
                    Err(e) => {
                        out.first_error.get_or_insert_with(|| format!("{e:#}"));
                        return (None, out);
                    }
                }
            }
        }
    }
    (Some(conn), out)
}

async fn connect(host: &str) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One request: sends it, reads the whole response, times it.
async fn exchange(
    workload: &Workload,
    conn: &mut SendRequest<Full<Bytes>>,
    req: http::Request<Full<Bytes>>,
) -> anyhow::Result<Sample> {
    conn.ready().await?;
    let started = Instant::now();
    let response = conn.send_request(req).await?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let text = body.collect().await?.to_bytes();
        bail!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&text[..text.len().min(300)])
        );
    }
    let mut events = workload.event_counter();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            events.feed(&data, started.elapsed());
        }
    }
    let total = started.elapsed();
    if workload.stream && events.content_events == 0 {
        bail!("the stream carried no content");
    }
    Ok(Sample {
        total,
        first_content: events.first_content,
        last_content: events.last_content,
        content_events: events.content_events,
    })
}
