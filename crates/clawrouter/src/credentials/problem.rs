//! Why AWS credentials cannot be used, said so a person can act on it: what
//! happened, where ClawRouter looked, and the fix. The SDK's own error chain
//! can hold Debug renderings of HTTP types (`HeaderValue { _private: … }`),
//! paragraphs about instance metadata, and whatever a `credential_process`
//! printed; none of that reaches the user.

use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError as SdkCredentialsError;
use serde::Serialize;

use super::aws::{CredentialSource, ResolvedAws};
use crate::bedrock::readable_error_chain;

/// The longest reason quoted from the SDK, in characters.
const MAX_REASON_CHARS: usize = 160;

/// One failed credential lookup, in three short parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialProblem {
    /// What happened: `no AWS credentials found`, `AWS SSO profile 'dev' did
    /// not load: …`.
    pub summary: String,
    /// Where ClawRouter looked, in order.
    pub tried: Vec<String>,
    /// What to do about it.
    pub fix: String,
}

/// How the lookup failed.
pub(super) enum Failure<'a> {
    Sdk(&'a SdkCredentialsError),
    TimedOut(Duration),
}

impl CredentialProblem {
    pub(super) fn new(resolved: &ResolvedAws, failure: Failure<'_>) -> Self {
        let source = &resolved.source;
        let summary = match (source, failure) {
            (CredentialSource::None, _) => "no AWS credentials found".to_owned(),
            (_, Failure::TimedOut(after)) => {
                format!("{source} did not answer within {}s", after.as_secs())
            }
            (_, Failure::Sdk(e)) => format!("{source} did not load: {}", reason(e)),
        };
        CredentialProblem {
            summary,
            tried: tried(source, resolved.imds),
            fix: fix(source),
        }
    }
}

impl std::fmt::Display for CredentialProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (looked at: {}). Fix: {}",
            self.summary,
            self.tried.join(", "),
            self.fix
        )
    }
}

/// The chain's links ClawRouter asked, in order: its own keychain entry
/// first, then the standard chain up to the link that answered.
fn tried(source: &CredentialSource, imds: bool) -> Vec<String> {
    let mut tried = vec!["keys saved in ClawRouter".to_owned()];
    match source {
        CredentialSource::Keychain => {}
        CredentialSource::None => {
            tried.extend(
                [
                    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                    "~/.aws profile 'default'",
                    "web identity",
                    "container role",
                ]
                .map(str::to_owned),
            );
            if imds {
                tried.push("EC2 instance role".to_owned());
            }
        }
        other => tried.push(other.to_string()),
    }
    tried
}

fn fix(source: &CredentialSource) -> String {
    match source {
        CredentialSource::None => "save AWS keys in Settings or with `clawrouter keys set`, or \
                                   run `aws configure` (or `aws sso login`)"
            .to_owned(),
        CredentialSource::Keychain => {
            "save the keys again in Settings or with `clawrouter keys set`".to_owned()
        }
        CredentialSource::Environment => "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                                          (and AWS_SESSION_TOKEN for temporary keys)"
            .to_owned(),
        CredentialSource::Profile(name) => format!(
            "check profile '{name}' in ~/.aws/config and ~/.aws/credentials \
             (`aws configure list --profile {name}`)"
        ),
        CredentialSource::Sso(name) => format!("sign in again: `aws sso login --profile {name}`"),
        CredentialSource::WebIdentity => {
            "check AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN".to_owned()
        }
        CredentialSource::ContainerOrInstance => {
            "check the container's task role (AWS_CONTAINER_CREDENTIALS_*)".to_owned()
        }
    }
}

