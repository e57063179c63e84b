//! The engine as its hosts see it: the CLI and the desktop shell each hold
//! one [`Engine`] and do no wiring of their own. It loads the settings, the
//! catalog (with the settings' geography), the keychain and the ledger;
//! starts and stops the server ([`Supervisor`]); and answers status,
//! endpoint, tier views ([`Lineup`]) and `check`. What happens in it is
//! pushed, not polled: proxy status changes on [`Engine::subscribe_status`];
//! ledger rows, budget warnings, health and availability changes on
//! [`Engine::events`].

mod events;
mod setup;
mod supervisor;
mod tiers;

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::watch;

pub use events::{EngineEvent, EngineEvents};
pub use setup::{CheckReport, ModelCheck, StartError, assemble, aws_sdk_config, check};
pub use supervisor::{ProxyStatus, Supervisor};
pub use tiers::{TierCandidate, TierFallback, TierView, tier_views};

use crate::catalog::{Catalog, CatalogError, ModelAvailability};
use crate::credentials::{CredentialsError, LocalStore, SecretStore};
use crate::discovery::{self, Discovery, DiscoveryError};
use crate::ledger::Ledger;
use crate::router::{Router, RouterError};
use crate::settings::{Home, Settings, SettingsError};

/// One engine per host process.
pub struct Engine {
    pub home: Home,
    pub store: Arc<dyn SecretStore>,
    pub supervisor: Supervisor,
    /// The usage ledger in the home folder, or why it could not be opened
    /// (the dashboard says so; the proxy works without it).
    pub ledger: Result<Ledger, String>,
    /// A catalog file named by the host (`--config`), instead of the home's.
    catalog_file: Option<PathBuf>,
    settings: RwLock<Settings>,
    lineup: RwLock<Lineup>,
}

