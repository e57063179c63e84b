//! Prices (USD per million tokens, exact decimals) and what a request costs.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{Usd, serialize_decimal};

/// USD per million tokens at list (`global.` profile) price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[serde(serialize_with = "serialize_decimal")]
    pub input: Decimal,
    #[serde(serialize_with = "serialize_decimal")]
    pub output: Decimal,
    #[serde(serialize_with = "serialize_decimal")]
    pub cache_read: Decimal,
    /// The 5-minute cache write price.
    #[serde(serialize_with = "serialize_decimal")]
    pub cache_write: Decimal,
    /// The 1-hour cache write price. When a file leaves it out it is twice
    /// the input price, Anthropic's multiplier for every Claude model
    /// (<https://platform.claude.com/docs/en/about-claude/pricing>).
    #[serde(default, serialize_with = "serialize_optional_decimal")]
    pub cache_write_1h: Option<Decimal>,
    /// Extra fraction charged on regional (non-`global.`) profiles, e.g. 0.10.
    #[serde(default, serialize_with = "serialize_decimal")]
    pub regional_premium: Decimal,
    /// Prices for requests whose input is above a size, where a model has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_context: Option<LongContextPrice>,
}

/// The price tier for long prompts: applies to the whole request when its
/// input (uncached + cache read + cache write) is above `above_input_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "LongContextFields")]
pub struct LongContextPrice {
    pub above_input_tokens: u64,
    /// All five rates, written beside the threshold.
    #[serde(flatten)]
    pub rates: Rates,
}

/// `long_context` as a file writes it: the threshold beside the five rates.
/// Spelt out because serde cannot deny unknown fields beside a flattened
/// struct, and a stray key (say a `regional_premium` meant for the price
/// above) must be refused, not ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongContextFields {
    above_input_tokens: u64,
    input: Decimal,
    output: Decimal,
    cache_read: Decimal,
    cache_write: Decimal,
    cache_write_1h: Decimal,
}

impl From<LongContextFields> for LongContextPrice {
    fn from(f: LongContextFields) -> Self {
        LongContextPrice {
            above_input_tokens: f.above_input_tokens,
            rates: Rates {
                input: f.input,
                output: f.output,
                cache_read: f.cache_read,
                cache_write: f.cache_write,
                cache_write_1h: f.cache_write_1h,
            },
        }
    }
}

/// The five per-million rates that apply to one request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    #[serde(serialize_with = "serialize_decimal")]
    pub input: Decimal,
    #[serde(serialize_with = "serialize_decimal")]
    pub output: Decimal,
    #[serde(serialize_with = "serialize_decimal")]
    pub cache_read: Decimal,
    #[serde(serialize_with = "serialize_decimal")]
    pub cache_write: Decimal,
    #[serde(serialize_with = "serialize_decimal")]
    pub cache_write_1h: Decimal,
}

/// Token counts of one request, as Bedrock reports them (`input` excludes
/// cached tokens). `cache_write` counts every cache write; `cache_write_1h`
/// is the part of it written with the 1-hour TTL (Converse `cacheDetails`,
/// Anthropic `cache_creation.ephemeral_1h_input_tokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    #[serde(default)]
    pub cache_write_1h: u64,
}

impl TokenUsage {
    /// Every input token of the prompt, cached or not: what long-context
    /// pricing thresholds count.
    pub fn prompt_tokens(&self) -> u64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
    }
}

impl Price {
    /// All zero: the placeholder of a model whose price is unknown (a
    /// discovered one), never shown or recorded as a price.
    pub fn zero() -> Price {
        Price {
            input: Decimal::ZERO,
            output: Decimal::ZERO,
            cache_read: Decimal::ZERO,
            cache_write: Decimal::ZERO,
            cache_write_1h: Some(Decimal::ZERO),
            regional_premium: Decimal::ZERO,
            long_context: None,
        }
    }

    fn cache_write_1h(&self) -> Decimal {
        self.cache_write_1h.unwrap_or(self.input * Decimal::TWO)
    }

