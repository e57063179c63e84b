//! User settings and the one folder ClawRouter keeps its files in.
//!
//! Settings are a small JSON file that both the tray app and the CLI edit, so
//! saving must never leave a half-written file behind (a crash mid-save would
//! otherwise lose the user's port and budgets): [`Settings::save`] validates,
//! writes a 0600 temp file next to the target, fsyncs and renames it over.
//! Secrets never live here; they are in the OS keychain ([`crate::credentials`]).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::catalog::Geography;

mod home;
mod validate;

pub use home::Home;

/// User-editable settings, stored as pretty JSON in [`Home::settings_path`].
///
/// Every field has a default (`#[serde(default)]`), so a partial file loads;
/// unknown fields are ignored so an older build can read a newer file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct Settings {
    /// Loopback port the proxy listens on.
    pub port: u16,
    /// AWS region for Bedrock; see [`Settings::effective_region`] for fallbacks.
    pub region: Option<String>,
    /// Which inference-profile geography to prefer (`us.`, `eu.`, ...).
    pub geography: Option<Geography>,
    /// Use this named profile from the standard AWS credential chain.
    pub aws_profile: Option<String>,
    pub start_proxy_on_launch: bool,
    pub start_on_login: bool,
    /// Prefix replies' model names with the routed tier, e.g. `[mid] ...`.
    pub show_tier_prefix: bool,
    /// Add prompt cache points for Chat Completions and Responses clients,
    /// which cannot ask for caching themselves (on by default: a repeated
    /// prefix is then billed at the cache-read price).
    pub auto_cache: bool,
    pub budgets: Budgets,
    /// Browser origins allowed to call the proxy (CORS), exact `scheme://host[:port]`.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// One deadline per request, every fallback attempt included.
    pub upstream_timeout_secs: u64,
    /// A streaming attempt's limit to its first event (then the next candidate).
    pub first_byte_timeout_secs: u64,
    pub stream_idle_timeout_secs: u64,
    /// A client must send a whole request head within this, and a new
    /// connection its first request; otherwise the connection is closed.
    pub client_timeout_secs: u64,
}

/// Spending limits in US dollars; `None` means no limit.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct Budgets {
    pub daily_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
}

/// One invalid field: `field` is a JSON-ish path like `budgets.daily_usd`.
#[derive(Serialize, Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot find a folder for ClawRouter's files on this system; set CLAWROUTER_HOME")]
    NoHome,
    #[error("{}: cannot read settings: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}:{line}:{column}: invalid settings JSON: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}invalid settings: {}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default(), join(errors))]
    Invalid {
        path: Option<PathBuf>,
        errors: Vec<FieldError>,
    },
    #[error("{}: cannot save settings: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

pub const DEFAULT_PORT: u16 = 4242;
pub const DEFAULT_MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            port: DEFAULT_PORT,
            region: None,
            geography: None,
            aws_profile: None,
            start_proxy_on_launch: true,
            start_on_login: false,
            show_tier_prefix: false,
            auto_cache: true,
            budgets: Budgets::default(),
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            upstream_timeout_secs: 300,
            first_byte_timeout_secs: 60,
            stream_idle_timeout_secs: 60,
            client_timeout_secs: 10,
        }
    }
}

