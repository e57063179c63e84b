//! The deterministic "model": from a request normalised by the Converse or
//! invoke front end ([`Turn`]) to the reply's blocks, stop reason and output
//! tokens ([`Reply`]), which each front end then renders in its own wire form.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::errors::ApiError;
use crate::faults::Directives;
use crate::usage::{InputUsage, tokens};

/// A request as the model sees it, whichever API it came through.
#[derive(Clone, Debug, Default)]
pub struct Turn {
    pub model_id: String,
    /// The base id of the model answering, which its thinking's signatures
    /// name.
    pub base_model_id: String,
    /// The last user message's text, directives removed.
    pub prompt: String,
    pub directives: Directives,
    pub max_tokens: u64,
    pub stop_sequences: Vec<String>,
    pub tools: Vec<ToolDef>,
    /// A tool the request's tool choice forces (`tool` by name, or the first
    /// tool for `any`); a `tool=NAME` directive takes precedence.
    pub forced_tool: Option<String>,
    pub thinking: bool,
    /// Thinking blocks carry their text (`thinking.display`); without it
    /// they carry only the signature, and the thinking is still billed.
    pub shows_thinking: bool,
    pub input: InputUsage,
}

/// A tool offered by the request: its name and JSON input schema.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub schema: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Reasoning {
        /// Empty where the request's display omits it.
        text: String,
        signature: String,
        /// The thinking's output tokens, shown or not.
        tokens: u64,
    },
    Text(String),
    ToolUse {
        /// 22 alphanumerics; each API adds its own id prefix.
        id_suffix: String,
        name: String,
        input: Value,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
}

impl StopReason {
    /// The same snake_case names in Converse and the Anthropic API.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::ToolUse => "tool_use",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub blocks: Vec<Block>,
    pub stop_reason: StopReason,
    /// The stop sequence that ended the text, if one did.
    pub stop_sequence: Option<String>,
    pub output_tokens: u64,
}

/// A thinking block's signature: the model that produced it, then a digest
/// of the thinking. Opaque to clients, as Bedrock's are, but the double can
/// tell whose it is ([`signer`]).
pub(crate) fn signature(base_model_id: &str, text: &str) -> String {
    let digest = Sha256::digest(format!("{base_model_id}|{text}"));
    format!("{}.{}", BASE64.encode(base_model_id), BASE64.encode(digest))
}

/// The base id of the model whose thinking `signature` signs, for a
/// signature the double wrote.
pub fn signer(signature: &str) -> Option<String> {
    let (model, _) = signature.split_once('.')?;
    String::from_utf8(BASE64.decode(model).ok()?).ok()
}

/// Words a `long=N` reply cycles through.
const WORDS: [&str; 8] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
];

