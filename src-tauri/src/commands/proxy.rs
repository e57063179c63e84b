//! Starting and stopping the proxy, and what clients need to reach it.

use clawrouter::credentials::{self, ApiKeySource, KeyFileFallback};
use clawrouter::engine::{Engine, ProxyStatus};
use secrecy::ExposeSecret;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use super::CommandError;

#[tauri::command]
pub fn proxy_status(engine: State<'_, Engine>) -> ProxyStatus {
    engine.status()
}

#[tauri::command]
pub async fn start_proxy(engine: State<'_, Engine>) -> Result<ProxyStatus, CommandError> {
    Ok(engine.start_proxy().await)
}

#[tauri::command]
pub async fn stop_proxy(engine: State<'_, Engine>) -> Result<ProxyStatus, CommandError> {
    Ok(engine.stop_proxy().await)
}

/// The endpoint and key the client-setup snippets show. The key is the
/// local client key (not an AWS secret); the window shows it masked until
/// asked and never stores it.
#[derive(Debug, Serialize)]
pub struct ClientSetup {
    /// `http://127.0.0.1:PORT`: the running port, else the configured one.
    pub endpoint: String,
    pub running: bool,
    pub api_key: String,
    pub api_key_source: ApiKeySource,
    /// Set while no OS keychain is usable: where the client key is kept
    /// instead, and the keychain's reason (the window explains and offers
    /// to retry).
    pub keychain_fallback: Option<KeyFileFallback>,
}

#[tauri::command]
pub async fn client_setup(engine: State<'_, Engine>) -> Result<ClientSetup, CommandError> {
    let status = engine.status();
    let endpoint = engine.endpoint();
    let store = engine.store.clone();
    // Every call asks the keychain first, so this is also the retry once
    // the user has started or unlocked one.
    let (key, source, keychain_fallback) = tokio::task::spawn_blocking(move || {
        credentials::client_api_key(store.as_ref())
            .map(|(key, source)| (key, source, store.key_file_fallback()))
    })
    .await??;
    Ok(ClientSetup {
        endpoint,
        running: matches!(status, ProxyStatus::Running { .. }),
        api_key: key.expose_secret().to_owned(),
        api_key_source: source,
        keychain_fallback,
    })
}

/// Puts `text` on the system clipboard (the webview's own clipboard API
/// needs a secure context and a user gesture, which WebKitGTK is strict about).
#[tauri::command]
pub fn copy_text<R: Runtime>(app: AppHandle<R>, text: String) -> Result<(), CommandError> {
    crate::clipboard::write(&app, text)
}
