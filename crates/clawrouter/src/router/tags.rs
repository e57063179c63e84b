//! Finding the user's own words in the last user turn, and the override tag
//! (`[low]`, `[med]`, `[high]`, …) at their start.
//!
//! IDE agents put their own text before the user's: Claude Code adds
//! `<system-reminder>…</system-reminder>` blocks, Codex `<environment_context>`
//! and `# AGENTS.md instructions for …` followed by an `<INSTRUCTIONS>` block
//! (the prefixes Codex itself strips when it shows a turn), Cline wraps the ask in
//! `<task>…</task>` followed by `<environment_details>`, Cursor uses
//! `<user_query>`. Classifying the preamble instead of the ask would route
//! every request the same way, and a tag is only a tag at the start of the
//! user's words, so both look past these blocks. Callers that get the turn as
//! several text blocks join them with `\n` first.

use std::ops::Range;

use crate::catalog::Tier;

/// Leading blocks that are agent context, never the user's words: skipped whole.
const PREAMBLE_TAGS: &[&str] = &[
    "system-reminder",
    "environment_context",
    "INSTRUCTIONS",
    "context",
    "environment_details",
    "environment",
    "user_instructions",
    "custom_instructions",
    "instructions",
    "additional_data",
    "attached_files",
    "user_info",
    "rules",
    "project_layout",
    "ide_selection",
    "ide_opened_file",
    "open_files",
    "current_file",
];

/// The line before Codex's `<INSTRUCTIONS>` block.
const AGENTS_MD_HEADER: &str = "# AGENTS.md instructions for ";

/// Leading blocks whose content *is* the user's words (Cline, Cursor).
const USER_WORD_TAGS: &[&str] = &["task", "user_query", "user_message", "user_request"];

/// The user's own words in `text`: leading whitespace and wrapper blocks
/// skipped. An unterminated wrapper block is left in place (there is no way to
/// tell where the user's words would start).
pub fn user_own_text(text: &str) -> &str {
    &text[own_text_range(text)]
}

/// A leading override tag in the user's own words of `text`, with the byte
/// range of the tag and the whitespace after it, so callers can cut it out
/// before forwarding the request.
///
/// `[low]` → low; `[med]`, `[medium]`, `[mid]` → mid; `[high]`, `[top]` → top;
/// any case.
pub fn find_override_tag(text: &str) -> Option<(Tier, Range<usize>)> {
    let own = own_text_range(text);
    let words = &text[own.clone()];
    let inner = words.strip_prefix('[')?;
    let close = inner.find(']')?;
    let name = &inner[..close];
    let tier = [
        ("low", Tier::Low),
        ("med", Tier::Mid),
        ("medium", Tier::Mid),
        ("mid", Tier::Mid),
        ("high", Tier::Top),
        ("top", Tier::Top),
    ]
    .into_iter()
    .find_map(|(tag, tier)| name.eq_ignore_ascii_case(tag).then_some(tier))?;
    let after_tag = close + 2;
    let rest = &words[after_tag..];
    let spaces = rest.len() - rest.trim_start().len();
    Some((tier, own.start..own.start + after_tag + spaces))
}

/// `text` without its override tag (preambles kept), and the tag's tier.
pub fn strip_override_tag(text: &str) -> (Option<Tier>, String) {
    match find_override_tag(text) {
        Some((tier, range)) => (
            Some(tier),
            format!("{}{}", &text[..range.start], &text[range.end..]),
        ),
        None => (None, text.to_owned()),
    }
}

/// Cuts the override tag out of `text` in place and returns its tier, the
/// same for every wire format. A turn that is only a tag keeps it: the tag
/// still routes, and an empty turn would be refused upstream.
pub fn cut_override_tag(text: &mut String) -> Option<Tier> {
    let (tier, range) = find_override_tag(text)?;
    let nothing_else = text[..range.start].trim().is_empty() && text[range.end..].trim().is_empty();
    if !nothing_else {
        text.replace_range(range, "");
    }
    Some(tier)
}

fn own_text_range(text: &str) -> Range<usize> {
    let mut at = 0;
    loop {
        let rest = &text[at..];
        at += rest.len() - rest.trim_start().len();
        // Codex heads the AGENTS.md block with a line of its own.
        if let Some(after) = text[at..].strip_prefix(AGENTS_MD_HEADER)
            && let Some(line_end) = after.find('\n')
        {
            let next = &after[line_end..];
            if next.trim_start().starts_with("<INSTRUCTIONS>") {
                at += AGENTS_MD_HEADER.len() + line_end;
                continue;
            }
        }
        let Some(block) = leading_block(&text[at..]) else {
            break;
        };
        if USER_WORD_TAGS.contains(&block.name) {
            let inner = &text[at + block.inner.start..at + block.inner.end];
            let start = at + block.inner.start + (inner.len() - inner.trim_start().len());
            return start..at + block.inner.start + inner.trim_end().len();
        }
        if !PREAMBLE_TAGS.contains(&block.name) {
            break;
        }
        at += block.end;
    }
    at..text.len()
}

/// A `<name …>…</name>` block at the very start of a string.
struct Block<'a> {
    name: &'a str,
    /// Byte range of the content between the tags.
    inner: Range<usize>,
    /// Byte offset just past the closing tag.
    end: usize,
}

