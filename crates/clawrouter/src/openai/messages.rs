//! OpenAI `messages` → Bedrock `system` blocks and alternating user/assistant
//! messages.
//!
//! Bedrock is stricter than OpenAI: roles must alternate, text blocks must not
//! be blank, images are allowed only in user turns and only as bytes, and tool
//! results are user content. Each rule is applied here so a client gets a
//! precise 400 naming the offending field instead of an opaque upstream error.

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ImageBlock, ImageFormat, ImageSource, Message,
    SystemContentBlock, ToolResultBlock, ToolResultContentBlock, ToolUseBlock,
};
use aws_smithy_types::Blob;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::tools::{MAX_JSON_DEPTH, is_valid_tool_name};
use super::{ChatMessage, ContentPart, MessageContent, TranslateError};
use crate::bedrock::json_to_document;
use crate::router::TextOrParts;

/// Bedrock's per-request image limit.
pub(super) const MAX_IMAGES: usize = 20;
/// Bedrock's per-image limit, "3.75 MB", read as MiB: a value a little too
/// generous only defers the rejection to Bedrock, a stingy one refuses valid images.
const MAX_IMAGE_BYTES: usize = 3_932_160;
/// Sent for a tool that returned nothing: Bedrock rejects blank text, and
/// leaving the result out would break the call/result pairing.
const EMPTY_TOOL_RESULT: &str = "(empty)";

/// Accepts base64 with or without padding; clients differ.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Splits the conversation into system blocks and Bedrock messages.
///
/// System and developer messages are hoisted, in order, wherever they occur.
/// Consecutive same-role turns are merged (tool results are user turns), and
/// within a merged user turn tool results come first, as Claude requires.
/// Messages left without content (e.g. `""`) are dropped before merging.
pub(super) fn translate(
    messages: &[ChatMessage],
) -> Result<(Vec<SystemContentBlock>, Vec<Message>), TranslateError> {
    let mut conversation = Conversation::default();
    for (i, message) in messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        match message {
            ChatMessage::System { content, .. } | ChatMessage::Developer { content, .. } => {
                for text in text_only(content, &at)? {
                    conversation.system(text);
                }
            }
            ChatMessage::User { content, .. } => {
                conversation.push(ConversationRole::User, user_blocks(content, &at)?, &at);
            }
            ChatMessage::Assistant {
                content,
                tool_calls,
                ..
            } => {
                let mut blocks: Vec<ContentBlock> = match content {
                    Some(c) => text_only(c, &at)?
                        .into_iter()
                        .map(ContentBlock::Text)
                        .collect(),
                    None => Vec::new(),
                };
                for (j, call) in tool_calls.iter().flatten().enumerate() {
                    let at = format!("{at}.tool_calls[{j}]");
                    check_tool_call_id(&call.id, &format!("{at}.id"))?;
                    blocks.push(tool_use(
                        &call.id,
                        &call.function.name,
                        &call.function.arguments,
                        &format!("{at}.function"),
                    )?);
                }
                conversation.push(ConversationRole::Assistant, blocks, &at);
            }
            ChatMessage::Tool {
                content,
                tool_call_id,
            } => {
                let result = conversation.tool_result(
                    tool_call_id,
                    text_only(content, &at)?.join("\n"),
                    &format!("{at}.tool_call_id"),
                )?;
                conversation.push(ConversationRole::User, vec![result], &at);
            }
        }
    }
    conversation.finish()
}

/// A conversation being assembled into Bedrock's shape, whichever OpenAI
/// format it comes from: system blocks hoisted, same-role turns merged,
/// tool results checked against the calls of the latest assistant turn.
#[derive(Debug, Default)]
pub(crate) struct Conversation {
    system: Vec<SystemContentBlock>,
    turns: Vec<Turn>,
    /// Ids of the tool calls of the latest assistant turn (consecutive
    /// assistant messages form one turn), which tool results answer.
    open_calls: Vec<String>,
    after_assistant: bool,
}

