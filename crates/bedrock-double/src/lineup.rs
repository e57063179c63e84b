//! The Claude models this double plays, loaded from `claude-models.yaml`
//! (data, with sources), and how a model id in a request names one of them:
//! a geography's inference profile, an inference-profile ARN, or a bare base
//! id (which Bedrock refuses to invoke on demand).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::dates;
use crate::errors::{ApiError, ErrorKind};

const TABLE: &str = include_str!("../claude-models.yaml");

/// Launch date given to a `--extra-model` (any past date does).
const EXTRA_MODEL_START: &str = "2026-11-01";

pub const INVALID_MODEL: &str = "The provided model identifier is invalid.";
/// What an end-of-life model answers, with ResourceNotFoundException (404),
/// as InvokeModel returns it for a retired model (quoted in CloudWatch logs
/// users post, and in maximhq/bifrost's Bedrock provider tests).
pub const END_OF_LIFE: &str = "This model version has reached the end of its life. Please refer to the AWS documentation for more details.";
/// AccessDeniedException (403) for a model the account has no access to.
pub const NO_ACCESS: &str = "You don't have access to the model with the specified model ID.";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lineup {
    geographies: BTreeMap<String, Geography>,
    pub models: Vec<Model>,
}

/// A cross-region inference profile's geography.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geography {
    /// Region-name prefixes a caller may use the profile from (`""`: any).
    sources: Vec<String>,
    /// Regions the profile routes to.
    pub destinations: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Base id, e.g. `anthropic.claude-sonnet-5-5`.
    pub id: String,
    pub name: String,
    /// Geography prefixes that offer a profile (`us`, `eu`, `global`, …).
    pub geographies: Vec<String>,
    pub lifecycle: Lifecycle,
    pub max_output_tokens: u64,
    pub thinking: ThinkingStyle,
    /// A `thinking.type` besides `disabled` that turns up-front thinking off
    /// on this model (`between_tools`), and the most effort it allows.
    #[serde(default)]
    pub thinking_off: Option<ThinkingOff>,
    /// Thinks when a request says nothing of thinking (besides `always_on`
    /// models, which always do).
    #[serde(default)]
    thinks_unasked: bool,
    /// How thinking comes back when a request names no `thinking.display`.
    #[serde(default)]
    pub thinking_display: ThinkingDisplay,
    /// Takes `thinking.display: updates` under its beta.
    #[serde(default)]
    pub display_updates: bool,
    /// Refuses thinking blocks another model signed.
    #[serde(default)]
    pub thinking_bound: bool,
    /// The account data retention modes the model serves under; empty: any.
    #[serde(default)]
    pub data_retention: Vec<String>,
    #[serde(default)]
    pub sampling: SamplingRule,
    pub forced_tool_choice: bool,
    /// Fewest tokens a cache point must add to be cached.
    pub min_cache_tokens: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThinkingOff {
    #[serde(rename = "type")]
    pub kind: String,
    /// `output_config.effort` levels it is refused at.
    pub refused_efforts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    pub status: LifecycleStatus,
    /// `YYYY-MM-DD` dates.
    pub start: String,
    pub legacy: Option<String>,
    pub end_of_life: Option<String>,
}

/// ListFoundationModels' `FoundationModelLifecycleStatus` (ACTIVE | LEGACY).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum LifecycleStatus {
    #[serde(rename = "ACTIVE")]
    Active,
    #[serde(rename = "LEGACY")]
    Legacy,
}

impl LifecycleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStatus::Active => "ACTIVE",
            LifecycleStatus::Legacy => "LEGACY",
        }
    }
}

/// Which `thinking` forms the model takes.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingStyle {
    Budget,
    AdaptiveOrBudget,
    Adaptive,
    AlwaysOn,
}

/// `thinking.display`: whether thinking blocks carry their text.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingDisplay {
    #[default]
    Summarized,
    /// Empty text; the signature still carries the thinking.
    Omitted,
}

