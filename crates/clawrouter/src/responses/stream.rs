//! ConverseStream events → Responses stream events, one translator per response.
//!
//! Each Bedrock content block becomes one output item: text a `message`,
//! thinking a `reasoning` item, a toolUse a `function_call` or
//! `custom_tool_call`. An item is announced (`output_item.added`) when its
//! block starts, streams its deltas, and is finished (`output_item.done`,
//! which is what Codex acts on) when the block stops. The stream ends with
//! `response.completed` (or `.incomplete` / `.failed`) carrying the whole
//! response and its usage.

use std::collections::HashMap;

use aws_sdk_bedrockruntime::types::{
    ContentBlockDelta, ContentBlockStart, ReasoningContentBlock, ReasoningContentBlockDelta,
    ReasoningTextBlock, StopReason,
};
use aws_smithy_types::Blob;

use super::response::{ResponseContext, message_item, output_text, usage};
use super::tools::CallKind;
use super::{EventKind, OutputItem, ResponseError, Status, StreamEvent, SummaryText};
use crate::bedrock::ConverseStreamEvent;
use crate::catalog::TokenUsage;
use crate::openai::token_usage;

#[derive(Debug)]
pub struct StreamTranslator {
    ctx: ResponseContext,
    sequence: u64,
    /// Finished items by output index (`None` while still streaming).
    output: Vec<Option<OutputItem>>,
    /// contentBlockIndex → the item streaming from that block.
    open: HashMap<i32, OpenItem>,
    stop: Option<StopReason>,
    usage: TokenUsage,
    reasoning_chars: usize,
    /// Characters of text and tool input sent, for estimates if the stream breaks.
    output_chars: usize,
    /// Goes before the first text (the `[low] ` tier tag), then is spent.
    prefix: Option<String>,
    finished: bool,
}

#[derive(Debug)]
enum OpenItem {
    Text {
        index: u32,
        id: String,
        text: String,
    },
    Reasoning {
        index: u32,
        id: String,
        text: String,
        signature: Option<String>,
        redacted: Option<Vec<u8>>,
    },
    Call {
        index: u32,
        id: String,
        call_id: String,
        bedrock_name: String,
        custom: bool,
        arguments: String,
    },
}

impl StreamTranslator {
    pub fn new(ctx: ResponseContext, prefix: Option<&str>) -> Self {
        StreamTranslator {
            prefix: prefix.map(str::to_owned),
            ctx,
            sequence: 0,
            output: Vec::new(),
            open: HashMap::new(),
            stop: None,
            usage: TokenUsage::default(),
            reasoning_chars: 0,
            output_chars: 0,
            finished: false,
        }
    }

    /// The events that open the stream: `response.created` and `.in_progress`.
    pub fn start(&mut self) -> Vec<StreamEvent> {
        let response = Box::new(
            self.ctx
                .response(Status::InProgress, Vec::new(), None, None),
        );
        vec![
            self.event(EventKind::Created {
                response: response.clone(),
            }),
            self.event(EventKind::InProgress { response }),
        ]
    }