impl Conversation {
    pub(crate) fn system(&mut self, text: String) {
        self.system.push(SystemContentBlock::Text(text));
    }

    /// Adds one message's blocks; `at` names the message for errors.
    pub(crate) fn push(&mut self, role: ConversationRole, blocks: Vec<ContentBlock>, at: &str) {
        let assistant = role == ConversationRole::Assistant;
        if assistant {
            if !self.after_assistant {
                self.open_calls.clear();
            }
            self.open_calls
                .extend(blocks.iter().filter_map(|b| match b {
                    ContentBlock::ToolUse(u) => Some(u.tool_use_id.clone()),
                    _ => None,
                }));
        }
        self.after_assistant = assistant;
        if blocks.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some(last) if last.role == role => last.blocks.extend(blocks),
            _ => self.turns.push(Turn {
                role,
                blocks,
                first_param: at.to_owned(),
            }),
        }
    }

    /// A toolResult block answering call `id` of the latest assistant turn.
    /// Sent as text even when it is JSON: faithful to what the tool said.
    pub(crate) fn tool_result(
        &self,
        id: &str,
        text: String,
        param: &str,
    ) -> Result<ContentBlock, TranslateError> {
        check_tool_call_id(id, param)?;
        if !self.open_calls.iter().any(|c| c == id) {
            return Err(TranslateError::UnknownToolCall {
                param: param.to_owned(),
                id: id.to_owned(),
            });
        }
        let text = if text.is_empty() {
            EMPTY_TOOL_RESULT.to_owned()
        } else {
            text
        };
        let result = ToolResultBlock::builder()
            .tool_use_id(id)
            .content(ToolResultContentBlock::Text(text))
            .build()?;
        Ok(ContentBlock::ToolResult(result))
    }

    pub(crate) fn finish(self) -> Result<(Vec<SystemContentBlock>, Vec<Message>), TranslateError> {
        let mut turns = self.turns;
        let images = turns
            .iter()
            .flat_map(|t| &t.blocks)
            .filter(|b| matches!(b, ContentBlock::Image(_)))
            .count();
        if images > MAX_IMAGES {
            return Err(TranslateError::TooManyImages { count: images });
        }
        match turns.first() {
            None => return Err(TranslateError::NoMessages),
            Some(t) if t.role != ConversationRole::User => {
                return Err(TranslateError::FirstNotUser {
                    param: t.first_param.clone(),
                });
            }
            Some(_) => {}
        }
        trim_final_assistant_text(&mut turns);
        let messages = turns
            .into_iter()
            .map(|t| {
                let mut blocks = t.blocks;
                if t.role == ConversationRole::User {
                    // Stable: tool results first, then the user's own content.
                    blocks.sort_by_key(|b| !matches!(b, ContentBlock::ToolResult(_)));
                }
                Message::builder()
                    .role(t.role)
                    .set_content(Some(blocks))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((self.system, messages))
    }
}

/// One Bedrock turn being assembled, with the field of the message that
/// started it (for error messages).
#[derive(Debug)]
struct Turn {
    role: ConversationRole,
    blocks: Vec<ContentBlock>,
    first_param: String,
}

/// Claude rejects a final (prefilled) assistant turn that ends in whitespace.
fn trim_final_assistant_text(turns: &mut [Turn]) {
    if let Some(last) = turns.last_mut()
        && last.role == ConversationRole::Assistant
        && let Some(ContentBlock::Text(text)) = last.blocks.last_mut()
    {
        // Not blank (blank blocks were never added), so this stays non-empty.
        text.truncate(text.trim_end().len());
    }
}

/// The non-blank text parts of content that may hold only text.
fn text_only(content: &MessageContent, at: &str) -> Result<Vec<String>, TranslateError> {
    content_items(
        content,
        at,
        std::convert::identity,
        |part, param| match part {
            ContentPart::Text { text } => Ok(non_blank(text)),
            ContentPart::ImageUrl { .. } => Err(TranslateError::Unsupported {
                param,
                message: "Bedrock accepts images only in user messages".into(),
            }),
            ContentPart::Unsupported => Err(unsupported_part(param)),
        },
    )
}

fn user_blocks(content: &MessageContent, at: &str) -> Result<Vec<ContentBlock>, TranslateError> {
    content_items(content, at, ContentBlock::Text, |part, param| match part {
        ContentPart::Text { text } => Ok(non_blank(text).map(ContentBlock::Text)),
        ContentPart::ImageUrl { image_url } => {
            image(&image_url.url, format!("{param}.image_url.url")).map(Some)
        }
        ContentPart::Unsupported => Err(unsupported_part(param)),
    })
}

/// Message content of either OpenAI format as items (texts or blocks): a
/// non-blank string as one, each part through `part` with its parameter
/// path (`None` leaves it out, as for blank text).
pub(crate) fn content_items<P, T>(
    content: &TextOrParts<P>,
    at: &str,
    text: impl Fn(String) -> T,
    mut part: impl FnMut(&P, String) -> Result<Option<T>, TranslateError>,
) -> Result<Vec<T>, TranslateError> {
    match content {
        TextOrParts::Text(t) => Ok(non_blank(t).map(text).into_iter().collect()),
        TextOrParts::Parts(parts) => parts
            .iter()
            .enumerate()
            .filter_map(|(j, p)| part(p, format!("{at}.content[{j}]")).transpose())
            .collect(),
    }
}

/// Bedrock rejects blank text blocks, so whitespace-only text is dropped.
pub(crate) fn non_blank(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

fn unsupported_part(param: String) -> TranslateError {
    TranslateError::Unsupported {
        param,
        message: "only text and image_url content parts are supported".into(),
    }
}

/// A `data:image/<fmt>;base64,<data>` URL → image block with the bytes.
pub(crate) fn image(url: &str, param: String) -> Result<ContentBlock, TranslateError> {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    if matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(TranslateError::ImageUrl { param });
    }
    let bad = |message: String| TranslateError::Image {
        param: param.clone(),
        message,
    };
    let Some((meta, data)) = url
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("data:"))
        .and_then(|_| url.get(5..))
        .and_then(|rest| rest.split_once(','))
    else {
        return Err(bad("expected a data:image/...;base64,... URL".into()));
    };
    let mut meta = meta.split(';');
    let mime = meta.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !meta.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err(bad("the data: URL must be base64-encoded".into()));
    }
    let format = match mime.as_str() {
        "image/png" => ImageFormat::Png,
        "image/jpeg" | "image/jpg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        "image/webp" => ImageFormat::Webp,
        other => {
            return Err(bad(format!(
                "unsupported image type {other:?}; Bedrock accepts png, jpeg, gif and webp"
            )));
        }
    };
    let too_large = |size: usize| {
        bad(format!(
            "the image is {size} bytes; Bedrock accepts at most {MAX_IMAGE_BYTES} bytes (3.75 MB)"
        ))
    };
    // Refuse before decoding: the decoded size is about 3/4 of the text.
    if data.len() / 4 * 3 > MAX_IMAGE_BYTES + 3 {
        return Err(too_large(data.len() / 4 * 3));
    }
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = BASE64
        .decode(compact)
        .map_err(|e| bad(format!("invalid base64: {e}")))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_large(bytes.len()));
    }
    if bytes.is_empty() {
        return Err(bad("the image is empty".into()));
    }
    let block = ImageBlock::builder()
        .format(format)
        .source(ImageSource::Bytes(Blob::new(bytes)))
        .build()?;
    Ok(ContentBlock::Image(block))
}

