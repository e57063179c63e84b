//! The user's turn of a request, whichever OpenAI wire format it came in
//! (Chat Completions or Responses): its texts, the user's own words in them
//! for the router, and the override tag cut out of them. A wire format only
//! says where its contents' texts and its last user turn are.

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

/// Content that is one string or a list of parts (the message content of
/// both OpenAI formats): a wire format says which it is and which of its
/// parts carry text; [`TextContent`] follows from that.
pub trait TextOrParts {
    type Part;
    fn split(&self) -> (Option<&String>, &[Self::Part]);
    fn split_mut(&mut self) -> (Option<&mut String>, &mut [Self::Part]);
    fn part_text(part: &Self::Part) -> Option<&str>;
    fn part_text_mut(part: &mut Self::Part) -> Option<&mut String>;
}

impl<C: TextOrParts> TextContent for C {
    fn texts(&self) -> impl Iterator<Item = &str> {
        let (whole, parts) = self.split();
        whole
            .map(String::as_str)
            .into_iter()
            .chain(parts.iter().filter_map(C::part_text))
    }

    fn texts_mut(&mut self) -> impl Iterator<Item = &mut String> {
        let (whole, parts) = self.split_mut();
        whole
            .into_iter()
            .chain(parts.iter_mut().filter_map(C::part_text_mut))
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
