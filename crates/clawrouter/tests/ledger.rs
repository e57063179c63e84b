//! The usage ledger against real SQLite files: costs, restarts, concurrent
//! writers, a writer killed with SIGKILL, budgets and schema versions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use clawrouter::catalog::{Catalog, Model, Tier, TokenUsage};
use clawrouter::ledger::{BudgetGuard, BudgetPeriod, Ledger, LedgerEvent, PeriodSpend, RequestRow};
use clawrouter::money::Usd;
use clawrouter::settings::Budgets;
use tokio::sync::broadcast::error::TryRecvError;

/// 2025-03-15T12:00:00Z.
const NOW: i64 = 1_742_040_000_000;
const DAY: i64 = 86_400_000;

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn row(at_ms: i64, model: &Model, profile_id: &str, usage: TokenUsage) -> RequestRow {
    RequestRow {
        at_ms,
        client: "claude-cli/2.1".into(),
        route: "/v1/messages".into(),
        requested_model: "auto".into(),
        tier: Some(Tier::Mid),
        category: None,
        model: model.name.clone(),
        profile_id: profile_id.into(),
        usage,
        cost_usd: None,
        top_tier_cost_usd: Usd::ZERO,
        cache_saved_usd: Usd::ZERO,
        latency_ms: 1200,
        ttft_ms: Some(300),
        status: 200,
        error_kind: None,
        reason: Some("coding → mid tier".into()),
    }
    .priced(model)
}

/// A row of a given cost, for budget arithmetic.
fn costing(at_ms: i64, dollars: f64) -> RequestRow {
    let catalog = catalog();
    let model = &catalog.models()[0];
    RequestRow {
        cost_usd: Some(Usd::from_dollars_f64(dollars)),
        ..row(at_ms, model, &model.profile_id, TokenUsage::default())
    }
}

/// `a` is exactly the hand-computed `b` (to the picodollar: `b`'s own f64
/// rounding error is far below that).
fn close(a: Usd, b: f64) -> bool {
    a == Usd::from_dollars_f64(b)
}

const USAGE: TokenUsage = TokenUsage {
    input: 1_000,
    output: 500,
    cache_read: 20_000,
    cache_write: 4_000,
    cache_write_1h: 0,
};

#[test]
fn costs_match_hand_computed_prices_and_are_stored_and_summed_exactly() {
    // For USAGE: input×in + output×out + cache_read×cr + cache_write×cw, per
    // million tokens, from models.yaml; regional profiles × (1 + premium).
    let expected = [
        // model, global (list) price, us. price
        // Opus 4.6: 1000×5 + 500×25 + 20000×0.5 + 4000×6.25 = 52_500
        ("bedrock/claude-opus-4-6", 0.0525, 0.05775),
        // Sonnet 4.5: 1000×3 + 500×15 + 20000×0.3 + 4000×3.75 = 31_500
        ("bedrock/claude-sonnet-4-5", 0.0315, 0.03465),
        // Sonnet 4: same prices, no regional premium.
        ("bedrock/claude-sonnet-4", 0.0315, 0.0315),
        // Haiku 4.5: 1000×1 + 500×5 + 20000×0.1 + 4000×1.25 = 10_500
        ("bedrock/claude-haiku-4-5", 0.0105, 0.01155),
    ];
    let catalog = catalog();
    let ledger = Ledger::open_in_memory().unwrap();
    let mut recorded = Vec::new();
    for (name, global_usd, us_usd) in expected {
        let model = catalog.model(name).unwrap();
        assert!(model.profile_id.starts_with("us."), "{}", model.profile_id);
        let global_id = model.profile_id.replacen("us.", "global.", 1);
        for (profile, usd) in [(&model.profile_id, us_usd), (&global_id, global_usd)] {
            let r = row(NOW, model, profile, USAGE);
            assert!(
                close(r.cost_usd.unwrap(), usd),
                "{name} on {profile}: {} != {usd}",
                r.cost_usd.unwrap()
            );
            assert_eq!(r.cost_usd, Some(model.cost(profile, USAGE)));
            ledger.record(r.clone());
            recorded.push(r);
        }
    }
    ledger.flush().unwrap();

    // Stored exactly: the rows read back are the rows written, bit for bit.
    let mut back = ledger.recent(100).unwrap();
    back.reverse(); // same at_ms: newest-first falls back to insertion order
    assert_eq!(back, recorded);

    let summary = ledger.summary(NOW).unwrap();
    assert_eq!(summary.per_model.len(), 8);
    for r in &recorded {
        let entry = summary
            .per_model
            .iter()
            .find(|m| m.model == r.model && m.profile_id == r.profile_id)
            .unwrap();
        assert_eq!(Some(entry.spend.last_30d_usd), r.cost_usd);
        assert_eq!(entry.spend.requests_30d, 1);
        assert_eq!(entry.spend.cache_read_tokens_30d, 20_000);
    }
    let hand_total: f64 = expected.iter().map(|(_, g, u)| g + u).sum();
    assert!(close(summary.total.today_usd, hand_total), "{summary:?}");
    assert!(close(summary.total.last_30d_usd, hand_total));
    assert_eq!(summary.total.requests_30d, 8);
    assert_eq!(summary.total.input_tokens_30d, 8_000);
    assert_eq!(summary.total.output_tokens_30d, 4_000);
    assert_eq!(summary.total.cache_write_tokens_30d, 32_000);
    // Costliest first.
    assert_eq!(summary.per_model[0].model, "bedrock/claude-opus-4-6");
    assert!(summary.per_model[0].profile_id.starts_with("us."));
    assert!(close(ledger.period_spend(NOW).today_usd, hand_total));
}

