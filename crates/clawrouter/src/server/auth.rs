//! Client authentication: every route but liveliness needs the proxy's key,
//! as `Authorization: Bearer <key>` (OpenAI clients) or `x-api-key: <key>`
//! (Anthropic clients). A failure says nothing about the key presented.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState, Protocol, Rejection};
use crate::credentials::keys_match;

pub async fn require_api_key(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let authorized = presented_key(request.headers())
        .is_some_and(|key| keys_match(key.as_bytes(), &state.config.api_key));
    if authorized {
        next.run(request).await
    } else {
        state.rejections.count(Rejection::Unauthorized);
        ApiError::Unauthorized.into_response_for(protocol_of(request.uri().path()))
    }
}

/// The error shape a path's clients expect.
pub fn protocol_of(path: &str) -> Protocol {
    if path.starts_with("/v1/messages") {
        Protocol::Anthropic
    } else {
        Protocol::OpenAi
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110 §11.1).
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key);
    bearer
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_matches_in_any_case_and_nothing_else_does() {
        for value in ["Bearer k", "bearer k", "BEARER k", "bEaReR  k"] {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", value.parse().unwrap());
            assert_eq!(presented_key(&headers), Some("k"), "{value}");
        }
        for value in ["Basic k", "Bearerk", "Token k"] {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", value.parse().unwrap());
            assert_eq!(presented_key(&headers), None, "{value}");
        }
    }
}
