//! Starting and stopping the proxy, and what clients need to reach it.

use clawrouter::credentials::{self, ApiKeySource, KeyFileFallback};
use clawrouter::server::ProxyStatus;
use secrecy::ExposeSecret;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use super::CommandError;
use crate::shell::Shell;

#[tauri::command]
pub fn proxy_status(shell: State<'_, Shell>) -> ProxyStatus {
    shell.supervisor.status()
}

#[tauri::command]
pub async fn start_proxy(shell: State<'_, Shell>) -> Result<ProxyStatus, CommandError> {
    Ok(shell.start_proxy().await)
}

#[tauri::command]
pub async fn stop_proxy(shell: State<'_, Shell>) -> Result<ProxyStatus, CommandError> {
    Ok(shell.supervisor.stop().await)
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
pub async fn client_setup(shell: State<'_, Shell>) -> Result<ClientSetup, CommandError> {
    let status = shell.supervisor.status();
    let endpoint = status
        .endpoint()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", shell.settings().port));
    let store = shell.store.clone();
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
