//! Wiring the engine from configuration: what `clawrouter serve`, the
//! desktop shell and `clawrouter check` all do before serving, in one place.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{AppState, ServerConfig};
use crate::bedrock::{BedrockClient, ClientOptions};
use crate::catalog::Catalog;
use crate::credentials::{self, CredentialsError, SecretStore};
use crate::health::{Health, ModelHealth, Status};
use crate::router::{Router, RouterError};
use crate::settings::Settings;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Router(#[from] RouterError),
    #[error("keychain task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Builds the state a server runs on: client key, AWS credentials (keychain
/// first, then the standard chain), the Bedrock client and the router.
pub async fn assemble(
    catalog: Catalog,
    settings: &Settings,
    store: Arc<dyn SecretStore>,
) -> Result<AppState, StartError> {
    let key_store = store.clone();
    let (api_key, _) =
        tokio::task::spawn_blocking(move || credentials::client_api_key(key_store.as_ref()))
            .await??;
    let bedrock = bedrock_client(settings, store).await?;
    let router = Router::new(&catalog)?;
    let mut config = ServerConfig::new(api_key);
    config.max_body_bytes = settings.max_body_bytes;
    config.upstream_timeout = Duration::from_secs(settings.upstream_timeout_secs);
    config.stream_idle_timeout = Duration::from_secs(settings.stream_idle_timeout_secs);
    config.show_tier_prefix = settings.show_tier_prefix;
    Ok(AppState {
        catalog: Arc::new(catalog),
        router: Arc::new(router),
        bedrock,
        health: Arc::new(Health::new()),
        config,
    })
}

async fn bedrock_client(
    settings: &Settings,
    store: Arc<dyn SecretStore>,
) -> Result<BedrockClient, StartError> {
    let aws = credentials::aws_credentials(store, settings).await?;
    Ok(BedrockClient::new(ClientOptions {
        region: settings.effective_region(),
        credentials: Some(aws.provider),
        endpoint_url: None,
        connect_timeout: CONNECT_TIMEOUT,
    })
    .await)
}

/// What `clawrouter check` reports. Never contains a secret.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub region: String,
    pub endpoint: String,
    pub credentials_source: String,
    pub credentials_status: String,
    pub api_key_source: String,
    pub models: Vec<ModelCheck>,
}

#[derive(Debug, Serialize)]
pub struct ModelCheck {
    pub name: String,
    pub profile_id: String,
    pub health: ModelHealth,
}

/// Checks credentials and probes every model (for free).
pub async fn check(
    catalog: &Catalog,
    settings: &Settings,
    store: Arc<dyn SecretStore>,
) -> CheckReport {
    let key_store = store.clone();
    let api_key_source =
        match tokio::task::spawn_blocking(move || credentials::client_api_key(key_store.as_ref()))
            .await
        {
            Ok(Ok((_, source))) => source.to_string(),
            Ok(Err(e)) => format!("unavailable: {e}"),
            Err(e) => format!("unavailable: {e}"),
        };
    let (credentials_source, credentials_status, loaded) =
        match credentials::aws_credentials(store.clone(), settings).await {
            Ok(resolved) => match credentials::check_aws(&resolved).await {
                Ok(()) => (resolved.source.to_string(), "loaded".to_owned(), true),
                Err(e) => (resolved.source.to_string(), e.to_string(), false),
            },
            Err(e) => ("none".to_owned(), e.to_string(), false),
        };
    let health = Health::new();
    let mut models = Vec::new();
    let bedrock = if loaded {
        bedrock_client(settings, store).await.ok()
    } else {
        None
    };
    for m in catalog.models() {
        let status = match &bedrock {
            Some(client) => health.probe(client, &m.profile_id).await,
            None => health.status(&m.profile_id),
        };
        models.push(ModelCheck {
            name: m.name.clone(),
            profile_id: m.profile_id.clone(),
            health: status,
        });
    }
    let region = match &bedrock {
        Some(client) => client.region().to_owned(),
        None => settings
            .effective_region()
            .unwrap_or_else(|| crate::bedrock::DEFAULT_REGION.to_owned()),
    };
    CheckReport {
        ok: loaded && models.iter().all(|m| m.health.status == Status::Healthy),
        region,
        endpoint: std::env::var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
            .unwrap_or_else(|_| "AWS default (bedrock-runtime.<region>.amazonaws.com)".to_owned()),
        credentials_source,
        credentials_status,
        api_key_source,
        models,
    }
}
