//! Automatic prompt caching for clients that cannot ask for it (Chat
//! Completions and Responses have no cache markers): Bedrock cache points are
//! added at the prefixes that stay the same from one turn to the next.
//!
//! Bedrock caches the whole prompt before a `cachePoint`, in the order tools
//! → system → messages, and a later request with the same prefix reads it
//! back at a tenth of the input price. The points go:
//! 1. after the tool definitions,
//! 2. after the system prompt,
//! 3. at the end of the conversation so far: the message before the new user
//!    turn, so the next turn (which repeats it) reads everything up to there.
//!
//! A point is added only where the model caches at all, where the prompt it
//! covers since the previous point reaches the model's minimum
//! ([`Model::min_cache_tokens`]; Bedrock ignores a smaller one), and never
//! past Bedrock's four points a request, counting the client's own.
//!
//! Sizes are estimated at four characters a token without calling a
//! tokenizer; Claude's run nearer 3.5 (and more on the 4.7+ tokenizer), so
//! the estimate errs low and a point is skipped rather than wasted.

use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, Message, SystemContentBlock, Tool,
    ToolInputSchema, ToolResultContentBlock,
};
use aws_smithy_types::Document;

use crate::bedrock::ConverseRequest;
use crate::catalog::{Capability, Model};

/// Cache points Bedrock accepts in one request.
pub const MAX_CACHE_POINTS: usize = 4;

/// Where the points were added (the tests read it; the pipeline does not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CachePoints {
    pub after_tools: bool,
    pub after_system: bool,
    /// Index of the message that got a point at its end.
    pub after_message: Option<usize>,
}

impl CachePoints {
    pub fn count(&self) -> usize {
        usize::from(self.after_tools)
            + usize::from(self.after_system)
            + usize::from(self.after_message.is_some())
    }
}

/// Adds cache points to `call` for `model` (see the module docs).
pub fn add_cache_points(call: &mut ConverseRequest, model: &Model) -> CachePoints {
    let mut added = CachePoints::default();
    // The builder fails only without a type, which is set.
    let Ok(point) = CachePointBlock::builder()
        .r#type(CachePointType::Default)
        .build()
    else {
        return added;
    };
    if !model.supports(Capability::Caching) {
        return added;
    }
    let min = u64::from(model.min_cache_tokens);
    let mut budget = MAX_CACHE_POINTS.saturating_sub(existing_points(call));
    let tools_chars: usize = call
        .tools
        .iter()
        .flat_map(|config| config.tools())
        .map(tool_chars)
        .sum();
    let system_chars: usize = call.system.iter().map(system_chars).sum();
    // The message that ends the conversation so far: the one before the
    // last (the new user turn). A first turn has none.
    let conversation_end = call.messages.len().checked_sub(2);
    let conversation_chars: usize = conversation_end.map_or(0, |end| {
        call.messages[..=end]
            .iter()
            .flat_map(Message::content)
            .map(content_chars)
            .sum()
    });

    // Tokens covered since the previous point, as each candidate is reached.
    let mut since_point = 0;
    let mut reaches = |chars: usize, budget: &mut usize| {
        since_point += tokens(chars);
        let placed = *budget > 0 && since_point >= min;
        if placed {
            *budget -= 1;
            since_point = 0;
        }
        placed
    };
    if reaches(tools_chars, &mut budget)
        && let Some(config) = call.tools.as_mut()
        && !matches!(config.tools().last(), Some(Tool::CachePoint(_)))
    {
        let mut tools = config.tools().to_vec();
        tools.push(Tool::CachePoint(point.clone()));
        if let Ok(rebuilt) = aws_sdk_bedrockruntime::types::ToolConfiguration::builder()
            .set_tools(Some(tools))
            .set_tool_choice(config.tool_choice().cloned())
            .build()
        {
            *config = rebuilt;
            added.after_tools = true;
        }
    }
    if reaches(system_chars, &mut budget)
        && !matches!(call.system.last(), Some(SystemContentBlock::CachePoint(_)))
    {
        call.system
            .push(SystemContentBlock::CachePoint(point.clone()));
        added.after_system = true;
    }
    if let Some(end) = conversation_end
        && reaches(conversation_chars, &mut budget)
        && let Some(message) = call.messages.get_mut(end)
        && !matches!(message.content().last(), Some(ContentBlock::CachePoint(_)))
    {
        let mut content = message.content().to_vec();
        content.push(ContentBlock::CachePoint(point));
        if let Ok(rebuilt) = Message::builder()
            .role(message.role().clone())
            .set_content(Some(content))
            .build()
        {
            *message = rebuilt;
            added.after_message = Some(end);
        }
    }
    added
}

