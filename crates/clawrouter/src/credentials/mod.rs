//! Secrets: where AWS credentials and the proxy's client API key come from.
//!
//! - [`store`]: the OS keychain behind a small [`SecretStore`] trait, so
//!   callers can be tested against [`MemoryStore`].
//! - [`aws`]: AWS keys saved in the keychain, else the standard AWS chain,
//!   and which link of it answers ([`CredentialSource`]).
//! - [`api_key`]: the key local tools must present to the proxy.
//! - [`fallback`]: the store the apps use, which keeps the client key in a
//!   private file on machines with no usable keychain.
//!
//! Every secret is a [`secrecy::SecretString`]: its `Debug` prints
//! `[REDACTED]` and it has no `Serialize`, so a secret cannot reach a log or a
//! JSON response by accident; reading it takes an explicit `expose_secret()`.
//! Structs holding secrets implement `Debug` by hand and never derive
//! `Serialize`/`Clone`. Error messages never contain secret values.

pub mod api_key;
pub mod aws;
mod chain;
pub mod fallback;
pub mod problem;
pub mod store;

pub use api_key::{ApiKeySource, client_api_key, keys_match, regenerate_api_key};
pub use aws::{
    AwsKeys, CredentialSource, ResolvedAws, aws_credentials, check_aws, delete_aws_keys,
    load_aws_keys, save_aws_keys,
};
pub use fallback::{KEYCHAIN_SERVICE_ENV, KeyFileFallback, LocalStore};
pub use problem::CredentialProblem;
pub use store::{KeyringStore, MemoryStore, SecretStore};

use crate::settings::FieldError;

/// Keychain entry holding the AWS keys as one JSON blob
/// `{access_key_id, secret_access_key, session_token?}`: one atomic write,
/// one D-Bus round trip, never read half-updated.
pub const AWS_KEYS: &str = "aws-credentials";
/// Keychain entry holding the client API key.
pub const API_KEY: &str = "client-api-key";
/// The keychain service name all entries live under.
pub const SERVICE: &str = "clawrouter";

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No keychain to talk to, or it refused: say how to get one, or how to avoid it.
    #[error("the OS keychain is unavailable ({detail}); {hint}")]
    KeychainUnavailable { detail: String, hint: &'static str },
    #[error("the OS keychain could not {action} '{key}': {detail}")]
    Keychain {
        action: &'static str,
        key: String,
        detail: String,
    },
    #[error(
        "the keychain entry '{key}' is damaged ({detail}); delete it and save the credentials again"
    )]
    CorruptEntry { key: String, detail: String },
    #[error("cannot {action} the client key file {}: {detail}", path.display())]
    KeyFile {
        action: &'static str,
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("invalid AWS keys: {0}")]
    InvalidAwsKeys(FieldError),
    #[error(
        "CLAWROUTER_API_KEY is too weak ({reason}); unset it to use a generated key, or set at least 16 varied characters"
    )]
    WeakApiKey { reason: &'static str },
    #[error("the OS random number generator failed: {0}")]
    Random(String),
    /// The AWS chain found nothing, or what it found did not load.
    #[error("{0}")]
    Aws(CredentialProblem),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::SecretString;

    use super::*;
    use crate::settings::Settings;

    const ACCESS_KEY_CANARY: &str = concat!("AKIA", "CANARY0123456789");
    const SECRET_CANARY: &str = "CanarySecretKey/0123456789+abcdefghijklm";
    const TOKEN_CANARY: &str = "CanarySessionToken0123456789";
    const API_KEY_CANARY: &str = "sk-canary-0123456789abcdef";

    fn assert_no_canary(what: &str, text: &str) {
        for canary in [
            ACCESS_KEY_CANARY,
            SECRET_CANARY,
            TOKEN_CANARY,
            API_KEY_CANARY,
        ] {
            assert!(!text.contains(canary), "{what} leaks {canary}: {text}");
        }
    }

    fn canary_keys() -> AwsKeys {
        AwsKeys {
            access_key_id: ACCESS_KEY_CANARY.into(),
            secret_access_key: SECRET_CANARY.into(),
            session_token: Some(TOKEN_CANARY.into()),
        }
    }

    #[tokio::test]
    async fn debug_output_of_credential_holders_has_no_secrets() {
        let store = Arc::new(MemoryStore::default());
        save_aws_keys(store.as_ref(), &canary_keys()).unwrap();
        store
            .set(API_KEY, &SecretString::from(API_KEY_CANARY))
            .unwrap();
        let resolved = aws_credentials(store.clone(), &Settings::default())
            .await
            .unwrap();
        let loaded = load_aws_keys(store.as_ref()).unwrap().unwrap();
        let (api_key, _) = api_key::client_api_key_with(store.as_ref(), None).unwrap();
        let keyring = KeyringStore::new(SERVICE);

        assert_no_canary("AwsKeys", &format!("{:?}", canary_keys()));
        assert_no_canary("loaded AwsKeys", &format!("{loaded:?}"));
        assert_no_canary("MemoryStore", &format!("{store:?}"));
        assert_no_canary("ResolvedAws", &format!("{resolved:?}"));
        assert_no_canary("api key", &format!("{api_key:?}"));
        assert_no_canary("KeyringStore", &format!("{keyring:?}"));
        assert_no_canary(
            "masked id",
            &format!("{:#?}", loaded.masked_access_key_id()),
        );
    }

    #[test]
    fn errors_about_secrets_do_not_quote_them() {
        let bad = AwsKeys {
            access_key_id: "AKIA-not-valid-canary".into(),
            secret_access_key: SECRET_CANARY.into(),
            session_token: None,
        };
        let err = bad.validate().unwrap_err();
        assert!(!err.to_string().contains("canary"), "{err}");

        let store = MemoryStore::default();
        let blob = format!(r#"{{"access_key_id": 5, "secret_access_key": "{SECRET_CANARY}"}}"#);
        store.set(AWS_KEYS, &SecretString::from(blob)).unwrap();
        let err = load_aws_keys(&store).unwrap_err();
        assert!(matches!(err, CredentialsError::CorruptEntry { .. }));
        assert_no_canary("corrupt entry error", &format!("{err} {err:?}"));
    }
}
