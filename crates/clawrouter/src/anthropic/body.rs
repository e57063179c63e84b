//! The Bedrock InvokeModel body for a Messages request: Anthropic's body minus
//! what Bedrock refuses.
//!
//! Bedrock validates the body strictly: an unknown top-level key fails the
//! whole request ("Extra inputs are not permitted"), so does `model` or
//! `stream` ("extraneous key [stream] is not permitted"), and so does any
//! `anthropic_beta` entry it does not know ("invalid beta flag"). Claude Code
//! sends several of each. Failing those requests would make the proxy
//! useless, and the features behind them are optional, so they are dropped
//! with a `debug` line naming each one.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{AnthropicError, Content, MessagesRequest};
use crate::catalog::{Capability, Model, SamplingRule};

/// The Messages-API version Bedrock's Anthropic body requires.
const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// The smallest `thinking.budget_tokens` Anthropic accepts.
const MIN_THINKING_BUDGET: u64 = 1024;

/// A Bedrock InvokeModel body for `req` on `model`.
///
/// `beta_header` is the client's `anthropic-beta` header (comma-separated).
/// `max_tokens` is clamped to the model's `max_output`: a client cannot make
/// the proxy reserve (and Bedrock's quota count) more output than the model
/// can produce, and a `thinking` budget is lowered to fit under the clamp.
pub fn bedrock_body(
    req: &MessagesRequest,
    beta_header: Option<&str>,
    model: &Model,
) -> Result<Bytes, AnthropicError> {
    let max_tokens = match req.max_tokens {
        None => return Err(invalid("max_tokens: Field required")),
        Some(0) => return Err(invalid("max_tokens: must be greater than or equal to 1")),
        Some(n) if n > model.max_output => {
            tracing::debug!(
                requested = n,
                max_output = model.max_output,
                model = %model.name,
                "anthropic: max_tokens clamped to the model's max output"
            );
            model.max_output
        }
        Some(n) => n,
    };
    build(req, beta_header, model, max_tokens)
}

/// The body Bedrock's CountTokens takes (an InvokeModel body) for a
/// `count_tokens` request, which has no `max_tokens`: the model's maximum
/// stands in, so a `thinking` budget stays valid.
pub fn count_tokens_body(
    req: &MessagesRequest,
    beta_header: Option<&str>,
    model: &Model,
) -> Result<Bytes, AnthropicError> {
    build(req, beta_header, model, model.max_output)
}

fn build(
    req: &MessagesRequest,
    beta_header: Option<&str>,
    model: &Model,
    max_tokens: u32,
) -> Result<Bytes, AnthropicError> {
    if req.messages.is_empty() {
        return Err(invalid("messages: at least one message is required"));
    }
    let family = model_family(model);
    let accepts = |feature: Feature| accepted(feature, family.as_deref());
    let ttl_ok = accepts(Feature::Field("cache_control.ttl"));

    let mut out = Map::new();
    out.insert("anthropic_version".into(), BEDROCK_ANTHROPIC_VERSION.into());
    out.insert("max_tokens".into(), max_tokens.into());

    let mut betas: Vec<&str> = beta_header.into_iter().flat_map(|h| h.split(',')).collect();
    for (key, value) in &req.rest {
        match key.as_str() {
            "anthropic_beta" => betas.extend(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            ),
            "anthropic_version" => {}
            _ if accepts(Feature::Field(key)) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {
                tracing::debug!(field = %key, model = %model.name, "anthropic: field dropped, Bedrock does not accept it")
            }
        }
    }
    if model.sampling == SamplingRule::TemperatureOrTopP
        && out.contains_key("temperature")
        && out.remove("top_p").is_some()
    {
        tracing::debug!(model = %model.name, "anthropic: top_p dropped, this model takes temperature or top_p, not both");
    }

    let mut kept_betas: Vec<&str> = Vec::new();
    for beta in betas.into_iter().map(str::trim).filter(|b| !b.is_empty()) {
        if kept_betas.contains(&beta) {
            continue;
        }
        if accepts(Feature::Beta(beta)) {
            kept_betas.push(beta);
        } else {
            tracing::debug!(%beta, model = %model.name, "anthropic: beta dropped, Bedrock does not accept it for this model");
        }
    }
    if !kept_betas.is_empty() {
        out.insert("anthropic_beta".into(), json!(kept_betas));
    }

    if let Some(thinking) = thinking_for(req.thinking.as_ref(), model, max_tokens) {
        out.insert("thinking".into(), thinking);
    }
    if let Some(system) = &req.system {
        let mut system = system.clone();
        for block in system.as_array_mut().into_iter().flatten() {
            clean_cache_control(block, ttl_ok);
        }
        out.insert("system".into(), system);
    }
    let mut messages = Vec::with_capacity(req.messages.len());
    for message in &req.messages {
        let mut message = message.clone();
        if let Content::Blocks(blocks) = &mut message.content {
            for block in blocks {
                clean_block(block, ttl_ok);
            }
        }
        messages.push(message);
    }
    out.insert("messages".into(), json!(messages));
    if !req.tools.is_empty() {
        let mut tools = req.tools.clone();
        for tool in &mut tools {
            clean_tool(tool, ttl_ok);
        }
        out.insert("tools".into(), Value::Array(tools));
    }
    serde_json::to_vec(&out)
        .map(Bytes::from)
        .map_err(|e| invalid(&format!("cannot encode the request: {e}")))
}

