//! The Bedrock InvokeModel body for a Messages request: Anthropic's body minus
//! what Bedrock refuses.
//!
//! Bedrock validates the body strictly: an unknown top-level key fails the
//! whole request ("Extra inputs are not permitted"), so does `model` or
//! `stream` ("extraneous key \[stream\] is not permitted"), and so does any
//! `anthropic_beta` entry it does not know ("invalid beta flag"). Claude Code
//! sends several of each. Failing those requests would make the proxy
//! useless, and the features behind them are optional, so they are dropped
//! with a `debug` line naming each one.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::accepts::{DISPLAY_UPDATES_BETA, Feature, accepted};
use super::{AnthropicError, Content, Message, MessagesRequest, Role};
use crate::adjust::{self, Adjustments};
use crate::catalog::{
    Capability, Effort, Model, SamplingRule, ThinkingDisplay, ThinkingOff, ThinkingOffKind,
};

/// The Messages-API version Bedrock's Anthropic body requires.
const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// The smallest `thinking.budget_tokens` Anthropic accepts.
const MIN_THINKING_BUDGET: u64 = 1024;

/// A Bedrock InvokeModel body for `req` on `model`, and what was changed to
/// fit the model's rules (see [`crate::adjust`]).
///
/// `beta_header` is the client's `anthropic-beta` header (comma-separated).
/// `max_tokens` is clamped to the model's `max_output`: a client cannot make
/// the proxy reserve (and Bedrock's quota count) more output than the model
/// can produce, and a `thinking` budget is lowered to fit under the clamp.
pub fn bedrock_body(
    req: &MessagesRequest,
    beta_header: Option<&str>,
    model: &Model,
) -> Result<(Bytes, Adjustments), AnthropicError> {
    let mut adjusted = Adjustments::default();
    let max_tokens = match req.max_tokens {
        None => return Err(invalid("max_tokens: Field required")),
        Some(0) => return Err(invalid("max_tokens: must be greater than or equal to 1")),
        Some(n) => adjust::clamp_max_tokens(n, model, &mut adjusted),
    };
    let body = build(req, beta_header, model, max_tokens, &mut adjusted)?;
    Ok((body, adjusted))
}

/// The body Bedrock's CountTokens takes (an InvokeModel body) for a
/// `count_tokens` request, which has no `max_tokens`: the model's maximum
/// stands in, so a `thinking` budget stays valid.
pub fn count_tokens_body(
    req: &MessagesRequest,
    beta_header: Option<&str>,
    model: &Model,
) -> Result<Bytes, AnthropicError> {
    build(
        req,
        beta_header,
        model,
        model.max_output,
        &mut Adjustments::default(),
    )
}

