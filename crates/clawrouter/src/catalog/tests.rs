use super::*;

fn with_model(id: &str, rest: &str) -> String {
    format!(
        "provider_models:\n  bedrock:\n    models:\n      - name: bedrock/m\n        id: {id}\n{rest}"
    )
}

const OK_PRICE: &str =
    "        price: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 }\n";
const OK_LIFE: &str = "        lifecycle: active\n";

fn unknown_model(rest: &str) -> String {
    with_model("us.anthropic.claude-opus-9-9", rest)
}

#[test]
fn builtin_catalog_ships_the_current_lineup_with_living_tiers() {
    let c = Catalog::builtin().unwrap();
    for name in [
        "bedrock/claude-haiku-5-5",
        "bedrock/claude-sonnet-5-5",
        "bedrock/claude-opus-5-5",
        "bedrock/claude-sonnet-4-6",
        "bedrock/claude-opus-4-8",
        "bedrock/claude-opus-4-6",
        "bedrock/claude-sonnet-4-5",
        "bedrock/claude-sonnet-4",
        "bedrock/claude-haiku-4-5",
    ] {
        assert!(c.model(name).is_some(), "{name} missing");
    }
    let first = |tier| c.tier_candidates(tier).next().unwrap().1.name.clone();
    assert_eq!(first(Tier::Low), "bedrock/claude-haiku-5-5");
    assert_eq!(first(Tier::Mid), "bedrock/claude-sonnet-5-5");
    assert_eq!(first(Tier::Top), "bedrock/claude-opus-5-5");
    for tier in Tier::ALL {
        let list: Vec<_> = c.tier_candidates(tier).collect();
        assert!(list.len() >= 2, "tier {tier} has no fallback");
        for (_, m) in list {
            assert!(m.is_living(), "tier {tier} falls back to {}", m.name);
        }
    }
    let opus = c.model("bedrock/claude-opus-5-5").unwrap();
    assert_eq!(opus.profile_id, "us.anthropic.claude-opus-5-5");
    assert_eq!(opus.price.input, rust_decimal::Decimal::from(4));
    assert_eq!(opus.thinking.style, ThinkingStyle::AlwaysOn);
    assert!(!opus.forced_tool_choice);
}

#[test]
fn seed_shape_loads_unchanged() {
    let seed = r#"
provider_models:
  bedrock:
    key_env: AWS_ACCESS_KEY_ID
    extra_env:
      - AWS_SECRET_ACCESS_KEY
      - AWS_REGION_NAME
    models:
      - name: bedrock/claude-opus-4-6
        id: bedrock/us.anthropic.claude-opus-4-6-v1
        price: { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25 }
tier_candidates:
  top:
    - provider: bedrock
      model: bedrock/us.anthropic.claude-opus-4-6-v1
      display: "Claude-Opus-4.6 (Bedrock)"
      cost: "$15.00/M"
"#;
    let c = Catalog::parse(seed, "seed.yaml").unwrap();
    let (cand, model) = c.tier_candidates(Tier::Top).next().unwrap();
    assert_eq!(cand.display, "Claude-Opus-4.6 (Bedrock)");
    assert_eq!(model.name, "bedrock/claude-opus-4-6");
    assert_eq!(model.lifecycle.status, LifecycleStatus::Active);
}

/// The seed worklog's own excerpt (provider section and top tier), under the
/// keys it lives in: names and ids only, no prices.
#[test]
fn seed_worklog_models_load_with_their_real_lifecycle() {
    let seed = r#"
provider_models:
  bedrock:
    key_env: AWS_ACCESS_KEY_ID
    extra_env:
      - AWS_SECRET_ACCESS_KEY
      - AWS_REGION_NAME
    models:
      - name: bedrock/claude-opus-4-6
        id: bedrock/us.anthropic.claude-opus-4-6-v1
      - name: bedrock/claude-sonnet-4-5
        id: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0
      - name: bedrock/claude-sonnet-4
        id: bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0
tier_candidates:
  top:
    - provider: bedrock
      model: bedrock/us.anthropic.claude-opus-4-6-v1
      display: "Claude-Opus-4.6 (Bedrock)"
      cost: "$15.00/M"
"#;
    let c = Catalog::parse(seed, "seed.yaml").unwrap();
    let life = |n: &str| c.model(n).unwrap().lifecycle.clone();
    assert_eq!(
        life("bedrock/claude-opus-4-6").status,
        LifecycleStatus::Active
    );
    assert_eq!(
        life("bedrock/claude-sonnet-4-5").status,
        LifecycleStatus::Legacy
    );
    let sonnet4 = life("bedrock/claude-sonnet-4");
    assert_eq!(sonnet4.status, LifecycleStatus::Eol);
    assert_eq!(sonnet4.date.as_deref(), Some("2026-10-14"));
    assert_eq!(
        sonnet4.replacement.as_deref(),
        Some("bedrock/claude-sonnet-4-6")
    );
    let opus = c.model("bedrock/claude-opus-4-6").unwrap();
    assert_eq!(opus.price.output, rust_decimal::Decimal::from(25));
}

