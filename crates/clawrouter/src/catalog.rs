//! The model catalog (`models.yaml`): which models exist, the Bedrock inference
//! profile id each is called through, prices, limits, and the tier lists the
//! router picks from.
//!
//! The file keeps the seed's shape (`provider_models.bedrock.models[{name,id}]`,
//! `tier_candidates.{low,mid,top}`) and adds per-model prices and limits plus a
//! `routing` section. Everything is validated once, at load, so a mistake is
//! reported with its file and line before any request is made: above all the
//! two Bedrock id mistakes from the seed (a bare model id, a shortened one).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The catalog shipped with ClawRouter, used when no other file is configured.
pub const BUILTIN_YAML: &str = include_str!("../../../models.yaml");

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
    /// The public name clients use, e.g. `bedrock/claude-opus-4-6`.
    pub name: String,
    /// The provider section it came from (`bedrock`).
    pub provider: String,
    /// The Bedrock inference profile id, e.g. `us.anthropic.claude-opus-4-6-v1`.
    pub profile_id: String,
    pub display: String,
    pub price: Price,
    pub context_window: u32,
    pub max_output: u32,
    pub capabilities: Vec<Capability>,
    pub sampling: SamplingRule,
}

/// USD per million tokens at list (global profile) price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    /// The 5-minute cache write price.
    pub cache_write: f64,
    /// Extra fraction charged on regional (non-`global.`) profiles, e.g. 0.10.
    #[serde(default)]
    pub regional_premium: f64,
}

/// Token counts of one request, as Bedrock reports them (`input` excludes cached tokens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
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

/// Which sampling parameters the model accepts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SamplingRule {
    /// `temperature` and `top_p` may both be sent.
    #[default]
    Any,
    /// Only one of `temperature` / `top_p` (Sonnet 4.5, Haiku 4.5 and later).
    TemperatureOrTopP,
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

/// Bedrock geographies an inference profile id can start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Geography {
    Us,
    Eu,
    Apac,
    Jp,
    Global,
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
        Self::parse(BUILTIN_YAML, "models.yaml (built in)")
    }

    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let origin = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            origin: origin.clone(),
            source,
        })?;
        Self::parse(&src, &origin)
    }

    /// Parses and validates catalog text; `origin` names it in errors.
    pub fn parse(src: &str, origin: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = serde_yaml::from_str(src).map_err(|e| CatalogError::Invalid {
            origin: origin.to_owned(),
            line: e.location().map_or(1, |l| l.line()),
            message: e.to_string(),
        })?;
        Validator { src, origin }.build(file)
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// Finds a model by public name, profile id (with or without the seed's
    /// `bedrock/` prefix) or Anthropic model name (`claude-sonnet-4-5-20250929`,
    /// `claude-sonnet-4-5`).
    pub fn model(&self, requested: &str) -> Option<&Model> {
        let wanted = requested.strip_prefix("bedrock/").unwrap_or(requested);
        self.models.iter().find(|m| {
            m.name == requested
                || m.name.strip_prefix("bedrock/") == Some(wanted)
                || m.profile_id == wanted
                || m.anthropic_names().iter().any(|n| n == wanted)
        })
    }

    /// Candidates of a tier, best first.
    pub fn tier_candidates(&self, tier: Tier) -> impl Iterator<Item = (&TierCandidate, &Model)> {
        self.tiers
            .get(&tier)
            .into_iter()
            .flatten()
            .filter_map(|c| self.models.get(c.model).map(|m| (c, m)))
    }

    pub fn routing(&self) -> &RoutingRules {
        &self.routing
    }

    /// The same catalog with every profile id moved to another geography
    /// where that model is offered there; models not offered keep theirs.
    pub fn with_geography(&self, geo: Geography) -> Self {
        let mut out = self.clone();
        for m in &mut out.models {
            if let Some((_, base)) = split_profile_id(&m.profile_id)
                && known_model(base).is_none_or(|k| k.geos.contains(&geo))
            {
                m.profile_id = format!("{}.{base}", geo.prefix());
            }
        }
        out
    }
}

