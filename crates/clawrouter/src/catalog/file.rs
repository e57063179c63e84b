//! The file's shape and its validation into a [`Catalog`].

use std::collections::{BTreeMap, HashSet};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::ids::{self, Geography, KnownId, split_profile_id};
use super::{
    Accepts, Capability, Catalog, CatalogError, Category, CustomPattern, Lifecycle,
    LifecycleStatus, Model, Price, RoutingRules, SamplingRule, Thinking, Tier, TierCandidate,
};

/// Defaults for a model neither the file nor the built-in catalog describes.
const DEFAULT_CONTEXT_WINDOW: u32 = 200_000;
const DEFAULT_MAX_OUTPUT: u32 = 8_192;

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
    // `key_env` and `extra_env` are part of the seed's shape; credentials come
    // from the keychain and the AWS chain, so they are accepted and unused.
    #[serde(default)]
    #[allow(dead_code)]
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
    geographies: Option<Vec<Geography>>,
    lifecycle: Option<LifecycleFile>,
    price: Option<Price>,
    context_window: Option<u32>,
    max_output: Option<u32>,
    capabilities: Option<Vec<Capability>>,
    thinking: Option<Thinking>,
    sampling: Option<SamplingRule>,
    forced_tool_choice: Option<bool>,
    min_cache_tokens: Option<u32>,
    accepts: Option<Accepts>,
}