#[test]
fn unknown_model_without_price_is_an_error_with_file_and_line() {
    let err = Catalog::parse(&unknown_model(OK_LIFE), "x.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.yaml:4:"), "{err}");
    assert!(err.contains("has no price"), "{err}");
}

#[test]
fn unknown_model_without_lifecycle_is_an_error_with_file_and_line() {
    let err = Catalog::parse(&unknown_model(OK_PRICE), "x.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.yaml:4:"), "{err}");
    assert!(err.contains("has no lifecycle"), "{err}");
}

#[test]
fn unknown_model_with_price_and_lifecycle_loads_with_defaults() {
    let c = Catalog::parse(&unknown_model(&format!("{OK_PRICE}{OK_LIFE}")), "x.yaml").unwrap();
    let m = c.model("bedrock/m").unwrap();
    assert_eq!(m.thinking.style, ThinkingStyle::Budget);
    assert_eq!(m.sampling, SamplingRule::Any);
    assert!(m.forced_tool_choice);
    // No betas unless the file states them: an unknown one fails a request.
    assert_eq!(m.accepts, Accepts::default());
}

#[test]
fn builtin_file_states_what_bedrock_accepts_for_every_model() {
    let src = with_model(
        "us.anthropic.claude-sonnet-5-5",
        &format!("{OK_PRICE}{OK_LIFE}"),
    );
    let err = file::parse(&src, "models.yaml", None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("models.yaml:4:"), "{err}");
    assert!(err.contains("has no `accepts`"), "{err}");
    let c = Catalog::builtin().unwrap();
    let sonnet_5_5 = &c.model("bedrock/claude-sonnet-5-5").unwrap().accepts;
    assert!(!sonnet_5_5.beta("interleaved-thinking-2025-05-14"));
    assert!(!sonnet_5_5.field("cache_control.ttl"));
    let sonnet_4_5 = &c.model("bedrock/claude-sonnet-4-5").unwrap().accepts;
    assert!(sonnet_4_5.beta("interleaved-thinking-2025-05-14"));
    assert!(sonnet_4_5.beta("context-1m-2025-08-07"));
    assert!(sonnet_4_5.field("cache_control.ttl"));
}

#[test]
fn a_user_file_inherits_accepts_for_known_ids_and_may_state_its_own() {
    let inherited = Catalog::parse(
        &with_model("us.anthropic.claude-sonnet-4-5-20250929-v1:0", ""),
        "x.yaml",
    )
    .unwrap();
    assert!(
        inherited
            .model("bedrock/m")
            .unwrap()
            .accepts
            .beta("context-1m-2025-08-07")
    );
    let own = Catalog::parse(
        &unknown_model(&format!(
            "{OK_PRICE}{OK_LIFE}        accepts: {{ betas: [new-beta-2099-01-01], fields: [cache_control.ttl] }}\n"
        )),
        "x.yaml",
    )
    .unwrap();
    let accepts = &own.model("bedrock/m").unwrap().accepts;
    assert!(accepts.beta("new-beta-2099-01-01"));
    assert!(accepts.field("cache_control.ttl"));
}

#[test]
fn builtin_file_needs_price_and_lifecycle_for_every_model() {
    // Without the built-in base (as the built-in file itself is parsed),
    // even a known id must be complete.
    let src = with_model("us.anthropic.claude-sonnet-5-5", OK_LIFE);
    let err = file::parse(&src, "models.yaml", None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("models.yaml:4:"), "{err}");
    assert!(err.contains("has no price"), "{err}");
}

#[test]
fn replacement_must_be_a_catalog_model() {
    let src = unknown_model(&format!(
        "{OK_PRICE}        lifecycle: {{ status: eol, date: 2026-01-01, replacement: bedrock/nope }}\n"
    ));
    let err = Catalog::parse(&src, "r.yaml").unwrap_err().to_string();
    assert!(err.starts_with("r.yaml:7:"), "{err}");
    assert!(err.contains("`bedrock/nope` is not a model"), "{err}");
}

