//! ClawRouter's desktop shell: a tray icon, one window (dashboard and
//! settings), and commands that call the engine (`clawrouter`). All logic
//! lives in the engine; this crate wires it to Tauri.
//!
//! [`builder`] registers the state and commands on any runtime, so the
//! commands are tested with Tauri's mock runtime; [`run`] adds what needs a
//! real desktop (tray, window, plugins) and runs the app.

mod clipboard;
pub mod commands;
pub mod startup;
mod tray;
mod window;

use clawrouter::engine::Engine;
use tauri::{Builder, Emitter, Manager, RunEvent, Runtime, WindowEvent};

/// The window event carrying each [`clawrouter::engine::EngineEvent`].
pub const ENGINE_EVENT: &str = "engine";

/// State and commands, for the real app and the mock-runtime tests.
pub fn builder<R: Runtime>(builder: Builder<R>, engine: Engine) -> Builder<R> {
    use commands::{dashboard, proxy, settings};
    builder
        .manage(engine)
        // The app started: no startup problem to show.
        .manage(None::<startup::StartupProblem>)
        .invoke_handler(tauri::generate_handler![
            startup::startup_problem,
            proxy::proxy_status,
            proxy::start_proxy,
            proxy::stop_proxy,
            proxy::client_setup,
            proxy::copy_text,
            settings::load_settings,
            settings::validate_settings,
            settings::save_settings,
            settings::save_aws_keys,
            settings::delete_aws_keys,
            settings::test_connection,
            dashboard::dashboard,
            dashboard::route_preview,
            dashboard::refresh_models,
            dashboard::usage,
        ])
}

/// Runs the desktop app until Quit. `--minimized` (the login item) starts
/// in the tray without showing the window.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let engine = match Engine::from_env() {
        Ok(engine) => engine,
        Err(e) => {
            tracing::error!("cannot start ClawRouter: {e}");
            let home = clawrouter::settings::Home::from_env().ok();
            return run_with_problem(startup::StartupProblem::new(&e, home));
        }
    };
    let minimized = std::env::args().any(|a| a == "--minimized");
    let app = builder(Builder::default(), engine)
        // First, so a second launch hands over before doing anything else.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            window::show(app, None);
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec!["--minimized"]),
        ))
        .plugin(tauri_plugin_clipboard_manager::init())
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                if let Err(e) = window.hide() {
                    tracing::warn!("cannot hide the window: {e}");
                }
            }
        })
        .setup(move |app| Ok(setup(app.handle(), minimized)?))
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start the desktop app: {e}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| match event {
        // No window left is not a reason to quit: the tray stays. Quit
        // (`app.exit(0)`) carries a code.
        RunEvent::ExitRequested {
            api, code: None, ..
        } => api.prevent_exit(),
        RunEvent::Exit => {
            tauri::async_runtime::block_on(app.state::<Engine>().supervisor.stop());
        }
        _ => {}
    });
}

/// The window alone, showing why the engine could not start and how to fix
/// it; no tray, no proxy.
fn run_with_problem(problem: startup::StartupProblem) {
    let app = startup::builder(Builder::default(), problem)
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            window::show(app, None);
        }))
        .plugin(tauri_plugin_clipboard_manager::init())
        .setup(|app| {
            window::create(app.handle(), true)?;
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            tracing::error!("cannot start the desktop app: {e}");
            std::process::exit(1);
        }
    }
}

fn setup<R: Runtime>(app: &tauri::AppHandle<R>, minimized: bool) -> tauri::Result<()> {
    let tray = tray::build(app)?;
    window::create(app, !minimized)?;
    // One watcher keeps the tray and the window in step with the proxy.
    let engine = app.state::<Engine>();
    let mut changes = engine.supervisor.subscribe();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let status = changes.borrow_and_update().clone();
            if let Err(e) = tray.show(&status) {
                tracing::warn!("cannot update the tray: {e}");
            }
            if let Err(e) = handle.emit("proxy-status", &status) {
                tracing::warn!("cannot tell the window the proxy status: {e}");
            }
            if changes.changed().await.is_err() {
                break;
            }
        }
    });
    // What happens in the engine (ledger rows, budget warnings, health and
    // availability changes), pushed to the window as it happens: the
    // dashboard re-renders on these instead of polling.
    let mut events = engine.events();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Err(e) = handle.emit(ENGINE_EVENT, &event) {
                tracing::warn!("cannot tell the window what the engine did: {e}");
            }
        }
    });
    if engine.settings().start_proxy_on_launch {
        let handle = app.clone();
        tauri::async_runtime::spawn(async move {
            handle.state::<Engine>().start_proxy().await;
        });
    }
    Ok(())
}