/// `lifecycle: active`, or the full form with a date and a replacement.
#[derive(Deserialize)]
#[serde(untagged)]
enum LifecycleFile {
    Status(LifecycleStatus),
    Full(Lifecycle),
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

/// Parses `src`; `base` (the built-in catalog) fills in what a model the
/// base knows leaves out. Without a base every model must be complete.
pub(super) fn parse(
    src: &str,
    origin: &str,
    base: Option<&Catalog>,
) -> Result<Catalog, CatalogError> {
    let file: CatalogFile = serde_yaml::from_str(src).map_err(|e| CatalogError::Invalid {
        origin: origin.to_owned(),
        line: e.location().map_or(1, |l| l.line()),
        message: e.to_string(),
    })?;
    Validator { src, origin, base }.build(file)
}

struct Validator<'a> {
    src: &'a str,
    origin: &'a str,
    base: Option<&'a Catalog>,
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
        let mut entries = Vec::new();
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
                entries.push((provider.clone(), m));
            }
        }
        // Id advice knows the built-in catalog's ids; the built-in file itself
        // (no base) is checked against its own.
        let own: Vec<(String, Vec<Geography>)> = entries
            .iter()
            .filter_map(|(_, m)| {
                let id = m.id.strip_prefix("bedrock/").unwrap_or(&m.id);
                let (_, base) = split_profile_id(id)?;
                Some((base.to_owned(), m.geographies.clone().unwrap_or_default()))
            })
            .collect();
        let known: Vec<KnownId<'_>> = match self.base {
            Some(base) => base.known_ids(),
            None => own
                .iter()
                .map(|(base_id, geographies)| KnownId {
                    base_id,
                    geographies,
                })
                .collect(),
        };

        let mut models = Vec::new();
        for (provider, m) in entries {
            models.push(self.model(&provider, m, &known)?);
        }
        self.check_replacements(&models)?;
        let tiers = self.tiers(file.tier_candidates, &models)?;
        let routing = self.routing(file.routing)?;
        Ok(Catalog {
            models,
            tiers,
            routing,
        })
    }

    fn model(
        &self,
        provider: &str,
        m: ModelFile,
        known: &[KnownId<'_>],
    ) -> Result<Model, CatalogError> {
        let profile_id = m.id.strip_prefix("bedrock/").unwrap_or(&m.id).to_owned();
        if let Some(advice) = ids::advice(&profile_id, known) {
            return Err(self.error(&m.id, 0, format!("model `{}`: {advice}", m.name)));
        }
        if let (Some(geos), Some((geo, _))) = (&m.geographies, split_profile_id(&profile_id))
            && !geos.is_empty()
            && !geos.contains(&geo)
        {
            return Err(self.error(
                &m.id,
                0,
                format!(
                    "model `{}`: `{profile_id}` is in `{}.`, which is not one of its geographies",
                    m.name,
                    geo.prefix()
                ),
            ));
        }
        let inherited = split_profile_id(&profile_id).and_then(|(_, base_id)| {
            self.base?
                .models()
                .iter()
                .find(|b| b.base_id() == Some(base_id))
        });
        let at_name = format!("name: {}", m.name);
        let price = m
            .price
            .or_else(|| inherited.map(|b| b.price.clone()))
            .ok_or_else(|| {
                self.error(
                    &at_name,
                    0,
                    format!(
                        "model `{}` has no price (input, output, cache_read, cache_write per \
                         million tokens), and `{profile_id}` is not a model the built-in \
                         catalog knows",
                        m.name
                    ),
                )
            })?;
        if let Some((field, value)) = price.fields().into_iter().find(|(_, v)| *v < Decimal::ZERO) {
            return Err(self.error(
                &at_name,
                0,
                format!(
                    "model `{}`: price {field} is {value}; prices must be zero or more",
                    m.name
                ),
            ));
        }
        let lifecycle = match m.lifecycle {
            Some(LifecycleFile::Status(status)) => Lifecycle {
                status,
                date: None,
                replacement: None,
            },
            Some(LifecycleFile::Full(l)) => l,
            None => inherited.map(|b| b.lifecycle.clone()).ok_or_else(|| {
                self.error(
                    &at_name,
                    0,
                    format!(
                        "model `{}` has no lifecycle (active, legacy or eol), and \
                             `{profile_id}` is not a model the built-in catalog knows",
                        m.name
                    ),
                )
            })?,
        };
        if let Some(date) = &lifecycle.date
            && !is_iso_date(date)
        {
            return Err(self.error(
                date,
                0,
                format!(
                    "model `{}`: lifecycle date `{date}` is not YYYY-MM-DD",
                    m.name
                ),
            ));
        }
        // The built-in file states every model's betas; a file of the user's
        // inherits them, and a model nobody describes gets none: Bedrock fails
        // a request over an unknown beta, while a dropped one only loses an
        // optional feature.
        let accepts = match (m.accepts, inherited) {
            (Some(accepts), _) => accepts,
            (None, Some(b)) => b.accepts.clone(),
            (None, None) if self.base.is_none() => {
                return Err(self.error(
                    &at_name,
                    0,
                    format!(
                        "model `{}` has no `accepts` (the betas and optional fields Bedrock \
                         takes for it); the built-in catalog states it for every model",
                        m.name
                    ),
                ));
            }
            (None, None) => Accepts::default(),
        };
        Ok(Model {
            accepts,
            discovered: false,
            display: m
                .display
                .or_else(|| inherited.map(|b| b.display.clone()))
                .unwrap_or_else(|| m.name.clone()),
            provider: provider.to_owned(),
            profile_id,
            geographies: m
                .geographies
                .or_else(|| inherited.map(|b| b.geographies.clone()))
                .unwrap_or_default(),
            lifecycle,
            price,
            context_window: m
                .context_window
                .or_else(|| inherited.map(|b| b.context_window))
                .unwrap_or(DEFAULT_CONTEXT_WINDOW),
            max_output: m
                .max_output
                .or_else(|| inherited.map(|b| b.max_output))
                .unwrap_or(DEFAULT_MAX_OUTPUT),
            capabilities: m
                .capabilities
                .or_else(|| inherited.map(|b| b.capabilities.clone()))
                .unwrap_or_default(),
            thinking: m
                .thinking
                .or_else(|| inherited.map(|b| b.thinking.clone()))
                .unwrap_or_default(),
            sampling: m
                .sampling
                .or_else(|| inherited.map(|b| b.sampling))
                .unwrap_or_default(),
            forced_tool_choice: m
                .forced_tool_choice
                .or_else(|| inherited.map(|b| b.forced_tool_choice))
                .unwrap_or(true),
            min_cache_tokens: m
                .min_cache_tokens
                .or_else(|| inherited.map(|b| b.min_cache_tokens))
                .unwrap_or(super::LARGEST_MIN_CACHE_TOKENS),
            name: m.name,
        })
    }

    /// A replacement names a model of this file or of the built-in catalog.
    fn check_replacements(&self, models: &[Model]) -> Result<(), CatalogError> {
        let exists = |name: &str| {
            models.iter().any(|m| m.name == name)
                || self
                    .base
                    .is_some_and(|b| b.models().iter().any(|m| m.name == name))
        };
        for m in models {
            if let Some(r) = &m.lifecycle.replacement
                && !exists(r)
            {
                return Err(self.error(
                    &format!("replacement: {r}"),
                    0,
                    format!(
                        "model `{}`: replacement `{r}` is not a model of this catalog",
                        m.name
                    ),
                ));
            }
        }
        Ok(())
    }

    fn tiers(
        &self,
        file: BTreeMap<String, Vec<CandidateFile>>,
        models: &[Model],
    ) -> Result<BTreeMap<Tier, Vec<TierCandidate>>, CatalogError> {
        let mut tiers = BTreeMap::new();
        for (tier_name, candidates) in file {
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
        Ok(tiers)
    }

    fn routing(&self, file: Option<RoutingFile>) -> Result<RoutingRules, CatalogError> {
        let file = file.unwrap_or(RoutingFile {
            categories: BTreeMap::new(),
            custom_patterns: Vec::new(),
        });
        let mut categories: BTreeMap<Category, Tier> = Category::ALL
            .into_iter()
            .map(|c| (c, c.default_tier()))
            .collect();
        categories.extend(file.categories);
        for p in &file.custom_patterns {
            if let Err(e) = regex::Regex::new(&p.pattern) {
                return Err(self.error(
                    &p.pattern,
                    0,
                    format!("custom pattern is not a valid regex: {e}"),
                ));
            }
        }
        Ok(RoutingRules {
            categories,
            custom_patterns: file.custom_patterns,
        })
    }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// 1-based line of the `occurrence`-th (0-based) appearance of `needle`, or 1.
fn line_of(src: &str, needle: &str, occurrence: usize) -> usize {
    src.match_indices(needle)
        .nth(occurrence)
        .map_or(1, |(at, _)| src[..at].matches('\n').count() + 1)
}
