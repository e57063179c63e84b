//! The per-model request rules Bedrock enforces (thinking form, sampling
//! parameters, forced tool choice, output limit), checked the same way for
//! Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream and
//! CountTokens, with Bedrock's messages. Which model has which rule is data
//! in `claude-models.yaml`.
//!
//! Bedrock passes the model's own 400 through as a ValidationException whose
//! message starts "The model returned the following errors: " (as users
//! quote it, e.g. "...: invalid beta flag" in LiteLLM's docs on Anthropic beta
//! headers, "...: Input is too long for requested model." in boto3 callers).

use serde_json::Value;

use crate::errors::ApiError;
use crate::lineup::{Model, SamplingParam, ThinkingDisplay, ThinkingStyle};
use crate::model_id::response_model_name;

/// The beta under which `thinking.display` may be `updates`.
pub const DISPLAY_UPDATES_BETA: &str = "thinking-display-updates-2026-08-18";

const MODEL_ERRORS: &str = "The model returned the following errors: ";

pub const BOTH_SAMPLING_PARAMS: &str = "The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.";

/// What a request asks of the model, whichever API it came through.
#[derive(Debug, Default)]
pub struct Asks<'a> {
    /// `thinking.type`: `enabled`, `adaptive`, `disabled`, `between_tools`.
    pub thinking: Option<&'a str>,
    /// `output_config.effort`.
    pub effort: Option<&'a str>,
    /// `thinking.display`.
    pub display: Option<&'a str>,
    /// The `anthropic_beta` list has [`DISPLAY_UPDATES_BETA`].
    pub display_updates_beta: bool,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<f64>,
    /// The assistant turn the request's closing tool results answer.
    pub tool_loop: Option<ToolLoopTurn<'a>>,
    /// The signatures of the thinking blocks the request replays.
    pub replayed_thinking: Vec<ReplayedThinking<'a>>,
    /// `tool_choice` is `any` or names a tool.
    pub forces_tool: bool,
    pub max_tokens: Option<u64>,
}

impl Asks<'_> {
    /// Whether the answer thinks: asked to, or, when the request says
    /// nothing of thinking, by the model's default.
    pub fn thinks(&self, model: &Model) -> bool {
        match self.thinking {
            Some(thinking) => thinking == "enabled" || thinking == "adaptive",
            None => model.thinks_unasked(),
        }
    }

    /// Whether thinking blocks carry their text: the request's `display`,
    /// else the model's default.
    pub fn shows_thinking(&self, model: &Model) -> bool {
        match self.display {
            // Only the notes between tool calls carry text, and the double
            // writes none.
            Some("updates") => false,
            display => {
                let display = display.and_then(ThinkingDisplay::parse);
                display.unwrap_or(model.thinking_display) == ThinkingDisplay::Summarized
            }
        }
    }

    fn sampling(&self, param: SamplingParam) -> Option<f64> {
        match param {
            SamplingParam::Temperature => self.temperature,
            SamplingParam::TopP => self.top_p,
            SamplingParam::TopK => self.top_k,
        }
    }
}

