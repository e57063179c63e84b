//! The real `aws-sdk-bedrockruntime` client against the double: if the SDK
//! parses every answer into the types it would get from Bedrock, the double
//! is faithful enough for the proxy's tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlockDelta, ContentBlockStart, ConverseStreamOutput, CountTokensInput,
    InvokeModelTokensRequest, ResponseStream, StopReason, Tool, ToolConfiguration, ToolInputSchema,
    ToolSpecification,
};
use aws_smithy_types::Document;
use bedrock_double::{TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};

use serde_json::{Value, json};

mod common;
use common::{MODEL, client, client_with_keys, double, user};

fn weather_tools() -> ToolConfiguration {
    let schema = Document::Object(
        [
            ("type".to_owned(), Document::String("object".into())),
            (
                "properties".to_owned(),
                Document::Object(
                    [(
                        "city".to_owned(),
                        Document::Object(
                            [("type".to_owned(), Document::String("string".into()))].into(),
                        ),
                    )]
                    .into(),
                ),
            ),
            (
                "required".to_owned(),
                Document::Array(vec![Document::String("city".into())]),
            ),
        ]
        .into(),
    );
    let spec = ToolSpecification::builder()
        .name("get_weather")
        .input_schema(ToolInputSchema::Json(schema))
        .build()
        .unwrap();
    ToolConfiguration::builder()
        .tools(Tool::ToolSpec(spec))
        .build()
        .unwrap()
}

#[tokio::test]
async fn converse_answers_with_text_naming_the_model() {
    let double = double().await;
    let output = client(&double)
        .converse()
        .model_id(MODEL)
        .messages(user("hello double"))
        .send()
        .await
        .unwrap();
    let message = output.output().unwrap().as_message().unwrap();
    let text = message.content()[0].as_text().unwrap();
    assert_eq!(text, &format!("Reply from {MODEL}: hello double"));
    assert_eq!(output.stop_reason(), &StopReason::EndTurn);
    let usage = output.usage().unwrap();
    assert_eq!(usage.output_tokens() as usize, text.len().div_ceil(4));
    assert_eq!(
        usage.total_tokens(),
        usage.input_tokens() + usage.output_tokens()
    );

    let stats = double.stats();
    assert_eq!(stats.requests, 1);
    assert_eq!(stats.by_operation["Converse"], 1);
    assert_eq!(stats.by_model[MODEL], 1);
    double.shutdown().await;
}

#[tokio::test]
async fn converse_stream_text_and_usage_match_converse() {
    let double = double().await;
    let client = client(&double);
    let prompt = "tell me a story about seven small red foxes";
    let whole = client
        .converse()
        .model_id(MODEL)
        .messages(user(prompt))
        .send()
        .await
        .unwrap();
    let mut output = client
        .converse_stream()
        .model_id(MODEL)
        .messages(user(prompt))
        .send()
        .await
        .unwrap();

    let (mut text, mut deltas, mut usage, mut stop) = (String::new(), 0, None, None);
    while let Some(event) = output.stream.recv().await.unwrap() {
        match event {
            ConverseStreamOutput::ContentBlockDelta(d) => {
                text.push_str(d.delta().unwrap().as_text().unwrap());
                deltas += 1;
            }
            ConverseStreamOutput::MessageStop(s) => stop = Some(s.stop_reason().clone()),
            ConverseStreamOutput::Metadata(m) => usage = m.usage().cloned(),
            _ => {}
        }
    }
    let whole_text = whole.output().unwrap().as_message().unwrap().content()[0]
        .as_text()
        .unwrap();
    assert_eq!(&text, whole_text);
    assert!(deltas > 1, "text should arrive in several deltas");
    assert_eq!(stop, Some(StopReason::EndTurn));
    assert_eq!(usage.as_ref(), whole.usage());
    double.shutdown().await;
}

#[tokio::test]
async fn tool_call_streams_as_start_and_input_deltas() {
    let double = double().await;
    let mut output = client(&double)
        .converse_stream()
        .model_id(MODEL)
        .messages(user("weather in Paris? [[double:tool=get_weather]]"))
        .tool_config(weather_tools())
        .send()
        .await
        .unwrap();

    let (mut tool_start, mut input, mut input_deltas, mut stop) = (None, String::new(), 0, None);
    while let Some(event) = output.stream.recv().await.unwrap() {
        match event {
            ConverseStreamOutput::ContentBlockStart(s) => {
                if let Some(ContentBlockStart::ToolUse(t)) = s.start() {
                    tool_start = Some((
                        s.content_block_index(),
                        t.name().to_owned(),
                        t.tool_use_id().to_owned(),
                    ));
                }
            }
            ConverseStreamOutput::ContentBlockDelta(d) => {
                if let Some(ContentBlockDelta::ToolUse(t)) = d.delta() {
                    input.push_str(t.input());
                    input_deltas += 1;
                }
            }
            ConverseStreamOutput::MessageStop(s) => stop = Some(s.stop_reason().clone()),
            _ => {}
        }
    }
    let (index, name, id) = tool_start.expect("a toolUse contentBlockStart");
    assert_eq!(index, 1, "the tool call follows the text block");
    assert_eq!(name, "get_weather");
    assert!(
        id.starts_with("tooluse_") && id.len() == "tooluse_".len() + 22,
        "{id}"
    );
    assert!(input_deltas >= 2);
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"city": "sample"})
    );
    assert_eq!(stop, Some(StopReason::ToolUse));
    double.shutdown().await;
}