    /// The rates for a request on `profile_id` whose prompt has
    /// `prompt_tokens`: the long-context tier when above its threshold, and
    /// the regional premium on profiles other than `global.`.
    pub fn rates(&self, profile_id: &str, prompt_tokens: u64) -> Rates {
        let base = match &self.long_context {
            Some(long) if prompt_tokens > long.above_input_tokens => long.rates,
            _ => Rates {
                input: self.input,
                output: self.output,
                cache_read: self.cache_read,
                cache_write: self.cache_write,
                cache_write_1h: self.cache_write_1h(),
            },
        };
        if profile_id.starts_with("global.") {
            return base;
        }
        let factor = Decimal::ONE + self.regional_premium;
        Rates {
            input: (base.input * factor).normalize(),
            output: (base.output * factor).normalize(),
            cache_read: (base.cache_read * factor).normalize(),
            cache_write: (base.cache_write * factor).normalize(),
            cache_write_1h: (base.cache_write_1h * factor).normalize(),
        }
    }

    /// What `usage` costs on `profile_id`, exactly.
    pub fn cost(&self, profile_id: &str, usage: TokenUsage) -> Usd {
        let r = self.rates(profile_id, usage.prompt_tokens());
        let cache_write_1h = usage.cache_write_1h.min(usage.cache_write);
        let cache_write_5m = usage.cache_write - cache_write_1h;
        let per_million = Decimal::from(usage.input) * r.input
            + Decimal::from(usage.output) * r.output
            + Decimal::from(usage.cache_read) * r.cache_read
            + Decimal::from(cache_write_5m) * r.cache_write
            + Decimal::from(cache_write_1h) * r.cache_write_1h;
        Usd::from_decimal(per_million / Decimal::from(1_000_000u32))
    }

    /// What `usage`'s cache reads saved on `profile_id` against paying for
    /// the same tokens as uncached input: cache reads × (input rate − cache
    /// read rate), at the rates that applied to the request. Cache writes
    /// are not netted out: they are what the cost already shows.
    pub fn cache_read_saving(&self, profile_id: &str, usage: TokenUsage) -> Usd {
        let r = self.rates(profile_id, usage.prompt_tokens());
        let per_million = Decimal::from(usage.cache_read) * (r.input - r.cache_read);
        Usd::from_decimal(per_million / Decimal::from(1_000_000u32))
    }

    /// The prices a file gave, each with the field name, for validation.
    pub(super) fn fields(&self) -> Vec<(&'static str, Decimal)> {
        let mut out = vec![
            ("input", self.input),
            ("output", self.output),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("cache_write_1h", self.cache_write_1h()),
            ("regional_premium", self.regional_premium),
        ];
        if let Some(long) = &self.long_context {
            out.extend([
                ("long_context.input", long.rates.input),
                ("long_context.output", long.rates.output),
                ("long_context.cache_read", long.rates.cache_read),
                ("long_context.cache_write", long.rates.cache_write),
                ("long_context.cache_write_1h", long.rates.cache_write_1h),
            ]);
        }
        out
    }
}

