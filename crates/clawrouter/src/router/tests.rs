use super::*;
use crate::catalog;

fn builtin() -> (Catalog, Router) {
    let catalog = Catalog::builtin().unwrap();
    let router = Router::new(&catalog).unwrap();
    (catalog, router)
}

fn classify(text: &str) -> Classification {
    builtin().1.classify(&RouteInput::from_text(text))
}

fn assert_category(texts: &[&str], category: Category, tier: Tier) {
    for text in texts {
        let c = classify(text);
        assert_eq!(
            (c.category, c.tier),
            (category, tier),
            "{text:?} → {}",
            c.why
        );
        assert!(c.confidence > 0.5, "{text:?}: {c:?}");
        assert!(c.why.starts_with(category.as_str()), "{text:?}: {}", c.why);
    }
}

const OPUS: &str = "bedrock/claude-opus-5-5";
const SONNET: &str = "bedrock/claude-sonnet-5-5";
const SONNET_FALLBACK: &str = "bedrock/claude-sonnet-4-6";
const HAIKU: &str = "bedrock/claude-haiku-5-5";

#[test]
fn router_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Router>();
}

// ---------------------------------------------------------------- categories

#[test]
fn heartbeat() {
    assert_category(
        &[
            "ping",
            "hi",
            "Are you there?",
            "test",
            "status",
            "  PING!  ",
        ],
        Category::Heartbeat,
        Tier::Low,
    );
    let empty = classify("   ");
    assert_eq!(
        (empty.category, empty.tier),
        (Category::Heartbeat, Tier::Low)
    );
    assert!(empty.why.contains("empty message"), "{}", empty.why);
}

#[test]
fn simple_chat() {
    assert_category(
        &[
            "hello!",
            "Hey there, how's your day?",
            "thanks, that worked",
            "Thank you so much!",
            "how are you?",
            "good morning",
        ],
        Category::SimpleChat,
        Tier::Low,
    );
}

#[test]
fn lookup() {
    assert_category(
        &[
            "What is the capital of France?",
            "who was the first person on the moon",
            "When did World War II end?",
            "define photosynthesis",
            "what does NASA stand for",
        ],
        Category::Lookup,
        Tier::Low,
    );
}

#[test]
fn translation() {
    assert_category(
        &[
            "translate hello to French",
            "Please translate the following paragraph into German: the weather is nice today.",
            "How do you say 'good night' in Japanese?",
            "what is 'thank you' in spanish?",
        ],
        Category::Translation,
        Tier::Mid,
    );
}

#[test]
fn summarization() {
    assert_category(
        &[
            "Summarize this article for me: the council met on Tuesday and agreed on a budget.",
            "tl;dr of the meeting notes below please",
            "give me the key points of this email thread",
            "Can you summarise the report in three bullets?",
        ],
        Category::Summarization,
        Tier::Mid,
    );
}

#[test]
fn coding() {
    assert_category(
        &[
            "```\nfn main() { println!(\"hi\") }\n```\nthis doesn't print",
            "write a python function that reverses a linked list",
            "there's a bug in src/server.rs, the handler never returns",
            "refactor this class to use dependency injection",
            "write a regex that matches ISO dates",
            "Traceback (most recent call last):\n  File \"app.py\", line 3",
            "my code won't compile, the borrow checker complains",
        ],
        Category::Coding,
        Tier::Mid,
    );
}

#[test]
fn creative() {
    assert_category(
        &[
            "write a poem about the sea",
            "Compose a limerick about a cat who loves lasagna",
            "come up with a slogan for my coffee shop",
            "write lyrics for a song about summer rain",
            "tell me a short story about a lonely robot",
        ],
        Category::Creative,
        Tier::Mid,
    );
}

#[test]
fn reasoning() {
    assert_category(
        &[
            "prove that the square root of 2 is irrational",
            "Derive the quadratic formula step by step",
            "Solve this logic puzzle: three boxes are all labelled wrong",
            "why does ice float on water while most solids sink in their liquid",
            "what is the probability of rolling two sixes in a row",
        ],
        Category::Reasoning,
        Tier::Top,
    );
}

#[test]
fn analysis() {
    assert_category(
        &[
            "Analyze the trade-offs between event sourcing and CRUD for our billing service",
            "compare the pros and cons of remote work for a 20-person startup",
            "evaluate our go-to-market strategy for the European launch",
            "review the architecture of a multi-region deployment and its failure modes",
        ],
        Category::Analysis,
        Tier::Top,
    );
}