#[tokio::test]
async fn midstream_exception_surfaces_as_a_throttling_error() {
    let double = double().await;
    let mut output = client(&double)
        .converse_stream()
        .model_id(MODEL)
        .messages(user("hi [[double:midstream=throttlingException]]"))
        .send()
        .await
        .unwrap();
    let mut events = 0;
    let error = loop {
        match output.stream.recv().await {
            Ok(Some(_)) => events += 1,
            Ok(None) => panic!("stream ended without the exception"),
            Err(error) => break error,
        }
    };
    assert_eq!(events, 2, "messageStart and the first delta come first");
    let service_error = error.as_service_error().expect("a modelled exception");
    assert!(service_error.is_throttling_exception());
    assert_eq!(
        service_error.message(),
        Some("Too many requests, please wait before trying again.")
    );
    double.shutdown().await;
}

#[tokio::test]
async fn invoke_model_returns_an_anthropic_message() {
    let double = double().await;
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "hello invoke"}],
    });
    let output = client(&double)
        .invoke_model()
        .model_id(MODEL)
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let message: Value = serde_json::from_slice(output.body().as_ref()).unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(
        message["content"][0]["text"],
        format!("Reply from {MODEL}: hello invoke")
    );
    assert_eq!(message["stop_reason"], "end_turn");
    assert!(message["usage"]["input_tokens"].as_u64().unwrap() >= 1);
    double.shutdown().await;
}

#[tokio::test]
async fn invoke_stream_chunks_decode_to_anthropic_events() {
    let double = double().await;
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "stream me a few words please"}]}],
    });
    let mut output = client(&double)
        .invoke_model_with_response_stream()
        .model_id(MODEL)
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(output.content_type(), "application/json");

    let (mut types, mut text, mut signature) = (Vec::new(), String::new(), false);
    while let Some(event) = output.body.recv().await.unwrap() {
        let ResponseStream::Chunk(part) = event else {
            panic!("unexpected {event:?}")
        };
        let event: Value = serde_json::from_slice(part.bytes().unwrap().as_ref()).unwrap();
        match event["delta"]["type"].as_str() {
            Some("text_delta") => text.push_str(event["delta"]["text"].as_str().unwrap()),
            Some("signature_delta") => signature = true,
            _ => {}
        }
        types.push(event["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(types.first().map(String::as_str), Some("message_start"));
    assert_eq!(&types[types.len() - 2..], ["message_delta", "message_stop"]);
    assert_eq!(
        text,
        format!("Reply from {MODEL}: stream me a few words please")
    );
    assert!(signature, "thinking ends with a signature delta");
    double.shutdown().await;
}

#[tokio::test]
async fn count_tokens_counts_the_invoke_body() {
    let double = double().await;
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x".repeat(41)}],
    });
    let request = InvokeModelTokensRequest::builder()
        .body(Blob::new(body.to_string()))
        .build()
        .unwrap();
    let output = client(&double)
        .count_tokens()
        .model_id("anthropic.claude-sonnet-4-5-20250929-v1:0")
        .input(CountTokensInput::InvokeModel(request))
        .send()
        .await
        .unwrap();
    assert_eq!(output.input_tokens(), 11);
    double.shutdown().await;
}

#[tokio::test]
async fn wrong_secret_and_unknown_key_are_403s() {
    let double = double().await;
    let cases = [
        (
            TEST_ACCESS_KEY_ID,
            "not-the-secret",
            "InvalidSignatureException",
        ),
        (
            "AKIDUNKNOWN",
            TEST_SECRET_ACCESS_KEY,
            "UnrecognizedClientException",
        ),
    ];
    for (key, secret, code) in cases {
        let error = client_with_keys(&double, key, secret)
            .converse()
            .model_id(MODEL)
            .messages(user("hi"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.raw_response().unwrap().status().as_u16(), 403);
        assert_eq!(error.code(), Some(code));
    }
    double.shutdown().await;
}

#[tokio::test]
async fn bare_model_id_is_rejected_with_the_on_demand_message() {
    let double = double().await;
    let bare = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    let error = client(&double)
        .converse()
        .model_id(bare)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    let service_error = error.as_service_error().unwrap();
    assert!(service_error.is_validation_exception());
    assert_eq!(
        service_error.message().unwrap(),
        format!(
            "Invocation of model ID {bare} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        )
    );
    double.shutdown().await;
}

#[tokio::test]
async fn throttle_directive_is_a_throttling_exception() {
    let double = double().await;
    let error = client(&double)
        .converse()
        .model_id(MODEL)
        .messages(user("[[double:throttle]] hi"))
        .send()
        .await
        .unwrap_err();
    assert!(error.as_service_error().unwrap().is_throttling_exception());
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 429);
    assert_eq!(
        double.stats().by_operation["Converse"],
        1,
        "failing requests count too"
    );
    double.shutdown().await;
}
