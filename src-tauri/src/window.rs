//! The one window (dashboard and settings are views in it). Closing it
//! hides it; the tray, a second launch, or the login item bring it back.

use serde::Serialize;
use tauri::{
    AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindow, WebviewWindowBuilder,
};

pub const MAIN: &str = "main";

/// Which view to open; sent to the window as the `navigate` event.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    Dashboard,
    Settings,
}

pub fn create<R: Runtime>(app: &AppHandle<R>, visible: bool) -> tauri::Result<WebviewWindow<R>> {
    WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("ClawRouter")
        .inner_size(1180.0, 820.0)
        .min_inner_size(760.0, 520.0)
        .visible(visible)
        .build()
}

/// Shows and focuses the window (creating it if it was never made), and
/// switches to `view` if given.
pub fn show<R: Runtime>(app: &AppHandle<R>, view: Option<View>) {
    let window = match app.get_webview_window(MAIN) {
        Some(w) => w,
        None => match create(app, true) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!("cannot open the window: {e}");
                return;
            }
        },
    };
    let shown = window
        .show()
        .and_then(|()| window.unminimize())
        .and_then(|()| window.set_focus());
    if let Err(e) = shown {
        tracing::warn!("cannot show the window: {e}");
    }
    if let Some(view) = view
        && let Err(e) = app.emit_to(MAIN, "navigate", view)
    {
        tracing::warn!("cannot switch view: {e}");
    }
}
