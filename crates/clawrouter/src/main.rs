//! `clawrouter`: the headless CLI over the same engine the desktop app runs.
//! Each subcommand calls the engine and renders; no logic lives here.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use clawrouter::catalog::{Catalog, Tier};
use clawrouter::credentials;
use clawrouter::engine::{self, Engine, Lineup, ProxyStatus, keychain};
use clawrouter::health;
use clawrouter::ledger::{Ledger, PeriodTotals, Spend};
use clawrouter::money::Usd;
use clawrouter::router::RouteInput;
use clawrouter::settings::{Home, Settings};

/// mimalloc gives memory back to the system after a burst of large request
/// bodies; glibc's malloc keeps it in per-thread arenas for the life of the
/// process (hostile.rs: `memory_returns_to_the_system_after_a_burst`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "clawrouter",
    version,
    about = "Claude on AWS Bedrock for every local tool, through one loopback endpoint"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the proxy on 127.0.0.1 (first stdout line: `listening on http://127.0.0.1:PORT`).
    Serve {
        /// Port to listen on; the next free one is used when it is taken.
        #[arg(long)]
        port: Option<u16>,
        /// Model catalog to use instead of the built-in one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Show the routing decision for TEXT as a last user message (no network call).
    Route {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// List the model catalog: names, profile ids, tiers, lifecycle, availability, prices.
    Models {
        #[arg(long)]
        json: bool,
        /// Ask Bedrock's control plane first which profiles this account can
        /// call here (free calls); otherwise the last answer is shown.
        #[arg(long)]
        refresh: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check configuration, where credentials come from, and each model's health.
    Check {
        #[arg(long)]
        json: bool,
        /// Also send each model a minimal real request (costs a fraction of a
        /// cent; the price is shown first). The default probe is free.
        #[arg(long)]
        paid: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Spend per model and tier (today, 7 and 30 days), projected monthly, daily spend.
    Usage {
        #[arg(long)]
        json: bool,
    },
    /// Manage AWS credentials and the client API key in the OS keychain.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Store AWS keys: the secret access key (and optionally, on a second
    /// line, a session token) is read from stdin, never from the command line.
    Set {
        #[arg(long)]
        access_key_id: String,
    },
    /// Show the client API key and which AWS credentials are stored (never the secret).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Remove the stored AWS keys.
    Delete,
    /// Print only the client API key, for `export CLAWROUTER_KEY="$(clawrouter keys api-key)"`.
    ApiKey,
}

/// `println!` that returns an error instead of panicking when stdout is
/// closed early (`clawrouter usage --json | head -1`); `main` takes a broken
/// pipe as a reader that has seen enough.
macro_rules! say {
    ($($arg:tt)*) => { writeln!(std::io::stdout().lock(), $($arg)*)? };
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A table with plain aligned columns (no borders, no colours); columns
/// from `first_number` on are right-aligned.
fn table(header: &[&str], first_number: usize) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_header(header.to_vec());
    for (i, column) in table.column_iter_mut().enumerate() {
        // Cells keep one space of padding on each side, which is the gap
        // between columns; the first column starts at the margin.
        column.set_padding((u16::from(i > 0), 1));
        if i >= first_number {
            column.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    table
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Whatever
/// `RUST_LOG` says, the AWS SDK and the HTTP stack log at most INFO: at
/// DEBUG/TRACE they print signed canonical requests (the session token) and
/// request bodies (prompts).
fn init_logging() {
    use tracing_subscriber::filter::{EnvFilter, filter_fn};
    use tracing_subscriber::prelude::*;
    const WIRE_TARGETS: [&str; 5] = ["aws_", "hyper", "h2", "rustls", "reqwest"];
    let wire_cap = filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO
            || !WIRE_TARGETS.iter().any(|t| meta.target().starts_with(t))
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .finish()
        .with(wire_cap)
        .init();
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let home = Home::from_env()?;
    let settings = Settings::load(&home)?;
    match command {
        Command::Serve { port, config } => serve(port, config).await,
        Command::Route { json, config, text } => {
            route(&home, &settings, config, &text.join(" "), json)
        }
        Command::Models {
            json,
            refresh,
            config,
        } => models(&home, &settings, config, json, refresh).await,
        Command::Check { json, paid, config } => check(&home, &settings, config, json, paid).await,
        Command::Usage { json } => usage(&home, json).await,
        Command::Keys { action } => keys(&home, action).await,
    }
}

fn catalog(home: &Home, settings: &Settings, path: Option<PathBuf>) -> anyhow::Result<Catalog> {
    Ok(engine::load_catalog(home, settings, path)?)
}

async fn serve(port: Option<u16>, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let engine = Engine::from_env_with_catalog(config)?;
    if let Err(e) = &engine.ledger {
        bail!("{e}");
    }
    let requested = port.unwrap_or(engine.settings().port);
    let addr = match engine.start_proxy_on(requested).await {
        ProxyStatus::Running {
            port,
            requested_port,
        } => {
            if requested_port != 0 && port != requested_port {
                tracing::warn!("port {requested_port} is taken; using {port}");
            }
            format!("127.0.0.1:{port}")
        }
        ProxyStatus::Error { message } => bail!("{message}"),
        other => bail!("the proxy did not start: {}", other.summary()),
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    engine.stop_proxy().await;
    if let Ok(ledger) = engine.ledger {
        tokio::task::spawn_blocking(move || ledger.flush())
            .await?
            .context("writing the last usage rows")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn route(
    home: &Home,
    settings: &Settings,
    config: Option<PathBuf>,
    text: &str,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    // Assembled as the engine assembles it, so the answer is the proxy's.
    let Lineup { catalog, router } = Lineup::load(home, settings, config)?;
    // What Bedrock last said this account can call counts, as it does when serving.
    let availability =
        engine::availability(&catalog, engine::cached_discovery(home, settings).as_ref());
    let decision = router.decide(&catalog, &RouteInput::from_text(text), &availability)?;
    if as_json {
        say!("{}", serde_json::to_string(&decision)?);
    } else {
        say!(
            "{} → {} tier → {} ({})\nconfidence {:.2}: {}",
            decision.category,
            decision.tier,
            decision.model,
            decision.profile_id,
            decision.confidence,
            decision.why
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn models(
    home: &Home,
    settings: &Settings,
    config: Option<PathBuf>,
    as_json: bool,
    refresh: bool,
) -> anyhow::Result<ExitCode> {
    let catalog = catalog(home, settings, config)?;
    let known = if refresh {
        Some(engine::refresh_discovery(home, settings, keychain(home)).await?)
    } else {
        engine::cached_discovery(home, settings)
    };
    let availability = engine::availability(&catalog, known.as_ref());
    let discovered = known
        .as_ref()
        .map(|k| k.discovered(&catalog))
        .unwrap_or_default();
    if as_json {
        let list: Vec<_> = catalog
            .models()
            .iter()
            .map(|m| {
                let unavailable = availability.reason(&m.name);
                json!({
                    "name": m.name, "profile_id": m.profile_id, "display": m.display,
                    "tiers": catalog.tiers_of(m),
                    "lifecycle": m.lifecycle.status.as_str(),
                    "lifecycle_date": m.lifecycle.date,
                    "replacement": m.lifecycle.replacement,
                    "available": unavailable.is_none(),
                    "unavailable_reason": unavailable.map(|u| u.reason),
                    "price_per_million": m.rates_for(&m.profile_id),
                    "long_context_price": m.price.long_context,
                    "geographies": m.geographies,
                    "context_window": m.context_window, "max_output": m.max_output,
                    "capabilities": m.capabilities,
                    "thinking": m.thinking, "sampling": m.sampling,
                    "forced_tool_choice": m.forced_tool_choice,
                })
            })
            .chain(discovered.iter().map(|d| {
                // Offered by Bedrock, unknown to the catalog: callable by its
                // profile id, price unknown.
                json!({
                    "name": d.profile_id, "profile_id": d.profile_id, "display": d.display,
                    "discovered": true, "tiers": [],
                    "lifecycle": d.lifecycle, "available": true, "unavailable_reason": null,
                    "price_per_million": {
                        "input": null, "output": null, "cache_read": null,
                        "cache_write": null, "cache_write_1h": null,
                    },
                })
            }))
            .collect();
        let asked = known
            .as_ref()
            .map(|k| json!({ "fetched_at": k.fetched_at, "region": k.region }));
        say!(
            "{}",
            serde_json::to_string_pretty(&json!({ "models": list, "discovery": asked }))?
        );
    } else {
        let mut out = table(
            &[
                "NAME",
                "PROFILE ID",
                "TIERS",
                "LIFECYCLE",
                "IN $/M",
                "OUT $/M",
                "AVAILABLE",
            ],
            4,
        );
        for m in catalog.models() {
            let tiers: Vec<&str> = catalog.tiers_of(m).iter().map(|t| t.as_str()).collect();
            let rates = m.rates_for(&m.profile_id);
            let available = match availability.reason(&m.name) {
                None => "yes".to_owned(),
                Some(u) => format!("no: {}", u.reason),
            };
            out.add_row(vec![
                m.name.clone(),
                m.profile_id.clone(),
                tiers.join(","),
                m.lifecycle.status.as_str().to_owned(),
                rates.input.normalize().to_string(),
                rates.output.normalize().to_string(),
                available,
            ]);
        }
        for d in &discovered {
            out.add_row(vec![
                d.profile_id.clone(),
                d.profile_id.clone(),
                String::new(),
                d.lifecycle.as_str().to_owned(),
                "?".to_owned(),
                "?".to_owned(),
                "yes (discovered)".to_owned(),
            ]);
        }
        say!("{}", out.trim_fmt());
        match &known {
            Some(k) => say!(
                "\nWhat this account can call in {}: asked Bedrock at {}.",
                k.region,
                k.fetched_at
            ),
            None => say!(
                "\nBedrock has not been asked yet what this account can call: `clawrouter models --refresh`."
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(
    home: &Home,
    settings: &Settings,
    config: Option<PathBuf>,
    as_json: bool,
    paid: bool,
) -> anyhow::Result<ExitCode> {
    let catalog = catalog(home, settings, config)?;
    if paid {
        // Said before spending, on stderr so --json output stays one object.
        let estimate: Usd = catalog
            .models()
            .iter()
            .map(health::paid_probe_estimate_usd)
            .sum();
        eprintln!("paid probe: one minimal request per model, about ${estimate:.6} in total");
    }
    let report = engine::check(&catalog, settings, keychain(home), paid).await;
    if as_json {
        say!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        say!("settings:     {}", home.settings_path().display());
        say!("region:       {}", report.region);
        say!("endpoint:     {}", report.endpoint);
        match (&report.credentials_source, &report.credentials_problem) {
            (Some(source), None) if report.credentials_status == "loaded" => {
                say!("credentials:  {source}")
            }
            (_, Some(problem)) => {
                say!("credentials:  {}", problem.summary);
                say!("  looked at:  {}", problem.tried.join(", "));
                say!("  fix:        {}", problem.fix);
            }
            (_, None) => say!("credentials:  {}", report.credentials_status),
        }
        match (&report.api_key_source, &report.api_key_error) {
            (Some(source), _) => say!("api key:      from {source}"),
            (None, error) => say!(
                "api key:      unavailable: {}",
                error.as_deref().unwrap_or("unknown")
            ),
        }
        let mut models = table(&["MODEL", "HEALTH", "PROBLEM"], 3);
        for m in &report.models {
            let mut problem = m.health.last_error.clone().unwrap_or_default();
            if let Some(usd) = m.paid_probe_usd {
                problem.push_str(&format!(" (probe cost ${usd:.6})"));
            }
            // A retired model is not a fault to chase: say what it is.
            let status = match m.health.problem {
                Some(health::Problem::ModelRetired) => "retired".to_owned(),
                _ => format!("{:?}", m.health.status).to_lowercase(),
            };
            models.add_row(vec![m.name.clone(), status, problem.trim().to_owned()]);
        }
        if report.credentials_problem.is_none() {
            say!("{}", models.trim_fmt());
        } else {
            say!("models:       not probed without credentials");
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn usage(home: &Home, as_json: bool) -> anyhow::Result<ExitCode> {
    let path = home.ledger_path();
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let (summary, days) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let ledger = Ledger::open(&path)?;
        Ok((ledger.summary(now_ms)?, ledger.daily_spend(now_ms, 30)?))
    })
    .await??;
    if as_json {
        say!(
            "{}",
            serde_json::to_string_pretty(&json!({"summary": summary, "daily": days}))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = table(
        &[
            "MODEL",
            "PROFILE",
            "TODAY $",
            "7 DAYS $",
            "30 DAYS $",
            "REQUESTS",
        ],
        2,
    );
    let spend_row = |model: String, profile: &str, spend: &Spend| {
        // Only unpriced requests (a discovered model): no dollar figure is known.
        let money = |usd: Usd| {
            if spend.requests_30d > 0 && spend.unpriced_requests_30d == spend.requests_30d {
                "n/a".to_owned()
            } else {
                format!("{usd:.4}")
            }
        };
        vec![
            model,
            profile.to_owned(),
            money(spend.today_usd),
            money(spend.last_7d_usd),
            money(spend.last_30d_usd),
            spend.requests_30d.to_string(),
        ]
    };
    for m in &summary.per_model {
        out.add_row(spend_row(m.model.clone(), &m.profile_id, &m.spend));
    }
    for t in &summary.per_tier {
        let tier = t.tier.map_or("named model", Tier::as_str);
        out.add_row(spend_row(format!("tier: {tier}"), "", &t.spend));
    }
    out.add_row(spend_row("total".to_owned(), "", &summary.total));
    say!("{}", out.trim_fmt());
    say!(
        "projected this month (spent so far + the recent daily pace for the days left): ${:.2}",
        summary.projected_monthly_usd
    );
    let unpriced = summary.total.unpriced_requests_30d;
    if unpriced > 0 {
        say!(
            "{unpriced} request(s) in the last 30 days went to models whose price is unknown \
             (discovered, not in the catalog): counted above, not in the dollar figures"
        );
    }
    say!("");
    let mut clients = table(
        &["CLIENT", "TODAY $", "7 DAYS $", "30 DAYS $", "REQUESTS"],
        1,
    );
    for c in &summary.per_client {
        let mut row = spend_row(c.client.clone(), "", &c.spend);
        row.remove(1);
        clients.add_row(row);
    }
    say!("{}", clients.trim_fmt());
    say!("");
    let p = &summary.periods;
    let windows = [p.today, p.last_7d, p.last_30d];
    let mut savings = table(&["", "TODAY", "7 DAYS", "30 DAYS"], 1);
    let money = |label: &str, amount: fn(&PeriodTotals) -> Usd| {
        std::iter::once(label.to_owned())
            .chain(windows.iter().map(|w| format!("${:.4}", amount(w))))
            .collect::<Vec<_>>()
    };
    savings.add_row(money("spent", |w| w.spent_usd));
    savings.add_row(money("saved by routing (vs the top tier)", |w| {
        w.saved_by_routing_usd
    }));
    savings.add_row(money("saved by caching", |w| w.saved_by_caching_usd));
    savings.add_row(
        std::iter::once("input served from cache".to_owned())
            .chain(
                windows
                    .iter()
                    .map(|w| format!("{:.0}%", w.cache_read_share * 100.0)),
            )
            .collect::<Vec<_>>(),
    );
    say!("{}", savings.trim_fmt());
    Ok(ExitCode::SUCCESS)
}

async fn keys(home: &Home, action: KeysAction) -> anyhow::Result<ExitCode> {
    let store = keychain(home);
    match action {
        KeysAction::Set { access_key_id } => {
            let mut lines = std::io::stdin().lock().lines();
            let secret = lines.next().transpose()?.unwrap_or_default();
            let token = lines.next().transpose()?.filter(|t| !t.trim().is_empty());
            if secret.trim().is_empty() {
                bail!(
                    "no secret access key on stdin (pipe it in: `printf %s \"$SECRET\" | clawrouter keys set --access-key-id ...`)"
                );
            }
            let keys = credentials::AwsKeys {
                access_key_id,
                secret_access_key: SecretString::from(secret.trim().to_owned()),
                session_token: token.map(|t| SecretString::from(t.trim().to_owned())),
            };
            keys.validate()?;
            tokio::task::spawn_blocking(move || credentials::save_aws_keys(store.as_ref(), &keys))
                .await??;
            say!("AWS credentials saved to the OS keychain");
        }
        KeysAction::Status { json: as_json } => {
            let status = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let aws = credentials::load_aws_keys(store.as_ref())?;
                let (api_key, source) = credentials::client_api_key(store.as_ref())?;
                Ok((
                    aws.map(|k| k.access_key_id),
                    api_key,
                    source,
                    store.key_file_fallback(),
                ))
            })
            .await??;
            let (aws_id, api_key, source, fallback) = status;
            let key_file = fallback.as_ref().map(|f| f.key_file.display().to_string());
            if as_json {
                say!(
                    "{}",
                    json!({
                        "aws_access_key_id": aws_id,
                        "api_key": api_key.expose_secret(),
                        "api_key_source": source.to_string(),
                        "api_key_file": key_file,
                        "keychain_unavailable": fallback.as_ref().map(|f| &f.reason),
                    })
                );
            } else {
                match (aws_id, &fallback) {
                    (Some(id), _) => {
                        say!("AWS credentials: stored in the keychain (access key id {id})")
                    }
                    (None, None) => say!(
                        "AWS credentials: none in the keychain (the standard AWS chain is used)"
                    ),
                    (None, Some(_)) => {
                        say!("AWS credentials: no OS keychain, so the standard AWS chain is used")
                    }
                }
                match key_file {
                    Some(file) => say!("client API key (in {file}): {}", api_key.expose_secret()),
                    None => say!("client API key ({source}): {}", api_key.expose_secret()),
                }
            }
        }
        KeysAction::ApiKey => {
            let (api_key, _) =
                tokio::task::spawn_blocking(move || credentials::client_api_key(store.as_ref()))
                    .await??;
            say!("{}", api_key.expose_secret());
        }
        KeysAction::Delete => {
            let removed =
                tokio::task::spawn_blocking(move || credentials::delete_aws_keys(store.as_ref()))
                    .await??;
            say!(
                "{}",
                if removed {
                    "AWS credentials removed from the keychain"
                } else {
                    "no AWS credentials were stored"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