/// The client's own cache points.
fn existing_points(call: &ConverseRequest) -> usize {
    let tools = call
        .tools
        .iter()
        .flat_map(|c| c.tools())
        .filter(|t| matches!(t, Tool::CachePoint(_)))
        .count();
    let system = call
        .system
        .iter()
        .filter(|b| matches!(b, SystemContentBlock::CachePoint(_)))
        .count();
    let messages = call
        .messages
        .iter()
        .flat_map(Message::content)
        .filter(|b| matches!(b, ContentBlock::CachePoint(_)))
        .count();
    tools + system + messages
}

fn tokens(chars: usize) -> u64 {
    u64::try_from(chars / 4).unwrap_or(u64::MAX)
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// About the characters `doc` prints as in JSON, counted in place: tool
/// schemas and tool-call inputs are on every request, and building their
/// JSON text only to measure it would copy them each time.
fn document_chars(doc: &Document) -> usize {
    match doc {
        Document::String(s) => chars(s) + 2,
        Document::Array(items) => 2 + items.iter().map(|i| document_chars(i) + 1).sum::<usize>(),
        Document::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| chars(k) + 4 + document_chars(v))
                .sum::<usize>()
        }
        Document::Number(_) | Document::Bool(_) | Document::Null => 4,
    }
}

fn tool_chars(tool: &Tool) -> usize {
    match tool {
        Tool::ToolSpec(spec) => {
            let schema = match spec.input_schema() {
                Some(ToolInputSchema::Json(doc)) => document_chars(doc),
                _ => 0,
            };
            chars(spec.name()) + spec.description().map_or(0, chars) + schema
        }
        _ => 0,
    }
}

fn system_chars(block: &SystemContentBlock) -> usize {
    match block {
        SystemContentBlock::Text(text) => chars(text),
        _ => 0,
    }
}