#[test]
fn savings_by_routing_and_by_caching_match_hand_computed_figures() {
    // Rates from models.yaml, USD per million tokens (input / output / cache read):
    //   Haiku 5.5  0.10 / 0.50 / 0.01     Sonnet 5.5  2 / 10 / 0.10
    //   Opus 5.5   4    / 20   / 0.20 (the top tier's first model)
    // Regional (us.) profiles add 10% to every rate.
    let catalog = catalog();
    let top = catalog.top_tier_model().unwrap();
    assert_eq!(top.name, "bedrock/claude-opus-5-5");
    let haiku = catalog.model("bedrock/claude-haiku-5-5").unwrap();
    let sonnet = catalog.model("bedrock/claude-sonnet-5-5").unwrap();
    let routed = |at, model: &Model, profile: &str, tier, usage, client: &str| {
        RequestRow {
            tier,
            client: client.into(),
            ..row(at, model, profile, usage)
        }
        .against_top_tier(top)
    };

    // A: routed low, Haiku 5.5 on global., today.
    let a = routed(
        NOW,
        haiku,
        "global.anthropic.claude-haiku-5-5",
        Some(Tier::Low),
        TokenUsage {
            input: 1_000,
            output: 2_000,
            cache_read: 10_000,
            ..TokenUsage::default()
        },
        "claude-cli/2.1.332 (external, cli)",
    );
    // cost 1000×0.10 + 2000×0.50 + 10000×0.01 = 1200 → $0.0012
    assert!(close(a.cost_usd.unwrap(), 0.0012), "{:?}", a.cost_usd);
    // on Opus 5.5: 1000×4 + 2000×20 + 10000×0.20 = 46000 → $0.046
    assert!(close(a.top_tier_cost_usd, 0.046), "{}", a.top_tier_cost_usd);
    assert!(close(a.saved_by_routing(), 0.0448));
    // cache: 10000 × (0.10 − 0.01) = 900 → $0.0009
    assert!(close(a.cache_saved_usd, 0.0009), "{}", a.cache_saved_usd);

    // B: Sonnet 5.5 named by the client (no routing saving), us., today.
    let b = routed(
        NOW,
        sonnet,
        &sonnet.profile_id,
        None,
        TokenUsage {
            input: 2_000,
            output: 1_000,
            cache_read: 50_000,
            ..TokenUsage::default()
        },
        "OpenAI/Python 3.57.0",
    );
    // us. rates 2.2 / 11 / 0.11: 2000×2.2 + 1000×11 + 50000×0.11 = 20900 → $0.0209
    assert!(close(b.cost_usd.unwrap(), 0.0209), "{:?}", b.cost_usd);
    // Opus 5.5 on us.: 2000×4.4 + 1000×22 + 50000×0.22 = 41800 → $0.0418
    assert!(close(b.top_tier_cost_usd, 0.0418));
    assert_eq!(b.saved_by_routing(), Usd::ZERO);
    // cache: 50000 × (2.2 − 0.11) = 104500 → $0.1045
    assert!(close(b.cache_saved_usd, 0.1045), "{}", b.cache_saved_usd);

    // C: routed mid, Sonnet 5.5 on global., 3 days ago, no cache.
    let c = routed(
        NOW - 3 * DAY,
        sonnet,
        "global.anthropic.claude-sonnet-5-5",
        Some(Tier::Mid),
        TokenUsage {
            input: 10_000,
            output: 1_000,
            ..TokenUsage::default()
        },
        "claude-cli/2.1.300",
    );
    // 10000×2 + 1000×10 = 30000 → $0.03; Opus: 10000×4 + 1000×20 → $0.06
    assert!(close(c.cost_usd.unwrap(), 0.03));
    assert!(close(c.saved_by_routing(), 0.03));
    assert_eq!(c.cache_saved_usd, Usd::ZERO);

    let ledger = Ledger::open_in_memory().unwrap();
    for r in [&a, &b, &c] {
        ledger.record(r.clone());
    }
    let summary = ledger.summary(NOW).unwrap();
    let today = summary.periods.today;
    assert!(close(today.spent_usd, 0.0221), "{today:?}");
    assert!(close(today.saved_by_routing_usd, 0.0448), "{today:?}");
    assert!(close(today.saved_by_caching_usd, 0.1054), "{today:?}");
    assert_eq!(today.requests, 2);
    assert_eq!(today.input_tokens, 3_000);
    assert_eq!(today.cache_read_tokens, 60_000);
    // 60000 of 63000 input tokens came from the cache.
    assert!((today.cache_read_share - 60.0 / 63.0).abs() < 1e-12);
    let week = summary.periods.last_7d;
    assert!(close(week.spent_usd, 0.0521), "{week:?}");
    assert!(close(week.saved_by_routing_usd, 0.0748), "{week:?}");
    assert!(close(week.saved_by_caching_usd, 0.1054));
    assert_eq!(summary.periods.last_30d, week);

    // Per client, named from the user agent, costliest first.
    let clients: Vec<(&str, Usd)> = summary
        .per_client
        .iter()
        .map(|c| (c.client.as_str(), c.spend.last_30d_usd))
        .collect();
    assert_eq!(clients.len(), 2, "{clients:?}");
    assert_eq!(clients[0].0, "Claude Code");
    assert!(close(clients[0].1, 0.0312));
    assert_eq!(clients[1].0, "openai-python");
    assert!(close(clients[1].1, 0.0209));
}

