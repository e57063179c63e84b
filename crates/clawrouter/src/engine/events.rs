//! What happens in the engine, pushed to a host as it happens: the ledger's
//! rows and budget warnings, model health turning, a model becoming
//! unavailable or available again. A host forwards them (the desktop shell
//! to its window) instead of asking on a timer.

use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::catalog::AvailabilityChange;
use crate::health::HealthChange;
use crate::ledger::LedgerEvent;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", content = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// Rows were committed to the ledger, or a budget reached its warning
    /// level or its cap.
    Usage(LedgerEvent),
    Health(HealthChange),
    Availability(AvailabilityChange),
    /// The reader fell behind and events were dropped: read everything again.
    Missed,
}

/// One host's subscription to every [`EngineEvent`].
pub struct EngineEvents {
    usage: Option<broadcast::Receiver<LedgerEvent>>,
    health: Option<broadcast::Receiver<HealthChange>>,
    availability: Option<broadcast::Receiver<AvailabilityChange>>,
}

/// What one wait on the three channels gave.
enum Received {
    Usage(Result<LedgerEvent, RecvError>),
    Health(Result<HealthChange, RecvError>),
    Availability(Result<AvailabilityChange, RecvError>),
}

impl EngineEvents {
    pub(super) fn new(
        usage: Option<broadcast::Receiver<LedgerEvent>>,
        health: broadcast::Receiver<HealthChange>,
        availability: broadcast::Receiver<AvailabilityChange>,
    ) -> Self {
        Self {
            usage,
            health: Some(health),
            availability: Some(availability),
        }
    }

    /// The next event; `None` once every source is gone (the engine was dropped).
    pub async fn recv(&mut self) -> Option<EngineEvent> {
        loop {
            if self.usage.is_none() && self.health.is_none() && self.availability.is_none() {
                return None;
            }
            let received = tokio::select! {
                r = next(&mut self.usage) => Received::Usage(r),
                r = next(&mut self.health) => Received::Health(r),
                r = next(&mut self.availability) => Received::Availability(r),
            };
            let event = match received {
                Received::Usage(r) => settle(r, &mut self.usage, EngineEvent::Usage),
                Received::Health(r) => settle(r, &mut self.health, EngineEvent::Health),
                Received::Availability(r) => {
                    settle(r, &mut self.availability, EngineEvent::Availability)
                }
            };
            if let Some(event) = event {
                return Some(event);
            }
        }
    }
}

/// The next message of `source`; never, once it is gone.
async fn next<T: Clone>(source: &mut Option<broadcast::Receiver<T>>) -> Result<T, RecvError> {
    match source {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// The event for one received message; a closed source is dropped (no event).
fn settle<T>(
    received: Result<T, RecvError>,
    source: &mut Option<broadcast::Receiver<T>>,
    wrap: impl FnOnce(T) -> EngineEvent,
) -> Option<EngineEvent> {
    match received {
        Ok(message) => Some(wrap(message)),
        Err(RecvError::Lagged(_)) => Some(EngineEvent::Missed),
        Err(RecvError::Closed) => {
            *source = None;
            None
        }
    }
}
