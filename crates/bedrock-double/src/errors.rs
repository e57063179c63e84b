//! Bedrock's error shapes, both as HTTP responses (status, `x-amzn-ErrorType`,
//! `{"message"}` body) and as mid-stream exception payloads, so SDKs parse
//! them into the same typed errors they would get from Bedrock.

use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::server::{Body, json_response};

/// Every error the double can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Validation,
    AccessDenied,
    ResourceNotFound,
    ModelTimeout,
    ModelError,
    ModelStreamError,
    Throttling,
    InternalServer,
    ServiceUnavailable,
    /// Unknown access key id (403).
    UnrecognizedClient,
    /// Signature mismatch (403).
    InvalidSignature,
    /// No `Authorization` header (403).
    MissingAuthenticationToken,
    /// A path that is not a Bedrock Runtime operation (404).
    UnknownOperation,
}

/// One error response: what went wrong and the message the client sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds for a `Retry-After` header (`retry-after=SECS` directive).
    pub retry_after: Option<u64>,
}

impl ErrorKind {
    /// The error a `status=CODE` directive asks for.
    pub fn from_status(code: u16) -> Option<ErrorKind> {
        Some(match code {
            400 => ErrorKind::Validation,
            403 => ErrorKind::AccessDenied,
            404 => ErrorKind::ResourceNotFound,
            408 => ErrorKind::ModelTimeout,
            424 => ErrorKind::ModelError,
            429 => ErrorKind::Throttling,
            500 => ErrorKind::InternalServer,
            503 => ErrorKind::ServiceUnavailable,
            _ => return None,
        })
    }

    /// The error a `midstream=NAME` directive asks for (event-stream member name).
    pub fn from_exception_type(name: &str) -> Option<ErrorKind> {
        Some(match name {
            "modelStreamErrorException" => ErrorKind::ModelStreamError,
            "throttlingException" => ErrorKind::Throttling,
            "internalServerException" => ErrorKind::InternalServer,
            "serviceUnavailableException" => ErrorKind::ServiceUnavailable,
            "validationException" => ErrorKind::Validation,
            "modelTimeoutException" => ErrorKind::ModelTimeout,
            _ => return None,
        })
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Validation => StatusCode::BAD_REQUEST,
            ErrorKind::AccessDenied
            | ErrorKind::UnrecognizedClient
            | ErrorKind::InvalidSignature
            | ErrorKind::MissingAuthenticationToken => StatusCode::FORBIDDEN,
            ErrorKind::ResourceNotFound | ErrorKind::UnknownOperation => StatusCode::NOT_FOUND,
            ErrorKind::ModelTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::ModelError | ErrorKind::ModelStreamError => StatusCode::FAILED_DEPENDENCY,
            ErrorKind::Throttling => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::InternalServer => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The shape name, as in `x-amzn-ErrorType`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Validation => "ValidationException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::ModelTimeout => "ModelTimeoutException",
            ErrorKind::ModelError => "ModelErrorException",
            ErrorKind::ModelStreamError => "ModelStreamErrorException",
            ErrorKind::Throttling => "ThrottlingException",
            ErrorKind::InternalServer => "InternalServerException",
            ErrorKind::ServiceUnavailable => "ServiceUnavailableException",
            ErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            ErrorKind::InvalidSignature => "InvalidSignatureException",
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
        }
    }

    /// The event-stream member name used for `:exception-type`.
    pub fn exception_type(self) -> String {
        let code = self.code();
        let mut name = code[..1].to_ascii_lowercase();
        name.push_str(&code[1..]);
        name
    }

    /// Text for errors raised by directives; real captures where known.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorKind::Validation => "The request failed validation (bedrock-double directive).",
            ErrorKind::AccessDenied => {
                "You don't have access to the model with the specified model ID."
            }
            ErrorKind::ResourceNotFound => {
                "Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model. If you have already filled out the form, try again in 15 minutes."
            }
            ErrorKind::ModelTimeout => {
                "Model has timed out in processing the request. Try your request again."
            }
            ErrorKind::ModelError => "The model encountered an error while processing the request.",
            ErrorKind::ModelStreamError => {
                "The model encountered an error while streaming the response."
            }
            ErrorKind::Throttling => "Too many requests, please wait before trying again.",
            ErrorKind::InternalServer => {
                "The server encountered an internal error. Try your request again."
            }
            ErrorKind::ServiceUnavailable => "Bedrock is unable to process your request.",
            ErrorKind::UnrecognizedClient => {
                "The security token included in the request is invalid."
            }
            ErrorKind::InvalidSignature => {
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            }
            ErrorKind::MissingAuthenticationToken => "Missing Authentication Token",
            ErrorKind::UnknownOperation => "Unknown operation",
        }
    }

    /// Auth and routing errors come from AWS's front door, not from Bedrock.
    fn namespace(self) -> &'static str {
        match self {
            ErrorKind::UnrecognizedClient
            | ErrorKind::InvalidSignature
            | ErrorKind::MissingAuthenticationToken
            | ErrorKind::UnknownOperation => {
                "http://internal.amazon.com/coral/com.amazon.coral.service/"
            }
            _ => "http://internal.amazon.com/coral/com.amazon.bedrock/",
        }
    }
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Validation, message)
    }

    /// The error with its shape's default message.
    pub fn of(kind: ErrorKind) -> ApiError {
        ApiError::new(kind, kind.default_message())
    }

    /// JSON body; model errors also carry the model's original status.
    pub fn body(&self) -> Value {
        match self.kind {
            ErrorKind::ModelError => json!({
                "message": self.message, "originalStatusCode": 500, "resourceName": "bedrock-double"
            }),
            ErrorKind::ModelStreamError => json!({
                "message": self.message, "originalStatusCode": 500, "originalMessage": self.message
            }),
            _ => json!({ "message": self.message }),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = json_response(self.kind.status(), &self.body());
        let error_type = format!("{}:{}", self.kind.code(), self.kind.namespace());
        if let Ok(value) = http::HeaderValue::from_str(&error_type) {
            response.headers_mut().insert("x-amzn-ErrorType", value);
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_type_is_lower_camel_code() {
        assert_eq!(
            ErrorKind::ModelStreamError.exception_type(),
            "modelStreamErrorException"
        );
        for kind in [
            ErrorKind::ModelStreamError,
            ErrorKind::Throttling,
            ErrorKind::ModelTimeout,
        ] {
            assert_eq!(
                ErrorKind::from_exception_type(&kind.exception_type()),
                Some(kind)
            );
        }
    }

    #[test]
    fn status_directive_codes_round_trip() {
        for code in [400, 403, 404, 408, 424, 429, 500, 503] {
            let kind = ErrorKind::from_status(code).unwrap();
            assert_eq!(kind.status().as_u16(), code);
        }
        assert_eq!(ErrorKind::from_status(418), None);
    }

    #[test]
    fn response_carries_error_type_header_and_message() {
        let response = ApiError::of(ErrorKind::Throttling).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
        );
    }
}
