//! Discovery: which Claude inference profiles this AWS account can call in
//! this region, asked of Bedrock's control plane (ListInferenceProfiles,
//! ListFoundationModels with `modelLifecycle`, GetFoundationModelAvailability;
//! all free calls) and cached in CLAWROUTER_HOME with the time it was asked.
//!
//! From the answer, each catalog model gets a verdict (callable, or
//! unavailable because its access is denied or its profile is not offered
//! here, which is also what Bedrock does to a model past its end of life),
//! and Claude profiles Bedrock offers that the catalog lacks are listed as
//! discovered. End-of-life dates themselves come from models.yaml:
//! aws-sdk-bedrock 1.130 (the newest that builds on our Rust 1.90) reads only
//! the lifecycle `status` of ListFoundationModels.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_sdk_bedrock::types::{FoundationModelLifecycleStatus, InferenceProfileType};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::catalog::{Catalog, LifecycleStatus, Model, ModelAvailability};

/// Bedrock model ids of Claude start with this.
const CLAUDE: &str = "anthropic.claude-";
/// Discovery is a handful of small calls; past this, give up until next time.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(20);
const CACHE_FILE: &str = "discovery.json";

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The control plane refused or could not be reached.
    #[error("asking Bedrock which models this account can call failed: {0}")]
    ControlPlane(String),
    #[error("asking Bedrock which models this account can call took longer than {0:?}")]
    Timeout(Duration),
    #[error("cannot write the discovery cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the control plane said, as cached on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// When Bedrock was asked (RFC 3339).
    pub fetched_at: String,
    pub region: String,
    /// Claude system-defined inference profiles callable from this region.
    pub profiles: Vec<OfferedProfile>,
    /// Claude foundation models listed in this region.
    pub models: Vec<OfferedModel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedProfile {
    /// e.g. `us.anthropic.claude-opus-5-5`.
    pub profile_id: String,
    /// The base model it routes to, e.g. `anthropic.claude-opus-5-5`.
    pub model_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedModel {
    pub model_id: String,
    pub name: Option<String>,
    pub lifecycle: Lifecycle,
    /// `false` when GetFoundationModelAvailability says NOT_AUTHORIZED;
    /// `None` when it could not be asked.
    pub authorized: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    Active,
    Legacy,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "active",
            Lifecycle::Legacy => "legacy",
        }
    }
}

/// Why a catalog model cannot be called, as discovery sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Unavailable {
    /// The account has no access (AccessDeniedException / NOT_AUTHORIZED).
    AccessDenied,
    /// Bedrock offers no such profile in this region.
    ProfileMissing { region: String },
}

impl Unavailable {
    /// A sentence for `unavailable_reason` and client errors.
    pub fn reason(&self, profile_id: &str) -> String {
        match self {
            Unavailable::AccessDenied => format!(
                "this AWS account has no access to {profile_id} on Bedrock (AccessDeniedException); request model access in the Bedrock console"
            ),
            Unavailable::ProfileMissing { region } => {
                format!("Bedrock offers no inference profile {profile_id} in {region}")
            }
        }
    }
}

/// A Claude profile Bedrock offers whose model the catalog does not know:
/// callable by its profile id, price unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredModel {
    pub profile_id: String,
    pub model_id: String,
    pub display: Option<String>,
    pub lifecycle: Lifecycle,
}

impl DiscoveredModel {
    /// The model served when a client names this profile.
    pub fn model(&self) -> Model {
        let lifecycle = match self.lifecycle {
            Lifecycle::Active => LifecycleStatus::Active,
            Lifecycle::Legacy => LifecycleStatus::Legacy,
        };
        Model::discovered(&self.profile_id, self.display.as_deref(), lifecycle)
    }
}

/// `<data dir>/discovery.json` in CLAWROUTER_HOME.
pub fn cache_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CACHE_FILE)
}

/// The cached answer, if there is a readable one.
pub fn load_cache(path: &Path) -> Option<Discovery> {
    let text = std::fs::read(path).ok()?;
    match serde_json::from_slice(&text) {
        Ok(discovery) => Some(discovery),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "ignoring an unreadable discovery cache");
            None
        }
    }
}

/// Replaces the cache atomically (a reader never sees half a file).
pub fn save_cache(path: &Path, discovery: &Discovery) -> Result<(), DiscoveryError> {
    let cache_error = |source| DiscoveryError::Cache {
        path: path.to_path_buf(),
        source,
    };
    let mut json =
        serde_json::to_vec_pretty(discovery).map_err(|e| cache_error(std::io::Error::other(e)))?;
    json.push(b'\n');
    crate::settings::write_atomically(path, &json).map_err(cache_error)
}

