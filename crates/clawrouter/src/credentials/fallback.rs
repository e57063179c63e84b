//! The store the CLI and the desktop app use: the OS keychain, and on
//! machines that have none (servers, SSH sessions, WSL, minimal desktops)
//! one exception so the proxy still starts. The client API key — a local key
//! the user can regenerate, not an AWS secret — is then kept in a file only
//! the user can read (0600, [`Home::client_key_file`]). AWS keys are never
//! written to a file: without a keychain they come from the standard AWS
//! chain (environment, `~/.aws` profile, SSO, role).
//!
//! Every call asks the keychain first, so one that becomes usable (unlocked,
//! started) is used again at once, and a key kept in the file meanwhile moves
//! into it, so tools keep working with the same key.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use secrecy::{ExposeSecret, SecretString};

use super::store::SecretStore;
use super::{API_KEY, CredentialsError, KeyringStore, SERVICE};
use crate::settings::Home;

/// Names another keychain service than [`SERVICE`], so tests and the demo
/// never touch a user's real entries.
pub const KEYCHAIN_SERVICE_ENV: &str = "CLAWROUTER_KEYCHAIN_SERVICE";

/// The keychain, with the client key in a private file while it is unusable.
pub struct LocalStore {
    keychain: Box<dyn SecretStore>,
    key_file: PathBuf,
    /// Why the keychain is unusable, while it is.
    unusable: Mutex<Option<String>>,
    warned: AtomicBool,
}

/// The client key is in a file because the keychain cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyFileFallback {
    pub key_file: PathBuf,
    /// The keychain's own words for what is wrong.
    pub reason: String,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl LocalStore {
    /// The OS keychain (service [`SERVICE`], or [`KEYCHAIN_SERVICE_ENV`]),
    /// falling back to `home`'s key file.
    pub fn for_home(home: &Home) -> LocalStore {
        let service = std::env::var(KEYCHAIN_SERVICE_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| SERVICE.to_owned());
        LocalStore::new(Box::new(KeyringStore::new(service)), home.client_key_file())
    }

    /// `keychain` is tried first for every call; `key_file` holds the client
    /// key while it is unusable.
    pub fn new(keychain: Box<dyn SecretStore>, key_file: PathBuf) -> LocalStore {
        LocalStore {
            keychain,
            key_file,
            unusable: Mutex::new(None),
            warned: AtomicBool::new(false),
        }
    }

    fn usable(&self) {
        *self.unusable.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Remembers why, and says once per process what that means.
    fn unusable(&self, detail: &str) {
        *self.unusable.lock().unwrap_or_else(PoisonError::into_inner) = Some(detail.to_owned());
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "no OS keychain is usable ({detail}). The client API key (unless CLAWROUTER_API_KEY is set) is kept in {} \
                 (readable only by you), and AWS credentials come only from the standard AWS \
                 chain (environment, ~/.aws profile, SSO). To use the keychain, start and \
                 unlock gnome-keyring or another Secret Service.",
                self.key_file.display()
            );
        }
    }

    /// The keychain works but holds no client key: a key kept in the file
    /// while it did not work moves into it, so clients keep their key.
    fn adopt_file_key(&self) -> Result<Option<SecretString>, CredentialsError> {
        let Some(key) = read_key_file(&self.key_file)? else {
            return Ok(None);
        };
        if self.keychain.set(API_KEY, &key).is_ok() {
            remove_key_file(&self.key_file)?;
            tracing::info!(
                "the client API key moved from {} into the OS keychain",
                self.key_file.display()
            );
        }
        Ok(Some(key))
    }
}

impl SecretStore for LocalStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>, CredentialsError> {
        match self.keychain.get(key) {
            Ok(None) if key == API_KEY => {
                self.usable();
                self.adopt_file_key()
            }
            Ok(value) => {
                self.usable();
                Ok(value)
            }
            Err(CredentialsError::KeychainUnavailable { detail, .. }) => {
                self.unusable(&detail);
                if key == API_KEY {
                    read_key_file(&self.key_file)
                } else {
                    // Nothing can be stored without a keychain; the warning
                    // says where AWS credentials come from instead.
                    Ok(None)
                }
            }
            Err(e) => Err(e),
        }
    }

    fn set(&self, key: &str, value: &SecretString) -> Result<(), CredentialsError> {
        match self.keychain.set(key, value) {
            Ok(()) => {
                self.usable();
                if key == API_KEY {
                    remove_key_file(&self.key_file)?;
                }
                Ok(())
            }
            Err(CredentialsError::KeychainUnavailable { detail, .. }) if key == API_KEY => {
                self.unusable(&detail);
                write_key_file(&self.key_file, value)
            }
            // AWS keys: only ever in the keychain.
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &str) -> Result<bool, CredentialsError> {
        let in_keychain = match self.keychain.delete(key) {
            Ok(deleted) => {
                self.usable();
                deleted
            }
            Err(CredentialsError::KeychainUnavailable { detail, .. }) if key == API_KEY => {
                self.unusable(&detail);
                false
            }
            Err(e) => return Err(e),
        };
        let in_file = key == API_KEY && remove_key_file(&self.key_file)?;
        Ok(in_keychain || in_file)
    }

    fn key_file_fallback(&self) -> Option<KeyFileFallback> {
        let reason = self
            .unusable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        Some(KeyFileFallback {
            key_file: self.key_file.clone(),
            reason,
        })
    }
}