    pub fn on_event(&mut self, ev: &ConverseStreamEvent) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        match ev {
            ConverseStreamEvent::ContentBlockStart(e) => {
                if let Some(ContentBlockStart::ToolUse(t)) = &e.start {
                    let index = self.next_index();
                    let custom = self.ctx.tools.client_call(&t.name).1 == CallKind::Custom;
                    let item =
                        self.ctx
                            .call_item(index, Status::InProgress, &t.tool_use_id, &t.name, "");
                    let id = item_id(&item);
                    events.push(self.event(EventKind::OutputItemAdded {
                        output_index: index,
                        item,
                    }));
                    self.open.insert(
                        e.content_block_index,
                        OpenItem::Call {
                            index,
                            id,
                            call_id: t.tool_use_id.clone(),
                            bedrock_name: t.name.clone(),
                            custom,
                            arguments: String::new(),
                        },
                    );
                }
            }
            ConverseStreamEvent::ContentBlockDelta(e) => match &e.delta {
                Some(ContentBlockDelta::Text(t)) if !t.is_empty() => {
                    self.text_delta(e.content_block_index, t, &mut events);
                }
                Some(ContentBlockDelta::ReasoningContent(r)) => {
                    self.reasoning_delta(e.content_block_index, r, &mut events);
                }
                Some(ContentBlockDelta::ToolUse(t)) => {
                    // Input for a block whose start we never saw cannot be attributed.
                    if let Some(OpenItem::Call {
                        index,
                        id,
                        custom,
                        arguments,
                        ..
                    }) = self.open.get_mut(&e.content_block_index)
                    {
                        arguments.push_str(&t.input);
                        self.output_chars += t.input.len();
                        // A freeform tool's input is a string inside the
                        // JSON Bedrock streams; it is sent whole at the end.
                        if !*custom {
                            let (output_index, item_id) = (*index, id.clone());
                            events.push(self.event(EventKind::FunctionCallArgumentsDelta {
                                item_id,
                                output_index,
                                delta: t.input.clone(),
                            }));
                        }
                    }
                }
                _ => {}
            },
            ConverseStreamEvent::ContentBlockStop(e) => {
                if let Some(item) = self.open.remove(&e.content_block_index) {
                    self.close(item, &mut events);
                }
            }
            ConverseStreamEvent::MessageStop(e) => self.stop = Some(e.stop_reason.clone()),
            ConverseStreamEvent::Metadata(e) => {
                if let Some(u) = &e.usage {
                    self.usage = token_usage(u);
                }
            }
            _ => {}
        }
        events
    }

    /// The events that end a stream Bedrock finished: items still open are
    /// closed, then `response.completed` (or `.incomplete`). Call once, after
    /// the last event; later calls return nothing. A stream that ended
    /// without messageStop failed: see [`fail`](Self::fail).
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        if std::mem::replace(&mut self.finished, true) {
            return Vec::new();
        }
        let mut events = self.close_all();
        let stop = self.stop.clone().unwrap_or(StopReason::EndTurn);
        let response =
            self.ctx
                .finished(&stop, self.items(), usage(self.usage, self.reasoning_chars));
        let kind = if response.status == Status::Incomplete {
            EventKind::Incomplete {
                response: Box::new(response),
            }
        } else {
            EventKind::Completed {
                response: Box::new(response),
            }
        };
        events.push(self.event(kind));
        events
    }

    /// Whether Bedrock ended the answer (messageStop); a stream that closes
    /// without it was cut short.
    pub fn stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// The last event of a broken stream: `response.failed` with `error`.
    pub fn fail(&self, error: ResponseError) -> StreamEvent {
        let usage = usage(self.usage, self.reasoning_chars);
        let response = self
            .ctx
            .response(Status::Failed, self.items(), Some(usage), Some(error));
        StreamEvent {
            kind: EventKind::Failed {
                response: Box::new(response),
            },
            sequence_number: self.sequence,
        }
    }

    /// The token counts reported so far (zero until the metadata event).
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// Characters of answer sent so far (text, thinking and tool input).
    pub fn output_chars(&self) -> usize {
        self.output_chars + self.reasoning_chars
    }

    /// Ids of the tool calls made so far.
    pub fn tool_call_ids(&self) -> Vec<String> {
        self.output
            .iter()
            .flatten()
            .filter_map(|item| match item {
                OutputItem::FunctionCall { call_id, .. }
                | OutputItem::CustomToolCall { call_id, .. } => Some(call_id.clone()),
                _ => None,
            })
            .collect()
    }

    fn event(&mut self, kind: EventKind) -> StreamEvent {
        let event = StreamEvent {
            kind,
            sequence_number: self.sequence,
        };
        self.sequence += 1;
        event
    }

    fn next_index(&mut self) -> u32 {
        self.output.push(None);
        u32::try_from(self.output.len() - 1).unwrap_or(u32::MAX)
    }

    fn items(&self) -> Vec<OutputItem> {
        self.output.iter().flatten().cloned().collect()
    }

    fn text_delta(&mut self, block: i32, delta: &str, events: &mut Vec<StreamEvent>) {
        if !self.open.contains_key(&block) {
            let index = self.next_index();
            let id = self.ctx.item_id("msg", index);
            let mut item = message_item(id.clone(), Status::InProgress, "");
            if let OutputItem::Message { content, .. } = &mut item {
                content.clear();
            }
            events.push(self.event(EventKind::OutputItemAdded {
                output_index: index,
                item,
            }));
            events.push(self.event(EventKind::ContentPartAdded {
                item_id: id.clone(),
                output_index: index,
                content_index: 0,
                part: output_text(""),
            }));
            self.open.insert(
                block,
                OpenItem::Text {
                    index,
                    id,
                    text: String::new(),
                },
            );
        }
        let delta = match self.prefix.take() {
            Some(prefix) => format!("{prefix}{delta}"),
            None => delta.to_owned(),
        };
        if let Some(OpenItem::Text { index, id, text }) = self.open.get_mut(&block) {
            text.push_str(&delta);
            self.output_chars += delta.len();
            let (output_index, item_id) = (*index, id.clone());
            events.push(self.event(EventKind::OutputTextDelta {
                item_id,
                output_index,
                content_index: 0,
                delta,
                logprobs: Vec::new(),
            }));
        }
    }

    fn reasoning_delta(
        &mut self,
        block: i32,
        delta: &ReasoningContentBlockDelta,
        events: &mut Vec<StreamEvent>,
    ) {
        if !self.open.contains_key(&block) {
            let index = self.next_index();
            let item = self.ctx.reasoning_item(index, "", None);
            let id = item_id(&item);
            events.push(self.event(EventKind::OutputItemAdded {
                output_index: index,
                item,
            }));
            if self.ctx.summaries {
                events.push(self.event(EventKind::ReasoningSummaryPartAdded {
                    item_id: id.clone(),
                    output_index: index,
                    summary_index: 0,
                    part: summary(""),
                }));
            }
            self.open.insert(
                block,
                OpenItem::Reasoning {
                    index,
                    id,
                    text: String::new(),
                    signature: None,
                    redacted: None,
                },
            );
        }
        let summaries = self.ctx.summaries;
        let Some(OpenItem::Reasoning {
            index,
            id,
            text,
            signature,
            redacted,
        }) = self.open.get_mut(&block)
        else {
            return;
        };
        match delta {
            ReasoningContentBlockDelta::Text(t) => {
                text.push_str(t);
                self.reasoning_chars += t.len();
                if summaries {
                    let (output_index, item_id) = (*index, id.clone());
                    events.push(self.event(EventKind::ReasoningSummaryTextDelta {
                        item_id,
                        output_index,
                        summary_index: 0,
                        delta: t.clone(),
                    }));
                }
            }
            ReasoningContentBlockDelta::Signature(s) => {
                signature.get_or_insert_with(String::new).push_str(s);
            }
            ReasoningContentBlockDelta::RedactedContent(b) => {
                redacted
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(b.as_ref());
            }
            _ => {}
        }
    }

    fn close_all(&mut self) -> Vec<StreamEvent> {
        let mut open: Vec<(i32, OpenItem)> = self.open.drain().collect();
        open.sort_by_key(|(block, _)| *block);
        let mut events = Vec::new();
        for (_, item) in open {
            self.close(item, &mut events);
        }
        events
    }

    fn close(&mut self, item: OpenItem, events: &mut Vec<StreamEvent>) {
        let (index, done) = match item {
            OpenItem::Text { index, id, text } => {
                events.push(self.event(EventKind::OutputTextDone {
                    item_id: id.clone(),
                    output_index: index,
                    content_index: 0,
                    text: text.clone(),
                    logprobs: Vec::new(),
                }));
                events.push(self.event(EventKind::ContentPartDone {
                    item_id: id.clone(),
                    output_index: index,
                    content_index: 0,
                    part: output_text(&text),
                }));
                (index, message_item(id, Status::Completed, &text))
            }
            OpenItem::Reasoning {
                index,
                id,
                text,
                signature,
                redacted,
            } => {
                if self.ctx.summaries {
                    events.push(self.event(EventKind::ReasoningSummaryTextDone {
                        item_id: id.clone(),
                        output_index: index,
                        summary_index: 0,
                        text: text.clone(),
                    }));
                    events.push(self.event(EventKind::ReasoningSummaryPartDone {
                        item_id: id,
                        output_index: index,
                        summary_index: 0,
                        part: summary(&text),
                    }));
                }
                let block = match (redacted, signature) {
                    (Some(bytes), _) => {
                        Some(ReasoningContentBlock::RedactedContent(Blob::new(bytes)))
                    }
                    (None, signature) => ReasoningTextBlock::builder()
                        .text(text.clone())
                        .set_signature(signature)
                        .build()
                        .ok()
                        .map(ReasoningContentBlock::ReasoningText),
                };
                (index, self.ctx.reasoning_item(index, &text, block.as_ref()))
            }
            OpenItem::Call {
                index,
                id,
                call_id,
                bedrock_name,
                custom,
                arguments,
            } => {
                // A call without arguments may stream no input at all.
                let arguments = if arguments.trim().is_empty() {
                    "{}".to_owned()
                } else {
                    arguments
                };
                let item = self.ctx.call_item(
                    index,
                    Status::Completed,
                    &call_id,
                    &bedrock_name,
                    &arguments,
                );
                if custom {
                    let input = match &item {
                        OutputItem::CustomToolCall { input, .. } => input.clone(),
                        _ => String::new(),
                    };
                    events.push(self.event(EventKind::CustomToolCallInputDelta {
                        item_id: id.clone(),
                        output_index: index,
                        delta: input.clone(),
                    }));
                    events.push(self.event(EventKind::CustomToolCallInputDone {
                        item_id: id,
                        output_index: index,
                        input,
                    }));
                } else {
                    let name = match &item {
                        OutputItem::FunctionCall { name, .. } => name.clone(),
                        _ => bedrock_name,
                    };
                    events.push(self.event(EventKind::FunctionCallArgumentsDone {
                        item_id: id,
                        output_index: index,
                        name,
                        arguments,
                    }));
                }
                (index, item)
            }
        };
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| self.output.get_mut(i))
        {
            *slot = Some(done.clone());
        }
        events.push(self.event(EventKind::OutputItemDone {
            output_index: index,
            item: done,
        }));
    }
}