fn build(
    req: &MessagesRequest,
    beta_header: Option<&str>,
    model: &Model,
    max_tokens: u32,
    adjusted: &mut Adjustments,
) -> Result<Bytes, AnthropicError> {
    if req.messages.is_empty() {
        return Err(invalid("messages: at least one message is required"));
    }
    let accepts = |feature: Feature| accepted(feature, model);
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
            "output_config" if !model.thinking.efforts.is_empty() => {
                out.insert(key.clone(), fit_effort(value, model, adjusted));
            }
            "temperature" | "top_p" | "top_k" if model.sampling == SamplingRule::Rejected => {
                adjusted.note(model, sampling_field(key), "dropped");
            }
            "tool_choice" if !model.forced_tool_choice && is_forced(value) => {
                let mut auto = json!({"type": "auto"});
                if let Some(v) = value.get("disable_parallel_tool_use") {
                    auto["disable_parallel_tool_use"] = v.clone();
                }
                out.insert(key.clone(), auto);
                adjusted.note(model, "tool_choice", "auto");
            }
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
        // The model takes one of them; temperature is the one clients mean.
        adjusted.note(model, "top_p", "dropped");
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

    match thinking_for(req.thinking.as_ref(), model, max_tokens, adjusted) {
        Thinking::Send(mut thinking) => {
            // `updates` exists only under its beta. Where the model does not
            // take the beta, the client still asked to see the thinking: a
            // model that hides it by default is asked for its summary, any
            // other shows it anyway.
            if thinking["display"] == "updates"
                && !kept_betas.contains(&DISPLAY_UPDATES_BETA)
                && let Some(thinking) = thinking.as_object_mut()
            {
                if model.thinking.display == ThinkingDisplay::Omitted {
                    thinking.insert("display".into(), "summarized".into());
                    adjusted.note(model, "thinking.display", "summarized");
                } else {
                    thinking.remove("display");
                    adjusted.note(model, "thinking.display", "dropped");
                }
            }
            out.insert("thinking".into(), thinking);
        }
        Thinking::Adaptive(effort) => {
            out.insert("thinking".into(), json!({"type": "adaptive"}));
            let config = out.entry("output_config").or_insert_with(|| json!({}));
            if config.get("effort").is_none()
                && let (Some(config), Some(effort)) = (config.as_object_mut(), effort)
            {
                config.insert("effort".into(), effort.as_str().into());
                adjusted.note(model, "effort", effort.as_str());
            }
        }
        Thinking::Off(off) => {
            out.insert("thinking".into(), json!({"type": off.kind.as_str()}));
            // `get_mut`, not indexing: the client's `output_config` may lack
            // an effort, or not be an object at all.
            let effort = out
                .get_mut("output_config")
                .and_then(|c| c.get_mut("effort"));
            if let (Some(effort), Some(most)) = (effort, off.max_effort)
                && effort
                    .as_str()
                    .and_then(Effort::parse)
                    .is_some_and(|asked| asked > most)
            {
                *effort = most.as_str().into();
                adjusted.note(model, "effort", most.as_str());
            }
        }
        Thinking::Omit => {}
    }
    if let Some(system) = &req.system {
        let mut system = system.clone();
        for block in system.as_array_mut().into_iter().flatten() {
            clean_cache_control(block, ttl_ok);
        }
        out.insert("system".into(), system);
    }
    let mut messages = fold_system_messages(&req.messages);
    for message in &mut messages {
        if let Content::Blocks(blocks) = &mut message.content {
            for block in blocks {
                clean_block(block, ttl_ok);
            }
        }
    }
    if !req.tools.is_empty() {
        let mut tools = req.tools.clone();
        for tool in &mut tools {
            clean_tool(tool, ttl_ok);
        }
        out.insert("tools".into(), Value::Array(tools));
    }
    // The messages are written straight from their parsed form: as a JSON
    // value tree (a map per message) they would cost many times the body.
    serde_json::to_vec(&Outgoing {
        fields: &out,
        messages: &messages,
    })
    .map(Bytes::from)
    .map_err(|e| invalid(&format!("cannot encode the request: {e}")))
}

/// The body sent: the fields built above, then the messages.
#[derive(serde::Serialize)]
struct Outgoing<'a> {
    #[serde(flatten)]
    fields: &'a Map<String, Value>,
    messages: &'a [Message],
}

/// What to do with the client's `thinking`.
enum Thinking {
    Send(Value),
    /// `{"type": "adaptive"}`, with this effort unless the client set one.
    Adaptive(Option<Effort>),
    /// The model's way of not thinking, its effort capped to fit.
    Off(ThinkingOff),
    Omit,
}

/// The `thinking` to send, by the model's thinking style (models.yaml):
/// dropped for models that cannot think; `adaptive` becomes `enabled` with
/// the largest budget on budget-only models (as Claude Code itself asks
/// older models); a budget becomes adaptive with the nearest effort on
/// adaptive-only models; `disabled` (or `between_tools`) becomes the model's
/// own way of not thinking, its effort capped to what that allows, or is left
/// out where thinking is always on;
/// an `enabled` budget is lowered below `max_tokens` (Anthropic requires
/// `budget_tokens < max_tokens`), or thinking dropped when none fits.
fn thinking_for(
    thinking: Option<&Value>,
    model: &Model,
    max_tokens: u32,
    adjusted: &mut Adjustments,
) -> Thinking {
    let Some(thinking) = thinking else {
        return Thinking::Omit;
    };
    if !model.supports(Capability::Thinking) {
        adjusted.note(model, "thinking", "dropped");
        return Thinking::Omit;
    }
    let style = model.thinking.style;
    let largest = u64::from(max_tokens).saturating_sub(1);
    let budget = match (
        thinking["type"].as_str(),
        thinking["budget_tokens"].as_u64(),
    ) {
        (Some(asked), _) if ThinkingOffKind::parse(asked).is_some() => {
            return match model.thinking.turned_off() {
                Some(off) => {
                    if off.kind.as_str() != asked {
                        adjusted.note(model, "thinking", off.kind.as_str());
                    }
                    Thinking::Off(off)
                }
                None => {
                    adjusted.note(model, "thinking", "adaptive");
                    Thinking::Omit
                }
            };
        }
        (Some("enabled"), budget) if !style.takes_budget() => {
            adjusted.note(model, "thinking", "adaptive");
            let effort = budget
                .map(adjust::effort_for_budget)
                .and_then(|e| model.thinking.nearest_effort(e));
            return Thinking::Adaptive(effort);
        }
        (Some("adaptive"), _) if !style.takes_adaptive() => {
            adjusted.note(model, "thinking", "budget");
            largest
        }
        (Some("enabled"), Some(budget)) if budget > largest => {
            adjusted.note(model, "thinking.budget_tokens", largest.to_string());
            largest
        }
        _ => return Thinking::Send(thinking.clone()),
    };
    if budget < MIN_THINKING_BUDGET {
        adjusted.note(model, "thinking", "dropped");
        return Thinking::Omit;
    }
    Thinking::Send(json!({"type": "enabled", "budget_tokens": budget}))
}

