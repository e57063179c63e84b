//! Tier views: for each tier, its candidates in order with their status,
//! and the model it routes to now. The dashboard shows them with the health
//! the proxy has seen; "Test connection" with the health a check found.

use serde::Serialize;

use crate::catalog::{Catalog, Model, Tier};
use crate::health::Status;

/// A tier: the model it routes to now, and its candidates in order.
#[derive(Debug, Serialize)]
pub struct TierView {
    pub tier: Tier,
    /// The first usable candidate; `None` when the tier has none.
    pub chosen: Option<String>,
    pub candidates: Vec<TierCandidate>,
}

#[derive(Debug, Serialize)]
pub struct TierCandidate {
    pub name: String,
    pub display: String,
    pub profile_id: String,
    /// The catalog's cost note, e.g. `$3/$15`.
    pub cost: String,
    pub status: Status,
}

/// Each tier's candidates with their status; the chosen one is the first
/// `usable`.
pub fn tier_views(
    catalog: &Catalog,
    status: &dyn Fn(&Model) -> Status,
    usable: &dyn Fn(&Model) -> bool,
) -> Vec<TierView> {
    Tier::ALL
        .into_iter()
        .map(|tier| {
            let candidates: Vec<_> = catalog.tier_candidates(tier).collect();
            TierView {
                tier,
                chosen: candidates
                    .iter()
                    .find(|(_, m)| usable(m))
                    .map(|(_, m)| m.name.clone()),
                candidates: candidates
                    .iter()
                    .map(|(c, m)| TierCandidate {
                        name: m.name.clone(),
                        display: m.display.clone(),
                        profile_id: m.profile_id.clone(),
                        cost: c.cost.clone(),
                        status: status(m),
                    })
                    .collect(),
            }
        })
        .collect()
}
