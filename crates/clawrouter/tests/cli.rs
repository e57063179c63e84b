//! The `clawrouter` binary's contract (DESIGN.md): serve, route, models,
//! check, usage and keys, run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use bedrock_double::{DoubleConfig, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use serde_json::Value;

const KEY: &str = "sk-test-cli-0123456789";

/// The binary with a private home, keychain entry set, and the double as Bedrock.
fn clawrouter(home: &std::path::Path, double_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clawrouter"));
    cmd.env("CLAWROUTER_HOME", home)
        .env("CLAWROUTER_API_KEY", KEY)
        // One keychain entry set per test home: tests run in parallel.
        .env(
            "CLAWROUTER_KEYCHAIN_SERVICE",
            format!(
                "clawrouter-test-{}",
                home.file_name().unwrap().to_string_lossy()
            ),
        )
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", double_url)
        .env("AWS_ENDPOINT_URL_BEDROCK", double_url)
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG");
    cmd
}

fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Starts `serve`, returning the child and the URL from its first line.
fn serve(cmd: &mut Command, port: u16) -> (Child, String) {
    serve_logging_to(cmd, port, Stdio::null())
}

/// [`serve`], with its log (stderr) going to `log`.
fn serve_logging_to(cmd: &mut Command, port: u16, log: Stdio) -> (Child, String) {
    let mut child = cmd
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {line:?}"))
        .to_owned();
    (child, url)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

// Multi-threaded: the test blocks on the child process while the in-process double serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reports_the_fallback_port_serves_and_exits_cleanly_on_sigterm() {
    let double = bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let (child, url) = serve(&mut clawrouter(home.path(), &double.url()), taken_port);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_ne!(
        url,
        format!("http://127.0.0.1:{taken_port}"),
        "the taken port must not be reported"
    );
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"model": "bedrock/claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut child = child;
    assert!(terminate(&mut child).success(), "SIGTERM must exit 0");
    // The ledger survived the process: usage reads it back.
    let usage = json_of(clawrouter(home.path(), &double.url()).args(["usage", "--json"]));
    assert_eq!(usage["summary"]["total"]["requests_30d"], 1, "{usage}");
    assert!(usage["summary"]["total"]["today_usd"].as_f64().unwrap() > 0.0);
}