/// `output_config` with its effort moved to the nearest level the model takes.
fn fit_effort(config: &Value, model: &Model, adjusted: &mut Adjustments) -> Value {
    let mut config = config.clone();
    let asked = config["effort"].as_str().and_then(Effort::parse);
    if let Some(asked) = asked
        && !model.thinking.efforts.contains(&asked)
        && let Some(nearest) = model.thinking.nearest_effort(asked)
    {
        config["effort"] = nearest.as_str().into();
        adjusted.note(model, "effort", nearest.as_str());
    }
    config
}

/// `tool_choice` `any` or `tool`: the model must call a tool.
fn is_forced(choice: &Value) -> bool {
    matches!(choice["type"].as_str(), Some("any" | "tool"))
}

fn sampling_field(key: &str) -> &'static str {
    match key {
        "temperature" => "temperature",
        "top_p" => "top_p",
        _ => "top_k",
    }
}

/// Bedrock knows only `user` and `assistant`: a `system`-role message's text
/// goes, wrapped in `<system-reminder>` (the convention Claude Code's
/// prompts use for context that is not the user's words), into the user
/// turn before it, or else the one after it (a user turn of its own when
/// there is none), so turns still alternate.
fn fold_system_messages(messages: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(messages.len());
    let mut pending: Vec<Value> = Vec::new();
    for message in messages {
        if message.role == Role::System {
            tracing::debug!("anthropic: system-role message folded into a user turn");
            let blocks = as_reminder_blocks(&message.content);
            match out.last_mut() {
                Some(last) if last.role == Role::User && pending.is_empty() => {
                    let mut joined = take_blocks(&mut last.content);
                    joined.extend(blocks);
                    last.content = Content::Blocks(joined);
                }
                _ => pending.extend(blocks),
            }
            continue;
        }
        let mut message = message.clone();
        if !pending.is_empty() {
            if message.role == Role::User {
                let mut joined = std::mem::take(&mut pending);
                joined.extend(take_blocks(&mut message.content));
                message.content = Content::Blocks(joined);
            } else {
                out.push(user_message(std::mem::take(&mut pending)));
            }
        }
        out.push(message);
    }
    if !pending.is_empty() {
        out.push(user_message(pending));
    }
    out
}

fn as_reminder_blocks(content: &Content) -> Vec<Value> {
    let wrap = |text: &str| json!({"type": "text", "text": format!("<system-reminder>\n{text}\n</system-reminder>")});
    match content {
        Content::Text(text) => vec![wrap(text)],
        Content::Blocks(blocks) => blocks
            .iter()
            .map(|b| match b["text"].as_str() {
                Some(text) if b["type"] == "text" => wrap(text),
                _ => b.clone(),
            })
            .collect(),
    }
}

/// The content as blocks (a string becomes one text block), leaving it empty.
fn take_blocks(content: &mut Content) -> Vec<Value> {
    match std::mem::replace(content, Content::Blocks(Vec::new())) {
        Content::Text(text) => vec![json!({"type": "text", "text": text})],
        Content::Blocks(blocks) => blocks,
    }
}

