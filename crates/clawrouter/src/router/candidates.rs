//! From a tier to an ordered list of (model, profile id) to try.
//!
//! A tier's models are taken in catalog order, keeping those the caller can
//! use (credentials, health) and that can take the request (context window,
//! vision, tools, thinking). Each is followed by its `global.` profile, the
//! fallback when the regional profile throttles. A tier with nothing left
//! hands over to the next tier up, then down: paying more beats failing, and
//! a cheaper model beats none.

use super::{Availability, Candidate, RouteInput, RouterError};
use crate::catalog::{Capability, Catalog, Model, Tier};

/// What a request needs from a model.
#[derive(Debug, Clone, Copy)]
pub(super) struct Needs {
    /// Estimated input tokens (chars / 4).
    input_tokens: u64,
    requested_output: u32,
    vision: bool,
    tools: bool,
    thinking: bool,
}

impl Needs {
    pub(super) fn of(input: &RouteInput) -> Self {
        Self {
            input_tokens: (input.context_chars as u64).div_ceil(4),
            requested_output: input.max_output_requested.unwrap_or(0),
            vision: input.has_images,
            tools: input.has_tools || input.tool_results_in_flight,
            thinking: input.thinking_requested,
        }
    }

    /// Why `model` cannot take the request, or `None` when it can. Output
    /// beyond the model's own maximum is clamped by the translator, so only
    /// what the model can actually produce must fit the window.
    pub(super) fn unmet(&self, model: &Model) -> Option<String> {
        let needed = self.input_tokens + u64::from(self.requested_output.min(model.max_output));
        if u64::from(model.context_window) < needed {
            return Some(format!(
                "context window {} < ~{needed} tokens needed",
                model.context_window
            ));
        }
        [
            (self.vision, Capability::Vision, "no vision"),
            (self.tools, Capability::Tools, "no tool use"),
            (self.thinking, Capability::Thinking, "no extended thinking"),
        ]
        .into_iter()
        .find(|(wanted, capability, _)| *wanted && !model.supports(*capability))
        .map(|(_, _, missing)| missing.to_owned())
    }
}

/// The model's profile and then its `global.` profile, if any.
pub(super) fn profiles_of(model: &Model) -> impl Iterator<Item = Candidate> + '_ {
    let global = model.global_profile_id().map(|profile_id| Candidate {
        model: model.name.clone(),
        profile_id,
    });
    std::iter::once(Candidate {
        model: model.name.clone(),
        profile_id: model.profile_id.clone(),
    })
    .chain(global)
}

/// The usable candidates of one tier; why each other model was left out is
/// appended to `skipped`.
pub(super) fn tier_candidates(
    catalog: &Catalog,
    tier: Tier,
    needs: &Needs,
    availability: &dyn Availability,
    skipped: &mut Vec<String>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (_, model) in catalog.tier_candidates(tier) {
        let reason = if availability.usable(model) {
            needs.unmet(model)
        } else {
            Some("unavailable".to_owned())
        };
        match reason {
            Some(reason) => skipped.push(format!("{} ({reason})", model.name)),
            None => out.extend(profiles_of(model)),
        }
    }
    out
}

/// The first tier, in search order from `wanted`, with a usable candidate;
/// its candidates; and notes on what was passed over.
pub(super) fn choose(
    catalog: &Catalog,
    wanted: Tier,
    needs: &Needs,
    availability: &dyn Availability,
) -> Result<(Tier, Vec<Candidate>, Vec<String>), RouterError> {
    let mut notes = Vec::new();
    for tier in search_order(wanted) {
        let mut skipped = Vec::new();
        let list = tier_candidates(catalog, tier, needs, availability, &mut skipped);
        let passed_over = if skipped.is_empty() {
            format!("{tier}: no models in the catalog")
        } else {
            format!("{tier}: {}", skipped.join(", "))
        };
        if list.is_empty() {
            notes.push(passed_over);
            continue;
        }
        if !skipped.is_empty() {
            notes.push(format!("skipped {}", skipped.join(", ")));
        }
        if tier != wanted {
            notes.push(format!("no usable {wanted} model, using {tier}"));
        }
        return Ok((tier, list, notes));
    }
    Err(RouterError::NoCandidate {
        tried: notes.join("; "),
    })
}

/// The wanted tier, then up, then down: where `auto` looks when a tier has
/// no usable model.
pub fn search_order(wanted: Tier) -> [Tier; 3] {
    match wanted {
        Tier::Low => [Tier::Low, Tier::Mid, Tier::Top],
        Tier::Mid => [Tier::Mid, Tier::Top, Tier::Low],
        Tier::Top => [Tier::Top, Tier::Mid, Tier::Low],
    }
}
