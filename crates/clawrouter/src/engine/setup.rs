//! Wiring the engine from configuration: what `clawrouter serve`, the
//! desktop shell and `clawrouter check` all do before serving, in one place.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::bedrock::{BedrockClient, ClientOptions};
use crate::catalog::{AvailabilityChange, Catalog, ModelAvailability};
use crate::credentials::{
    self, ApiKeySource, CredentialProblem, CredentialSource, CredentialsError, SecretStore,
};
use crate::discovery;
use crate::engine::Lineup;
use crate::health::{Health, ModelHealth, Problem, Status};
use crate::ledger::{BudgetGuard, Ledger, LedgerError};
use crate::server::{AppState, ServerConfig};
use crate::settings::{Home, Settings};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("cannot open the usage ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("keychain task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Builds the state a server runs on: client key, AWS credentials (keychain
/// first, then the standard chain), the Bedrock client, model discovery
/// (see [`discovery::start`]) and the engine's catalog and router, with
/// usage recorded into `ledger` (the caller's handle, so reports it reads are
/// the ones the proxy writes) and changes of model availability told to
/// `availability_changes`.
pub async fn assemble(
    lineup: Lineup,
    settings: &Settings,
    home: &Home,
    ledger: Ledger,
    store: Arc<dyn SecretStore>,
    availability_changes: broadcast::Sender<AvailabilityChange>,
) -> Result<AppState, StartError> {
    let key_store = store.clone();
    let (api_key, _) =
        tokio::task::spawn_blocking(move || credentials::client_api_key(key_store.as_ref()))
            .await??;
    let sdk = aws_sdk_config(settings, store).await?;
    let bedrock = BedrockClient::from_sdk(&sdk);
    let Lineup { catalog, router } = lineup;
    let budget = BudgetGuard::new(&settings.budgets, ledger.clone());
    let mut config = ServerConfig::new(api_key);
    config.max_body_bytes = settings.max_body_bytes;
    config.upstream_timeout = Duration::from_secs(settings.upstream_timeout_secs);
    config.first_byte_timeout = Duration::from_secs(settings.first_byte_timeout_secs);
    config.stream_idle_timeout = Duration::from_secs(settings.stream_idle_timeout_secs);
    config.header_read_timeout = Duration::from_secs(settings.client_timeout_secs);
    config.show_tier_prefix = settings.show_tier_prefix;
    config.auto_cache = settings.auto_cache;
    config.allowed_origins = settings.allowed_origins.clone();
    let availability = ModelAvailability::from_catalog(&catalog).reporting_to(availability_changes);
    // What this account can call here: the cached answer at once, a fresh
    // one in the background; never delays or fails the start.
    discovery::start(
        sdk,
        catalog.clone(),
        availability.clone(),
        home.discovery_cache_path(),
    );
    Ok(AppState {
        availability,
        catalog,
        router,
        bedrock,
        health: Arc::new(Health::new()),
        rejections: Arc::default(),
        ledger,
        budget,
        config,
    })
}

/// The AWS configuration the runtime and control-plane clients share:
/// credentials from the keychain first, then the standard chain; the
/// settings' region; the SDK's own endpoint variables.
pub async fn aws_sdk_config(
    settings: &Settings,
    store: Arc<dyn SecretStore>,
) -> Result<aws_config::SdkConfig, CredentialsError> {
    let aws = credentials::aws_credentials(store, settings).await?;
    Ok(crate::bedrock::sdk_config(ClientOptions {
        region: Some(aws.region),
        credentials: Some(aws.provider),
        endpoint_url: None,
        connect_timeout: CONNECT_TIMEOUT,
    })
    .await)
}

async fn bedrock_client(
    settings: &Settings,
    store: Arc<dyn SecretStore>,
) -> Result<BedrockClient, StartError> {
    Ok(BedrockClient::from_sdk(
        &aws_sdk_config(settings, store).await?,
    ))
}

/// What `clawrouter check` reports. Never contains a secret.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub region: String,
    pub endpoint: String,
    /// `None` when no source could be determined.
    pub credentials_source: Option<CredentialSource>,
    /// `loaded`, or the problem's one-line summary.
    pub credentials_status: String,
    /// When they did not load: what happened, where ClawRouter looked, the fix.
    pub credentials_problem: Option<CredentialProblem>,
    pub api_key_source: Option<ApiKeySource>,
    /// Why the client key is unavailable, when it is.
    pub api_key_error: Option<String>,
    pub models: Vec<ModelCheck>,
}

#[derive(Debug, Serialize)]
pub struct ModelCheck {
    pub name: String,
    pub profile_id: String,
    pub health: ModelHealth,
    /// What the paid probe cost, when one was asked for.
    pub paid_probe_usd: Option<crate::money::Usd>,
}

/// Checks credentials and probes every model: for free, or with a minimal
/// paid request when `paid` (the caller shows the price first).
pub async fn check(
    catalog: &Catalog,
    settings: &Settings,
    store: Arc<dyn SecretStore>,
    paid: bool,
) -> CheckReport {
    let key_store = store.clone();
    let (api_key_source, api_key_error) =
        match tokio::task::spawn_blocking(move || credentials::client_api_key(key_store.as_ref()))
            .await
        {
            Ok(Ok((_, source))) => (Some(source), None),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(e) => (None, Some(e.to_string())),
        };
    let (credentials_source, credentials_status, credentials_problem, loaded) =
        match credentials::aws_credentials(store.clone(), settings).await {
            Ok(resolved) => match credentials::check_aws(&resolved).await {
                Ok(()) => (Some(resolved.source), "loaded".to_owned(), None, true),
                Err(CredentialsError::Aws(problem)) => (
                    Some(resolved.source),
                    problem.summary.clone(),
                    Some(problem),
                    false,
                ),
                Err(e) => (Some(resolved.source), e.to_string(), None, false),
            },
            Err(e) => (None, e.to_string(), None, false),
        };
    let health = Health::new();
    let mut models = Vec::new();
    let bedrock = if loaded {
        bedrock_client(settings, store).await.ok()
    } else {
        None
    };
    // A model the catalog knows is past end of life is neither probed nor
    // paid for, and does not fail the check: Bedrock would only answer 404.
    let retired = ModelAvailability::from_catalog(catalog);
    for m in catalog.models() {
        let (status, paid_probe_usd) = match &bedrock {
            _ if let Some(why) = retired.reason(&m.name) => (
                ModelHealth {
                    status: Status::Unhealthy,
                    last_error: Some(why.reason),
                    problem: Some(Problem::ModelRetired),
                    ..health.status(&m.profile_id)
                },
                None,
            ),
            Some(client) if paid => {
                let (status, cost) = health.paid_probe(client, m).await;
                (status, Some(cost))
            }
            Some(client) => (health.probe(client, &m.profile_id).await, None),
            None => (health.status(&m.profile_id), None),
        };
        models.push(ModelCheck {
            name: m.name.clone(),
            profile_id: m.profile_id.clone(),
            health: status,
            paid_probe_usd,
        });
    }
    let region = match &bedrock {
        Some(client) => client.region().to_owned(),
        None => settings.region_or_default(),
    };
    CheckReport {
        ok: loaded
            && models
                .iter()
                .all(|m| m.health.status == Status::Healthy || !retired.is_available(&m.name)),
        region,
        endpoint: std::env::var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
            .unwrap_or_else(|_| "AWS default (bedrock-runtime.<region>.amazonaws.com)".to_owned()),
        credentials_source,
        credentials_status,
        credentials_problem,
        api_key_source,
        api_key_error,
        models,
    }
}
