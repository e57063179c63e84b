//! Start, stop and watch the proxy from a long-lived host (the desktop
//! shell): one place that owns the running server, says what state it is in
//! — and on which port, after fallback — and keeps model health and the
//! count of refused requests across restarts so the dashboard does not go blank when the user toggles it.
//! Built with [`Supervisor::sharing`], every proxy it starts records into
//! the host's own ledger handle, so the host's reports and budget totals are
//! the ones the proxy updates (one writer per ledger file).
//!
//! The status is a [`watch`] channel: the tray, the window and a test all
//! read the same value, and a state is reported only once it is true (a port
//! is "running" only after the bind succeeded).

use std::sync::{Arc, PoisonError};

use serde::Serialize;
use tokio::sync::{Mutex, broadcast, watch};

use super::Lineup;
use super::setup::{StartError, assemble};
use crate::catalog::{AvailabilityChange, ModelAvailability};
use crate::credentials::SecretStore;
use crate::health::Health;
use crate::ledger::Ledger;
use crate::server::{RejectionCounts, Rejections};
use crate::server::{RunningProxy, start};
use crate::settings::{Home, Settings};

/// Owns at most one running proxy. Share it behind an `Arc` or in app state.
pub struct Supervisor {
    running: Mutex<Option<RunningProxy>>,
    health: Arc<Health>,
    rejections: Arc<Rejections>,
    ledger: Option<Ledger>,
    status: watch::Sender<ProxyStatus>,
    /// What the running proxy may call (discovery and access denials update it).
    availability: std::sync::Mutex<Option<ModelAvailability>>,
    /// Where every proxy's availability changes are told, across restarts.
    availability_changes: broadcast::Sender<AvailabilityChange>,
}

/// Availability changes a slow subscriber may fall behind by.
const AVAILABILITY_CAPACITY: usize = 64;

/// What the proxy is doing, as the tray and dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ProxyStatus {
    Stopped,
    Starting {
        requested_port: u16,
    },
    /// Listening on 127.0.0.1:`port`; `port` differs from `requested_port`
    /// when that one was taken.
    Running {
        port: u16,
        requested_port: u16,
    },
    /// The last start failed; `message` says why in plain words.
    Error {
        message: String,
    },
}

impl ProxyStatus {
    /// One line for a tray menu: `Running on 127.0.0.1:4242`, `Stopped`, `Error: …`.
    pub fn summary(&self) -> String {
        match self {
            ProxyStatus::Stopped => "Stopped".to_owned(),
            ProxyStatus::Starting { requested_port } => {
                format!("Starting on 127.0.0.1:{requested_port}…")
            }
            ProxyStatus::Running {
                port,
                requested_port,
            } if port != requested_port => {
                format!("Running on 127.0.0.1:{port} ({requested_port} was taken)")
            }
            ProxyStatus::Running { port, .. } => format!("Running on 127.0.0.1:{port}"),
            ProxyStatus::Error { message } => format!("Error: {message}"),
        }
    }