#[test]
fn lifecycle_date_must_be_iso() {
    let src = unknown_model(&format!(
        "{OK_PRICE}        lifecycle: {{ status: legacy, date: 14/10/2026 }}\n"
    ));
    let err = Catalog::parse(&src, "d.yaml").unwrap_err().to_string();
    assert!(err.contains("not YYYY-MM-DD"), "{err}");
}

#[test]
fn bare_id_is_rejected_naming_the_profile_id() {
    let err = Catalog::parse(
        &with_model(
            "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
            OK_PRICE,
        ),
        "x.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("x.yaml:5:"), "{err}");
    assert!(
        err.contains("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        "{err}"
    );
    assert!(
        err.contains("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        "{err}"
    );
}

#[test]
fn shortened_id_is_rejected_naming_the_full_id() {
    let err = Catalog::parse(
        &with_model("us.anthropic.claude-sonnet-4-5-v1", OK_PRICE),
        "x.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("shortened"), "{err}");
    assert!(
        err.contains("`us.anthropic.claude-sonnet-4-5-20250929-v1:0`"),
        "{err}"
    );
}

#[test]
fn advice_comes_from_catalog_data() {
    let c = Catalog::builtin().unwrap();
    let advice = c.profile_id_advice("anthropic.claude-haiku-4-5").unwrap();
    assert!(
        advice.contains("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
        "{advice}"
    );
    // Geographies are each model's `geographies`.
    let advice = c
        .profile_id_advice("apac.anthropic.claude-sonnet-4-6")
        .unwrap();
    assert!(
        advice.contains("`global.anthropic.claude-sonnet-4-6`"),
        "{advice}"
    );
    assert_eq!(
        c.profile_id_advice("au.anthropic.claude-haiku-5-5"),
        None,
        "Haiku 5.5 has an au. profile"
    );
    // A catalog that states other geographies gives other advice.
    let own = with_model(
        "us.anthropic.claude-opus-9-9",
        &format!("{OK_PRICE}{OK_LIFE}        geographies: [us]\n"),
    );
    let own = Catalog::parse(&own, "own.yaml").unwrap();
    assert!(
        own.profile_id_advice("eu.anthropic.claude-opus-9-9")
            .unwrap()
            .contains("`us.anthropic.claude-opus-9-9`")
    );
}

#[test]
fn future_and_arn_ids_are_accepted() {
    assert_eq!(profile_id_advice("us.anthropic.claude-opus-6-1"), None);
    assert_eq!(
        profile_id_advice(
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"
        ),
        None
    );
}

#[test]
fn negative_price_is_rejected_with_line() {
    let src = with_model(
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "        price: { input: -3, output: 15, cache_read: 0.3, cache_write: 3.75 }\n",
    );
    let err = Catalog::parse(&src, "p.yaml").unwrap_err().to_string();
    assert!(err.starts_with("p.yaml:4:"), "{err}");
    assert!(err.contains("price input is -3"), "{err}");
}

#[test]
fn duplicate_name_is_rejected_with_line_of_second() {
    let one = with_model("us.anthropic.claude-sonnet-4-20250514-v1:0", OK_PRICE);
    let src = format!(
        "{one}      - name: bedrock/m\n        id: us.anthropic.claude-sonnet-4-20250514-v1:0\n{OK_PRICE}"
    );
    let err = Catalog::parse(&src, "d.yaml").unwrap_err().to_string();
    assert!(err.starts_with("d.yaml:7:"), "{err}");
    assert!(err.contains("duplicate model name"), "{err}");
}

#[test]
fn a_stray_key_in_long_context_is_rejected_with_line() {
    let long = "        price: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75,\n          long_context: { above_input_tokens: 200000, input: 6, output: 22.5, cache_read: 0.6, cache_write: 7.5, cache_write_1h: 12";
    let good = unknown_model(&format!("{long} }} }}\n{OK_LIFE}"));
    let catalog = Catalog::parse(&good, "l.yaml").unwrap();
    let long_context = catalog
        .model("bedrock/m")
        .unwrap()
        .price
        .long_context
        .as_ref();
    assert_eq!(
        long_context.unwrap().rates.cache_write_1h,
        rust_decimal::Decimal::from(12)
    );
    let stray = unknown_model(&format!("{long}, regional_premium: 0.1 }} }}\n{OK_LIFE}"));
    let err = Catalog::parse(&stray, "l.yaml").unwrap_err().to_string();
    assert!(err.starts_with("l.yaml:"), "{err}");
    assert!(err.contains("regional_premium"), "{err}");
}

#[test]
fn unknown_tier_is_rejected_with_line() {
    let src = format!(
        "{}tier_candidates:\n  ultra:\n    - provider: bedrock\n      model: bedrock/m\n",
        with_model("us.anthropic.claude-sonnet-4-20250514-v1:0", OK_PRICE)
    );
    let err = Catalog::parse(&src, "t.yaml").unwrap_err().to_string();
    assert!(err.starts_with("t.yaml:8:"), "{err}");
    assert!(err.contains("unknown tier `ultra`"), "{err}");
}

#[test]
fn yaml_syntax_error_has_line() {
    let err = Catalog::parse("provider_models:\n  bedrock: [\n", "s.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("s.yaml:"), "{err}");
}

#[test]
fn model_lookup_by_name_profile_and_anthropic_names() {
    let c = Catalog::builtin().unwrap();
    let by = |s: &str| c.model(s).map(|m| m.name.clone());
    let sonnet = Some("bedrock/claude-sonnet-4-5".to_owned());
    assert_eq!(by("bedrock/claude-sonnet-4-5"), sonnet);
    assert_eq!(by("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), sonnet);
    assert_eq!(
        by("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        sonnet
    );
    assert_eq!(by("claude-sonnet-4-5-20250929"), sonnet);
    assert_eq!(by("claude-sonnet-4-5"), sonnet);
    assert_eq!(
        by("claude-opus-5-5"),
        Some("bedrock/claude-opus-5-5".to_owned())
    );
    assert_eq!(by("gpt-4o"), None);
}

#[test]
fn geography_rewrite_and_global_fallback_id() {
    let builtin = Catalog::builtin().unwrap();
    let us_opus = builtin.model("bedrock/claude-opus-4-6").unwrap();
    assert_eq!(
        us_opus.global_profile_id().as_deref(),
        Some("global.anthropic.claude-opus-4-6-v1")
    );
    let c = builtin.with_geography(Geography::Eu);
    let opus = c.model("bedrock/claude-opus-4-6").unwrap();
    assert_eq!(opus.profile_id, "eu.anthropic.claude-opus-4-6-v1");
    assert_eq!(
        opus.global_profile_id(),
        None,
        "eu. keeps data in the region"
    );
    // Not offered in au.: keeps its profile.
    let au = builtin.with_geography(Geography::Au);
    assert_eq!(
        au.model("bedrock/claude-opus-4-6").unwrap().profile_id,
        "us.anthropic.claude-opus-4-6-v1"
    );
    assert_eq!(
        au.model("bedrock/claude-opus-5-5").unwrap().profile_id,
        "au.anthropic.claude-opus-5-5"
    );
}

#[test]
fn regional_profiles_cost_the_premium_more_than_global() {
    let c = Catalog::builtin().unwrap();
    let opus = c.model("bedrock/claude-opus-4-6").unwrap();
    let usage = TokenUsage {
        input: 1_000_000,
        output: 1_000_000,
        cache_read: 1_000_000,
        cache_write: 1_000_000,
        cache_write_1h: 0,
    };
    let usd = |s: &str| crate::money::Usd::from_decimal(s.parse().unwrap());
    // 5 + 25 + 0.5 + 6.25
    assert_eq!(
        opus.cost("global.anthropic.claude-opus-4-6-v1", usage),
        usd("36.75")
    );
    // × 1.1, exactly.
    assert_eq!(
        opus.cost("us.anthropic.claude-opus-4-6-v1", usage),
        usd("40.425")
    );
    let sonnet4 = c.model("bedrock/claude-sonnet-4").unwrap();
    let input = TokenUsage {
        input: 100_000,
        ..TokenUsage::default()
    };
    // No regional premium on Sonnet 4: 100k × $3 / M.
    assert_eq!(sonnet4.cost(&sonnet4.profile_id, input), usd("0.3"));
    // Above 200k prompt tokens the long-context tier ($6) applies to all of them.
    let long = TokenUsage {
        input: 150_000,
        cache_read: 100_000,
        ..TokenUsage::default()
    };
    // 150000 × 6 + 100000 × 0.6 = 960000 per million.
    assert_eq!(sonnet4.cost(&sonnet4.profile_id, long), usd("0.96"));
}