fn serialize_optional_decimal<S: serde::Serializer>(
    d: &Option<Decimal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize_decimal(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// Haiku 5.5's figures (see models.yaml for the source).
    fn haiku_5_5() -> Price {
        Price {
            input: dec("0.10"),
            output: dec("0.50"),
            cache_read: dec("0.01"),
            cache_write: dec("0.125"),
            cache_write_1h: Some(dec("0.20")),
            regional_premium: dec("0.10"),
            long_context: Some(LongContextPrice {
                above_input_tokens: 100_000,
                rates: Rates {
                    input: dec("0.50"),
                    output: dec("2.50"),
                    cache_read: dec("0.05"),
                    cache_write: dec("0.625"),
                    cache_write_1h: dec("1.00"),
                },
            }),
        }
    }

    fn usd(s: &str) -> Usd {
        Usd::from_decimal(dec(s))
    }

    #[test]
    fn cost_by_hand_on_global_and_regional_profiles() {
        let usage = TokenUsage {
            input: 1_000,
            output: 2_000,
            cache_read: 10_000,
            cache_write: 4_000,
            cache_write_1h: 1_000,
        };
        // 1000×0.10 + 2000×0.50 + 10000×0.01 + 3000×0.125 + 1000×0.20
        // = 100 + 1000 + 100 + 375 + 200 = 1775 per million = $0.001775
        let p = haiku_5_5();
        assert_eq!(
            p.cost("global.anthropic.claude-haiku-5-5", usage),
            usd("0.001775")
        );
        // +10% on us.: $0.0019525, exactly.
        assert_eq!(
            p.cost("us.anthropic.claude-haiku-5-5", usage),
            usd("0.0019525")
        );
    }

    #[test]
    fn one_hour_cache_writes_cost_the_one_hour_rate() {
        let p = haiku_5_5();
        let five_min = TokenUsage {
            cache_write: 100_000,
            ..TokenUsage::default()
        };
        let one_hour = TokenUsage {
            cache_write_1h: 100_000,
            ..five_min
        };
        assert_eq!(p.cost("global.x", five_min), usd("0.0125"));
        assert_eq!(p.cost("global.x", one_hour), usd("0.02"));
    }

    #[test]
    fn long_context_tier_applies_above_its_threshold_counting_cached_input() {
        let p = haiku_5_5();
        let at = TokenUsage {
            input: 50_000,
            cache_read: 50_000,
            ..TokenUsage::default()
        };
        // 50000×0.10 + 50000×0.01 = 5500 per million.
        assert_eq!(p.cost("global.x", at), usd("0.0055"));
        let above = TokenUsage {
            input: 50_001,
            ..at
        };
        // 50001×0.50 + 50000×0.05 = 25000.5 + 2500 = 27500.5 per million.
        assert_eq!(p.cost("global.x", above), usd("0.0275005"));
    }

    #[test]
    fn cache_read_saving_by_hand() {
        let p = haiku_5_5();
        let usage = TokenUsage {
            input: 2_000,
            output: 500,
            cache_read: 30_000,
            cache_write: 1_000,
            cache_write_1h: 0,
        };
        // Haiku 5.5 (models.yaml): input $0.10, cache read $0.01 per million.
        // 30000 × (0.10 − 0.01) = 2700 per million = $0.0027 on global.
        assert_eq!(
            p.cache_read_saving("global.anthropic.claude-haiku-5-5", usage),
            usd("0.0027")
        );
        // us.: +10% on both rates: 30000 × (0.11 − 0.011) = 2970 → $0.00297.
        assert_eq!(
            p.cache_read_saving("us.anthropic.claude-haiku-5-5", usage),
            usd("0.00297")
        );
        // Above 100,000 prompt tokens the long-context rates apply:
        // 120000 × (0.50 − 0.05) = 54000 per million = $0.054.
        let long = TokenUsage {
            cache_read: 120_000,
            ..TokenUsage::default()
        };
        assert_eq!(p.cache_read_saving("global.x", long), usd("0.054"));
        // No cache reads, no saving.
        assert_eq!(
            p.cache_read_saving("global.x", TokenUsage::default()),
            Usd::ZERO
        );
    }

    #[test]
    fn regional_rates_are_exact_decimals() {
        let opus = Price {
            input: dec("5"),
            output: dec("25"),
            cache_read: dec("0.5"),
            cache_write: dec("6.25"),
            cache_write_1h: None,
            regional_premium: dec("0.1"),
            long_context: None,
        };
        let r = opus.rates("us.anthropic.claude-opus-4-6-v1", 0);
        assert_eq!(r.output, dec("27.5"));
        assert_eq!(r.cache_write_1h, dec("11"));
        assert_eq!(
            serde_json::to_value(r).unwrap()["output"].to_string(),
            "27.5"
        );
    }
}