/// An assistant tool call → toolUse block; `at` names the object holding
/// `name` and `arguments`, which must be a JSON object serialized to a string.
pub(crate) fn tool_use(
    id: &str,
    name: &str,
    arguments: &str,
    at: &str,
) -> Result<ContentBlock, TranslateError> {
    if !is_valid_tool_name(name) {
        return Err(TranslateError::ToolName {
            param: format!("{at}.name"),
            name: name.to_owned(),
        });
    }
    let param = format!("{at}.arguments");
    let arguments = arguments.trim();
    // Some clients send "" for a call without arguments.
    let value = if arguments.is_empty() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_str(arguments).map_err(|e| TranslateError::ToolArguments {
            param: param.clone(),
            id: id.to_owned(),
            reason: e.to_string(),
        })?
    };
    if !value.is_object() {
        return Err(TranslateError::ToolArguments {
            param,
            id: id.to_owned(),
            reason: "expected an object".into(),
        });
    }
    let input = json_to_document(&value, MAX_JSON_DEPTH).map_err(|e| TranslateError::TooDeep {
        param,
        limit: e.limit,
    })?;
    let block = ToolUseBlock::builder()
        .tool_use_id(id)
        .name(name)
        .input(input)
        .build()?;
    Ok(ContentBlock::ToolUse(block))
}