#[test]
fn unmatched_text_defaults_to_simple_chat_with_low_confidence() {
    let c = classify("the blue umbrella by the door");
    assert_eq!((c.category, c.tier), (Category::SimpleChat, Tier::Low));
    assert!(c.confidence < 0.5, "{c:?}");
    assert!(c.why.contains("default"), "{}", c.why);
}

#[test]
fn prove_sqrt2_from_text_routes_to_top_model() {
    let (catalog, router) = builtin();
    let d = router
        .decide(
            &catalog,
            &RouteInput::from_text("prove that the square root of 2 is irrational"),
            &AllAvailable,
        )
        .unwrap();
    assert_eq!((d.category, d.tier), (Category::Reasoning, Tier::Top));
    assert_eq!(d.model, OPUS);
    assert!(d.why.contains("proof or derivation"), "{}", d.why);
}

#[test]
fn preamble_is_not_classified_only_the_users_words() {
    let text = "<system-reminder>\nThe user opened src/main.rs. Analyze the architecture, prove things, ```code```.\n</system-reminder>\nthanks!";
    let c = classify(text);
    assert_eq!(
        (c.category, c.tier),
        (Category::SimpleChat, Tier::Low),
        "{}",
        c.why
    );
}

// ---------------------------------------------------------------- tags

#[test]
fn override_tag_forces_tier_with_full_confidence() {
    for (text, tier) in [
        (
            "[low] prove that the square root of 2 is irrational",
            Tier::Low,
        ),
        ("[MEDIUM] hi", Tier::Mid),
        ("[high]hi", Tier::Top),
        ("[Top] hi", Tier::Top),
    ] {
        let c = classify(text);
        assert_eq!(c.tier, tier, "{text}");
        assert_eq!(c.tag, Some(tier), "{text}");
        assert_eq!(c.confidence, 1.0);
        assert!(c.why.starts_with("override tag"), "{}", c.why);
    }
    // The category still comes from the words after the tag.
    assert_eq!(
        classify("[low] prove that the square root of 2 is irrational").category,
        Category::Reasoning
    );
}

#[test]
fn override_tag_after_ide_preamble_and_beats_signals() {
    let (catalog, router) = builtin();
    let text = "<system-reminder>Tools are available.</system-reminder>\n[low] what's the capital of Peru?";
    let input = RouteInput {
        has_tools: true,
        thinking_requested: true,
        ..RouteInput::from_text(text)
    };
    let d = router.decide(&catalog, &input, &AllAvailable).unwrap();
    assert_eq!(
        (d.tier, d.tag, d.model.as_str()),
        (Tier::Low, Some(Tier::Low), HAIKU)
    );
    assert_eq!(d.category, Category::Lookup);
}

// ---------------------------------------------------------------- custom patterns

#[test]
fn custom_patterns_come_before_built_ins_first_match_wins() {
    let yaml = catalog::BUILTIN_YAML.replace(
        "custom_patterns: []",
        "custom_patterns:\n    - pattern: 'irrational|sqrt'\n      category: lookup\n    - pattern: 'prove'\n      category: creative",
    );
    let catalog = Catalog::parse(&yaml, "custom.yaml").unwrap();
    let router = Router::new(&catalog).unwrap();
    let c = router.classify(&RouteInput::from_text(
        "Prove that the square root of 2 is IRRATIONAL",
    ));
    assert_eq!((c.category, c.tier), (Category::Lookup, Tier::Low));
    assert!(
        c.why.contains("custom pattern `irrational|sqrt`"),
        "{}",
        c.why
    );
    let c = router.classify(&RouteInput::from_text("prove Fermat's last theorem"));
    assert_eq!(c.category, Category::Creative);
    // Unmatched text still uses the built-ins.
    assert_eq!(
        router
            .classify(&RouteInput::from_text("translate hello to French"))
            .category,
        Category::Translation
    );
}

#[test]
fn category_tier_mapping_comes_from_the_catalog() {
    let yaml = catalog::BUILTIN_YAML.replace("    coding: mid", "    coding: top");
    let catalog = Catalog::parse(&yaml, "map.yaml").unwrap();
    let router = Router::new(&catalog).unwrap();
    let c = router.classify(&RouteInput::from_text("fix the bug in parser.rs"));
    assert_eq!((c.category, c.tier), (Category::Coding, Tier::Top));
}

// ---------------------------------------------------------------- signals

#[test]
fn tools_lift_low_to_mid_and_say_so() {
    let (_, router) = builtin();
    let c = router.classify(&RouteInput {
        has_tools: true,
        ..RouteInput::from_text("hello there")
    });
    assert_eq!((c.category, c.tier), (Category::SimpleChat, Tier::Mid));
    assert!(c.why.contains("tools present (agent loop)"), "{}", c.why);
    assert!(c.why.ends_with("→ mid"), "{}", c.why);
}

