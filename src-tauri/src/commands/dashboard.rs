//! The dashboard: proxy status, per-model health and prices, tier routing,
//! and trying a prompt against the router.

use clawrouter::catalog::{Category, Model, Rates, Tier};
use clawrouter::engine::{Engine, ProxyStatus, TierView, tier_views};
use clawrouter::health::ModelHealth;
use clawrouter::ledger::{DaySpend, LedgerError, PeriodSpend, RequestRow, UsageSummary};
use clawrouter::router::{Decision, RouteInput};
use clawrouter::server::RejectionCounts;
use clawrouter::settings::Budgets;
use serde::Serialize;
use tauri::State;

use super::CommandError;

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

#[derive(Debug, Serialize)]
pub struct CategoryRoute {
    pub category: Category,
    pub tier: Tier,
}

#[tauri::command]
pub fn dashboard(engine: State<'_, Engine>) -> Dashboard {
    let lineup = engine.lineup();
    let catalog = &lineup.catalog;
    let health = engine.supervisor.health();
    // As `auto` sees it: lifecycle, and what Bedrock last said.
    let availability = engine.availability();
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
        status: engine.supervisor.status(),
        rejected: engine.supervisor.rejections(),
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
/// `clawrouter models --refresh` does; the answer is cached and applied to
/// the running proxy at once, and the window shows the new availability.
#[tauri::command]
pub async fn refresh_models(engine: State<'_, Engine>) -> Result<ModelsRefreshed, CommandError> {
    let found = engine
        .refresh_availability()
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
pub fn route_preview(engine: State<'_, Engine>, text: String) -> Result<Decision, CommandError> {
    let lineup = engine.lineup();
    let health = engine.supervisor.health();
    let usable = |m: &Model| health.is_usable(&m.profile_id);
    lineup
        .router
        .decide(&lineup.catalog, &RouteInput::from_text(&text), &usable)
        .map_err(|e| CommandError::new(e.to_string()))
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
pub async fn usage(engine: State<'_, Engine>) -> Result<Usage, CommandError> {
    let ledger = engine.ledger.clone().map_err(CommandError::new)?;
    let budgets = engine.settings().budgets;
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
