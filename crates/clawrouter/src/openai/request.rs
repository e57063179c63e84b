//! `to_converse`: a Chat Completions request → one Converse request, with
//! the inference settings (token cap, sampling, stop, thinking) mapped.

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, SystemContentBlock,
};
use serde_json::{Value, json};

use super::{ChatCompletionRequest, StopSequences, TranslateError, messages, tools};
use crate::adjust::{self, Adjustments};
use crate::bedrock::{ConverseRequest, json_to_document};
use crate::catalog::{
    Capability, Effort, Model, SamplingRule, ThinkingDisplay, ThinkingOffKind, ThinkingStyle,
};

/// Output cap when the client sets none. Bedrock's own default is the
/// model's maximum (up to 128k tokens on Opus), which would let one runaway
/// answer cost dollars; 8192 fits nearly every chat and coding answer.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;
/// OpenAI allows at most 4 stop sequences.
const MAX_STOP_SEQUENCES: usize = 4;
/// Anthropic's minimum thinking budget.
const MIN_THINKING_BUDGET: u32 = 1024;
/// Tokens kept for the answer itself when thinking shares the output cap.
const ANSWER_RESERVE: u32 = 1024;
/// Above this `max_tokens`, Claude requires streaming when thinking is on.
const MAX_NON_STREAMING_THINKING_TOKENS: u32 = 21_333;

/// Translates a request for `model`, to be sent to `profile_id`, and says
/// what was changed to fit the model's rules (see [`crate::adjust`]).
///
/// Decisions a client may notice (each documented where it is made):
/// system/developer messages are hoisted; the output cap is clamped to the
/// model's maximum; temperature above 1 is clamped to 1; `reasoning_effort`
/// becomes the model's thinking form (a budget on models that take only
/// budgets, adaptive thinking with the nearest effort otherwise); with
/// thinking on, or on models that reject them, temperature and top_p are
/// dropped; a forced tool choice on a model that refuses it becomes `auto`;
/// reasoning effort is ignored by models without thinking.
pub fn to_converse(
    req: &ChatCompletionRequest,
    model: &Model,
    profile_id: &str,
) -> Result<(ConverseRequest, Adjustments), TranslateError> {
    check_n(req.n)?;
    let (system, messages) = messages::translate(&req.messages)?;
    let tool_plan = tools::translate(
        req.tools.as_deref(),
        req.tool_choice.as_ref(),
        &messages,
        model.forced_tool_choice,
    )?;
    let generation = Generation {
        max_tokens: match (req.max_completion_tokens, req.max_tokens) {
            (Some(n), _) => Some(("max_completion_tokens", n)),
            (None, Some(n)) => Some(("max_tokens", n)),
            (None, None) => None,
        },
        temperature: req.temperature,
        top_p: req.top_p,
        stop: req.stop.as_ref(),
        reasoning_effort: req
            .reasoning_effort
            .as_deref()
            .map(|e| ("reasoning_effort", e)),
        // Chat Completions has no place for reasoning text.
        show_reasoning: false,
        stream: req.wants_stream(),
    };
    assemble(&generation, model, profile_id, system, messages, tool_plan)
}

/// The generation settings both OpenAI formats share, each with the name of
/// the request field it came from (for errors).
#[derive(Debug, Default)]
pub(crate) struct Generation<'a> {
    pub max_tokens: Option<(&'static str, u32)>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub stop: Option<&'a StopSequences>,
    pub reasoning_effort: Option<(&'static str, &'a str)>,
    /// The client shows the model's reasoning (Responses summaries).
    pub show_reasoning: bool,
    pub stream: bool,
}