impl Model {
    /// The Anthropic API names of this model: the dated id and its short alias.
    pub fn anthropic_names(&self) -> Vec<String> {
        let Some((_, base)) = split_profile_id(&self.profile_id) else {
            return Vec::new();
        };
        let full = strip_version_suffix(base.strip_prefix("anthropic.").unwrap_or(base));
        let alias = strip_date(full);
        if alias == full {
            vec![full.to_owned()]
        } else {
            vec![full.to_owned(), alias.to_owned()]
        }
    }

    pub fn geography(&self) -> Option<Geography> {
        split_profile_id(&self.profile_id).map(|(g, _)| g)
    }

    /// The `global.` profile of the same model, the fallback when the
    /// regional one is throttled. Only from `us.`: `eu.`, `apac.` and `jp.`
    /// are chosen to keep data in the region, so they never fall back out of it.
    pub fn global_profile_id(&self) -> Option<String> {
        let (geo, base) = split_profile_id(&self.profile_id)?;
        let offered = known_model(base).is_none_or(|k| k.geos.contains(&Geography::Global));
        (geo == Geography::Us && offered).then(|| format!("global.{base}"))
    }

    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// Price per million tokens for a given profile id of this model:
    /// regional profiles carry the model's regional premium.
    pub fn price_for(&self, profile_id: &str) -> Price {
        let regional = !profile_id.starts_with("global.");
        let factor = if regional {
            1.0 + self.price.regional_premium
        } else {
            1.0
        };
        Price {
            input: self.price.input * factor,
            output: self.price.output * factor,
            cache_read: self.price.cache_read * factor,
            cache_write: self.price.cache_write * factor,
            regional_premium: self.price.regional_premium,
        }
    }

