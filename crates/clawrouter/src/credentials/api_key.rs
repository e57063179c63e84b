//! The key local tools present to the proxy (`Authorization: Bearer` /
//! `x-api-key`), so other local users and web pages cannot spend the user's
//! AWS money through it.

use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::store::SecretStore;
use super::{API_KEY, CredentialsError};

/// Environment variable that overrides the stored key (scripts, CI, headless).
pub const API_KEY_ENV: &str = "CLAWROUTER_API_KEY";
/// Every generated key starts with this, so leaked keys are recognisable.
pub const GENERATED_PREFIX: &str = "sk-clawrouter-";
const GENERATED_RANDOM_CHARS: usize = 32;
const MIN_LEN: usize = 16;

/// Where the client API key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiKeySource {
    Env,
    Keychain,
    /// A private file, because no OS keychain is usable.
    File,
    Generated,
}

impl std::fmt::Display for ApiKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiKeySource::Env => "CLAWROUTER_API_KEY",
            ApiKeySource::Keychain => "keychain",
            ApiKeySource::File => "a private file (no OS keychain)",
            ApiKeySource::Generated => "generated, now in the keychain",
        })
    }
}

/// `CLAWROUTER_API_KEY` if set and non-empty (weak values refused), else the
/// keychain's [`API_KEY`], else a new `sk-clawrouter-…` key that is stored
/// there. Blocking (keychain): async callers use `spawn_blocking`.
pub fn client_api_key(
    store: &dyn SecretStore,
) -> Result<(SecretString, ApiKeySource), CredentialsError> {
    let from_env = match std::env::var(API_KEY_ENV) {
        Ok(value) if value.is_empty() => None,
        Ok(value) => Some(SecretString::from(value)),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(CredentialsError::WeakApiKey {
                reason: "not valid UTF-8",
            });
        }
    };
    client_api_key_with(store, from_env)
}

/// [`client_api_key`] with the environment value passed in (tests cannot set
/// env vars safely).
pub(crate) fn client_api_key_with(
    store: &dyn SecretStore,
    from_env: Option<SecretString>,
) -> Result<(SecretString, ApiKeySource), CredentialsError> {
    if let Some(key) = from_env {
        return match weakness(key.expose_secret()) {
            Some(reason) => Err(CredentialsError::WeakApiKey { reason }),
            None => Ok((key, ApiKeySource::Env)),
        };
    }
    let in_file = |source| match store.key_file_fallback() {
        Some(_) => ApiKeySource::File,
        None => source,
    };
    if let Some(key) = store.get(API_KEY)? {
        return Ok((key, in_file(ApiKeySource::Keychain)));
    }
    let key = regenerate_api_key(store)?;
    Ok((key, in_file(ApiKeySource::Generated)))
}

/// Replaces the stored key with a new random one and returns it. (A key set
/// in `CLAWROUTER_API_KEY` still takes precedence.)
pub fn regenerate_api_key(store: &dyn SecretStore) -> Result<SecretString, CredentialsError> {
    let key = generate()?;
    store.set(API_KEY, &key)?;
    Ok(key)
}

/// Constant-time comparison. Both sides are hashed to SHA-256 first, so the
/// comparison always covers 32 bytes and neither a length difference nor the
/// position of the first wrong byte changes its timing.
pub fn keys_match(presented: &[u8], expected: &SecretString) -> bool {
    let presented = Sha256::digest(presented);
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    presented.as_slice().ct_eq(expected.as_slice()).into()
}

/// Why a user-chosen key is too guessable, if it is.
fn weakness(key: &str) -> Option<&'static str> {
    const WELL_KNOWN: &[&str] = &[
        "sk-1234567890abcdef",
        "sk-1234567890abcdefgh",
        "sk-your-api-key-here",
        "your-api-key-here",
        "sk-proj-1234567890",
        "changemechangeme",
        "passwordpassword",
    ];
    let distinct = key.chars().collect::<std::collections::BTreeSet<_>>().len();
    if key.chars().count() < MIN_LEN {
        Some("shorter than 16 characters")
    } else if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains spaces or control characters")
    } else if WELL_KNOWN.iter().any(|w| key.eq_ignore_ascii_case(w)) {
        Some("a well-known example key")
    } else if distinct < 8 {
        Some("too few different characters")
    } else {
        None
    }
}

