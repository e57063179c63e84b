//! The window's commands through Tauri's IPC on the mock runtime: the same
//! path `invoke()` takes, minus the webview. The keychain is a MemoryStore.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use clawrouter::catalog::{Catalog, ModelAvailability, Tier};
use clawrouter::credentials::{self, MemoryStore, SecretStore};
use clawrouter::engine::{Engine, EngineError, tier_views};
use clawrouter::health::Status;
use clawrouter::settings::{Home, Settings};
use clawrouter_desktop::startup::StartupProblem;
use serde_json::{Value, json};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Harness {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    store: Arc<MemoryStore>,
    home: tempfile::TempDir,
}

fn harness(settings: Settings) -> Harness {
    let home = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::default());
    let engine = Engine::new(Home::at(home.path()), settings, store.clone()).unwrap();
    let app = clawrouter_desktop::builder(mock_builder(), engine)
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Harness {
        _app: app,
        window,
        store,
        home,
    }
}

impl Harness {
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke(&self.window, cmd, args)
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }
}

/// A command through IPC, as the window's `invoke()` sends it.
fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            // tauri://localhost: http://tauri.localhost is a remote origin on Linux.
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

/// The app as it opens when the engine cannot start.
fn problem_app(problem: StartupProblem) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = clawrouter_desktop::startup::builder(mock_builder(), problem)
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, window)
}

/// The window is told the problem: an error starting `file` then `at`
/// (`:line:`), the file, and whether a reset is offered.
fn assert_shown(
    window: &WebviewWindow<MockRuntime>,
    file: &std::path::Path,
    at: &str,
    can_reset: bool,
) {
    let problem = invoke(window, "startup_problem", json!({})).unwrap();
    let path = file.display().to_string();
    let message = problem["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{path}{at}")), "{problem}");
    assert_eq!(problem["file"], path);
    assert_eq!(problem["can_reset"], can_reset);
}

#[test]
fn broken_settings_open_with_file_and_line_and_reset_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let broken = "{\n  \"port\": 4242,\n  \"budgets\": { nope }\n}\n";
    std::fs::write(home.settings_path(), broken).unwrap();
    let error = EngineError::from(Settings::load(&home).unwrap_err());
    let (_app, window) = problem_app(StartupProblem::new(&error, Some(home.clone())));

    assert_shown(&window, &home.settings_path(), ":3:", true);

    let done = invoke(&window, "reset_settings", json!({})).unwrap();
    let backup = std::path::PathBuf::from(done["backup"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        broken,
        "the user's file is kept"
    );
    assert_eq!(Settings::load(&home).unwrap(), Settings::default());
}

#[test]
fn a_broken_catalog_is_shown_and_never_reset() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let catalog = dir.path().join("models.yaml");
    std::fs::write(&catalog, "models:\n  - name: [unclosed\n").unwrap();
    std::fs::write(home.settings_path(), "{\"port\": 4300}\n").unwrap();
    let error = EngineError::from(Catalog::load(&catalog).unwrap_err());
    let (_app, window) = problem_app(StartupProblem::new(&error, Some(home.clone())));

    assert_shown(&window, &catalog, ":", false);
    let refused = invoke(&window, "reset_settings", json!({})).unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("no settings to reset")
    );
    assert_eq!(
        Settings::load(&home).unwrap().port,
        4300,
        "settings untouched"
    );
}

#[test]
fn a_started_app_has_no_startup_problem() {
    let h = harness(Settings::default());
    assert_eq!(h.ok("startup_problem", json!({})), Value::Null);
}

fn settings_on(port: u16) -> Settings {
    Settings {
        port,
        region: Some("us-east-1".into()),
        ..Settings::default()
    }
}