#[test]
fn tool_results_without_clear_ask_are_coding_at_mid() {
    let (_, router) = builtin();
    let c = router.classify(&RouteInput {
        has_tools: true,
        tool_results_in_flight: true,
        ..RouteInput::from_text("<system-reminder>todo list updated</system-reminder>")
    });
    assert_eq!(
        (c.category, c.tier),
        (Category::Coding, Tier::Mid),
        "{}",
        c.why
    );
    assert!(c.why.contains("tool results in flight"), "{}", c.why);
}

#[test]
fn images_thinking_and_long_context_each_lift_to_mid_but_not_top() {
    let (_, router) = builtin();
    let base = RouteInput::from_text("what is the capital of France?");
    let cases = [
        (
            RouteInput {
                has_images: true,
                ..base.clone()
            },
            "images attached",
        ),
        (
            RouteInput {
                thinking_requested: true,
                ..base.clone()
            },
            "thinking requested",
        ),
        (
            RouteInput {
                context_chars: 400_000,
                ..base.clone()
            },
            "long context (~100k tokens)",
        ),
    ];
    for (input, signal) in cases {
        let c = router.classify(&input);
        assert_eq!(
            (c.category, c.tier),
            (Category::Lookup, Tier::Mid),
            "{signal}"
        );
        assert!(c.why.contains(signal), "{}", c.why);
    }
    assert_eq!(router.classify(&base).tier, Tier::Low);
}

#[test]
fn deep_multi_part_ask_goes_one_tier_up_less_sure() {
    let single = classify("write a poem about the sea");
    let multi = classify(
        "write a poem about the sea? and what rhymes with sea? and which metre suits it? and how long?",
    );
    assert_eq!(single.tier, Tier::Mid);
    assert_eq!(
        (multi.category, multi.tier),
        (Category::Creative, Tier::Top)
    );
    assert!(multi.confidence < single.confidence);
    assert!(multi.why.contains("deep multi-part ask"), "{}", multi.why);
}

#[test]
fn huge_prompt_is_classified_from_its_head_and_tail() {
    let filler = "lorem ipsum dolor sit amet ".repeat(4000); // ~108 KB
    let text = format!("Summarize this transcript.\n{filler}");
    let c = classify(&text);
    assert_eq!(c.category, Category::Summarization, "{}", c.why);
    // Long ask: summarization (mid) goes one up, and the context is long.
    assert_eq!(c.tier, Tier::Top);
    let text = format!("{filler}\nWhat is the root cause of this?");
    assert_eq!(classify(&text).category, Category::Analysis);
    // Words in the middle are not scanned.
    let text = format!("{filler}translate into French{filler}");
    assert_ne!(classify(&text).category, Category::Translation);
}

#[test]
fn scan_window_respects_char_boundaries() {
    let text = "é".repeat(5000);
    let w = classify::scan_window(&text);
    assert!(w.len() <= classify::HEAD_BYTES + classify::TAIL_BYTES + 1);
    assert!(w.starts_with('é') && w.ends_with('é'));
}

// ---------------------------------------------------------------- candidates

#[test]
fn candidates_follow_tier_order_each_with_its_global_profile() {
    let (catalog, router) = builtin();
    let d = router
        .decide(
            &catalog,
            &RouteInput::from_text("fix the bug in main.rs"),
            &AllAvailable,
        )
        .unwrap();
    let got: Vec<_> = d
        .candidates
        .iter()
        .map(|c| (c.model.as_str(), c.profile_id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (SONNET, "us.anthropic.claude-sonnet-5-5"),
            (SONNET, "global.anthropic.claude-sonnet-5-5"),
            (SONNET_FALLBACK, "us.anthropic.claude-sonnet-4-6"),
            (SONNET_FALLBACK, "global.anthropic.claude-sonnet-4-6"),
        ]
    );
    assert_eq!(d.model, SONNET);
    assert_eq!(d.profile_id, "us.anthropic.claude-sonnet-5-5");
}

#[test]
fn unavailable_models_are_skipped_and_named() {
    let (catalog, router) = builtin();
    let no_sonnet = |m: &Model| m.name != SONNET;
    let d = router
        .decide(
            &catalog,
            &RouteInput::from_text("fix the bug in main.rs"),
            &no_sonnet,
        )
        .unwrap();
    assert_eq!(d.model, SONNET_FALLBACK);
    assert!(d.candidates.iter().all(|c| c.model == SONNET_FALLBACK));
    assert!(
        d.why
            .contains("skipped bedrock/claude-sonnet-5-5 (unavailable)"),
        "{}",
        d.why
    );
}