    /// What `usage` costs in USD on `profile_id`.
    pub fn cost_usd(&self, profile_id: &str, usage: TokenUsage) -> f64 {
        let p = self.price_for(profile_id);
        (usage.input as f64 * p.input
            + usage.output as f64 * p.output
            + usage.cache_read as f64 * p.cache_read
            + usage.cache_write as f64 * p.cache_write)
            / 1_000_000.0
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

impl Geography {
    pub const ALL: [Geography; 5] = [
        Geography::Us,
        Geography::Eu,
        Geography::Apac,
        Geography::Jp,
        Geography::Global,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Geography::Us => "us",
            Geography::Eu => "eu",
            Geography::Apac => "apac",
            Geography::Jp => "jp",
            Geography::Global => "global",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.prefix() == prefix)
    }
}

/// Advice for a model id Bedrock will refuse: a bare id (needs a profile
/// prefix) or a shortened one (needs the full versioned id). `None` when the
/// id looks callable. Shared by catalog validation and upstream error mapping.
pub fn profile_id_advice(id: &str) -> Option<String> {
    let id = id.strip_prefix("bedrock/").unwrap_or(id);
    if id.starts_with("arn:") {
        return None;
    }
    if id.starts_with("anthropic.") {
        let full = full_known_id(id).unwrap_or(id);
        return Some(format!(
            "`{id}` is a bare model id, and Claude 4.x on Bedrock must be called through an \
             inference profile: use `us.{full}` (or `global.{full}`, about 10% cheaper; \
             `eu.`/`apac.` keep data in region)"
        ));
    }
    let Some((prefix, base)) = id.split_once('.') else {
        return Some(format!(
            "`{id}` is not a Bedrock inference profile id (expected e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`)"
        ));
    };
    let Some(geo) = Geography::from_prefix(prefix) else {
        return Some(format!(
            "`{id}` starts with `{prefix}.`, which is not a Bedrock geography: use one of us., eu., apac., jp., global."
        ));
    };
    match known_model(base) {
        Some(k) if !k.geos.contains(&geo) => Some(format!(
            "`{base}` has no `{prefix}.` inference profile; it is offered as {}",
            k.geos
                .iter()
                .map(|g| format!("`{}.{base}`", g.prefix()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(_) => None,
        None => full_known_id(base).map(|full| {
            format!(
                "`{id}` is a shortened model id; the full inference profile id is `{prefix}.{full}`"
            )
        }),
    }
}

// ---------------------------------------------------------------------------
// Known Bedrock Claude ids, to catch shortened ids and impossible geographies.

struct KnownModel {
    base_id: &'static str,
    geos: &'static [Geography],
}

const KNOWN_MODELS: &[KnownModel] = {
    use Geography::*;
    &[
        KnownModel {
            base_id: "anthropic.claude-opus-4-6-v1",
            geos: &[Global, Us, Eu, Jp, Apac],
        },
        KnownModel {
            base_id: "anthropic.claude-sonnet-4-6",
            geos: &[Global, Us, Eu, Jp],
        },
        KnownModel {
            base_id: "anthropic.claude-opus-4-5-20251101-v1:0",
            geos: &[Global, Us, Eu],
        },
        KnownModel {
            base_id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
            geos: &[Global, Us, Eu, Jp],
        },
        KnownModel {
            base_id: "anthropic.claude-haiku-4-5-20251001-v1:0",
            geos: &[Global, Us, Eu],
        },
        KnownModel {
            base_id: "anthropic.claude-sonnet-4-20250514-v1:0",
            geos: &[Global, Us, Eu, Apac],
        },
        KnownModel {
            base_id: "anthropic.claude-3-7-sonnet-20250219-v1:0",
            geos: &[Us, Eu, Apac],
        },
        KnownModel {
            base_id: "anthropic.claude-opus-4-1-20250805-v1:0",
            geos: &[Us],
        },
    ]
};

fn known_model(base_id: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|k| k.base_id == base_id)
}

/// The full known id whose family (id without date and version) is `id`'s family.
fn full_known_id(id: &str) -> Option<&'static str> {
    let family = strip_date(strip_version_suffix(id));
    KNOWN_MODELS
        .iter()
        .find(|k| k.base_id != id && strip_date(strip_version_suffix(k.base_id)) == family)
        .map(|k| k.base_id)
}

fn split_profile_id(id: &str) -> Option<(Geography, &str)> {
    let (prefix, base) = id.split_once('.')?;
    Geography::from_prefix(prefix).map(|g| (g, base))
}

/// `claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`.
fn strip_version_suffix(id: &str) -> &str {
    match id.rfind("-v") {
        Some(i)
            if id[i + 2..].chars().all(|c| c.is_ascii_digit() || c == ':') && i + 2 < id.len() =>
        {
            &id[..i]
        }
        _ => id,
    }
}

/// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`.
fn strip_date(id: &str) -> &str {
    match id.rsplit_once('-') {
        Some((head, tail)) if tail.len() == 8 && tail.chars().all(|c| c.is_ascii_digit()) => head,
        _ => id,
    }
}

// ---------------------------------------------------------------------------
// File shape and validation.

#[derive(Deserialize)]
struct CatalogFile {
    provider_models: BTreeMap<String, ProviderFile>,
    #[serde(default)]
    tier_candidates: BTreeMap<String, Vec<CandidateFile>>,
    #[serde(default)]
    routing: Option<RoutingFile>,
}

#[derive(Deserialize)]
struct ProviderFile {
    #[serde(default)]
    #[allow(dead_code)]
    // part of the seed's shape; credentials come from the keychain/AWS chain
    key_env: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    extra_env: Vec<String>,
    #[serde(default)]
    models: Vec<ModelFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    name: String,
    id: String,
    display: Option<String>,
    price: Option<Price>,
    context_window: Option<u32>,
    max_output: Option<u32>,
    #[serde(default)]
    capabilities: Vec<Capability>,
    #[serde(default)]
    sampling: SamplingRule,
}

#[derive(Deserialize)]
struct CandidateFile {
    provider: String,
    model: String,
    #[serde(default)]
    display: String,
    #[serde(default)]
    cost: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingFile {
    #[serde(default)]
    categories: BTreeMap<Category, Tier>,
    #[serde(default)]
    custom_patterns: Vec<CustomPattern>,
}

struct Validator<'a> {
    src: &'a str,
    origin: &'a str,
}

impl Validator<'_> {
    fn error(&self, needle: &str, occurrence: usize, message: String) -> CatalogError {
        CatalogError::Invalid {
            origin: self.origin.to_owned(),
            line: line_of(self.src, needle, occurrence),
            message,
        }
    }

    fn build(&self, file: CatalogFile) -> Result<Catalog, CatalogError> {
        let mut models = Vec::new();
        let mut seen = HashSet::new();
        for (provider, section) in file.provider_models {
            if provider != "bedrock" {
                tracing::warn!(%provider, "catalog: only the bedrock provider is served; section ignored");
                continue;
            }
            for m in section.models {
                let occurrence = usize::from(!seen.insert(m.name.clone()));
                if occurrence > 0 {
                    return Err(self.error(
                        &format!("name: {}", m.name),
                        occurrence,
                        format!("duplicate model name `{}`", m.name),
                    ));
                }
                models.push(self.model(&provider, m)?);
            }
        }

        let mut tiers = BTreeMap::new();
        for (tier_name, candidates) in file.tier_candidates {
            let tier = match tier_name.as_str() {
                "low" => Tier::Low,
                "mid" => Tier::Mid,
                "top" => Tier::Top,
                other => {
                    return Err(self.error(
                        &format!("{other}:"),
                        0,
                        format!(
                            "unknown tier `{other}` in tier_candidates (expected low, mid or top)"
                        ),
                    ));
                }
            };
            let mut resolved = Vec::new();
            for c in candidates {
                if c.provider != "bedrock" {
                    continue;
                }
                let wanted = c.model.strip_prefix("bedrock/").unwrap_or(&c.model);
                let index = models
                    .iter()
                    .position(|m| m.profile_id == wanted || m.name == c.model)
                    .ok_or_else(|| {
                        self.error(
                            &c.model,
                            0,
                            format!(
                                "tier `{tier}` names model `{}`, which is not in provider_models.bedrock.models",
                                c.model
                            ),
                        )
                    })?;
                resolved.push(TierCandidate {
                    provider: c.provider,
                    model: index,
                    display: c.display,
                    cost: c.cost,
                });
            }
            tiers.insert(tier, resolved);
        }

        let routing_file = file.routing.unwrap_or(RoutingFile {
            categories: BTreeMap::new(),
            custom_patterns: Vec::new(),
        });
        let mut categories: BTreeMap<Category, Tier> = Category::ALL
            .into_iter()
            .map(|c| (c, c.default_tier()))
            .collect();
        categories.extend(routing_file.categories);
        for p in &routing_file.custom_patterns {
            if let Err(e) = regex::Regex::new(&p.pattern) {
                return Err(self.error(
                    &p.pattern,
                    0,
                    format!("custom pattern is not a valid regex: {e}"),
                ));
            }
        }
        Ok(Catalog {
            models,
            tiers,
            routing: RoutingRules {
                categories,
                custom_patterns: routing_file.custom_patterns,
            },
        })
    }

    fn model(&self, provider: &str, m: ModelFile) -> Result<Model, CatalogError> {
        let profile_id = m.id.strip_prefix("bedrock/").unwrap_or(&m.id).to_owned();
        if let Some(advice) = profile_id_advice(&profile_id) {
            return Err(self.error(&m.id, 0, format!("model `{}`: {advice}", m.name)));
        }
        let price = m.price.ok_or_else(|| {
            self.error(
                &m.name,
                0,
                format!("model `{}` has no price (input, output, cache_read, cache_write per million tokens)", m.name),
            )
        })?;
        let fields = [
            ("input", price.input),
            ("output", price.output),
            ("cache_read", price.cache_read),
            ("cache_write", price.cache_write),
            ("regional_premium", price.regional_premium),
        ];
        if let Some((field, value)) = fields.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
            return Err(self.error(
                &m.name,
                0,
                format!(
                    "model `{}`: price {field} is {value}; prices must be zero or more",
                    m.name
                ),
            ));
        }
        Ok(Model {
            display: m.display.unwrap_or_else(|| m.name.clone()),
            name: m.name,
            provider: provider.to_owned(),
            profile_id,
            price,
            context_window: m.context_window.unwrap_or(200_000),
            max_output: m.max_output.unwrap_or(8_192),
            capabilities: m.capabilities,
            sampling: m.sampling,
        })
    }
}

/// 1-based line of the `occurrence`-th (0-based) appearance of `needle`, or 1.
fn line_of(src: &str, needle: &str, occurrence: usize) -> usize {
    src.match_indices(needle)
        .nth(occurrence)
        .map_or(1, |(at, _)| src[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_model(id: &str, price: &str) -> String {
        format!(
            "provider_models:\n  bedrock:\n    models:\n      - name: bedrock/m\n        id: {id}\n        price: {price}\n"
        )
    }

    const OK_PRICE: &str = "{ input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 }";

    #[test]
    fn builtin_catalog_loads_with_four_models_and_all_tiers() {
        let c = Catalog::builtin().unwrap();
        assert_eq!(c.models().len(), 4);
        for tier in Tier::ALL {
            assert!(
                c.tier_candidates(tier).next().is_some(),
                "tier {tier} is empty"
            );
        }
        let opus = c.model("bedrock/claude-opus-4-6").unwrap();
        assert_eq!(opus.profile_id, "us.anthropic.claude-opus-4-6-v1");
        assert_eq!(opus.price.input, 5.0);
        assert_eq!(opus.price.output, 25.0);
    }

    #[test]
    fn seed_shape_loads_unchanged() {
        let seed = r#"
provider_models:
  bedrock:
    key_env: AWS_ACCESS_KEY_ID
    extra_env:
      - AWS_SECRET_ACCESS_KEY
      - AWS_REGION_NAME
    models:
      - name: bedrock/claude-opus-4-6
        id: bedrock/us.anthropic.claude-opus-4-6-v1
        price: { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25 }
tier_candidates:
  top:
    - provider: bedrock
      model: bedrock/us.anthropic.claude-opus-4-6-v1
      display: "Claude-Opus-4.6 (Bedrock)"
      cost: "$15.00/M"
"#;
        let c = Catalog::parse(seed, "seed.yaml").unwrap();
        let (cand, model) = c.tier_candidates(Tier::Top).next().unwrap();
        assert_eq!(cand.display, "Claude-Opus-4.6 (Bedrock)");
        assert_eq!(model.name, "bedrock/claude-opus-4-6");
    }

    #[test]
    fn bare_id_is_rejected_naming_the_profile_id() {
        let err = Catalog::parse(
            &with_model(
                "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
                OK_PRICE,
            ),
            "x.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("x.yaml:5:"), "{err}");
        assert!(
            err.contains("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "{err}"
        );
        assert!(
            err.contains("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "{err}"
        );
    }

    #[test]
    fn shortened_id_is_rejected_naming_the_full_id() {
        let err = Catalog::parse(
            &with_model("us.anthropic.claude-sonnet-4-5-v1", OK_PRICE),
            "x.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("shortened"), "{err}");
        assert!(
            err.contains("`us.anthropic.claude-sonnet-4-5-20250929-v1:0`"),
            "{err}"
        );
    }

    #[test]
    fn bare_shortened_id_suggests_the_full_profile() {
        let advice = profile_id_advice("anthropic.claude-haiku-4-5").unwrap();
        assert!(
            advice.contains("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
            "{advice}"
        );
    }

    #[test]
    fn geography_without_that_profile_is_rejected() {
        let advice = profile_id_advice("jp.anthropic.claude-haiku-4-5-20251001-v1:0").unwrap();
        assert!(
            advice.contains("global.anthropic.claude-haiku-4-5-20251001-v1:0"),
            "{advice}"
        );
    }

    #[test]
    fn future_and_arn_ids_are_accepted() {
        assert_eq!(profile_id_advice("us.anthropic.claude-opus-4-8"), None);
        assert_eq!(
            profile_id_advice(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"
            ),
            None
        );
    }

    #[test]
    fn negative_price_is_rejected_with_line() {
        let src = with_model(
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "{ input: -3, output: 15, cache_read: 0.3, cache_write: 3.75 }",
        );
        let err = Catalog::parse(&src, "p.yaml").unwrap_err().to_string();
        assert!(err.starts_with("p.yaml:4:"), "{err}");
        assert!(err.contains("price input is -3"), "{err}");
    }

    #[test]
    fn duplicate_name_is_rejected_with_line_of_second() {
        let src = format!(
            "{}      - name: bedrock/m\n        id: us.anthropic.claude-sonnet-4-20250514-v1:0\n        price: {OK_PRICE}\n",
            with_model("us.anthropic.claude-sonnet-4-20250514-v1:0", OK_PRICE)
        );
        let err = Catalog::parse(&src, "d.yaml").unwrap_err().to_string();
        assert!(err.starts_with("d.yaml:7:"), "{err}");
        assert!(err.contains("duplicate model name"), "{err}");
    }

    #[test]
    fn unknown_tier_is_rejected_with_line() {
        let src = format!(
            "{}tier_candidates:\n  ultra:\n    - provider: bedrock\n      model: bedrock/m\n",
            with_model("us.anthropic.claude-sonnet-4-20250514-v1:0", OK_PRICE)
        );
        let err = Catalog::parse(&src, "t.yaml").unwrap_err().to_string();
        assert!(err.starts_with("t.yaml:8:"), "{err}");
        assert!(err.contains("unknown tier `ultra`"), "{err}");
    }

    #[test]
    fn yaml_syntax_error_has_line() {
        let err = Catalog::parse("provider_models:\n  bedrock: [\n", "s.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.yaml:"), "{err}");
    }

    #[test]
    fn model_lookup_by_name_profile_and_anthropic_names() {
        let c = Catalog::builtin().unwrap();
        let by = |s: &str| c.model(s).map(|m| m.name.clone());
        let sonnet = Some("bedrock/claude-sonnet-4-5".to_owned());
        assert_eq!(by("bedrock/claude-sonnet-4-5"), sonnet);
        assert_eq!(by("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), sonnet);
        assert_eq!(
            by("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            sonnet
        );
        assert_eq!(by("claude-sonnet-4-5-20250929"), sonnet);
        assert_eq!(by("claude-sonnet-4-5"), sonnet);
        assert_eq!(
            by("claude-opus-4-6"),
            Some("bedrock/claude-opus-4-6".to_owned())
        );
        assert_eq!(by("gpt-4o"), None);
    }

    #[test]
    fn regional_profiles_cost_the_premium_more_than_global() {
        let c = Catalog::builtin().unwrap();
        let opus = c.model("bedrock/claude-opus-4-6").unwrap();
        let usage = TokenUsage {
            input: 1_000_000,
            output: 1_000_000,
            cache_read: 1_000_000,
            cache_write: 1_000_000,
        };
        let global = opus.cost_usd("global.anthropic.claude-opus-4-6-v1", usage);
        let us = opus.cost_usd("us.anthropic.claude-opus-4-6-v1", usage);
        assert!(
            (global - (5.0 + 25.0 + 0.5 + 6.25)).abs() < 1e-9,
            "{global}"
        );
        assert!((us - global * 1.1).abs() < 1e-9, "{us}");
        let sonnet4 = c.model("bedrock/claude-sonnet-4").unwrap();
        let one_in = TokenUsage {
            input: 1_000_000,
            ..TokenUsage::default()
        };
        assert_eq!(sonnet4.cost_usd(&sonnet4.profile_id, one_in), 3.0);
    }

    #[test]
    fn geography_rewrite_and_global_fallback_id() {
        let builtin = Catalog::builtin().unwrap();
        let us_opus = builtin.model("bedrock/claude-opus-4-6").unwrap();
        assert_eq!(
            us_opus.global_profile_id().as_deref(),
            Some("global.anthropic.claude-opus-4-6-v1")
        );
        let c = builtin.with_geography(Geography::Eu);
        let opus = c.model("bedrock/claude-opus-4-6").unwrap();
        assert_eq!(opus.profile_id, "eu.anthropic.claude-opus-4-6-v1");
        assert_eq!(
            opus.global_profile_id(),
            None,
            "eu. keeps data in the region"
        );
        let g = c.with_geography(Geography::Global);
        assert_eq!(
            g.model("bedrock/claude-opus-4-6")
                .unwrap()
                .global_profile_id(),
            None
        );
    }
}