/// `sk-clawrouter-` + 32 alphanumerics straight from the OS generator,
/// unbiased by rejection sampling. Built in a buffer of its final size so no
/// copy of the key is left behind by reallocation.
fn generate() -> Result<SecretString, CredentialsError> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let len = GENERATED_PREFIX.len() + GENERATED_RANDOM_CHARS;
    let mut key = String::with_capacity(len);
    key.push_str(GENERATED_PREFIX);
    let mut bytes = [0u8; 64];
    while key.len() < len {
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| CredentialsError::Random(e.to_string()))?;
        // 248 = 4 * 62: bytes at or above it would favour the first letters.
        for b in bytes.iter().filter(|&&b| b < 248).take(len - key.len()) {
            key.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    bytes.fill(0);
    Ok(SecretString::from(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryStore;

    fn env(value: &str) -> Option<SecretString> {
        Some(SecretString::from(value))
    }

    #[test]
    fn env_key_wins_and_contract_keys_pass() {
        let store = MemoryStore::default();
        store
            .set(API_KEY, &SecretString::from("sk-stored-key-abcdefgh"))
            .unwrap();
        for key in ["sk-contract-check", "sk-test-0123456789abcdef"] {
            let (got, source) = client_api_key_with(&store, env(key)).unwrap();
            assert_eq!((got.expose_secret(), source), (key, ApiKeySource::Env));
        }
    }

    #[test]
    fn weak_env_keys_are_refused() {
        let store = MemoryStore::default();
        for key in [
            "sk-1234",
            "tiny-key",
            "sk-1234567890ABCDEF",
            "aaaaaaaaaaaaaaaaaaaaaaaa",
            "sk-contract check",
        ] {
            let err = client_api_key_with(&store, env(key)).unwrap_err();
            assert!(
                matches!(err, CredentialsError::WeakApiKey { .. }),
                "{key}: {err:?}"
            );
            assert!(
                !err.to_string().contains(key),
                "error quotes the key: {err}"
            );
        }
        assert!(store.get(API_KEY).unwrap().is_none(), "nothing generated");
    }

    #[test]
    fn generated_once_then_read_from_keychain() {
        let store = MemoryStore::default();
        let (first, source) = client_api_key_with(&store, None).unwrap();
        assert_eq!(source, ApiKeySource::Generated);
        let text = first.expose_secret();
        assert_eq!(text.len(), GENERATED_PREFIX.len() + 32);
        let random = text.strip_prefix(GENERATED_PREFIX).unwrap();
        assert!(
            random.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{random}"
        );
        assert_eq!(weakness(text), None);

        let (again, source) = client_api_key_with(&store, None).unwrap();
        assert_eq!(source, ApiKeySource::Keychain);
        assert_eq!(again.expose_secret(), text);

        let fresh = regenerate_api_key(&store).unwrap();
        assert_ne!(fresh.expose_secret(), text);
        let (now, _) = client_api_key_with(&store, None).unwrap();
        assert_eq!(now.expose_secret(), fresh.expose_secret());
    }

    #[test]
    fn generated_keys_use_the_whole_alphabet() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let key = generate().unwrap();
            seen.extend(key.expose_secret()[GENERATED_PREFIX.len()..].chars());
        }
        // 6400 draws over 62 symbols: missing one by chance is ~1e-43.
        assert_eq!(seen.len(), 62);
    }

    #[test]
    fn keys_match_exactly() {
        let expected = SecretString::from("sk-test-0123456789abcdef");
        assert!(keys_match(b"sk-test-0123456789abcdef", &expected));
        assert!(!keys_match(b"sk-test-0123456789abcdeF", &expected));
        assert!(!keys_match(b"sk-test-0123456789abcde", &expected));
        assert!(!keys_match(b"sk-test-0123456789abcdef ", &expected));
        assert!(!keys_match(b"", &expected));
    }
}