fn key_file_error(action: &'static str, path: &Path, e: &std::io::Error) -> CredentialsError {
    CredentialsError::KeyFile {
        action,
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// The key in `path`, or `None` if there is no file. A file others could
/// read is made private again, with a warning: the key may have been seen.
fn read_key_file(path: &Path) -> Result<Option<SecretString>, CredentialsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => SecretString::from(text),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_file_error("read", path, &e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| key_file_error("read", path, &e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| key_file_error("protect", path, &e))?;
            tracing::warn!(
                "{} was readable by other users; it is private again. If others use this \
                 machine, make a new client key (delete the file and restart ClawRouter).",
                path.display()
            );
        }
    }
    let key = text.expose_secret().trim();
    Ok((!key.is_empty()).then(|| SecretString::from(key.to_owned())))
}

fn write_key_file(path: &Path, key: &SecretString) -> Result<(), CredentialsError> {
    let line = SecretString::from(format!("{}\n", key.expose_secret()));
    crate::settings::write_atomically(path, line.expose_secret().as_bytes())
        .map_err(|e| key_file_error("write", path, &e))
}

/// Whether there was a file to remove.
fn remove_key_file(path: &Path) -> Result<bool, CredentialsError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(key_file_error("remove", path, &e)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::credentials::api_key::client_api_key_with;
    use crate::credentials::{AWS_KEYS, ApiKeySource, AwsKeys, MemoryStore, save_aws_keys};

    /// A keychain that can be switched off, like a Secret Service that is
    /// not running or is locked.
    #[derive(Default)]
    struct Switchable {
        off: AtomicBool,
        inner: MemoryStore,
    }

    impl Switchable {
        fn check(&self) -> Result<(), CredentialsError> {
            if self.off.load(Ordering::Relaxed) {
                Err(CredentialsError::KeychainUnavailable {
                    detail: "no session bus".into(),
                    hint: "start one",
                })
            } else {
                Ok(())
            }
        }
    }

    impl SecretStore for Arc<Switchable> {
        fn get(&self, key: &str) -> Result<Option<SecretString>, CredentialsError> {
            self.check()?;
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &SecretString) -> Result<(), CredentialsError> {
            self.check()?;
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<bool, CredentialsError> {
            self.check()?;
            self.inner.delete(key)
        }
    }

    fn store(off: bool) -> (tempfile::TempDir, Arc<Switchable>, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let keychain = Arc::new(Switchable::default());
        keychain.off.store(off, Ordering::Relaxed);
        let local = LocalStore::new(
            Box::new(keychain.clone()),
            dir.path().join("home").join("client-api-key"),
        );
        (dir, keychain, local)
    }

    #[test]
    fn without_a_keychain_the_client_key_lives_in_a_private_file() {
        let (_dir, _keychain, local) = store(true);
        let (key, source) = client_api_key_with(&local, None).unwrap();
        assert_eq!(source, ApiKeySource::File);
        let fallback = local.key_file_fallback().unwrap();
        assert_eq!(fallback.reason, "no session bus");
        let text = std::fs::read_to_string(&fallback.key_file).unwrap();
        assert_eq!(text.trim(), key.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&fallback.key_file)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        // The same key on the next run.
        let (again, source) = client_api_key_with(&local, None).unwrap();
        assert_eq!(again.expose_secret(), key.expose_secret());
        assert_eq!(source, ApiKeySource::File);
    }

    #[test]
    fn aws_keys_are_never_written_to_a_file() {
        let (dir, _keychain, local) = store(true);
        let keys = AwsKeys {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let err = save_aws_keys(&local, &keys).unwrap_err();
        assert!(
            matches!(err, CredentialsError::KeychainUnavailable { .. }),
            "{err:?}"
        );
        // Reading finds nothing (the AWS chain answers instead), not an error.
        assert!(local.get(AWS_KEYS).unwrap().is_none());
        let files: Vec<_> = walk(dir.path());
        assert!(files.is_empty(), "{files:?}");
    }

    #[test]
    fn a_keychain_that_comes_back_adopts_the_file_key() {
        let (_dir, keychain, local) = store(true);
        let (key, _) = client_api_key_with(&local, None).unwrap();
        let file = local.key_file_fallback().unwrap().key_file;
        assert!(file.exists());

        keychain.off.store(false, Ordering::Relaxed);
        let (again, source) = client_api_key_with(&local, None).unwrap();
        assert_eq!(again.expose_secret(), key.expose_secret(), "same key");
        assert_eq!(source, ApiKeySource::Keychain);
        assert!(local.key_file_fallback().is_none());
        assert!(!file.exists(), "the file is gone once the key moved");
        assert_eq!(
            keychain
                .inner
                .get(API_KEY)
                .unwrap()
                .unwrap()
                .expose_secret(),
            key.expose_secret()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, _keychain, local) = store(true);
        client_api_key_with(&local, None).unwrap();
        let file = local.key_file_fallback().unwrap().key_file;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        client_api_key_with(&local, None).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    #[test]
    fn delete_removes_the_file_key_too() {
        let (_dir, _keychain, local) = store(true);
        client_api_key_with(&local, None).unwrap();
        assert!(local.delete(API_KEY).unwrap());
        assert!(local.get(API_KEY).unwrap().is_none());
        assert!(!local.delete(API_KEY).unwrap());
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
