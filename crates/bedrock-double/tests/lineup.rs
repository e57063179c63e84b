//! The model table as the real `aws-sdk-bedrockruntime` client meets it:
//! each 5.x rule, a denied model and an end-of-life model answer with the
//! typed errors Bedrock gives, through Converse and InvokeModel alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    AnyToolChoice, InferenceConfiguration, Tool, ToolChoice, ToolConfiguration, ToolInputSchema,
    ToolSpecification,
};
use aws_smithy_types::Document;
use bedrock_double::DoubleConfig;
use serde_json::json;

mod common;
use common::{client, user};

const SONNET_55: &str = "us.anthropic.claude-sonnet-5-5";
const OPUS_55: &str = "global.anthropic.claude-opus-5-5";
const HAIKU_55: &str = "us.anthropic.claude-haiku-5-5";

fn document(value: serde_json::Value) -> Document {
    match value {
        serde_json::Value::Object(map) => {
            Document::Object(map.into_iter().map(|(k, v)| (k, document(v))).collect())
        }
        serde_json::Value::String(s) => Document::String(s),
        serde_json::Value::Bool(b) => Document::Bool(b),
        serde_json::Value::Number(n) => {
            Document::Number(aws_smithy_types::Number::PosInt(n.as_u64().unwrap()))
        }
        serde_json::Value::Array(a) => Document::Array(a.into_iter().map(document).collect()),
        serde_json::Value::Null => Document::Null,
    }
}

async fn start(denied: &[&str]) -> bedrock_double::RunningDouble {
    bedrock_double::start(DoubleConfig {
        denied_models: denied.iter().map(|d| (*d).to_owned()).collect(),
        ..DoubleConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn converse_enforces_the_5_5_rules_and_accepts_valid_requests() {
    let double = start(&[]).await;
    let client = client(&double);
    let converse = |model: &str| client.converse().model_id(model).messages(user("hi"));

    let budget = document(json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}));
    let err = converse(SONNET_55)
        .additional_model_request_fields(budget)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        err.message()
            .unwrap()
            .contains("\"thinking.type.enabled\" is not supported")
    );

    let temperature = InferenceConfiguration::builder().temperature(0.3).build();
    let err = converse(OPUS_55)
        .inference_config(temperature)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.message()
            .unwrap()
            .contains("`temperature` is deprecated")
    );

    let spec = ToolSpecification::builder()
        .name("f")
        .input_schema(ToolInputSchema::Json(document(json!({"type": "object"}))))
        .build()
        .unwrap();
    let forced = ToolConfiguration::builder()
        .tools(Tool::ToolSpec(spec))
        .tool_choice(ToolChoice::Any(AnyToolChoice::builder().build()))
        .build()
        .unwrap();
    let err = converse(SONNET_55)
        .tool_config(forced.clone())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.message()
            .unwrap()
            .contains("tool_choice: type \"tool\" and \"any\"")
    );
    // Haiku 5.5 takes a forced tool; adaptive thinking with effort is fine.
    converse(HAIKU_55).tool_config(forced).send().await.unwrap();
    let adaptive =
        document(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}));
    converse(OPUS_55)
        .additional_model_request_fields(adaptive)
        .send()
        .await
        .unwrap();
    double.shutdown().await;
}

#[tokio::test]
async fn invoke_and_count_tokens_enforce_the_same_rules() {
    let double = start(&[]).await;
    let client = client(&double);
    let body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}], "thinking": {"type": "disabled"}});
    let err = client
        .invoke_model()
        .model_id(OPUS_55)
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        err.message()
            .unwrap()
            .contains("\"thinking.type.disabled\" is not supported")
    );
    let haiku = client
        .invoke_model()
        .model_id(HAIKU_55)
        .body(Blob::new(body.to_string()))
        .send()
        .await;
    assert!(haiku.is_ok(), "Haiku 5.5 may turn thinking off");

    use aws_sdk_bedrockruntime::types::{CountTokensInput, InvokeModelTokensRequest};
    let counted = |body: serde_json::Value| {
        client
            .count_tokens()
            .model_id("anthropic.claude-sonnet-5-5")
            .input(CountTokensInput::InvokeModel(
                InvokeModelTokensRequest::builder()
                    .body(Blob::new(body.to_string()))
                    .build()
                    .unwrap(),
            ))
            .send()
    };
    let mut budget = body.clone();
    budget["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
    let err = counted(budget).await.unwrap_err().into_service_error();
    assert!(err.message().unwrap().contains("\"thinking.type.enabled\""));
    let mut plain = body;
    plain.as_object_mut().unwrap().remove("thinking");
    assert!(counted(plain).await.unwrap().input_tokens() > 0);
    double.shutdown().await;
}

#[tokio::test]
async fn a_denied_model_answers_access_denied_and_others_still_work() {
    let double = start(&["anthropic.claude-sonnet-5-5"]).await;
    let client = client(&double);
    for model in [SONNET_55, "global.anthropic.claude-sonnet-5-5"] {
        let err = client
            .converse()
            .model_id(model)
            .messages(user("hi"))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_access_denied_exception(), "{model}: {err:?}");
        assert_eq!(
            err.message(),
            Some("You don't have access to the model with the specified model ID.")
        );
    }
    client
        .converse()
        .model_id(OPUS_55)
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    double.shutdown().await;
}

#[tokio::test]
async fn an_end_of_life_model_answers_resource_not_found() {
    let double = start(&[]).await;
    let err = client(&double)
        .converse()
        .model_id("us.anthropic.claude-sonnet-4-20250514-v1:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(
        err.message(),
        Some(
            "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
        )
    );
    double.shutdown().await;
}

#[tokio::test]
async fn an_unknown_denied_model_is_a_start_error() {
    let err = bedrock_double::start(DoubleConfig {
        denied_models: vec!["anthropic.claude-nope".into()],
        ..DoubleConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("anthropic.claude-nope"));
}
