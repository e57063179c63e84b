//! The shell's state: the engine pieces the tray and window share. It holds
//! no logic of its own beyond keeping them together and rebuilding the
//! catalog and router when settings change.

use std::sync::{Arc, PoisonError, RwLock};

use clawrouter::catalog::{Catalog, CatalogError};
use clawrouter::credentials::{LocalStore, SecretStore};
use clawrouter::ledger::Ledger;
use clawrouter::router::{Router, RouterError};
use clawrouter::server::{ProxyStatus, Supervisor};
use clawrouter::settings::{Home, Settings, SettingsError};

/// Managed Tauri state (one per app).
pub struct Shell {
    pub home: Home,
    pub store: Arc<dyn SecretStore>,
    pub supervisor: Supervisor,
    /// The usage ledger in the home folder, or why it could not be opened
    /// (the dashboard says so; the proxy works without it).
    pub ledger: Result<Ledger, String>,
    settings: RwLock<Settings>,
    engine: RwLock<Engine>,
}

/// The catalog (with the settings' geography applied) and a router over it,
/// rebuilt together when settings are saved.
#[derive(Clone)]
pub struct Engine {
    pub catalog: Arc<Catalog>,
    pub router: Arc<Router>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Router(#[from] RouterError),
}

impl Shell {
    /// The user's home folder (`CLAWROUTER_HOME` or the platform's), its
    /// settings, and the OS keychain (with the client key in a private file
    /// while none is usable). `CLAWROUTER_KEYCHAIN_SERVICE` names another
    /// keychain service, so `make demo` never reads or writes the user's
    /// real keys.
    pub fn from_env() -> Result<Shell, ShellError> {
        let home = Home::from_env()?;
        let settings = Settings::load(&home)?;
        let store = Arc::new(LocalStore::for_home(&home));
        Shell::new(home, settings, store)
    }

    pub fn new(
        home: Home,
        settings: Settings,
        store: Arc<dyn SecretStore>,
    ) -> Result<Shell, ShellError> {
        let engine = Engine::load(&home, &settings)?;
        let ledger = Ledger::open(&home.ledger_path()).map_err(|e| e.to_string());
        // The proxy records into the same handle the dashboard reads.
        let supervisor = match &ledger {
            Ok(ledger) => Supervisor::sharing(ledger.clone()),
            Err(_) => Supervisor::new(),
        };
        Ok(Shell {
            home,
            store,
            supervisor,
            ledger,
            settings: RwLock::new(settings),
            engine: RwLock::new(engine),
        })
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn engine(&self) -> Engine {
        self.engine
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Saves (validated, atomically) and switches to the new settings.
    pub fn save_settings(&self, settings: Settings) -> Result<(), ShellError> {
        settings.save(&self.home)?;
        let engine = Engine::load(&self.home, &settings)?;
        *self.engine.write().unwrap_or_else(PoisonError::into_inner) = engine;
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings;
        Ok(())
    }

    /// Starts the proxy with the current settings; see [`Supervisor::start`].
    pub async fn start_proxy(&self) -> ProxyStatus {
        let catalog = Catalog::clone(&self.engine().catalog);
        self.supervisor
            .start(catalog, &self.settings(), &self.home, self.store.clone())
            .await
    }
}

impl Engine {
    /// `models.yaml` in the home folder if the user put one there, else the
    /// built-in catalog; moved to the settings' geography.
    fn load(home: &Home, settings: &Settings) -> Result<Engine, ShellError> {
        let catalog = match home.catalog_override() {
            Some(path) => Catalog::load(&path)?,
            None => Catalog::builtin()?,
        };
        let catalog = match settings.geography {
            Some(geo) => catalog.with_geography(geo),
            None => catalog,
        };
        let router = Router::new(&catalog)?;
        Ok(Engine {
            catalog: Arc::new(catalog),
            router: Arc::new(router),
        })
    }
}