/// The Converse request for translated messages and tools, with the
/// inference settings (token cap, sampling, stop, thinking) fitted to the
/// model's rules, and what was changed to fit them.
pub(crate) fn assemble(
    generation: &Generation,
    model: &Model,
    profile_id: &str,
    system: Vec<SystemContentBlock>,
    messages: Vec<Message>,
    tool_plan: tools::ToolPlan,
) -> Result<(ConverseRequest, Adjustments), TranslateError> {
    let mut adjusted = Adjustments::default();
    if tool_plan.downgraded {
        adjusted.note(model, "tool_choice", "auto");
    }
    let asked = requested_effort(generation.reasoning_effort)?;
    let style = model.thinking.style;
    // Thinking is skipped where Claude would reject it: models without it,
    // forced tool use, and, for the budget form, a tool loop whose previous
    // assistant turn carries no thinking block (Chat Completions cannot
    // return one to us). Adaptive thinking takes such a loop, so it stays on.
    let can_think = model.supports(Capability::Thinking)
        && !tool_plan.forced
        && (style.takes_adaptive() || !continues_tool_loop_without_thinking(&messages));
    let wanted = asked.flatten().filter(|_| can_think);
    let (thinking_budget, adaptive) = match wanted {
        Some(effort) if style.takes_adaptive() => {
            let nearest = model.thinking.nearest_effort(effort);
            adjusted.note(model, "thinking", "adaptive");
            if nearest.is_some_and(|n| n != effort) {
                adjusted.note(model, "effort", nearest.map_or("", Effort::as_str));
            }
            (None, Some(nearest))
        }
        Some(effort) => (Some(budget_for(effort)), None),
        None => (None, None),
    };
    let (max_tokens, thinking_budget) =
        output_budget(generation, model, thinking_budget, &mut adjusted)?;
    let thinking_on = thinking_budget.is_some()
        || adaptive.is_some()
        || (style == ThinkingStyle::AlwaysOn && model.supports(Capability::Thinking));
    let inference = inference_config(generation, model, max_tokens, thinking_on, &mut adjusted)?;
    let additional_fields = match (thinking_budget, adaptive, asked) {
        (Some(budget), _, _) => {
            Some(json!({"thinking": {"type": "enabled", "budget_tokens": budget}}))
        }
        (None, Some(effort), _) => {
            let mut fields = json!({"thinking": {"type": "adaptive"}});
            if let Some(effort) = effort {
                fields["output_config"] = json!({"effort": effort.as_str()});
            }
            Some(fields)
        }
        // `none` / `minimal` on a model that thinks unless told not to.
        (None, None, Some(None)) if style.thinks_unasked() => least_thinking(model, &mut adjusted),
        _ => None,
    };
    let additional_fields = if generation.show_reasoning && can_think {
        shown_thinking(additional_fields, model)
    } else {
        additional_fields
    };
    let converse = ConverseRequest {
        model_id: profile_id.to_owned(),
        messages,
        system,
        inference: Some(inference),
        tools: tool_plan.config,
        additional_fields: additional_fields
            .map(|v| json_to_document(&v, tools::MAX_JSON_DEPTH))
            .transpose()
            .map_err(|_| TranslateError::Invalid {
                param: "reasoning_effort".into(),
                message: "cannot encode the thinking settings".into(),
            })?,
        response_field_paths: Vec::new(),
    };
    Ok((converse, adjusted))
}

/// The thinking fields with the thinking's text asked for, on a model that
/// hides it by default (`display: omitted` in models.yaml), for a client
/// that shows reasoning. Only where thinking is on: asked for, or a model
/// that thinks unasked; thinking a client turned off stays off.
fn shown_thinking(fields: Option<Value>, model: &Model) -> Option<Value> {
    if model.thinking.display != ThinkingDisplay::Omitted {
        return fields;
    }
    let mut fields = fields.unwrap_or_else(|| json!({}));
    match fields.get("thinking").map(|t| t["type"].as_str()) {
        Some(Some("adaptive" | "enabled")) => fields["thinking"]["display"] = json!("summarized"),
        None if model.thinking.style.thinks_unasked() => {
            fields["thinking"] = json!({"type": "adaptive", "display": "summarized"});
        }
        _ => {}
    }
    (fields != json!({})).then_some(fields)
}

