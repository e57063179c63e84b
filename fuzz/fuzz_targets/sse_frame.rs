//! SSE framing round trip: any JSON value framed by the server's `data:`
//! writer is exactly one event (one `data: ` line, one blank-line
//! terminator) whose payload parses back to the same value.
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
    let back: Value = serde_json::from_str(payload).expect("the payload is JSON");
    assert_eq!(back, value);
});
