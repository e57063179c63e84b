//! The few Bedrock control-plane operations (service `bedrock`, the one the
//! AWS SDKs reach through `AWS_ENDPOINT_URL_BEDROCK`) a client uses to learn
//! what it can call: ListInferenceProfiles, ListFoundationModels,
//! GetFoundationModelAvailability, and Get/PutAccountDataRetention (the mode
//! some models require before they serve an account). Shapes follow botocore's
//! `data/bedrock/2023-04-20/service-2.json` (rest-json; timestamps iso8601),
//! answered from the same model table the runtime plays, for the region the
//! request was signed for.

use std::collections::BTreeSet;
use std::sync::Mutex;

use http::Method;
use serde_json::{Value, json};

use crate::dates;
use crate::errors::{ApiError, ErrorKind};
use crate::lineup::{Lineup, Model};

/// Account id in the ARNs the double hands out (AWS's documentation example).
const ACCOUNT_ID: &str = "123456789012";
const PROVIDER: &str = "Anthropic";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET /inference-profiles`
    ListInferenceProfiles,
    /// `GET /foundation-models`
    ListFoundationModels,
    /// `GET /foundation-model-availability/{modelId}`
    GetFoundationModelAvailability(String),
    /// `GET /data-retention`
    GetAccountDataRetention,
    /// `PUT /data-retention`
    PutAccountDataRetention,
}

impl Operation {
    /// The operation a method and path name (the model id percent-decoded
    /// with `decode`).
    pub fn from_request(
        method: &Method,
        path: &str,
        decode: impl Fn(&str) -> String,
    ) -> Option<Operation> {
        match (method, path) {
            (&Method::GET, "/inference-profiles") => Some(Operation::ListInferenceProfiles),
            (&Method::GET, "/foundation-models") => Some(Operation::ListFoundationModels),
            (&Method::GET, "/data-retention") => Some(Operation::GetAccountDataRetention),
            (&Method::PUT, "/data-retention") => Some(Operation::PutAccountDataRetention),
            (&Method::GET, _) => path
                .strip_prefix("/foundation-model-availability/")
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(|id| Operation::GetFoundationModelAvailability(decode(id))),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Operation::ListInferenceProfiles => "ListInferenceProfiles",
            Operation::ListFoundationModels => "ListFoundationModels",
            Operation::GetFoundationModelAvailability(_) => "GetFoundationModelAvailability",
            Operation::GetAccountDataRetention => "GetAccountDataRetention",
            Operation::PutAccountDataRetention => "PutAccountDataRetention",
        }
    }
}

/// Who is asking, and what this double's account may do.
pub struct Caller<'a> {
    pub lineup: &'a Lineup,
    /// Base ids this account has no access to.
    pub denied: &'a BTreeSet<String>,
    /// The region the request was signed for.
    pub region: &'a str,
    /// `YYYY-MM-DD`.
    pub today: &'a str,
    /// The account's data retention mode.
    pub retention: &'a DataRetention,
}

/// The account's data retention mode (botocore `DataRetentionMode`:
/// default, none, aws_review, provider_data_share, inherit), which
/// PutAccountDataRetention sets. A fresh account is `inherit`, which falls
/// through to each model's own mode, `default`
/// (binbashar/le-tf-infra-aws#1114: "first non-inherit value of (project →
/// account → model default)").
#[derive(Debug)]
pub struct DataRetention(Mutex<RetentionSetting>);

#[derive(Debug)]
struct RetentionSetting {
    mode: String,
    /// iso8601, as `updatedAt` is.
    updated_at: String,
}

impl RetentionSetting {
    fn now(mode: String) -> RetentionSetting {
        RetentionSetting {
            mode,
            updated_at: iso_time(&dates::today()),
        }
    }
}

const RETENTION_MODES: [&str; 5] = [
    "default",
    "none",
    "aws_review",
    "provider_data_share",
    "inherit",
];

impl DataRetention {
    /// The account in `mode`, one of botocore's `DataRetentionMode` values.
    pub fn new(mode: &str) -> Result<DataRetention, String> {
        if !RETENTION_MODES.contains(&mode) {
            return Err(format!(
                "data retention mode `{mode}` is not one of {}",
                RETENTION_MODES.join(", ")
            ));
        }
        Ok(DataRetention(Mutex::new(RetentionSetting::now(
            mode.to_owned(),
        ))))
    }

    /// The mode a model invocation runs under.
    pub fn effective(&self) -> String {
        let mode = &self.lock().mode;
        if mode == "inherit" { "default" } else { mode }.to_owned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RetentionSetting> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn answer(&self) -> Value {
        let setting = self.lock();
        json!({"mode": setting.mode, "updatedAt": setting.updated_at})
    }

    fn put(&self, body: &[u8]) -> Result<Value, ApiError> {
        let mode = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["mode"].as_str().map(str::to_owned))
            .filter(|m| RETENTION_MODES.contains(&m.as_str()))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "1 validation error detected: Value at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    RETENTION_MODES.join(", ")
                ))
            })?;
        *self.lock() = RetentionSetting::now(mode);
        Ok(self.answer())
    }
}

/// Answers one operation; `query` holds the decoded query parameters.
pub fn answer(
    operation: &Operation,
    caller: &Caller<'_>,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    match operation {
        Operation::ListInferenceProfiles => list_inference_profiles(
            caller,
            param("type"),
            param("maxResults"),
            param("nextToken"),
        ),
        Operation::ListFoundationModels => Ok(list_foundation_models(caller, &param)),
        Operation::GetFoundationModelAvailability(id) => availability(caller, id),
        Operation::GetAccountDataRetention => Ok(caller.retention.answer()),
        Operation::PutAccountDataRetention => caller.retention.put(body),
    }
}

fn iso_time(date: &str) -> String {
    format!("{date}T00:00:00Z")
}

fn foundation_model_arn(region: &str, model: &Model) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{}", model.id)
}

/// The geographies whose profiles a caller in `region` can use.
fn offered_geographies<'a>(caller: &Caller<'a>, model: &'a Model) -> Vec<&'a str> {
    model
        .geographies
        .iter()
        .filter(|g| {
            caller
                .lineup
                .geography(g)
                .is_some_and(|geo| geo.serves(caller.region))
        })
        .map(String::as_str)
        .collect()
}

/// Each system-defined profile callable from the caller's region. A model
/// past its end of life has no profile any more.
fn list_inference_profiles(
    caller: &Caller<'_>,
    type_equals: Option<&str>,
    max_results: Option<&str>,
    next_token: Option<&str>,
) -> Result<Value, ApiError> {
    let max_results = match max_results {
        None => 1000,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "1 validation error detected: Value '{text}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                ))
            })?,
    };
    let start = match next_token {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiError::validation("The pagination token is invalid."))?,
    };
    let mut profiles = Vec::new();
    // Applications profiles are the account's own; this account has none.
    if type_equals.is_none_or(|t| t == "SYSTEM_DEFINED") {
        for model in &caller.lineup.models {
            if model.is_end_of_life(caller.today) {
                continue;
            }
            for geography in offered_geographies(caller, model) {
                profiles.push(profile_summary(caller, model, geography));
            }
        }
    }
    let page: Vec<Value> = profiles
        .iter()
        .skip(start)
        .take(max_results)
        .cloned()
        .collect();
    let mut body = json!({ "inferenceProfileSummaries": page });
    if start + max_results < profiles.len() {
        body["nextToken"] = json!((start + max_results).to_string());
    }
    Ok(body)
}

fn profile_summary(caller: &Caller<'_>, model: &Model, geography: &str) -> Value {
    let profile_id = model.profile_id(geography);
    let destinations = caller
        .lineup
        .geography(geography)
        .map_or(&[][..], |g| g.destinations.as_slice());
    let models: Vec<Value> = destinations
        .iter()
        .map(|region| json!({ "modelArn": foundation_model_arn(region, model) }))
        .collect();
    let geo_name = geography.to_ascii_uppercase();
    // Names as Bedrock lists them, e.g. "JP Anthropic Claude Opus 5.5"
    // (https://dev.classmethod.jp/en/articles/bedrock-claude-opus-5-5/).
    json!({
        "inferenceProfileName": format!("{geo_name} {PROVIDER} {}", model.name),
        "description": format!("Routes requests to {PROVIDER} {} in {}.", model.name, destinations.join(", ")),
        "createdAt": iso_time(&model.lifecycle.start),
        "updatedAt": iso_time(&model.lifecycle.start),
        "inferenceProfileArn": format!("arn:aws:bedrock:{}:{ACCOUNT_ID}:inference-profile/{profile_id}", caller.region),
        "models": models,
        "inferenceProfileId": profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    })
}

/// The Claude foundation models offered in the caller's region, with their
/// lifecycle. Claude 4.x and later are invoked only through profiles, so
/// their one inference type is `INFERENCE_PROFILE` (a value newer than the
/// `InferenceType` enum; classmethod's list-foundation-models output).
fn list_foundation_models<'a>(
    caller: &Caller<'_>,
    param: &dyn Fn(&str) -> Option<&'a str>,
) -> Value {
    let wanted = |model: &Model| {
        let provider_ok = param("byProvider").is_none_or(|p| p.eq_ignore_ascii_case(PROVIDER));
        let output_ok = param("byOutputModality").is_none_or(|m| m == "TEXT");
        // None of these models is on demand, provisioned or customisable.
        let filtered_out =
            param("byInferenceType").is_some() || param("byCustomizationType").is_some();
        provider_ok && output_ok && !filtered_out && !offered_geographies(caller, model).is_empty()
    };
    let summaries: Vec<Value> = caller
        .lineup
        .models
        .iter()
        .filter(|m| wanted(m))
        .map(|model| {
            let lifecycle = &model.lifecycle;
            let mut life = json!({
                "status": lifecycle.status.as_str(),
                "startOfLifeTime": iso_time(&lifecycle.start),
            });
            if let Some(legacy) = &lifecycle.legacy {
                life["legacyTime"] = json!(iso_time(legacy));
            }
            if let Some(eol) = &lifecycle.end_of_life {
                life["endOfLifeTime"] = json!(iso_time(eol));
            }
            json!({
                "modelArn": foundation_model_arn(caller.region, model),
                "modelId": model.id,
                "modelName": model.name,
                "providerName": PROVIDER,
                "inputModalities": ["TEXT", "IMAGE"],
                "outputModalities": ["TEXT"],
                "responseStreamingSupported": true,
                "customizationsSupported": [],
                "inferenceTypesSupported": ["INFERENCE_PROFILE"],
                "modelLifecycle": life,
            })
        })
        .collect();
    json!({ "modelSummaries": summaries })
}

/// Whether this account may invoke a model here: a denied model is
/// `NOT_AUTHORIZED`; one not offered in the region, or past its end of
/// life, is not available.
fn availability(caller: &Caller<'_>, model_id: &str) -> Result<Value, ApiError> {
    let model = caller.lineup.model(model_id).ok_or_else(|| {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            "Could not resolve the foundation model from the provided model identifier.",
        )
    })?;
    let available = |yes: bool| if yes { "AVAILABLE" } else { "NOT_AVAILABLE" };
    let authorized = if caller.denied.contains(&model.id) {
        "NOT_AUTHORIZED"
    } else {
        "AUTHORIZED"
    };
    Ok(json!({
        "modelId": model.id,
        "agreementAvailability": { "status": "AVAILABLE" },
        "authorizationStatus": authorized,
        "entitlementAvailability": available(!model.is_end_of_life(caller.today)),
        "regionAvailability": available(!offered_geographies(caller, model).is_empty()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_caller<T>(region: &str, denied: &[&str], f: impl FnOnce(&Caller<'_>) -> T) -> T {
        let lineup = Lineup::builtin().unwrap();
        let denied = denied.iter().map(|d| (*d).to_owned()).collect();
        f(&Caller {
            lineup: &lineup,
            denied: &denied,
            region,
            today: "2026-11-30",
            retention: &DataRetention::new("inherit").unwrap(),
        })
    }

    fn profile_ids(body: &Value) -> Vec<String> {
        body["inferenceProfileSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["inferenceProfileId"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn profiles_depend_on_the_region_and_skip_end_of_life_models() {
        let us = with_caller("us-east-1", &[], |c| {
            answer(&Operation::ListInferenceProfiles, c, &[], &[]).unwrap()
        });
        let ids = profile_ids(&us);
        assert!(ids.contains(&"us.anthropic.claude-opus-5-5".to_owned()));
        assert!(ids.contains(&"global.anthropic.claude-haiku-5-5".to_owned()));
        assert!(!ids.iter().any(|id| id.starts_with("jp.")));
        assert!(!ids.iter().any(|id| id.contains("claude-sonnet-4-2025")));
        let jp = with_caller("ap-northeast-1", &[], |c| {
            answer(&Operation::ListInferenceProfiles, c, &[], &[]).unwrap()
        });
        assert!(profile_ids(&jp).contains(&"jp.anthropic.claude-opus-5-5".to_owned()));
        let first = &us["inferenceProfileSummaries"][0];
        assert_eq!(first["status"], "ACTIVE");
        assert_eq!(first["type"], "SYSTEM_DEFINED");
        assert!(
            first["models"][0]["modelArn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-")
        );
    }

    #[test]
    fn profiles_page_with_next_token() {
        let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        with_caller("us-east-1", &[], |c| {
            let all = profile_ids(&answer(&Operation::ListInferenceProfiles, c, &[], &[]).unwrap());
            let mut paged = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut q = vec![("maxResults", "4")];
                if let Some(t) = &token {
                    q.push(("nextToken", t));
                }
                let page = answer(&Operation::ListInferenceProfiles, c, &query(&q), &[]).unwrap();
                paged.extend(profile_ids(&page));
                match page["nextToken"].as_str() {
                    Some(next) => token = Some(next.to_owned()),
                    None => break,
                }
            }
            assert_eq!(paged, all);
            let app = query(&[("type", "APPLICATION")]);
            let none = answer(&Operation::ListInferenceProfiles, c, &app, &[]).unwrap();
            assert!(profile_ids(&none).is_empty());
            let bad = query(&[("maxResults", "0")]);
            assert!(answer(&Operation::ListInferenceProfiles, c, &bad, &[]).is_err());
        });
    }

    #[test]
    fn foundation_models_carry_their_lifecycle() {
        let body = with_caller("us-east-1", &[], |c| {
            let q = vec![("byProvider".to_owned(), "anthropic".to_owned())];
            answer(&Operation::ListFoundationModels, c, &q, &[]).unwrap()
        });
        let summaries = body["modelSummaries"].as_array().unwrap();
        let find = |id: &str| summaries.iter().find(|s| s["modelId"] == id).unwrap();
        let sonnet4 = find("anthropic.claude-sonnet-4-20250514-v1:0");
        assert_eq!(sonnet4["modelLifecycle"]["status"], "LEGACY");
        assert_eq!(
            sonnet4["modelLifecycle"]["endOfLifeTime"],
            "2026-10-14T00:00:00Z"
        );
        let opus = find("anthropic.claude-opus-5-5");
        assert_eq!(opus["modelLifecycle"]["status"], "ACTIVE");
        assert_eq!(
            opus["inferenceTypesSupported"],
            json!(["INFERENCE_PROFILE"])
        );
        let none = with_caller("us-east-1", &[], |c| {
            let q = vec![("byProvider".to_owned(), "Amazon".to_owned())];
            answer(&Operation::ListFoundationModels, c, &q, &[]).unwrap()
        });
        assert_eq!(none["modelSummaries"], json!([]));
    }

    #[test]
    fn availability_shows_a_denied_model() {
        let id = "anthropic.claude-sonnet-5-5";
        let op = Operation::GetFoundationModelAvailability(id.to_owned());
        let denied = with_caller("us-east-1", &[id], |c| answer(&op, c, &[], &[]).unwrap());
        assert_eq!(denied["authorizationStatus"], "NOT_AUTHORIZED");
        let allowed = with_caller("us-east-1", &[], |c| answer(&op, c, &[], &[]).unwrap());
        assert_eq!(allowed["authorizationStatus"], "AUTHORIZED");
        assert_eq!(allowed["regionAvailability"], "AVAILABLE");
        let unknown = Operation::GetFoundationModelAvailability("anthropic.claude-x".to_owned());
        let err = with_caller("us-east-1", &[], |c| {
            answer(&unknown, c, &[], &[]).unwrap_err()
        });
        assert_eq!(err.kind, ErrorKind::ResourceNotFound);
    }

    #[test]
    fn paths_name_operations() {
        let decode = |s: &str| s.replace("%3A", ":");
        let get = |path| Operation::from_request(&Method::GET, path, decode);
        assert_eq!(
            get("/foundation-model-availability/anthropic.claude-x-v1%3A0"),
            Some(Operation::GetFoundationModelAvailability(
                "anthropic.claude-x-v1:0".to_owned()
            ))
        );
        assert_eq!(
            get("/inference-profiles"),
            Some(Operation::ListInferenceProfiles)
        );
        assert_eq!(get("/model/x/converse"), None);
        assert_eq!(
            Operation::from_request(&Method::PUT, "/data-retention", decode),
            Some(Operation::PutAccountDataRetention)
        );
        assert_eq!(
            Operation::from_request(&Method::PUT, "/inference-profiles", decode),
            None
        );
    }
}
