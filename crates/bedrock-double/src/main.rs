//! `bedrock-double`: runs the Bedrock Runtime stand-in until SIGINT/SIGTERM.
//! The first stdout line is `listening on http://127.0.0.1:PORT`, so a parent
//! process can start it with `--port 0` and read where it went.

use std::io::Write;

use anyhow::Context;
use bedrock_double::{DoubleConfig, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "A local stand-in for AWS Bedrock (runtime and the model-discovery control plane)"
)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Access key id clients must sign with.
    #[arg(long, env = "BEDROCK_DOUBLE_ACCESS_KEY_ID", default_value = TEST_ACCESS_KEY_ID)]
    access_key_id: String,
    /// Secret access key clients must sign with.
    #[arg(long, env = "BEDROCK_DOUBLE_SECRET_ACCESS_KEY", default_value = TEST_SECRET_ACCESS_KEY, hide_default_value = true, hide_env_values = true)]
    secret_access_key: String,
    /// A model this account has no access to (base or profile id; repeat, or
    /// comma-separate in the env var): invocations answer
    /// AccessDeniedException, the control plane shows it NOT_AUTHORIZED.
    #[arg(
        long = "deny-model",
        env = "BEDROCK_DOUBLE_DENY_MODELS",
        value_delimiter = ','
    )]
    deny_models: Vec<String>,
    /// A Claude model to serve besides the built-in table (a base id such as
    /// `anthropic.claude-foo-9-9`; repeat, or comma-separate in the env var),
    /// as Bedrock serves a model launched after a client's catalog.
    #[arg(
        long = "extra-model",
        env = "BEDROCK_DOUBLE_EXTRA_MODELS",
        value_delimiter = ','
    )]
    extra_models: Vec<String>,
    /// The account's data retention mode at start: inherit (a fresh
    /// account), default, none, aws_review or provider_data_share. Claude
    /// Fable serves only under aws_review or provider_data_share.
    #[arg(long, env = "BEDROCK_DOUBLE_DATA_RETENTION", default_value = "inherit")]
    data_retention: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = DoubleConfig {
        port: args.port,
        credentials: vec![(args.access_key_id, args.secret_access_key)],
        denied_models: args.deny_models,
        extra_models: args.extra_models,
        data_retention: args.data_retention,
    };
    let double = bedrock_double::start(config)
        .await
        .context("cannot start the double")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", double.url())?;
    stdout.flush()?;
    drop(stdout);

    wait_for_signal().await?;
    double.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}
