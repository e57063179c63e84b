//! The small read-only routes: model list, health, liveliness, and the
//! answer for paths that do not exist.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{ApiError, AppState, auth};
use crate::health::Status;

/// How long `/health` waits for each model's probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /v1/models`, OpenAI's list shape: what a client can call now.
/// `auto` first, then the catalog's models Bedrock will serve (not past end
/// of life, not denied to this account), then the Claude profiles discovery
/// found that the catalog lacks, by their profile id: a client that offers a
/// model picker from this list offers only models that answer.
pub async fn models(State(state): State<Arc<AppState>>) -> Json<Value> {
    let catalog = state.catalog.models().iter();
    let available = catalog.filter(|m| state.availability.is_available(&m.name));
    let discovered = state.availability.all_discovered();
    let data: Vec<Value> = std::iter::once(listed("auto", "clawrouter"))
        .chain(available.map(|m| listed(&m.name, &m.provider)))
        .chain(discovered.iter().map(|m| listed(&m.name, &m.provider)))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// One entry of the model list.
fn listed(id: &str, owned_by: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": owned_by})
}

/// `GET /health`: probes every model for free, then answers in LiteLLM's shape.
pub async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    let probes = state.catalog.models().iter().map(|m| {
        let state = state.clone();
        async move {
            let status = tokio::time::timeout(
                PROBE_TIMEOUT,
                state.health.probe(&state.bedrock, &m.profile_id),
            )
            .await
            .unwrap_or_else(|_| state.health.status(&m.profile_id));
            (m, status)
        }
    });
    let mut healthy = Vec::new();
    let mut unhealthy = Vec::new();
    for (model, status) in futures_util::future::join_all(probes).await {
        let mut entry = json!({
            "model": format!("bedrock/{}", model.profile_id),
            "model_name": model.name,
            "aws_region_name": state.bedrock.region(),
        });
        if status.status == Status::Healthy {
            healthy.push(entry);
        } else {
            entry["error"] = json!(status.last_error.unwrap_or_else(|| "no answer".to_owned()));
            unhealthy.push(entry);
        }
    }
    Json(json!({
        "healthy_count": healthy.len(),
        "unhealthy_count": unhealthy.len(),
        "healthy_endpoints": healthy,
        "unhealthy_endpoints": unhealthy,
    }))
}

/// `GET /health/liveliness`: needs no key; says only that the process is up.
pub async fn liveliness() -> Json<&'static str> {
    Json("I'm alive!")
}

pub async fn not_found(uri: Uri) -> Response {
    ApiError::RouteNotFound.into_response_for(auth::protocol_of(uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::MethodNotAllowed(method.to_string()).into_response_for(auth::protocol_of(uri.path()))
}
