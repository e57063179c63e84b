//! Which model serves a request for model `auto`: a category, a tier
//! (low / mid / top), an ordered list of candidates, a confidence and a
//! human-readable why. Named models bypass the router.
//!
//! The router sees a [`RouteInput`] (built by the OpenAI / Anthropic modules;
//! it knows no wire format) and decides, first rule that applies wins:
//!
//! 1. **Stickiness.** A tool result whose `tool_use` id this router
//!    remembered ([`Router::remember_tool_calls`]) goes back to the model that
//!    made the call (confidence 0.95), so an agent loop does not bounce between
//!    tiers. With signed thinking blocks in the history the model is pinned
//!    even when marked unavailable (confidence 1): no other model accepts
//!    those blocks. Otherwise an unusable sticky model falls through to 2.
//! 2. **Override tag** at the start of the user's own words: `[low]`;
//!    `[med]`, `[medium]`, `[mid]`; `[high]`, `[top]` (any case) force the
//!    tier (confidence 1). Request signals (4) do not apply.
//! 3. **Text.** Custom patterns from the catalog, first match wins
//!    (confidence 0.9); then the built-in scored regexes for the nine
//!    categories; no match → simple-chat (0.4). The category maps to a tier
//!    through the catalog's `routing.categories`. Only the first 4 KB and last
//!    2 KB of the user's words are scanned, so a 100 KB paste
//!    costs no more than a short prompt.
//! 4. **Request signals.** A long multi-part ask (> 2000 chars or ≥ 3
//!    question marks) goes one tier up, with confidence × 0.8. Then each of
//!    these lifts the tier to at least mid: tools present or tool results in
//!    flight (agent loops need a capable model; with tool results and no clear
//!    ask the category becomes coding), images, thinking requested, more than
//!    ~50k tokens of context. Thinking lifts to mid, not top: every mid
//!    model thinks, and Claude Code asks for thinking on routine turns.
//! 5. **Candidates.** The tier's catalog candidates in order, keeping models
//!    that are usable ([`Availability`]), whose context window holds the
//!    estimated input (chars / 4) plus the requested output, and that have
//!    the vision / tools / thinking the request uses; each followed by its
//!    `global.` profile. An empty tier hands over to the next tier up, then
//!    down; nothing anywhere is [`RouterError::NoCandidate`].

mod candidates;
mod classify;
mod scope;
mod shape;
mod sticky;
mod tags;
mod user_turn;

pub use candidates::search_order;
pub use tags::{cut_override_tag, find_override_tag, strip_override_tag, user_own_text};
pub use user_turn::{TextContent, TextOrParts, TextPart, UserTurn};

use serde::Serialize;

use crate::catalog::{Catalog, Category, Model, Tier};

/// Everything the router looks at in a request.
#[derive(Debug, Clone, Default)]
pub struct RouteInput<'a> {
    /// The text of the last user turn (text blocks joined with `\n`). IDE
    /// preambles and an override tag may still be in it: the router finds
    /// the user's own words itself ([`user_own_text`]).
    pub user_text: &'a str,
    /// Chars of system prompt.
    pub system_len: usize,
    /// Total chars of all messages, system prompt and tool definitions; the
    /// router estimates tokens as chars / 4.
    pub context_chars: usize,
    /// Number of messages.
    pub turns: usize,
    pub has_tools: bool,
    /// The last user turn carries tool results (an agent loop is running).
    pub tool_results_in_flight: bool,
    pub has_images: bool,
    pub thinking_requested: bool,
    pub max_output_requested: Option<u32>,
    /// Ids of the tool results in the last user turn.
    pub tool_use_ids: Vec<&'a str>,
    /// The history has signed thinking blocks.
    pub carries_signed_thinking: bool,
}

impl<'a> RouteInput<'a> {
    /// A one-message request with nothing but `text` (as `clawrouter route` has).
    pub fn from_text(text: &'a str) -> Self {
        Self {
            user_text: text,
            context_chars: text.len(),
            turns: 1,
            ..Self::default()
        }
    }
}

/// What the request is and which tier it needs, before looking at models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub category: Category,
    pub tier: Tier,
    #[serde(serialize_with = "two_decimals")]
    pub confidence: f32,
    pub why: String,
    /// The override tag, when one forced the tier.
    pub tag: Option<Tier>,
}

/// The routing decision: the model to call first and what to fall back to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub category: Category,
    /// The tier the candidates come from (differs from the classified tier
    /// when that tier had no usable model).
    pub tier: Tier,
    /// Catalog name of the first candidate.
    pub model: String,
    /// Profile id of the first candidate.
    pub profile_id: String,
    #[serde(serialize_with = "two_decimals")]
    pub confidence: f32,
    pub why: String,
    pub tag: Option<Tier>,
    /// Ordered fallback list, the first being `model` / `profile_id`.
    pub candidates: Vec<Candidate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub model: String,
    pub profile_id: String,
}