fn summary(text: &str) -> SummaryText {
    SummaryText::SummaryText {
        text: text.to_owned(),
    }
}

fn item_id(item: &OutputItem) -> String {
    match item {
        OutputItem::Message { id, .. }
        | OutputItem::Reasoning { id, .. }
        | OutputItem::FunctionCall { id, .. }
        | OutputItem::CustomToolCall { id, .. } => id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::response::tests::context;
    use super::*;
    use crate::openai::test_support::{
        block_stop, delta, metadata, reasoning, start, stop, tool_input, tool_start,
    };
    use serde_json::{Value, json};

    fn run(t: &mut StreamTranslator, events: &[ConverseStreamEvent]) -> Vec<Value> {
        let mut out = t.start();
        out.extend(t.on_event(&start()));
        for e in events {
            out.extend(t.on_event(e));
        }
        out.extend(t.finish());
        out.iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    }

    fn types(events: &[Value]) -> Vec<&str> {
        events.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    #[test]
    fn thinking_then_text_streams_as_codex_expects() {
        let mut t = StreamTranslator::new(
            context(
                json!({"model": "auto", "input": "x", "reasoning": {"effort": "low", "summary": "auto"}}),
            ),
            Some("[low] "),
        );
        let events = run(
            &mut t,
            &[
                delta(
                    0,
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(
                        "hmm".into(),
                    )),
                ),
                delta(
                    0,
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(
                        "sig".into(),
                    )),
                ),
                block_stop(0),
                delta(1, ContentBlockDelta::Text("Hel".into())),
                delta(1, ContentBlockDelta::Text("lo".into())),
                block_stop(1),
                stop(StopReason::EndTurn),
                metadata(),
            ],
        );
        assert_eq!(
            types(&events),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let sequence: Vec<u64> = events
            .iter()
            .map(|e| e["sequence_number"].as_u64().unwrap())
            .collect();
        assert_eq!(sequence, (0..16).collect::<Vec<u64>>());
        let thought = &events[7]["item"];
        assert_eq!(thought["summary"][0]["text"], "hmm");
        let carried = super::super::reasoning::decode(
            thought["encrypted_content"].as_str().unwrap(),
            "bedrock/claude-test",
        );
        assert_eq!(carried, Some(reasoning("hmm")));
        assert_eq!(
            events[10]["delta"], "[low] Hel",
            "the tier tag goes first, once"
        );
        assert_eq!(events[11]["delta"], "lo");
        assert_eq!(events[14]["item"]["content"][0]["text"], "[low] Hello");
        let done = &events[15]["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output"].as_array().unwrap().len(), 2);
        assert_eq!(done["usage"]["input_tokens"], 130);
        assert_eq!(done["usage"]["output_tokens"], 5);
        assert_eq!(
            done["usage"]["output_tokens_details"]["reasoning_tokens"],
            1
        );
    }

    #[test]
    fn function_and_custom_calls_stream_their_input() {
        let mut t = StreamTranslator::new(
            context(json!({"model": "auto", "input": "x", "tools": [
            {"type": "function", "name": "exec_command"}, {"type": "custom", "name": "apply_patch"}]})),
            None,
        );
        let events = run(
            &mut t,
            &[
                tool_start(0, "tooluse_1", "exec_command"),
                tool_input(0, "{\"cmd\":"),
                tool_input(0, "\"ls\"}"),
                block_stop(0),
                tool_start(1, "tooluse_2", "apply_patch"),
                tool_input(1, "{\"input\": \"*** Begin"),
                tool_input(1, " Patch\"}"),
                block_stop(1),
                tool_start(2, "tooluse_3", "exec_command"),
                block_stop(2),
                stop(StopReason::ToolUse),
            ],
        );
        assert_eq!(
            types(&events)[2..],
            [
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.custom_tool_call_input.delta",
                "response.custom_tool_call_input.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(events[2]["item"]["arguments"], "");
        assert_eq!(events[2]["item"]["status"], "in_progress");
        assert_eq!(events[5]["arguments"], "{\"cmd\":\"ls\"}");
        assert_eq!(
            events[6]["item"],
            json!({"type": "function_call", "id": "fc_abc_0", "status": "completed",
                   "call_id": "tooluse_1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"})
        );
        assert_eq!(events[9]["input"], "*** Begin Patch");
        assert_eq!(events[10]["item"]["type"], "custom_tool_call");
        assert_eq!(events[12]["arguments"], "{}");
        assert_eq!(t.tool_call_ids(), ["tooluse_1", "tooluse_2", "tooluse_3"]);
    }

    #[test]
    fn a_cut_stream_is_incomplete_and_a_broken_one_failed() {
        let mut t = StreamTranslator::new(context(json!({"model": "auto", "input": "x"})), None);
        let events = run(
            &mut t,
            &[
                delta(0, ContentBlockDelta::Text("par".into())),
                stop(StopReason::MaxTokens),
            ],
        );
        let last = events.last().unwrap();
        assert_eq!(last["type"], "response.incomplete");
        assert_eq!(
            last["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        assert_eq!(
            types(&events)[events.len() - 2],
            "response.output_item.done"
        );
        assert!(t.stopped());

        let mut t = StreamTranslator::new(context(json!({"model": "auto", "input": "x"})), None);
        let sent = t.start().len()
            + t.on_event(&delta(0, ContentBlockDelta::Text("par".into())))
                .len();
        assert!(!t.stopped());
        let failed = serde_json::to_value(t.fail(error())).unwrap();
        assert_eq!(failed["type"], "response.failed");
        assert_eq!(failed["sequence_number"], sent);
        assert_eq!(failed["response"]["status"], "failed");
        assert_eq!(
            failed["response"]["error"],
            json!({"code": "rate_limit_exceeded", "message": "slow down; try again in 2s"})
        );
        assert_eq!(t.output_chars(), 3);
    }

    fn error() -> ResponseError {
        ResponseError {
            code: "rate_limit_exceeded".into(),
            message: "slow down; try again in 2s".into(),
        }
    }
}
