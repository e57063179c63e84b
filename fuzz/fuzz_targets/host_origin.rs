//! The Host and Origin checks against a plain oracle: a Host passes only if
//! it is, ignoring ASCII case, one of the three loopback names with the port
//! (or bare, for port 80); an Origin passes only on an exact allow-list match.
#![no_main]

use clawrouter::server::{host_allowed, origin_allowed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((port, value)) = data.split_first_chunk::<2>() else {
        return;
    };
    let port = u16::from_be_bytes(*port);
    let lower = value.to_ascii_lowercase();
    let mut expected: Vec<Vec<u8>> = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .map(|name| format!("{name}:{port}").into_bytes())
        .collect();
    if port == 80 {
        expected.extend(["localhost", "127.0.0.1", "[::1]"].map(|n| n.as_bytes().to_vec()));
    }
    assert_eq!(
        host_allowed(value, port),
        expected.contains(&lower),
        "Host {:?} port {port}",
        String::from_utf8_lossy(value)
    );

    let allowed = ["http://localhost:3000".to_owned()];
    assert_eq!(
        origin_allowed(value, &allowed),
        lower == b"http://localhost:3000",
        "Origin {:?}",
        String::from_utf8_lossy(value)
    );
});
