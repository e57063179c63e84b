//! `clawrouter`: the headless CLI over the same engine the desktop app runs.
//! Each subcommand calls the engine and renders; no logic lives here.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use clawrouter::catalog::{Catalog, ModelAvailability, Tier};
use clawrouter::credentials::{self, KeyringStore, SecretStore};
use clawrouter::discovery;
use clawrouter::health;
use clawrouter::ledger::Ledger;
use clawrouter::money::Usd;
use clawrouter::router::{RouteInput, Router};
use clawrouter::server;
use clawrouter::settings::{Home, Settings};

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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
        Command::Serve { port, config } => serve(&home, settings, port, config).await,
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
        Command::Keys { action } => keys(action).await,
    }
}

fn catalog(home: &Home, settings: &Settings, path: Option<PathBuf>) -> anyhow::Result<Catalog> {
    let catalog = match path.or_else(|| home.catalog_override()) {
        Some(path) => Catalog::load(&path)?,
        None => Catalog::builtin()?,
    };
    Ok(match settings.geography {
        Some(geo) => catalog.with_geography(geo),
        None => catalog,
    })
}

/// The OS keychain entry set ClawRouter uses. `CLAWROUTER_KEYCHAIN_SERVICE`
/// names another one, so tests never touch a developer's real entries.
fn keychain() -> Arc<dyn SecretStore> {
    let service = std::env::var("CLAWROUTER_KEYCHAIN_SERVICE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| credentials::SERVICE.to_owned());
    Arc::new(KeyringStore::new(service))
}

async fn serve(
    home: &Home,
    settings: Settings,
    port: Option<u16>,
    config: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let catalog = catalog(home, &settings, config)?;
    let store = keychain();
    let requested = port.unwrap_or(settings.port);
    let ledger = Ledger::open(&home.ledger_path())?;
    let state = server::assemble(catalog, &settings, ledger.clone(), store).await?;
    let proxy = server::start(state, requested)
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{requested}"))?;
    let addr = proxy.addr();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    if requested != 0 && addr.port() != requested {
        tracing::warn!("port {requested} is taken; using {}", addr.port());
    }
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    proxy.stop().await;
    tokio::task::spawn_blocking(move || ledger.flush())
        .await?
        .context("writing the last usage rows")?;
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
    let catalog = catalog(home, settings, config)?;
    let router = Router::new(&catalog)?;
    // What Bedrock last said this account can call counts, as it does when serving.
    let availability = ModelAvailability::from_catalog(&catalog);
    if let Some(known) = cached_discovery(home, settings) {
        known.apply(&catalog, &availability);
    }
    let decision = router.decide(&catalog, &RouteInput::from_text(text), &availability)?;
    if as_json {
        println!("{}", serde_json::to_string(&decision)?);
    } else {
        println!(
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

/// The last discovery answer, if it was for the region in use.
fn cached_discovery(home: &Home, settings: &Settings) -> Option<discovery::Discovery> {
    let region = settings
        .effective_region()
        .unwrap_or_else(|| clawrouter::bedrock::DEFAULT_REGION.to_owned());
    discovery::load_cache(&home.discovery_cache_path()).filter(|k| k.region == region)
}

async fn models(
    home: &Home,
    settings: &Settings,
    config: Option<PathBuf>,
    as_json: bool,
    refresh: bool,
) -> anyhow::Result<ExitCode> {
    let catalog = catalog(home, settings, config)?;
    let availability = ModelAvailability::from_catalog(&catalog);
    let known = if refresh {
        let sdk = server::aws_sdk_config(settings, keychain()).await?;
        Some(discovery::refresh(&sdk, &home.discovery_cache_path()).await?)
    } else {
        cached_discovery(home, settings)
    };
    if let Some(known) = &known {
        known.apply(&catalog, &availability);
    }
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
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "models": list, "discovery": asked }))?
        );
    } else {
        println!(
            "{:<28} {:<48} {:<8} {:<10} {:>8} {:>8}  AVAILABLE",
            "NAME", "PROFILE ID", "TIERS", "LIFECYCLE", "IN $/M", "OUT $/M"
        );
        for m in catalog.models() {
            let tiers: Vec<&str> = catalog.tiers_of(m).iter().map(|t| t.as_str()).collect();
            let rates = m.rates_for(&m.profile_id);
            let available = match availability.reason(&m.name) {
                None => "yes".to_owned(),
                Some(u) => format!("no: {}", u.reason),
            };
            println!(
                "{:<28} {:<48} {:<8} {:<10} {:>8} {:>8}  {available}",
                m.name,
                m.profile_id,
                tiers.join(","),
                m.lifecycle.status.as_str(),
                rates.input.normalize(),
                rates.output.normalize(),
            );
        }
        for d in &discovered {
            println!(
                "{:<28} {:<48} {:<8} {:<10} {:>8} {:>8}  yes (discovered)",
                d.profile_id,
                d.profile_id,
                "",
                d.lifecycle.as_str(),
                "?",
                "?",
            );
        }
        match &known {
            Some(k) => println!(
                "\nWhat this account can call in {}: asked Bedrock at {}.",
                k.region, k.fetched_at
            ),
            None => println!(
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
    let store = keychain();
    let report = server::check(&catalog, settings, store, paid).await;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("settings:     {}", home.settings_path().display());
        println!("region:       {}", report.region);
        println!("endpoint:     {}", report.endpoint);
        match &report.credentials_source {
            Some(source) => println!("credentials:  {source} ({})", report.credentials_status),
            None => println!("credentials:  none ({})", report.credentials_status),
        }
        match (&report.api_key_source, &report.api_key_error) {
            (Some(source), _) => println!("api key:      from {source}"),
            (None, error) => println!(
                "api key:      unavailable: {}",
                error.as_deref().unwrap_or("unknown")
            ),
        }
        for m in &report.models {
            let error = m.health.last_error.as_deref().unwrap_or("");
            let cost = m
                .paid_probe_usd
                .map(|usd| format!(" (probe cost ${usd:.6})"))
                .unwrap_or_default();
            println!(
                "  {:<28} {:<10} {error}{cost}",
                m.name,
                format!("{:?}", m.health.status).to_lowercase()
            );
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
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"summary": summary, "daily": days}))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<40} {:>10} {:>10} {:>10} {:>9}",
        "MODEL (PROFILE)", "TODAY $", "7 DAYS $", "30 DAYS $", "REQUESTS"
    );
    for m in &summary.per_model {
        println!(
            "{:<40} {:>10.4} {:>10.4} {:>10.4} {:>9}",
            format!("{} ({})", m.model, m.profile_id),
            m.spend.today_usd,
            m.spend.last_7d_usd,
            m.spend.last_30d_usd,
            m.spend.requests_30d
        );
    }
    for t in &summary.per_tier {
        let tier = t.tier.map_or("named model", Tier::as_str);
        println!(
            "{:<40} {:>10.4} {:>10.4} {:>10.4} {:>9}",
            format!("tier: {tier}"),
            t.spend.today_usd,
            t.spend.last_7d_usd,
            t.spend.last_30d_usd,
            t.spend.requests_30d
        );
    }
    let t = &summary.total;
    println!(
        "{:<40} {:>10.4} {:>10.4} {:>10.4} {:>9}",
        "total", t.today_usd, t.last_7d_usd, t.last_30d_usd, t.requests_30d
    );
    println!(
        "projected this month at the current pace: ${:.2}",
        summary.projected_monthly_usd
    );
    Ok(ExitCode::SUCCESS)
}

async fn keys(action: KeysAction) -> anyhow::Result<ExitCode> {
    let store = keychain();
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
            println!("AWS credentials saved to the OS keychain");
        }
        KeysAction::Status { json: as_json } => {
            let status = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let aws = credentials::load_aws_keys(store.as_ref())?;
                let (api_key, source) = credentials::client_api_key(store.as_ref())?;
                Ok((aws.map(|k| k.access_key_id), api_key, source))
            })
            .await??;
            let (aws_id, api_key, source) = status;
            if as_json {
                println!(
                    "{}",
                    json!({"aws_access_key_id": aws_id, "api_key": api_key.expose_secret(), "api_key_source": source.to_string()})
                );
            } else {
                match aws_id {
                    Some(id) => {
                        println!("AWS credentials: stored in the keychain (access key id {id})")
                    }
                    None => println!(
                        "AWS credentials: none in the keychain (the standard AWS chain is used)"
                    ),
                }
                println!("client API key ({source}): {}", api_key.expose_secret());
            }
        }
        KeysAction::Delete => {
            let removed =
                tokio::task::spawn_blocking(move || credentials::delete_aws_keys(store.as_ref()))
                    .await??;
            println!(
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
