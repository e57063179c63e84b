//! Deterministic token accounting: `ceil(chars / 4)`, and a per-instance
//! memory of cached prompt prefixes so a repeated `cache_control` /
//! `cachePoint` prefix is reported as a cache read instead of a cache write.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::errors::ApiError;

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

/// How far back from a cache point earlier block boundaries are checked for
/// a cached prefix: "the system automatically checks for cache hits at all
/// previous content block boundaries (up to approximately 20 blocks before
/// your explicit breakpoint)"
/// (https://platform.claude.com/docs/en/build-with-claude/prompt-caching).
const LOOKBACK_BLOCKS: usize = 20;

/// Most cache points one request may carry; a fifth is a 400 with this text
/// (the Anthropic limit Bedrock applies to `cache_control` and `cachePoint`
/// alike: "A maximum of 4 blocks with cache_control may be provided. Found 5.").
const MAX_CACHE_POINTS: usize = 4;

/// A prompt laid out in cache order (tools, then system, then messages) as
/// block fingerprints, with where the client put cache points.
#[derive(Default)]
pub struct PromptLayout {
    /// Fingerprint of the prefix ending with each block: a change anywhere
    /// before a point changes every later prefix, as in real caching.
    prefixes: Vec<[u8; 32]>,
    /// Text characters up to and including each block.
    chars: Vec<usize>,
    /// Prefix lengths (in blocks) that end at a cache point.
    points: Vec<usize>,
    /// Cache points as the client wrote them, duplicates included.
    requested_points: usize,
}

impl PromptLayout {
    /// Adds `block` of `section` (`tools`, `system`, `user`, `assistant`);
    /// its `cache_control` key does not count as content.
    pub fn block(&mut self, section: &str, block: &Value) {
        let mut block = block.clone();
        if let Value::Object(map) = &mut block {
            map.remove("cache_control");
        }
        let chars = self.chars.last().copied().unwrap_or(0) + text_chars(&block);
        let mut hash = Sha256::new();
        hash.update(self.prefixes.last().unwrap_or(&[0; 32]));
        hash.update(section.as_bytes());
        hash.update(block.to_string().as_bytes());
        self.prefixes.push(hash.finalize().into());
        self.chars.push(chars);
    }

    /// A cache point after the blocks added so far.
    pub fn cache_point(&mut self) {
        self.requested_points += 1;
        let at = self.prefixes.len();
        if at > 0 && self.points.last() != Some(&at) {
            self.points.push(at);
        }
    }

    pub fn total_chars(&self) -> usize {
        self.chars.last().copied().unwrap_or(0)
    }

    /// The 400 for more than four cache points.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.requested_points > MAX_CACHE_POINTS {
            return Err(ApiError::validation(format!(
                "A maximum of {MAX_CACHE_POINTS} blocks with cache_control may be provided. Found {}.",
                self.requested_points
            )));
        }
        Ok(())
    }

    fn tokens_before(&self, len: usize) -> u64 {
        if len == 0 {
            0
        } else {
            self.chars[len - 1].div_ceil(4) as u64
        }
    }
}

/// Prefixes this double instance has cached (no expiry: tests are shorter
/// than the 5-minute TTL).
#[derive(Default)]
pub struct PromptCache {
    seen: Mutex<HashSet<[u8; 32]>>,
}

impl PromptCache {
    /// Splits the prompt's input into uncached, cache-read and cache-write
    /// tokens, as Bedrock does for Claude:
    /// - a cache point counts only when the prompt since the previous
    ///   counted point has at least `min_tokens` (Bedrock: "the first cache
    ///   checkpoint can be defined after 1,024 tokens and the second … after
    ///   2,048 tokens"); below that nothing is cached and no error is given;
    /// - the longest prefix already cached, at a point or at a block boundary
    ///   up to [`LOOKBACK_BLOCKS`] before one, is read;
    /// - what lies between it and the last counted point is written.
    pub fn input_usage(&self, layout: &PromptLayout, min_tokens: u64) -> InputUsage {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut counted = Vec::new();
        let mut last = 0;
        for &point in &layout.points {
            if layout.tokens_before(point) - layout.tokens_before(last) >= min_tokens {
                counted.push(point);
                last = point;
            }
        }
        let mut read = 0;
        for &point in &counted {
            let earliest = point.saturating_sub(LOOKBACK_BLOCKS).max(1);
            if let Some(hit) = (earliest..=point)
                .rev()
                .find(|&len| seen.contains(&layout.prefixes[len - 1]))
            {
                read = read.max(hit);
            }
        }
        for &point in &counted {
            seen.insert(layout.prefixes[point - 1]);
        }
        let cache_read = layout.tokens_before(read);
        let cache_write = layout.tokens_before(last).saturating_sub(cache_read);
        InputUsage {
            input_tokens: tokens_for_chars(layout.total_chars())
                .saturating_sub(cache_read + cache_write)
                .max(1),
            cache_read,
            cache_write,
        }
    }
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

