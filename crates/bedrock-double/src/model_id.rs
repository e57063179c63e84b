//! The model name Anthropic-shaped responses carry, derived from the id the
//! request named.

const CLAUDE: &str = "anthropic.claude-";

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