/// As little thinking as the model can do, for `none` / `minimal`: its way
/// of not thinking (`models.yaml`), plain `disabled` or another form (Sonnet
/// 5.5's `between_tools`) at its least effort, which every such form allows;
/// or, on a model that always thinks, adaptive thinking at its least effort.
fn least_thinking(model: &Model, adjusted: &mut Adjustments) -> Option<Value> {
    let least = model.thinking.efforts.first();
    let Some(off) = model.thinking.turned_off() else {
        adjusted.note(model, "thinking", "adaptive");
        return least.map(|least| json!({"output_config": {"effort": least.as_str()}}));
    };
    let mut fields = json!({"thinking": {"type": off.kind.as_str()}});
    if off.kind != ThinkingOffKind::Disabled {
        adjusted.note(model, "thinking", off.kind.as_str());
        if let Some(least) = least {
            fields["output_config"] = json!({"effort": least.as_str()});
        }
    }
    Some(fields)
}

fn check_n(n: Option<u32>) -> Result<(), TranslateError> {
    match n {
        Some(0) => Err(TranslateError::Invalid {
            param: "n".into(),
            message: "must be at least 1".into(),
        }),
        Some(n) if n > 1 => Err(TranslateError::Unsupported {
            param: "n".into(),
            message: format!("{n} choices requested; Bedrock returns one"),
        }),
        _ => Ok(()),
    }
}

/// `reasoning_effort`: `None` when not set, `Some(None)` for `none` and
/// `minimal` (no thinking: Claude's smallest budget, 1024, is more than
/// "minimal"), else the effort.
fn requested_effort(
    effort: Option<(&'static str, &str)>,
) -> Result<Option<Option<Effort>>, TranslateError> {
    Ok(match effort {
        None => None,
        Some((_, "none" | "minimal")) => Some(None),
        Some((param, e)) => match Effort::parse(e) {
            Some(effort) => Some(Some(effort)),
            None => {
                return Err(TranslateError::Invalid {
                    param: param.into(),
                    message: format!(
                        "{e:?} is not one of none, minimal, low, medium, high, xhigh, max"
                    ),
                });
            }
        },
    })
}

/// The thinking budget for an effort, on models that take only budgets.
fn budget_for(effort: Effort) -> u32 {
    match effort {
        Effort::Low => 1024,
        Effort::Medium => 4096,
        Effort::High => 16_384,
        Effort::Xhigh => 32_768,
        Effort::Max => 65_536,
    }
}

/// The request ends with tool results answering an assistant turn that
/// carries no thinking block. Claude rejects budget-form thinking in such a
/// loop ("When `thinking` is enabled, a final `assistant` message must start
/// with a thinking block", langchain-ai/langchain-aws#844, a manual-thinking
/// report). Adaptive thinking takes such a loop: "verified live against
/// claude-fable-5 and claude-opus-4-8" in eumemic/aios's
/// src/aios/harness/completion.py, which turns LiteLLM's drop off for it.
fn continues_tool_loop_without_thinking(messages: &[Message]) -> bool {
    let [.., assistant, last] = messages else {
        return false;
    };
    last.role == ConversationRole::User
        && last
            .content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolResult(_)))
        && !assistant
            .content
            .iter()
            .any(|b| matches!(b, ContentBlock::ReasoningContent(_)))
}

