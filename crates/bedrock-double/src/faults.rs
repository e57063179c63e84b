//! `[[double:NAME]]` / `[[double:NAME=VALUE]]` directives: tests script a
//! fault or a reply shape through the request itself, so the double needs no
//! global state. The syntax is a contract (listed in the crate docs).

use std::time::Duration;

use crate::errors::{ApiError, ErrorKind};

const OPEN: &str = "[[double:";
const CLOSE: &str = "]]";

/// What the directives in one request ask for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Directives {
    /// Answer with this error instead of a reply (`throttle`, `status=CODE`).
    pub error: Option<ErrorKind>,
    /// Streams: fail after the first delta with this exception.
    pub midstream: Option<ErrorKind>,
    /// Streams: go silent after the first delta.
    pub stall: bool,
    pub delay: Option<Duration>,
    pub chunk_delay: Option<Duration>,
    /// Call this tool.
    pub tool: Option<String>,
    /// Reply with this many words.
    pub long: Option<usize>,
    /// The reply would contain this and stops right before it.
    pub stop: Option<String>,
    /// Answer with Bedrock's on-demand-throughput ValidationException for
    /// the requested model id (what a bare model id gets).
    pub on_demand: bool,
    /// Send `Retry-After: SECS` with an error response.
    pub retry_after: Option<u64>,
}

/// Removes every directive from `text`, collapses whitespace, and returns
/// the cleaned text with what the directives asked for. With `only=TEXT`,
/// the faults apply only when `model_id` contains TEXT, so a test can fail
/// one candidate model and let the next one answer.
pub fn extract(text: &str, model_id: &str) -> Result<(String, Directives), ApiError> {
    let mut directives = Directives::default();
    let mut only: Option<String> = None;
    let mut clean = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        clean.push_str(&rest[..start]);
        clean.push(' ');
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find(CLOSE)
            .ok_or_else(|| ApiError::validation("bedrock-double: unterminated [[double:...]]"))?;
        let directive = &after[..end];
        match directive.trim().strip_prefix("only=") {
            Some(prefix) => only = Some(prefix.trim().to_owned()),
            None => apply(&mut directives, directive)?,
        }
        rest = &after[end + CLOSE.len()..];
    }
    clean.push_str(rest);
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    if only.is_some_and(|part| !model_id.contains(&part)) {
        directives = Directives {
            tool: directives.tool,
            long: directives.long,
            stop: directives.stop,
            ..Directives::default()
        };
    }
    Ok((clean, directives))
}

fn apply(directives: &mut Directives, directive: &str) -> Result<(), ApiError> {
    let (name, value) = match directive.split_once('=') {
        Some((name, value)) => (name.trim(), Some(value)),
        None => (directive.trim(), None),
    };
    let bad = || {
        ApiError::validation(format!(
            "bedrock-double: bad directive [[double:{directive}]]"
        ))
    };
    let millis = |value: Option<&str>| -> Result<Duration, ApiError> {
        let ms = value.and_then(|v| v.trim().parse().ok()).ok_or_else(bad)?;
        Ok(Duration::from_millis(ms))
    };
    match (name, value) {
        ("throttle", None) => directives.error = Some(ErrorKind::Throttling),
        ("status", Some(code)) => {
            let code = code.trim().parse().map_err(|_| bad())?;
            directives.error = Some(ErrorKind::from_status(code).ok_or_else(bad)?);
        }
        ("midstream", None) => directives.midstream = Some(ErrorKind::ModelStreamError),
        ("midstream", Some(name)) => {
            directives.midstream =
                Some(ErrorKind::from_exception_type(name.trim()).ok_or_else(bad)?);
        }
        ("stall", None) => directives.stall = true,
        ("delay", value) => directives.delay = Some(millis(value)?),
        ("chunk-delay", value) => directives.chunk_delay = Some(millis(value)?),
        ("tool", Some(tool)) if !tool.trim().is_empty() => {
            directives.tool = Some(tool.trim().to_owned());
        }
        ("long", Some(words)) => directives.long = Some(words.trim().parse().map_err(|_| bad())?),
        ("stop", Some(seq)) if !seq.is_empty() => directives.stop = Some(seq.to_owned()),
        ("on-demand", None) => directives.on_demand = true,
        ("retry-after", Some(secs)) => {
            directives.retry_after = Some(secs.trim().parse().map_err(|_| bad())?);
        }
        _ => return Err(bad()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_directives_and_collapses_whitespace() {
        let (text, d) = extract(
            "hello [[double:throttle]] world [[double:delay=250]]",
            "us.m",
        )
        .unwrap();
        assert_eq!(text, "hello world");
        assert_eq!(d.error, Some(ErrorKind::Throttling));
        assert_eq!(d.delay, Some(Duration::from_millis(250)));
    }

    #[test]
    fn parses_every_directive() {
        let (text, d) = extract(
            "[[double:status=503]][[double:midstream=throttlingException]][[double:stall]]\
             [[double:chunk-delay=5]][[double:tool=get_weather]][[double:long=40]][[double:stop=END]]\
             [[double:on-demand]][[double:retry-after=3]]",
            "us.m",
        )
        .unwrap();
        assert_eq!(text, "");
        assert_eq!(d.error, Some(ErrorKind::ServiceUnavailable));
        assert_eq!(d.midstream, Some(ErrorKind::Throttling));
        assert!(d.stall);
        assert_eq!(d.chunk_delay, Some(Duration::from_millis(5)));
        assert_eq!(d.tool.as_deref(), Some("get_weather"));
        assert_eq!(d.long, Some(40));
        assert_eq!(d.stop.as_deref(), Some("END"));
        assert!(d.on_demand);
        assert_eq!(d.retry_after, Some(3));
    }

    #[test]
    fn only_limits_faults_to_matching_models() {
        let text = "[[double:only=us.]] [[double:throttle]] [[double:long=3]] hi";
        let (_, d) = extract(
            "[[double:only=haiku]] [[double:throttle]]",
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        )
        .unwrap();
        assert_eq!(
            d.error,
            Some(ErrorKind::Throttling),
            "a part of the id matches anywhere"
        );
        let (_, d) = extract(text, "us.anthropic.claude-haiku-4-5-20251001-v1:0").unwrap();
        assert_eq!(d.error, Some(ErrorKind::Throttling));
        let (clean, d) = extract(text, "global.anthropic.claude-haiku-4-5-20251001-v1:0").unwrap();
        assert_eq!(d.error, None);
        assert_eq!(d.long, Some(3), "reply shape directives still apply");
        assert_eq!(clean, "hi");
    }

    #[test]
    fn midstream_defaults_to_model_stream_error() {
        let (_, d) = extract("x [[double:midstream]]", "us.m").unwrap();
        assert_eq!(d.midstream, Some(ErrorKind::ModelStreamError));
    }

    #[test]
    fn rejects_unknown_and_malformed_directives() {
        for text in [
            "[[double:nope]]",
            "[[double:status=418]]",
            "[[double:delay=soon]]",
            "[[double:midstream=boomException]]",
            "[[double:throttle",
            "[[double:tool=]]",
        ] {
            let err = extract(text, "us.m").unwrap_err();
            assert_eq!(err.kind, ErrorKind::Validation, "{text}");
        }
    }

    #[test]
    fn text_without_directives_is_only_normalised() {
        let (text, d) = extract("  a\n b  ", "us.m").unwrap();
        assert_eq!(text, "a b");
        assert_eq!(d, Directives::default());
    }
}
