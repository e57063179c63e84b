//! Discovery against the bedrock double's control plane, through the real
//! aws-sdk-bedrock client on the same configuration as the runtime client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use bedrock_double::DoubleConfig;
use clawrouter::bedrock::{ClientOptions, sdk_config};
use clawrouter::discovery::{self, Unavailable};

const DENIED: &str = "anthropic.claude-sonnet-5-5";

async fn sdk_for(url: &str, region: &str) -> aws_config::SdkConfig {
    sdk_config(ClientOptions {
        region: Some(region.to_owned()),
        credentials: Some(SharedCredentialsProvider::new(Credentials::new(
            bedrock_double::TEST_ACCESS_KEY_ID,
            bedrock_double::TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))),
        endpoint_url: Some(url.to_owned()),
        connect_timeout: Duration::from_secs(2),
    })
    .await
}

#[tokio::test]
async fn discovery_learns_profiles_access_and_lifecycle_from_the_control_plane() {
    let double = bedrock_double::start(DoubleConfig {
        denied_models: vec![DENIED.to_owned()],
        ..DoubleConfig::default()
    })
    .await
    .unwrap();
    let found = discovery::fetch(&sdk_for(&double.url(), "us-east-1").await)
        .await
        .unwrap();
    assert_eq!(found.region, "us-east-1");
    assert!(found.fetched_at.starts_with("20"), "{}", found.fetched_at);
    assert_eq!(found.verdict("us.anthropic.claude-opus-5-5"), None);
    assert_eq!(
        found.verdict("us.anthropic.claude-sonnet-5-5"),
        Some(Unavailable::AccessDenied)
    );
    // Not offered from us-east-1, and gone after its end of life.
    for missing in [
        "jp.anthropic.claude-opus-5-5",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
    ] {
        assert!(
            matches!(
                found.verdict(missing),
                Some(Unavailable::ProfileMissing { .. })
            ),
            "{missing}"
        );
    }
    let stats = double.stats();
    assert_eq!(stats.requests, 0, "discovery makes no model call");
    assert_eq!(stats.control_plane["ListFoundationModels"], 1);
    assert!(stats.control_plane["GetFoundationModelAvailability"] > 1);

    // From Tokyo the jp. profiles are offered.
    let tokyo = discovery::fetch(&sdk_for(&double.url(), "ap-northeast-1").await)
        .await
        .unwrap();
    assert_eq!(tokyo.verdict("jp.anthropic.claude-opus-5-5"), None);
    double.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_control_plane_is_an_error_not_a_hang() {
    // Nothing listens on port 9 (discard) on loopback.
    let err = discovery::fetch(&sdk_for("http://127.0.0.1:9", "us-east-1").await)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("asking Bedrock which models this account can call"),
        "{err}"
    );
}
