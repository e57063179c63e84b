//! How long a routing decision takes: on short prompts (target: under 20 µs)
//! and on a 100 KB prompt (bounded by the regex scan window).
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

    for (name, text) in [
        (
            "decide/short-plan",
            "Plan a migration of a 2-million-line monolith to services, in phases, with risks and rollback points for each phase",
        ),
        (
            "decide/short-lookup",
            "What's the default port for PostgreSQL?",
        ),
        (
            "decide/short-chinese",
            "离线 AUC 一直在涨，线上点击率却在下降，可能是什么原因？",
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                router
                    .decide(
                        &catalog,
                        &RouteInput::from_text(black_box(text)),
                        &AllAvailable,
                    )
                    .unwrap()
            })
        });
    }

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