#[test]
fn start_and_stop_report_the_bound_port_after_fallback() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let configured = taken.local_addr().unwrap().port();
    let h = harness(settings_on(configured));
    assert_eq!(h.ok("proxy_status", json!({})), json!({"state": "stopped"}));

    let started = h.ok("start_proxy", json!({}));
    assert_eq!(started["state"], "running", "{started}");
    assert_eq!(started["requested_port"], configured);
    let port = started["port"].as_u64().unwrap();
    assert_ne!(port, u64::from(configured));
    assert_eq!(h.ok("proxy_status", json!({})), started);
    let setup = h.ok("client_setup", json!({}));
    assert_eq!(setup["endpoint"], format!("http://127.0.0.1:{port}"));
    assert_eq!(setup["running"], true);
    // The MemoryStore is a working keychain: no file fallback to explain.
    assert_eq!(setup["keychain_fallback"], Value::Null);

    assert_eq!(h.ok("stop_proxy", json!({})), json!({"state": "stopped"}));
    assert!(std::net::TcpStream::connect(("127.0.0.1", u16::try_from(port).unwrap())).is_err());
    let setup = h.ok("client_setup", json!({}));
    assert_eq!(setup["endpoint"], format!("http://127.0.0.1:{configured}"));
}

#[test]
fn validation_names_each_bad_field() {
    let h = harness(Settings::default());
    let mut settings = serde_json::to_value(Settings::default()).unwrap();
    assert_eq!(
        h.ok(
            "validate_settings",
            json!({"settings": settings, "keys": null})
        ),
        json!([])
    );
    settings["port"] = json!(0);
    settings["region"] = json!("mars-1");
    settings["budgets"]["daily_usd"] = json!(-2);
    let keys = json!({"access_key_id": "AKIA-nope", "secret_access_key": SECRET});
    let errors = h.ok(
        "validate_settings",
        json!({"settings": settings, "keys": keys}),
    );
    let fields: Vec<&str> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["port", "region", "budgets.daily_usd", "access_key_id"]
    );
}

#[test]
fn settings_are_saved_validated_and_reloaded() {
    let h = harness(Settings::default());
    let mut settings = serde_json::to_value(Settings::default()).unwrap();
    settings["port"] = json!(0);
    let err = h
        .invoke("save_settings", json!({"settings": settings}))
        .unwrap_err();
    assert_eq!(err["fields"][0]["field"], "port");
    assert!(!h.home.path().join("settings.json").exists());

    settings["port"] = json!(5151);
    settings["geography"] = json!("eu");
    let saved = h.ok("save_settings", json!({"settings": settings}));
    assert_eq!(saved["restarted"], false);
    let on_disk = Settings::load(&Home::at(h.home.path())).unwrap();
    assert_eq!(on_disk.port, 5151);
    assert_eq!(h.ok("load_settings", json!({}))["settings"]["port"], 5151);
    // The new geography reaches the catalog the dashboard shows: every model
    // Bedrock offers in the EU moves there; the Fable models, which have no
    // eu. profile, keep theirs.
    let dash = h.ok("dashboard", json!({}));
    for m in dash["models"].as_array().unwrap() {
        let (name, profile) = (
            m["name"].as_str().unwrap(),
            m["profile_id"].as_str().unwrap(),
        );
        let geography = if name.contains("fable") { "us." } else { "eu." };
        assert!(profile.starts_with(geography), "{name}: {profile}");
    }
}

#[test]
fn keys_go_to_the_keychain_and_never_back_to_the_window() {
    let h = harness(Settings::default());
    let bad = h
        .invoke(
            "save_aws_keys",
            json!({"keys": {"access_key_id": concat!("AKIA", "IOSFODNN7EXAMPLE"), "secret_access_key": "short"}}),
        )
        .unwrap_err();
    assert_eq!(bad["fields"][0]["field"], "secret_access_key");

    let keys = json!({"access_key_id": concat!("AKIA", "IOSFODNN7EXAMPLE"), "secret_access_key": SECRET, "session_token": ""});
    let saved = h.ok("save_aws_keys", json!({"keys": keys}));
    assert_eq!(saved["keys"]["saved"], true);
    assert_eq!(
        saved["keys"]["masked_access_key_id"],
        "****************MPLE"
    );
    assert_eq!(saved["keys"]["has_session_token"], false);
    let stored = credentials::load_aws_keys(h.store.as_ref())
        .unwrap()
        .unwrap();
    assert_eq!(stored.access_key_id, concat!("AKIA", "IOSFODNN7EXAMPLE"));
    let view = h.ok("load_settings", json!({}));
    assert!(!view.to_string().contains(SECRET));
    assert!(
        !view
            .to_string()
            .contains(concat!("AKIA", "IOSFODNN7EXAMPLE"))
    );

    let deleted = h.ok("delete_aws_keys", json!({}));
    assert_eq!(deleted["keys"]["saved"], false);
    assert!(h.store.get(credentials::AWS_KEYS).unwrap().is_none());
}

