//! When the engine cannot start (a settings.json or models.yaml that does
//! not load), the app still opens its window, showing what is wrong, in
//! which file and line, and how to fix it — instead of exiting with nothing
//! on screen. Only these commands exist then: the problem, reset the
//! settings (keeping a backup), copy a path, and restart.

use std::path::PathBuf;

use clawrouter::engine::EngineError;
use clawrouter::settings::{Home, Settings};
use serde::Serialize;
use tauri::{AppHandle, Builder, Runtime, State};

use crate::commands::CommandError;

/// Why the app could not start, as the window shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StartupProblem {
    /// The error, with `file:line` when it is about a file.
    pub message: String,
    /// The file to fix, if the problem is in one.
    pub file: Option<PathBuf>,
    /// The file is settings.json: "Reset to defaults" is offered.
    pub can_reset: bool,
    #[serde(skip)]
    home: Option<Home>,
}

impl StartupProblem {
    /// The problem `error` is, for the user's `home` (when one was found).
    pub fn new(error: &EngineError, home: Option<Home>) -> StartupProblem {
        let (file, can_reset) = match error {
            EngineError::Settings(_) => (home.as_ref().map(Home::settings_path), true),
            EngineError::Catalog(_) | EngineError::Router(_) => {
                (home.as_ref().and_then(Home::catalog_override), false)
            }
            // Not a file the user can fix here (the keychain, discovery).
            EngineError::Credentials(_) | EngineError::Discovery(_) => (None, false),
        };
        StartupProblem {
            message: error.to_string(),
            file,
            can_reset: can_reset && home.is_some(),
            home,
        }
    }
}

/// The app with nothing but the problem to show.
pub fn builder<R: Runtime>(builder: Builder<R>, problem: StartupProblem) -> Builder<R> {
    builder
        .manage(Some(problem))
        .invoke_handler(tauri::generate_handler![
            startup_problem,
            reset_settings,
            restart,
            crate::commands::proxy::copy_text,
        ])
}

/// The problem that kept the app from starting; `null` when it started.
#[tauri::command]
pub fn startup_problem(problem: State<'_, Option<StartupProblem>>) -> Option<StartupProblem> {
    problem.inner().clone()
}

/// What "Reset to defaults" did.
#[derive(Debug, Serialize)]
pub struct ResetDone {
    /// Where the user's file was kept.
    pub backup: Option<PathBuf>,
}

/// Replaces settings.json with the defaults, keeping the user's file beside
/// it; the window then restarts the app.
#[tauri::command]
pub fn reset_settings(
    problem: State<'_, Option<StartupProblem>>,
) -> Result<ResetDone, CommandError> {
    let home = problem
        .inner()
        .as_ref()
        .filter(|p| p.can_reset)
        .and_then(|p| p.home.as_ref())
        .ok_or_else(|| CommandError::new("there are no settings to reset"))?;
    let backup = Settings::reset_to_defaults(home).map_err(EngineError::from)?;
    Ok(ResetDone { backup })
}

/// Starts the app again, e.g. once the file is fixed.
#[tauri::command]
pub fn restart<R: Runtime>(app: AppHandle<R>) {
    app.restart();
}
