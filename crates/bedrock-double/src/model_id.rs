//! Which model ids Bedrock accepts for Claude, and the per-family rules the
//! double enforces, with Bedrock's real error messages.

use crate::errors::ApiError;

const GEO_PREFIXES: [&str; 6] = ["us", "eu", "apac", "jp", "global", "us-gov"];
const CLAUDE: &str = "anthropic.claude-";
/// Families that take `temperature` or `top_p`, not both.
const ONE_SAMPLING_PARAM: [&str; 4] = [
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
];

pub const INVALID_MODEL: &str = "The provided model identifier is invalid.";
pub const BOTH_SAMPLING_PARAMS: &str = "The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.";

/// How an id names a Claude model.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// `{geo}.anthropic.claude-…` or an ARN: callable on demand.
    Profile,
    /// `anthropic.claude-…`: a foundation model, not callable on demand.
    Bare,
}

fn classify(model_id: &str) -> Option<Kind> {
    if let Some(arn) = model_id.strip_prefix("arn:") {
        let valid = arn.starts_with("aws") && arn.contains(":bedrock:") && arn.contains('/');
        return valid.then_some(Kind::Profile);
    }
    let (kind, base) = match model_id.split_once('.') {
        Some((geo, rest)) if GEO_PREFIXES.contains(&geo) => (Kind::Profile, rest),
        _ => (Kind::Bare, model_id),
    };
    let name = base.strip_prefix(CLAUDE)?;
    let well_formed = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c));
    well_formed.then_some(kind)
}

/// Checks an id for an invoking operation (Converse, InvokeModel and streams).
pub fn validate_for_invocation(model_id: &str) -> Result<(), ApiError> {
    match classify(model_id) {
        Some(Kind::Profile) => Ok(()),
        Some(Kind::Bare) => Err(on_demand_error(model_id)),
        None => Err(ApiError::validation(INVALID_MODEL)),
    }
}

/// Bedrock's answer to invoking a model id without an inference profile.
pub fn on_demand_error(model_id: &str) -> ApiError {
    ApiError::validation(format!(
        "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    ))
}

/// CountTokens names the foundation model, so bare ids are fine there.
pub fn validate_for_counting(model_id: &str) -> Result<(), ApiError> {
    classify(model_id)
        .map(|_| ())
        .ok_or_else(|| ApiError::validation(INVALID_MODEL))
}

/// Rejects `temperature` together with `top_p` for the families that forbid it.
pub fn check_sampling(model_id: &str, temperature: bool, top_p: bool) -> Result<(), ApiError> {
    let restricted = ONE_SAMPLING_PARAM
        .iter()
        .any(|family| model_id.contains(family));
    if restricted && temperature && top_p {
        return Err(ApiError::validation(BOTH_SAMPLING_PARAMS));
    }
    Ok(())
}

/// The name Anthropic's response `model` field carries, e.g.
/// `us.anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`.
pub fn response_model_name(model_id: &str) -> String {
    let tail = model_id.rsplit('/').next().unwrap_or(model_id);
    let base = match tail.find(CLAUDE) {
        Some(at) => &tail[at + "anthropic.".len()..],
        None => return "claude".to_owned(),
    };
    let without_revision = base.split(':').next().unwrap_or(base);
    match without_revision.rsplit_once("-v") {
        Some((name, version)) if version.chars().all(|c| c.is_ascii_digit()) => name.to_owned(),
        _ => without_revision.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorKind;

    #[test]
    fn profiles_and_arns_are_accepted() {
        for id in [
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "global.anthropic.claude-opus-4-6-v1",
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
            "apac.anthropic.claude-sonnet-4-20250514-v1:0",
            "jp.anthropic.claude-sonnet-4-6",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6",
        ] {
            assert_eq!(validate_for_invocation(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn bare_id_gets_the_on_demand_message() {
        let err = validate_for_invocation("anthropic.claude-3-7-sonnet-20250219-v1:0").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Validation);
        assert_eq!(
            err.message,
            "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        );
        assert_eq!(
            validate_for_counting("anthropic.claude-3-7-sonnet-20250219-v1:0"),
            Ok(())
        );
    }

    #[test]
    fn other_ids_are_invalid() {
        for id in [
            "gpt-4o",
            "us.amazon.nova-pro-v1:0",
            "xx.anthropic.claude-x",
            "us.anthropic.claude-",
            "arn:foo",
        ] {
            assert_eq!(
                validate_for_invocation(id).unwrap_err().message,
                INVALID_MODEL,
                "{id}"
            );
        }
    }

    #[test]
    fn sampling_rule_applies_only_to_listed_families() {
        let sonnet45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert!(check_sampling(sonnet45, true, true).is_err());
        assert!(check_sampling(sonnet45, true, false).is_ok());
        assert!(check_sampling("us.anthropic.claude-sonnet-4-20250514-v1:0", true, true).is_ok());
    }

    #[test]
    fn response_model_name_drops_prefix_and_version() {
        assert_eq!(
            response_model_name("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "claude-sonnet-4-5-20250929"
        );
        assert_eq!(
            response_model_name("global.anthropic.claude-opus-4-6-v1"),
            "claude-opus-4-6"
        );
        assert_eq!(
            response_model_name("us.anthropic.claude-sonnet-4-6"),
            "claude-sonnet-4-6"
        );
    }
}
