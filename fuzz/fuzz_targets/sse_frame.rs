//! SSE framing round trip: any JSON value framed by the server's `data:`
//! writer is exactly one event (one `data: ` line, one blank-line
//! terminator) whose payload is that value's JSON and parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let frame = clawrouter::server::sse_data_frame(&value);
    let text = std::str::from_utf8(&frame).expect("frames are UTF-8");
    let payload = text
        .strip_prefix("data: ")
        .and_then(|t| t.strip_suffix("\n\n"))
        .expect("one data: line ended by a blank line");
    assert!(
        !payload.contains('\n') && !payload.contains('\r'),
        "a line break inside the payload would split the event"
    );
    // The payload is the value's JSON, byte for byte. (Comparing re-parsed
    // values would test serde_json's float parsing, which without its
    // `float_roundtrip` feature may differ by one ULP on long literals.)
    assert_eq!(payload, serde_json::to_string(&value).expect("JSON values serialize"));
    let back: Value = serde_json::from_str(payload).expect("the payload is JSON");
    assert_eq!(back.is_object(), value.is_object());
});
