//! The dashboard: proxy status, per-model health and prices, tier routing,
//! and trying a prompt against the router.

use clawrouter::catalog::{Catalog, Category, Model, ModelAvailability, Rates, Tier};
use clawrouter::discovery;
use clawrouter::health::{ModelHealth, Status};
use clawrouter::ledger::{DaySpend, LedgerError, PeriodSpend, RequestRow, UsageSummary};
use clawrouter::router::{Decision, RouteInput, search_order};
use clawrouter::server::{ProxyStatus, RejectionCounts};
use clawrouter::settings::Budgets;
use serde::Serialize;
use tauri::State;

use super::CommandError;
use crate::shell::Shell;

#[derive(Debug, Serialize)]
pub struct Dashboard {
    pub status: ProxyStatus,
    pub models: Vec<ModelRow>,
    pub tiers: Vec<TierView>,
    /// Category → tier, in the router's order.
    pub categories: Vec<CategoryRoute>,
    /// Requests refused before reaching a model since the app started.
    pub rejected: RejectionCounts,
}

#[derive(Debug, Serialize)]
pub struct ModelRow {
    pub name: String,
    pub display: String,
    pub profile_id: String,
    /// Tiers listing this model.
    pub tiers: Vec<Tier>,
    /// USD per million tokens on this profile (regional premium included).
    pub price: Rates,
    pub health: ModelHealth,
    /// On Bedrock: `active`, `legacy` or `eol`.
    pub lifecycle: &'static str,
    /// False past end of life, or when Bedrock's answer (cached by
    /// discovery) says this account cannot call it here.
    pub available: bool,
    pub unavailable_reason: Option<String>,
}

/// A tier: the model it routes to now, and its candidates in order.
#[derive(Debug, Serialize)]
pub struct TierView {
    pub tier: Tier,
    /// The first usable candidate; `None` when the tier has none.
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
    /// As for [`ModelRow::available`]: Settings offers only available,
    /// living models as tier choices.
    pub available: bool,
    pub unavailable_reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CategoryRoute {
    pub category: Category,
    pub tier: Tier,
}

#[tauri::command]
pub fn dashboard(shell: State<'_, Shell>) -> Dashboard {
    let engine = shell.engine();
    let catalog = &engine.catalog;
    let health = shell.supervisor.health();
    let availability = availability(&shell, catalog);
    let models = catalog
        .models()
        .iter()
        .map(|m| {
            let unavailable = availability.reason(&m.name);
            ModelRow {
                name: m.name.clone(),
                display: m.display.clone(),
                profile_id: m.profile_id.clone(),
                tiers: catalog.tiers_of(m),
                price: m.rates_for(&m.profile_id),
                health: health.status(&m.profile_id),
                lifecycle: m.lifecycle.status.as_str(),
                available: unavailable.is_none(),
                unavailable_reason: unavailable.map(|u| u.reason),
            }
        })
        .collect();
    let tiers = tier_views(
        catalog,
        &availability,
        &|m| health.status(&m.profile_id).status,
        &|m| health.is_usable(&m.profile_id),
    );
    let categories = catalog
        .routing()
        .categories
        .iter()
        .map(|(category, tier)| CategoryRoute {
            category: *category,
            tier: *tier,
        })
        .collect();
    Dashboard {
        status: shell.supervisor.status(),
        rejected: shell.supervisor.rejections(),
        models,
        tiers,
        categories,
    }
}

/// When Bedrock was last asked which models this account can call.
#[derive(Debug, Serialize)]
pub struct ModelsRefreshed {
    pub fetched_at: String,
    pub region: String,
}

/// Asks Bedrock again which models this account can call here, as
/// `clawrouter models --refresh` does (the answer replaces the cache the
/// dashboard reads); the window then shows the new availability.
#[tauri::command]
pub async fn refresh_models(shell: State<'_, Shell>) -> Result<ModelsRefreshed, CommandError> {
    let found = discovery::refresh_for_home(&shell.settings(), &shell.home, shell.store.clone())
        .await
        .map_err(|e| CommandError::new(e.to_string()))?;
    Ok(ModelsRefreshed {
        fetched_at: found.fetched_at,
        region: found.region,
    })
}

/// What the router would do with `text` as a one-message request, given
/// the health the proxy has seen.
#[tauri::command]
pub fn route_preview(shell: State<'_, Shell>, text: String) -> Result<Decision, CommandError> {
    let engine = shell.engine();
    let health = shell.supervisor.health();
    let usable = |m: &Model| health.is_usable(&m.profile_id);
    engine
        .router
        .decide(&engine.catalog, &RouteInput::from_text(&text), &usable)
        .map_err(|e| CommandError::new(e.to_string()))
}

/// Lifecycle from the catalog, plus what Bedrock last said this account can
/// call in this region (the discovery cache), as `auto` sees it.
pub fn availability(shell: &Shell, catalog: &Catalog) -> ModelAvailability {
    let availability = ModelAvailability::from_catalog(catalog);
    let region = shell
        .settings()
        .effective_region()
        .unwrap_or_else(|| clawrouter::bedrock::DEFAULT_REGION.to_owned());
    if let Some(known) =
        discovery::load_cache(&shell.home.discovery_cache_path()).filter(|k| k.region == region)
    {
        known.apply(catalog, &availability);
    }
    availability
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

/// Spend and traffic from the usage ledger.
#[derive(Debug, Serialize)]
pub struct Usage {
    pub summary: UsageSummary,
    /// The last [`CHART_DAYS`] UTC days, oldest first.
    pub daily: Vec<DaySpend>,
    /// Newest first.
    pub recent: Vec<RequestRow>,
    pub period: PeriodSpend,
    pub budgets: Budgets,
    /// The ledger holds generated sample traffic (`make demo`).
    pub demo: bool,
}

pub const CHART_DAYS: u32 = 30;
const RECENT_ROWS: usize = 25;

#[tauri::command]
pub async fn usage(shell: State<'_, Shell>) -> Result<Usage, CommandError> {
    let ledger = shell.ledger.clone().map_err(CommandError::new)?;
    let budgets = shell.settings().budgets;
    // Ledger reads wait for its writer thread.
    tokio::task::spawn_blocking(move || {
        let now = now_ms();
        Ok(Usage {
            summary: ledger.summary(now)?,
            daily: ledger.daily_spend(now, CHART_DAYS)?,
            recent: ledger.recent(RECENT_ROWS)?,
            period: ledger.period_spend(now),
            budgets,
            demo: ledger.is_demo()?,
        })
    })
    .await?
    .map_err(|e: LedgerError| CommandError::new(e.to_string()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