/// Asks the control plane and replaces the cache with the answer.
pub async fn refresh(
    sdk: &aws_config::SdkConfig,
    cache: &Path,
) -> Result<Discovery, DiscoveryError> {
    let discovery = fetch(sdk).await?;
    save_cache(cache, &discovery)?;
    Ok(discovery)
}

/// What a server does at start: the cached answer for this region is
/// applied at once (a file read), then Bedrock is asked again in the
/// background. Neither can fail or delay the start; a failed refresh is
/// logged and the cached answer stays.
pub fn start(
    sdk: aws_config::SdkConfig,
    catalog: Arc<Catalog>,
    availability: ModelAvailability,
    cache: PathBuf,
) {
    let region = sdk.region().map(ToString::to_string);
    if let Some(cached) = load_cache(&cache)
        && Some(&cached.region) == region.as_ref()
    {
        cached.apply(&catalog, &availability);
    }
    tokio::spawn(async move {
        match refresh(&sdk, &cache).await {
            Ok(fresh) => {
                fresh.apply(&catalog, &availability);
                tracing::info!(
                    region = %fresh.region,
                    profiles = fresh.profiles.len(),
                    "asked Bedrock which Claude profiles this account can call"
                );
            }
            Err(error) => tracing::warn!(%error, "model discovery failed; keeping what was known"),
        }
    });
}

/// Asks the control plane, within [`DISCOVERY_TIMEOUT`].
pub async fn fetch(sdk: &aws_config::SdkConfig) -> Result<Discovery, DiscoveryError> {
    let client = aws_sdk_bedrock::Client::new(sdk);
    let region = sdk.region().map_or_else(
        || crate::bedrock::DEFAULT_REGION.to_owned(),
        |r| r.to_string(),
    );
    tokio::time::timeout(DISCOVERY_TIMEOUT, ask(&client, region))
        .await
        .map_err(|_| DiscoveryError::Timeout(DISCOVERY_TIMEOUT))?
}

fn control_plane_error<E>(err: &aws_sdk_bedrock::error::SdkError<E>) -> DiscoveryError
where
    E: aws_sdk_bedrock::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = match err.as_service_error() {
        Some(e) => format!(
            "{}: {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or("(no message)")
        ),
        // The SDK's own rendering of a dispatch failure ends in Debug text
        // (`DispatchFailure(…)`): keep the readable part, and say plainly
        // when it is only that no credentials are there yet.
        None => {
            let text = crate::bedrock::readable_error_chain(err);
            if text.contains("credentials") || text.contains("identity") {
                "no AWS credentials could be loaded; `clawrouter check` shows where ClawRouter \
                 looked and how to fix it"
                    .to_owned()
            } else {
                text
            }
        }
    };
    DiscoveryError::ControlPlane(text)
}

async fn ask(
    client: &aws_sdk_bedrock::Client,
    region: String,
) -> Result<Discovery, DiscoveryError> {
    let mut profiles = Vec::new();
    let mut pages = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::SystemDefined)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| control_plane_error(&e))?;
        for summary in page.inference_profile_summaries() {
            let model_id = summary
                .models()
                .iter()
                .filter_map(|m| m.model_arn())
                .find_map(|arn| arn.rsplit_once("foundation-model/").map(|(_, id)| id));
            if let Some(model_id) = model_id.filter(|id| id.starts_with(CLAUDE)) {
                profiles.push(OfferedProfile {
                    profile_id: summary.inference_profile_id().to_owned(),
                    model_id: model_id.to_owned(),
                });
            }
        }
    }
    let listed = client
        .list_foundation_models()
        .by_provider("anthropic")
        .send()
        .await
        .map_err(|e| control_plane_error(&e))?;
    let mut models = Vec::new();
    for summary in listed.model_summaries() {
        let model_id = summary.model_id();
        if !model_id.starts_with(CLAUDE) {
            continue;
        }
        let lifecycle = match summary.model_lifecycle().map(|l| l.status()) {
            Some(FoundationModelLifecycleStatus::Legacy) => Lifecycle::Legacy,
            _ => Lifecycle::Active,
        };
        // Access is per model; an account without the permission to ask
        // still gets the rest of the answer.
        let authorized = match client
            .get_foundation_model_availability()
            .model_id(model_id)
            .send()
            .await
        {
            Ok(answer) => Some(answer.authorization_status().as_str() != "NOT_AUTHORIZED"),
            Err(error) => {
                tracing::debug!(model_id, error = %control_plane_error(&error), "availability unknown");
                None
            }
        };
        models.push(OfferedModel {
            model_id: model_id.to_owned(),
            name: summary.model_name().map(str::to_owned),
            lifecycle,
            authorized,
        });
    }
    let fetched_at = DateTime::from(SystemTime::now())
        .fmt(Format::DateTime)
        .unwrap_or_default();
    Ok(Discovery {
        fetched_at,
        region,
        profiles,
        models,
    })
}

