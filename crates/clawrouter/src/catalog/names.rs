//! From the model name a client sends to the catalog model that serves it.
//!
//! Accepted, in this order: a catalog name (`bedrock/claude-opus-5-5`, with or
//! without `bedrock/`); any geography's inference profile id of a catalog
//! model (called on that profile, so `eu.` keeps data in the EU); a bare base
//! id or a shortened id of a catalog model (served by the model it means: the
//! advice Bedrock would need is applied rather than returned); an Anthropic
//! name, dated or alias, with Claude Code's `[1m]` and the old `-latest`
//! suffixes. A Claude name the catalog does not have (`claude-opus-6`, a
//! newer Claude Code's default) is served by the catalog's newest model of
//! that family, and says so. An id-shaped name that cannot be called gets the
//! advice naming the id to use; anything else is unknown.

use super::ids::{self, family_of, split_profile_id};
use super::{Catalog, Model};

/// A requested name, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<'c> {
    pub model: &'c Model,
    /// Index into [`Catalog::models`].
    pub index: usize,
    /// The profile to call: the model's own, or the one the client named.
    pub profile_id: String,
    /// The client named a model the catalog does not have; `model` is the
    /// newest of its family, serving in its place.
    pub substituted: bool,
}

/// Why a name resolves to no model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Not a name of any catalog model.
    Unknown,
    /// An id Bedrock would refuse; the advice names the id to use.
    UseInstead(String),
}

impl Catalog {
    /// Resolves a client's model name (see the module docs). `auto` is the
    /// router's business and resolves to nothing here.
    pub fn resolve(&self, requested: &str) -> Result<Resolved<'_>, NameError> {
        let name = strip_suffix_ignore_case(requested.trim(), "[1m]");
        let wanted = name.strip_prefix("bedrock/").unwrap_or(name);
        if wanted.is_empty() {
            return Err(NameError::Unknown);
        }
        let own = |index: usize| Resolved {
            model: &self.models[index],
            index,
            profile_id: self.models[index].profile_id.clone(),
            substituted: false,
        };
        let find = |pred: &dyn Fn(&Model) -> bool| self.models.iter().position(pred);

        if let Some(i) =
            find(&|m| m.name == name || m.name.strip_prefix("bedrock/") == Some(wanted))
        {
            return Ok(own(i));
        }
        if let Some(i) = find(&|m| m.profile_id == wanted) {
            return Ok(own(i));
        }
        if let Some(found) = self.by_id(wanted)? {
            return Ok(found);
        }
        let alias = wanted.strip_suffix("-latest").unwrap_or(wanted);
        if let Some(i) = find(&|m| m.anthropic_names().iter().any(|n| n == alias)) {
            return Ok(own(i));
        }
        if let Some(i) = self.newest_of_family(alias) {
            tracing::debug!(requested, model = %self.models[i].name, "unknown Claude model, served by the newest of its family");
            return Ok(Resolved {
                substituted: true,
                ..own(i)
            });
        }
        Err(NameError::Unknown)
    }

    /// A profile id, bare id or shortened id of a catalog model; `Ok(None)`
    /// when `id` is not id-shaped or no catalog model has its family.
    fn by_id(&self, id: &str) -> Result<Option<Resolved<'_>>, NameError> {
        let advice = || ids::advice(id, &self.known_ids());
        let (geo, base) = match split_profile_id(id) {
            Some((geo, base)) => (Some(geo), base),
            None if id.starts_with("anthropic.") => (None, id),
            // `xx.anthropic.…`: a profile id with a prefix that is no geography.
            None if id.contains(".anthropic.") => {
                return advice().map_or(Ok(None), |a| Err(NameError::UseInstead(a)));
            }
            None => return Ok(None),
        };
        let exact = self.models.iter().position(|m| m.base_id() == Some(base));
        let index = exact.or_else(|| {
            self.models
                .iter()
                .position(|m| m.base_id().is_some_and(|b| family_of(b) == family_of(base)))
        });
        let Some(index) = index else {
            // A bare id of a model the catalog lacks still needs a profile;
            // a profile id of one is simply not a catalog model.
            return match (geo, advice()) {
                (None, Some(a)) => Err(NameError::UseInstead(a)),
                _ => Ok(None),
            };
        };
        let model = &self.models[index];
        let Some(model_base) = model.base_id() else {
            return Ok(None);
        };
        let profile_id = match geo {
            Some(geo) if model.offered_in(geo) => format!("{}.{model_base}", geo.prefix()),
            Some(_) => {
                return Err(NameError::UseInstead(
                    ids::advice(
                        &format!("{}.{model_base}", id_prefix(id)),
                        &self.known_ids(),
                    )
                    .unwrap_or_else(|| format!("use `{}`", model.profile_id)),
                ));
            }
            None => model.profile_id.clone(),
        };
        if exact.is_none() || geo.is_none() {
            tracing::debug!(requested = id, %profile_id, "model id completed to the catalog's inference profile");
        }
        Ok(Some(Resolved {
            model,
            index,
            profile_id,
            substituted: false,
        }))
    }

    /// The catalog's newest model of the Claude family `name` belongs to
    /// (`claude-opus-6` → the newest Opus).
    fn newest_of_family(&self, name: &str) -> Option<usize> {
        let (family, _) = claude_family_version(name)?;
        self.models
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let alias = m.anthropic_names().pop()?;
                let (f, version) = claude_family_version(&alias)?;
                (f == family && m.is_living()).then_some((version, i))
            })
            .max_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, i)| i)
    }
}