/// The SDK's reason, below its generic headline ("an error occurred while
/// loading credentials"), without Debug dumps or key-shaped text, cut short.
fn reason(e: &SdkCredentialsError) -> String {
    let text = match std::error::Error::source(e) {
        Some(cause) => readable_error_chain(cause),
        None => e.to_string(),
    };
    let text = if text.is_empty() { e.to_string() } else { text };
    let text = scrub(&text);
    if text.chars().count() <= MAX_REASON_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_REASON_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Replaces runs that look like key ids, secrets or tokens with `<redacted>`.
fn scrub(text: &str) -> String {
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
    let looks_secret = |run: &str| {
        run.len() >= 32
            || ((run.starts_with("AKIA") || run.starts_with("ASIA"))
                && run.len() == 20
                && run
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    };
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if is_key_char(c) {
            run.push(c);
            continue;
        }
        out.push_str(if looks_secret(&run) {
            "<redacted>"
        } else {
            &run
        });
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use aws_credential_types::credential_fn::provide_credentials_fn;
    use aws_credential_types::provider::SharedCredentialsProvider;

    use super::*;
    use crate::credentials::{CredentialsError, check_aws};

    fn resolved(source: CredentialSource, error: SdkCredentialsError) -> ResolvedAws {
        let error = std::sync::Arc::new(std::sync::Mutex::new(Some(error)));
        ResolvedAws {
            provider: SharedCredentialsProvider::new(provide_credentials_fn(move || {
                let error = error.lock().unwrap().take().unwrap();
                async move { Err(error) }
            })),
            source,
            region: "us-east-1".into(),
            imds: false,
        }
    }

    async fn problem(source: CredentialSource, error: SdkCredentialsError) -> CredentialProblem {
        match check_aws(&resolved(source, error)).await {
            Err(CredentialsError::Aws(problem)) => problem,
            other => panic!("expected a credential problem: {other:?}"),
        }
    }

    /// What the SDK's chain says off EC2 with nothing configured, including
    /// the kind of Debug text its instance-metadata link adds.
    fn nothing_found() -> SdkCredentialsError {
        SdkCredentialsError::not_loaded(
            "no providers in chain provided credentials: failed to load IMDS session token: \
             HeaderValue { _private: H1(\"21600\") }",
        )
    }

    #[tokio::test]
    async fn nothing_configured_says_where_it_looked_and_the_fix() {
        let p = problem(CredentialSource::None, nothing_found()).await;
        assert_eq!(p.summary, "no AWS credentials found");
        assert_eq!(
            p.tried,
            [
                "keys saved in ClawRouter",
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                "~/.aws profile 'default'",
                "web identity",
                "container role"
            ]
        );
        assert!(p.fix.contains("clawrouter keys set"), "{}", p.fix);
        let text = p.to_string();
        assert!(!text.contains('{') && !text.contains("IMDS"), "{text}");
        assert!(text.len() < 300, "{} chars: {text}", text.len());
    }

    #[tokio::test]
    async fn a_failing_profile_is_named_with_a_readable_reason() {
        let p = problem(
            CredentialSource::Sso("dev".into()),
            SdkCredentialsError::provider_error(
                "the SSO session has expired: DispatchFailure { source: Connector { kind: Io } }",
            ),
        )
        .await;
        assert_eq!(p.fix, "sign in again: `aws sso login --profile dev`");
        assert!(
            p.summary
                .starts_with("AWS SSO profile 'dev' did not load: "),
            "{}",
            p.summary
        );
        assert!(!p.summary.contains('{'), "{}", p.summary);
        assert_eq!(
            p.tried.last().map(String::as_str),
            Some("AWS SSO profile 'dev'")
        );
    }

    #[tokio::test]
    async fn key_material_and_long_reasons_are_cut() {
        let p = problem(
            CredentialSource::Profile("work".into()),
            SdkCredentialsError::provider_error(format!(
                "process printed {} wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY {}",
                concat!("AKIA", "IOSFODNN7EXAMPLE"),
                "and more ".repeat(40)
            )),
        )
        .await;
        assert!(
            p.summary.contains("process printed <redacted> <redacted>"),
            "{}",
            p.summary
        );
        assert!(p.summary.ends_with('…'), "{}", p.summary);
        assert!(p.fix.contains("aws configure list --profile work"));
    }
}
