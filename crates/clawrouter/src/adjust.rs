//! What the proxy changed in a request so the model accepts it, and the
//! choices both routes share for doing so.
//!
//! Each model's rules are data (`models.yaml`: thinking style and efforts,
//! sampling rule, forced tool choice, max output); the translators ask them
//! and note every change here. The client is told in one response header,
//! `x-clawrouter-adjusted` (e.g. `thinking=adaptive;temperature=dropped`),
//! and each change is logged at debug.

use crate::catalog::{Effort, Model};

/// The response header that lists the adjustments.
pub const HEADER: &str = "x-clawrouter-adjusted";

/// The changes made to one request, in the order they were made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adjustments {
    changes: Vec<(&'static str, String)>,
}

impl Adjustments {
    /// Notes that `field` was changed to `how` (`dropped`, `adaptive`, a value).
    pub fn note(&mut self, model: &Model, field: &'static str, how: impl Into<String>) {
        let how = how.into();
        tracing::debug!(model = %model.name, field, change = %how, "request adjusted to the model's rules");
        if let Some(existing) = self.changes.iter_mut().find(|(f, _)| *f == field) {
            existing.1 = how;
        } else {
            self.changes.push((field, how));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// `field=how;field=how`, or `None` when nothing changed.
    pub fn header_value(&self) -> Option<String> {
        (!self.is_empty()).then(|| {
            self.changes
                .iter()
                .map(|(f, how)| format!("{f}={how}"))
                .collect::<Vec<_>>()
                .join(";")
        })
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.changes
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, how)| how.as_str())
    }
}

/// The effort closest to a thinking budget: Anthropic's budgets of about
/// 1k, 4k, 16k, 32k and 64k+ tokens map to low … max.
pub fn effort_for_budget(budget_tokens: u64) -> Effort {
    match budget_tokens {
        0..4_096 => Effort::Low,
        4_096..16_384 => Effort::Medium,
        16_384..32_768 => Effort::High,
        32_768..65_536 => Effort::Xhigh,
        _ => Effort::Max,
    }
}

/// `max_tokens` within the model's maximum, noting a clamp.
pub fn clamp_max_tokens(requested: u32, model: &Model, adjusted: &mut Adjustments) -> u32 {
    if requested > model.max_output {
        adjusted.note(model, "max_tokens", model.max_output.to_string());
        model.max_output
    } else {
        requested
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn header_lists_each_change_once_in_order() {
        let c = Catalog::builtin().unwrap();
        let m = c.model("bedrock/claude-opus-5-5").unwrap();
        let mut a = Adjustments::default();
        assert_eq!(a.header_value(), None);
        a.note(m, "thinking", "budget");
        a.note(m, "temperature", "dropped");
        a.note(m, "thinking", "adaptive");
        a.note(m, "tool_choice", "auto");
        assert_eq!(
            a.header_value().as_deref(),
            Some("thinking=adaptive;temperature=dropped;tool_choice=auto")
        );
    }

    #[test]
    fn budgets_map_to_the_nearest_effort() {
        assert_eq!(effort_for_budget(1_024), Effort::Low);
        assert_eq!(effort_for_budget(8_000), Effort::Medium);
        assert_eq!(effort_for_budget(16_384), Effort::High);
        assert_eq!(effort_for_budget(40_000), Effort::Xhigh);
        assert_eq!(effort_for_budget(100_000), Effort::Max);
    }

    #[test]
    fn max_tokens_clamps_to_the_models_output() {
        let c = Catalog::builtin().unwrap();
        let haiku45 = c.model("bedrock/claude-haiku-4-5").unwrap();
        let mut a = Adjustments::default();
        assert_eq!(clamp_max_tokens(1_000, haiku45, &mut a), 1_000);
        assert!(a.is_empty());
        assert_eq!(clamp_max_tokens(200_000, haiku45, &mut a), 64_000);
        assert_eq!(a.get("max_tokens"), Some("64000"));
    }
}
