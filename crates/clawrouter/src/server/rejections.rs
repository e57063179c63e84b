//! Requests the proxy refused before any model saw them, counted by kind.
//! They never reach the ledger (no model, no cost), yet a tool with a stale
//! key or a spent budget fails only in that tool; the dashboard shows these
//! counts so the user can see why.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Why a request was refused at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No client key, or the wrong one (401).
    Unauthorized,
    /// A daily or monthly budget is spent (429).
    Budget,
    /// The admission guard: a foreign `Host`, a browser `Origin`, a CORS
    /// preflight (403).
    Guard,
}

/// Counters shared by every proxy a host starts (like model health), so a
/// restart does not zero them.
#[derive(Debug, Default)]
pub struct Rejections {
    unauthorized: AtomicU64,
    budget: AtomicU64,
    guard: AtomicU64,
}

/// The counts at one moment, as the dashboard shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RejectionCounts {
    pub unauthorized: u64,
    pub budget: u64,
    pub guard: u64,
}

impl Rejections {
    pub fn count(&self, rejection: Rejection) {
        let counter = match rejection {
            Rejection::Unauthorized => &self.unauthorized,
            Rejection::Budget => &self.budget,
            Rejection::Guard => &self.guard,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> RejectionCounts {
        RejectionCounts {
            unauthorized: self.unauthorized.load(Ordering::Relaxed),
            budget: self.budget.load(Ordering::Relaxed),
            guard: self.guard.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_count() {
        let rejections = Rejections::default();
        rejections.count(Rejection::Unauthorized);
        rejections.count(Rejection::Unauthorized);
        rejections.count(Rejection::Guard);
        assert_eq!(
            rejections.counts(),
            RejectionCounts {
                unauthorized: 2,
                budget: 0,
                guard: 1
            }
        );
    }
}
