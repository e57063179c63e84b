//! CountTokens: the input tokens a Converse or invoke request would be
//! charged, counted exactly as the generating operations count them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::lineup::Model;
use crate::{converse, invoke};

/// `{"input":{"invokeModel":{"body":"<base64>"}}}` or
/// `{"input":{"converse":{"messages":[..],"system":[..]}}}` → `{"inputTokens":N}`.
pub fn count(model: &Model, body: &[u8]) -> Result<Value, ApiError> {
    let request: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::validation("Malformed input request, please reformat your input and try again.")
    })?;
    let input = &request["input"];
    let tokens = if let Some(encoded) = input["invokeModel"]["body"].as_str() {
        let body = BASE64
            .decode(encoded)
            .map_err(|_| ApiError::validation("input.invokeModel.body must be base64"))?;
        invoke::count_input_tokens(model, &body)?
    } else if input["converse"].is_object() {
        converse::count_input_tokens(model, &input["converse"])?
    } else {
        return Err(ApiError::validation(
            "input must contain exactly one of invokeModel or converse",
        ));
    };
    Ok(json!({ "inputTokens": tokens }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineup::Lineup;

    #[test]
    fn both_inputs_count_the_same_text() {
        let lineup = Lineup::builtin().unwrap();
        let model = lineup
            .model("anthropic.claude-haiku-4-5-20251001-v1:0")
            .unwrap();
        let count = |body: &[u8]| super::count(model, body);
        let invoke_body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
            "messages": [{"role": "user", "content": "x".repeat(40)}]});
        let via_invoke = count(
            json!({"input": {"invokeModel": {"body": BASE64.encode(invoke_body.to_string())}}})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        let via_converse = count(
            json!({"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "x".repeat(40)}]}]}}})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(via_invoke, json!({"inputTokens": 10}));
        assert_eq!(via_converse, via_invoke);
        assert!(count(b"{\"input\":{}}").is_err());
    }
}
