//! What Bedrock's Anthropic body accepts beyond the core fields. The fields
//! every Claude model takes are a protocol fact, here; the betas and optional
//! fields only some models take are data, each model's `accepts` in
//! models.yaml.

use crate::catalog::Model;

/// A beta flag or a body field that Bedrock may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature<'a> {
    Beta(&'a str),
    /// A top-level body field, or a value of one (`cache_control.ttl`).
    Field(&'a str),
}

/// The fields Bedrock's Anthropic body takes on every Claude model, besides
/// `anthropic_version`, `anthropic_beta`, `max_tokens`, `messages`, `system`,
/// `tools` and `thinking` (which `body::build` handles itself), from the AWS
/// request/response page
/// (docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html).
/// Whether a model takes a custom sampling value or a forced tool choice is
/// its `sampling` / `forced_tool_choice` rule in models.yaml.
///
/// Anything neither here nor in the model's `accepts` is dropped, on purpose:
/// - `claude-code-*`, `oauth-*`, `prompt-caching-scope-*` and other
///   Anthropic-only betas: Bedrock answers "invalid beta flag".
/// - `context-management-2025-06-27` and the `context_management` field it
///   enables: Claude Code sends a `clear_thinking_20251015` edit, which
///   Bedrock rejects ("context_management: Extra inputs are not permitted");
///   dropping both only means the server does not prune old context.
/// - `metadata`: not a documented Bedrock field, and all Claude Code puts in
///   it is `user_id`, a tracking id that has no effect on the answer and
///   that Bedrock has no use for.
/// - `output_config` on models without effort levels (models.yaml), `service_tier`,
///   `container`, `mcp_servers` and other Anthropic-platform features.
const EVERY_MODEL_FIELDS: [&str; 5] = [
    "temperature",
    "top_p",
    "top_k",
    "tool_choice",
    "stop_sequences",
];

/// The beta under which `thinking.display` may be `updates` (only the short
/// notes a model writes between tool calls come back as text). Without it
/// the field takes only `summarized` or `omitted`, and `updates` is a 400
/// ("thinking.adaptive.display: Input should be 'summarized', 'omitted'",
/// as quoted in zeroclaw-labs/zeroclaw#10617). Interactive Claude Code sends
/// both (2.1.332).
pub const DISPLAY_UPDATES_BETA: &str = "thinking-display-updates-2026-08-18";

/// Whether Bedrock takes `feature` on `model`.
pub fn accepted(feature: Feature<'_>, model: &Model) -> bool {
    match feature {
        Feature::Beta(beta) => model.accepts.beta(beta),
        Feature::Field(field) => EVERY_MODEL_FIELDS.contains(&field) || model.accepts.field(field),
    }
}
