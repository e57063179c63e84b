//! ConverseStream events → Chat Completions chunks, one translator per response.

use std::collections::HashMap;

use aws_sdk_bedrockruntime::types::{ContentBlockDelta, ContentBlockStart};

use super::response::finish_reason;
use super::{
    ChatCompletionChunk, ChunkChoice, Delta, FinishReason, FunctionCallDelta, ToolCallDelta, Usage,
};
use crate::bedrock::ConverseStreamEvent;
use crate::catalog::TokenUsage;

/// Turns the events of one ConverseStream into OpenAI chunks.
///
/// The first chunk carries `delta.role = "assistant"`; text deltas become
/// `content`; each toolUse block becomes `tool_calls[k]` (k counts tool calls
/// in order, keyed by Bedrock's contentBlockIndex); messageStop becomes the
/// `finish_reason` chunk; usage from the metadata event is emitted by
/// [`finish`](Self::finish). Reasoning deltas are dropped, as in
/// [`from_converse`](super::from_converse).
#[derive(Debug)]
pub struct StreamTranslator {
    model_name: String,
    id: String,
    created: u64,
    include_usage: bool,
    role_sent: bool,
    /// contentBlockIndex → the tool call streamed in that block.
    tool_calls: HashMap<i32, ToolBlock>,
    usage: TokenUsage,
    finished: bool,
}

impl StreamTranslator {
    pub fn new(model_name: &str, id: &str, created: u64, include_usage: bool) -> Self {
        StreamTranslator {
            model_name: model_name.to_owned(),
            id: id.to_owned(),
            created,
            include_usage,
            role_sent: false,
            tool_calls: HashMap::new(),
            usage: TokenUsage::default(),
            finished: false,
        }
    }