/// The output cap and, if thinking survives, its budget (always below the cap).
///
/// The client's cap (on chat, `max_completion_tokens` wins over the deprecated
/// `max_tokens`; see `to_converse`). A cap above
/// the model's maximum is clamped rather than refused: clients often send a
/// large fixed number, and the cap bounds what a request can cost. Without a
/// cap, [`DEFAULT_MAX_TOKENS`] plus the thinking budget is used. The thinking
/// budget is shrunk to leave [`ANSWER_RESERVE`] tokens for the answer, and
/// thinking is dropped if less than Claude's minimum budget remains.
fn output_budget(
    generation: &Generation,
    model: &Model,
    thinking_budget: Option<u32>,
    adjusted: &mut Adjustments,
) -> Result<(u32, Option<u32>), TranslateError> {
    let requested = generation.max_tokens;
    let mut ceiling = model.max_output;
    if thinking_budget.is_some() && !generation.stream {
        ceiling = ceiling.min(MAX_NON_STREAMING_THINKING_TOKENS);
    }
    let max_tokens = match requested {
        Some((param, 0)) => {
            return Err(TranslateError::Invalid {
                param: param.into(),
                message: "must be at least 1".into(),
            });
        }
        Some((_, n)) if n > model.max_output => adjust::clamp_max_tokens(n, model, adjusted),
        Some((_, n)) => n.min(ceiling),
        None => DEFAULT_MAX_TOKENS
            .saturating_add(thinking_budget.unwrap_or(0))
            .min(ceiling),
    };
    let thinking_budget = thinking_budget
        .map(|b| b.min(max_tokens.saturating_sub(ANSWER_RESERVE)))
        .filter(|b| *b >= MIN_THINKING_BUDGET);
    Ok((max_tokens, thinking_budget))
}

fn inference_config(
    req: &Generation,
    model: &Model,
    max_tokens: u32,
    thinking: bool,
    adjusted: &mut Adjustments,
) -> Result<InferenceConfiguration, TranslateError> {
    let mut temperature = match req.temperature {
        // OpenAI's range is 0..2 and Bedrock's 0..1: above 1 is clamped, as
        // "more random than 1" is the closest Bedrock can do.
        Some(t) if (0.0..=2.0).contains(&t) => Some(t.min(1.0)),
        Some(t) => return Err(out_of_range("temperature", t, "between 0 and 2")),
        None => None,
    };
    let mut top_p = match req.top_p {
        Some(p) if (0.0..=1.0).contains(&p) => Some(p),
        Some(p) => return Err(out_of_range("top_p", p, "between 0 and 1")),
        None => None,
    };
    if thinking || model.sampling == SamplingRule::Rejected {
        // Extended thinking rejects any sampling change, and so do models
        // that take no custom sampling at all.
        if temperature.take().is_some() {
            adjusted.note(model, "temperature", "dropped");
        }
        if top_p.take().is_some() {
            adjusted.note(model, "top_p", "dropped");
        }
    } else if model.sampling == SamplingRule::TemperatureOrTopP
        && temperature.is_some()
        && top_p.take().is_some()
    {
        // The model refuses both together; temperature is the one clients mean.
        adjusted.note(model, "top_p", "dropped");
    }
    Ok(InferenceConfiguration::builder()
        .max_tokens(i32::try_from(max_tokens).unwrap_or(i32::MAX))
        .set_temperature(temperature)
        .set_top_p(top_p)
        .set_stop_sequences(stop_sequences(req.stop)?)
        .build())
}

fn out_of_range(param: &str, value: f32, range: &str) -> TranslateError {
    TranslateError::Invalid {
        param: param.into(),
        message: format!("{value} is not {range}"),
    }
}