    /// The base URL clients use, while running.
    pub fn endpoint(&self) -> Option<String> {
        match self {
            ProxyStatus::Running { port, .. } => Some(format!("http://127.0.0.1:{port}")),
            _ => None,
        }
    }
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Self {
            running: Mutex::new(None),
            health: Arc::new(Health::new()),
            rejections: Arc::default(),
            ledger: None,
            status: watch::channel(ProxyStatus::Stopped).0,
            availability: std::sync::Mutex::new(None),
            availability_changes: broadcast::channel(AVAILABILITY_CAPACITY).0,
        }
    }

    /// A supervisor whose proxies record usage into `ledger`.
    pub fn sharing(ledger: Ledger) -> Self {
        Self {
            ledger: Some(ledger),
            ..Self::new()
        }
    }

    /// Assembles the engine from `catalog`, `settings`, `home` and `store` and
    /// serves on `settings.port` (or the next free port). Already running:
    /// returns the current status unchanged. Failures become
    /// [`ProxyStatus::Error`], never a panic or a silent "running".
    pub async fn start(
        &self,
        lineup: Lineup,
        settings: &Settings,
        home: &Home,
        store: Arc<dyn SecretStore>,
    ) -> ProxyStatus {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return self.status();
        }
        let requested_port = settings.port;
        self.set(ProxyStatus::Starting { requested_port });
        let ledger = match &self.ledger {
            Some(ledger) => Ok(ledger.clone()),
            None => Ledger::open(&home.ledger_path()).map_err(StartError::from),
        };
        let assembled = match ledger {
            Ok(ledger) => {
                let changes = self.availability_changes.clone();
                assemble(lineup, settings, home, ledger, store, changes).await
            }
            Err(e) => Err(e),
        };
        let status = match assembled {
            Err(e) => ProxyStatus::Error {
                message: e.to_string(),
            },
            Ok(mut state) => {
                state.health = self.health.clone();
                state.rejections = self.rejections.clone();
                let availability = state.availability.clone();
                match start(state, requested_port).await {
                    Ok(proxy) => {
                        let port = proxy.addr().port();
                        *running = Some(proxy);
                        *self.live_availability() = Some(availability);
                        ProxyStatus::Running {
                            port,
                            requested_port,
                        }
                    }
                    Err(e) => ProxyStatus::Error {
                        message: format!("cannot listen on 127.0.0.1:{requested_port}: {e}"),
                    },
                }
            }
        };
        self.set(status.clone());
        status
    }

    /// Stops the proxy (draining in-flight requests) and returns `Stopped`.
    /// Stopping a stopped proxy also clears a previous error.
    pub async fn stop(&self) -> ProxyStatus {
        let mut running = self.running.lock().await;
        if let Some(proxy) = running.take() {
            proxy.stop().await;
        }
        *self.live_availability() = None;
        self.set(ProxyStatus::Stopped);
        ProxyStatus::Stopped
    }

    pub fn status(&self) -> ProxyStatus {
        self.status.borrow().clone()
    }

    /// Every status change from now on (the current one is marked seen).
    pub fn subscribe(&self) -> watch::Receiver<ProxyStatus> {
        self.status.subscribe()
    }

    /// Health of every model the proxy has called, across restarts.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// Requests refused before reaching a model, across restarts.
    pub fn rejections(&self) -> RejectionCounts {
        self.rejections.counts()
    }

    /// What the running proxy may call now; `None` while stopped.
    pub fn availability(&self) -> Option<ModelAvailability> {
        self.live_availability().clone()
    }

    /// Every model availability change of the proxies it runs, from now on.
    pub fn subscribe_availability(&self) -> broadcast::Receiver<AvailabilityChange> {
        self.availability_changes.subscribe()
    }

    /// Where availability changes are told, for an overlay made outside a
    /// running proxy (a discovery refresh while stopped).
    pub fn availability_changes(&self) -> broadcast::Sender<AvailabilityChange> {
        self.availability_changes.clone()
    }

    fn live_availability(&self) -> std::sync::MutexGuard<'_, Option<ModelAvailability>> {
        // Only ever replaced whole: a poisoned lock still holds a consistent value.
        self.availability
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, status: ProxyStatus) {
        self.status.send_replace(status);
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::credentials::{AWS_KEYS, MemoryStore};

    fn settings(port: u16) -> Settings {
        Settings {
            port,
            region: Some("us-east-1".into()),
            ..Settings::default()
        }
    }

    fn store() -> Arc<dyn SecretStore> {
        Arc::new(MemoryStore::default())
    }

    fn builtin_lineup() -> Lineup {
        Lineup::new(crate::catalog::Catalog::builtin().unwrap()).unwrap()
    }

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        (dir, home)
    }

    #[tokio::test]
    async fn start_reports_the_port_actually_bound_and_stop_frees_it() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let requested = taken.local_addr().unwrap().port();
        let (_dir, home) = home();
        let sup = Supervisor::new();
        let mut changes = sup.subscribe();

        let status = sup
            .start(builtin_lineup(), &settings(requested), &home, store())
            .await;
        let ProxyStatus::Running {
            port,
            requested_port,
        } = status.clone()
        else {
            panic!("not running: {status:?}");
        };
        assert_eq!(requested_port, requested);
        assert_ne!(port, requested, "the taken port cannot be reported");
        assert!(status.summary().contains(&format!("{requested} was taken")));
        assert_eq!(changes.borrow_and_update().clone(), status);
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("proxy accepts connections");

        assert_eq!(sup.stop().await, ProxyStatus::Stopped);
        assert_eq!(sup.status(), ProxyStatus::Stopped);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[tokio::test]
    async fn a_second_start_keeps_the_running_proxy() {
        let (_dir, home) = home();
        let sup = Supervisor::new();
        let first = sup
            .start(builtin_lineup(), &settings(0), &home, store())
            .await;
        let second = sup
            .start(builtin_lineup(), &settings(0), &home, store())
            .await;
        assert!(matches!(first, ProxyStatus::Running { .. }), "{first:?}");
        assert_eq!(first, second);
        sup.stop().await;
    }

    #[tokio::test]
    async fn refused_requests_are_counted_by_kind_across_restarts() {
        let (_dir, home) = home();
        let sup = Supervisor::new();
        let http = reqwest::Client::new();
        let port = |status: ProxyStatus| match status {
            ProxyStatus::Running { port, .. } => port,
            other => panic!("not running: {other:?}"),
        };
        let store = store();
        let first = port(
            sup.start(builtin_lineup(), &settings(0), &home, store.clone())
                .await,
        );
        let wrong_key = http
            .get(format!("http://127.0.0.1:{first}/v1/models"))
            .bearer_auth("sk-clawrouter-not-the-key")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_key.status(), 401);
        assert_eq!(sup.rejections().unauthorized, 1);
        sup.stop().await;

        let second = port(
            sup.start(builtin_lineup(), &settings(0), &home, store)
                .await,
        );
        let rebound = http
            .get(format!("http://127.0.0.1:{second}/v1/models"))
            .header("host", format!("evil.example:{second}"))
            .send()
            .await
            .unwrap();
        assert_eq!(rebound.status(), 403);
        assert_eq!(
            sup.rejections(),
            RejectionCounts {
                unauthorized: 1,
                budget: 0,
                guard: 1
            },
            "the first proxy's count survives the restart"
        );
        sup.stop().await;
    }

    #[tokio::test]
    async fn a_failed_start_is_an_error_status() {
        let (_dir, home) = home();
        let sup = Supervisor::new();
        let broken = store();
        broken
            .set(AWS_KEYS, &SecretString::from("not json"))
            .unwrap();
        let status = sup
            .start(builtin_lineup(), &settings(0), &home, broken)
            .await;
        let ProxyStatus::Error { message } = &status else {
            panic!("expected an error: {status:?}");
        };
        assert!(message.contains("damaged"), "{message}");
        assert!(status.summary().starts_with("Error: "));
        assert_eq!(sup.status(), status);
    }

    #[test]
    fn endpoint_only_while_running() {
        let running = ProxyStatus::Running {
            port: 4243,
            requested_port: 4242,
        };
        assert_eq!(running.endpoint().as_deref(), Some("http://127.0.0.1:4243"));
        assert_eq!(ProxyStatus::Stopped.endpoint(), None);
        assert_eq!(ProxyStatus::Stopped.summary(), "Stopped");
    }
}