fn id_prefix(id: &str) -> &str {
    id.split_once('.').map_or("", |(p, _)| p)
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> &'a str {
    match s.len().checked_sub(suffix.len()) {
        Some(cut) if s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix) => &s[..cut],
        _ => s,
    }
}

/// `("sonnet", [4, 5])` for `claude-sonnet-4-5` or `claude-sonnet-4-5-20250929`.
/// Any word is a family (`fable` too): the catalog's models say which exist.
fn claude_family_version(name: &str) -> Option<(&str, Vec<u32>)> {
    let mut parts = name.strip_prefix("claude-")?.split('-');
    let family = parts
        .next()
        .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_alphabetic()))?;
    let version = parts
        .map_while(|p| p.parse::<u32>().ok().filter(|_| p.len() < 8))
        .collect();
    Some((family, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(c: &Catalog, requested: &str) -> Option<(String, String, bool)> {
        c.resolve(requested)
            .ok()
            .map(|r| (r.model.name.clone(), r.profile_id, r.substituted))
    }

    fn name(c: &Catalog, requested: &str) -> Option<String> {
        served(c, requested).map(|(n, _, _)| n)
    }

    #[test]
    fn catalog_anthropic_and_claude_code_names_resolve_exactly() {
        let c = Catalog::builtin().unwrap();
        let n = |s: &str| name(&c, s);
        let opus = Some("bedrock/claude-opus-5-5".to_owned());
        for s in [
            "bedrock/claude-opus-5-5",
            "claude-opus-5-5",
            "claude-opus-5-5[1m]",
            "claude-opus-5-5[1M]",
            " claude-opus-5-5 ",
        ] {
            assert_eq!(n(s), opus, "{s}");
        }
        let sonnet45 = Some("bedrock/claude-sonnet-4-5".to_owned());
        for s in [
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5[1m]",
            "claude-sonnet-4-5-20250929[1M]",
        ] {
            assert_eq!(n(s), sonnet45, "{s}");
        }
        assert_eq!(
            n("claude-opus-4-6-latest"),
            Some("bedrock/claude-opus-4-6".into())
        );
        assert_eq!(
            n("claude-haiku-5-5"),
            Some("bedrock/claude-haiku-5-5".into())
        );
        assert_eq!(n("claude-opus-4-8"), Some("bedrock/claude-opus-4-8".into()));
        for s in [
            "claude-3-opus-latest",
            "claude-instant-1",
            "gpt-4o",
            "[1m]",
            "auto",
            "",
        ] {
            assert_eq!(c.resolve(s), Err(NameError::Unknown), "{s}");
        }
    }

    #[test]
    fn any_geographys_profile_id_is_called_on_that_profile() {
        let c = Catalog::builtin().unwrap();
        for id in [
            "us.anthropic.claude-sonnet-5-5",
            "eu.anthropic.claude-sonnet-5-5",
            "global.anthropic.claude-sonnet-5-5",
            "jp.anthropic.claude-sonnet-5-5",
            "bedrock/au.anthropic.claude-sonnet-5-5",
        ] {
            let (model, profile, substituted) = served(&c, id).unwrap();
            assert_eq!(model, "bedrock/claude-sonnet-5-5");
            assert_eq!(profile, id.trim_start_matches("bedrock/"));
            assert!(!substituted);
        }
    }

    #[test]
    fn bare_and_shortened_ids_are_served_by_the_model_they_mean() {
        let c = Catalog::builtin().unwrap();
        let cases = [
            // The seed's bare id: the catalog's (us.) profile.
            (
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            (
                "anthropic.claude-haiku-5-5",
                "us.anthropic.claude-haiku-5-5",
            ),
            // Shortened, with and without a geography.
            (
                "us.anthropic.claude-sonnet-4-5-v1",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            (
                "eu.anthropic.claude-opus-4-6",
                "eu.anthropic.claude-opus-4-6-v1",
            ),
            (
                "anthropic.claude-haiku-4-5",
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            ),
        ];
        for (id, profile) in cases {
            let (_, got, substituted) = served(&c, id).unwrap();
            assert_eq!(got, profile, "{id}");
            assert!(!substituted);
        }
    }

    #[test]
    fn impossible_ids_get_advice_naming_the_id_to_use() {
        let c = Catalog::builtin().unwrap();
        // Sonnet 4.6 has no apac. profile.
        let Err(NameError::UseInstead(advice)) = c.resolve("apac.anthropic.claude-sonnet-4-6")
        else {
            panic!("advice expected");
        };
        assert!(
            advice.contains("`global.anthropic.claude-sonnet-4-6`"),
            "{advice}"
        );
        let Err(NameError::UseInstead(advice)) = c.resolve("xx.anthropic.claude-sonnet-4-6") else {
            panic!("advice expected");
        };
        assert!(advice.contains("not a Bedrock geography"), "{advice}");
        // A well-formed id of a model the catalog lacks is simply unknown.
        assert_eq!(
            c.resolve("us.anthropic.claude-opus-9-9"),
            Err(NameError::Unknown)
        );
    }

    #[test]
    fn unknown_newer_claude_names_are_served_by_the_family_and_say_so() {
        let c = Catalog::builtin().unwrap();
        assert_eq!(
            served(&c, "claude-opus-6"),
            Some((
                "bedrock/claude-opus-5-5".into(),
                "us.anthropic.claude-opus-5-5".into(),
                true
            ))
        );
        assert_eq!(
            name(&c, "claude-sonnet-6[1m]"),
            Some("bedrock/claude-sonnet-5-5".into())
        );
        assert_eq!(
            name(&c, "claude-haiku-9-20300101"),
            Some("bedrock/claude-haiku-5-5".into())
        );
        // Claude Code's Fable names: its own model, or the newest Fable for
        // Fable 5, which the catalog leaves to discovery.
        assert_eq!(
            served(&c, "claude-fable-5-1[1m]"),
            Some((
                "bedrock/claude-fable-5-1".into(),
                "us.anthropic.claude-fable-5-1".into(),
                false
            ))
        );
        assert_eq!(
            name(&c, "claude-fable-5"),
            Some("bedrock/claude-fable-5-2".into())
        );
    }
}
