//! Directive-driven faults and reply shapes, observed through the real SDK
//! (and plain HTTP for the unauthenticated stats endpoint).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlockDelta, ConverseStreamOutput, InferenceConfiguration, ReasoningContentBlockDelta,
    StopReason,
};
use aws_smithy_types::Document;

mod common;
use common::{MODEL, client, double, user};

#[tokio::test]
async fn status_directives_map_to_bedrock_error_shapes() {
    let double = double().await;
    let client = client(&double);
    let cases = [
        (400, "ValidationException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (408, "ModelTimeoutException"),
        (424, "ModelErrorException"),
        (429, "ThrottlingException"),
        (500, "InternalServerException"),
        (503, "ServiceUnavailableException"),
    ];
    for (status, code) in cases {
        let error = client
            .converse()
            .model_id(MODEL)
            .messages(user(&format!("hi [[double:status={status}]]")))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.raw_response().unwrap().status().as_u16(), status);
        assert_eq!(error.code(), Some(code), "status {status}");
        assert!(error.message().is_some_and(|m| !m.is_empty()));
    }
    double.shutdown().await;
}

#[tokio::test]
async fn long_reply_is_cut_at_max_tokens_and_stop_sequences_cut_text() {
    let double = double().await;
    let client = client(&double);
    let output = client
        .converse()
        .model_id(MODEL)
        .messages(user("[[double:long=200]]"))
        .inference_config(InferenceConfiguration::builder().max_tokens(20).build())
        .send()
        .await
        .unwrap();
    assert_eq!(output.stop_reason(), &StopReason::MaxTokens);
    assert_eq!(output.usage().unwrap().output_tokens(), 20);

    let output = client
        .converse()
        .model_id(MODEL)
        .messages(user("say it [[double:stop=STOP]]"))
        .additional_model_response_field_paths("/stop_sequence")
        .send()
        .await
        .unwrap();
    assert_eq!(output.stop_reason(), &StopReason::StopSequence);
    let text = output.output().unwrap().as_message().unwrap().content()[0]
        .as_text()
        .unwrap();
    assert_eq!(text, &format!("Reply from {MODEL}: say it "));
    let fields = output.additional_model_response_fields().unwrap();
    assert_eq!(
        fields.as_object().unwrap()["stop_sequence"],
        Document::String("STOP".into())
    );
    double.shutdown().await;
}

#[tokio::test]
async fn thinking_streams_reasoning_with_a_signature_before_text() {
    let double = double().await;
    let thinking = Document::Object(
        [(
            "thinking".to_owned(),
            Document::Object(
                [
                    ("type".to_owned(), Document::String("enabled".into())),
                    ("budget_tokens".to_owned(), Document::from(1024u64)),
                ]
                .into(),
            ),
        )]
        .into(),
    );
    let mut output = client(&double)
        .converse_stream()
        .model_id(MODEL)
        .messages(user("think first"))
        .additional_model_request_fields(thinking)
        .send()
        .await
        .unwrap();
    let (mut reasoning, mut signature, mut text_index) = (String::new(), None, None);
    while let Some(event) = output.stream.recv().await.unwrap() {
        if let ConverseStreamOutput::ContentBlockDelta(d) = event {
            match d.delta().unwrap() {
                ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t)) => {
                    reasoning.push_str(t)
                }
                ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(s)) => {
                    signature = Some(s.clone())
                }
                ContentBlockDelta::Text(_) => text_index = Some(d.content_block_index()),
                other => panic!("unexpected delta {other:?}"),
            }
        }
    }
    assert_eq!(reasoning, "Thinking about: think first");
    assert!(signature.is_some_and(|s| !s.is_empty()));
    assert_eq!(text_index, Some(1));
    double.shutdown().await;
}

#[tokio::test]
async fn invoke_stream_midstream_model_timeout_is_typed() {
    let double = double().await;
    let body = serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi [[double:midstream=modelTimeoutException]]"}],
    });
    let mut output = client(&double)
        .invoke_model_with_response_stream()
        .model_id(MODEL)
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let mut chunks = 0;
    let error = loop {
        match output.body.recv().await {
            Ok(Some(_)) => chunks += 1,
            Ok(None) => panic!("stream ended without the exception"),
            Err(error) => break error,
        }
    };
    // message_start, content_block_start, first text delta.
    assert_eq!(chunks, 3);
    assert!(
        error
            .as_service_error()
            .unwrap()
            .is_model_timeout_exception()
    );
    double.shutdown().await;
}

#[tokio::test]
async fn delay_holds_the_response_headers() {
    let double = double().await;
    let started = Instant::now();
    client(&double)
        .converse()
        .model_id(MODEL)
        .messages(user("[[double:delay=300]] slow"))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    double.shutdown().await;
}

#[tokio::test]
async fn stall_keeps_the_stream_open_until_shutdown() {
    let double = double().await;
    let mut output = client(&double)
        .converse_stream()
        .model_id(MODEL)
        .messages(user("hang [[double:stall]]"))
        .send()
        .await
        .unwrap();
    for expected in ["messageStart", "contentBlockDelta"] {
        let event = output.stream.recv().await.unwrap().unwrap();
        let is_expected = match expected {
            "messageStart" => event.is_message_start(),
            _ => event.is_content_block_delta(),
        };
        assert!(is_expected, "expected {expected}, got {event:?}");
    }
    // Absence of progress can only be observed over some time.
    let next = tokio::time::timeout(Duration::from_millis(300), output.stream.recv()).await;
    assert!(next.is_err(), "a stalled stream sends nothing more");
    // Shutdown must not wait for the stalled connection.
    tokio::time::timeout(Duration::from_secs(5), double.shutdown())
        .await
        .expect("shutdown drops stalled connections");
}

#[tokio::test]
async fn stats_endpoint_reports_operations_and_models() {
    let double = double().await;
    let client = client(&double);
    let arn =
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6";
    client
        .converse()
        .model_id(arn)
        .messages(user("a"))
        .send()
        .await
        .unwrap();
    let mut stream = client
        .converse_stream()
        .model_id(MODEL)
        .messages(user("b"))
        .send()
        .await
        .unwrap();
    while stream.stream.recv().await.unwrap().is_some() {}

    let stats: serde_json::Value = reqwest::get(format!("{}/__double/stats", double.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 2);
    assert_eq!(stats["by_operation"]["Converse"], 1);
    assert_eq!(stats["by_operation"]["ConverseStream"], 1);
    assert_eq!(stats["by_model"][arn], 1);
    assert_eq!(stats["by_model"][MODEL], 1);
    double.shutdown().await;
}