pub fn check(model: &Model, asks: &Asks<'_>) -> Result<(), ApiError> {
    let model_errors = |text: String| ApiError::validation(format!("{MODEL_ERRORS}{text}"));
    if let Some(max_tokens) = asks.max_tokens
        && max_tokens > model.max_output_tokens
    {
        // Anthropic's wording for the output cap, passed through by Bedrock.
        return Err(model_errors(format!(
            "max_tokens: {max_tokens} > {}, which is the maximum allowed number of output tokens for {}",
            model.max_output_tokens,
            response_model_name(&model.id)
        )));
    }
    if let Some(thinking) = asks.thinking
        && let Some(refused) = refused_thinking_off(model, thinking, asks.effort)
    {
        return Err(model_errors(refused));
    }
    let updates_allowed = asks.display_updates_beta && model.display_updates;
    if let Some(display) = asks.display
        && ThinkingDisplay::parse(display).is_none()
        && !(display == "updates" && updates_allowed)
    {
        return Err(model_errors(format!(
            "thinking.{}.display: Input should be 'summarized', 'omitted'",
            asks.thinking.unwrap_or("adaptive")
        )));
    }
    if let Some(thinking) = asks.thinking {
        let refused = match model.thinking {
            ThinkingStyle::Budget => thinking == "adaptive",
            ThinkingStyle::AdaptiveOrBudget => false,
            ThinkingStyle::Adaptive => thinking == "enabled",
            ThinkingStyle::AlwaysOn => thinking == "enabled" || thinking == "disabled",
        };
        if refused {
            // Documented for `enabled` and `disabled` on adaptive-only models
            // (claude-messages-adaptive-thinking.md, whats-new-opus-5-5); the
            // `adaptive`-on-a-budget-model text follows the same pattern.
            return Err(model_errors(format!(
                "\"thinking.type.{thinking}\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior."
            )));
        }
    }
    for &param in &model.sampling.rejected {
        // The default (1.0) is accepted; any other value is refused (the
        // breaking changes listed for Haiku 5.5 and Sonnet 5 in Anthropic's
        // migration guides; the message as users quote it from Converse on
        // Sonnet 5: "temperature is deprecated for this model").
        if asks.sampling(param).is_some_and(|value| value != 1.0) {
            return Err(model_errors(format!(
                "`{}` is deprecated for this model.",
                param.name()
            )));
        }
    }
    if model.sampling.exclusive && asks.temperature.is_some() && asks.top_p.is_some() {
        return Err(ApiError::validation(BOTH_SAMPLING_PARAMS));
    }
    check_tool_loop(asks)?;
    check_replayed_thinking(model, asks)?;
    if asks.forces_tool && !model.forced_tool_choice {
        // vercel/ai fixture bedrock-opus-5-5-forced-tool-error.json
        return Err(model_errors(
            "tool_choice: type \"tool\" and \"any\" are not supported for this model.".to_owned(),
        ));
    }
    Ok(())
}

/// The assistant turn a request's closing tool results answer: its index
/// in `messages` and the Anthropic type of its first block (`text`,
/// `tool_use`, `thinking`, ...).
#[derive(Debug)]
pub struct ToolLoopTurn<'a> {
    pub index: usize,
    pub first_block: &'a str,
}

/// With budget-form thinking (`enabled`), the assistant turn a tool loop
/// continues must start with its thinking: Anthropic's 400, which Bedrock
/// passes on (ValidationException quoted in langchain-ai/langchain-aws#844,
/// with extended thinking). Adaptive thinking takes a loop without it
/// ("verified live against claude-fable-5 and claude-opus-4-8",
/// eumemic/aios src/aios/harness/completion.py), and so, by the same token,
/// does a model that thinks unasked.
fn check_tool_loop(asks: &Asks<'_>) -> Result<(), ApiError> {
    let thinking = asks.thinking == Some("enabled");
    match &asks.tool_loop {
        Some(turn) if thinking && !matches!(turn.first_block, "thinking" | "redacted_thinking") => {
            Err(ApiError::validation(format!(
                "{MODEL_ERRORS}messages.{}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
                turn.index, turn.first_block
            )))
        }
        _ => Ok(()),
    }
}

/// A thinking block a request replays: where it is (message and block
/// index) and its signature.
#[derive(Debug)]
pub struct ReplayedThinking<'a> {
    pub message: usize,
    pub block: usize,
    pub signature: &'a str,
}

