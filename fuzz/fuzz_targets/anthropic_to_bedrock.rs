//! Anthropic Messages JSON (arbitrary bytes) → Bedrock InvokeModel body, for
//! every catalog model. Invariants: no panic; a body that is produced is a
//! JSON object without `model`/`stream`, with `max_tokens` within the
//! model's output cap.
#![no_main]

use std::sync::OnceLock;

use clawrouter::anthropic::{self, MessagesRequest};
use clawrouter::catalog::Catalog;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::builtin().expect("the built-in catalog loads"))
}

const BETAS: &str = "interleaved-thinking-2025-05-14,context-1m-2025-08-07,bogus-beta";

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<MessagesRequest>(data) else {
        return;
    };
    let _ = anthropic::route_input(&req);
    let _ = anthropic::estimate_tokens(&req);
    for model in catalog().models() {
        let _ = anthropic::count_tokens_body(&req, Some(BETAS), model);
        let Ok(body) = anthropic::bedrock_body(&req, Some(BETAS), model) else {
            continue;
        };
        let body: Value = serde_json::from_slice(&body).expect("the body is JSON");
        let object = body.as_object().expect("the body is an object");
        assert!(!object.contains_key("model") && !object.contains_key("stream"));
        let max = object["max_tokens"].as_u64().expect("max_tokens is set");
        assert!(max > 0 && max <= u64::from(model.max_output), "max_tokens {max}");
    }
});