#[test]
fn route_json_has_the_contract_fields() {
    let home = tempfile::tempdir().unwrap();
    let d = json_of(clawrouter(home.path(), "http://127.0.0.1:9").args([
        "route",
        "--json",
        "prove that the square root of 2 is irrational",
    ]));
    assert_eq!(d["category"], "reasoning");
    assert_eq!(d["tier"], "top");
    assert_eq!(d["model"], "bedrock/claude-opus-5-5");
    let confidence = d["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence));
    assert!(!d["why"].as_str().unwrap().is_empty());
    let human = clawrouter(home.path(), "http://127.0.0.1:9")
        .args(["route", "hi"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("low"));
}

#[test]
fn models_json_lists_the_catalog_with_lifecycle_availability_and_exact_prices() {
    let home = tempfile::tempdir().unwrap();
    let out = clawrouter(home.path(), "http://127.0.0.1:9")
        .args(["models", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let models = m["models"].as_array().unwrap();
    assert_eq!(models.len(), 11);
    let by_name = |name: &str| models.iter().find(|x| x["name"] == name).unwrap();
    let opus = by_name("bedrock/claude-opus-5-5");
    assert_eq!(opus["profile_id"], "us.anthropic.claude-opus-5-5");
    assert_eq!(opus["tiers"], serde_json::json!(["top"]));
    assert_eq!(opus["lifecycle"], "active");
    assert_eq!(opus["available"], true);
    assert_eq!(opus["unavailable_reason"], serde_json::Value::Null);
    // us. profile: list price plus the 10% regional premium, as exact
    // decimals: $4 → 4.4, $20 → 22, cache read $0.20 → 0.22, 1-hour cache
    // write $8 → 8.8.
    assert_eq!(
        opus["price_per_million"],
        serde_json::json!({"input": 4.4, "output": 22, "cache_read": 0.22,
            "cache_write": 5.5, "cache_write_1h": 8.8})
    );
    // 25 × 1.1 is 27.500000000000004 in f64; the decimal prints 27.5.
    assert!(
        !text.contains("00000000") && !text.contains("99999999"),
        "float noise in:\n{text}"
    );
    let opus46 = by_name("bedrock/claude-opus-4-6");
    assert_eq!(opus46["price_per_million"]["output"].to_string(), "27.5");
    // Fable is named, never routed to.
    let fable = by_name("bedrock/claude-fable-5-2");
    assert_eq!(fable["tiers"], serde_json::json!([]));
    assert_eq!(
        fable["price_per_million"],
        serde_json::json!({"input": 8.8, "output": 44, "cache_read": 0.22,
            "cache_write": 11, "cache_write_1h": 17.6})
    );
    let sonnet4 = by_name("bedrock/claude-sonnet-4");
    assert_eq!(sonnet4["lifecycle"], "eol");
    assert_eq!(sonnet4["available"], false);
    let why = sonnet4["unavailable_reason"].as_str().unwrap();
    assert!(
        why.contains("end of life") && why.contains("2026-10-14"),
        "{why}"
    );
    assert_eq!(sonnet4["replacement"], "bedrock/claude-sonnet-4-6");
    assert_eq!(by_name("bedrock/claude-sonnet-4-5")["lifecycle"], "legacy");
}

#[test]
fn a_bad_catalog_is_refused_with_file_line_and_advice() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("models.yaml");
    std::fs::write(
        &file,
        "provider_models:\n  bedrock:\n    models:\n      - name: bedrock/s\n        id: bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0\n        price: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}\n",
    )
    .unwrap();
    let out = clawrouter(home.path(), "http://127.0.0.1:9")
        .args(["models"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("models.yaml:5:"), "{err}");
    assert!(
        err.contains("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_check_says_which_models_wait_for_the_data_retention_opt_in() {
    // A fresh account: Bedrock refuses every call to Claude Fable.
    let double = bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = clawrouter(home.path(), &double.url())
        .args(["check", "--json", "--paid"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = report["models"].as_array().unwrap();
    let (fable, others): (Vec<&Value>, Vec<&Value>) = models
        .iter()
        .partition(|m| m["name"].as_str().unwrap().contains("fable"));
    assert_eq!(fable.len(), 2);
    for m in fable {
        assert_eq!(m["health"]["problem"], "data-retention", "{m}");
        assert!(
            m["health"]["advice"]
                .as_str()
                .unwrap()
                .contains("put-account-data-retention"),
            "{m}"
        );
    }
    assert!(
        others
            .iter()
            .all(|m| m["health"]["problem"] != "data-retention")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_credential_source_and_health_without_secrets() {
    // An account opted in to a data retention mode Claude Fable serves under
    // (paid_check_says_which_models_wait_for_the_data_retention_opt_in has
    // one that is not).
    let double = bedrock_double::start(DoubleConfig {
        data_retention: "aws_review".to_owned(),
        ..DoubleConfig::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = clawrouter(home.path(), &double.url())
        .args(["check", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["credentials_source"], "environment");
    assert_eq!(report["api_key_source"], "env");
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 11);
    // Sonnet 4 is past end of life: reported, not probed, not failing the check.
    const RETIRED: &str = "bedrock/claude-sonnet-4";
    let (retired, living): (Vec<&Value>, Vec<&Value>) =
        models.iter().partition(|m| m["name"] == RETIRED);
    assert_eq!(retired[0]["health"]["status"], "unhealthy");
    assert!(
        retired[0]["health"]["last_error"]
            .as_str()
            .unwrap()
            .contains("end of life")
    );
    assert!(living.iter().all(|m| m["health"]["status"] == "healthy"));
    assert!(!text.contains(TEST_SECRET_ACCESS_KEY) && !text.contains(KEY));

    // The paid probe says its price first, then reports what each probe cost.
    let out = clawrouter(home.path(), &double.url())
        .args(["check", "--json", "--paid"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("paid probe: one minimal request per model, about $")
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["models"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["name"] != RETIRED)
            .all(|m| m["paid_probe_usd"].as_f64().unwrap() > 0.0)
    );
    assert_eq!(
        double.stats().by_operation["Converse"],
        10,
        "one paid request per living model"
    );

    // Wrong keys: the check fails and says so, still without the secret.
    let out = clawrouter(home.path(), &double.url())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wrongSECRETwrongSECRETwrongSECRET0000000",
        )
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unhealthy"), "{text}");
    assert!(!text.contains("wrongSECRET"));
}

#[test]
fn keys_round_trip_through_the_real_keychain() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        eprintln!("SKIPPED: no D-Bus session; run under scripts/with-keyring");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let keys = |args: &[&str], stdin: &str| {
        let mut child = clawrouter(home.path(), "http://127.0.0.1:9")
            .env_remove("CLAWROUTER_API_KEY")
            .arg("keys")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = keys(
        &["set", "--access-key-id", TEST_ACCESS_KEY_ID],
        &format!("{TEST_SECRET_ACCESS_KEY}\n"),
    );
    assert!(ok, "{out}");
    assert!(!out.contains(TEST_SECRET_ACCESS_KEY));
    let (ok, status) = keys(&["status", "--json"], "");
    assert!(ok, "{status}");
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["aws_access_key_id"], TEST_ACCESS_KEY_ID);
    assert_eq!(status["api_key_source"], "generated, now in the keychain");
    let generated = status["api_key"].as_str().unwrap().to_owned();
    assert!(generated.starts_with("sk-clawrouter-"));
    let (_, again) = keys(&["status", "--json"], "");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(
        again["api_key"],
        generated.as_str(),
        "the generated key is kept"
    );
    assert_eq!(again["api_key_source"], "keychain");
    let (ok, out) = keys(&["delete"], "");
    assert!(ok && out.contains("removed"), "{out}");
    let (_, after) = keys(&["status", "--json"], "");
    let after: Value = serde_json::from_str(&after).unwrap();
    assert!(after["aws_access_key_id"].is_null());
}

/// `models --refresh` asks the control plane of a double whose account may
/// not call Haiku 5.5 (the low tier's first choice): the model is listed
/// unavailable with the reason, the answer is cached with its time, profiles
/// the catalog lacks are listed as discovered with an unknown price, and
/// `auto` routes low-tier text to the next candidate. No model is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_refresh_shows_a_denied_model_unavailable_and_auto_avoids_it() {
    const DENIED: &str = "bedrock/claude-haiku-5-5";
    let double = bedrock_double::start(DoubleConfig {
        denied_models: vec!["anthropic.claude-haiku-5-5".into()],
        ..DoubleConfig::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cli = || clawrouter(home.path(), &double.url());
    let low_tier = |cmd: &mut Command| json_of(cmd.args(["route", "--json", "hi"]));
    let before = low_tier(&mut cli());
    assert_eq!(
        (before["tier"].as_str(), before["model"].as_str()),
        (Some("low"), Some(DENIED))
    );

    let listed = json_of(cli().args(["models", "--refresh", "--json"]));
    let models = listed["models"].as_array().unwrap();
    let by_name = |name: &str| models.iter().find(|m| m["name"] == name).unwrap();
    let denied = by_name(DENIED);
    assert_eq!(denied["available"], false, "{denied}");
    let reason = denied["unavailable_reason"].as_str().unwrap();
    assert!(
        reason.contains("no access") && reason.contains("claude-haiku-5-5"),
        "{reason}"
    );
    assert_eq!(by_name("bedrock/claude-opus-5-5")["available"], true);
    assert_eq!(listed["discovery"]["region"], "us-east-1");
    assert!(
        !listed["discovery"]["fetched_at"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let discovered: Vec<&Value> = models.iter().filter(|m| m["discovered"] == true).collect();
    assert!(
        !discovered.is_empty(),
        "the double offers Claude models the catalog lacks"
    );
    for d in &discovered {
        assert!(d["price_per_million"]["input"].is_null(), "{d}");
        assert!(
            d["profile_id"]
                .as_str()
                .unwrap()
                .contains(".anthropic.claude-"),
            "{d}"
        );
    }
    let cache: Value =
        serde_json::from_slice(&std::fs::read(home.path().join("discovery.json")).unwrap())
            .unwrap();
    assert_eq!(cache["fetched_at"], listed["discovery"]["fetched_at"]);

    // Without --refresh the cached answer still counts, for listing and routing.
    let table = cli().args(["models"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    let row = table.lines().find(|l| l.starts_with(DENIED)).unwrap();
    assert!(row.contains("no: "), "{row}");
    let after = low_tier(&mut cli());
    assert_eq!(after["tier"], "low");
    assert_ne!(after["model"], DENIED, "{after}");

    let stats = double.stats();
    assert_eq!(stats.requests, 0, "discovery and routing call no model");
    assert_eq!(stats.control_plane["ListInferenceProfiles"], 1);

    // The proxy starts from the cached answer: auto sends low-tier text to
    // the next candidate, and naming the denied model is a clear 4xx.
    let (mut child, url) = serve(&mut cli(), 0);
    let http = reqwest::Client::new();
    let chat = |model: &str| {
        http.post(format!("{url}/v1/chat/completions"))
            .bearer_auth(KEY)
            .json(&serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let auto = chat("auto").await.unwrap();
    assert_eq!(auto.status(), 200);
    assert_eq!(auto.headers()["x-clawrouter-tier"], "low");
    assert_ne!(auto.headers()["x-clawrouter-model"], DENIED);
    let named = chat(DENIED).await.unwrap();
    let status = named.status().as_u16();
    let body: Value = named.json().await.unwrap();
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no access"),
        "{body}"
    );
    assert!(
        !double
            .stats()
            .by_model
            .keys()
            .any(|m| m.contains("claude-haiku-5-5")),
        "the denied model was never called"
    );
    assert!(terminate(&mut child).success());
    double.shutdown().await;
}

/// `cmd` as on a machine with no OS keychain (no Secret Service on the
/// session bus), no `CLAWROUTER_API_KEY`, and optionally no AWS credentials
/// anywhere in the standard chain.
fn bare(mut cmd: Command, home: &std::path::Path, aws: bool) -> Command {
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("DISPLAY")
        .env_remove("CLAWROUTER_API_KEY")
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    if !aws {
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN");
    }
    cmd
}

/// Fails on text that renders a library value with `Debug`
/// (`HeaderValue { _private: H1("…") }`, `Name { … }`, `Some(…)`).
fn assert_no_debug(what: &str, text: &str) {
    let debug = regex::Regex::new(r"[A-Za-z_]\w* \{ |_private|\bSome\(|\bH1\(").unwrap();
    assert!(!debug.is_match(text), "{what} shows Debug text: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_serve_starts_without_keychain_or_api_key_and_the_file_key_works() {
    let double = bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let (mut child, url) = serve_logging_to(
        &mut bare(clawrouter(home.path(), &double.url()), home.path(), true),
        0,
        Stdio::piped(),
    );

    // The key clients use: generated on first run, kept in a private file.
    let out = bare(clawrouter(home.path(), &double.url()), home.path(), true)
        .args(["keys", "status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = status["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk-clawrouter-"), "{status}");
    let file = std::path::PathBuf::from(status["api_key_file"].as_str().unwrap());
    assert_eq!(file, home.path().join("client-api-key"));
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let api_key = bare(clawrouter(home.path(), &double.url()), home.path(), true)
        .args(["keys", "api-key"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&api_key.stdout).trim(), key);

    let r = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(&key)
        .json(
            &serde_json::json!({"model": "auto", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // AWS keys are never written to a file: `keys set` refuses and says why.
    let mut set = bare(clawrouter(home.path(), &double.url()), home.path(), true)
        .args(["keys", "set", "--access-key-id", TEST_ACCESS_KEY_ID])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(format!("{TEST_SECRET_ACCESS_KEY}\n").as_bytes())
        .unwrap();
    let set = set.wait_with_output().unwrap();
    assert!(!set.status.success());
    let said = String::from_utf8_lossy(&set.stderr);
    assert!(said.contains("keychain is unavailable"), "{said}");
    for entry in std::fs::read_dir(home.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(TEST_SECRET_ACCESS_KEY),
                "{path:?} holds the AWS secret"
            );
        }
    }

    assert!(terminate(&mut child).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        stderr.matches("no OS keychain is usable").count(),
        1,
        "one clear warning: {stderr}"
    );
    assert!(
        !stderr.contains("IMDS") && !stderr.contains("169.254"),
        "{stderr}"
    );
    assert_no_debug("serve's log", &stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_serve_without_credentials_say_what_to_do_in_plain_words() {
    let double = bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = bare(clawrouter(home.path(), &double.url()), home.path(), false)
        .arg("check")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_debug("check", &format!("{stdout}{stderr}"));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("credentials:"))
        .unwrap();
    assert_eq!(line, "credentials:  no AWS credentials found");
    assert!(stdout.contains("  fix:        save AWS keys"), "{stdout}");
    assert!(stdout.lines().all(|l| l.chars().count() <= 160), "{stdout}");
    let report: Value = serde_json::from_slice(
        &bare(clawrouter(home.path(), &double.url()), home.path(), false)
            .args(["check", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(report["credentials_status"], "no AWS credentials found");
    assert!(
        report["credentials_problem"]["tried"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );

    let mut no_credentials = bare(clawrouter(home.path(), &double.url()), home.path(), false);
    no_credentials.env("CLAWROUTER_API_KEY", KEY);
    let (mut child, url) = serve_logging_to(&mut no_credentials, 0, Stdio::piped());
    let client = reqwest::Client::new();
    for (route, body) in [
        (
            "/v1/chat/completions",
            serde_json::json!({"model": "auto", "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1/messages",
            serde_json::json!({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ] {
        let r = client
            .post(format!("{url}{route}"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{route}");
        let text = r.text().await.unwrap();
        assert_no_debug(route, &text);
        assert!(text.contains("clawrouter check"), "{text}");
    }
    let health = client
        .get(format!("{url}/health"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_no_debug("/health", &health);
    assert!(terminate(&mut child).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_no_debug("serve's log", &stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_survives_a_closed_pipe_and_aligns_its_table() {
    let double = bedrock_double::start(DoubleConfig::default())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let (child, url) = serve(&mut clawrouter(home.path(), &double.url()), 0);
    for model in ["bedrock/claude-haiku-4-5", "bedrock/claude-opus-4-6"] {
        let r = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(KEY)
            .json(&serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let mut child = child;
    assert!(terminate(&mut child).success());

    // `usage --json | head -1` when head has already gone: the reading end
    // is closed before the command writes a byte.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = clawrouter(home.path(), &double.url())
        .args(["usage", "--json"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = clawrouter(home.path(), &double.url())
        .arg("usage")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let table: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("projected"))
        .collect();
    assert!(table.len() >= 4, "{text}");
    // Numbers are right-aligned in the last columns: every row ends at the
    // same column, and the profile column starts at the same place.
    let width = table[0].chars().count();
    assert!(table.iter().all(|l| l.chars().count() == width), "{text}");
    let profile_at = table[0].find("PROFILE").unwrap();
    for row in table.iter().filter(|l| l.contains("us.anthropic.")) {
        assert_eq!(row.find("us.anthropic."), Some(profile_at), "{text}");
    }
    assert!(text.contains("projected this month"), "{text}");
}