#[test]
fn empty_tier_goes_up_then_down() {
    let (catalog, router) = builtin();
    let input = RouteInput::from_text("fix the bug in main.rs");
    let no_mid = |m: &Model| m.name != SONNET && m.name != SONNET_FALLBACK;
    let d = router.decide(&catalog, &input, &no_mid).unwrap();
    assert_eq!((d.tier, d.model.as_str()), (Tier::Top, OPUS));
    assert!(
        d.why.contains("no usable mid model, using top"),
        "{}",
        d.why
    );

    let only_haiku = |m: &Model| m.name == HAIKU;
    let d = router.decide(&catalog, &input, &only_haiku).unwrap();
    assert_eq!((d.tier, d.model.as_str()), (Tier::Low, HAIKU));
}

#[test]
fn nothing_usable_is_an_error_naming_every_tier() {
    let (catalog, router) = builtin();
    let none = |_: &Model| false;
    let err = router
        .decide(&catalog, &RouteInput::from_text("hi"), &none)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("no usable model"), "{err}");
    for part in [
        "low: bedrock/claude-haiku-5-5 (unavailable)",
        "mid: ",
        "top: ",
    ] {
        assert!(err.contains(part), "{err}");
    }
    assert!(
        err.find("low:") < err.find("mid:") && err.find("mid:") < err.find("top:"),
        "{err}"
    );
}

const SMALL_WINDOWS: &str = r#"
provider_models:
  bedrock:
    models:
      - name: bedrock/small
        id: us.anthropic.claude-small-1
        lifecycle: active
        price: { input: 1, output: 5, cache_read: 0.1, cache_write: 1.25 }
        context_window: 100000
      - name: bedrock/mid-small
        id: us.anthropic.claude-midsmall-1
        lifecycle: active
        price: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 }
        context_window: 100000
        max_output: 64000
      - name: bedrock/mid-big
        id: us.anthropic.claude-midbig-1
        lifecycle: active
        price: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 }
        context_window: 1000000
        max_output: 64000
      - name: bedrock/top
        id: us.anthropic.claude-top-1
        lifecycle: active
        price: { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25 }
        context_window: 200000
tier_candidates:
  low: [{ provider: bedrock, model: bedrock/small }]
  mid: [{ provider: bedrock, model: bedrock/mid-small }, { provider: bedrock, model: bedrock/mid-big }]
  top: [{ provider: bedrock, model: bedrock/top }]
"#;

#[test]
fn context_window_too_small_is_excluded_counting_requested_output() {
    let catalog = Catalog::parse(SMALL_WINDOWS, "small.yaml").unwrap();
    let router = Router::new(&catalog).unwrap();
    // 90k tokens of input fit a 100k window; 20k requested output does not.
    let input = RouteInput {
        context_chars: 360_000,
        ..RouteInput::from_text("fix the bug in main.rs")
    };
    let d = router.decide(&catalog, &input, &AllAvailable).unwrap();
    assert_eq!(d.model, "bedrock/mid-small");
    let input = RouteInput {
        max_output_requested: Some(20_000),
        ..input
    };
    let d = router.decide(&catalog, &input, &AllAvailable).unwrap();
    assert_eq!(d.model, "bedrock/mid-big");
    assert!(d.candidates.iter().all(|c| c.model == "bedrock/mid-big"));
    assert!(
        d.why
            .contains("bedrock/mid-small (context window 100000 < ~110000 tokens needed)"),
        "{}",
        d.why
    );
    // 300k tokens: only the 1M window fits, even for a top-tier ask.
    let input = RouteInput {
        context_chars: 1_200_000,
        ..RouteInput::from_text("prove that the square root of 2 is irrational")
    };
    let d = router.decide(&catalog, &input, &AllAvailable).unwrap();
    assert_eq!((d.tier, d.model.as_str()), (Tier::Mid, "bedrock/mid-big"));
}

#[test]
fn missing_capability_is_excluded() {
    // SMALL_WINDOWS models declare no capabilities.
    let catalog = Catalog::parse(SMALL_WINDOWS, "small.yaml").unwrap();
    let router = Router::new(&catalog).unwrap();
    let input = RouteInput {
        has_images: true,
        ..RouteInput::from_text("what is in this picture?")
    };
    let err = router.decide(&catalog, &input, &AllAvailable).unwrap_err();
    assert!(
        err.to_string().contains("bedrock/mid-small (no vision)"),
        "{err}"
    );
}

// ---------------------------------------------------------------- stickiness

