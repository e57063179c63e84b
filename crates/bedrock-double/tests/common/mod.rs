//! Helpers shared by the integration tests: a double and a real SDK client
//! configured as in the wire doc's §5 (with the SDK's default HTTP client).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};
use bedrock_double::{DoubleConfig, RunningDouble, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};

pub const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

pub async fn double() -> RunningDouble {
    bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap()
}

/// The wire doc's §5 configuration, with the SDK's default HTTP client.
pub fn client_with_keys(double: &RunningDouble, access_key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(double.url())
        .credentials_provider(Credentials::new(access_key_id, secret, None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

pub fn client(double: &RunningDouble) -> Client {
    client_with_keys(double, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY)
}

pub fn user(text: &str) -> Message {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.to_owned()))
        .build()
        .unwrap()
}