// ---------------------------------------------------------------------------
// What Bedrock accepts.

/// A beta flag or a body field that Bedrock accepts only on some models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature<'a> {
    Beta(&'a str),
    /// A top-level body field, or `cache_control.ttl`.
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
/// `thinking` (which [`build`] handles itself), by model family.
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
/// - `output_config` (effort) outside the 4.6 models, `service_tier`,
///   `container`, `mcp_servers` and other Anthropic-platform features.
const BEDROCK_ACCEPTS: &[(Feature<'static>, Models)] = &[
    (Feature::Field("temperature"), Models::Any),
    (Feature::Field("top_p"), Models::Any),
    (Feature::Field("top_k"), Models::Any),
    (Feature::Field("tool_choice"), Models::Any),
    (Feature::Field("stop_sequences"), Models::Any),
    // Effort is generally available on the 4.6 models.
    (
        Feature::Field("output_config"),
        Models::Only(&["claude-opus-4-6", "claude-sonnet-4-6"]),
    ),
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

fn accepted(feature: Feature<'_>, family: Option<&str>) -> bool {
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
fn model_family(model: &Model) -> Option<String> {
    model.anthropic_names().pop()
}

/// The `thinking` to send: dropped for models that cannot think, and an
/// `enabled` budget lowered below `max_tokens` (Anthropic requires
/// `budget_tokens < max_tokens`) or dropped when no valid budget fits.
fn thinking_for(thinking: Option<&Value>, model: &Model, max_tokens: u32) -> Option<Value> {
    let thinking = thinking?;
    if !model.supports(Capability::Thinking) {
        tracing::debug!(model = %model.name, "anthropic: thinking dropped, the model does not think");
        return None;
    }
    let budget = thinking.get("budget_tokens").and_then(Value::as_u64);
    match budget {
        Some(budget) if thinking["type"] == "enabled" && budget >= u64::from(max_tokens) => {
            let lowered = u64::from(max_tokens).saturating_sub(1);
            if lowered < MIN_THINKING_BUDGET {
                tracing::debug!(
                    budget,
                    max_tokens,
                    "anthropic: thinking dropped, no budget fits under max_tokens"
                );
                return None;
            }
            tracing::debug!(
                budget,
                lowered,
                "anthropic: thinking budget lowered under max_tokens"
            );
            let mut thinking = thinking.clone();
            thinking["budget_tokens"] = lowered.into();
            Some(thinking)
        }
        _ => Some(thinking.clone()),
    }
}

/// A message content block: its `cache_control`, and those of the blocks
/// inside a `tool_result`.
fn clean_block(block: &mut Value, ttl_ok: bool) {
    clean_cache_control(block, ttl_ok);
    if let Some(inner) = block.get_mut("content").and_then(Value::as_array_mut) {
        for block in inner {
            clean_cache_control(block, ttl_ok);
        }
    }
}

/// A tool definition: `custom` (Claude Code's own bookkeeping, e.g.
/// `defer_loading`) is not a Bedrock tool field and fails the request.
fn clean_tool(tool: &mut Value, ttl_ok: bool) {
    if let Some(tool) = tool.as_object_mut()
        && tool.remove("custom").is_some()
    {
        tracing::debug!("anthropic: tool field `custom` dropped");
    }
    clean_cache_control(tool, ttl_ok);
}

/// Bedrock's `cache_control` is `{type, ttl?}`; `scope` (prompt-caching-scope
/// beta) and, before the 4.5 models, `ttl` are refused.
fn clean_cache_control(holder: &mut Value, ttl_ok: bool) {
    let Some(cache) = holder
        .get_mut("cache_control")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    cache.retain(|key, _| {
        let keep = key == "type" || (key == "ttl" && ttl_ok);
        if !keep {
            tracing::debug!(field = %key, "anthropic: cache_control field dropped");
        }
        keep
    });
}

fn invalid(message: &str) -> AnthropicError {
    AnthropicError::InvalidRequest(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anthropic::resolve_model;
    use crate::catalog::Catalog;

    fn request(body: Value) -> MessagesRequest {
        serde_json::from_value(body).unwrap()
    }

    fn body_for(req: &MessagesRequest, betas: Option<&str>, model: &str) -> Value {
        let catalog = Catalog::builtin().unwrap();
        let model = resolve_model(&catalog, model).unwrap();
        serde_json::from_slice(&bedrock_body(req, betas, model).unwrap()).unwrap()
    }

    fn simple(extra: Value) -> MessagesRequest {
        let mut body = json!({
            "model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
            "messages": [{"role": "user", "content": "hi"}]
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        request(body)
    }

    const FIXTURE: &str = include_str!("../../tests/fixtures/claude_code_messages.json");
    const CLAUDE_CODE_BETAS: &str = "claude-code-20250219,interleaved-thinking-2025-05-14,\
        context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14, oauth-2025-04-20,\
        prompt-caching-scope-2026-01-05";

    #[test]
    fn claude_code_request_becomes_a_body_bedrock_accepts() {
        let sent: Value = serde_json::from_str(FIXTURE).unwrap();
        let req: MessagesRequest = serde_json::from_value(sent.clone()).unwrap();
        assert!(req.stream);
        let out = body_for(&req, Some(CLAUDE_CODE_BETAS), &req.model);

        let mut keys: Vec<&str> = out
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "anthropic_beta",
                "anthropic_version",
                "max_tokens",
                "messages",
                "system",
                "thinking",
                "tools"
            ]
        );
        assert_eq!(out["anthropic_version"], "bedrock-2023-05-31");
        assert_eq!(
            out["anthropic_beta"],
            json!([
                "interleaved-thinking-2025-05-14",
                "fine-grained-tool-streaming-2025-05-14"
            ])
        );
        // Everything the model needs arrives unchanged.
        for key in ["max_tokens", "messages", "system", "tools", "thinking"] {
            assert_eq!(out[key], sent[key], "{key} changed");
        }
        assert_eq!(out["tools"].as_array().unwrap().len(), 24);
        assert!(out["system"].to_string().len() > 26_000);
    }

    #[test]
    fn same_request_on_haiku_keeps_only_its_betas() {
        let req: MessagesRequest = serde_json::from_str(FIXTURE).unwrap();
        let out = body_for(
            &req,
            Some("context-1m-2025-08-07,interleaved-thinking-2025-05-14"),
            "claude-haiku-4-5",
        );
        assert_eq!(
            out["anthropic_beta"],
            json!(["interleaved-thinking-2025-05-14"])
        );
        let sonnet = body_for(&req, Some("context-1m-2025-08-07"), "claude-sonnet-4-5");
        assert_eq!(sonnet["anthropic_beta"], json!(["context-1m-2025-08-07"]));
    }

    #[test]
    fn body_betas_are_merged_filtered_and_deduplicated() {
        let req = simple(
            json!({"anthropic_beta": ["interleaved-thinking-2025-05-14", "made-up-2099-01-01"]}),
        );
        let out = body_for(
            &req,
            Some("interleaved-thinking-2025-05-14"),
            "claude-sonnet-4-5",
        );
        assert_eq!(
            out["anthropic_beta"],
            json!(["interleaved-thinking-2025-05-14"])
        );
        let header_only = body_for(&req, Some("claude-code-20250219"), "claude-sonnet-4-5");
        assert_eq!(
            header_only["anthropic_beta"],
            json!(["interleaved-thinking-2025-05-14"])
        );
        let nothing = body_for(
            &simple(json!({})),
            Some("claude-code-20250219, oauth-2025-04-20"),
            "claude-sonnet-4-5",
        );
        assert!(nothing.get("anthropic_beta").is_none());
    }

    #[test]
    fn documented_fields_pass_and_unknown_ones_are_dropped() {
        let req = simple(json!({
            "temperature": 0.2, "top_k": 5, "stop_sequences": ["END"],
            "tool_choice": {"type": "auto"}, "metadata": {"user_id": "u"},
            "context_management": {"edits": []}, "service_tier": "auto",
            "anthropic_version": "2023-06-01", "output_config": {"effort": "low"}
        }));
        let out = body_for(&req, None, "claude-sonnet-4-5");
        assert_eq!(out["temperature"], 0.2);
        assert_eq!(out["top_k"], 5);
        assert_eq!(out["stop_sequences"], json!(["END"]));
        assert_eq!(out["tool_choice"], json!({"type": "auto"}));
        assert_eq!(out["anthropic_version"], "bedrock-2023-05-31");
        for gone in [
            "metadata",
            "context_management",
            "service_tier",
            "output_config",
            "model",
            "stream",
        ] {
            assert!(out.get(gone).is_none(), "{gone} was sent");
        }
        let opus = body_for(&req, None, "claude-opus-4-6");
        assert_eq!(opus["output_config"], json!({"effort": "low"}));
    }

    #[test]
    fn temperature_wins_over_top_p_where_only_one_is_allowed() {
        let req = simple(json!({"temperature": 0.5, "top_p": 0.9}));
        let out = body_for(&req, None, "claude-sonnet-4-5");
        assert_eq!(out["temperature"], 0.5);
        assert!(out.get("top_p").is_none());
        let old = body_for(&req, None, "claude-sonnet-4");
        assert_eq!(old["top_p"], 0.9);
    }

    #[test]
    fn max_tokens_is_clamped_and_thinking_budget_follows() {
        let req = simple(json!({
            "max_tokens": 500_000,
            "thinking": {"type": "enabled", "budget_tokens": 200_000}
        }));
        let out = body_for(&req, None, "claude-sonnet-4-5");
        assert_eq!(out["max_tokens"], 64_000);
        assert_eq!(out["thinking"]["budget_tokens"], 63_999);
        assert_eq!(out["thinking"]["type"], "enabled");
        let adaptive = simple(json!({"max_tokens": 500_000, "thinking": {"type": "adaptive"}}));
        assert_eq!(
            body_for(&adaptive, None, "claude-opus-4-6")["thinking"],
            json!({"type": "adaptive"})
        );
    }

    #[test]
    fn invalid_shapes_are_request_errors() {
        let catalog = Catalog::builtin().unwrap();
        let model = resolve_model(&catalog, "claude-sonnet-4-5").unwrap();
        let empty = request(json!({"model": "m", "max_tokens": 10, "messages": []}));
        let zero = simple(json!({"max_tokens": 0}));
        let missing =
            request(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}));
        for (req, needle) in [
            (&empty, "messages"),
            (&zero, "max_tokens"),
            (&missing, "max_tokens"),
        ] {
            match bedrock_body(req, None, model) {
                Err(AnthropicError::InvalidRequest(m)) => assert!(m.contains(needle), "{m}"),
                other => panic!("expected an invalid request, got {other:?}"),
            }
        }
        // count_tokens has no max_tokens and needs none.
        let counted: Value =
            serde_json::from_slice(&count_tokens_body(&missing, None, model).unwrap()).unwrap();
        assert_eq!(counted["max_tokens"], 64_000);
    }

    #[test]
    fn cache_control_keeps_type_and_ttl_only_where_accepted() {
        let cc = json!({"type": "ephemeral", "ttl": "1h", "scope": "global"});
        let req = simple(json!({
            "system": [{"type": "text", "text": "s", "cache_control": cc}],
            "tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": cc,
                       "custom": {"defer_loading": true}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "q", "cache_control": cc}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "t",
                    "input": {"cache_control": "user data stays"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "r", "cache_control": cc}]}]}
            ]
        }));
        let out = body_for(&req, None, "claude-sonnet-4-5");
        let with_ttl = json!({"type": "ephemeral", "ttl": "1h"});
        assert_eq!(out["system"][0]["cache_control"], with_ttl);
        assert_eq!(out["tools"][0]["cache_control"], with_ttl);
        assert!(out["tools"][0].get("custom").is_none());
        assert_eq!(out["messages"][0]["content"][0]["cache_control"], with_ttl);
        assert_eq!(
            out["messages"][2]["content"][0]["content"][0]["cache_control"],
            with_ttl
        );
        assert_eq!(
            out["messages"][1]["content"][0]["input"]["cache_control"],
            "user data stays"
        );
        let old = body_for(&req, None, "claude-sonnet-4");
        assert_eq!(
            old["system"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
    }

    #[test]
    fn unknown_families_get_documented_fields_but_no_betas() {
        let mut model = Catalog::builtin().unwrap().models()[0].clone();
        model.profile_id = "arn:aws:bedrock:us-east-1:1:application-inference-profile/x".into();
        let req = simple(json!({"temperature": 1.0}));
        let out: Value = serde_json::from_slice(
            &bedrock_body(&req, Some("interleaved-thinking-2025-05-14"), &model).unwrap(),
        )
        .unwrap();
        assert!(out.get("anthropic_beta").is_none());
        assert_eq!(out["temperature"], 1.0);
    }
}