#[test]
fn tool_results_go_back_to_the_model_that_made_the_call() {
    let (catalog, router) = builtin();
    router.remember_tool_calls(&["toolu_01", "toolu_02"], OPUS);
    let input = RouteInput {
        has_tools: true,
        tool_results_in_flight: true,
        tool_use_ids: vec!["toolu_02"],
        ..RouteInput::from_text("")
    };
    let d = router.decide(&catalog, &input, &AllAvailable).unwrap();
    assert_eq!((d.model.as_str(), d.tier), (OPUS, Tier::Top));
    assert_eq!(d.confidence, 0.95);
    assert!(
        d.why
            .contains("continuing a tool loop on bedrock/claude-opus-5-5"),
        "{}",
        d.why
    );
    // Without the remembered id the same turn routes by its signals (mid).
    let fresh = RouteInput {
        tool_use_ids: vec!["toolu_99"],
        ..input
    };
    let d = router.decide(&catalog, &fresh, &AllAvailable).unwrap();
    assert_eq!((d.category, d.tier), (Category::Coding, Tier::Mid));
}

#[test]
fn sticky_model_falls_back_within_its_tier_when_unavailable() {
    let (catalog, router) = builtin();
    router.remember_tool_calls(&["toolu_a"], SONNET_FALLBACK);
    let input = RouteInput {
        tool_results_in_flight: true,
        tool_use_ids: vec!["toolu_a"],
        ..RouteInput::from_text("")
    };
    let d = router.decide(&catalog, &input, &AllAvailable).unwrap();
    let models: Vec<_> = d.candidates.iter().map(|c| c.model.as_str()).collect();
    assert_eq!(
        models,
        [SONNET_FALLBACK, SONNET_FALLBACK, SONNET, SONNET],
        "the sticky model first, then the rest of its tier"
    );

    let no_sonnet_fallback = |m: &Model| m.name != SONNET_FALLBACK;
    let d = router
        .decide(&catalog, &input, &no_sonnet_fallback)
        .unwrap();
    assert_eq!(d.model, SONNET);
    assert!(
        d.why
            .contains("tool loop was on bedrock/claude-sonnet-4-6, now unavailable"),
        "{}",
        d.why
    );
}

#[test]
fn signed_thinking_pins_the_sticky_model_even_when_unavailable() {
    let (catalog, router) = builtin();
    router.remember_tool_calls(&["toolu_t"], HAIKU);
    let input = RouteInput {
        has_tools: true,
        tool_results_in_flight: true,
        carries_signed_thinking: true,
        tool_use_ids: vec!["toolu_t"],
        ..RouteInput::from_text("[high] now think harder")
    };
    let nothing = |_: &Model| false;
    let d = router.decide(&catalog, &input, &nothing).unwrap();
    assert_eq!(
        (d.model.as_str(), d.tier, d.confidence),
        (HAIKU, Tier::Low, 1.0)
    );
    assert!(d.candidates.iter().all(|c| c.model == HAIKU));
    assert!(d.why.contains("signed thinking"), "{}", d.why);
}

// ---------------------------------------------------------------- output

#[test]
fn decision_serializes_with_kebab_case_category_and_lowercase_tier() {
    let (catalog, router) = builtin();
    let d = router
        .decide(
            &catalog,
            &RouteInput::from_text("hello there"),
            &AllAvailable,
        )
        .unwrap();
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["category"], "simple-chat");
    assert_eq!(json["tier"], "low");
    assert_eq!(json["model"], HAIKU);
    assert_eq!(json["profile_id"], "us.anthropic.claude-haiku-5-5");
    assert_eq!(json["confidence"], serde_json::json!(0.7));
    assert!(json["why"].as_str().unwrap().contains("greeting"));
    assert!(
        serde_json::to_string(&d)
            .unwrap()
            .contains(r#""confidence":0.7,"#)
    );
    assert_eq!(
        json["candidates"][1]["profile_id"],
        "global.anthropic.claude-haiku-5-5"
    );
    assert_eq!(json["tag"], serde_json::Value::Null);
}

#[test]
fn confidence_is_always_between_zero_and_one() {
    let (_, router) = builtin();
    for text in [
        "",
        "```rust\nfn f() {}\n``` fix the bug in lib.rs, the function panics: error[E0382]: borrow",
        "prove step by step the theorem about the integral, why does it hold?",
    ] {
        let c = router.classify(&RouteInput {
            has_tools: true,
            has_images: true,
            context_chars: 1_000_000,
            ..RouteInput::from_text(text)
        });
        assert!((0.0..=1.0).contains(&c.confidence), "{c:?}");
    }
}