fn user_message(blocks: Vec<Value>) -> Message {
    Message {
        role: Role::User,
        content: Content::Blocks(blocks),
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
/// beta) and, on models whose `accepts` lacks `cache_control.ttl`, `ttl` are refused.
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
    use crate::catalog::Catalog;

    fn request(body: Value) -> MessagesRequest {
        serde_json::from_value(body).unwrap()
    }

    fn body_for(req: &MessagesRequest, betas: Option<&str>, model: &str) -> Value {
        let catalog = Catalog::builtin().unwrap();
        let model = catalog.resolve(model).unwrap().model;
        serde_json::from_slice(&bedrock_body(req, betas, model).unwrap().0).unwrap()
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

    /// The top-level keys of a JSON object, sorted.
    fn sorted_keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn claude_code_request_becomes_a_body_bedrock_accepts() {
        let sent: Value = serde_json::from_str(FIXTURE).unwrap();
        let req: MessagesRequest = serde_json::from_value(sent.clone()).unwrap();
        assert!(req.stream);
        let out = body_for(&req, Some(CLAUDE_CODE_BETAS), &req.model);

        let keys = sorted_keys(&out);
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

    /// A request Claude Code 2.1.197 sent (texts replaced by filler of the
    /// same length), with the headers it sent.
    const FIXTURE_2_1_197: &str =
        include_str!("../../tests/fixtures/claude_code_2_1_197_messages.json");
    const BETAS_2_1_197: &str = "claude-code-20250219,context-1m-2025-08-07,\
        interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,\
        context-management-2025-06-27,prompt-caching-scope-2026-01-05,\
        mid-conversation-system-2026-04-07,effort-2025-11-24";

    #[test]
    fn claude_code_2_1_197_request_on_opus_4_8() {
        let sent: Value = serde_json::from_str(FIXTURE_2_1_197).unwrap();
        let req: MessagesRequest = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(req.model, "claude-opus-4-8");
        let out = body_for(&req, Some(BETAS_2_1_197), &req.model);
        let keys = sorted_keys(&out);
        // Interleaved thinking is built into adaptive thinking; Bedrock's
        // beta list for Opus 4.8 has none of the betas sent.
        assert_eq!(
            keys,
            [
                "anthropic_version",
                "max_tokens",
                "messages",
                "output_config",
                "system",
                "thinking",
                "tools"
            ]
        );
        assert_eq!(out["thinking"], json!({"type": "adaptive"}));
        assert_eq!(out["output_config"], sent["output_config"]);
        assert_eq!(out["tools"], sent["tools"]);
        // The trailing system-role message joins the user's turn.
        let messages = out["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["role"], "user");
        assert_eq!(messages[0]["content"][1]["text"], "say hello");
        assert!(
            messages[0]["content"][2]["text"]
                .as_str()
                .unwrap()
                .starts_with("<system-reminder>")
        );
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
    fn adaptive_thinking_becomes_enabled_where_not_supported() {
        let req = simple(json!({"max_tokens": 32_000, "thinking": {"type": "adaptive"}}));
        assert_eq!(
            body_for(&req, None, "claude-sonnet-4-5")["thinking"],
            json!({"type": "enabled", "budget_tokens": 31_999})
        );
        assert_eq!(
            body_for(&req, None, "claude-opus-4-6")["thinking"],
            json!({"type": "adaptive"})
        );
        let tiny = simple(json!({"max_tokens": 1_000, "thinking": {"type": "adaptive"}}));
        assert!(
            body_for(&tiny, None, "claude-sonnet-4-5")
                .get("thinking")
                .is_none()
        );
    }

    #[test]
    fn system_role_messages_fold_into_user_turns() {
        let req = request(json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "system", "content": "first"},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "after"}]},
            {"role": "assistant", "content": "a"},
            {"role": "system", "content": "tail"}
        ]}));
        let reminder = |t: &str| json!({"type": "text", "text": format!("<system-reminder>\n{t}\n</system-reminder>")});
        let out = body_for(&req, None, "claude-sonnet-4-5");
        assert_eq!(
            out["messages"],
            json!([
                {"role": "user", "content": [reminder("first"), {"type": "text", "text": "hi"}, reminder("after")]},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": [reminder("tail")]}
            ])
        );
    }

    #[test]
    fn invalid_shapes_are_request_errors() {
        let catalog = Catalog::builtin().unwrap();
        let model = catalog.model("claude-sonnet-4-5").unwrap();
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
    fn a_model_without_accepts_gets_documented_fields_but_no_betas() {
        let mut model = Catalog::builtin()
            .unwrap()
            .model("bedrock/claude-sonnet-4-5")
            .unwrap()
            .clone();
        model.accepts = Default::default();
        let req = simple(json!({"temperature": 1.0}));
        let out: Value = serde_json::from_slice(
            &bedrock_body(&req, Some("interleaved-thinking-2025-05-14"), &model)
                .unwrap()
                .0,
        )
        .unwrap();
        assert!(out.get("anthropic_beta").is_none());
        assert_eq!(out["temperature"], 1.0);
    }

    #[test]
    fn betas_and_the_cache_ttl_follow_each_models_accepts() {
        let req = simple(json!({
            "system": [{"type": "text", "text": "s",
                        "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
        }));
        let betas = Some("interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14");
        // Haiku 4.5 (models.yaml) takes both Claude 4 betas and the 1-hour TTL.
        let older = body_for(&req, betas, "claude-haiku-4-5");
        assert_eq!(
            older["anthropic_beta"],
            json!([
                "interleaved-thinking-2025-05-14",
                "fine-grained-tool-streaming-2025-05-14"
            ])
        );
        assert_eq!(older["system"][0]["cache_control"]["ttl"], "1h");
        // Sonnet 5.5 lists neither.
        let newer = body_for(&req, betas, "claude-sonnet-5-5");
        assert!(newer.get("anthropic_beta").is_none(), "{newer}");
        assert_eq!(
            newer["system"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
        // The answer is the catalog's data, not the model's name.
        let catalog = Catalog::builtin().unwrap();
        let mut taught = catalog.model("claude-sonnet-5-5").unwrap().clone();
        taught.accepts.betas = vec!["fine-grained-tool-streaming-2025-05-14".into()];
        let out: Value =
            serde_json::from_slice(&bedrock_body(&req, betas, &taught).unwrap().0).unwrap();
        assert_eq!(
            out["anthropic_beta"],
            json!(["fine-grained-tool-streaming-2025-05-14"])
        );
    }

    fn fitted(model: &str, extra: Value) -> (Value, Adjustments) {
        let catalog = Catalog::builtin().unwrap();
        let model = catalog.model(model).unwrap();
        let (body, adjusted) = bedrock_body(&simple(extra), None, model).unwrap();
        (serde_json::from_slice(&body).unwrap(), adjusted)
    }

    #[test]
    fn display_updates_travels_with_its_beta_or_becomes_what_the_model_takes() {
        // Interactive Claude Code 2.1.332: the beta in the header, `updates`
        // in the body.
        let req = simple(json!({"thinking": {"type": "adaptive", "display": "updates"}}));
        let betas = Some("claude-code-20250219,thinking-display-updates-2026-08-18");
        let catalog = Catalog::builtin().unwrap();
        let on = |name: &str| {
            let model = catalog.model(name).unwrap();
            let (body, adjusted) = bedrock_body(&req, betas, model).unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            (body, adjusted.header_value())
        };
        let (body, adjusted) = on("bedrock/claude-sonnet-5-5");
        assert_eq!(
            body["anthropic_beta"],
            json!(["thinking-display-updates-2026-08-18"])
        );
        assert_eq!(
            body["thinking"],
            json!({"type": "adaptive", "display": "updates"})
        );
        assert_eq!(adjusted, None);
        // Haiku 5.5 does not take the beta and hides its thinking unless
        // asked: it is asked for the summary.
        let (body, adjusted) = on("bedrock/claude-haiku-5-5");
        assert_eq!(body.get("anthropic_beta"), None);
        assert_eq!(
            body["thinking"],
            json!({"type": "adaptive", "display": "summarized"})
        );
        assert_eq!(adjusted.as_deref(), Some("thinking.display=summarized"));
        // Sonnet 4.6 shows its thinking anyway: the display is dropped.
        let (body, adjusted) = on("bedrock/claude-sonnet-4-6");
        assert_eq!(body.get("anthropic_beta"), None);
        assert_eq!(body["thinking"], json!({"type": "adaptive"}));
        assert_eq!(adjusted.as_deref(), Some("thinking.display=dropped"));
    }

    #[test]
    fn budget_thinking_becomes_adaptive_with_the_nearest_effort_on_adaptive_only_models() {
        let (out, adjusted) = fitted(
            "claude-sonnet-5-5",
            json!({"thinking": {"type": "enabled", "budget_tokens": 16000}}),
        );
        assert_eq!(out["thinking"], json!({"type": "adaptive"}));
        assert_eq!(out["output_config"], json!({"effort": "medium"}));
        assert_eq!(
            adjusted.header_value().as_deref(),
            Some("thinking=adaptive;effort=medium")
        );
        // Where the budget form is accepted it passes untouched.
        let (out, adjusted) = fitted(
            "claude-sonnet-4-5",
            json!({"max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": 16000}}),
        );
        assert_eq!(out["thinking"]["budget_tokens"], 16000);
        assert!(adjusted.is_empty());
    }

    #[test]
    fn always_on_models_lose_disabled_thinking_sampling_and_forced_tools() {
        let (out, adjusted) = fitted(
            "claude-opus-5-5",
            json!({"thinking": {"type": "disabled"}, "temperature": 0.2, "top_k": 5,
                "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true}}),
        );
        assert!(out.get("thinking").is_none(), "{out}");
        assert!(out.get("temperature").is_none() && out.get("top_k").is_none());
        assert_eq!(
            out["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            adjusted.header_value().as_deref(),
            Some("temperature=dropped;tool_choice=auto;top_k=dropped;thinking=adaptive")
        );
    }

    #[test]
    fn thinking_turned_off_is_sent_as_each_model_turns_it_off() {
        // Sonnet 5.5 refuses `disabled` and takes `between_tools`, at most
        // at high effort.
        let (out, adjusted) = fitted(
            "claude-sonnet-5-5",
            json!({"thinking": {"type": "disabled"}, "output_config": {"effort": "max"}}),
        );
        assert_eq!(out["thinking"], json!({"type": "between_tools"}));
        assert_eq!(out["output_config"], json!({"effort": "high"}));
        assert_eq!(
            adjusted.header_value().as_deref(),
            Some("thinking=between_tools;effort=high")
        );
        // Haiku 5.5 turns it off plainly, also at most at high effort.
        let (out, adjusted) = fitted(
            "claude-haiku-5-5",
            json!({"thinking": {"type": "disabled"}, "output_config": {"effort": "xhigh"}}),
        );
        assert_eq!(out["thinking"], json!({"type": "disabled"}));
        assert_eq!(out["output_config"], json!({"effort": "high"}));
        assert_eq!(adjusted.header_value().as_deref(), Some("effort=high"));
        // A client's `between_tools` routed to a model without it becomes
        // that model's way, or is left out where thinking is always on.
        let (out, adjusted) = fitted(
            "claude-opus-4-8",
            json!({"thinking": {"type": "between_tools"}, "output_config": {"effort": "max"}}),
        );
        assert_eq!(out["thinking"], json!({"type": "disabled"}));
        assert_eq!(out["output_config"], json!({"effort": "max"}));
        assert_eq!(adjusted.get("thinking"), Some("disabled"));
        let (out, adjusted) = fitted(
            "claude-opus-5-5",
            json!({"thinking": {"type": "between_tools"}}),
        );
        assert!(out.get("thinking").is_none(), "{out}");
        assert_eq!(adjusted.get("thinking"), Some("adaptive"));
        // An `output_config` without an effort, or not an object, is sent
        // as it came.
        for config in [json!({"format": {"type": "json_schema"}}), json!("fast")] {
            let (out, _) = fitted(
                "claude-sonnet-5-5",
                json!({"thinking": {"type": "disabled"}, "output_config": config}),
            );
            assert_eq!(out["output_config"], config);
        }
        // Within the cap, nothing changes.
        let (out, adjusted) = fitted(
            "claude-sonnet-5-5",
            json!({"thinking": {"type": "between_tools"}, "output_config": {"effort": "low"}}),
        );
        assert_eq!(out["thinking"], json!({"type": "between_tools"}));
        assert_eq!(out["output_config"], json!({"effort": "low"}));
        assert!(adjusted.is_empty(), "{adjusted:?}");
    }

    #[test]
    fn an_effort_the_model_lacks_moves_to_the_nearest_and_budget_models_get_none() {
        let (out, adjusted) = fitted(
            "claude-opus-4-6",
            json!({"output_config": {"effort": "xhigh"}}),
        );
        assert_eq!(out["output_config"], json!({"effort": "max"}));
        assert_eq!(adjusted.get("effort"), Some("max"));
        let (out, _) = fitted(
            "claude-haiku-4-5",
            json!({"output_config": {"effort": "low"}}),
        );
        assert!(out.get("output_config").is_none());
    }

    #[test]
    fn max_tokens_above_the_models_output_is_clamped_and_said() {
        let catalog = Catalog::builtin().unwrap();
        let model = catalog.model("claude-haiku-4-5").unwrap();
        let mut req = simple(json!({}));
        req.max_tokens = Some(500_000);
        let (body, adjusted) = bedrock_body(&req, None, model).unwrap();
        let out: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(out["max_tokens"], 64_000);
        assert_eq!(adjusted.get("max_tokens"), Some("64000"));
    }
}
