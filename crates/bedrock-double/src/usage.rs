//! Deterministic token accounting: `ceil(chars / 4)`, and a per-instance
//! memory of cached blocks so a repeated `cache_control`/`cachePoint` prefix
//! is reported as a cache read instead of a cache write.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Keys whose values are binary payloads, tags, ids or markers, not text.
const NOT_TEXT: [&str; 14] = [
    "bytes",
    "data",
    "signature",
    "redactedContent",
    "type",
    "role",
    "format",
    "media_type",
    "cache_control",
    "cachePoint",
    "id",
    "toolUseId",
    "tool_use_id",
    "status",
];

/// Tokens for this many characters: `ceil(chars / 4)`, at least 1.
pub fn tokens_for_chars(chars: usize) -> u64 {
    (chars.div_ceil(4) as u64).max(1)
}

pub fn tokens(text: &str) -> u64 {
    tokens_for_chars(text.chars().count())
}

/// Characters of every text string inside `value` (keys excluded).
pub fn text_chars(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.iter().map(text_chars).sum(),
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| !NOT_TEXT.contains(&key.as_str()))
            .map(|(_, v)| text_chars(v))
            .sum(),
        _ => 0,
    }
}

/// Input side of a request's usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputUsage {
    /// Non-cached input tokens.
    pub input_tokens: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl InputUsage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.cache_read + self.cache_write
    }
}

/// Blocks this double instance has already cached.
#[derive(Default)]
pub struct PromptCache {
    seen: Mutex<HashSet<[u8; 32]>>,
}

impl PromptCache {
    /// Splits `total_chars` of input into non-cached, cache-read and
    /// cache-write tokens, remembering `cached_blocks` for next time.
    /// Each block's `cache_control` key is ignored when recognising it.
    pub fn input_usage(&self, total_chars: usize, cached_blocks: &[&Value]) -> InputUsage {
        let mut usage = InputUsage::default();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for block in cached_blocks {
            let block_tokens = tokens_for_chars(text_chars(block));
            if seen.insert(fingerprint(block)) {
                usage.cache_write += block_tokens;
            } else {
                usage.cache_read += block_tokens;
            }
        }
        let cached = usage.cache_read + usage.cache_write;
        usage.input_tokens = tokens_for_chars(total_chars).saturating_sub(cached).max(1);
        usage
    }
}

fn fingerprint(block: &Value) -> [u8; 32] {
    let mut block = block.clone();
    if let Value::Object(map) = &mut block {
        map.remove("cache_control");
    }
    Sha256::digest(block.to_string().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_round_up_with_a_minimum_of_one() {
        assert_eq!(tokens(""), 1);
        assert_eq!(tokens("abcd"), 1);
        assert_eq!(tokens("abcde"), 2);
        assert_eq!(tokens("ééééé"), 2);
    }

    #[test]
    fn text_chars_skips_binary_payloads() {
        let content = json!([{"text": "hello"}, {"image": {"format": "png", "source": {"bytes": "AAAAAAAA"}}}]);
        assert_eq!(text_chars(&content), "hello".len());
    }

    #[test]
    fn first_sight_writes_then_reads() {
        let cache = PromptCache::default();
        let block = json!({"type": "text", "text": "x".repeat(400), "cache_control": {"type": "ephemeral"}});
        let first = cache.input_usage(1000, &[&block]);
        assert_eq!(first.cache_write, 100);
        assert_eq!(first.cache_read, 0);
        assert_eq!(first.input_tokens, 250 - 100);
        let second = cache.input_usage(1000, &[&block]);
        assert_eq!((second.cache_read, second.cache_write), (100, 0));
        assert_eq!(second.total(), first.total());
    }
}
