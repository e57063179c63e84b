//! Bedrock model ids: geographies, inference profile ids, and the advice for
//! the two id mistakes from the seed (a bare model id, a shortened one).
//!
//! Which ids exist and where each is offered is catalog data (`models.yaml`,
//! each model's `geographies`); this module only knows the id grammar.

use serde::{Deserialize, Serialize};

/// Bedrock geographies an inference profile id can start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Geography {
    Us,
    Eu,
    Apac,
    Jp,
    Au,
    Global,
}

impl Geography {
    pub const ALL: [Geography; 6] = [
        Geography::Us,
        Geography::Eu,
        Geography::Apac,
        Geography::Jp,
        Geography::Au,
        Geography::Global,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Geography::Us => "us",
            Geography::Eu => "eu",
            Geography::Apac => "apac",
            Geography::Jp => "jp",
            Geography::Au => "au",
            Geography::Global => "global",
        }
    }

    pub(super) fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.prefix() == prefix)
    }
}

/// What the catalog knows about one Bedrock base model id, for advice.
#[derive(Debug, Clone, Copy)]
pub struct KnownId<'a> {
    /// e.g. `anthropic.claude-sonnet-4-5-20250929-v1:0`.
    pub base_id: &'a str,
    /// Where a profile is offered; empty when the catalog does not say.
    pub geographies: &'a [Geography],
}

/// `(us, anthropic.claude-…)` for `us.anthropic.claude-…`.
pub fn split_profile_id(id: &str) -> Option<(Geography, &str)> {
    let (prefix, base) = id.split_once('.')?;
    Geography::from_prefix(prefix).map(|g| (g, base))
}

/// `claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`.
pub(super) fn strip_version_suffix(id: &str) -> &str {
    match id.rfind("-v") {
        Some(i)
            if id[i + 2..].chars().all(|c| c.is_ascii_digit() || c == ':') && i + 2 < id.len() =>
        {
            &id[..i]
        }
        _ => id,
    }
}

/// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`.
pub(super) fn strip_date(id: &str) -> &str {
    match id.rsplit_once('-') {
        Some((head, tail)) if tail.len() == 8 && tail.chars().all(|c| c.is_ascii_digit()) => head,
        _ => id,
    }
}

/// The model's family id without date and version:
/// `anthropic.claude-sonnet-4-5-20250929-v1:0` → `anthropic.claude-sonnet-4-5`.
pub(super) fn family_of(id: &str) -> &str {
    strip_date(strip_version_suffix(id))
}

/// Advice for a model id Bedrock will refuse: a bare id (needs a profile
/// prefix), a shortened one (needs the full versioned id), or a geography
/// the model has no profile in. `None` when the id looks callable. `known`
/// is the catalog's knowledge of base ids.
pub fn advice(id: &str, known: &[KnownId<'_>]) -> Option<String> {
    let id = id.strip_prefix("bedrock/").unwrap_or(id);
    if id.starts_with("arn:") {
        return None;
    }
    let full_of = |short: &str| {
        known
            .iter()
            .find(|k| k.base_id != short && family_of(k.base_id) == family_of(short))
            .map(|k| k.base_id)
    };
    if id.starts_with("anthropic.") {
        let full = known
            .iter()
            .find(|k| k.base_id == id)
            .map(|k| k.base_id)
            .or_else(|| full_of(id))
            .unwrap_or(id);
        return Some(format!(
            "`{id}` is a bare model id, and Claude 4.x and later on Bedrock must be called \
             through an inference profile: use `us.{full}` (or `global.{full}`, about 10% \
             cheaper; `eu.`/`apac.`/`jp.`/`au.` keep data in region)"
        ));
    }
    let Some((prefix, base)) = id.split_once('.') else {
        return Some(format!(
            "`{id}` is not a Bedrock inference profile id (expected e.g. `us.anthropic.claude-sonnet-5-5`)"
        ));
    };
    let Some(geo) = Geography::from_prefix(prefix) else {
        return Some(format!(
            "`{id}` starts with `{prefix}.`, which is not a Bedrock geography: use one of us., eu., apac., jp., au., global."
        ));
    };
    match known.iter().find(|k| k.base_id == base) {
        Some(k) if !k.geographies.is_empty() && !k.geographies.contains(&geo) => Some(format!(
            "`{base}` has no `{prefix}.` inference profile; it is offered as {}",
            k.geographies
                .iter()
                .map(|g| format!("`{}.{base}`", g.prefix()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(_) => None,
        None => full_of(base).map(|full| {
            format!(
                "`{id}` is a shortened model id; the full inference profile id is `{prefix}.{full}`"
            )
        }),
    }
}
