//! OpenAI Chat Completions JSON (arbitrary bytes) → Bedrock Converse request,
//! for every catalog model. Invariants: no panic; a translated request names
//! the model's profile and keeps `max_tokens` within the model's output cap.
#![no_main]

use std::sync::OnceLock;

use clawrouter::catalog::Catalog;
use clawrouter::openai::{self, ChatCompletionRequest};
use libfuzzer_sys::fuzz_target;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::builtin().expect("the built-in catalog loads"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<ChatCompletionRequest>(data) else {
        return;
    };
    let _ = openai::route_input(&req);
    for model in catalog().models() {
        if let Ok((converse, _)) = openai::to_converse(&req, model, &model.profile_id) {
            assert_eq!(converse.model_id, model.profile_id);
            if let Some(max) = converse.inference.as_ref().and_then(|i| i.max_tokens()) {
                assert!(max > 0 && max as u32 <= model.max_output, "max_tokens {max}");
            }
        }
    }
});
