//! Where secrets are kept: the OS keychain, or memory in tests.
//!
//! Keychain calls block (on Linux each is a D-Bus round trip to the Secret
//! Service, tens of milliseconds or more), so async callers run them in
//! `tokio::task::spawn_blocking` and cache what they read.

use std::collections::HashMap;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use super::CredentialsError;

/// A named-secret store. Keys are entry names like [`super::AWS_KEYS`].
pub trait SecretStore: Send + Sync {
    /// `Ok(None)` when nothing is stored under `key`.
    fn get(&self, key: &str) -> Result<Option<SecretString>, CredentialsError>;
    fn set(&self, key: &str, value: &SecretString) -> Result<(), CredentialsError>;
    /// Whether something was there to delete.
    fn delete(&self, key: &str) -> Result<bool, CredentialsError>;
    /// Set while the client key is kept in a file because no keychain is
    /// usable (see [`super::LocalStore`]); the window and CLI say so.
    fn key_file_fallback(&self) -> Option<super::KeyFileFallback> {
        None
    }
}

/// The OS keychain (macOS Keychain, Windows Credential Manager, Secret
/// Service on Linux): entries are `(service, key)` pairs.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

/// Secrets in a map, for tests of code that uses a [`SecretStore`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    secrets: Mutex<HashMap<String, SecretString>>,
}

impl KeyringStore {
    /// `service` is [`super::SERVICE`] in the app; tests use a unique one.
    pub fn new(service: impl Into<String>) -> Self {
        KeyringStore {
            service: service.into(),
        }
    }

    fn entry(&self, action: &'static str, key: &str) -> Result<keyring::Entry, CredentialsError> {
        keyring::Entry::new(&self.service, key).map_err(|e| keyring_error(action, key, e))
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>, CredentialsError> {
        match self.entry("read", key)?.get_password() {
            Ok(value) => Ok(Some(SecretString::from(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error("read", key, e)),
        }
    }

    fn set(&self, key: &str, value: &SecretString) -> Result<(), CredentialsError> {
        self.entry("save", key)?
            .set_password(value.expose_secret())
            .map_err(|e| keyring_error("save", key, e))
    }

    fn delete(&self, key: &str) -> Result<bool, CredentialsError> {
        match self.entry("delete", key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error("delete", key, e)),
        }
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>, CredentialsError> {
        Ok(self.secrets().get(key).cloned())
    }

    fn set(&self, key: &str, value: &SecretString) -> Result<(), CredentialsError> {
        self.secrets().insert(key.to_owned(), value.clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool, CredentialsError> {
        Ok(self.secrets().remove(key).is_some())
    }
}

impl MemoryStore {
    fn secrets(&self) -> std::sync::MutexGuard<'_, HashMap<String, SecretString>> {
        // A panic elsewhere cannot leave a HashMap half-updated.
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Turns a keyring error into one that says what to do. keyring's `Display`
/// never includes the secret (`BadEncoding` prints no bytes).
fn keyring_error(action: &'static str, key: &str, e: keyring::Error) -> CredentialsError {
    match e {
        keyring::Error::PlatformFailure(_) => CredentialsError::KeychainUnavailable {
            detail: e.to_string(),
            hint: "no Secret Service running? start and unlock gnome-keyring (or another \
                   Secret Service), or use AWS profile or environment credentials instead",
        },
        keyring::Error::NoStorageAccess(_) => CredentialsError::KeychainUnavailable {
            detail: e.to_string(),
            hint: "the keychain is locked or refused access: unlock it and try again, or use \
                   AWS profile or environment credentials instead",
        },
        keyring::Error::BadEncoding(_) => CredentialsError::CorruptEntry {
            key: key.to_owned(),
            detail: e.to_string(),
        },
        _ => CredentialsError::Keychain {
            action,
            key: key.to_owned(),
            detail: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::default();
        assert!(store.get("k").unwrap().is_none());
        store.set("k", &SecretString::from("v1")).unwrap();
        store.set("k", &SecretString::from("v2")).unwrap();
        assert_eq!(store.get("k").unwrap().unwrap().expose_secret(), "v2");
        assert!(store.delete("k").unwrap());
        assert!(!store.delete("k").unwrap());
        assert!(store.get("k").unwrap().is_none());
    }

    #[test]
    fn keyring_errors_say_what_to_do() {
        let unavailable = keyring_error(
            "read",
            "k",
            keyring::Error::PlatformFailure("no bus".into()),
        );
        assert!(
            unavailable
                .to_string()
                .contains("start and unlock gnome-keyring")
        );
        let locked = keyring_error(
            "read",
            "k",
            keyring::Error::NoStorageAccess("locked".into()),
        );
        assert!(locked.to_string().contains("unlock it"));
        let bad = keyring_error(
            "read",
            "k",
            keyring::Error::BadEncoding(b"secret\xff".to_vec()),
        );
        let text = format!("{bad} {bad:?}");
        assert!(
            text.contains("'k' is damaged") && !text.contains("secret"),
            "{text}"
        );
    }
}