/// The base model id of a profile id (`us.anthropic.claude-x` →
/// `anthropic.claude-x`); a bare id is its own base.
fn base_model_id(profile_id: &str) -> &str {
    match profile_id.split_once('.') {
        Some((_, rest)) if rest.starts_with(CLAUDE) => rest,
        _ => profile_id,
    }
}

impl Discovery {
    /// Whether a catalog model's profile can be called. Denied access wins
    /// over a missing profile: it is the reason the user can act on.
    pub fn verdict(&self, profile_id: &str) -> Option<Unavailable> {
        let base = base_model_id(profile_id);
        let model = self.models.iter().find(|m| m.model_id == base);
        if model.and_then(|m| m.authorized) == Some(false) {
            return Some(Unavailable::AccessDenied);
        }
        if !self.profiles.iter().any(|p| p.profile_id == profile_id) {
            return Some(Unavailable::ProfileMissing {
                region: self.region.clone(),
            });
        }
        None
    }

    /// Marks each catalog model unavailable (with the reason) or available
    /// again, per this answer, and makes the Claude profiles the catalog
    /// lacks callable. End-of-life models keep the catalog's own reason and
    /// replacement.
    pub fn apply(&self, catalog: &Catalog, availability: &ModelAvailability) {
        availability.set_discovered(self.callable(catalog).iter().map(DiscoveredModel::model));
        for model in catalog.models() {
            if model.lifecycle.status == LifecycleStatus::Eol {
                continue;
            }
            match self.verdict(&model.profile_id) {
                Some(why) => {
                    availability.mark_unavailable(&model.name, why.reason(&model.profile_id))
                }
                None => availability.mark_available(&model.name),
            }
        }
    }

    /// Claude profiles offered here whose model no catalog entry serves, one
    /// per model (the `global.` profile when there is one: it costs less).
    pub fn discovered(&self, catalog: &Catalog) -> Vec<DiscoveredModel> {
        let mut callable = self.callable(catalog);
        callable.sort_by_key(|d| (!d.profile_id.starts_with("global."), d.profile_id.clone()));
        let mut seen = BTreeSet::new();
        callable.retain(|d| seen.insert(d.model_id.clone()));
        callable.sort_by(|a, b| a.profile_id.cmp(&b.profile_id));
        callable
    }