    pub fn on_event(&mut self, ev: &ConverseStreamEvent) -> Vec<ChatCompletionChunk> {
        let (delta, finish) = match ev {
            // OpenAI opens with an empty-content role chunk.
            ConverseStreamEvent::MessageStart(_) => (
                Delta {
                    content: Some(String::new()),
                    ..Delta::default()
                },
                None,
            ),
            ConverseStreamEvent::ContentBlockStart(e) => match &e.start {
                Some(ContentBlockStart::ToolUse(t)) => {
                    let index = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
                    let block = ToolBlock {
                        index,
                        has_input: false,
                    };
                    self.tool_calls.insert(e.content_block_index, block);
                    (
                        tool_delta(ToolCallDelta {
                            index,
                            id: Some(t.tool_use_id.clone()),
                            kind: Some("function".to_owned()),
                            function: FunctionCallDelta {
                                name: Some(t.name.clone()),
                                arguments: Some(String::new()),
                            },
                        }),
                        None,
                    )
                }
                _ => return Vec::new(),
            },
            ConverseStreamEvent::ContentBlockDelta(e) => match &e.delta {
                Some(ContentBlockDelta::Text(t)) if !t.is_empty() => (
                    Delta {
                        content: Some(t.clone()),
                        ..Delta::default()
                    },
                    None,
                ),
                Some(ContentBlockDelta::ToolUse(t)) => {
                    // Input for a block whose start we never saw cannot be attributed.
                    let Some(block) = self.tool_calls.get_mut(&e.content_block_index) else {
                        return Vec::new();
                    };
                    block.has_input = true;
                    (arguments_delta(block.index, t.input.clone()), None)
                }
                _ => return Vec::new(),
            },
            // A call without arguments may stream no input at all; clients
            // parse `arguments`, so send the `{}` that `from_converse` would.
            ConverseStreamEvent::ContentBlockStop(e) => {
                match self.tool_calls.get_mut(&e.content_block_index) {
                    Some(block) if !block.has_input => {
                        block.has_input = true;
                        (arguments_delta(block.index, "{}".to_owned()), None)
                    }
                    _ => return Vec::new(),
                }
            }
            ConverseStreamEvent::MessageStop(e) => {
                (Delta::default(), Some(finish_reason(&e.stop_reason)))
            }
            ConverseStreamEvent::Metadata(e) => {
                if let Some(u) = &e.usage {
                    self.usage = super::token_usage(u);
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        vec![self.choice_chunk(delta, finish)]
    }

    /// The chunks that close the stream: the usage chunk (with no choices)
    /// when the client asked for `stream_options.include_usage`. Call once,
    /// after the last event; later calls return nothing. No `finish_reason`
    /// is invented here: a stream that ended without messageStop failed, and
    /// the server reports that as an error.
    pub fn finish(&mut self) -> Vec<ChatCompletionChunk> {
        if std::mem::replace(&mut self.finished, true) || !self.include_usage {
            return Vec::new();
        }
        vec![self.chunk(Vec::new(), Some(Usage::from(self.usage)))]
    }

    /// The token counts reported so far (zero until the metadata event).
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    fn choice_chunk(
        &mut self,
        mut delta: Delta,
        finish: Option<FinishReason>,
    ) -> ChatCompletionChunk {
        if !self.role_sent {
            self.role_sent = true;
            delta.role = Some("assistant".to_owned());
        }
        let choice = ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish,
            logprobs: None,
        };
        self.chunk(vec![choice], None)
    }

    fn chunk(&self, choices: Vec<ChunkChoice>, usage: Option<Usage>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model_name.clone(),
            choices,
            usage,
        }
    }
}

/// A toolUse block being streamed.
#[derive(Debug, Clone, Copy)]
struct ToolBlock {
    /// The OpenAI `tool_calls[].index`.
    index: u32,
    has_input: bool,
}

fn arguments_delta(index: u32, arguments: String) -> Delta {
    tool_delta(ToolCallDelta {
        index,
        id: None,
        kind: None,
        function: FunctionCallDelta {
            name: None,
            arguments: Some(arguments),
        },
    })
}

fn tool_delta(call: ToolCallDelta) -> Delta {
    Delta {
        tool_calls: Some(vec![call]),
        ..Delta::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::from_converse;
    use crate::openai::test_support::{
        block_stop, delta, metadata, output, start, stop, text, tool_input, tool_start, tool_use,
    };
    use aws_sdk_bedrockruntime::types::{ContentBlock, ReasoningContentBlockDelta, StopReason};
    use proptest::prelude::*;
    use serde_json::json;

    fn run(t: &mut StreamTranslator, events: &[ConverseStreamEvent]) -> Vec<ChatCompletionChunk> {
        let mut chunks: Vec<_> = events.iter().flat_map(|e| t.on_event(e)).collect();
        chunks.extend(t.finish());
        chunks
    }

    fn content(chunks: &[ChatCompletionChunk]) -> String {
        chunks
            .iter()
            .flat_map(|c| &c.choices)
            .filter_map(|c| c.delta.content.as_deref())
            .collect()
    }

    #[test]
    fn text_stream_with_usage() {
        let mut t = StreamTranslator::new("bedrock/claude-test", "chatcmpl-9", 42, true);
        let thinking = delta(
            0,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text("hmm".into())),
        );
        let chunks = run(
            &mut t,
            &[
                start(),
                thinking,
                block_stop(0),
                text(1, "Hel"),
                text(1, "lo"),
                block_stop(1),
                stop(StopReason::EndTurn),
                metadata(),
            ],
        );
        let wire: Vec<serde_json::Value> = chunks
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect();
        assert_eq!(wire.len(), 5);
        assert_eq!(
            wire[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(wire[0]["object"], "chat.completion.chunk");
        assert_eq!(
            (wire[0]["id"].as_str(), wire[0]["created"].as_u64()),
            (Some("chatcmpl-9"), Some(42))
        );
        assert_eq!(wire[1]["choices"][0]["delta"], json!({"content": "Hel"}));
        assert_eq!(wire[2]["choices"][0]["delta"], json!({"content": "lo"}));
        assert_eq!(
            wire[3]["choices"][0],
            json!({"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": null})
        );
        assert_eq!(wire[4]["choices"], json!([]));
        assert_eq!(wire[4]["usage"]["prompt_tokens"], 130);
        assert_eq!(
            wire[4]["usage"]["prompt_tokens_details"]["cached_tokens"],
            100
        );
        assert!(wire[..4].iter().all(|c| c.get("usage").is_none()));
        assert_eq!(
            t.usage(),
            TokenUsage {
                input: 10,
                output: 5,
                cache_read: 100,
                cache_write: 20,
                cache_write_1h: 0
            }
        );
        assert!(t.finish().is_empty(), "finish emits once");
    }

    #[test]
    fn no_usage_chunk_unless_asked_but_usage_is_still_recorded() {
        let mut t = StreamTranslator::new("m", "id", 0, false);
        let chunks = run(
            &mut t,
            &[
                start(),
                text(0, "x"),
                stop(StopReason::MaxTokens),
                metadata(),
            ],
        );
        assert_eq!(
            chunks.last().unwrap().choices[0].finish_reason,
            Some(FinishReason::Length)
        );
        assert!(chunks.iter().all(|c| c.usage.is_none()));
        assert_eq!(t.usage().output, 5);
    }

    #[test]
    fn tool_calls_are_indexed_in_order_and_keyed_by_block() {
        let mut t = StreamTranslator::new("m", "id", 0, false);
        let chunks = run(
            &mut t,
            &[
                start(),
                text(0, "Checking."),
                block_stop(0),
                tool_start(1, "tooluse_a", "weather"),
                tool_input(1, "{\"city\":"),
                tool_start(2, "tooluse_b", "time"),
                tool_input(1, "\"Paris\"}"),
                tool_input(2, "{}"),
                block_stop(1),
                block_stop(2),
                stop(StopReason::ToolUse),
            ],
        );
        let calls: Vec<&ToolCallDelta> = chunks
            .iter()
            .flat_map(|c| &c.choices)
            .flat_map(|c| c.delta.tool_calls.iter().flatten())
            .collect();
        assert_eq!(calls.len(), 5);
        assert_eq!(
            serde_json::to_value(calls[0]).unwrap(),
            json!(
                {"index": 0, "id": "tooluse_a", "type": "function", "function": {"name": "weather", "arguments": ""}}
            )
        );
        assert_eq!(
            serde_json::to_value(calls[1]).unwrap(),
            json!({"index": 0, "function": {"arguments": "{\"city\":"}})
        );
        assert_eq!(
            (calls[2].index, calls[2].id.as_deref()),
            (1, Some("tooluse_b"))
        );
        assert_eq!(
            (calls[3].index, calls[3].function.arguments.as_deref()),
            (0, Some("\"Paris\"}"))
        );
        assert_eq!(
            (calls[4].index, calls[4].function.arguments.as_deref()),
            (1, Some("{}"))
        );
        assert_eq!(
            chunks.last().unwrap().choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
    }

    #[test]
    fn tool_call_without_input_gets_empty_object_arguments() {
        let mut t = StreamTranslator::new("m", "id", 0, false);
        let chunks = run(
            &mut t,
            &[
                start(),
                tool_start(0, "tooluse_a", "now"),
                block_stop(0),
                tool_start(1, "tooluse_b", "weather"),
                tool_input(1, "{}"),
                block_stop(1),
                stop(StopReason::ToolUse),
            ],
        );
        let args: Vec<(u32, &str)> = chunks
            .iter()
            .flat_map(|c| &c.choices)
            .flat_map(|c| c.delta.tool_calls.iter().flatten())
            .filter_map(|c| Some((c.index, c.function.arguments.as_deref()?)))
            .filter(|(_, a)| !a.is_empty())
            .collect();
        assert_eq!(args, [(0, "{}"), (1, "{}")]);
    }

    #[test]
    fn role_goes_on_the_first_chunk_even_without_message_start() {
        let mut t = StreamTranslator::new("m", "id", 0, false);
        let chunks = run(&mut t, &[text(0, "a"), text(0, "b")]);
        assert_eq!(
            chunks[0].choices[0].delta.role.as_deref(),
            Some("assistant")
        );
        assert_eq!(chunks[1].choices[0].delta.role, None);
    }

    proptest! {
        /// Streaming and non-streaming agree: the streamed content and tool
        /// calls reassemble into what `from_converse` returns for the same answer.
        #[test]
        fn stream_reassembles_to_the_complete_response(
            pieces in prop::collection::vec(prop::collection::vec("[ -~]{0,8}", 0..4), 0..4),
            calls in prop::collection::vec(("[a-z]{1,8}", 0u32..1000), 0..3),
        ) {
            let mut blocks = Vec::new();
            let mut events = vec![start()];
            let mut index = 0;
            for text_pieces in &pieces {
                blocks.push(ContentBlock::Text(text_pieces.concat()));
                events.extend(text_pieces.iter().map(|p| text(index, p)));
                events.push(block_stop(index));
                index += 1;
            }
            for (i, (name, n)) in calls.iter().enumerate() {
                let id = format!("tooluse_{i}");
                let args = json!({"n": n, "name": name});
                blocks.push(tool_use(&id, name, args.clone()));
                let raw = args.to_string();
                let (a, b) = raw.split_at(raw.len() / 2);
                events.extend([tool_start(index, &id, name), tool_input(index, a), tool_input(index, b), block_stop(index)]);
                index += 1;
            }
            let reason = if calls.is_empty() { StopReason::EndTurn } else { StopReason::ToolUse };
            events.extend([stop(reason.clone()), metadata()]);

            let complete = from_converse(&output(blocks, reason), "m", "id", 0);
            let mut t = StreamTranslator::new("m", "id", 0, true);
            let chunks = run(&mut t, &events);

            let message = &complete.choices[0].message;
            prop_assert_eq!(content(&chunks), message.content.clone().unwrap_or_default());
            let mut streamed: Vec<(String, String, String)> = Vec::new();
            for call in chunks.iter().flat_map(|c| &c.choices).flat_map(|c| c.delta.tool_calls.iter().flatten()) {
                let i = usize::try_from(call.index).unwrap();
                if i == streamed.len() {
                    streamed.push((call.id.clone().unwrap(), call.function.name.clone().unwrap(), String::new()));
                }
                streamed[i].2.push_str(call.function.arguments.as_deref().unwrap_or_default());
            }
            let expected = message.tool_calls.clone().unwrap_or_default();
            prop_assert_eq!(streamed.len(), expected.len());
            for ((id, name, args), call) in streamed.iter().zip(&expected) {
                prop_assert_eq!(id, &call.id);
                prop_assert_eq!(name, &call.function.name);
                let streamed_args: serde_json::Value = serde_json::from_str(args).unwrap();
                let complete_args: serde_json::Value = serde_json::from_str(&call.function.arguments).unwrap();
                prop_assert_eq!(streamed_args, complete_args);
            }
            let finish = chunks.iter().flat_map(|c| &c.choices).find_map(|c| c.finish_reason);
            prop_assert_eq!(finish, complete.choices[0].finish_reason);
            prop_assert_eq!(chunks.last().and_then(|c| c.usage), Some(complete.usage));
        }
    }
}
