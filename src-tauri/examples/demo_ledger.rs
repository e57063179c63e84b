//! Fills a usage ledger with 30 days of plausible traffic, so `make demo`
//! and the screenshots show costs without an AWS account:
//!
//!     cargo run -p clawrouter-desktop --example demo_ledger -- LEDGER_PATH
//!
//! Deterministic (a fixed-seed generator), priced with the built-in catalog.

use std::path::PathBuf;

use anyhow::Context;
use clawrouter::catalog::{Catalog, Category, TokenUsage};
use clawrouter::ledger::{Ledger, RequestRow};

const DAY_MS: i64 = 86_400_000;

fn main() -> anyhow::Result<()> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: demo_ledger LEDGER_PATH")?
        .into();
    let catalog = Catalog::builtin()?;
    let ledger = Ledger::open(&path)?;
    let top = catalog
        .top_tier_model()
        .context("the built-in catalog has no top tier")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let now = i64::try_from(now)?;
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    // (category, weight): what a day of IDE use looks like.
    let mix = [
        (Category::SimpleChat, 6),
        (Category::Lookup, 3),
        (Category::Coding, 8),
        (Category::Summarization, 2),
        (Category::Reasoning, 1),
    ];
    let clients = [
        "claude-cli/2.1.3",
        "codex_cli_rs/0.171.0",
        "aider/0.86",
        "OpenAI/Python 3.57.0",
    ];
    for day in (0..30).rev() {
        let requests = 6 + next(10) + if day < 7 { 6 } else { 0 };
        for _ in 0..requests {
            let mut pick = next(20);
            let category = mix
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or(Category::SimpleChat, |(c, _)| *c);
            let tier = catalog.routing().categories.get(&category).copied();
            let Some((_, model)) = tier.and_then(|t| catalog.tier_candidates(t).next()) else {
                continue;
            };
            let usage = TokenUsage {
                input: 400 + next(6_000),
                output: 80 + next(1_500),
                cache_read: next(20_000),
                cache_write: next(2_000),
                cache_write_1h: 0,
            };
            let throttled = next(40) == 0;
            let at_ms = now - day * DAY_MS - i64::try_from(next(8 * 3_600_000))?;
            ledger.record(
                RequestRow {
                    at_ms: at_ms.min(now),
                    client: clients[usize::try_from(next(4))?].to_owned(),
                    route: "/v1/chat/completions".to_owned(),
                    requested_model: "auto".to_owned(),
                    tier,
                    category: Some(category),
                    model: model.name.clone(),
                    profile_id: model.profile_id.clone(),
                    usage: if throttled {
                        TokenUsage::default()
                    } else {
                        usage
                    },
                    cost_usd: None,
                    top_tier_cost_usd: None,
                    cache_saved_usd: Usd::ZERO,
                    latency_ms: 300 + next(4_000),
                    ttft_ms: Some(200 + next(900)),
                    status: if throttled { 429 } else { 200 },
                    error_kind: throttled.then(|| "throttled".to_owned()),
                }
                .priced(model)
                .against_top_tier(top),
            );
        }
    }
    ledger.flush()?;
    println!("seeded {}", path.display());
    Ok(())
}