    /// Every Claude profile offered here whose model no catalog entry
    /// serves: each is callable by its id.
    pub fn callable(&self, catalog: &Catalog) -> Vec<DiscoveredModel> {
        let known: BTreeSet<&str> = catalog
            .models()
            .iter()
            .map(|m| base_model_id(&m.profile_id))
            .collect();
        self.profiles
            .iter()
            .filter(|p| !known.contains(p.model_id.as_str()))
            .map(|profile| {
                let model = self.models.iter().find(|m| m.model_id == profile.model_id);
                DiscoveredModel {
                    profile_id: profile.profile_id.clone(),
                    model_id: profile.model_id.clone(),
                    display: model.and_then(|m| m.name.clone()),
                    lifecycle: model.map_or(Lifecycle::Active, |m| m.lifecycle),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery() -> Discovery {
        let model = |id: &str, lifecycle, authorized| OfferedModel {
            model_id: id.to_owned(),
            name: Some(id.to_owned()),
            lifecycle,
            authorized,
        };
        let profile = |id: &str| OfferedProfile {
            profile_id: id.to_owned(),
            model_id: base_model_id(id).to_owned(),
        };
        Discovery {
            fetched_at: "2026-11-30T12:00:00Z".to_owned(),
            region: "us-east-1".to_owned(),
            profiles: vec![
                profile("us.anthropic.claude-opus-5-5"),
                profile("global.anthropic.claude-opus-5-5"),
                profile("us.anthropic.claude-sonnet-5-5"),
                profile("us.anthropic.claude-fable-5"),
                profile("global.anthropic.claude-fable-5"),
            ],
            models: vec![
                model("anthropic.claude-opus-5-5", Lifecycle::Active, Some(true)),
                model(
                    "anthropic.claude-sonnet-5-5",
                    Lifecycle::Active,
                    Some(false),
                ),
                model(
                    "anthropic.claude-sonnet-4-20250514-v1:0",
                    Lifecycle::Legacy,
                    Some(true),
                ),
                model("anthropic.claude-fable-5", Lifecycle::Active, None),
            ],
        }
    }

    #[test]
    fn verdicts_name_denial_and_missing_profiles() {
        let d = discovery();
        assert_eq!(d.verdict("us.anthropic.claude-opus-5-5"), None);
        assert_eq!(
            d.verdict("us.anthropic.claude-sonnet-5-5"),
            Some(Unavailable::AccessDenied)
        );
        // An end-of-life model keeps its listing but loses its profiles.
        for gone in [
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "eu.anthropic.claude-opus-5-5",
        ] {
            assert_eq!(
                d.verdict(gone),
                Some(Unavailable::ProfileMissing {
                    region: "us-east-1".to_owned()
                }),
                "{gone}"
            );
        }
    }

    #[test]
    fn applying_marks_catalog_models_and_lifts_earlier_marks() {
        let catalog = Catalog::builtin().unwrap();
        let availability = ModelAvailability::from_catalog(&catalog);
        availability.mark_unavailable("bedrock/claude-opus-5-5", "an earlier answer");
        discovery().apply(&catalog, &availability);
        assert!(availability.is_available("bedrock/claude-opus-5-5"));
        let denied = availability.reason("bedrock/claude-sonnet-5-5").unwrap();
        assert!(denied.reason.contains("no access"), "{denied:?}");
        // Sonnet 4 keeps the catalog's end-of-life reason and replacement.
        let eol = availability.reason("bedrock/claude-sonnet-4").unwrap();
        assert!(eol.reason.contains("end of life"), "{eol:?}");
        assert!(eol.replacement.is_some());
    }

    #[test]
    fn applying_makes_every_profile_of_an_uncatalogued_model_callable() {
        let catalog = Catalog::builtin().unwrap();
        let availability = ModelAvailability::from_catalog(&catalog);
        discovery().apply(&catalog, &availability);
        for id in [
            "us.anthropic.claude-fable-5",
            "global.anthropic.claude-fable-5",
        ] {
            let model = availability.discovered(id).unwrap();
            assert!(model.discovered, "{id}");
            assert_eq!(model.profile_id, id);
            assert!(model.accepts.betas.is_empty());
        }
        // Catalog models are served by the catalog, not as discovered ones.
        assert!(
            availability
                .discovered("us.anthropic.claude-opus-5-5")
                .is_none()
        );
        // A later answer without it takes it away again.
        let mut later = discovery();
        later.profiles.retain(|p| !p.model_id.contains("fable"));
        later.apply(&catalog, &availability);
        assert!(
            availability
                .discovered("us.anthropic.claude-fable-5")
                .is_none()
        );
    }

    #[test]
    fn reasons_are_sentences_naming_the_profile() {
        let missing = Unavailable::ProfileMissing {
            region: "us-east-1".to_owned(),
        };
        assert_eq!(
            missing.reason("eu.anthropic.claude-opus-5-5"),
            "Bedrock offers no inference profile eu.anthropic.claude-opus-5-5 in us-east-1"
        );
        assert!(
            Unavailable::AccessDenied
                .reason("x")
                .contains("no access to x")
        );
    }

    #[test]
    fn profiles_the_catalog_lacks_are_discovered_once_preferring_global() {
        let catalog = Catalog::builtin().unwrap();
        let found = discovery().discovered(&catalog);
        let fable: Vec<_> = found
            .iter()
            .filter(|f| f.model_id == "anthropic.claude-fable-5")
            .collect();
        assert_eq!(fable.len(), 1);
        assert_eq!(fable[0].profile_id, "global.anthropic.claude-fable-5");
        assert!(found.iter().all(|f| {
            catalog
                .models()
                .iter()
                .all(|m| base_model_id(&m.profile_id) != f.model_id)
        }));
    }

    #[test]
    fn the_cache_round_trips_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(dir.path());
        assert_eq!(load_cache(&path), None);
        save_cache(&path, &discovery()).unwrap();
        assert_eq!(load_cache(&path), Some(discovery()));
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load_cache(&path), None);
    }
}