impl<'a> ReplayedThinking<'a> {
    /// The thinking blocks of a conversation, given each message's content
    /// blocks and how the API spells a thinking block's signature.
    pub fn in_messages(
        messages: impl IntoIterator<Item = &'a [Value]>,
        signature_of: impl Fn(&'a Value) -> Option<&'a str>,
    ) -> Vec<ReplayedThinking<'a>> {
        let signature_of = &signature_of;
        messages
            .into_iter()
            .enumerate()
            .flat_map(|(message, blocks)| {
                blocks
                    .iter()
                    .enumerate()
                    .filter_map(move |(block, content)| {
                        signature_of(content).map(|signature| ReplayedThinking {
                            message,
                            block,
                            signature,
                        })
                    })
            })
            .collect()
    }
}

/// On a model whose thinking is bound to the model that produced it ("a
/// request returns a 400 error" otherwise: the AWS model card of Claude
/// Fable 5.2; "thinking blocks are tied to the model that produced them",
/// Anthropic's whats-new-opus-5-5, for Opus 5.5 and Fable 5.1), a thinking
/// block signed by another model is refused. The message is Anthropic's for
/// a signature it cannot verify (as quoted in eumemic/aios's completion.py:
/// "Invalid `signature` in `thinking` block"). Signatures the double did not
/// write are not judged.
fn check_replayed_thinking(model: &Model, asks: &Asks<'_>) -> Result<(), ApiError> {
    if !model.thinking_bound {
        return Ok(());
    }
    let foreign = asks.replayed_thinking.iter().find(|replayed| {
        crate::reply::signer(replayed.signature).is_some_and(|signer| signer != model.id)
    });
    match foreign {
        Some(at) => Err(ApiError::validation(format!(
            "{MODEL_ERRORS}messages.{}.content.{}: Invalid `signature` in `thinking` block",
            at.message, at.block
        ))),
        None => Ok(()),
    }
}

