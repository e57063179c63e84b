//! The request rules a model enforces, as `models.yaml` states them: which
//! thinking form it takes, which sampling parameters, whether it accepts a
//! forced tool choice. Translation asks these; it knows no model by name.

use serde::{Deserialize, Serialize};

/// How a model takes extended thinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingStyle {
    /// Only `{"type":"enabled","budget_tokens":N}` (Claude 4.5 and earlier).
    #[default]
    Budget,
    /// `{"type":"adaptive"}` with `output_config.effort`, or the budget form
    /// (deprecated but accepted: Claude 4.6).
    AdaptiveOrBudget,
    /// Only adaptive; the budget form is a 400. Thinking may be turned off.
    Adaptive,
    /// Only adaptive, and `{"type":"disabled"}` is a 400 too.
    AlwaysOn,
}

impl ThinkingStyle {
    pub fn takes_budget(self) -> bool {
        matches!(
            self,
            ThinkingStyle::Budget | ThinkingStyle::AdaptiveOrBudget
        )
    }

    pub fn takes_adaptive(self) -> bool {
        !matches!(self, ThinkingStyle::Budget)
    }

    /// Whether the model thinks when a request says nothing of thinking, so
    /// that "no thinking" must be asked for (the adaptive-only styles).
    pub fn thinks_unasked(self) -> bool {
        matches!(self, ThinkingStyle::Adaptive | ThinkingStyle::AlwaysOn)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ThinkingStyle::Budget => "budget",
            ThinkingStyle::AdaptiveOrBudget => "adaptive_or_budget",
            ThinkingStyle::Adaptive => "adaptive",
            ThinkingStyle::AlwaysOn => "always_on",
        }
    }
}

/// `output_config.effort` levels, least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

impl Effort {
    pub const ALL: [Effort; 5] = [
        Effort::Low,
        Effort::Medium,
        Effort::High,
        Effort::Xhigh,
        Effort::Max,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Xhigh => "xhigh",
            Effort::Max => "max",
        }
    }

    pub fn parse(s: &str) -> Option<Effort> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Which sampling parameters (`temperature`, `top_p`, `top_k`) the model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SamplingRule {
    /// `temperature` and `top_p` may both be sent.
    #[default]
    Any,
    /// Only one of `temperature` / `top_p` (Sonnet 4.5, Haiku 4.5 and later 4.x).
    TemperatureOrTopP,
    /// None may be set to a custom value (Claude Opus 4.7 and later, the 5.x family).
    Rejected,
}

/// What Bedrock's Anthropic body takes for this model beyond the fields every
/// Claude model takes (those are protocol facts, in `anthropic::accepts`):
/// the `anthropic_beta` flags it knows and the optional body fields it allows
/// (e.g. `cache_control.ttl`). Anything else is dropped before sending,
/// because Bedrock fails a whole request over one flag or field it does not know.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepts {
    #[serde(default)]
    pub betas: Vec<String>,
    #[serde(default)]
    pub fields: Vec<String>,
}

impl Accepts {
    pub fn beta(&self, beta: &str) -> bool {
        self.betas.iter().any(|b| b == beta)
    }

    pub fn field(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f == field)
    }
}

/// Thinking as the model takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thinking {
    #[serde(default)]
    pub style: ThinkingStyle,
    /// The `output_config.effort` levels accepted; empty when the model has
    /// no effort parameter.
    #[serde(default)]
    pub efforts: Vec<Effort>,
    /// How the model is asked to think as little as it can, when that is not
    /// the plain `{"type": "disabled"}` its style implies (see
    /// [`Thinking::turned_off`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<ThinkingOff>,
    /// How the model returns its thinking when a request names no
    /// `thinking.display`.
    #[serde(default, skip_serializing_if = "ThinkingDisplay::is_summarized")]
    pub display: ThinkingDisplay,
}

/// `thinking.display`: whether thinking blocks carry the thinking's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingDisplay {
    /// A summary of the thinking (every model before Opus 4.7).
    #[default]
    Summarized,
    /// Empty text; the signature still carries the thinking, and it is
    /// billed all the same.
    Omitted,
}

impl ThinkingDisplay {
    fn is_summarized(&self) -> bool {
        *self == ThinkingDisplay::Summarized
    }
}

/// The `thinking` a model takes for "no thinking", and the most effort it
/// allows with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThinkingOff {
    #[serde(rename = "type")]
    pub kind: ThinkingOffKind,
    /// Above it the request is a 400 (or is capped by Bedrock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_effort: Option<Effort>,
}

/// The `thinking.type` values that turn up-front thinking off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingOffKind {
    /// No thinking at all.
    Disabled,
    /// No thinking before the answer; short notes between tool calls only
    /// (Claude Sonnet 5.5, where `disabled` is a 400).
    BetweenTools,
}

impl ThinkingOffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ThinkingOffKind::Disabled => "disabled",
            ThinkingOffKind::BetweenTools => "between_tools",
        }
    }

    pub fn parse(s: &str) -> Option<ThinkingOffKind> {
        [ThinkingOffKind::Disabled, ThinkingOffKind::BetweenTools]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

impl Default for Thinking {
    fn default() -> Self {
        Thinking {
            style: ThinkingStyle::Budget,
            efforts: Vec::new(),
            off: None,
            display: ThinkingDisplay::Summarized,
        }
    }
}

impl Thinking {
    /// What to send when a client turns thinking off: the model's own form
    /// if `models.yaml` names one, else `disabled`, or `None` when the model
    /// always thinks.
    pub fn turned_off(&self) -> Option<ThinkingOff> {
        self.off.or(match self.style {
            ThinkingStyle::AlwaysOn => None,
            _ => Some(ThinkingOff {
                kind: ThinkingOffKind::Disabled,
                max_effort: None,
            }),
        })
    }

    /// The accepted effort nearest to `wanted` (ties go to the higher one:
    /// a client asking for more thought than exists gets the most there is).
    pub fn nearest_effort(&self, wanted: Effort) -> Option<Effort> {
        self.efforts
            .iter()
            .copied()
            .min_by_key(|e| ((*e as i8 - wanted as i8).abs(), std::cmp::Reverse(*e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_effort_prefers_exact_then_higher() {
        let t = Thinking {
            style: ThinkingStyle::Adaptive,
            efforts: vec![Effort::Low, Effort::Medium, Effort::High],
            ..Thinking::default()
        };
        assert_eq!(t.nearest_effort(Effort::Medium), Some(Effort::Medium));
        assert_eq!(t.nearest_effort(Effort::Max), Some(Effort::High));
        let sparse = Thinking {
            style: ThinkingStyle::Adaptive,
            efforts: vec![Effort::Low, Effort::High],
            ..Thinking::default()
        };
        assert_eq!(sparse.nearest_effort(Effort::Medium), Some(Effort::High));
        assert_eq!(Thinking::default().nearest_effort(Effort::High), None);
    }
}