/// The catalog (with the settings' geography applied) and a router over it,
/// rebuilt together when settings are saved.
#[derive(Clone)]
pub struct Lineup {
    pub catalog: Arc<Catalog>,
    pub router: Arc<Router>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Router(#[from] RouterError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

impl Engine {
    /// The user's home folder (`CLAWROUTER_HOME` or the platform's), its
    /// settings, and the OS keychain ([`keychain`]).
    pub fn from_env() -> Result<Engine, EngineError> {
        Self::from_env_with_catalog(None)
    }

    /// As [`Engine::from_env`], with the catalog read from `catalog_file`
    /// when given.
    pub fn from_env_with_catalog(catalog_file: Option<PathBuf>) -> Result<Engine, EngineError> {
        let home = Home::from_env()?;
        let settings = Settings::load(&home)?;
        let store = keychain(&home);
        Self::build(home, settings, store, catalog_file)
    }

    pub fn new(
        home: Home,
        settings: Settings,
        store: Arc<dyn SecretStore>,
    ) -> Result<Engine, EngineError> {
        Self::build(home, settings, store, None)
    }

    fn build(
        home: Home,
        settings: Settings,
        store: Arc<dyn SecretStore>,
        catalog_file: Option<PathBuf>,
    ) -> Result<Engine, EngineError> {
        let lineup = Lineup::load(&home, &settings, catalog_file.clone())?;
        let ledger = Ledger::open(&home.ledger_path()).map_err(|e| e.to_string());
        // The proxy records into the same handle the hosts read.
        let supervisor = match &ledger {
            Ok(ledger) => Supervisor::sharing(ledger.clone()),
            Err(_) => Supervisor::new(),
        };
        Ok(Engine {
            home,
            store,
            supervisor,
            ledger,
            catalog_file,
            settings: RwLock::new(settings),
            lineup: RwLock::new(lineup),
        })
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn lineup(&self) -> Lineup {
        self.lineup
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Which models of the lineup can be called: the running proxy's view
    /// (lifecycle, discovery, access denials seen); while stopped, lifecycle
    /// and what Bedrock last said (the discovery cache).
    pub fn availability(&self) -> ModelAvailability {
        self.supervisor.availability().unwrap_or_else(|| {
            let known = cached_discovery(&self.home, &self.settings());
            availability(&self.lineup().catalog, known.as_ref())
        })
    }

    /// Asks Bedrock again which profiles this account can call here (free
    /// calls), caches the answer, and applies it: every model whose
    /// availability changes is told on [`Engine::events`].
    pub async fn refresh_availability(&self) -> Result<Discovery, EngineError> {
        let shown = self.supervisor.availability().unwrap_or_else(|| {
            // Stopped: what the window shows now, so only real changes are told.
            self.availability()
                .reporting_to(self.supervisor.availability_changes())
        });
        let fresh = refresh_discovery(&self.home, &self.settings(), self.store.clone()).await?;
        fresh.apply(&self.lineup().catalog, &shown);
        Ok(fresh)
    }

    /// Saves (validated, atomically) and switches to the new settings.
    pub fn save_settings(&self, settings: Settings) -> Result<(), EngineError> {
        settings.save(&self.home)?;
        let lineup = Lineup::load(&self.home, &settings, self.catalog_file.clone())?;
        *self.lineup.write().unwrap_or_else(PoisonError::into_inner) = lineup;
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings;
        Ok(())
    }

    /// Starts the proxy on the settings' port; see [`Supervisor::start`].
    pub async fn start_proxy(&self) -> ProxyStatus {
        self.start_proxy_on(self.settings().port).await
    }

    /// Starts the proxy on `port` (0: any free port).
    pub async fn start_proxy_on(&self, port: u16) -> ProxyStatus {
        let mut settings = self.settings();
        settings.port = port;
        // The proxy serves the lineup the engine shows: one catalog, one router.
        self.supervisor
            .start(self.lineup(), &settings, &self.home, self.store.clone())
            .await
    }

    /// Stops the proxy, draining in-flight requests.
    pub async fn stop_proxy(&self) -> ProxyStatus {
        self.supervisor.stop().await
    }

    /// Restarts a running proxy so it takes new settings or keys; says
    /// whether it did.
    pub async fn restart_if_running(&self) -> (ProxyStatus, bool) {
        if !matches!(self.status(), ProxyStatus::Running { .. }) {
            return (self.status(), false);
        }
        self.stop_proxy().await;
        (self.start_proxy().await, true)
    }

    pub fn status(&self) -> ProxyStatus {
        self.supervisor.status()
    }

    /// The base URL clients use: the running proxy's, else the configured port's.
    pub fn endpoint(&self) -> String {
        self.status()
            .endpoint()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", self.settings().port))
    }

    /// Every proxy status change from now on.
    pub fn subscribe_status(&self) -> watch::Receiver<ProxyStatus> {
        self.supervisor.subscribe()
    }

    /// Ledger rows committed, budget warnings, model health and
    /// availability changes, from now on.
    pub fn events(&self) -> EngineEvents {
        EngineEvents::new(
            self.ledger.as_ref().ok().map(Ledger::subscribe),
            self.supervisor.health().subscribe(),
            self.supervisor.subscribe_availability(),
        )
    }

    /// Checks credentials and probes every model; see [`check`].
    pub async fn check(&self, paid: bool) -> CheckReport {
        check(
            &self.lineup().catalog,
            &self.settings(),
            self.store.clone(),
            paid,
        )
        .await
    }
}

impl Lineup {
    /// The catalog the settings (or `catalog_file`) name, and its router.
    pub fn load(
        home: &Home,
        settings: &Settings,
        catalog_file: Option<PathBuf>,
    ) -> Result<Lineup, EngineError> {
        Ok(Lineup::new(load_catalog(home, settings, catalog_file)?)?)
    }

    /// `catalog` and the router over it. Building a router compiles its
    /// rules (several MB while it runs), so there is one per lineup.
    pub fn new(catalog: Catalog) -> Result<Lineup, RouterError> {
        let router = Router::new(&catalog)?;
        Ok(Lineup {
            catalog: Arc::new(catalog),
            router: Arc::new(router),
        })
    }
}

/// `catalog_file`, else `models.yaml` in the home folder if the user put
/// one there, else the built-in catalog; moved to the settings' geography.
pub fn load_catalog(
    home: &Home,
    settings: &Settings,
    catalog_file: Option<PathBuf>,
) -> Result<Catalog, CatalogError> {
    let catalog = match catalog_file.or_else(|| home.catalog_override()) {
        Some(path) => Catalog::load(&path)?,
        None => Catalog::builtin()?,
    };
    Ok(match settings.geography {
        Some(geo) => catalog.with_geography(geo),
        None => catalog,
    })
}

/// The OS keychain (the client key falls back to a private file in the
/// home folder when none is usable). `CLAWROUTER_KEYCHAIN_SERVICE` names
/// another entry set, so tests and `make demo` never touch a person's real
/// entries.
pub fn keychain(home: &Home) -> Arc<dyn SecretStore> {
    Arc::new(LocalStore::for_home(home))
}

/// The last discovery answer, if it was for the region in use.
pub fn cached_discovery(home: &Home, settings: &Settings) -> Option<Discovery> {
    let region = settings.region_or_default();
    discovery::load_cache(&home.discovery_cache_path()).filter(|k| k.region == region)
}

/// Which catalog models can be called, as `auto` sees them: lifecycle from
/// the catalog, plus what Bedrock said this account can call (`known`, a
/// discovery answer for the region in use).
pub fn availability(catalog: &Catalog, known: Option<&Discovery>) -> ModelAvailability {
    let availability = ModelAvailability::from_catalog(catalog);
    if let Some(known) = known {
        known.apply(catalog, &availability);
    }
    availability
}

/// Asks Bedrock's control plane which profiles this account can call in
/// the settings' region (free calls) and replaces the discovery cache.
pub async fn refresh_discovery(
    home: &Home,
    settings: &Settings,
    store: Arc<dyn SecretStore>,
) -> Result<Discovery, EngineError> {
    let sdk = aws_sdk_config(settings, store).await?;
    Ok(discovery::refresh(&sdk, &home.discovery_cache_path()).await?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::catalog::TokenUsage;
    use crate::credentials::MemoryStore;
    use crate::ledger::{LedgerEvent, RequestRow};

    #[tokio::test]
    async fn ledger_rows_are_pushed_to_subscribers() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::new(
            Home::at(dir.path()),
            Settings::default(),
            Arc::new(MemoryStore::default()),
        )
        .unwrap();
        let mut events = engine.events();
        let model = engine.lineup().catalog.models()[0].clone();
        let row = RequestRow {
            at_ms: 1,
            client: "test".into(),
            route: "/v1/chat/completions".into(),
            requested_model: model.name.clone(),
            tier: None,
            category: None,
            model: model.name.clone(),
            profile_id: model.profile_id.clone(),
            usage: TokenUsage::default(),
            cost_usd: Some(crate::money::Usd::ZERO),
            top_tier_cost_usd: crate::money::Usd::ZERO,
            cache_saved_usd: crate::money::Usd::ZERO,
            latency_ms: 1,
            ttft_ms: None,
            status: 200,
            error_kind: None,
            reason: None,
        };
        engine.ledger.as_ref().unwrap().record(row);
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an event within 10 s");
        assert_eq!(event, Some(EngineEvent::Usage(LedgerEvent::Changed)));
    }

    #[tokio::test]
    async fn endpoint_follows_the_running_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            region: Some("us-east-1".into()),
            ..Settings::default()
        };
        let engine = Engine::new(
            Home::at(dir.path()),
            settings,
            Arc::new(MemoryStore::default()),
        )
        .unwrap();
        let ProxyStatus::Running { port, .. } = engine.start_proxy_on(0).await else {
            panic!("not running: {:?}", engine.status());
        };
        assert_eq!(engine.endpoint(), format!("http://127.0.0.1:{port}"));
        assert_eq!(engine.stop_proxy().await, ProxyStatus::Stopped);
        assert_eq!(
            engine.endpoint(),
            format!("http://127.0.0.1:{}", engine.settings().port)
        );
    }
}
