//! Tier views: for each tier, its candidates in order with their status and
//! availability, the model it routes to now, and where `auto` sends its
//! requests while it has none. The dashboard shows them with the health the
//! proxy has seen; "Test connection" with the health a check found.

use serde::Serialize;

use crate::catalog::{Catalog, Model, ModelAvailability, Tier};
use crate::health::Status;
use crate::router::search_order;

/// A tier: the model it routes to now, and its candidates in order.
#[derive(Debug, Serialize)]
pub struct TierView {
    pub tier: Tier,
    /// The first available, usable candidate; `None` when the tier has none.
    pub chosen: Option<String>,
    /// With no usable candidate: the tier and model `auto` sends this tier's
    /// requests to meanwhile (the router's search order), if any.
    pub fallback: Option<TierFallback>,
    pub candidates: Vec<TierCandidate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TierFallback {
    pub tier: Tier,
    pub model: String,
    pub display: String,
}

#[derive(Debug, Serialize)]
pub struct TierCandidate {
    pub name: String,
    pub display: String,
    pub profile_id: String,
    /// The catalog's cost note, e.g. `$3/$15`.
    pub cost: String,
    pub status: Status,
    /// On Bedrock: `active`, `legacy` or `eol`.
    pub lifecycle: &'static str,
    /// Settings offers only available, living models as tier choices.
    pub available: bool,
    pub unavailable_reason: Option<String>,
}

/// Each tier's candidates with their status and availability; the chosen
/// one is the first available and `usable`. A tier with none says where its
/// requests go instead.
pub fn tier_views(
    catalog: &Catalog,
    availability: &ModelAvailability,
    status: &dyn Fn(&Model) -> Status,
    usable: &dyn Fn(&Model) -> bool,
) -> Vec<TierView> {
    let chosen = |tier: Tier| {
        catalog
            .tier_candidates(tier)
            .map(|(_, m)| m)
            .find(|m| availability.is_available(&m.name) && usable(m))
    };
    Tier::ALL
        .into_iter()
        .map(|tier| {
            let here = chosen(tier);
            let fallback = match here {
                Some(_) => None,
                None => search_order(tier).into_iter().find_map(|other| {
                    chosen(other).map(|m| TierFallback {
                        tier: other,
                        model: m.name.clone(),
                        display: m.display.clone(),
                    })
                }),
            };
            TierView {
                tier,
                chosen: here.map(|m| m.name.clone()),
                fallback,
                candidates: catalog
                    .tier_candidates(tier)
                    .map(|(c, m)| {
                        let unavailable = availability.reason(&m.name);
                        TierCandidate {
                            name: m.name.clone(),
                            display: m.display.clone(),
                            profile_id: m.profile_id.clone(),
                            cost: c.cost.clone(),
                            status: status(m),
                            lifecycle: m.lifecycle.status.as_str(),
                            available: unavailable.is_none(),
                            unavailable_reason: unavailable.map(|u| u.reason),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}