impl Settings {
    /// Reads `settings.json`; a missing file means defaults. A file that does
    /// not parse or validate is an error naming the file, not silently reset.
    pub fn load(home: &Home) -> Result<Settings, SettingsError> {
        let path = home.settings_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => return Err(SettingsError::Read { path, source }),
        };
        let settings: Settings = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                return Err(SettingsError::Parse {
                    line: e.line(),
                    column: e.column(),
                    message: e.to_string(),
                    path,
                });
            }
        };
        settings
            .validate()
            .map_err(|errors| SettingsError::Invalid {
                path: Some(path),
                errors,
            })?;
        Ok(settings)
    }

    /// Validates, then replaces `settings.json` atomically (0600 from creation on unix).
    pub fn save(&self, home: &Home) -> Result<(), SettingsError> {
        self.validate()
            .map_err(|errors| SettingsError::Invalid { path: None, errors })?;
        let path = home.settings_path();
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| SettingsError::Write {
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        json.push(b'\n');
        write_atomically(&path, &json).map_err(|source| SettingsError::Write { path, source })
    }

    /// Puts the defaults in place of `settings.json` (one that does not load,
    /// say), keeping the user's file beside it as `settings.json.bak-<unix
    /// time>`: nothing the user wrote is lost. Returns that backup's path, or
    /// `None` when there was no file.
    pub fn reset_to_defaults(home: &Home) -> Result<Option<PathBuf>, SettingsError> {
        let path = home.settings_path();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        // A second reset in the same second must not replace the first backup.
        let backup = (0..)
            .map(|n| match n {
                0 => path.with_file_name(format!("{name}.bak-{stamp}")),
                n => path.with_file_name(format!("{name}.bak-{stamp}-{n}")),
            })
            .find(|candidate| !candidate.exists())
            .unwrap_or_else(|| path.with_file_name(format!("{name}.bak")));
        let moved = match fs::rename(&path, &backup) {
            Ok(()) => Some(backup),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(SettingsError::Write { path, source }),
        };
        Settings::default().save(home)?;
        Ok(moved)
    }

    /// The region to call Bedrock in: settings, then `AWS_REGION`, then
    /// `AWS_REGION_NAME` (the seed project's variable), then `AWS_DEFAULT_REGION`.
    pub fn effective_region(&self) -> Option<String> {
        self.region_with_env(&|name| std::env::var(name).ok())
    }

    /// [`Settings::effective_region`], else Bedrock's default region (what
    /// the SDK calls when nothing names one).
    pub fn region_or_default(&self) -> String {
        self.effective_region()
            .unwrap_or_else(|| crate::bedrock::DEFAULT_REGION.to_owned())
    }

    fn region_with_env(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        self.region.clone().or_else(|| {
            ["AWS_REGION", "AWS_REGION_NAME", "AWS_DEFAULT_REGION"]
                .into_iter()
                .filter_map(env)
                .find(|r| !r.is_empty())
        })
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Temp file in the same folder (so rename is atomic), 0600 from creation,
/// fsynced, renamed over `path`; the folder is made 0700.
/// Also writes the client key file when there is no keychain.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("the path has no folder"))?;
    crate::private_files::create_dir(dir)?;

    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);

    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // Make the rename itself durable.
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        (dir, home)
    }

    #[test]
    fn missing_file_loads_defaults() {
        let (_dir, home) = home();
        let s = Settings::load(&home).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.port, 4242);
        assert!(s.start_proxy_on_launch);
        assert_eq!(s.max_body_bytes, 20 * 1024 * 1024);
    }

    #[test]
    fn reset_keeps_the_broken_file_as_a_backup_and_loads_defaults() {
        let (_dir, home) = home();
        let broken = "{ \"port\": 4242,\n  \"budgets\": { oops } }\n";
        Settings::default().save(&home).unwrap();
        fs::write(home.settings_path(), broken).unwrap();
        assert!(matches!(
            Settings::load(&home),
            Err(SettingsError::Parse { line: 2, .. })
        ));

        let backup = Settings::reset_to_defaults(&home).unwrap().unwrap();
        assert_eq!(fs::read_to_string(&backup).unwrap(), broken);
        assert_eq!(backup.parent(), home.settings_path().parent());
        assert_eq!(Settings::load(&home).unwrap(), Settings::default());

        // A second reset keeps both backups.
        fs::write(home.settings_path(), "not json").unwrap();
        let second = Settings::reset_to_defaults(&home).unwrap().unwrap();
        assert_ne!(second, backup);
        assert_eq!(fs::read_to_string(&backup).unwrap(), broken);
        assert_eq!(fs::read_to_string(&second).unwrap(), "not json");
    }

    #[test]
    fn reset_without_a_file_just_writes_defaults() {
        let (_dir, home) = home();
        assert_eq!(Settings::reset_to_defaults(&home).unwrap(), None);
        assert_eq!(Settings::load(&home).unwrap(), Settings::default());
    }

    #[test]
    fn round_trip() {
        let (_dir, home) = home();
        let s = Settings {
            port: 5151,
            region: Some("eu-central-1".into()),
            geography: Some(Geography::Eu),
            aws_profile: Some("work".into()),
            start_on_login: true,
            show_tier_prefix: true,
            budgets: Budgets {
                daily_usd: Some(2.5),
                monthly_usd: Some(40.0),
            },
            allowed_origins: vec!["http://localhost:3000".into()],
            ..Settings::default()
        };
        s.save(&home).unwrap();
        assert_eq!(Settings::load(&home).unwrap(), s);
        let text = fs::read_to_string(home.settings_path()).unwrap();
        assert!(text.contains("\n  \"port\": 5151"), "pretty JSON: {text}");
        assert!(text.contains("\"geography\": \"eu\""));
    }

    #[test]
    fn partial_file_fills_defaults() {
        let (_dir, home) = home();
        fs::create_dir_all(home.settings_path().parent().unwrap()).unwrap();
        fs::write(
            home.settings_path(),
            r#"{"port": 9000, "budgets": {"daily_usd": 3}}"#,
        )
        .unwrap();
        let s = Settings::load(&home).unwrap();
        assert_eq!(s.port, 9000);
        assert_eq!(s.budgets.daily_usd, Some(3.0));
        assert_eq!(s.budgets.monthly_usd, None);
        assert_eq!(s.upstream_timeout_secs, 300);
        assert!(s.start_proxy_on_launch);
    }

    #[test]
    fn invalid_json_names_file_line_and_column() {
        let (_dir, home) = home();
        fs::create_dir_all(home.settings_path().parent().unwrap()).unwrap();
        fs::write(
            home.settings_path(),
            "{\n  \"port\": 80,\n  \"region\" \"x\"\n}",
        )
        .unwrap();
        let err = Settings::load(&home).unwrap_err();
        let SettingsError::Parse { line, column, .. } = &err else {
            panic!("expected a parse error, got {err:?}");
        };
        assert_eq!((*line, *column), (3, 12));
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("{}:3:12: ", home.settings_path().display())),
            "{text}"
        );
    }

    #[test]
    fn invalid_values_on_disk_are_reported_with_the_file() {
        let (_dir, home) = home();
        fs::create_dir_all(home.settings_path().parent().unwrap()).unwrap();
        fs::write(home.settings_path(), r#"{"port": 0}"#).unwrap();
        let text = Settings::load(&home).unwrap_err().to_string();
        assert!(
            text.contains("settings.json: invalid settings: port:"),
            "{text}"
        );
    }

    #[test]
    fn failed_validation_leaves_old_file_untouched() {
        let (_dir, home) = home();
        Settings::default().save(&home).unwrap();
        let before = fs::read(home.settings_path()).unwrap();
        let bad = Settings {
            port: 0,
            ..Settings::default()
        };
        let err = bad.save(&home).unwrap_err();
        assert!(matches!(err, SettingsError::Invalid { .. }), "{err:?}");
        assert_eq!(fs::read(home.settings_path()).unwrap(), before);
        let entries: Vec<_> = fs::read_dir(home.settings_path().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["settings.json"], "no temp files left behind");
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, home) = home();
        let path = home.settings_path();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        Settings::default().save(&home).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn region_falls_back_through_env_in_order() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = Settings::default();
        assert_eq!(s.region_with_env(&env(&[])), None);
        let all = env(&[
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION_NAME", "us-west-2"),
            ("AWS_REGION", ""),
        ]);
        assert_eq!(s.region_with_env(&all).as_deref(), Some("us-west-2"));
        let only_default = env(&[("AWS_DEFAULT_REGION", "eu-west-1")]);
        assert_eq!(
            s.region_with_env(&only_default).as_deref(),
            Some("eu-west-1")
        );
        let first = env(&[
            ("AWS_REGION", "ap-south-1"),
            ("AWS_REGION_NAME", "us-west-2"),
        ]);
        assert_eq!(s.region_with_env(&first).as_deref(), Some("ap-south-1"));
        let configured = Settings {
            region: Some("us-east-1".into()),
            ..Settings::default()
        };
        assert_eq!(
            configured.region_with_env(&first).as_deref(),
            Some("us-east-1")
        );
    }
}