#[test]
fn dashboard_shows_tiers_categories_and_prices() {
    let h = harness(Settings::default());
    let dash = h.ok("dashboard", json!({}));
    let tiers: Vec<&str> = dash["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tier"].as_str().unwrap())
        .collect();
    assert_eq!(tiers, ["low", "mid", "top"]);
    for tier in dash["tiers"].as_array().unwrap() {
        // No traffic yet: every model is usable, so the first candidate is chosen.
        assert_eq!(tier["chosen"], tier["candidates"][0]["name"], "{tier}");
        assert_eq!(tier["fallback"], Value::Null, "{tier}");
    }
    assert_eq!(
        dash["rejected"],
        json!({"unauthorized": 0, "budget": 0, "guard": 0})
    );
    assert_eq!(dash["categories"].as_array().unwrap().len(), 9);
    let haiku = dash["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str().unwrap().contains("haiku"))
        .unwrap();
    assert_eq!(haiku["tiers"], json!(["low"]));
    assert!(haiku["price"]["input"].as_f64().unwrap() > 0.0);
    assert_eq!(haiku["health"]["status"], "unknown");
}

#[test]
fn a_tier_with_no_usable_model_says_where_auto_sends_its_requests() {
    let catalog = Catalog::builtin().unwrap();
    let low: Vec<String> = catalog
        .tier_candidates(Tier::Low)
        .map(|(_, m)| m.name.clone())
        .collect();
    let availability = ModelAvailability::from_catalog(&catalog);
    let views = tier_views(&catalog, &availability, &|_| Status::Unknown, &|m| {
        !low.contains(&m.name)
    });
    let low_view = views.iter().find(|v| v.tier == Tier::Low).unwrap();
    let mid_view = views.iter().find(|v| v.tier == Tier::Mid).unwrap();
    assert_eq!(low_view.chosen, None);
    // The router's search order from low: mid first.
    let fallback = low_view.fallback.as_ref().unwrap();
    assert_eq!(fallback.tier, Tier::Mid);
    assert_eq!(Some(&fallback.model), mid_view.chosen.as_ref());
    assert!(mid_view.fallback.is_none());

    let nothing = tier_views(&catalog, &availability, &|_| Status::Unknown, &|_| false);
    assert!(
        nothing
            .iter()
            .all(|v| v.chosen.is_none() && v.fallback.is_none())
    );
}

#[test]
fn route_preview_is_the_routers_decision() {
    let h = harness(Settings::default());
    let proof = h.ok(
        "route_preview",
        json!({"text": "prove that the square root of 2 is irrational"}),
    );
    assert_eq!(proof["tier"], "top");
    let hi = h.ok("route_preview", json!({"text": "hi"}));
    assert_eq!(hi["tier"], "low");
    assert_ne!(hi["model"], proof["model"]);
}

#[test]
fn usage_reads_the_ledger_in_the_home_folder() {
    let h = harness(Settings {
        budgets: clawrouter::settings::Budgets {
            daily_usd: Some(3.0),
            monthly_usd: None,
        },
        ..Settings::default()
    });
    let usage = h.ok("usage", json!({}));
    assert_eq!(usage["daily"].as_array().unwrap().len(), 30);
    assert_eq!(usage["recent"], json!([]));
    assert_eq!(usage["summary"]["total"]["requests_30d"], 0);
    assert_eq!(usage["budgets"]["daily_usd"], 3.0);
    assert!(h.home.path().join("ledger.sqlite3").exists());
}
