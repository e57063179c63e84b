//! The model catalog (`models.yaml`): which models exist, the Bedrock inference
//! profile id each is called through, where each is offered, its lifecycle,
//! prices, limits and request rules, and the tier lists the router picks from.
//!
//! Everything specific to a model is data in the file; the code knows only
//! the file's grammar and Bedrock's id grammar. The file keeps the seed's
//! shape (`provider_models.bedrock.models[{name,id}]`, `tier_candidates`)
//! and adds per-model facts plus a `routing` section. A model the built-in
//! catalog knows (same base id) takes every fact a file leaves out from it,
//! so the seed's file, which has only names and ids, loads unchanged; a model
//! the built-in catalog does not know must state its price and lifecycle.
//! Everything is validated once, at load, so a mistake is reported with its
//! file and line before any request is made.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

mod availability;
mod file;
mod ids;
mod names;
mod price;
mod rules;

pub use availability::{AvailabilityChange, ModelAvailability, Unavailable, UnavailableKind};
pub use ids::{Geography, KnownId, split_profile_id};
pub use names::{NameError, Resolved};
pub use price::{LongContextPrice, Price, Rates, TokenUsage};
pub use rules::{
    Accepts, Effort, SamplingRule, Thinking, ThinkingDisplay, ThinkingOff, ThinkingOffKind,
    ThinkingStyle,
};

/// The catalog shipped with ClawRouter, used when no other file is configured.
pub const BUILTIN_YAML: &str = include_str!("../../../../models.yaml");
const BUILTIN_ORIGIN: &str = "models.yaml (built in)";

/// A loaded, validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    models: Vec<Model>,
    tiers: BTreeMap<Tier, Vec<TierCandidate>>,
    routing: RoutingRules,
}

/// One model as ClawRouter serves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// The public name clients use, e.g. `bedrock/claude-opus-5-5`.
    pub name: String,
    /// The provider section it came from (`bedrock`).
    pub provider: String,
    /// The Bedrock inference profile id, e.g. `us.anthropic.claude-opus-5-5`.
    pub profile_id: String,
    pub display: String,
    /// Geographies with an inference profile for this model; empty when the
    /// catalog does not say (then any is tried).
    pub geographies: Vec<Geography>,
    pub lifecycle: Lifecycle,
    pub price: Price,
    pub context_window: u32,
    pub max_output: u32,
    pub capabilities: Vec<Capability>,
    pub thinking: Thinking,
    pub sampling: SamplingRule,
    /// Whether `tool_choice` may force a tool (`any` / a named tool).
    pub forced_tool_choice: bool,
    /// Fewest prompt tokens a cache point must cover to be cached; below it
    /// Bedrock caches nothing (and says nothing).
    pub min_cache_tokens: u32,
    /// The betas and optional body fields Bedrock takes for this model.
    pub accepts: Accepts,
    /// Not a catalog model: a profile discovery found ([`Model::discovered`]),
    /// whose rules are defaults and whose price is unknown.
    pub discovered: bool,
}

/// Where a model is in Bedrock's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    pub status: LifecycleStatus,
    /// `YYYY-MM-DD`: when it became legacy or reaches / reached end of life.
    #[serde(default)]
    pub date: Option<String>,
    /// Catalog name of the recommended replacement.
    #[serde(default)]
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleStatus {
    Active,
    Legacy,
    Eol,
}

impl LifecycleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStatus::Active => "active",
            LifecycleStatus::Legacy => "legacy",
            LifecycleStatus::Eol => "eol",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Vision,
    Tools,
    Thinking,
    Caching,
    Documents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Low,
    Mid,
    Top,
}

/// The nine request categories of the seed's router, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Heartbeat,
    SimpleChat,
    Lookup,
    Translation,
    Summarization,
    Coding,
    Creative,
    Reasoning,
    Analysis,
}

/// A tier candidate, resolved to an index into [`Catalog::models`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierCandidate {
    pub provider: String,
    pub model: usize,
    pub display: String,
    pub cost: String,
}