/// Whether a model can be called now: credentials present and healthy.
pub trait Availability {
    fn usable(&self, model: &Model) -> bool;
}

impl<F: Fn(&Model) -> bool> Availability for F {
    fn usable(&self, model: &Model) -> bool {
        self(model)
    }
}

/// Every model is usable (`clawrouter route`, tests, benches).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllAvailable;

impl Availability for AllAvailable {
    fn usable(&self, _: &Model) -> bool {
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("routing pattern `{pattern}` does not compile: {source}")]
    InvalidPattern {
        pattern: String,
        source: regex::Error,
    },
    #[error("no usable model for this request (tried {tried})")]
    NoCandidate { tried: String },
}

/// The router: patterns compiled once from a catalog, plus the tool-call
/// stickiness store. Share one behind an `Arc`.
pub struct Router {
    classifier: classify::Classifier,
    sticky: sticky::StickyStore,
}

impl Router {
    pub fn new(catalog: &Catalog) -> Result<Self, RouterError> {
        Ok(Self {
            classifier: classify::Classifier::new(catalog)?,
            sticky: sticky::StickyStore::default(),
        })
    }

    /// Rules 2–4: category, tier, confidence and why, without models.
    pub fn classify(&self, input: &RouteInput) -> Classification {
        self.classifier.classify(input)
    }

    /// All rules: the model and the ordered candidates for `input`.
    pub fn decide(
        &self,
        catalog: &Catalog,
        input: &RouteInput,
        availability: &dyn Availability,
    ) -> Result<Decision, RouterError> {
        let class = self.classify(input);
        let needs = candidates::Needs::of(input);
        let mut notes = Vec::new();
        if let Some(name) = self.sticky.lookup(&input.tool_use_ids) {
            match catalog.model(&name) {
                Some(model) if input.carries_signed_thinking => {
                    let why = format!(
                        "continuing a tool loop on {} (signed thinking blocks pin the model)",
                        model.name
                    );
                    let list = candidates::profiles_of(model).collect();
                    return decision(class, tier_of_model(catalog, model), 1.0, why, list);
                }
                Some(model) => {
                    let unusable = if availability.usable(model) {
                        needs.unmet(model)
                    } else {
                        Some("unavailable".to_owned())
                    };
                    match unusable {
                        None => {
                            let tier = tier_of_model(catalog, model);
                            let mut list: Vec<_> = candidates::profiles_of(model).collect();
                            let rest = candidates::tier_candidates(
                                catalog,
                                tier.unwrap_or(class.tier),
                                &needs,
                                availability,
                                &mut Vec::new(),
                            );
                            list.extend(rest.into_iter().filter(|c| c.model != model.name));
                            let why = format!("continuing a tool loop on {}", model.name);
                            return decision(class, tier, 0.95, why, list);
                        }
                        Some(reason) => {
                            notes.push(format!("tool loop was on {name}, now {reason}"));
                        }
                    }
                }
                None => notes.push(format!("tool loop was on {name}, no longer in the catalog")),
            }
        }
        let (tier, list, skipped) = candidates::choose(catalog, class.tier, &needs, availability)?;
        notes.extend(skipped);
        let why = if notes.is_empty() {
            class.why.clone()
        } else {
            format!("{}; {}", class.why, notes.join("; "))
        };
        let confidence = class.confidence;
        decision(class, Some(tier), confidence, why, list)
    }

    /// Records that `model_name` (a catalog name) issued these tool calls, so
    /// the turn carrying their results is routed back to it. The server calls
    /// this after every `auto` response that contains tool calls.
    pub fn remember_tool_calls(&self, tool_use_ids: &[&str], model_name: &str) {
        self.sticky.remember(tool_use_ids, model_name);
    }
}

fn decision(
    class: Classification,
    tier: Option<Tier>,
    confidence: f32,
    why: String,
    candidates: Vec<Candidate>,
) -> Result<Decision, RouterError> {
    let first = candidates
        .first()
        .cloned()
        .ok_or_else(|| RouterError::NoCandidate { tried: why.clone() })?;
    Ok(Decision {
        category: class.category,
        tier: tier.unwrap_or(class.tier),
        model: first.model,
        profile_id: first.profile_id,
        confidence,
        why,
        tag: class.tag,
        candidates,
    })
}

/// Confidence as a two-decimal `f64`, so JSON shows `0.7`, not `0.699999988`.
fn two_decimals<S: serde::Serializer>(confidence: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*confidence) * 100.0).round() / 100.0)
}

/// The first tier that lists `model`, if any does.
fn tier_of_model(catalog: &Catalog, model: &Model) -> Option<Tier> {
    Tier::ALL.into_iter().find(|tier| {
        catalog
            .tier_candidates(*tier)
            .any(|(_, m)| m.name == model.name)
    })
}

#[cfg(test)]
mod tests;