/// Up to 4 stop sequences; blank ones are dropped (Claude rejects them).
fn stop_sequences(stop: Option<&StopSequences>) -> Result<Option<Vec<String>>, TranslateError> {
    let all = match stop {
        None => return Ok(None),
        Some(StopSequences::One(s)) => std::slice::from_ref(s),
        Some(StopSequences::Many(list)) => list.as_slice(),
    };
    if all.len() > MAX_STOP_SEQUENCES {
        return Err(TranslateError::Invalid {
            param: "stop".into(),
            message: format!(
                "{} sequences given; at most {MAX_STOP_SEQUENCES}",
                all.len()
            ),
        });
    }
    let kept: Vec<String> = all
        .iter()
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .collect();
    Ok((!kept.is_empty()).then_some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bedrock::document_to_json;
    use crate::catalog::Thinking;
    use crate::openai::test_support::{model, request};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn convert(v: Value) -> Result<ConverseRequest, TranslateError> {
        to_converse(&request(v), &model(), "global.anthropic.claude-test-v1:0").map(|(r, _)| r)
    }

    fn hello(extra: Value) -> Value {
        let mut v = json!({"model": "auto", "messages": [{"role": "user", "content": "hello"}]});
        if let (Some(obj), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            obj.extend(extra.clone());
        }
        v
    }

    fn inference(r: &ConverseRequest) -> &InferenceConfiguration {
        r.inference.as_ref().unwrap()
    }

    fn thinking_budget_of(r: &ConverseRequest) -> Option<u64> {
        r.additional_fields
            .as_ref()
            .and_then(|d| document_to_json(d)["thinking"]["budget_tokens"].as_u64())
    }

    #[test]
    fn plain_request_targets_the_profile_with_default_cap() {
        let r = convert(hello(json!({}))).unwrap();
        assert_eq!(r.model_id, "global.anthropic.claude-test-v1:0");
        assert_eq!(r.messages.len(), 1);
        assert_eq!(inference(&r).max_tokens, Some(8192));
        assert_eq!(inference(&r).temperature, None);
        assert!(r.tools.is_none() && r.additional_fields.is_none());
    }

    #[test]
    fn max_completion_tokens_wins_and_caps_are_clamped() {
        let r = convert(hello(
            json!({"max_tokens": 100, "max_completion_tokens": 200}),
        ))
        .unwrap();
        assert_eq!(inference(&r).max_tokens, Some(200));
        let r = convert(hello(json!({"max_tokens": 1_000_000}))).unwrap();
        assert_eq!(inference(&r).max_tokens, Some(64_000));
        let small = Model {
            max_output: 4096,
            ..model()
        };
        let r = to_converse(&request(hello(json!({}))), &small, "p")
            .unwrap()
            .0;
        assert_eq!(inference(&r).max_tokens, Some(4096));
        for field in ["max_tokens", "max_completion_tokens"] {
            let err = convert(hello(json!({ field: 0 }))).unwrap_err();
            assert_eq!(err.param(), Some(field));
        }
    }

    #[test]
    fn sampling_is_mapped_into_bedrock_ranges() {
        let r = convert(hello(json!({"temperature": 1.7, "top_p": 0.9}))).unwrap();
        assert_eq!(inference(&r).temperature, Some(1.0));
        assert_eq!(inference(&r).top_p, Some(0.9));
        for (body, param) in [
            (json!({"temperature": -0.1}), "temperature"),
            (json!({"temperature": 2.5}), "temperature"),
            (json!({"top_p": 1.5}), "top_p"),
            (json!({"n": 2}), "n"),
            (json!({"n": 0}), "n"),
            (json!({"stop": ["a", "b", "c", "d", "e"]}), "stop"),
            (json!({"reasoning_effort": "maximum"}), "reasoning_effort"),
        ] {
            let err = convert(hello(body.clone())).unwrap_err();
            assert_eq!(err.param(), Some(param), "{body}");
        }
        assert!(convert(hello(json!({"n": 1}))).is_ok());
    }

    #[test]
    fn temperature_or_top_p_models_get_only_temperature() {
        let strict = Model {
            sampling: SamplingRule::TemperatureOrTopP,
            ..model()
        };
        let both = request(hello(json!({"temperature": 0.2, "top_p": 0.5})));
        let r = to_converse(&both, &strict, "p").unwrap().0;
        assert_eq!(
            (inference(&r).temperature, inference(&r).top_p),
            (Some(0.2), None)
        );
        let only_top_p = request(hello(json!({"top_p": 0.5})));
        let r = to_converse(&only_top_p, &strict, "p").unwrap().0;
        assert_eq!(inference(&r).top_p, Some(0.5));
    }

    #[test]
    fn stop_sequences_accept_one_or_many_and_skip_blanks() {
        let r = convert(hello(json!({"stop": "END"}))).unwrap();
        assert_eq!(inference(&r).stop_sequences, Some(vec!["END".to_owned()]));
        let r = convert(hello(json!({"stop": ["a", " ", "b"]}))).unwrap();
        assert_eq!(
            inference(&r).stop_sequences,
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        let r = convert(hello(json!({"stop": [""]}))).unwrap();
        assert_eq!(inference(&r).stop_sequences, None);
    }

    #[test]
    fn reasoning_effort_enables_thinking_without_sampling() {
        for (effort, budget) in [("low", 1024), ("medium", 4096), ("high", 16_384)] {
            let r = convert(hello(json!({"reasoning_effort": effort, "temperature": 0.3, "top_p": 0.5, "stream": true}))).unwrap();
            assert_eq!(
                document_to_json(r.additional_fields.as_ref().unwrap()),
                json!({"thinking": {"type": "enabled", "budget_tokens": budget}})
            );
            let inf = inference(&r);
            assert_eq!((inf.temperature, inf.top_p), (None, None));
            assert_eq!(
                inf.max_tokens,
                Some(8192 + budget),
                "room for the answer on top of thinking"
            );
        }
        assert_eq!(
            thinking_budget_of(&convert(hello(json!({"reasoning_effort": "minimal"}))).unwrap()),
            None
        );
    }

    #[test]
    fn thinking_fits_under_the_cap_or_is_dropped() {
        let r = convert(hello(
            json!({"reasoning_effort": "high", "max_tokens": 4096}),
        ))
        .unwrap();
        assert_eq!(inference(&r).max_tokens, Some(4096));
        assert_eq!(thinking_budget_of(&r), Some(3072));
        let r = convert(hello(
            json!({"reasoning_effort": "low", "max_tokens": 1500, "temperature": 0.5}),
        ))
        .unwrap();
        assert_eq!(
            thinking_budget_of(&r),
            None,
            "less than the 1024 minimum would remain"
        );
        assert_eq!(
            inference(&r).temperature,
            Some(0.5),
            "sampling kept when thinking is off"
        );
        // Non-streaming thinking requests stay under Claude's streaming threshold.
        let r = convert(hello(
            json!({"reasoning_effort": "high", "max_tokens": 50_000}),
        ))
        .unwrap();
        assert_eq!(inference(&r).max_tokens, Some(21_333));
        let r = convert(hello(
            json!({"reasoning_effort": "high", "max_tokens": 50_000, "stream": true}),
        ))
        .unwrap();
        assert_eq!(inference(&r).max_tokens, Some(50_000));
    }

    #[test]
    fn thinking_is_skipped_where_claude_would_reject_it() {
        let plain = Model {
            capabilities: vec![Capability::Tools],
            ..model()
        };
        let r = to_converse(
            &request(hello(json!({"reasoning_effort": "high"}))),
            &plain,
            "p",
        )
        .unwrap()
        .0;
        assert!(r.additional_fields.is_none());
        assert_eq!(inference(&r).max_tokens, Some(8192));

        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        let forced = convert(hello(
            json!({"reasoning_effort": "low", "tools": tools, "tool_choice": "required"}),
        ))
        .unwrap();
        assert!(forced.additional_fields.is_none());

        let loop_body = json!({"model": "m", "reasoning_effort": "low", "tools": tools, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "ok"}
        ]});
        let tool_loop = convert(loop_body.clone()).unwrap();
        assert!(tool_loop.additional_fields.is_none());
        assert!(tool_loop.tools.is_some());
        // Adaptive thinking takes the same loop: the effort asked for stays.
        let adaptive = Model {
            thinking: Thinking {
                style: ThinkingStyle::Adaptive,
                efforts: vec![Effort::Low, Effort::Medium, Effort::High],
                ..Thinking::default()
            },
            ..model()
        };
        let (tool_loop, _) = to_converse(&request(loop_body), &adaptive, "p").unwrap();
        assert_eq!(
            tool_loop.additional_fields.as_ref().map(document_to_json),
            Some(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}))
        );
    }

    fn text_message(user: bool, text: &str) -> Value {
        json!({"role": if user { "user" } else { "assistant" }, "content": text})
    }

    fn texts_in_order(r: &ConverseRequest) -> Vec<String> {
        r.messages
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|b| b.as_text().ok().cloned())
            .collect()
    }

    proptest! {
        /// Turns alternate starting with user, and every non-blank text survives
        /// in order: merging changes grouping, never content or order.
        #[test]
        fn order_and_roles_survive_merging(
            turns in prop::collection::vec((any::<bool>(), "[a-z ]{0,6}"), 1..16)
        ) {
            let mut msgs = vec![text_message(true, "start")];
            msgs.extend(turns.iter().map(|(user, t)| text_message(*user, t)));
            let r = convert(json!({"model": "m", "messages": msgs})).unwrap();
            for (i, m) in r.messages.iter().enumerate() {
                let expected = if i % 2 == 0 { ConversationRole::User } else { ConversationRole::Assistant };
                prop_assert_eq!(&m.role, &expected);
                prop_assert!(!m.content.is_empty());
            }
            let mut expected: Vec<String> = std::iter::once("start".to_owned())
                .chain(turns.iter().map(|(_, t)| t.clone()))
                .filter(|t| !t.trim().is_empty())
                .collect();
            // A final assistant turn is trimmed at the end.
            if r.messages.last().map(|m| &m.role) == Some(&ConversationRole::Assistant)
                && let Some(last) = expected.last_mut()
            {
                *last = last.trim_end().to_owned();
            }
            prop_assert_eq!(texts_in_order(&r), expected);
        }

        /// Whatever the client asks, the output cap stays within 1..=max_output
        /// and any thinking budget leaves room below it.
        #[test]
        fn max_tokens_never_exceeds_the_model(
            max_output in 1u32..200_000,
            max_tokens in prop::option::of(1u32..=u32::MAX),
            max_completion in prop::option::of(1u32..=u32::MAX),
            effort in prop::option::of(prop::sample::select(vec!["low", "medium", "high"])),
            stream in any::<bool>(),
        ) {
            let m = Model { max_output, ..model() };
            let req = ChatCompletionRequest {
                max_tokens,
                max_completion_tokens: max_completion,
                reasoning_effort: effort.map(str::to_owned),
                stream: Some(stream),
                ..request(hello(json!({})))
            };
            let r = to_converse(&req, &m, "p").unwrap().0;
            let cap = inference(&r).max_tokens.unwrap();
            prop_assert!(cap >= 1 && i64::from(cap) <= i64::from(max_output));
            if let Some(budget) = thinking_budget_of(&r) {
                prop_assert!(budget >= 1024 && budget < u64::try_from(cap).unwrap());
            }
        }

        /// Each assistant tool call becomes exactly one toolUse, answered by
        /// exactly one toolResult with the same id in the next user turn.
        #[test]
        fn tool_call_ids_pair_one_to_one(
            rounds in prop::collection::vec(prop::collection::hash_set("[a-zA-Z0-9_.:-]{1,64}", 1..4), 1..4)
        ) {
            let mut msgs = vec![text_message(true, "go")];
            for ids in &rounds {
                let calls: Vec<Value> = ids.iter().map(|id| json!(
                    {"id": id, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                )).collect();
                msgs.push(json!({"role": "assistant", "tool_calls": calls}));
                msgs.extend(ids.iter().map(|id| json!({"role": "tool", "tool_call_id": id, "content": "r"})));
            }
            let r = convert(json!({"model": "m", "messages": msgs})).unwrap();
            prop_assert_eq!(r.messages.len(), 1 + 2 * rounds.len());
            for pair in r.messages[1..].chunks(2) {
                let uses: Vec<&str> = pair[0].content.iter()
                    .filter_map(|b| b.as_tool_use().ok().map(|u| u.tool_use_id.as_str())).collect();
                let results: Vec<&str> = pair[1].content.iter()
                    .filter_map(|b| b.as_tool_result().ok().map(|t| t.tool_use_id.as_str())).collect();
                prop_assert_eq!(uses, results);
            }
            prop_assert!(r.tools.is_some(), "history with tool blocks always carries toolConfig");
        }
    }

    fn on(model: &str, body: Value) -> (Value, InferenceConfiguration, Adjustments) {
        let catalog = crate::catalog::Catalog::builtin().unwrap();
        let model = catalog.model(model).unwrap();
        let (r, adjusted) = to_converse(&request(body), model, &model.profile_id).unwrap();
        let fields = r
            .additional_fields
            .as_ref()
            .map_or(Value::Null, document_to_json);
        (fields, r.inference.unwrap(), adjusted)
    }

    #[test]
    fn reasoning_effort_is_adaptive_thinking_on_adaptive_models() {
        let (fields, inference, adjusted) = on(
            "bedrock/claude-opus-5-5",
            hello(json!({"reasoning_effort": "high"})),
        );
        assert_eq!(
            fields,
            json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}})
        );
        assert_eq!(inference.temperature, None);
        assert_eq!(adjusted.get("thinking"), Some("adaptive"));
        // A budget-only model keeps the budget form.
        let (fields, _, adjusted) = on(
            "bedrock/claude-haiku-4-5",
            hello(json!({"reasoning_effort": "high"})),
        );
        assert_eq!(fields["thinking"]["budget_tokens"], 16_384);
        assert!(adjusted.is_empty());
    }

    #[test]
    fn temperature_and_required_tools_fit_sonnet_5_5() {
        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        let (_, inference, adjusted) = on(
            "bedrock/claude-sonnet-5-5",
            hello(json!({"temperature": 0.3, "tools": tools, "tool_choice": "required"})),
        );
        assert_eq!(inference.temperature, None);
        assert_eq!(
            adjusted.header_value().as_deref(),
            Some("tool_choice=auto;temperature=dropped")
        );
        // Sonnet 4.6 takes both as they are.
        let (_, inference, adjusted) = on(
            "bedrock/claude-sonnet-4-6",
            hello(json!({"temperature": 0.3, "tools": tools, "tool_choice": "required"})),
        );
        assert_eq!(inference.temperature, Some(0.3));
        assert!(adjusted.is_empty());
    }

    #[test]
    fn no_reasoning_turns_thinking_off_where_it_can_be() {
        let (fields, _, _) = on(
            "bedrock/claude-haiku-5-5",
            hello(json!({"reasoning_effort": "none"})),
        );
        assert_eq!(fields, json!({"thinking": {"type": "disabled"}}));
        let (fields, _, adjusted) = on(
            "bedrock/claude-opus-5-5",
            hello(json!({"reasoning_effort": "minimal"})),
        );
        assert_eq!(fields, json!({"output_config": {"effort": "low"}}));
        assert_eq!(adjusted.get("thinking"), Some("adaptive"));
        // Sonnet 5.5 turns up-front thinking off its own way.
        let (fields, _, adjusted) = on(
            "bedrock/claude-sonnet-5-5",
            hello(json!({"reasoning_effort": "none"})),
        );
        assert_eq!(
            fields,
            json!({"thinking": {"type": "between_tools"}, "output_config": {"effort": "low"}})
        );
        assert_eq!(adjusted.get("thinking"), Some("between_tools"));
        // Models that think only when asked get nothing.
        let (fields, _, _) = on(
            "bedrock/claude-sonnet-4-6",
            hello(json!({"reasoning_effort": "none"})),
        );
        assert_eq!(fields, Value::Null);
    }
}
