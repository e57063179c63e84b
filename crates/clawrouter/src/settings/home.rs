//! The one folder (or config/data pair) ClawRouter keeps its files in.

use std::path::PathBuf;

use super::SettingsError;

/// Where ClawRouter keeps its files.
///
/// `CLAWROUTER_HOME`, when set, holds everything. Otherwise the platform's
/// conventional folders are used (`directories::ProjectDirs` for
/// `dev.ClawRouter.clawrouter`): the *config* dir for `settings.json` and a
/// `models.yaml` override (e.g. `~/.config/clawrouter` on Linux), the *data*
/// dir for the ledger and logs (e.g. `~/.local/share/clawrouter`), because
/// those grow and users back up config differently from data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    config_dir: PathBuf,
    data_dir: PathBuf,
}

impl Home {
    /// `CLAWROUTER_HOME` if set and non-empty, else the platform folders.
    pub fn from_env() -> Result<Home, SettingsError> {
        match std::env::var_os("CLAWROUTER_HOME") {
            Some(dir) if !dir.is_empty() => Ok(Home::at(dir)),
            _ => {
                let dirs = directories::ProjectDirs::from("dev", "ClawRouter", "clawrouter")
                    .ok_or(SettingsError::NoHome)?;
                Ok(Home {
                    config_dir: dirs.config_dir().to_path_buf(),
                    data_dir: dirs.data_dir().to_path_buf(),
                })
            }
        }
    }

    /// Everything in one folder (tests, portable installs, `CLAWROUTER_HOME`).
    pub fn at(path: impl Into<PathBuf>) -> Home {
        let dir = path.into();
        Home {
            config_dir: dir.clone(),
            data_dir: dir,
        }
    }

    pub fn settings_path(&self) -> PathBuf {
        self.config_dir.join("settings.json")
    }

    /// The SQLite spend/usage ledger.
    pub fn ledger_path(&self) -> PathBuf {
        self.data_dir.join("ledger.sqlite3")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    /// What Bedrock's control plane last said this account can call.
    pub fn discovery_cache_path(&self) -> PathBuf {
        crate::discovery::cache_path(&self.data_dir)
    }

    /// `<config dir>/models.yaml` when the user has put one there.
    pub fn catalog_override(&self) -> Option<PathBuf> {
        let path = self.config_dir.join("models.yaml");
        path.is_file().then_some(path)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn home_layout() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        assert_eq!(home.settings_path(), dir.path().join("settings.json"));
        assert_eq!(home.ledger_path(), dir.path().join("ledger.sqlite3"));
        assert_eq!(home.logs_dir(), dir.path().join("logs"));
        assert_eq!(home.catalog_override(), None);
        fs::write(dir.path().join("models.yaml"), "models: []").unwrap();
        assert_eq!(
            home.catalog_override(),
            Some(dir.path().join("models.yaml"))
        );
    }
}