/// Plans the reply to `turn`; fails only if `tool=NAME` names an unknown tool.
pub fn plan(turn: &Turn) -> Result<Reply, ApiError> {
    let mut blocks = Vec::new();
    let mut budget = turn.max_tokens;
    if turn.thinking {
        let text = format!("Thinking about: {}", clip(&turn.prompt, 60));
        let thought = tokens(&text);
        budget = budget.saturating_sub(thought);
        let signature = signature(&turn.base_model_id, &text);
        let text = if turn.shows_thinking {
            text
        } else {
            String::new()
        };
        blocks.push(Block::Reasoning {
            text,
            signature,
            tokens: thought,
        });
    }

    let base = match turn.directives.long {
        Some(n) => (0..n)
            .map(|i| WORDS[i % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" "),
        None if turn.prompt.is_empty() => format!("Reply from {}.", turn.model_id),
        None => format!("Reply from {}: {}", turn.model_id, clip(&turn.prompt, 120)),
    };
    let would_say = match &turn.directives.stop {
        Some(seq) => format!("{base} {seq} and what follows the stop sequence"),
        None => base,
    };
    let stops = turn.stop_sequences.iter().chain(&turn.directives.stop);
    let (mut text, stop_sequence) = cut_at_first(&would_say, stops);

    let mut stop_reason = StopReason::EndTurn;
    if stop_sequence.is_some() {
        stop_reason = StopReason::StopSequence;
    } else if tokens(&text) > budget {
        text = text.chars().take((budget * 4) as usize).collect();
        stop_reason = StopReason::MaxTokens;
    }
    if !text.is_empty() {
        blocks.push(Block::Text(text));
    }

    if let Some(name) = turn.directives.tool.as_ref().or(turn.forced_tool.as_ref()) {
        let tool = turn.tools.iter().find(|t| &t.name == name).ok_or_else(|| {
            ApiError::validation(format!("Tool '{name}' is not in the request's tools."))
        })?;
        if stop_reason == StopReason::EndTurn {
            let id_suffix = alnum_id(&format!("{}|{name}|{}", turn.model_id, turn.prompt));
            blocks.push(Block::ToolUse {
                id_suffix,
                name: name.clone(),
                input: sample_input(&tool.schema),
            });
            stop_reason = StopReason::ToolUse;
        }
    }

    let output_tokens = blocks.iter().map(block_tokens).sum::<u64>().max(1);
    Ok(Reply {
        blocks,
        stop_reason,
        stop_sequence,
        output_tokens,
    })
}

fn block_tokens(block: &Block) -> u64 {
    match block {
        Block::Reasoning { tokens, .. } => *tokens,
        Block::Text(text) => tokens(text),
        Block::ToolUse { input, .. } => tokens(&input.to_string()),
    }
}

fn clip(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Cuts `text` before the earliest occurrence of any stop sequence.
fn cut_at_first<'a>(
    text: &str,
    stops: impl Iterator<Item = &'a String>,
) -> (String, Option<String>) {
    let first = stops
        .filter(|seq| !seq.is_empty())
        .filter_map(|seq| text.find(seq.as_str()).map(|at| (at, seq)))
        .min_by_key(|(at, _)| *at);
    match first {
        Some((at, seq)) => (text[..at].to_owned(), Some(seq.clone())),
        None => (text.to_owned(), None),
    }
}

/// 22 deterministic alphanumerics derived from `seed`.
pub fn alnum_id(seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(22)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// An input object with each `required` property filled by its type.
fn sample_input(schema: &Value) -> Value {
    let mut input = Map::new();
    let required = schema.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        let property = &schema["properties"][name];
        input.insert(name.to_owned(), sample_value(&property["type"]));
    }
    Value::Object(input)
}

fn sample_value(json_type: &Value) -> Value {
    let name = match json_type {
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        other => other.as_str().unwrap_or("string"),
    };
    match name {
        "number" | "integer" => json!(1),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        _ => json!("sample"),
    }
}

/// Splits text into stream deltas of a few words each; they concatenate back.
pub fn text_pieces(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words.chunks(3).map(|group| group.concat()).collect()
}

/// Splits serialized JSON into at least two pieces, as Bedrock streams tool input.
pub fn json_pieces(json: &str) -> Vec<String> {
    let chars: Vec<char> = json.chars().collect();
    let size = chars.len().div_ceil(3).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(prompt: &str) -> Turn {
        Turn {
            model_id: "us.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
            prompt: prompt.into(),
            max_tokens: 1000,
            ..Turn::default()
        }
    }

    #[test]
    fn text_reply_names_the_model_and_echoes_the_prompt() {
        let reply = plan(&turn("hello there")).unwrap();
        let expected = "Reply from us.anthropic.claude-sonnet-4-5-20250929-v1:0: hello there";
        assert_eq!(reply.blocks, vec![Block::Text(expected.into())]);
        assert_eq!(reply.stop_reason, StopReason::EndTurn);
        assert_eq!(reply.output_tokens, expected.len().div_ceil(4) as u64);
    }

    #[test]
    fn long_reply_is_cut_at_max_tokens() {
        let mut t = turn("");
        t.directives.long = Some(500);
        t.max_tokens = 10;
        let reply = plan(&t).unwrap();
        assert_eq!(reply.stop_reason, StopReason::MaxTokens);
        assert_eq!(
            reply.blocks,
            vec![Block::Text(
                "alpha bravo charlie delta echo foxtrot g".into()
            )]
        );
        assert_eq!(reply.output_tokens, 10);
        t.max_tokens = 100_000;
        let full = plan(&t).unwrap();
        let Block::Text(text) = &full.blocks[0] else {
            panic!()
        };
        assert_eq!(text.split(' ').count(), 500);
    }

    #[test]
    fn stop_directive_and_request_stop_sequences_cut_the_text() {
        let mut t = turn("hi");
        t.directives.stop = Some("END".into());
        let reply = plan(&t).unwrap();
        assert_eq!(reply.stop_reason, StopReason::StopSequence);
        assert_eq!(reply.stop_sequence.as_deref(), Some("END"));
        let Block::Text(text) = &reply.blocks[0] else {
            panic!()
        };
        assert!(text.ends_with("hi ") && !text.contains("END"), "{text}");

        let mut t = turn("one two three");
        t.stop_sequences = vec!["two".into()];
        let reply = plan(&t).unwrap();
        let Block::Text(text) = &reply.blocks[0] else {
            panic!()
        };
        assert!(text.ends_with("one "), "{text}");
    }

    #[test]
    fn tool_directive_fills_required_properties() {
        let mut t = turn("weather?");
        t.directives.tool = Some("get_weather".into());
        t.tools = vec![ToolDef {
            name: "get_weather".into(),
            schema: json!({"type": "object", "properties": {
                "city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": ["boolean", "null"]},
                "tags": {"type": "array"}, "extra": {"type": "string"}},
                "required": ["city", "days", "metric", "tags"]}),
        }];
        let reply = plan(&t).unwrap();
        assert_eq!(reply.stop_reason, StopReason::ToolUse);
        let Some(Block::ToolUse {
            id_suffix,
            name,
            input,
        }) = reply.blocks.last()
        else {
            panic!()
        };
        assert_eq!(name, "get_weather");
        assert_eq!(id_suffix.len(), 22);
        assert!(id_suffix.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            input,
            &json!({"city": "sample", "days": 1, "metric": true, "tags": []})
        );

        t.tools.clear();
        assert!(plan(&t).is_err());
    }

    #[test]
    fn forced_tool_choice_calls_the_tool() {
        let mut t = turn("hi");
        t.tools = vec![ToolDef {
            name: "f".into(),
            schema: json!({}),
        }];
        t.forced_tool = Some("f".into());
        let reply = plan(&t).unwrap();
        assert_eq!(reply.stop_reason, StopReason::ToolUse);
        assert!(
            matches!(&reply.blocks[1], Block::ToolUse { name, input, .. } if name == "f" && input == &json!({}))
        );
    }

    #[test]
    fn thinking_comes_first_with_a_signature() {
        let mut t = turn("why");
        t.thinking = true;
        t.shows_thinking = true;
        let reply = plan(&t).unwrap();
        let Block::Reasoning {
            text, signature, ..
        } = &reply.blocks[0]
        else {
            panic!()
        };
        assert_eq!(text, "Thinking about: why");
        assert!(!signature.is_empty());
        assert!(matches!(reply.blocks[1], Block::Text(_)));
    }

    #[test]
    fn omitted_thinking_keeps_its_signature_and_its_bill() {
        let mut t = turn("why");
        t.thinking = true;
        t.shows_thinking = true;
        let shown = plan(&t).unwrap();
        t.shows_thinking = false;
        let omitted = plan(&t).unwrap();
        let (
            Block::Reasoning {
                signature: shown_sig,
                ..
            },
            Block::Reasoning {
                text, signature, ..
            },
        ) = (&shown.blocks[0], &omitted.blocks[0])
        else {
            panic!()
        };
        assert_eq!(text, "");
        assert_eq!(signature, shown_sig);
        assert_eq!(omitted.output_tokens, shown.output_tokens);
    }

    #[test]
    fn pieces_concatenate_back() {
        let text = "one two three four five six seven";
        let pieces = text_pieces(text);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), text);
        for json in ["{}", r#"{"city":"sample"}"#] {
            let pieces = json_pieces(json);
            assert!(pieces.len() >= 2);
            assert_eq!(pieces.concat(), json);
        }
    }
}