/// Bedrock's `toolUseId` pattern: `[a-zA-Z0-9_.:-]{1,64}`.
pub(crate) fn check_tool_call_id(id: &str, param: &str) -> Result<(), TranslateError> {
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(TranslateError::ToolCallId {
            param: param.to_owned(),
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::test_support::messages;
    use serde_json::json;

    const PNG_1PX: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    fn texts(m: &Message) -> Vec<&str> {
        m.content
            .iter()
            .filter_map(|b| b.as_text().ok().map(String::as_str))
            .collect()
    }

    #[test]
    fn hoists_system_and_developer_in_order_and_merges_same_roles() {
        let (system, msgs) = translate(&messages(json!([
            {"role": "system", "content": "one"},
            {"role": "user", "content": "a"},
            {"role": "developer", "content": [{"type": "text", "text": "two"}]},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
            {"role": "assistant", "content": "d"},
            {"role": "user", "content": "e"}
        ])))
        .unwrap();
        assert_eq!(
            system,
            vec![
                SystemContentBlock::Text("one".into()),
                SystemContentBlock::Text("two".into())
            ]
        );
        let roles: Vec<_> = msgs.iter().map(|m| m.role.clone()).collect();
        assert_eq!(
            roles,
            [
                ConversationRole::User,
                ConversationRole::Assistant,
                ConversationRole::User
            ]
        );
        assert_eq!(texts(&msgs[0]), ["a", "b"]);
        assert_eq!(texts(&msgs[1]), ["c", "d"]);
    }

    #[test]
    fn blank_text_never_becomes_a_block_and_empty_turns_vanish() {
        let (_, msgs) = translate(&messages(json!([
            {"role": "user", "content": [{"type": "text", "text": "  "}, {"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "again"}
        ])))
        .unwrap();
        assert_eq!(
            msgs.len(),
            1,
            "the empty assistant turn is dropped and users merge"
        );
        assert_eq!(texts(&msgs[0]), ["hi", "again"]);
    }

    #[test]
    fn conversation_must_start_with_user() {
        let err = translate(&messages(json!([
            {"role": "system", "content": "s"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "hi"}
        ])))
        .unwrap_err();
        assert!(
            matches!(err, TranslateError::FirstNotUser { .. }),
            "{err:?}"
        );
        assert_eq!(err.param(), Some("messages[1]"));
        assert!(err.to_string().contains("must start with a user message"));
        let err = translate(&messages(json!([{"role": "system", "content": "s"}]))).unwrap_err();
        assert!(matches!(err, TranslateError::NoMessages));
    }

    #[test]
    fn final_assistant_prefill_loses_trailing_whitespace() {
        let (_, msgs) = translate(&messages(json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Sure: \n"}
        ])))
        .unwrap();
        assert_eq!(texts(&msgs[1]), ["Sure:"]);
    }

    #[test]
    fn data_url_images_become_bytes() {
        let url = format!("data:image/png;base64,{PNG_1PX}");
        let (_, msgs) = translate(&messages(json!([{"role": "user", "content": [
            {"type": "text", "text": "what?"},
            {"type": "image_url", "image_url": {"url": url, "detail": "high"}}
        ]}])))
        .unwrap();
        let ContentBlock::Image(img) = &msgs[0].content[1] else {
            panic!("image expected: {:?}", msgs[0].content);
        };
        assert_eq!(img.format, ImageFormat::Png);
        let Some(ImageSource::Bytes(bytes)) = &img.source else {
            panic!("bytes expected");
        };
        assert_eq!(bytes.as_ref(), BASE64.decode(PNG_1PX).unwrap().as_slice());
        assert_eq!(&bytes.as_ref()[1..4], b"PNG");
    }

    fn image_error(url: &str) -> TranslateError {
        translate(&messages(json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}
        ]}])))
        .unwrap_err()
    }

    #[test]
    fn http_image_urls_are_refused_not_fetched() {
        for url in ["https://example.com/cat.png", "HTTP://127.0.0.1/x.png"] {
            let err = image_error(url);
            assert!(
                matches!(err, TranslateError::ImageUrl { .. }),
                "{url}: {err:?}"
            );
            assert_eq!(err.param(), Some("messages[0].content[0].image_url.url"));
            assert!(err.to_string().contains("send a base64 data: URL"));
        }
    }

    #[test]
    fn bad_images_are_400s_with_a_reason() {
        let cases = [
            ("data:image/bmp;base64,AAAA", "unsupported image type"),
            ("data:image/png,rawbytes", "base64-encoded"),
            ("data:image/png;base64,@@@@", "invalid base64"),
            ("ftp://x/y.png", "expected a data:"),
        ];
        for (url, why) in cases {
            let err = image_error(url);
            assert!(
                matches!(err, TranslateError::Image { .. }),
                "{url}: {err:?}"
            );
            assert!(err.to_string().contains(why), "{url}: {err}");
        }
        let huge = format!(
            "data:image/png;base64,{}",
            "A".repeat(MAX_IMAGE_BYTES / 3 * 4 + 8)
        );
        assert!(image_error(&huge).to_string().contains("at most"));
    }

    #[test]
    fn jpg_alias_and_padding_free_base64_are_accepted() {
        let unpadded = PNG_1PX.trim_end_matches('=');
        let (_, msgs) = translate(&messages(json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": format!("data:image/jpg;base64,{unpadded}")}}
        ]}])))
        .unwrap();
        assert!(
            matches!(&msgs[0].content[0], ContentBlock::Image(i) if i.format == ImageFormat::Jpeg)
        );
    }

    #[test]
    fn at_most_twenty_images() {
        let part = json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_1PX}")}});
        let ok = vec![part.clone(); MAX_IMAGES];
        assert!(translate(&messages(json!([{"role": "user", "content": ok}]))).is_ok());
        let too_many = vec![part; MAX_IMAGES + 1];
        let err = translate(&messages(json!([{"role": "user", "content": too_many}]))).unwrap_err();
        assert!(
            matches!(err, TranslateError::TooManyImages { count: 21 }),
            "{err:?}"
        );
    }

    #[test]
    fn images_only_in_user_messages_and_unknown_parts_refused() {
        let img = json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_1PX}")}});
        let err = translate(&messages(json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [img]}
        ])))
        .unwrap_err();
        assert_eq!(err.param(), Some("messages[1].content[0]"));
        let err = translate(&messages(json!([{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}
        ]}])))
        .unwrap_err();
        assert!(matches!(err, TranslateError::Unsupported { .. }), "{err:?}");
    }

    fn tool_turns() -> serde_json::Value {
        json!([
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "tooluse_2", "type": "function", "function": {"name": "weather", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
            {"role": "tool", "tool_call_id": "tooluse_2", "content": ""},
            {"role": "user", "content": "thanks"}
        ])
    }

    #[test]
    fn tool_calls_and_results_pair_up_in_alternating_turns() {
        let (_, msgs) = translate(&messages(tool_turns())).unwrap();
        assert_eq!(msgs.len(), 3);
        let uses: Vec<&ToolUseBlock> = msgs[1]
            .content
            .iter()
            .filter_map(|b| b.as_tool_use().ok())
            .collect();
        assert_eq!(uses.len(), 2);
        assert_eq!(uses[0].tool_use_id, "call_1");
        assert_eq!(
            crate::bedrock::document_to_json(&uses[0].input),
            json!({"city": "Paris"})
        );
        assert_eq!(crate::bedrock::document_to_json(&uses[1].input), json!({}));
        assert_eq!(msgs[2].role, ConversationRole::User);
        let results: Vec<&ToolResultBlock> = msgs[2]
            .content
            .iter()
            .filter_map(|b| b.as_tool_result().ok())
            .collect();
        assert_eq!(results[0].tool_use_id, "call_1");
        assert_eq!(
            results[0].content,
            vec![ToolResultContentBlock::Text("{\"temp\": 21}".into())]
        );
        assert_eq!(
            results[1].content,
            vec![ToolResultContentBlock::Text(EMPTY_TOOL_RESULT.into())]
        );
        assert_eq!(
            msgs[2].content.last(),
            Some(&ContentBlock::Text("thanks".into()))
        );
    }

    #[test]
    fn tool_results_come_before_user_text_in_a_merged_turn() {
        let (_, msgs) = translate(&messages(json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "user", "content": "by the way"},
            {"role": "tool", "tool_call_id": "a", "content": "done"}
        ])))
        .unwrap();
        assert!(matches!(msgs[2].content[0], ContentBlock::ToolResult(_)));
        assert_eq!(msgs[2].content[1], ContentBlock::Text("by the way".into()));
    }

    #[test]
    fn tool_calls_split_over_consecutive_assistant_messages_still_pair() {
        let (_, msgs) = translate(&messages(json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "assistant", "tool_calls": [{"id": "b", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "a", "content": "1"},
            {"role": "tool", "tool_call_id": "b", "content": "2"}
        ])))
        .unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1].content.len(), 2);
        assert_eq!(msgs[2].content.len(), 2);
    }

    #[test]
    fn bad_tool_calls_name_the_field() {
        let mut bad_id = tool_turns();
        bad_id[1]["tool_calls"][1]["id"] = json!("call 2!");
        let err = translate(&messages(bad_id)).unwrap_err();
        assert!(matches!(err, TranslateError::ToolCallId { .. }), "{err:?}");
        assert_eq!(err.param(), Some("messages[1].tool_calls[1].id"));

        let mut bad_args = tool_turns();
        bad_args[1]["tool_calls"][0]["function"]["arguments"] = json!("{\"city\":");
        let err = translate(&messages(bad_args)).unwrap_err();
        assert!(
            matches!(err, TranslateError::ToolArguments { ref id, .. } if id == "call_1"),
            "{err:?}"
        );
        assert!(err.to_string().contains("\"call_1\""));

        let mut not_object = tool_turns();
        not_object[1]["tool_calls"][0]["function"]["arguments"] = json!("[1]");
        assert!(matches!(
            translate(&messages(not_object)),
            Err(TranslateError::ToolArguments { .. })
        ));

        let mut bad_name = tool_turns();
        bad_name[1]["tool_calls"][0]["function"]["name"] = json!("get.weather");
        assert_eq!(
            translate(&messages(bad_name)).unwrap_err().param(),
            Some("messages[1].tool_calls[0].function.name")
        );

        let mut orphan = tool_turns();
        orphan[3]["tool_call_id"] = json!("call_9");
        let err = translate(&messages(orphan)).unwrap_err();
        assert!(
            matches!(err, TranslateError::UnknownToolCall { .. }),
            "{err:?}"
        );
        assert_eq!(err.param(), Some("messages[3].tool_call_id"));

        let mut deep = tool_turns();
        let nested = format!("{}1{}", "{\"a\":".repeat(70), "}".repeat(70));
        deep[1]["tool_calls"][0]["function"]["arguments"] = json!(nested);
        assert!(matches!(
            translate(&messages(deep)),
            Err(TranslateError::TooDeep { .. })
        ));
    }
}