/// Why a request's way of turning thinking off is refused: the model has
/// its own form (Sonnet 5.5's `between_tools`, where `disabled` is a 400 that
/// points to it), a model is sent a form it does not know, or the form comes
/// with an effort it does not allow. The behaviour is Anthropic's
/// (whats-new-sonnet-5-5); the wording is the double's.
fn refused_thinking_off(model: &Model, thinking: &str, effort: Option<&str>) -> Option<String> {
    let off = model.thinking_off.as_ref();
    match off {
        Some(off) if thinking == "disabled" => Some(format!(
            "\"thinking.type.disabled\" is not supported for this model. Use \"thinking.type.{}\" to turn off up-front thinking.",
            off.kind
        )),
        Some(off) if thinking == off.kind => effort
            .filter(|e| off.refused_efforts.iter().any(|r| r == e))
            .map(|e| {
                format!(
                    "\"thinking.type.{thinking}\" is not supported with \"output_config.effort\": \"{e}\". Use \"thinking.type.adaptive\" for this effort."
                )
            }),
        // A type every Claude model knows is judged by the model's style below.
        _ if !["enabled", "adaptive", "disabled"].contains(&thinking)
            && off.is_none_or(|o| o.kind != thinking) =>
        {
            Some(format!(
                "\"thinking.type.{thinking}\" is not supported for this model."
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorKind;
    use crate::lineup::Lineup;

    fn check_on(base_id: &str, asks: Asks<'_>) -> Result<(), String> {
        let lineup = Lineup::builtin().unwrap();
        let model = lineup.model(base_id).unwrap();
        check(model, &asks).map_err(|e| {
            assert_eq!(e.kind, ErrorKind::Validation);
            e.message
        })
    }

    const HAIKU_55: &str = "anthropic.claude-haiku-5-5";
    const SONNET_55: &str = "anthropic.claude-sonnet-5-5";
    const OPUS_55: &str = "anthropic.claude-opus-5-5";
    const SONNET_45: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    const HAIKU_45: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";
    const OPUS_46: &str = "anthropic.claude-opus-4-6-v1";
    const SONNET_4: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

    fn thinking(kind: &str) -> Asks<'_> {
        Asks {
            thinking: Some(kind),
            ..Asks::default()
        }
    }

    #[test]
    fn the_5x_family_rejects_the_budget_form() {
        for model in [HAIKU_55, SONNET_55, OPUS_55, "anthropic.claude-sonnet-5"] {
            assert_eq!(
                check_on(model, thinking("enabled")).unwrap_err(),
                "The model returned the following errors: \"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior.",
                "{model}"
            );
            assert_eq!(check_on(model, thinking("adaptive")), Ok(()), "{model}");
        }
    }

    #[test]
    fn thinking_display_is_summarized_or_omitted_and_defaults_per_model() {
        let lineup = Lineup::builtin().unwrap();
        let shown = |model: &str, display| {
            let asks = Asks {
                thinking: Some("adaptive"),
                display,
                ..Asks::default()
            };
            asks.shows_thinking(lineup.model(model).unwrap())
        };
        // The 5.5 family hides thinking text unless asked; 4.6 shows it.
        assert!(!shown(OPUS_55, None) && !shown(SONNET_55, None) && !shown(HAIKU_55, None));
        assert!(shown(OPUS_46, None));
        assert!(shown(OPUS_55, Some("summarized")));
        assert!(!shown(OPUS_46, Some("omitted")));
        let updates = Asks {
            thinking: Some("adaptive"),
            display: Some("updates"),
            ..Asks::default()
        };
        assert_eq!(
            check_on(SONNET_55, updates).unwrap_err(),
            "The model returned the following errors: thinking.adaptive.display: Input should be 'summarized', 'omitted'"
        );
        // With its beta, on the models that take it.
        let with_beta = || Asks {
            thinking: Some("adaptive"),
            display: Some("updates"),
            display_updates_beta: true,
            ..Asks::default()
        };
        assert_eq!(check_on(SONNET_55, with_beta()), Ok(()));
        assert!(!with_beta().shows_thinking(lineup.model(SONNET_55).unwrap()));
        assert!(check_on(HAIKU_55, with_beta()).is_err());
    }

    #[test]
    fn sonnet_and_opus_5_5_cannot_disable_thinking_but_haiku_5_5_can() {
        for model in [SONNET_55, OPUS_55] {
            assert!(
                check_on(model, thinking("disabled"))
                    .unwrap_err()
                    .contains("\"thinking.type.disabled\" is not supported"),
                "{model}"
            );
        }
        assert_eq!(check_on(HAIKU_55, thinking("disabled")), Ok(()));
    }

    #[test]
    fn sonnet_5_5_turns_thinking_off_with_between_tools_up_to_high_effort() {
        let off = |effort| Asks {
            thinking: Some("between_tools"),
            effort,
            ..Asks::default()
        };
        assert!(
            check_on(SONNET_55, thinking("disabled"))
                .unwrap_err()
                .contains("Use \"thinking.type.between_tools\""),
        );
        for effort in [None, Some("low"), Some("medium"), Some("high")] {
            assert_eq!(check_on(SONNET_55, off(effort)), Ok(()), "{effort:?}");
        }
        for effort in ["xhigh", "max"] {
            assert!(
                check_on(SONNET_55, off(Some(effort)))
                    .unwrap_err()
                    .contains(&format!("\"output_config.effort\": \"{effort}\"")),
            );
        }
        // Other models do not know the form.
        for model in [HAIKU_55, OPUS_55, OPUS_46] {
            assert_eq!(
                check_on(model, off(None)).unwrap_err(),
                "The model returned the following errors: \"thinking.type.between_tools\" is not supported for this model.",
                "{model}"
            );
        }
    }

    #[test]
    fn models_bound_to_their_thinking_refuse_another_models() {
        let replaying = |signature| Asks {
            replayed_thinking: vec![ReplayedThinking {
                message: 1,
                block: 0,
                signature,
            }],
            ..Asks::default()
        };
        let sonnets = crate::reply::signature(SONNET_55, "hm");
        assert_eq!(
            check_on(OPUS_55, replaying(&sonnets)).unwrap_err(),
            "The model returned the following errors: messages.1.content.0: Invalid `signature` in `thinking` block"
        );
        let own = crate::reply::signature(OPUS_55, "hm");
        assert_eq!(check_on(OPUS_55, replaying(&own)), Ok(()));
        // Sonnet 5.5 is not known to bind its thinking; a signature the
        // double did not write is not judged.
        assert_eq!(check_on(SONNET_55, replaying(&own)), Ok(()));
        assert_eq!(check_on(OPUS_55, replaying("sig")), Ok(()));
    }

    #[test]
    fn budget_only_models_reject_adaptive_and_4_6_takes_both() {
        assert!(check_on(SONNET_45, thinking("adaptive")).is_err());
        assert_eq!(check_on(SONNET_45, thinking("enabled")), Ok(()));
        for kind in ["enabled", "adaptive", "disabled"] {
            assert_eq!(check_on(OPUS_46, thinking(kind)), Ok(()), "{kind}");
        }
    }

    #[test]
    fn sonnet_and_opus_5_5_reject_forced_tool_choice() {
        let forced = || Asks {
            forces_tool: true,
            ..Asks::default()
        };
        for model in [SONNET_55, OPUS_55] {
            assert_eq!(
                check_on(model, forced()).unwrap_err(),
                "The model returned the following errors: tool_choice: type \"tool\" and \"any\" are not supported for this model."
            );
        }
        assert_eq!(check_on(HAIKU_55, forced()), Ok(()));
        assert_eq!(check_on(SONNET_45, forced()), Ok(()));
    }

    #[test]
    fn the_5_5_models_reject_custom_sampling_but_accept_the_default() {
        for model in [HAIKU_55, SONNET_55, OPUS_55] {
            let custom = [
                (
                    Asks {
                        temperature: Some(0.2),
                        ..Asks::default()
                    },
                    "temperature",
                ),
                (
                    Asks {
                        top_p: Some(0.9),
                        ..Asks::default()
                    },
                    "top_p",
                ),
                (
                    Asks {
                        top_k: Some(40.0),
                        ..Asks::default()
                    },
                    "top_k",
                ),
            ];
            for (asks, name) in custom {
                assert_eq!(
                    check_on(model, asks).unwrap_err(),
                    format!(
                        "The model returned the following errors: `{name}` is deprecated for this model."
                    )
                );
            }
            let default = Asks {
                temperature: Some(1.0),
                ..Asks::default()
            };
            assert_eq!(check_on(model, default), Ok(()));
        }
    }

    #[test]
    fn temperature_and_top_p_together_only_where_exclusive() {
        let both = || Asks {
            temperature: Some(0.5),
            top_p: Some(0.9),
            ..Asks::default()
        };
        for model in [SONNET_45, HAIKU_45, OPUS_46] {
            assert_eq!(
                check_on(model, both()).unwrap_err(),
                BOTH_SAMPLING_PARAMS,
                "{model}"
            );
        }
        assert_eq!(check_on(SONNET_4, both()), Ok(()));
        let one = Asks {
            temperature: Some(0.5),
            ..Asks::default()
        };
        assert_eq!(check_on(SONNET_45, one), Ok(()));
    }

    #[test]
    fn max_tokens_above_the_model_limit_is_refused() {
        let asks = |n| Asks {
            max_tokens: Some(n),
            ..Asks::default()
        };
        assert_eq!(check_on(OPUS_55, asks(128_000)), Ok(()));
        assert_eq!(
            check_on(OPUS_55, asks(128_001)).unwrap_err(),
            "The model returned the following errors: max_tokens: 128001 > 128000, which is the maximum allowed number of output tokens for claude-opus-5-5"
        );
        assert!(check_on(HAIKU_45, asks(64_001)).is_err());
    }
}