/// The `routing` section: category → tier, and custom patterns tried first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingRules {
    pub categories: BTreeMap<Category, Tier>,
    pub custom_patterns: Vec<CustomPattern>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// A regex matched against the user's own text.
    pub pattern: String,
    pub category: Category,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{origin}: cannot read: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("{origin}:{line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn builtin() -> Result<Self, CatalogError> {
        match builtin_cached() {
            Some(c) => Ok(c.clone()),
            None => file::parse(BUILTIN_YAML, BUILTIN_ORIGIN, None),
        }
    }

    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let origin = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            origin: origin.clone(),
            source,
        })?;
        Self::parse(&src, &origin)
    }

    /// Parses and validates catalog text; `origin` names it in errors. Models
    /// the built-in catalog knows take the facts the text leaves out from it.
    pub fn parse(src: &str, origin: &str) -> Result<Self, CatalogError> {
        file::parse(src, origin, builtin_cached())
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// The model `requested` names exactly, in any spelling [`Catalog::resolve`]
    /// accepts; `None` for unknown names and family substitutes.
    pub fn model(&self, requested: &str) -> Option<&Model> {
        self.resolve(requested)
            .ok()
            .filter(|r| !r.substituted)
            .map(|r| r.model)
    }

    /// Candidates of a tier, best first.
    pub fn tier_candidates(&self, tier: Tier) -> impl Iterator<Item = (&TierCandidate, &Model)> {
        self.tiers
            .get(&tier)
            .into_iter()
            .flatten()
            .filter_map(|c| self.models.get(c.model).map(|m| (c, m)))
    }

    /// The model savings are measured against: the top tier's first living
    /// candidate, what a router-less setup would send every request to.
    pub fn top_tier_model(&self) -> Option<&Model> {
        self.tier_candidates(Tier::Top)
            .map(|(_, m)| m)
            .find(|m| m.is_living())
    }

    /// The tiers whose candidates include `model`.
    pub fn tiers_of(&self, model: &Model) -> Vec<Tier> {
        Tier::ALL
            .into_iter()
            .filter(|t| self.tier_candidates(*t).any(|(_, m)| m.name == model.name))
            .collect()
    }

    pub fn routing(&self) -> &RoutingRules {
        &self.routing
    }

    /// The base ids this catalog knows and where each is offered.
    pub fn known_ids(&self) -> Vec<KnownId<'_>> {
        self.models
            .iter()
            .filter_map(|m| {
                Some(KnownId {
                    base_id: m.base_id()?,
                    geographies: &m.geographies,
                })
            })
            .collect()
    }

    /// Advice for a model id Bedrock will refuse (bare, shortened, or a
    /// geography without that profile), from this catalog's knowledge.
    pub fn profile_id_advice(&self, id: &str) -> Option<String> {
        ids::advice(id, &self.known_ids())
    }

    /// The same catalog with every profile id moved to another geography
    /// where that model is offered there; models not offered keep theirs.
    pub fn with_geography(&self, geo: Geography) -> Self {
        let mut out = self.clone();
        for m in &mut out.models {
            if m.offered_in(geo)
                && let Some((_, base)) = split_profile_id(&m.profile_id)
            {
                m.profile_id = format!("{}.{base}", geo.prefix());
            }
        }
        out
    }
}

/// Advice for a model id Bedrock will refuse, from the built-in catalog's
/// knowledge (for upstream errors, which name only the id).
pub fn profile_id_advice(id: &str) -> Option<String> {
    match builtin_cached() {
        Some(c) => c.profile_id_advice(id),
        None => ids::advice(id, &[]),
    }
}

/// The built-in catalog, parsed once. `None` only if it is invalid, which
/// its unit tests rule out; callers then fall back to no knowledge.
fn builtin_cached() -> Option<&'static Catalog> {
    static BUILTIN: OnceLock<Option<Catalog>> = OnceLock::new();
    BUILTIN
        .get_or_init(|| file::parse(BUILTIN_YAML, BUILTIN_ORIGIN, None).ok())
        .as_ref()
}

/// Output cap of a discovered model: the largest any Claude model has, so a
/// client's `max_tokens` is not cut by a guess (Bedrock refuses one above
/// the real limit, and says so).
const DISCOVERED_MAX_OUTPUT: u32 = 128_000;
const DISCOVERED_CONTEXT_WINDOW: u32 = 1_000_000;
/// The largest minimum cacheable prompt of any Claude model (Haiku 4.5,
/// Opus 4.5/4.6), for a model whose own is not known: an automatic cache
/// point is never placed where it could cache nothing.
const LARGEST_MIN_CACHE_TOKENS: u32 = 4_096;