/// Rows over 40 days, tiers mixed, one failed request.
fn history(catalog: &Catalog) -> Vec<RequestRow> {
    let haiku = catalog.model("bedrock/claude-haiku-4-5").unwrap();
    let opus = catalog.model("bedrock/claude-opus-4-6").unwrap();
    let low = |at, usage| RequestRow {
        tier: Some(Tier::Low),
        ..row(at, haiku, &haiku.profile_id, usage)
    };
    let direct = |at, usage| RequestRow {
        tier: None,
        requested_model: "claude-opus-4-6".into(),
        ..row(at, opus, &opus.profile_id, usage)
    };
    let thousand_out = TokenUsage {
        output: 1_000,
        ..TokenUsage::default()
    };
    vec![
        low(NOW, thousand_out),               // $0.0055 today
        direct(NOW - 3 * DAY, thousand_out),  // $0.0275 3 days ago
        low(NOW - 10 * DAY, thousand_out),    // $0.0055 10 days ago
        direct(NOW - 40 * DAY, thousand_out), // outside 30 days
        RequestRow {
            status: 429,
            error_kind: Some("throttled".into()),
            ..low(NOW - 3 * DAY, TokenUsage::default())
        },
    ]
}

#[test]
fn ledger_survives_restart_with_equal_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("ledger.sqlite3"); // folder created
    let catalog = catalog();
    let rows = history(&catalog);
    // Budget totals are kept for the real current month, so add a row now.
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    let before = {
        let ledger = Ledger::open(&path).unwrap();
        for r in &rows {
            ledger.record(r.clone());
        }
        ledger.record(costing(real_now, 1.25));
        let reports = (
            ledger.summary(NOW).unwrap(),
            ledger.daily_spend(NOW, 30).unwrap(),
            ledger.recent(10).unwrap(),
            ledger.period_spend(real_now),
        );
        assert!(close(reports.3.today_usd, 1.25));
        reports
        // dropped here: the writer commits and stops
    };

    let ledger = Ledger::open(&path).unwrap();
    let after = (
        ledger.summary(NOW).unwrap(),
        ledger.daily_spend(NOW, 30).unwrap(),
        ledger.recent(10).unwrap(),
        ledger.period_spend(real_now),
    );
    assert_eq!(after, before);

    let (summary, days, recent, _) = after;
    assert_eq!(recent.len(), 6);
    assert_eq!(summary.total.requests_30d, 4);
    assert!(close(summary.total.today_usd, 0.0055));
    assert!(close(summary.total.last_7d_usd, 0.0055 + 0.0275));
    assert!(close(summary.total.last_30d_usd, 0.0055 + 0.0275 + 0.0055));
    // Low first, then requests that named a model (tier null).
    let tiers: Vec<_> = summary.per_tier.iter().map(|t| t.tier).collect();
    assert_eq!(tiers, vec![Some(Tier::Low), None]);
    assert_eq!(summary.per_tier[0].spend.requests_30d, 3);
    // March so far ($0.0385 on the 5th, 12th and 15th), then the pace from
    // the first active day of the last 7 (3 days ago: $0.033 over 4 days)
    // for the 16 days left in March.
    assert!(close(
        summary.projected_monthly_usd,
        0.0385 + 0.033 / 4.0 * 16.0
    ));
    assert_eq!(days.len(), 30);
    assert_eq!(days[29].date, "2025-03-15");
    assert_eq!(days[0].date, "2025-02-14");
    assert_eq!(
        (days[26].date.as_str(), days[26].requests),
        ("2025-03-12", 2)
    );
    assert!(close(days[26].usd, 0.0275));
    assert_eq!(days.iter().map(|d| d.requests).sum::<u64>(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_nothing() {
    let ledger = Ledger::open_in_memory().unwrap();
    let tasks: Vec<_> = (1..=200u64)
        .map(|i| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                let mut r = costing(NOW, i as f64 / 1000.0);
                r.usage.input = i;
                ledger.record(r);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let (summary, recent) = tokio::task::spawn_blocking(move || {
        ledger.flush().unwrap();
        (ledger.summary(NOW).unwrap(), ledger.recent(1_000).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(recent.len(), 200);
    assert_eq!(summary.total.requests_30d, 200);
    assert_eq!(summary.total.input_tokens_30d, 200 * 201 / 2);
    assert!(
        close(summary.total.today_usd, 20.1),
        "{}",
        summary.total.today_usd
    );
}

/// A ledger in a fresh file (kept while the `TempDir` lives).
fn file_ledger() -> (tempfile::TempDir, std::path::PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).unwrap();
    (dir, path, ledger)
}

fn rows_in(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
        .unwrap()
}

/// Another process holding the write lock (e.g. `clawrouter` migrating) must
/// not stall a request for SQLite's 5 s lock wait. The ledger that keeps the
/// journal answers at once; a second one on the same file (which has no
/// journal) hands the row to its writer thread, which waits, and its call
/// resolves once the row is in. Neither row is lost or counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_file_delays_the_commit_without_blocking_the_caller() {
    let (_dir, path, ledger) = file_ledger();
    let second = Ledger::open(&path).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let started = std::time::Instant::now();
    // Bounded, so a journal that waits for the lock fails here, not hangs.
    tokio::time::timeout(
        std::time::Duration::from_secs(4),
        ledger.record_durably(costing(NOW, 0.25)),
    )
    .await
    .expect("the ledger keeping the journal waited for the lock")
    .unwrap();
    let mut recording = std::pin::pin!(second.record_durably(costing(NOW, 0.5)));
    assert!(futures_util::poll!(recording.as_mut()).is_pending());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the callers waited {:?} for the lock",
        started.elapsed()
    );

    other.execute_batch("COMMIT").unwrap();
    recording.await.unwrap();
    tokio::task::spawn_blocking(move || ledger.flush().unwrap())
        .await
        .unwrap();
    assert_eq!(rows_in(&path), 2);
}

/// Automatic checkpoints are off so that no request pays for one; the
/// writer thread must run them instead, or the WAL grows without bound, and
/// must keep it bounded under load that never pauses. The rows are committed
/// one by one: a second ledger on the file (the first keeps the journal)
/// commits each row before its call resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_load_that_never_pauses() {
    let (_dir, path, _keeps_the_journal) = file_ledger();
    let ledger = Ledger::open(&path).unwrap();
    let rows = 10_000;
    for _ in 0..rows {
        ledger.record_durably(costing(NOW, 0.001)).await.unwrap();
    }
    // A one-row commit appends at least one page to the WAL, so without
    // checkpoints that let it start over it would hold `rows` frames or more.
    let frames: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        .unwrap();
    assert!(
        frames < rows / 2,
        "{frames} frames in the WAL after {rows} commits"
    );
    assert_eq!(rows_in(&path), rows);
}

/// The journal starts over once its rows are committed, also while rows
/// keep coming from many requests at once. The writer thread runs as batch
/// work, so on saturated cores it may lag a burst by thousands of rows; what
/// must hold is that it catches up and the journal starts over while the load
/// goes on. Each task records until some task sees the journal shrink, or
/// gives up after enough rows to fill the journal many times over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_journal_starts_over_under_load_that_never_pauses() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    let (_dir, path, ledger) = file_ledger();
    let journal = std::path::PathBuf::from(format!("{}-rows.jsonl", path.display()));
    // About 1,000 rows per 200 kB; the journal starts over past 1 MB.
    let (tasks, most_each) = (8, 25_000);
    let started_over = Arc::new(AtomicBool::new(false));
    let recorded = Arc::new(AtomicI64::new(0));
    let recording: Vec<_> = (0..tasks)
        .map(|_| {
            let (ledger, journal) = (ledger.clone(), journal.clone());
            let (started_over, recorded) = (started_over.clone(), recorded.clone());
            tokio::spawn(async move {
                let mut largest_seen = 0;
                for n in 1..=most_each {
                    ledger.record_durably(costing(NOW, 0.001)).await.unwrap();
                    recorded.fetch_add(1, Ordering::Relaxed);
                    if n % 64 == 0 {
                        let size = std::fs::metadata(&journal).unwrap().len();
                        if size < largest_seen {
                            started_over.store(true, Ordering::Relaxed);
                        }
                        largest_seen = largest_seen.max(size);
                        if started_over.load(Ordering::Relaxed) {
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    for task in recording {
        task.await.unwrap();
    }
    let recorded = recorded.load(Ordering::Relaxed);
    assert!(
        started_over.load(Ordering::Relaxed),
        "the journal never started over in {recorded} rows"
    );
    tokio::task::spawn_blocking(move || ledger.flush().unwrap())
        .await
        .unwrap();
    assert_eq!(rows_in(&path), recorded);
}

const CHILD_DB_ENV: &str = "CLAWROUTER_LEDGER_TEST_CHILD_DB";
const CHILD_TEST: &str = "child_records_until_killed";

/// Not a test by itself: the body of the child process that
/// `killed_writer_leaves_a_readable_database` starts and kills.
#[test]
#[ignore = "child process of killed_writer_leaves_a_readable_database"]
fn child_records_until_killed() {
    let path = std::env::var(CHILD_DB_ENV).expect("run by the parent test only");
    let ledger = Ledger::open(Path::new(&path)).unwrap();
    let mut recorded = 0;
    // Bounded, though the parent kills it long before the end.
    for _ in 0..100_000 {
        for _ in 0..10 {
            ledger.record(costing(NOW, 0.01));
            recorded += 1;
        }
        ledger.flush().unwrap();
        println!("flushed {recorded}");
        // Keep rows in flight when the kill comes.
        for _ in 0..5 {
            ledger.record(costing(NOW, 0.01));
            recorded += 1;
        }
    }
}

/// Starts the test `child` of this binary on the ledger at `path`, and reads
/// the numbers it prints after `prefix` until one reaches `at_least`; then
/// kills it (SIGKILL) and reads what it printed before dying. Returns the
/// highest number printed.
fn run_child_until_killed(child: &str, path: &Path, prefix: &str, at_least: u64) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child, "--ignored", "--nocapture"])
        .env(CHILD_DB_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Keep the pipe open until the kill, so the child is still writing.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let reported =
        |line: String| -> u64 { line.strip_prefix(prefix).map_or(0, |n| n.parse().unwrap()) };
    let mut highest: u64 = 0;
    while highest < at_least {
        let Some(line) = lines.next() else {
            panic!("child exited after reporting {highest}")
        };
        highest = highest.max(reported(line.unwrap()));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status}");
    // A line cut short by the kill is not a report.
    lines
        .map_while(Result::ok)
        .map(reported)
        .fold(highest, u64::max)
}

#[test]
fn killed_writer_leaves_a_readable_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let flushed = run_child_until_killed(CHILD_TEST, &path, "flushed ", 300);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);
    let ledger = Ledger::open(&path).unwrap();
    let rows = ledger.summary(NOW).unwrap().total.requests_30d;
    assert!(rows >= flushed, "{rows} rows, {flushed} reported flushed");
}

const SAVING_CHILD_TEST: &str = "child_saves_until_killed";

/// Not a test by itself: the body of the child process that
/// `rows_saved_before_a_kill_are_recovered_exactly_once` starts and kills.
#[test]
#[ignore = "child process of rows_saved_before_a_kill_are_recovered_exactly_once"]
fn child_saves_until_killed() {
    let path = std::env::var(CHILD_DB_ENV).expect("run by the parent test only");
    let ledger = Ledger::open(Path::new(&path)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Bounded, though the parent kills it long before the end.
    for saved in 1..=1_000_000u64 {
        let mut row = costing(NOW, 0.01);
        row.usage.input = saved;
        runtime.block_on(ledger.record_durably(row)).unwrap();
        println!("saved {saved}");
    }
}

/// A row whose `record_durably` resolved survives the process being
/// killed, whatever it was doing (appending, committing, starting the
/// journal over), and opening the ledger again (twice) recovers it exactly
/// once. The child saves one row at a time, so at most one more row than it
/// reported can be in.
#[test]
fn rows_saved_before_a_kill_are_recovered_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let mut expected = 0;
    // Each round kills the child at another point; past 4,000 rows the
    // journal has started over at least once.
    for at_least in [50, 4_500, 700] {
        let saved = run_child_until_killed(SAVING_CHILD_TEST, &path, "saved ", at_least);
        expected += saved;
        for _reopening in 0..2 {
            let ledger = Ledger::open(&path).unwrap();
            let rows = ledger.summary(NOW).unwrap().total.requests_30d;
            assert!(
                rows == expected || rows == expected + 1,
                "{rows} rows after {expected} reported saved"
            );
        }
        expected = rows_in(&path).try_into().unwrap();
    }
}

fn budget_events(rx: &mut tokio::sync::broadcast::Receiver<LedgerEvent>) -> Vec<LedgerEvent> {
    let mut out = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(LedgerEvent::Changed) => {}
            Ok(e) => out.push(e),
            Err(TryRecvError::Empty) => return out,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn daily_budget_warns_at_80_percent_and_blocks_at_100_once() {
    let ledger = Ledger::open_in_memory().unwrap();
    let guard = BudgetGuard::new(
        &Budgets {
            daily_usd: Some(1.0),
            monthly_usd: None,
        },
        ledger.clone(),
    );
    let mut events = ledger.subscribe();

    ledger.record(costing(NOW, 0.5));
    assert_eq!(budget_events(&mut events), vec![]);
    ledger.record(costing(NOW, 0.375));
    assert_eq!(
        budget_events(&mut events),
        vec![LedgerEvent::BudgetWarning {
            period: BudgetPeriod::Daily,
            spent_usd: Usd::from_dollars_f64(0.875),
            limit_usd: Usd::from_dollars_f64(1.0)
        }]
    );
    ledger.record(costing(NOW, 0.1));
    assert_eq!(budget_events(&mut events), vec![]);
    guard.check(NOW).unwrap();

    ledger.record(costing(NOW, 0.125));
    let exceeded = budget_events(&mut events);
    assert!(
        matches!(
            exceeded[..],
            [LedgerEvent::BudgetExceeded { period: BudgetPeriod::Daily, spent_usd, limit_usd }]
                if close(spent_usd, 1.1) && close(limit_usd, 1.0)
        ),
        "{exceeded:?}"
    );
    let err = guard.check(NOW).unwrap_err();
    assert_eq!(err.period, BudgetPeriod::Daily);
    let message = err.to_string();
    assert!(message.contains("$1.10 spent today"), "{message}");
    assert!(message.contains("$1.00 limit"), "{message}");
    assert!(
        message.contains("raise budgets.daily_usd in settings"),
        "{message}"
    );
    assert!(message.contains("00:00 UTC"), "{message}");

    ledger.record(costing(NOW, 0.5));
    assert_eq!(budget_events(&mut events), vec![], "announced once per day");
    // Tomorrow (UTC) the cap applies afresh.
    guard.check(NOW + DAY).unwrap();
}

#[test]
fn monthly_budget_warns_and_blocks_across_days_until_the_next_month() {
    let ledger = Ledger::open_in_memory().unwrap();
    let guard = BudgetGuard::new(
        &Budgets {
            daily_usd: Some(100.0),
            monthly_usd: Some(10.0),
        },
        ledger.clone(),
    );
    let mut events = ledger.subscribe();
    let march_2 = NOW - 13 * DAY;
    let february_28 = NOW - 15 * DAY;

    // February reaches 90% of its cap; March starts from zero.
    ledger.record(costing(february_28, 9.0));
    assert_eq!(
        budget_events(&mut events),
        vec![LedgerEvent::BudgetWarning {
            period: BudgetPeriod::Monthly,
            spent_usd: Usd::from_dollars_f64(9.0),
            limit_usd: Usd::from_dollars_f64(10.0)
        }]
    );
    ledger.record(costing(march_2, 5.0));
    ledger.record(costing(NOW - 5 * DAY, 3.5));
    assert_eq!(
        budget_events(&mut events),
        vec![LedgerEvent::BudgetWarning {
            period: BudgetPeriod::Monthly,
            spent_usd: Usd::from_dollars_f64(8.5),
            limit_usd: Usd::from_dollars_f64(10.0)
        }]
    );
    guard.check(NOW).unwrap();
    assert_eq!(
        ledger.period_spend(NOW),
        PeriodSpend {
            today_usd: Usd::from_dollars_f64(0.0),
            month_usd: Usd::from_dollars_f64(8.5)
        }
    );

    ledger.record(costing(NOW, 1.5));
    assert_eq!(
        budget_events(&mut events),
        vec![LedgerEvent::BudgetExceeded {
            period: BudgetPeriod::Monthly,
            spent_usd: Usd::from_dollars_f64(10.0),
            limit_usd: Usd::from_dollars_f64(10.0)
        }]
    );
    let err = guard.check(NOW).unwrap_err();
    assert_eq!(
        (err.period, err.spent_usd, err.limit_usd),
        (
            BudgetPeriod::Monthly,
            Usd::from_dollars_f64(10.0),
            Usd::from_dollars_f64(10.0)
        )
    );
    assert!(err.to_string().contains("budgets.monthly_usd"), "{err}");
    ledger.record(costing(NOW, 1.0));
    assert_eq!(budget_events(&mut events), vec![]);
    // Still blocked on the last day of March, free again on April 1st.
    guard.check(NOW + 16 * DAY).unwrap_err();
    guard.check(NOW + 17 * DAY).unwrap();
}

/// The v1 schema exactly as the first release created it. A database made
/// by that release must keep opening: if this test breaks, the schema was
/// edited in place instead of by a new migration.
const V1_SCHEMA: &str = "CREATE TABLE requests (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, client TEXT NOT NULL, route TEXT NOT NULL,
    requested_model TEXT NOT NULL, tier TEXT, category TEXT, model TEXT NOT NULL,
    profile_id TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL, latency_ms INTEGER NOT NULL, ttft_ms INTEGER,
    status INTEGER NOT NULL, error_kind TEXT);
CREATE INDEX requests_at_ms ON requests (at_ms);
INSERT INTO requests VALUES (1, 1742040000000, 'curl/8', '/v1/chat/completions', 'auto',
    'low', 'lookup', 'bedrock/claude-haiku-4-5', 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    10, 20, 0, 0, 0.00011, 800, NULL, 200, NULL);
PRAGMA user_version = 1;";

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_version_1_database_opens_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(V1_SCHEMA)
        .unwrap();

    let ledger = Ledger::open(&path).unwrap();
    let rows = ledger.recent(10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].tier, Some(Tier::Low));
    assert_eq!(rows[0].client, "curl/8");
    assert_eq!(rows[0].cost_usd, Some(Usd::from_picodollars(110_000_000)));
    assert_eq!(rows[0].ttft_ms, None);
    // v3: an old row claims no saving.
    assert_eq!(Some(rows[0].top_tier_cost_usd), rows[0].cost_usd);
    assert_eq!(rows[0].cache_saved_usd, Usd::ZERO);
    // Recorded before routing reasons were kept.
    assert_eq!(rows[0].reason, None);
    ledger.record(costing(NOW, 1.0));
    drop(ledger);

    // Upgraded to v6 (exact picodollar costs, savings, whether the price is
    // known, routing reasons, ledger facts); reopening keeps both rows.
    assert_eq!(user_version(&path), 6);
    let ledger = Ledger::open(&path).unwrap();
    assert_eq!(ledger.recent(10).unwrap().len(), 2);
}

#[test]
fn a_demo_ledger_says_so_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let ledger = Ledger::open(&path).unwrap();
    assert!(!ledger.is_demo().unwrap());
    ledger.mark_demo().unwrap();
    drop(ledger);
    assert!(Ledger::open(&path).unwrap().is_demo().unwrap());
}

#[test]
fn a_new_file_is_created_at_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    drop(Ledger::open(&path).unwrap());
    assert_eq!(user_version(&path), 6);
}

#[test]
fn long_client_names_are_cut_and_reports_include_unflushed_rows() {
    let ledger = Ledger::open_in_memory().unwrap();
    let mut r = costing(NOW, 0.5);
    r.client = "é".repeat(300);
    ledger.record(r);
    ledger.record(costing(NOW - DAY, 0.25));
    // No flush: reports queue behind the rows recorded before them.
    let recent = ledger.recent(1).unwrap();
    assert_eq!(recent[0].client.chars().count(), 200);
    assert_eq!(
        ledger
            .daily_spend(NOW, 2)
            .unwrap()
            .iter()
            .map(|d| d.usd)
            .collect::<Vec<_>>(),
        vec![Usd::from_dollars_f64(0.25), Usd::from_dollars_f64(0.5)]
    );
}