/// Text the model reads in a message block; images and documents are left
/// out (they make the estimate lower, never higher).
fn content_chars(block: &ContentBlock) -> usize {
    match block {
        ContentBlock::Text(text) => chars(text),
        ContentBlock::ToolUse(call) => chars(call.name()) + document_chars(call.input()),
        ContentBlock::ToolResult(result) => result
            .content()
            .iter()
            .map(|part| match part {
                ToolResultContentBlock::Text(text) => chars(text),
                ToolResultContentBlock::Json(doc) => document_chars(doc),
                _ => 0,
            })
            .sum(),
        ContentBlock::ReasoningContent(reasoning) => {
            reasoning.as_reasoning_text().map_or(0, |r| chars(r.text()))
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_bedrockruntime::types::{
        AutoToolChoice, ConversationRole, ToolChoice, ToolConfiguration, ToolSpecification,
    };

    use super::*;
    use crate::catalog::Catalog;

    /// Haiku 5.5 caches from 512 tokens (models.yaml), Haiku 4.5 from 4,096.
    fn model(name: &str) -> Model {
        Catalog::builtin().unwrap().model(name).unwrap().clone()
    }

    fn haiku_5_5() -> Model {
        model("bedrock/claude-haiku-5-5")
    }

    /// `tokens` estimated tokens of text (four characters each).
    fn text(tokens: usize) -> String {
        "abcd".repeat(tokens)
    }

    fn message(role: ConversationRole, tokens: usize) -> Message {
        Message::builder()
            .role(role)
            .content(ContentBlock::Text(text(tokens)))
            .build()
            .unwrap()
    }

    /// A call with a system prompt and alternating turns ending with a user
    /// turn, each of the given sizes.
    fn call(system: usize, turns: &[usize]) -> ConverseRequest {
        let messages = turns
            .iter()
            .enumerate()
            .map(|(i, &tokens)| {
                let role = if i % 2 == 0 {
                    ConversationRole::User
                } else {
                    ConversationRole::Assistant
                };
                message(role, tokens)
            })
            .collect();
        ConverseRequest {
            model_id: "us.anthropic.claude-haiku-5-5".into(),
            system: vec![SystemContentBlock::Text(text(system))],
            messages,
            ..ConverseRequest::default()
        }
    }

    fn ends_with_point(content: &[ContentBlock]) -> bool {
        matches!(content.last(), Some(ContentBlock::CachePoint(_)))
    }

    fn system_ends_with_point(call: &ConverseRequest) -> bool {
        matches!(call.system.last(), Some(SystemContentBlock::CachePoint(_)))
    }

    #[test]
    fn first_turn_gets_a_point_after_a_long_system_prompt_only() {
        let mut c = call(1_000, &[20]);
        let added = add_cache_points(&mut c, &haiku_5_5());
        assert_eq!(
            added,
            CachePoints {
                after_system: true,
                ..CachePoints::default()
            }
        );
        assert!(system_ends_with_point(&c));
        // The new user turn is left alone.
        assert!(!ends_with_point(c.messages[0].content()));
    }

    #[test]
    fn a_later_turn_also_caches_the_conversation_so_far() {
        // user 400 + assistant 300 tokens since the system point: over 512.
        let mut c = call(1_000, &[400, 300, 10]);
        let added = add_cache_points(&mut c, &haiku_5_5());
        assert!(added.after_system);
        assert_eq!(added.after_message, Some(1));
        assert!(ends_with_point(c.messages[1].content()));
        assert!(!ends_with_point(c.messages[2].content()));
        assert_eq!(existing_points(&c), 2);
    }

    #[test]
    fn each_point_must_cover_the_minimum_since_the_previous_one() {
        // 200 tokens of conversation after the system point: too few.
        let mut short = call(1_000, &[100, 100, 10]);
        assert_eq!(
            add_cache_points(&mut short, &haiku_5_5()).after_message,
            None
        );
        // A short system prompt gets no point, but its tokens count towards
        // the conversation's: 300 + 150 + 150 = 600 ≥ 512.
        let mut c = call(300, &[150, 150, 10]);
        let added = add_cache_points(&mut c, &haiku_5_5());
        assert!(!added.after_system);
        assert_eq!(added.after_message, Some(1));
        // Haiku 4.5 needs 4,096: nothing here reaches it.
        let mut c = call(1_000, &[400, 300, 10]);
        assert_eq!(
            add_cache_points(&mut c, &model("bedrock/claude-haiku-4-5")).count(),
            0
        );
    }

    #[test]
    fn tools_get_a_point_and_keep_their_tool_choice() {
        let spec = ToolSpecification::builder()
            .name("lookup")
            .description(text(600))
            .input_schema(ToolInputSchema::Json(Document::Object(Default::default())))
            .build()
            .unwrap();
        let mut c = call(10, &[10]);
        c.tools = Some(
            ToolConfiguration::builder()
                .tools(Tool::ToolSpec(spec))
                .tool_choice(ToolChoice::Auto(AutoToolChoice::builder().build()))
                .build()
                .unwrap(),
        );
        let added = add_cache_points(&mut c, &haiku_5_5());
        assert!(added.after_tools);
        assert!(!added.after_system);
        let tools = c.tools.as_ref().unwrap();
        assert!(matches!(tools.tools().last(), Some(Tool::CachePoint(_))));
        assert!(matches!(tools.tool_choice(), Some(ToolChoice::Auto(_))));
    }

    #[test]
    fn never_more_than_four_points_counting_the_clients() {
        let point = CachePointBlock::builder()
            .r#type(CachePointType::Default)
            .build()
            .unwrap();
        let mut c = call(1_000, &[400, 300, 10]);
        // The client's own three points, inside its system prompt.
        for _ in 0..3 {
            c.system
                .insert(0, SystemContentBlock::CachePoint(point.clone()));
        }
        let added = add_cache_points(&mut c, &haiku_5_5());
        assert_eq!(added.count(), 1);
        assert_eq!(existing_points(&c), MAX_CACHE_POINTS);
        // At four already, nothing is added.
        assert_eq!(add_cache_points(&mut c, &haiku_5_5()).count(), 0);
        assert_eq!(existing_points(&c), MAX_CACHE_POINTS);
    }

    #[test]
    fn a_model_without_caching_gets_none() {
        let mut plain = haiku_5_5();
        plain.capabilities.retain(|c| *c != Capability::Caching);
        let mut c = call(1_000, &[400, 300, 10]);
        assert_eq!(add_cache_points(&mut c, &plain), CachePoints::default());
        assert_eq!(existing_points(&c), 0);
    }
}
