//! The one place errors become HTTP: every failure of a request is an
//! [`ApiError`], rendered in the shape of the protocol the client speaks
//! (OpenAI or Anthropic) with the matching status.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::bedrock::UpstreamError;

/// Which error shape a client understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    Anthropic,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Deliberately says nothing about the key that was presented.
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("{message}")]
    BadRequest {
        message: String,
        param: Option<String>,
        code: &'static str,
    },
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("request body is larger than the {limit} byte limit")]
    PayloadTooLarge { limit: usize },
    #[error("the model `{requested}` does not exist; available: {}", available.join(", "))]
    ModelNotFound {
        requested: String,
        available: Vec<String>,
    },
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    #[error("no model can serve this request: {0}")]
    NoCandidate(String),
    #[error("{message}")]
    BudgetExceeded { message: String },
    #[error("not found")]
    RouteNotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Load shedding: the concurrency limit is reached; retry shortly.
    #[error("the proxy is busy ({limit} requests in flight); retry shortly")]
    Overloaded { limit: usize },
    /// A handler panicked; deliberately says nothing about the request.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            param: None,
            code: "invalid_request",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::ModelNotFound { .. } | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::NoCandidate(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BudgetExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Upstream(e) => match e {
                UpstreamError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                UpstreamError::Validation { .. } => StatusCode::BAD_REQUEST,
                UpstreamError::AccessDenied { .. } | UpstreamError::Credentials { .. } => {
                    StatusCode::FORBIDDEN
                }
                UpstreamError::NotFound { .. } => StatusCode::NOT_FOUND,
                UpstreamError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                UpstreamError::Unavailable { status: 503, .. } => StatusCode::SERVICE_UNAVAILABLE,
                UpstreamError::ModelError { .. }
                | UpstreamError::Unavailable { .. }
                | UpstreamError::Connect { .. } => StatusCode::BAD_GATEWAY,
            },
        }
    }

    /// A short, stable name for the failure (ledger rows, logs): OpenAI's `error.code`.
    pub fn code(&self) -> &'static str {
        self.openai_kind().1
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Upstream(UpstreamError::Throttled { retry_after, .. }) => *retry_after,
            ApiError::Overloaded { .. } => Some(Duration::from_secs(1)),
            _ => None,
        }
    }

    /// OpenAI's `error.type` and `error.code`.
    fn openai_kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Unauthorized => ("authentication_error", "invalid_api_key"),
            ApiError::BadRequest { code, .. } => ("invalid_request_error", *code),
            ApiError::UnsupportedMediaType => ("invalid_request_error", "unsupported_media_type"),
            ApiError::PayloadTooLarge { .. } => ("invalid_request_error", "request_too_large"),
            ApiError::ModelNotFound { .. } => ("invalid_request_error", "model_not_found"),
            ApiError::RouteNotFound => ("invalid_request_error", "not_found"),
            ApiError::Forbidden(_) => ("permission_error", "forbidden"),
            ApiError::BudgetExceeded { .. } => ("insufficient_quota", "budget_exceeded"),
            ApiError::NoCandidate(_) => ("api_error", "no_candidate"),
            ApiError::Overloaded { .. } => ("api_error", "overloaded"),
            ApiError::Internal => ("api_error", "internal_error"),
            ApiError::Upstream(e) => match e {
                UpstreamError::Throttled { .. } => ("rate_limit_error", "rate_limit_exceeded"),
                UpstreamError::Validation { .. } => {
                    ("invalid_request_error", "upstream_validation")
                }
                UpstreamError::AccessDenied { .. } => {
                    ("permission_error", "upstream_access_denied")
                }
                UpstreamError::Credentials { .. } => ("permission_error", "upstream_credentials"),
                UpstreamError::NotFound { .. } => ("invalid_request_error", "upstream_not_found"),
                UpstreamError::Timeout { .. } => ("timeout_error", "upstream_timeout"),
                UpstreamError::ModelError { .. } => ("api_error", "upstream_model_error"),
                UpstreamError::Unavailable { .. } => ("api_error", "upstream_unavailable"),
                UpstreamError::Connect { .. } => ("api_error", "upstream_unreachable"),
            },
        }
    }

    /// Anthropic's `error.type`; throttling is `overloaded_error`, which
    /// Anthropic serves as status 529 and Claude Code retries.
    fn anthropic_kind(&self) -> (&'static str, StatusCode) {
        let status = self.status();
        let kind = match self {
            ApiError::Unauthorized => "authentication_error",
            ApiError::Forbidden(_) => "permission_error",
            ApiError::PayloadTooLarge { .. } => "request_too_large",
            ApiError::ModelNotFound { .. } | ApiError::RouteNotFound => "not_found_error",
            ApiError::BudgetExceeded { .. } => "rate_limit_error",
            ApiError::Upstream(UpstreamError::Throttled { .. }) | ApiError::Overloaded { .. } => {
                return ("overloaded_error", overloaded());
            }
            ApiError::Upstream(
                UpstreamError::AccessDenied { .. } | UpstreamError::Credentials { .. },
            ) => "permission_error",
            ApiError::Upstream(UpstreamError::NotFound { .. }) => "not_found_error",
            ApiError::Upstream(UpstreamError::Timeout { .. }) => "timeout_error",
            _ if status.is_client_error() => "invalid_request_error",
            _ => "api_error",
        };
        (kind, status)
    }

    /// The JSON error object for a mid-stream SSE error event.
    pub fn body(&self, protocol: Protocol) -> serde_json::Value {
        let message = self.to_string();
        match protocol {
            Protocol::OpenAi => {
                let (kind, code) = self.openai_kind();
                let param = match self {
                    ApiError::BadRequest { param, .. } => param.clone(),
                    ApiError::ModelNotFound { .. } => Some("model".to_owned()),
                    _ => None,
                };
                json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
            }
            Protocol::Anthropic => {
                let (kind, _) = self.anthropic_kind();
                json!({"type": "error", "error": {"type": kind, "message": message}})
            }
        }
    }

    pub fn into_response_for(self, protocol: Protocol) -> Response {
        let status = match protocol {
            Protocol::OpenAi => self.status(),
            Protocol::Anthropic => self.anthropic_kind().1,
        };
        let mut response = (status, axum::Json(self.body(protocol))).into_response();
        if let Some(after) = self.retry_after()
            && let Ok(value) = HeaderValue::from_str(&after.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

fn overloaded() -> StatusCode {
    StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_errors_map_to_the_listed_statuses() {
        let cases = [
            (
                UpstreamError::Throttled {
                    message: "t".into(),
                    retry_after: None,
                },
                429,
            ),
            (
                UpstreamError::Validation {
                    message: "v".into(),
                },
                400,
            ),
            (
                UpstreamError::AccessDenied {
                    message: "a".into(),
                },
                403,
            ),
            (
                UpstreamError::NotFound {
                    message: "n".into(),
                },
                404,
            ),
            (
                UpstreamError::Timeout {
                    message: "t".into(),
                },
                504,
            ),
            (
                UpstreamError::Unavailable {
                    status: 500,
                    message: "u".into(),
                },
                502,
            ),
            (
                UpstreamError::Unavailable {
                    status: 503,
                    message: "u".into(),
                },
                503,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(ApiError::Upstream(e).status().as_u16(), status);
        }
    }

    #[test]
    fn anthropic_throttling_is_overloaded_529() {
        let e = ApiError::Upstream(UpstreamError::Throttled {
            message: "t".into(),
            retry_after: None,
        });
        let r = e.into_response_for(Protocol::Anthropic);
        assert_eq!(r.status().as_u16(), 529);
    }

    #[test]
    fn retry_after_header_is_set_when_known() {
        let e = ApiError::Upstream(UpstreamError::Throttled {
            message: "t".into(),
            retry_after: Some(Duration::from_secs(7)),
        });
        let r = e.into_response_for(Protocol::OpenAi);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
    }
}
