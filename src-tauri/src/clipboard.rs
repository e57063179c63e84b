//! The system clipboard, for the tray's and the window's "Copy" actions.

use tauri::{Manager, Runtime};
use tauri_plugin_clipboard_manager::Clipboard;

use crate::commands::CommandError;

/// Fails (instead of panicking) when the clipboard plugin is not loaded,
/// as in the mock-runtime tests.
pub fn write<R: Runtime, M: Manager<R>>(app: &M, text: String) -> Result<(), CommandError> {
    let clipboard = app
        .try_state::<Clipboard<R>>()
        .ok_or_else(|| CommandError::new("the clipboard is not available"))?;
    clipboard
        .write_text(text)
        .map_err(|e| CommandError::new(format!("cannot copy to the clipboard: {e}")))
}