impl ThinkingDisplay {
    /// The value a request names, if the API knows it.
    pub fn parse(value: &str) -> Option<ThinkingDisplay> {
        match value {
            "summarized" => Some(ThinkingDisplay::Summarized),
            "omitted" => Some(ThinkingDisplay::Omitted),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SamplingParam {
    Temperature,
    TopP,
    TopK,
}

impl SamplingParam {
    pub fn name(self) -> &'static str {
        match self {
            SamplingParam::Temperature => "temperature",
            SamplingParam::TopP => "top_p",
            SamplingParam::TopK => "top_k",
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SamplingRule {
    /// `temperature` and `top_p` may not both be sent.
    #[serde(default)]
    pub exclusive: bool,
    /// Parameters whose non-default values are a 400.
    #[serde(default)]
    pub rejected: Vec<SamplingParam>,
}

/// What a request's model id names.
#[derive(Debug)]
pub enum Target<'a> {
    /// A system-defined cross-region inference profile: callable.
    Profile(&'a Model),
    /// The base model id: a foundation model, not callable on demand.
    Bare(&'a Model),
}

impl<'a> Target<'a> {
    pub fn model(&self) -> &'a Model {
        match self {
            Target::Profile(model) | Target::Bare(model) => model,
        }
    }
}

impl Lineup {
    /// The table compiled into the double.
    pub fn builtin() -> Result<Lineup, String> {
        let lineup: Lineup = serde_yaml::from_str(TABLE)
            .map_err(|e| format!("claude-models.yaml does not parse: {e}"))?;
        lineup.check()?;
        Ok(lineup)
    }

    fn check(&self) -> Result<(), String> {
        for model in &self.models {
            if let Some(geo) = model
                .geographies
                .iter()
                .find(|g| !self.geographies.contains_key(*g))
            {
                return Err(format!("{}: unknown geography {geo}", model.id));
            }
            let dates = [&model.lifecycle.legacy, &model.lifecycle.end_of_life];
            let bad_date = std::iter::once(&model.lifecycle.start)
                .chain(dates.into_iter().flatten())
                .find(|d| dates::parse_iso_date(d).is_none());
            if let Some(date) = bad_date {
                return Err(format!("{}: {date} is not a YYYY-MM-DD date", model.id));
            }
        }
        Ok(())
    }

    pub fn geography(&self, prefix: &str) -> Option<&Geography> {
        self.geographies.get(prefix)
    }

    pub fn model(&self, base_id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == base_id)
    }

    /// Resolves a model id as Bedrock Runtime reads it from the path.
    pub fn resolve(&self, model_id: &str) -> Result<Target<'_>, ApiError> {
        let invalid = || ApiError::validation(INVALID_MODEL);
        let id = match model_id.strip_prefix("arn:") {
            Some(arn) => arn_resource(arn).ok_or_else(invalid)?,
            None => model_id,
        };
        if let Some(model) = self.model(id) {
            return Ok(Target::Bare(model));
        }
        let (geography, base) = id.split_once('.').ok_or_else(invalid)?;
        let model = self.model(base).ok_or_else(invalid)?;
        if !model.geographies.iter().any(|g| g == geography) {
            return Err(invalid());
        }
        Ok(Target::Profile(model))
    }

    /// Adds a Claude model the table lacks (`base_id`, e.g.
    /// `anthropic.claude-foo-9-9`), the way Bedrock adds a newly launched one:
    /// a profile in every geography, active, 128K output, and no rule beyond
    /// those every Claude model has (both thinking forms, any sampling,
    /// forced tool choice), so any client request is one it takes.
    pub fn with_extra(&mut self, base_id: &str) -> Result<(), String> {
        let Some(short) = base_id.strip_prefix("anthropic.claude-") else {
            return Err("a Claude base id starts with `anthropic.claude-`".to_owned());
        };
        if short.is_empty() || short.contains('.') {
            return Err(
                "not a base id (no geography prefix, e.g. anthropic.claude-foo-9-9)".to_owned(),
            );
        }
        if self.model(base_id).is_some() {
            return Err("already in claude-models.yaml".to_owned());
        }
        self.models.push(Model {
            id: base_id.to_owned(),
            name: format!("Claude {short}"),
            geographies: self.geographies.keys().cloned().collect(),
            lifecycle: Lifecycle {
                status: LifecycleStatus::Active,
                start: EXTRA_MODEL_START.to_owned(),
                legacy: None,
                end_of_life: None,
            },
            max_output_tokens: 128_000,
            thinking: ThinkingStyle::AdaptiveOrBudget,
            thinking_off: None,
            thinks_unasked: false,
            thinking_display: ThinkingDisplay::Summarized,
            display_updates: false,
            thinking_bound: false,
            data_retention: Vec::new(),
            sampling: SamplingRule::default(),
            forced_tool_choice: true,
            min_cache_tokens: 1_024,
        });
        Ok(())
    }

    /// Normalises a `--deny-model` entry (base id or profile id) to a base id.
    pub fn base_id(&self, model_id: &str) -> Option<&str> {
        self.resolve(model_id).ok().map(|t| t.model().id.as_str())
    }
}

/// `aws:bedrock:REGION:ACCOUNT:inference-profile/ID` or
/// `aws:bedrock:REGION::foundation-model/ID` → ID.
fn arn_resource(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(5, ':');
    let partition = parts.next()?;
    let service = parts.next()?;
    let (_region, _account) = (parts.next()?, parts.next()?);
    let resource = parts.next()?;
    let id = resource
        .strip_prefix("inference-profile/")
        .or_else(|| resource.strip_prefix("foundation-model/"))?;
    (partition.starts_with("aws") && service == "bedrock").then_some(id)
}

impl Model {
    /// The profile id for a geography, e.g. `us.anthropic.claude-sonnet-5-5`.
    pub fn profile_id(&self, geography: &str) -> String {
        format!("{geography}.{}", self.id)
    }

    /// Whether a request that says nothing of thinking gets some.
    pub fn thinks_unasked(&self) -> bool {
        self.thinking == ThinkingStyle::AlwaysOn || self.thinks_unasked
    }

    /// End of life on or before `today` (`YYYY-MM-DD`).
    pub fn is_end_of_life(&self, today: &str) -> bool {
        self.lifecycle
            .end_of_life
            .as_deref()
            .is_some_and(|eol| eol <= today)
    }
}

impl Geography {
    /// Whether a caller in `region` can use profiles of this geography.
    pub fn serves(&self, region: &str) -> bool {
        self.sources.iter().any(|prefix| region.starts_with(prefix))
    }
}

/// Bedrock's answer to invoking a model id without an inference profile.
pub fn on_demand_error(model_id: &str) -> ApiError {
    ApiError::validation(format!(
        "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    ))
}

pub fn end_of_life_error() -> ApiError {
    ApiError::new(ErrorKind::ResourceNotFound, END_OF_LIFE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lineup() -> Lineup {
        Lineup::builtin().unwrap()
    }

    #[test]
    fn the_table_loads_and_knows_the_current_lineup() {
        let lineup = lineup();
        for id in [
            "anthropic.claude-haiku-5-5",
            "anthropic.claude-sonnet-5-5",
            "anthropic.claude-opus-5-5",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-opus-4-6-v1",
        ] {
            assert!(lineup.model(id).is_some(), "{id}");
        }
        // 5.x ids carry no date suffix.
        let fifth_generation = |m: &&Model| {
            m.name
                .rsplit(' ')
                .next()
                .is_some_and(|v| v.starts_with('5'))
        };
        for model in lineup.models.iter().filter(fifth_generation) {
            assert!(!model.id.contains("-v1"), "{}", model.id);
        }
    }

    #[test]
    fn an_extra_model_is_offered_everywhere_and_typos_are_refused() {
        let mut lineup = lineup();
        assert!(lineup.resolve("us.anthropic.claude-foo-9-9").is_err());
        lineup.with_extra("anthropic.claude-foo-9-9").unwrap();
        for profile in [
            "us.anthropic.claude-foo-9-9",
            "global.anthropic.claude-foo-9-9",
        ] {
            assert!(
                matches!(lineup.resolve(profile), Ok(Target::Profile(_))),
                "{profile}"
            );
        }
        for bad in [
            "claude-foo-9-9",
            "us.anthropic.claude-foo-9-9",
            "anthropic.claude-opus-5-5",
        ] {
            assert!(lineup.with_extra(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn profiles_and_arns_resolve_to_their_model() {
        let lineup = lineup();
        for (id, base) in [
            (
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            (
                "global.anthropic.claude-opus-5-5",
                "anthropic.claude-opus-5-5",
            ),
            (
                "jp.anthropic.claude-sonnet-4-6",
                "anthropic.claude-sonnet-4-6",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-5-5",
                "anthropic.claude-haiku-5-5",
            ),
        ] {
            let target = lineup.resolve(id).unwrap();
            assert!(matches!(target, Target::Profile(_)), "{id}");
            assert_eq!(target.model().id, base);
        }
        let bare = lineup.resolve("anthropic.claude-haiku-5-5").unwrap();
        assert!(matches!(bare, Target::Bare(_)));
    }

    #[test]
    fn unknown_ids_and_missing_geographies_are_invalid() {
        let lineup = lineup();
        for id in [
            "gpt-4o",
            "us.amazon.nova-pro-v1:0",
            "xx.anthropic.claude-sonnet-5-5",
            "us.anthropic.claude-sonnet-4-5-v1",
            "us.anthropic.claude-opus-4-1-20250805-v1:0:",
            "au.anthropic.claude-opus-4-6-v1",
            "arn:foo",
        ] {
            assert_eq!(
                lineup.resolve(id).unwrap_err().message,
                INVALID_MODEL,
                "{id}"
            );
        }
    }

    #[test]
    fn sonnet_4_is_end_of_life_from_2026_10_14() {
        let lineup = lineup();
        let sonnet4 = lineup
            .model("anthropic.claude-sonnet-4-20250514-v1:0")
            .unwrap();
        assert!(!sonnet4.is_end_of_life("2026-10-13"));
        assert!(sonnet4.is_end_of_life("2026-10-14"));
        let opus55 = lineup.model("anthropic.claude-opus-5-5").unwrap();
        assert!(!opus55.is_end_of_life("2099-01-01"));
    }

    #[test]
    fn geographies_serve_their_regions() {
        let lineup = lineup();
        let jp = lineup.geography("jp").unwrap();
        assert!(jp.serves("ap-northeast-1") && !jp.serves("us-east-1"));
        assert!(lineup.geography("global").unwrap().serves("eu-west-3"));
        assert!(lineup.geography("us").unwrap().serves("us-west-2"));
    }
}
