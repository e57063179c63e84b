//! Bedrock stream chunks (arbitrary bytes, one chunk per line) → Anthropic
//! SSE events. Invariants: no panic; every relayed event's data is JSON
//! whose `type` is the event name.
#![no_main]

use clawrouter::anthropic::StreamRelay;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut relay = StreamRelay::new("claude-sonnet-4-5", Some("[mid] ".to_owned()));
    for chunk in data.split(|b| *b == b'\n') {
        let Ok(event) = relay.relay(chunk) else {
            continue;
        };
        let value: Value = serde_json::from_slice(&event.data).expect("relayed data is JSON");
        assert_eq!(value["type"].as_str(), Some(event.name.as_str()));
    }
    let _ = relay.usage();
    let _ = relay.is_complete();
});