    fn layout(system: &str, messages: &[(&str, &str)], points_after: &[usize]) -> PromptLayout {
        let mut layout = PromptLayout::default();
        let blocks = std::iter::once(("system", system)).chain(messages.iter().copied());
        for (i, (section, text)) in blocks.enumerate() {
            layout.block(section, &json!({"text": text}));
            if points_after.contains(&i) {
                layout.cache_point();
            }
        }
        layout
    }

    #[test]
    fn a_prefix_is_written_once_then_read_and_the_rest_is_input() {
        let cache = PromptCache::default();
        let system = "s".repeat(4_000); // 1000 tokens
        let first = cache.input_usage(&layout(&system, &[("user", "q1")], &[0]), 512);
        assert_eq!((first.cache_write, first.cache_read), (1_000, 0));
        assert_eq!(first.input_tokens, 1);
        // Same system prompt, new question: the prefix is read.
        let second = cache.input_usage(&layout(&system, &[("user", "other")], &[0]), 512);
        assert_eq!((second.cache_write, second.cache_read), (0, 1_000));
        // A changed system prompt is a different prefix.
        let changed = format!("{system}!");
        let third = cache.input_usage(&layout(&changed, &[("user", "q1")], &[0]), 512);
        assert_eq!((third.cache_write, third.cache_read), (1_001, 0));
    }

    #[test]
    fn below_the_minimum_nothing_is_cached() {
        let cache = PromptCache::default();
        let short = layout(&"s".repeat(400), &[("user", "q")], &[0]); // 100 tokens
        for _ in 0..2 {
            let usage = cache.input_usage(&short, 512);
            assert_eq!((usage.cache_write, usage.cache_read), (0, 0));
            assert_eq!(usage.input_tokens, 101);
        }
    }

    #[test]
    fn a_later_point_reads_the_longest_earlier_prefix_by_lookback() {
        let cache = PromptCache::default();
        let system = "s".repeat(2_400); // 600 tokens
        let long = "m".repeat(2_400);
        // Turn 2: points after the system prompt and after the first answer.
        let turn2 = [("user", long.as_str()), ("assistant", "a1"), ("user", "q2")];
        let first = cache.input_usage(&layout(&system, &turn2, &[0, 2]), 512);
        assert_eq!((first.cache_write, first.cache_read), (1_201, 0));
        // Turn 3: the point moves to after the second answer; the prefix up
        // to the first answer is found two blocks back and read.
        let turn3 = [
            ("user", long.as_str()),
            ("assistant", "a1"),
            ("user", "q2"),
            ("assistant", "a2"),
            ("user", "q3"),
        ];
        let second = cache.input_usage(&layout(&system, &turn3, &[0, 4]), 512);
        // Read: ceil(4802 / 4) = 1201 tokens; written: up to the new point,
        // ceil(4808 / 4) − 1201 = 1; input: the rest of ceil(4810 / 4).
        assert_eq!((second.cache_read, second.cache_write), (1_201, 1));
        assert_eq!(second.input_tokens, 1);
    }

    #[test]
    fn a_fifth_cache_point_is_refused() {
        let four = layout(
            "s",
            &[("user", "a"), ("assistant", "b"), ("user", "c")],
            &[0, 1, 2, 3],
        );
        assert!(four.check().is_ok());
        let mut five = four;
        five.cache_point();
        let err = five.check().unwrap_err();
        assert_eq!(
            err.body()["message"],
            "A maximum of 4 blocks with cache_control may be provided. Found 5."
        );
    }
}
