//! The user's turn of a request, whichever OpenAI wire format it came in
//! (Chat Completions or Responses): its texts, the user's own words in them
//! for the router, and the override tag cut out of them. A wire format only
//! says where its contents' texts and its last user turn are.

use serde::{Deserialize, Serialize};

use super::tags::{cut_override_tag, user_own_text};
use crate::catalog::Tier;

/// A message's content: one string, or parts of which some are text.
pub trait TextContent {
    /// Its texts in order (images and other parts skipped).
    fn texts(&self) -> impl Iterator<Item = &str>;
    fn texts_mut(&mut self) -> impl Iterator<Item = &mut String>;

    /// Bytes of text, for the router's size signals.
    fn text_len(&self) -> usize {
        self.texts().map(str::len).sum()
    }
}

/// Message content in both OpenAI formats (Chat Completions and Responses):
/// a plain string or a list of typed parts, some of which carry text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TextOrParts<P> {
    Text(String),
    Parts(Vec<P>),
}

/// A typed content part of a wire format: its text, if it carries one.
pub trait TextPart {
    fn text(&self) -> Option<&str>;
    fn text_mut(&mut self) -> Option<&mut String>;
}

impl<P: TextPart> TextContent for TextOrParts<P> {
    fn texts(&self) -> impl Iterator<Item = &str> {
        let (whole, parts) = match self {
            TextOrParts::Text(t) => (Some(t.as_str()), &[][..]),
            TextOrParts::Parts(parts) => (None, parts.as_slice()),
        };
        whole.into_iter().chain(parts.iter().filter_map(P::text))
    }

    fn texts_mut(&mut self) -> impl Iterator<Item = &mut String> {
        let (whole, parts) = match self {
            TextOrParts::Text(t) => (Some(t), &mut [][..]),
            TextOrParts::Parts(parts) => (None, parts.as_mut_slice()),
        };
        whole
            .into_iter()
            .chain(parts.iter_mut().filter_map(P::text_mut))
    }
}

/// A bare string is all text (the Responses API's `input: "..."`).
impl TextContent for String {
    fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.as_str())
    }

    fn texts_mut(&mut self) -> impl Iterator<Item = &mut String> {
        std::iter::once(self)
    }
}

/// A request's last user message, as the router reads it.
pub trait UserTurn {
    /// The texts of the last user message; none when there is none.
    fn user_texts(&self) -> impl Iterator<Item = &str>;
    fn user_texts_mut(&mut self) -> impl Iterator<Item = &mut String>;

    /// The user's own words: the first text that is more than an IDE preamble.
    fn user_own_words(&self) -> &str {
        self.user_texts()
            .map(user_own_text)
            .find(|t| !t.is_empty())
            .unwrap_or("")
    }

    /// The text of the last user message (its texts joined by newlines);
    /// empty when there is none.
    fn user_text(&self) -> String {
        self.user_texts().collect::<Vec<_>>().join("\n")
    }

    /// Removes a leading `[low]`/`[med]`/`[high]` tag from the user's own
    /// words in the last user message ([`cut_override_tag`]); returns the
    /// tier it named.
    fn strip_override_tag(&mut self) -> Option<Tier> {
        self.user_texts_mut()
            .find(|t| !user_own_text(t).is_empty())
            .and_then(cut_override_tag)
    }
}
