//! The settings view: settings.json fields, AWS keys in the OS keychain,
//! validation as the user types, and "Test connection".

use clawrouter::credentials::{self, AwsKeys};
use clawrouter::engine::{CheckReport, Engine, ProxyStatus, TierView, tier_views};
use clawrouter::health::Status;
use clawrouter::settings::{FieldError, Settings};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};

use super::CommandError;

#[derive(Debug, Serialize)]
pub struct SettingsView {
    pub settings: Settings,
    pub keys: StoredKeys,
}

/// What is in the keychain, without the secret.
#[derive(Debug, Serialize, PartialEq)]
pub struct StoredKeys {
    pub saved: bool,
    /// `****************WXYZ`.
    pub masked_access_key_id: Option<String>,
    pub has_session_token: bool,
    /// Why the keychain could not be read, in plain words.
    pub error: Option<String>,
}

/// Keys as typed in the form. No `Debug`, no `Serialize`: it only passes
/// through to the engine, which keeps the secrets wrapped.
#[derive(Deserialize)]
pub struct KeysInput {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    #[serde(default)]
    pub session_token: Option<SecretString>,
}

/// After a save: the proxy is restarted when it was running, so the new
/// settings or keys apply at once.
#[derive(Debug, Serialize)]
pub struct Saved {
    pub status: ProxyStatus,
    pub restarted: bool,
    pub keys: StoredKeys,
}

/// "Test connection": the engine's check plus the tier candidates it suggests.
#[derive(Debug, Serialize)]
pub struct ConnectionReport {
    pub check: CheckReport,
    /// Where credentials came from, in the engine's words
    /// (e.g. `AWS profile 'dev'`), when a source was found.
    pub credentials_from: Option<String>,
    pub tiers: Vec<TierView>,
}

impl KeysInput {
    fn into_keys(self) -> AwsKeys {
        AwsKeys {
            access_key_id: self.access_key_id.trim().to_owned(),
            secret_access_key: self.secret_access_key,
            // An empty box means "no token", not an empty one.
            session_token: self
                .session_token
                .filter(|t| !t.expose_secret().trim().is_empty()),
        }
    }
}

#[tauri::command]
pub async fn load_settings(engine: State<'_, Engine>) -> Result<SettingsView, CommandError> {
    Ok(SettingsView {
        settings: engine.settings(),
        keys: stored_keys(&engine).await?,
    })
}

/// Every problem with the form as it stands; empty when it can be saved.
/// `keys` is absent when the user is not entering keys.
#[tauri::command]
pub fn validate_settings(settings: Settings, keys: Option<KeysInput>) -> Vec<FieldError> {
    let mut errors = settings.validate().err().unwrap_or_default();
    if let Some(Err(e)) = keys.map(|k| k.into_keys().validate()) {
        errors.push(e);
    }
    errors
}

#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    engine: State<'_, Engine>,
    settings: Settings,
) -> Result<Saved, CommandError> {
    let start_on_login = settings.start_on_login;
    engine.save_settings(settings)?;
    apply_start_on_login(&app, start_on_login)?;
    restart_if_running(&engine).await
}

#[tauri::command]
pub async fn save_aws_keys(
    engine: State<'_, Engine>,
    keys: KeysInput,
) -> Result<Saved, CommandError> {
    let keys = keys.into_keys();
    let store = engine.store.clone();
    tokio::task::spawn_blocking(move || credentials::save_aws_keys(store.as_ref(), &keys))
        .await??;
    restart_if_running(&engine).await
}

#[tauri::command]
pub async fn delete_aws_keys(engine: State<'_, Engine>) -> Result<Saved, CommandError> {
    let store = engine.store.clone();
    tokio::task::spawn_blocking(move || credentials::delete_aws_keys(store.as_ref())).await??;
    restart_if_running(&engine).await
}

#[tauri::command]
pub async fn test_connection(engine: State<'_, Engine>) -> Result<ConnectionReport, CommandError> {
    let lineup = engine.lineup();
    // Free probes only (CountTokens): testing must not cost money.
    let check = engine.check(false).await;
    let status_of = |profile_id: &str| {
        check
            .models
            .iter()
            .find(|m| m.profile_id == profile_id)
            .map_or(Status::Unknown, |m| m.health.status)
    };
    let tiers = tier_views(
        &lineup.catalog,
        &engine.availability(),
        &|m| status_of(&m.profile_id),
        &|m| status_of(&m.profile_id) == Status::Healthy,
    );
    Ok(ConnectionReport {
        credentials_from: check.credentials_source.as_ref().map(ToString::to_string),
        check,
        tiers,
    })
}

async fn stored_keys(engine: &Engine) -> Result<StoredKeys, CommandError> {
    let store = engine.store.clone();
    let loaded =
        tokio::task::spawn_blocking(move || credentials::load_aws_keys(store.as_ref())).await?;
    Ok(match loaded {
        Ok(Some(keys)) => StoredKeys {
            saved: true,
            masked_access_key_id: Some(keys.masked_access_key_id()),
            has_session_token: keys.session_token.is_some(),
            error: None,
        },
        Ok(None) => StoredKeys {
            saved: false,
            masked_access_key_id: None,
            has_session_token: false,
            error: None,
        },
        Err(e) => StoredKeys {
            saved: false,
            masked_access_key_id: None,
            has_session_token: false,
            error: Some(e.to_string()),
        },
    })
}

async fn restart_if_running(engine: &Engine) -> Result<Saved, CommandError> {
    let (status, restarted) = engine.restart_if_running().await;
    Ok(Saved {
        status,
        restarted,
        keys: stored_keys(engine).await?,
    })
}

/// Registers or removes the login item. Skipped when the autostart plugin
/// is not loaded (mock-runtime tests).
fn apply_start_on_login<R: Runtime>(app: &AppHandle<R>, enable: bool) -> Result<(), CommandError> {
    let Some(autostart) = app.try_state::<tauri_plugin_autostart::AutoLaunchManager>() else {
        return Ok(());
    };
    let result = match (enable, autostart.is_enabled()) {
        (true, Ok(false)) => autostart.enable(),
        (false, Ok(true)) => autostart.disable(),
        (_, Ok(_)) => Ok(()),
        (_, Err(e)) => Err(e),
    };
    result.map_err(|e| CommandError::new(format!("cannot change start on login: {e}")))
}
