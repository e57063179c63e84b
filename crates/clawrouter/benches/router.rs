//! How long a routing decision takes: on a short prompt (target: median under
//! 50 µs) and on a 100 KB prompt (bounded by the regex scan window).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use clawrouter::catalog::Catalog;
use clawrouter::router::{AllAvailable, RouteInput, Router};
use criterion::{Criterion, criterion_group, criterion_main};

fn decide(c: &mut Criterion) {
    let catalog = Catalog::builtin().unwrap();
    let router = Router::new(&catalog).unwrap();

    let short = "prove that the square root of 2 is irrational";
    c.bench_function("decide/short", |b| {
        b.iter(|| {
            router
                .decide(
                    &catalog,
                    &RouteInput::from_text(black_box(short)),
                    &AllAvailable,
                )
                .unwrap()
        })
    });

    // A Claude Code turn: a preamble, a pasted 100 KB log, the ask at the end.
    let mut long =
        String::from("<system-reminder>\nThe user opened src/server.rs.\n</system-reminder>\n");
    let line = "2025-01-01T00:00:00Z INFO request handled in 12ms path=/v1/messages status=200\n";
    while long.len() < 100 * 1024 {
        long.push_str(line);
    }
    long.push_str("Why does the latency spike after the first request? Find the bug.");
    let input = RouteInput {
        has_tools: true,
        ..RouteInput::from_text(&long)
    };
    c.bench_function("decide/100KB", |b| {
        b.iter(|| {
            router
                .decide(&catalog, black_box(&input), &AllAvailable)
                .unwrap()
        })
    });
}

criterion_group!(benches, decide);
criterion_main!(benches);
