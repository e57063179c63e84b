//! What Bedrock's Anthropic body accepts beyond the core fields, per model
//! family: one table, [`BEDROCK_ACCEPTS`], so adding a beta or a model is a
//! one-line change with its reason next to it.

use crate::catalog::Model;

/// A beta flag or a body field that Bedrock accepts only on some models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature<'a> {
    Beta(&'a str),
    /// A top-level body field, or a value of one (`cache_control.ttl`,
    /// `thinking.adaptive`).
    Field(&'a str),
}

#[derive(Debug, Clone, Copy)]
enum Models {
    /// Every model, including ones this table does not know (ARNs, new families).
    Any,
    /// These families only (the short Anthropic alias, e.g. `claude-sonnet-4-5`).
    Only(&'static [&'static str]),
}

const CLAUDE_4: Models = Models::Only(&[
    "claude-opus-4",
    "claude-opus-4-1",
    "claude-sonnet-4",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
]);

/// Everything Bedrock's Anthropic body accepts besides `anthropic_version`,
/// `anthropic_beta`, `max_tokens`, `messages`, `system`, `tools` and
/// `thinking` (which `body::build` handles itself), by model family.
///
/// Fields are the AWS request/response page's list
/// (docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html);
/// betas are that page's list, plus `fine-grained-tool-streaming`, which
/// Bedrock's Claude 4 models take as well. Anything not here is dropped,
/// on purpose:
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
const BEDROCK_ACCEPTS: &[(Feature<'static>, Models)] = &[
    (Feature::Field("temperature"), Models::Any),
    (Feature::Field("top_p"), Models::Any),
    (Feature::Field("top_k"), Models::Any),
    (Feature::Field("tool_choice"), Models::Any),
    (Feature::Field("stop_sequences"), Models::Any),
    // `output_config` (effort) and adaptive thinking follow each model's
    // `thinking` in models.yaml, not this table (see `body::build`).
    // The 1-hour cache TTL ("5m" | "1h") arrived with the 4.5 models.
    (
        Feature::Field("cache_control.ttl"),
        Models::Only(&[
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
            "claude-opus-4-5",
            "claude-opus-4-6",
            "claude-sonnet-4-6",
        ]),
    ),
    (Feature::Beta("interleaved-thinking-2025-05-14"), CLAUDE_4),
    (
        Feature::Beta("fine-grained-tool-streaming-2025-05-14"),
        CLAUDE_4,
    ),
    (Feature::Beta("computer-use-2025-01-24"), CLAUDE_4),
    (
        Feature::Beta("computer-use-2024-10-22"),
        Models::Only(&["claude-3-5-sonnet"]),
    ),
    (
        Feature::Beta("token-efficient-tools-2025-02-19"),
        Models::Only(&["claude-3-7-sonnet"]),
    ),
    (
        Feature::Beta("output-128k-2025-02-19"),
        Models::Only(&["claude-3-7-sonnet"]),
    ),
    (
        Feature::Beta("dev-full-thinking-2025-05-14"),
        Models::Only(&["claude-opus-4", "claude-opus-4-1", "claude-sonnet-4"]),
    ),
    (
        Feature::Beta("context-1m-2025-08-07"),
        Models::Only(&["claude-sonnet-4", "claude-sonnet-4-5"]),
    ),
    (
        Feature::Beta("effort-2025-11-24"),
        Models::Only(&["claude-opus-4-5"]),
    ),
    (
        Feature::Beta("tool-search-tool-2025-10-19"),
        Models::Only(&["claude-opus-4-5"]),
    ),
    (
        Feature::Beta("tool-examples-2025-10-29"),
        Models::Only(&["claude-opus-4-5"]),
    ),
];

pub fn accepted(feature: Feature<'_>, family: Option<&str>) -> bool {
    BEDROCK_ACCEPTS
        .iter()
        .find(|(f, _)| *f == feature)
        .is_some_and(|(_, models)| match models {
            Models::Any => true,
            Models::Only(families) => family.is_some_and(|f| families.contains(&f)),
        })
}

/// `claude-sonnet-4-5` for `us.anthropic.claude-sonnet-4-5-20250929-v1:0`;
/// `None` for ids that name no family (application-profile ARNs).
pub fn model_family(model: &Model) -> Option<String> {
    model.anthropic_names().pop()
}
