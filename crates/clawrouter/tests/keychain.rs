//! Round trips through the real OS keychain (Secret Service on Linux), not a
//! mock: keyring's feature flags decide whether anything persists at all, and
//! only a real store shows that. Run headless with
//! `scripts/with-keyring cargo test -p clawrouter --test keychain`.
//! Skips (with a printed reason) when there is no D-Bus session bus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use clawrouter::credentials::{
    API_KEY, ApiKeySource, AwsKeys, KeyringStore, SecretStore, client_api_key, delete_aws_keys,
    load_aws_keys, regenerate_api_key, save_aws_keys,
};
use secrecy::{ExposeSecret, SecretString};

/// Secret Service calls from parallel tests can race on one bus connection.
static SERIAL: Mutex<()> = Mutex::new(());

/// A service name no other run (or the real app) uses, and a fresh store for
/// each step so reads cannot be served from an entry object's memory.
fn unique_service(test: &str) -> Option<String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        println!(
            "SKIPPED {test}: DBUS_SESSION_BUS_ADDRESS is unset (no Secret Service); \
             run under scripts/with-keyring"
        );
        return None;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Some(format!("clawrouter-test-{}-{nanos}", std::process::id()))
}

#[test]
fn aws_keys_round_trip() {
    let Some(service) = unique_service("aws_keys_round_trip") else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let keys = AwsKeys {
        access_key_id: "ASIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: Some("FwoGZXIvYXdzEXAMPLE//token+with/odd=chars".into()),
    };
    assert!(
        load_aws_keys(&KeyringStore::new(&service))
            .unwrap()
            .is_none()
    );
    save_aws_keys(&KeyringStore::new(&service), &keys).unwrap();

    let loaded = load_aws_keys(&KeyringStore::new(&service))
        .unwrap()
        .expect("keys saved a moment ago");
    assert_eq!(loaded.access_key_id, keys.access_key_id);
    assert_eq!(
        loaded.secret_access_key.expose_secret(),
        keys.secret_access_key.expose_secret()
    );
    assert_eq!(
        loaded.session_token.as_ref().map(|t| t.expose_secret()),
        keys.session_token.as_ref().map(|t| t.expose_secret())
    );

    assert!(delete_aws_keys(&KeyringStore::new(&service)).unwrap());
    assert!(
        load_aws_keys(&KeyringStore::new(&service))
            .unwrap()
            .is_none()
    );
    assert!(!delete_aws_keys(&KeyringStore::new(&service)).unwrap());
}

#[test]
fn api_key_is_generated_once_and_regenerated() {
    let Some(service) = unique_service("api_key_is_generated_once_and_regenerated") else {
        return;
    };
    if std::env::var_os("CLAWROUTER_API_KEY").is_some() {
        println!("SKIPPED: CLAWROUTER_API_KEY is set, so the keychain key is not used");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());

    let (first, source) = client_api_key(&KeyringStore::new(&service)).unwrap();
    assert_eq!(source, ApiKeySource::Generated);
    assert!(first.expose_secret().starts_with("sk-clawrouter-"));

    let (again, source) = client_api_key(&KeyringStore::new(&service)).unwrap();
    assert_eq!(source, ApiKeySource::Keychain);
    assert_eq!(again.expose_secret(), first.expose_secret());

    let fresh = regenerate_api_key(&KeyringStore::new(&service)).unwrap();
    assert_ne!(fresh.expose_secret(), first.expose_secret());
    let stored = KeyringStore::new(&service).get(API_KEY).unwrap().unwrap();
    assert_eq!(stored.expose_secret(), fresh.expose_secret());

    assert!(KeyringStore::new(&service).delete(API_KEY).unwrap());
}

#[test]
fn overwrite_replaces_the_whole_entry() {
    let Some(service) = unique_service("overwrite_replaces_the_whole_entry") else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let store = KeyringStore::new(&service);
    store.set("entry", &SecretString::from("first")).unwrap();
    store.set("entry", &SecretString::from("second")).unwrap();
    let read = KeyringStore::new(&service).get("entry").unwrap().unwrap();
    assert_eq!(read.expose_secret(), "second");
    assert!(store.delete("entry").unwrap());
}