fn leading_block(s: &str) -> Option<Block<'_>> {
    let after_lt = s.strip_prefix('<')?;
    let name_len = after_lt
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(after_lt.len());
    let name = &after_lt[..name_len];
    if name.is_empty() {
        return None;
    }
    let open_end = 1 + name_len + after_lt[name_len..].find('>')? + 1;
    // Only attributes may sit between the name and `>`.
    if !s[1 + name_len..open_end].starts_with(['>', ' ', '\t', '\n', '\r']) {
        return None;
    }
    let close = format!("</{name}>");
    let close_at = open_end + s[open_end..].find(&close)?;
    Some(Block {
        name,
        inner: open_end..close_at,
        end: close_at + close.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_form_maps_to_its_tier_in_any_case() {
        let cases = [
            ("[low] hi", Tier::Low),
            ("[LOW] hi", Tier::Low),
            ("[med] hi", Tier::Mid),
            ("[Med] hi", Tier::Mid),
            ("[medium] hi", Tier::Mid),
            ("[MEDIUM] hi", Tier::Mid),
            ("[mid] hi", Tier::Mid),
            ("[high] hi", Tier::Top),
            ("[HiGh] hi", Tier::Top),
            ("[top] hi", Tier::Top),
        ];
        for (text, tier) in cases {
            let (found, range) = find_override_tag(text).unwrap();
            assert_eq!(found, tier, "{text}");
            assert_eq!(&text[range.end..], "hi", "{text}");
        }
    }

    #[test]
    fn tag_with_and_without_trailing_whitespace() {
        assert_eq!(
            strip_override_tag("[high]prove it"),
            (Some(Tier::Top), "prove it".to_owned())
        );
        assert_eq!(
            strip_override_tag("[high] \n\tprove it"),
            (Some(Tier::Top), "prove it".to_owned())
        );
        assert_eq!(
            strip_override_tag("  [low]  "),
            (Some(Tier::Low), "  ".to_owned())
        );
    }

    #[test]
    fn not_a_tag_unless_leading_and_known() {
        assert_eq!(find_override_tag("please [high] do it"), None);
        assert_eq!(find_override_tag("[ultra] do it"), None);
        assert_eq!(find_override_tag("[high do it"), None);
        assert_eq!(find_override_tag("[] x"), None);
        assert_eq!(
            strip_override_tag("no tag here"),
            (None, "no tag here".to_owned())
        );
    }

    #[test]
    fn tag_after_system_reminder_preamble_is_found_and_cut_out() {
        let text = "<system-reminder>\nAs you answer, [low] use the context.\n</system-reminder>\n\n[MEDIUM] refactor main.rs";
        let (tier, range) = find_override_tag(text).unwrap();
        assert_eq!(tier, Tier::Mid);
        assert_eq!(&text[range.clone()], "[MEDIUM] ");
        let (tier, stripped) = strip_override_tag(text);
        assert_eq!(tier, Some(Tier::Mid));
        assert_eq!(
            stripped,
            "<system-reminder>\nAs you answer, [low] use the context.\n</system-reminder>\n\nrefactor main.rs"
        );
    }

    #[test]
    fn own_text_skips_several_preamble_blocks() {
        let text = "<system-reminder>a</system-reminder>\n<context name=\"x\">b\n</context>\n  <environment_details>c</environment_details>\nfix the bug";
        assert_eq!(user_own_text(text), "fix the bug");
    }

    #[test]
    fn own_text_skips_codex_environment_and_agents_md() {
        let text = "<environment_context>\n  <cwd>/home/a/x</cwd>\n</environment_context>\n# AGENTS.md instructions for /home/a/x\n\n<INSTRUCTIONS>\n- be brief\n</INSTRUCTIONS>\n[low] which file holds the lock?";
        assert_eq!(user_own_text(text), "[low] which file holds the lock?");
        assert_eq!(
            find_override_tag(text).map(|(tier, _)| tier),
            Some(Tier::Low)
        );
        // A header without its block is the user's own words.
        let text = "# AGENTS.md instructions for you\nwrite them";
        assert_eq!(user_own_text(text), text);
    }

    #[test]
    fn own_text_is_the_content_of_a_task_block() {
        let text = "<task>\n[high] design the cache\n</task>\n<environment_details>cwd: /x</environment_details>";
        assert_eq!(user_own_text(text), "[high] design the cache");
        let (tier, range) = find_override_tag(text).unwrap();
        assert_eq!(tier, Tier::Top);
        assert_eq!(&text[range], "[high] ");
    }

    #[test]
    fn own_text_keeps_unknown_and_unterminated_blocks() {
        assert_eq!(
            user_own_text("<div>hi</div> fix this html"),
            "<div>hi</div> fix this html"
        );
        assert_eq!(
            user_own_text("<system-reminder>never closed"),
            "<system-reminder>never closed"
        );
        assert_eq!(
            user_own_text("<system-reminderx>a</system-reminderx>b"),
            "<system-reminderx>a</system-reminderx>b"
        );
        assert_eq!(user_own_text("  plain  "), "plain  ");
        assert_eq!(user_own_text(""), "");
    }
}
