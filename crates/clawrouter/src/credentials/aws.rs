//! AWS credentials for the Bedrock client: keys the user saved in the OS
//! keychain win; otherwise the standard AWS chain (env, profile/SSO, web
//! identity, container, instance) with the settings' profile applied.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::problem::{CredentialProblem, Failure};
use super::store::SecretStore;
use super::{AWS_KEYS, CredentialsError, chain};
use crate::bedrock::DEFAULT_REGION;
use crate::settings::{FieldError, Settings};

/// Long-term (`AKIA…`) or temporary (`ASIA…` + session token) AWS keys.
/// No `Clone`/`Serialize`; `Debug` shows only the id's last four characters.
pub struct AwsKeys {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

/// The provider to give the Bedrock client, where it gets credentials, and
/// the region to call.
pub struct ResolvedAws {
    pub provider: SharedCredentialsProvider,
    pub source: CredentialSource,
    pub region: String,
    /// Whether the chain asks EC2 instance metadata (only on EC2).
    pub imds: bool,
}

/// Where AWS credentials come from, for `clawrouter check` and the tray.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialSource {
    /// Keys saved in the OS keychain by ClawRouter.
    Keychain,
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    Environment,
    /// A profile in `~/.aws/credentials` / `~/.aws/config` (keys, role, process).
    Profile(String),
    /// A profile that signs in with IAM Identity Center (`sso_*` keys).
    Sso(String),
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` (e.g. EKS).
    WebIdentity,
    /// Container credentials endpoint (ECS).
    ContainerOrInstance,
    /// Nothing configured that can be seen without a network call; the chain
    /// will still try EC2 instance metadata, so [`check_aws`] is the judge.
    None,
}

/// How long [`check_aws`] waits (SSO refresh or instance metadata can hang).
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

impl AwsKeys {
    /// Shape checks only (AWS says whether the keys work); messages never
    /// include the values.
    pub fn validate(&self) -> Result<(), FieldError> {
        let fail = |field: &str, message: &str| {
            Err(FieldError {
                field: field.to_owned(),
                message: message.to_owned(),
            })
        };
        let id = self.access_key_id.as_str();
        let id_ok = id == "AKIDEXAMPLE"
            || ((id.starts_with("AKIA") || id.starts_with("ASIA"))
                && id.len() == 20
                && id[4..]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        if !id_ok {
            return fail(
                "access_key_id",
                "must be 20 characters starting with AKIA or ASIA (uppercase letters and digits, no spaces)",
            );
        }
        let secret = self.secret_access_key.expose_secret();
        if secret.len() != 40
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        {
            return fail(
                "secret_access_key",
                "must be 40 characters of letters, digits, '+', '/' or '=' (no spaces)",
            );
        }
        match &self.session_token {
            Some(token) if token.expose_secret().trim().is_empty() => {
                fail("session_token", "must not be empty; leave it out instead")
            }
            None if id.starts_with("ASIA") => fail(
                "session_token",
                "temporary keys (ASIA…) need the session token issued with them",
            ),
            _ => Ok(()),
        }
    }

    /// `****************WXYZ`, the way the AWS CLI shows a key id.
    pub fn masked_access_key_id(&self) -> String {
        let id = &self.access_key_id;
        let tail = id.get(id.len().saturating_sub(4)..).unwrap_or_default();
        format!("{}{tail}", "*".repeat(id.len().saturating_sub(4)))
    }

    fn to_sdk(&self) -> Credentials {
        Credentials::new(
            &self.access_key_id,
            self.secret_access_key.expose_secret(),
            self.session_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            None,
            "clawrouter-keychain",
        )
    }
}

impl std::fmt::Debug for AwsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKeys")
            .field("access_key_id", &self.masked_access_key_id())
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .finish()
    }
}

impl std::fmt::Debug for ResolvedAws {
    /// The SDK's `Credentials` debug-prints the access key id; keep it out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedAws")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Keychain => f.write_str("keys saved in the OS keychain"),
            CredentialSource::Environment => f.write_str("AWS_* environment variables"),
            CredentialSource::Profile(name) => write!(f, "AWS profile '{name}'"),
            CredentialSource::Sso(name) => write!(f, "AWS SSO profile '{name}'"),
            CredentialSource::WebIdentity => f.write_str("web identity token"),
            CredentialSource::ContainerOrInstance => f.write_str("container or instance role"),
            CredentialSource::None => f.write_str("no configured AWS credentials"),
        }
    }
}

/// The keychain blob's shape.
#[derive(Serialize)]
struct StoredRef<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
}

#[derive(Deserialize)]
struct Stored {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

/// Validates, then stores the keys as one keychain entry ([`AWS_KEYS`]).
pub fn save_aws_keys(store: &dyn SecretStore, keys: &AwsKeys) -> Result<(), CredentialsError> {
    keys.validate().map_err(CredentialsError::InvalidAwsKeys)?;
    let blob = serde_json::to_string(&StoredRef {
        access_key_id: &keys.access_key_id,
        secret_access_key: keys.secret_access_key.expose_secret(),
        session_token: keys.session_token.as_ref().map(|t| t.expose_secret()),
    })
    .map_err(|e| corrupt(&e))?;
    store.set(AWS_KEYS, &SecretString::from(blob))
}

pub fn load_aws_keys(store: &dyn SecretStore) -> Result<Option<AwsKeys>, CredentialsError> {
    let Some(blob) = store.get(AWS_KEYS)? else {
        return Ok(None);
    };
    let stored: Stored = serde_json::from_str(blob.expose_secret()).map_err(|e| corrupt(&e))?;
    Ok(Some(AwsKeys {
        access_key_id: stored.access_key_id,
        secret_access_key: stored.secret_access_key.into(),
        session_token: stored.session_token.map(SecretString::from),
    }))
}

/// Whether keys were stored.
pub fn delete_aws_keys(store: &dyn SecretStore) -> Result<bool, CredentialsError> {
    store.delete(AWS_KEYS)
}

/// serde_json's message can quote the offending value, so only its position is kept.
fn corrupt(e: &serde_json::Error) -> CredentialsError {
    CredentialsError::CorruptEntry {
        key: AWS_KEYS.to_owned(),
        detail: format!(
            "not the expected JSON, at line {} column {}",
            e.line(),
            e.column()
        ),
    }
}

/// Keychain keys first, then the standard AWS chain. An unreachable keychain
/// is not fatal (headless machines have none): it is logged and the chain is
/// used. The keychain read runs on a blocking thread. Off EC2 the chain
/// leaves out instance metadata, which could only time out and warn.
pub async fn aws_credentials(
    store: Arc<dyn SecretStore>,
    settings: &Settings,
) -> Result<ResolvedAws, CredentialsError> {
    let from_keychain = tokio::task::spawn_blocking(move || load_aws_keys(store.as_ref()))
        .await
        .map_err(|e| CredentialsError::Keychain {
            action: "read",
            key: AWS_KEYS.to_owned(),
            detail: e.to_string(),
        })?;
    let env = |name: &str| std::env::var(name).ok();
    let read = |path: &Path| std::fs::read_to_string(path).ok();
    let imds = chain::imds_available(&env, &read);
    let region = resolve_region(settings, imds).await;
    match from_keychain {
        Ok(Some(keys)) => {
            return Ok(ResolvedAws {
                provider: SharedCredentialsProvider::new(keys.to_sdk()),
                source: CredentialSource::Keychain,
                region,
                imds,
            });
        }
        Ok(None) => {}
        Err(e @ CredentialsError::KeychainUnavailable { .. }) => {
            tracing::warn!("{e}; using the standard AWS credential chain");
        }
        Err(e) => return Err(e),
    }

    let source = chain::detect(&env, &read, settings.aws_profile.as_deref());
    let conf = ProviderConfig::default().with_region(Some(aws_config::Region::new(region.clone())));
    let provider = if imds {
        let mut builder = DefaultCredentialsChain::builder()
            .region(aws_config::Region::new(region.clone()))
            .configure(conf);
        if let Some(profile) = &settings.aws_profile {
            builder = builder.profile_name(profile);
        }
        SharedCredentialsProvider::new(builder.build().await)
    } else {
        // DefaultCredentialsChain's links in its order, minus instance metadata.
        let mut profile = ProfileFileCredentialsProvider::builder().configure(&conf);
        if let Some(name) = &settings.aws_profile {
            profile = profile.profile_name(name);
        }
        SharedCredentialsProvider::new(
            CredentialsProviderChain::first_try(
                "Environment",
                EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else("Profile", profile.build())
            .or_else(
                "WebIdentityToken",
                WebIdentityTokenCredentialsProvider::builder()
                    .configure(&conf)
                    .build(),
            )
            .or_else(
                "EcsContainer",
                EcsCredentialsProvider::builder().configure(&conf).build(),
            ),
        )
    };
    Ok(ResolvedAws {
        provider,
        source,
        region,
        imds,
    })
}

/// Settings, then `AWS_REGION` / `AWS_REGION_NAME` (both in
/// [`Settings::effective_region`]), then the AWS profile's `region`, then
/// instance metadata (on EC2 only), then [`DEFAULT_REGION`]. Resolved once
/// here so neither the chain nor the Bedrock client probes on its own.
async fn resolve_region(settings: &Settings, imds: bool) -> String {
    use aws_config::meta::region::RegionProviderChain;
    if let Some(region) = settings.effective_region() {
        return region;
    }
    let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = &settings.aws_profile {
        profile = profile.profile_name(name);
    }
    let mut chain = RegionProviderChain::first_try(profile.build());
    if imds {
        chain = chain.or_else(aws_config::imds::region::ImdsRegionProvider::builder().build());
    }
    chain
        .region()
        .await
        .map_or_else(|| DEFAULT_REGION.to_owned(), |r| r.to_string())
}

/// Asks the provider for credentials, so `clawrouter check` and the
/// settings window can say whether they load, and if not, what was tried
/// and how to fix it, in a few plain words.
pub async fn check_aws(resolved: &ResolvedAws) -> Result<(), CredentialsError> {
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, resolved.provider.provide_credentials())
        .await
        .map(|loaded| loaded.map(drop));
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CredentialsError::Aws(CredentialProblem::new(
            resolved,
            Failure::Sdk(&e),
        ))),
        Err(_elapsed) => Err(CredentialsError::Aws(CredentialProblem::new(
            resolved,
            Failure::TimedOut(CHECK_TIMEOUT),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryStore;

    const DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn keys(id: &str, secret: &str, token: Option<&str>) -> AwsKeys {
        AwsKeys {
            access_key_id: id.into(),
            secret_access_key: secret.into(),
            session_token: token.map(SecretString::from),
        }
    }

    fn invalid_field(k: &AwsKeys) -> Option<String> {
        k.validate().err().map(|e| e.field)
    }

    #[test]
    fn key_shapes() {
        for ok in [
            keys("AKIDEXAMPLE", DOC_SECRET, None),
            keys(concat!("AKIA", "IOSFODNN7EXAMPLE"), DOC_SECRET, None),
            keys("ASIAIOSFODNN7EXAMPLE", DOC_SECRET, Some("token")),
        ] {
            assert_eq!(invalid_field(&ok), None, "{ok:?}");
        }
        let id = Some("access_key_id".to_owned());
        assert_eq!(
            invalid_field(&keys("AKIAIOSFODNN7EXAMPL", DOC_SECRET, None)),
            id
        );
        assert_eq!(
            invalid_field(&keys("AKIAiosfodnn7EXAMPLE", DOC_SECRET, None)),
            id
        );
        assert_eq!(
            invalid_field(&keys("ABIAIOSFODNN7EXAMPLE", DOC_SECRET, None)),
            id
        );
        assert_eq!(
            invalid_field(&keys(" AKIAIOSFODNN7EXAMPL", DOC_SECRET, None)),
            id
        );
        let secret = Some("secret_access_key".to_owned());
        let short = &DOC_SECRET[..39];
        assert_eq!(invalid_field(&keys("AKIDEXAMPLE", short, None)), secret);
        let spaced = format!("{short} ");
        assert_eq!(invalid_field(&keys("AKIDEXAMPLE", &spaced, None)), secret);
        let token = Some("session_token".to_owned());
        assert_eq!(
            invalid_field(&keys("ASIAIOSFODNN7EXAMPLE", DOC_SECRET, None)),
            token
        );
        assert_eq!(
            invalid_field(&keys("AKIDEXAMPLE", DOC_SECRET, Some(" "))),
            token
        );
    }

    #[test]
    fn masked_id_shows_only_the_tail() {
        let k = keys(concat!("AKIA", "IOSFODNN7EXAMPLE"), DOC_SECRET, None);
        assert_eq!(k.masked_access_key_id(), "****************MPLE");
        assert_eq!(keys("ab", DOC_SECRET, None).masked_access_key_id(), "ab");
    }

    #[test]
    fn keys_round_trip_as_one_entry() {
        let store = MemoryStore::default();
        assert!(load_aws_keys(&store).unwrap().is_none());
        save_aws_keys(
            &store,
            &keys("ASIAIOSFODNN7EXAMPLE", DOC_SECRET, Some("tok")),
        )
        .unwrap();
        let loaded = load_aws_keys(&store).unwrap().unwrap();
        assert_eq!(loaded.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(loaded.secret_access_key.expose_secret(), DOC_SECRET);
        assert_eq!(loaded.session_token.unwrap().expose_secret(), "tok");
        let blob = store.get(AWS_KEYS).unwrap().unwrap();
        let json: serde_json::Value = serde_json::from_str(blob.expose_secret()).unwrap();
        assert_eq!(json["access_key_id"], "ASIAIOSFODNN7EXAMPLE");

        save_aws_keys(&store, &keys("AKIDEXAMPLE", DOC_SECRET, None)).unwrap();
        assert!(
            load_aws_keys(&store)
                .unwrap()
                .unwrap()
                .session_token
                .is_none()
        );
        assert!(delete_aws_keys(&store).unwrap());
        assert!(load_aws_keys(&store).unwrap().is_none());
        assert!(!delete_aws_keys(&store).unwrap());
    }

    #[test]
    fn invalid_keys_are_not_saved() {
        let store = MemoryStore::default();
        let err = save_aws_keys(&store, &keys("nope", DOC_SECRET, None)).unwrap_err();
        assert!(
            matches!(err, CredentialsError::InvalidAwsKeys(_)),
            "{err:?}"
        );
        assert!(store.get(AWS_KEYS).unwrap().is_none());
    }

    #[tokio::test]
    async fn keychain_keys_win_and_load() {
        let store = Arc::new(MemoryStore::default());
        save_aws_keys(store.as_ref(), &keys("AKIDEXAMPLE", DOC_SECRET, None)).unwrap();
        let settings = Settings {
            aws_profile: Some("ignored".into()),
            ..Settings::default()
        };
        let resolved = aws_credentials(store, &settings).await.unwrap();
        assert_eq!(resolved.source, CredentialSource::Keychain);
        check_aws(&resolved).await.unwrap();
        let creds = resolved.provider.provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(creds.secret_access_key(), DOC_SECRET);
    }

    #[tokio::test]
    async fn empty_keychain_falls_through_to_the_chain() {
        let settings = Settings {
            aws_profile: Some("clawrouter-test-no-such-profile".into()),
            ..Settings::default()
        };
        let resolved = aws_credentials(Arc::new(MemoryStore::default()), &settings)
            .await
            .unwrap();
        // Environment keys, if this machine has them, come before any profile.
        assert!(
            matches!(
                &resolved.source,
                CredentialSource::Profile(p) if p == "clawrouter-test-no-such-profile"
            ) || resolved.source == CredentialSource::Environment,
            "{:?}",
            resolved.source
        );
    }

    #[test]
    fn source_serializes_kebab_case() {
        let json = |s: CredentialSource| serde_json::to_string(&s).unwrap();
        assert_eq!(
            json(CredentialSource::ContainerOrInstance),
            "\"container-or-instance\""
        );
        assert_eq!(
            json(CredentialSource::Sso("dev".into())),
            r#"{"sso":"dev"}"#
        );
        assert_eq!(
            CredentialSource::Sso("dev".into()).to_string(),
            "AWS SSO profile 'dev'"
        );
    }
}
