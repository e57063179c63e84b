//! The tray icon and its menu. Linux trays deliver no click events, so
//! everything is in the menu; the icon's colour and the first (disabled)
//! item say whether the proxy is running, stopped or failed.

use clawrouter::credentials;
use clawrouter::engine::{Engine, ProxyStatus};
use secrecy::ExposeSecret;
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

use crate::window::{self, View};

const ICON_RUNNING: &[u8] = include_bytes!("../icons/tray-running.png");
const ICON_STOPPED: &[u8] = include_bytes!("../icons/tray-stopped.png");
const ICON_ERROR: &[u8] = include_bytes!("../icons/tray-error.png");

/// The parts of the tray that change with the proxy's status.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    status: MenuItem<R>,
    start: MenuItem<R>,
    stop: MenuItem<R>,
}

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Tray<R>> {
    let item = |id: &str, text: &str, enabled: bool| {
        MenuItem::with_id(app, id, text, enabled, None::<&str>)
    };
    let status = item("status", "Stopped", false)?;
    let start = item("start", "Start proxy", true)?;
    let stop = item("stop", "Stop proxy", false)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &start,
            &stop,
            &PredefinedMenuItem::separator(app)?,
            &item("dashboard", "Open dashboard", true)?,
            &item("settings", "Settings…", true)?,
            &PredefinedMenuItem::separator(app)?,
            &item("copy-endpoint", "Copy endpoint", true)?,
            &item("copy-key", "Copy API key", true)?,
            &PredefinedMenuItem::separator(app)?,
            &item("quit", "Quit ClawRouter", true)?,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("clawrouter")
        .icon(Image::from_bytes(ICON_STOPPED)?)
        .tooltip("ClawRouter: Stopped")
        .menu(&menu)
        .on_menu_event(on_menu_event)
        .build(app)?;
    Ok(Tray {
        icon,
        status,
        start,
        stop,
    })
}

impl<R: Runtime> Tray<R> {
    pub fn show(&self, status: &ProxyStatus) -> tauri::Result<()> {
        let (icon, running, busy) = match status {
            ProxyStatus::Running { .. } => (ICON_RUNNING, true, false),
            ProxyStatus::Starting { .. } => (ICON_STOPPED, false, true),
            ProxyStatus::Stopped => (ICON_STOPPED, false, false),
            ProxyStatus::Error { .. } => (ICON_ERROR, false, false),
        };
        let summary = status.summary();
        self.status.set_text(&summary)?;
        self.start.set_enabled(!running && !busy)?;
        self.stop.set_enabled(running)?;
        self.icon.set_icon(Some(Image::from_bytes(icon)?))?;
        self.icon
            .set_tooltip(Some(format!("ClawRouter: {summary}")))?;
        Ok(())
    }
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let app = app.clone();
    match event.id().as_ref() {
        "start" => {
            tauri::async_runtime::spawn(async move {
                app.state::<Engine>().start_proxy().await;
            });
        }
        "stop" => {
            tauri::async_runtime::spawn(async move {
                app.state::<Engine>().stop_proxy().await;
            });
        }
        "dashboard" => window::show(&app, Some(View::Dashboard)),
        "settings" => window::show(&app, Some(View::Settings)),
        "copy-endpoint" => {
            let endpoint = app.state::<Engine>().endpoint();
            copy(&app, endpoint);
        }
        "copy-key" => {
            tauri::async_runtime::spawn_blocking(move || {
                let store = app.state::<Engine>().store.clone();
                match credentials::client_api_key(store.as_ref()) {
                    Ok((key, _)) => copy(&app, key.expose_secret().to_owned()),
                    Err(e) => tracing::warn!("cannot copy the API key: {e}"),
                }
            });
        }
        "quit" => app.exit(0),
        _ => {}
    }
}

fn copy<R: Runtime>(app: &AppHandle<R>, text: String) {
    if let Err(e) = crate::clipboard::write(app, text) {
        tracing::warn!("{}", e.message);
    }
}
