//! Bedrock Converse output → a Chat Completions response.

use aws_sdk_bedrockruntime::types::{
    CacheTtl, ContentBlock, ConverseOutput as OutputUnion, StopReason, TokenUsage as BedrockUsage,
    ToolUseBlock,
};

use super::{
    ChatCompletion, Choice, FinishReason, FunctionCall, PromptTokensDetails, ResponseMessage,
    ToolCall, Usage,
};
use crate::bedrock::{ConverseOutput, document_to_json};
use crate::catalog::TokenUsage;

/// Builds the response for one Converse result.
///
/// Text blocks are concatenated into `content` (`null` when the answer is
/// only tool calls); toolUse blocks become `tool_calls`. Reasoning blocks are
/// dropped: Chat Completions has no field for them, and clients that show
/// reasoning read vendor extensions we would have to invent.
pub fn from_converse(
    out: &ConverseOutput,
    model_name: &str,
    id: &str,
    created: u64,
) -> ChatCompletion {
    let blocks = match out.output() {
        Some(OutputUnion::Message(m)) => m.content.as_slice(),
        _ => &[],
    };
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text(t) => content.push_str(t),
            ContentBlock::ToolUse(u) => tool_calls.push(tool_call(u)),
            _ => {}
        }
    }
    let usage = out.usage().map(token_usage).unwrap_or_default();
    ChatCompletion {
        id: id.to_owned(),
        object: "chat.completion".to_owned(),
        created,
        model: model_name.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_owned(),
                content: (!content.is_empty() || tool_calls.is_empty()).then_some(content),
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
            },
            finish_reason: Some(finish_reason(out.stop_reason())),
            logprobs: None,
        }],
        usage: Usage::from(usage),
    }
}

/// Bedrock's token counts. `inputTokens` excludes cache reads and writes,
/// which are reported (and priced) separately; `cacheDetails` splits the
/// writes by TTL, and 1-hour writes cost more.
pub fn token_usage(u: &BedrockUsage) -> TokenUsage {
    let count = |n: i32| u64::try_from(n).unwrap_or(0);
    TokenUsage {
        input: count(u.input_tokens),
        output: count(u.output_tokens),
        cache_read: u.cache_read_input_tokens.map_or(0, count),
        cache_write: u.cache_write_input_tokens.map_or(0, count),
        cache_write_1h: u
            .cache_details()
            .iter()
            .filter(|d| *d.ttl() == CacheTtl::OneHour)
            .map(|d| count(d.input_tokens()))
            .sum(),
    }
}

/// OpenAI counts every input token, cached or not, in `prompt_tokens`.
impl From<TokenUsage> for Usage {
    fn from(u: TokenUsage) -> Self {
        let prompt = u.input + u.cache_read + u.cache_write;
        Usage {
            prompt_tokens: prompt,
            completion_tokens: u.output,
            total_tokens: prompt + u.output,
            prompt_tokens_details: Some(PromptTokensDetails {
                cached_tokens: u.cache_read,
            }),
        }
    }
}

/// Malformed output and unknown future reasons end the answer as `stop`.
pub(super) fn finish_reason(r: &StopReason) -> FinishReason {
    match r {
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => FinishReason::Length,
        StopReason::ToolUse => FinishReason::ToolCalls,
        StopReason::GuardrailIntervened | StopReason::ContentFiltered => {
            FinishReason::ContentFilter
        }
        _ => FinishReason::Stop,
    }
}

fn tool_call(u: &ToolUseBlock) -> ToolCall {
    ToolCall {
        id: u.tool_use_id.clone(),
        kind: "function".to_owned(),
        function: FunctionCall {
            name: u.name.clone(),
            arguments: document_to_json(&u.input).to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::test_support::{bedrock_usage, output, reasoning, tool_use};
    use serde_json::json;

    #[test]
    fn text_answer_becomes_an_openai_completion() {
        let out = output(
            vec![
                reasoning("let me think"),
                ContentBlock::Text("Hello, ".into()),
                ContentBlock::Text("world".into()),
            ],
            StopReason::EndTurn,
        );
        let c = from_converse(&out, "bedrock/claude-test", "chatcmpl-1", 1_700_000_000);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000u64,
                "model": "bedrock/claude-test",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello, world"},
                             "finish_reason": "stop", "logprobs": null}],
                "usage": {"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
                          "prompt_tokens_details": {"cached_tokens": 100}}
            })
        );
    }

    #[test]
    fn tool_only_answer_has_null_content_and_json_arguments() {
        let out = output(
            vec![tool_use(
                "tooluse_1",
                "weather",
                json!({"city": "Paris", "days": 2}),
            )],
            StopReason::ToolUse,
        );
        let c = from_converse(&out, "m", "id", 0);
        let choice = &c.choices[0];
        assert_eq!(choice.message.content, None);
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        let calls = choice.message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].id, "tooluse_1");
        assert_eq!(calls[0].kind, "function");
        assert_eq!(calls[0].function.name, "weather");
        let args: serde_json::Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
        assert_eq!(args, json!({"city": "Paris", "days": 2}));
        let wire = serde_json::to_value(&c).unwrap();
        assert_eq!(
            wire["choices"][0]["message"]["content"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn empty_answer_has_empty_string_content() {
        let c = from_converse(&output(vec![], StopReason::EndTurn), "m", "id", 0);
        assert_eq!(c.choices[0].message.content.as_deref(), Some(""));
        assert_eq!(c.choices[0].message.tool_calls, None);
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        let cases = [
            (StopReason::EndTurn, FinishReason::Stop),
            (StopReason::StopSequence, FinishReason::Stop),
            (StopReason::MaxTokens, FinishReason::Length),
            (StopReason::ModelContextWindowExceeded, FinishReason::Length),
            (StopReason::ToolUse, FinishReason::ToolCalls),
            (StopReason::GuardrailIntervened, FinishReason::ContentFilter),
            (StopReason::ContentFiltered, FinishReason::ContentFilter),
            (StopReason::MalformedModelOutput, FinishReason::Stop),
            (StopReason::from("something_new"), FinishReason::Stop),
        ];
        for (stop, finish) in cases {
            assert_eq!(finish_reason(&stop), finish, "{stop:?}");
        }
    }

    #[test]
    fn usage_counts_cache_as_prompt_tokens() {
        let u = token_usage(&bedrock_usage(7, 3, 40, 9));
        assert_eq!(
            u,
            TokenUsage {
                input: 7,
                output: 3,
                cache_read: 40,
                cache_write: 9,
                cache_write_1h: 0
            }
        );
        let openai = Usage::from(u);
        assert_eq!(
            (
                openai.prompt_tokens,
                openai.completion_tokens,
                openai.total_tokens
            ),
            (56, 3, 59)
        );
        assert_eq!(
            openai.prompt_tokens_details,
            Some(PromptTokensDetails { cached_tokens: 40 })
        );
        let no_cache = BedrockUsage::builder()
            .input_tokens(2)
            .output_tokens(1)
            .total_tokens(3)
            .build()
            .unwrap();
        assert_eq!(
            token_usage(&no_cache),
            TokenUsage {
                input: 2,
                output: 1,
                cache_read: 0,
                cache_write: 0,
                cache_write_1h: 0
            }
        );
    }
}