impl Model {
    /// A Claude profile Bedrock offers that no catalog entry describes,
    /// served by its profile id. Nothing about it is known, so nothing is
    /// guessed: thinking, effort, sampling and tool choice go to Bedrock as
    /// the client sent them (whose own answer says what the model refuses),
    /// except betas and optional fields, none of which is sent (one Bedrock
    /// does not know fails the whole request). A Chat/Responses effort asks
    /// for adaptive thinking, the form every Claude model since 4.6 takes.
    /// Its price is unknown: the ledger records its cost as unknown, not $0.
    pub fn discovered(
        profile_id: &str,
        display: Option<&str>,
        lifecycle: LifecycleStatus,
    ) -> Model {
        Model {
            name: profile_id.to_owned(),
            provider: "bedrock".to_owned(),
            profile_id: profile_id.to_owned(),
            display: display.unwrap_or(profile_id).to_owned(),
            geographies: Vec::new(),
            lifecycle: Lifecycle {
                status: lifecycle,
                date: None,
                replacement: None,
            },
            price: Price::zero(),
            context_window: DISCOVERED_CONTEXT_WINDOW,
            min_cache_tokens: LARGEST_MIN_CACHE_TOKENS,
            max_output: DISCOVERED_MAX_OUTPUT,
            capabilities: vec![
                Capability::Vision,
                Capability::Tools,
                Capability::Thinking,
                Capability::Caching,
                Capability::Documents,
            ],
            thinking: Thinking {
                style: ThinkingStyle::AdaptiveOrBudget,
                efforts: Effort::ALL.to_vec(),
                off: None,
                // A model the catalog does not know yet is a new one, and
                // every Claude model since Opus 4.7 hides its thinking
                // unless asked; asking one that shows it changes nothing.
                display: ThinkingDisplay::Omitted,
            },
            sampling: SamplingRule::Any,
            forced_tool_choice: true,
            accepts: Accepts::default(),
            discovered: true,
        }
    }

    /// The Bedrock base model id, e.g. `anthropic.claude-sonnet-5-5`;
    /// `None` for ARNs.
    pub fn base_id(&self) -> Option<&str> {
        split_profile_id(&self.profile_id).map(|(_, base)| base)
    }

    /// The Anthropic API names of this model: the dated id and its short alias.
    pub fn anthropic_names(&self) -> Vec<String> {
        let Some(base) = self.base_id() else {
            return Vec::new();
        };
        let full = ids::strip_version_suffix(base.strip_prefix("anthropic.").unwrap_or(base));
        let alias = ids::strip_date(full);
        if alias == full {
            vec![full.to_owned()]
        } else {
            vec![full.to_owned(), alias.to_owned()]
        }
    }

    pub fn geography(&self) -> Option<Geography> {
        split_profile_id(&self.profile_id).map(|(g, _)| g)
    }

    /// Whether the model has a profile in `geo` (or the catalog does not say).
    pub fn offered_in(&self, geo: Geography) -> bool {
        self.geographies.is_empty() || self.geographies.contains(&geo)
    }

    /// The `global.` profile of the same model, the fallback when the
    /// regional one is throttled. Only from `us.`: `eu.`, `apac.`, `jp.` and
    /// `au.` are chosen to keep data in the region, so they never fall back out of it.
    pub fn global_profile_id(&self) -> Option<String> {
        let (geo, base) = split_profile_id(&self.profile_id)?;
        (geo == Geography::Us && self.offered_in(Geography::Global))
            .then(|| format!("global.{base}"))
    }

    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// Per-million rates on `profile_id` for a prompt of ordinary size.
    pub fn rates_for(&self, profile_id: &str) -> Rates {
        self.price.rates(profile_id, 0)
    }

    /// What `usage` costs on `profile_id`, exactly.
    pub fn cost(&self, profile_id: &str, usage: TokenUsage) -> crate::money::Usd {
        self.price.cost(profile_id, usage)
    }

    pub fn is_living(&self) -> bool {
        self.lifecycle.status != LifecycleStatus::Eol
    }
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Low, Tier::Mid, Tier::Top];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Mid => "mid",
            Tier::Top => "top",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Heartbeat,
        Category::SimpleChat,
        Category::Lookup,
        Category::Translation,
        Category::Summarization,
        Category::Coding,
        Category::Creative,
        Category::Reasoning,
        Category::Analysis,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Heartbeat => "heartbeat",
            Category::SimpleChat => "simple-chat",
            Category::Lookup => "lookup",
            Category::Translation => "translation",
            Category::Summarization => "summarization",
            Category::Coding => "coding",
            Category::Creative => "creative",
            Category::Reasoning => "reasoning",
            Category::Analysis => "analysis",
        }
    }

    /// The seed's default tier for this category.
    pub fn default_tier(self) -> Tier {
        match self {
            Category::Heartbeat | Category::SimpleChat | Category::Lookup => Tier::Low,
            Category::Translation
            | Category::Summarization
            | Category::Coding
            | Category::Creative => Tier::Mid,
            Category::Reasoning | Category::Analysis => Tier::Top,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
