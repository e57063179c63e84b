//! Calling Bedrock Runtime: the request/response types the translators
//! produce and consume, the upstream error taxonomy, and the SDK-backed client.
//!
//! The Bedrock wire types are the official SDK's generated types
//! (`aws_sdk_bedrockruntime::types`), which mirror the Smithy model exactly;
//! this module adds only what the SDK does not have: one request value that
//! serves both Converse and ConverseStream, and an error enum that says what
//! a client of the proxy should be told.

use std::time::Duration;

use aws_sdk_bedrockruntime::types::{
    InferenceConfiguration, Message, SystemContentBlock, ToolConfiguration,
};
use aws_smithy_types::Document;

pub use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
pub use aws_sdk_bedrockruntime::types::ConverseStreamOutput as ConverseStreamEvent;

/// A Converse / ConverseStream request, as built by the translators.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConverseRequest {
    /// Inference profile id, e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`.
    pub model_id: String,
    pub messages: Vec<Message>,
    pub system: Vec<SystemContentBlock>,
    pub inference: Option<InferenceConfiguration>,
    pub tools: Option<ToolConfiguration>,
    /// Model-specific fields, e.g. `{"thinking": {...}, "top_k": 5}`.
    pub additional_fields: Option<Document>,
    /// JSON pointers into the model's native response to return, e.g. `/stop_sequence`.
    pub response_field_paths: Vec<String>,
}

/// Whether `message` is Bedrock's refusal of every call to a model while the
/// account's data retention mode is not one the model serves under ("data
/// retention mode 'default' is not available for this model",
/// anthropics/claude-code#66594).
fn is_data_retention_refusal(message: &str) -> bool {
    message.contains("data retention mode")
}

/// What to do about that refusal.
pub const DATA_RETENTION_ADVICE: &str = "Bedrock serves this model only under the account data \
     retention modes its model card names: an AWS admin sets one with `aws bedrock \
     put-account-data-retention --mode aws_review` \
     (https://docs.aws.amazon.com/bedrock/latest/userguide/data-retention.html).";

/// What went wrong upstream, in the terms a proxy client needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpstreamError {
    #[error("Bedrock is throttling requests: {message}")]
    Throttled {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("Bedrock rejected the request: {message}")]
    Validation { message: String },
    #[error("Bedrock denied access: {message}")]
    AccessDenied { message: String },
    #[error("Bedrock does not know this model or resource: {message}")]
    NotFound { message: String },
    #[error("Bedrock timed out: {message}")]
    Timeout { message: String },
    #[error("the model failed: {message}")]
    ModelError { message: String },
    #[error("Bedrock is unavailable ({status}): {message}")]
    Unavailable { status: u16, message: String },
    #[error("cannot reach Bedrock: {message}")]
    Connect { message: String },
    /// `rejected`: AWS refused them (wrong, expired); else none could be loaded.
    #[error("no usable AWS credentials: {message}")]
    Credentials { message: String, rejected: bool },
}

impl UpstreamError {
    /// Bedrock refuses every call to this model until the account's data
    /// retention mode allows it: the model's problem, not the request's.
    pub fn refuses_data_retention(&self) -> bool {
        matches!(self, UpstreamError::Validation { message } if is_data_retention_refusal(message))
    }

    /// Whether another candidate model may succeed where this one failed
    /// (throttling and server-side faults, not the request's own mistakes).
    pub fn is_retryable_elsewhere(&self) -> bool {
        matches!(
            self,
            UpstreamError::Throttled { .. }
                | UpstreamError::Unavailable { .. }
                | UpstreamError::Timeout { .. }
                | UpstreamError::Connect { .. }
        )
    }
}

/// The JSON value was nested deeper than the limit given to [`json_to_document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("JSON is nested deeper than {limit} levels")]
pub struct TooDeep {
    pub limit: usize,
}

/// Converts client JSON (tool schemas, tool arguments) into the SDK's
/// `Document`. Depth is bounded because the value comes from a client and
/// the conversion (like the SDK's serializer after it) recurses.
pub fn json_to_document(value: &serde_json::Value, limit: usize) -> Result<Document, TooDeep> {
    use aws_smithy_types::Number;
    use serde_json::Value;
    fn walk(v: &Value, left: usize, limit: usize) -> Result<Document, TooDeep> {
        let Some(below) = left.checked_sub(1) else {
            return Err(TooDeep { limit });
        };
        Ok(match v {
            Value::Null => Document::Null,
            Value::Bool(b) => Document::Bool(*b),
            Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
                Number::PosInt(u)
            } else if let Some(i) = n.as_i64() {
                Number::NegInt(i)
            } else {
                Number::Float(n.as_f64().unwrap_or(0.0))
            }),
            Value::String(s) => Document::String(s.clone()),
            Value::Array(items) => Document::Array(
                items
                    .iter()
                    .map(|i| walk(i, below, limit))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Document::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), walk(v, below, limit)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
    walk(value, limit, limit)
}

/// Converts a `Document` from Bedrock (tool input) back to JSON. Object keys
/// come out sorted (serde_json's map), so the result is deterministic even
/// though `Document` objects are hash maps. Non-finite floats, which JSON
/// cannot carry, become `null`.
pub fn document_to_json(doc: &Document) -> serde_json::Value {
    use aws_smithy_types::Number;
    use serde_json::Value;
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), document_to_json(v)))
                .collect(),
        ),
    }
}

// ---------------------------------------------------------------------------
// The SDK-backed client.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::error::{ConverseStreamOutputError, ResponseStreamError};
use aws_sdk_bedrockruntime::types::{CountTokensInput, InvokeModelTokensRequest, ResponseStream};
use aws_smithy_types::Blob;
use bytes::Bytes;

/// The region used when neither settings, environment nor AWS profile name one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How to reach Bedrock. Endpoint overrides come from the AWS SDK's own
/// variables (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`), as every AWS tool honours them.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub region: Option<String>,
    /// `None` leaves the SDK's standard chain (env, profile, SSO, role).
    pub credentials: Option<SharedCredentialsProvider>,
    /// Overrides the endpoint (tests point it at the bedrock double);
    /// `None` keeps the SDK's resolution, including its environment variables.
    pub endpoint_url: Option<String>,
    pub connect_timeout: Duration,
}

/// Fills a Converse or ConverseStream fluent builder (two SDK types with the
/// same setters) from one [`ConverseRequest`].
macro_rules! converse_fields {
    ($builder:expr, $req:expr) => {{
        let req = $req;
        $builder
            .model_id(req.model_id)
            .set_messages(Some(req.messages))
            .set_system(non_empty(req.system))
            .set_inference_config(req.inference)
            .set_tool_config(req.tools)
            .set_additional_model_request_fields(req.additional_fields)
            .set_additional_model_response_field_paths(non_empty(req.response_field_paths))
    }};
}

/// A Bedrock Runtime client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BedrockClient {
    client: aws_sdk_bedrockruntime::Client,
    region: String,
}

/// Events of a ConverseStream response.
pub struct ConverseEvents {
    receiver: aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
        ConverseStreamEvent,
        ConverseStreamOutputError,
    >,
    model_id: String,
}

/// Chunks of an InvokeModelWithResponseStream response: each is one
/// Anthropic streaming event as JSON.
pub struct InvokeEvents {
    receiver: aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
        ResponseStream,
        ResponseStreamError,
    >,
    model_id: String,
}

/// The AWS configuration every Bedrock client of the engine shares (runtime
/// and control plane): credentials, region (default [`DEFAULT_REGION`]),
/// endpoint resolution including `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` /
/// `AWS_ENDPOINT_URL_BEDROCK`, one attempt per call, connect timeout.
pub async fn sdk_config(options: ClientOptions) -> aws_config::SdkConfig {
    // One attempt per call: the proxy falls back to other candidates
    // itself, and SDK retries would hold a throttled request for seconds.
    // Stalled-stream protection is off because thinking models pause for
    // long stretches (awslabs/aws-sdk-rust#1287); the server applies its
    // own idle timeout between stream events instead.
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(options.connect_timeout)
                .build(),
        );
    if let Some(region) = options.region {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(credentials) = options.credentials {
        loader = loader.credentials_provider(credentials);
    }
    if let Some(endpoint) = options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let sdk = loader.load().await;
    if sdk.region().is_some() {
        return sdk;
    }
    sdk.into_builder()
        .region(aws_config::Region::new(DEFAULT_REGION))
        .build()
}

impl BedrockClient {
    pub async fn new(options: ClientOptions) -> Self {
        Self::from_sdk(&sdk_config(options).await)
    }

    /// A runtime client on a shared configuration (see [`sdk_config`]).
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        let region = sdk
            .region()
            .map_or_else(|| DEFAULT_REGION.to_owned(), |r| r.to_string());
        Self {
            client: aws_sdk_bedrockruntime::Client::new(sdk),
            region,
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub async fn converse(&self, req: ConverseRequest) -> Result<ConverseOutput, UpstreamError> {
        let model_id = req.model_id.clone();
        converse_fields!(self.client.converse(), req)
            .send()
            .await
            .map_err(|e| from_sdk_error(&e, &model_id))
    }

    pub async fn converse_stream(
        &self,
        req: ConverseRequest,
    ) -> Result<ConverseEvents, UpstreamError> {
        let model_id = req.model_id.clone();
        let out = converse_fields!(self.client.converse_stream(), req)
            .send()
            .await
            .map_err(|e| from_sdk_error(&e, &model_id))?;
        Ok(ConverseEvents {
            receiver: out.stream,
            model_id,
        })
    }

    /// InvokeModel with a native (Anthropic Messages) JSON body.
    pub async fn invoke(&self, model_id: &str, body: Bytes) -> Result<Bytes, UpstreamError> {
        let out = self
            .client
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| from_sdk_error(&e, model_id))?;
        Ok(Bytes::from(out.body.into_inner()))
    }

    pub async fn invoke_stream(
        &self,
        model_id: &str,
        body: Bytes,
    ) -> Result<InvokeEvents, UpstreamError> {
        let out = self
            .client
            .invoke_model_with_response_stream()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| from_sdk_error(&e, model_id))?;
        Ok(InvokeEvents {
            receiver: out.body,
            model_id: model_id.to_owned(),
        })
    }

    /// Bedrock's CountTokens for a native Anthropic body. Free of charge,
    /// which also makes it the health probe that costs nothing.
    pub async fn count_tokens(&self, model_id: &str, body: Bytes) -> Result<u64, UpstreamError> {
        let request = InvokeModelTokensRequest::builder()
            .body(Blob::new(body))
            .build()
            .map_err(|e| UpstreamError::Validation {
                message: e.to_string(),
            })?;
        let out = self
            .client
            .count_tokens()
            .model_id(model_id)
            .input(CountTokensInput::InvokeModel(request))
            .send()
            .await
            .map_err(|e| from_sdk_error(&e, model_id))?;
        Ok(u64::try_from(out.input_tokens()).unwrap_or(0))
    }
}

impl ConverseEvents {
    /// The next event, `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<ConverseStreamEvent>, UpstreamError> {
        self.receiver
            .recv()
            .await
            .map_err(|e| from_stream_error(&e, &self.model_id))
    }
}

/// An exception in the middle of a stream carries its type only in the
/// event's `:exception-type` header, which the SDK turns into the variant;
/// its payload (`{"message": ...}`) has no code, so `code()` is `None`.
/// The variant names the code instead.
/// <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ResponseStream.html>
trait StreamFaultCode {
    fn variant_code(&self) -> Option<&'static str>;
}

impl StreamFaultCode for ResponseStreamError {
    fn variant_code(&self) -> Option<&'static str> {
        Some(match self {
            Self::InternalServerException(_) => "internalServerException",
            Self::ModelStreamErrorException(_) => "modelStreamErrorException",
            Self::ValidationException(_) => "validationException",
            Self::ThrottlingException(_) => "throttlingException",
            Self::ModelTimeoutException(_) => "modelTimeoutException",
            Self::ServiceUnavailableException(_) => "serviceUnavailableException",
            _ => return None,
        })
    }
}

impl StreamFaultCode for ConverseStreamOutputError {
    fn variant_code(&self) -> Option<&'static str> {
        Some(match self {
            Self::InternalServerException(_) => "internalServerException",
            Self::ModelStreamErrorException(_) => "modelStreamErrorException",
            Self::ValidationException(_) => "validationException",
            Self::ThrottlingException(_) => "throttlingException",
            Self::ServiceUnavailableException(_) => "serviceUnavailableException",
            _ => return None,
        })
    }
}

/// A failure while reading a stream that has already started.
fn from_stream_error<E, R>(err: &SdkError<E, R>, model_id: &str) -> UpstreamError
where
    E: ProvideErrorMetadata + StreamFaultCode + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            classify(
                e.code().or_else(|| e.variant_code()).unwrap_or("Unknown"),
                e.message().unwrap_or("(no message)"),
                None,
                None,
                model_id,
            )
        }
        other => from_sdk_error(other, model_id),
    }
}

impl InvokeEvents {
    /// The next Anthropic event JSON, `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        loop {
            match self.receiver.recv().await {
                Ok(Some(ResponseStream::Chunk(part))) => {
                    if let Some(bytes) = part.bytes {
                        return Ok(Some(Bytes::from(bytes.into_inner())));
                    }
                }
                Ok(Some(_unknown)) => continue,
                Ok(None) => return Ok(None),
                Err(e) => return Err(from_stream_error(&e, &self.model_id)),
            }
        }
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

/// Maps any SDK failure (HTTP-level or mid-stream) to an [`UpstreamError`].
fn from_sdk_error<E, R>(err: &SdkError<E, R>, model_id: &str) -> UpstreamError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let raw: &dyn std::any::Any = ctx.raw();
            let response = raw.downcast_ref::<aws_smithy_runtime_api::http::Response>();
            let status = response.map(|r| r.status().as_u16());
            let retry_after = response
                .and_then(|r| r.headers().get("retry-after"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            classify(
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or("(no message)"),
                status,
                retry_after,
                model_id,
            )
        }
        SdkError::TimeoutError(_) => UpstreamError::Timeout {
            message: "no response from Bedrock in time".to_owned(),
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => UpstreamError::Timeout {
            message: "connecting to Bedrock timed out".to_owned(),
        },
        other => {
            let message = readable_error_chain(other);
            if message.contains("credentials") || message.contains("identity") {
                // The SDK's reason names internals (identity resolvers,
                // provider chains); `check` says what was tried and the fix.
                UpstreamError::Credentials {
                    message: "none could be loaded; run `clawrouter check` (or Test connection \
                              in Settings) to see where ClawRouter looked and how to fix it"
                        .to_owned(),
                    rejected: false,
                }
            } else {
                UpstreamError::Connect { message }
            }
        }
    }
}

/// One classification for every operation, keyed on the Bedrock error code.
fn classify(
    code: &str,
    message: &str,
    status: Option<u16>,
    retry_after: Option<Duration>,
    model_id: &str,
) -> UpstreamError {
    let message = message.to_owned();
    match code {
        "ThrottlingException"
        | "throttlingException"
        | "ModelNotReadyException"
        | "ServiceQuotaExceededException" => UpstreamError::Throttled {
            message,
            retry_after,
        },
        "ValidationException" | "validationException" => {
            let message = if message.contains("on-demand throughput") {
                let advice = crate::catalog::profile_id_advice(model_id).unwrap_or_else(|| {
                    "use the model's inference profile id (us./eu./apac./global. prefix)".to_owned()
                });
                format!("{message} ClawRouter: {advice}.")
            } else if is_data_retention_refusal(&message) {
                // Claude Fable's gate: an account setting, not a request
                // field (pydantic/pydantic-ai#8170), so say where it is set.
                format!("{message}. ClawRouter: {DATA_RETENTION_ADVICE}")
            } else {
                message
            };
            UpstreamError::Validation { message }
        }
        "AccessDeniedException" => UpstreamError::AccessDenied { message },
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "MissingAuthenticationTokenException" => UpstreamError::Credentials {
            message: format!("AWS rejected the credentials ({code}): {message}"),
            rejected: true,
        },
        "ResourceNotFoundException" => UpstreamError::NotFound { message },
        "ModelTimeoutException" | "modelTimeoutException" => UpstreamError::Timeout { message },
        "ModelErrorException" | "ModelStreamErrorException" | "modelStreamErrorException" => {
            UpstreamError::ModelError { message }
        }
        "InternalServerException" | "internalServerException" => UpstreamError::Unavailable {
            status: 500,
            message,
        },
        "ServiceUnavailableException" | "serviceUnavailableException" => {
            UpstreamError::Unavailable {
                status: 503,
                message,
            }
        }
        _ => match status {
            Some(s) if s < 500 => UpstreamError::Validation {
                message: format!("{code}: {message}"),
            },
            Some(s) => UpstreamError::Unavailable { status: s, message },
            // No status: an exception after the stream started, which the
            // request's own content cannot cause (it was accepted).
            None => UpstreamError::Unavailable {
                status: 502,
                message: format!("{code}: {message}"),
            },
        },
    }
}

/// An error and its causes as one line of their `Display` texts, each cut
/// where it starts rendering like `Debug` (`DispatchFailure { … }`,
/// `HeaderValue { _private: … }`): that is for developers, not for a
/// response body or a person, and says nothing the words before it do not.
pub(crate) fn readable_error_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = without_debug(&e.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// `text` up to the first `Debug`-looking part, without the type name that
/// starts it.
fn without_debug(text: &str) -> String {
    let start = [" { ", "{ ", "_private", "Some(", "(\""]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min();
    let Some(start) = start else {
        return text.trim().to_owned();
    };
    let before = &text[..start];
    // Drop the type name (`DispatchFailure`) and the separator before it.
    let before = before.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
    before
        .trim_end_matches(|c: char| c.is_whitespace() || ":,(".contains(c))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn error_chains_keep_the_words_and_drop_debug_dumps() {
        let chain = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "other: failed to load IMDS session token: HeaderValue { _private: H1(\"21600\") }",
                Some(Box::new(Layer(
                    "DispatchFailure { source: ConnectorError { kind: Io } }",
                    Some(Box::new(Layer("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            readable_error_chain(&chain),
            "dispatch failure: other: failed to load IMDS session token: Connection refused (os error 111)"
        );
    }

    #[test]
    fn data_retention_refusal_says_where_the_mode_is_set() {
        let e = classify(
            "ValidationException",
            "data retention mode 'default' is not available for this model",
            Some(400),
            None,
            "us.anthropic.claude-fable-5-2",
        );
        assert!(matches!(e, UpstreamError::Validation { .. }));
        let text = e.to_string();
        assert!(
            text.contains("put-account-data-retention --mode aws_review"),
            "{text}"
        );
    }

    #[test]
    fn on_demand_error_gets_profile_advice() {
        let e = classify(
            "ValidationException",
            "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn\u{2019}t supported.",
            Some(400),
            None,
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        );
        let text = e.to_string();
        assert!(
            text.contains("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "{text}"
        );
        assert!(matches!(e, UpstreamError::Validation { .. }));
    }

    #[test]
    fn codes_map_to_kinds() {
        let c = |code, status| classify(code, "m", status, None, "us.x");
        type Case = (&'static str, Option<u16>, fn(&UpstreamError) -> bool);
        let cases: [Case; 11] = [
            ("ThrottlingException", Some(429), |e| {
                matches!(e, UpstreamError::Throttled { .. })
            }),
            ("AccessDeniedException", Some(403), |e| {
                matches!(e, UpstreamError::AccessDenied { .. })
            }),
            ("ResourceNotFoundException", Some(404), |e| {
                matches!(e, UpstreamError::NotFound { .. })
            }),
            ("ModelTimeoutException", Some(408), |e| {
                matches!(e, UpstreamError::Timeout { .. })
            }),
            ("InternalServerException", Some(500), |e| {
                matches!(e, UpstreamError::Unavailable { status: 500, .. })
            }),
            ("ServiceUnavailableException", Some(503), |e| {
                matches!(e, UpstreamError::Unavailable { status: 503, .. })
            }),
            ("modelStreamErrorException", None, |e| {
                matches!(e, UpstreamError::ModelError { .. })
            }),
            ("InvalidSignatureException", Some(403), |e| {
                matches!(e, UpstreamError::Credentials { .. })
            }),
            ("SomethingNew", Some(502), |e| {
                matches!(e, UpstreamError::Unavailable { status: 502, .. })
            }),
            ("SomethingNew", None, |e| {
                matches!(e, UpstreamError::Unavailable { status: 502, .. })
            }),
            ("SomethingNew", Some(400), |e| {
                matches!(e, UpstreamError::Validation { .. })
            }),
        ];
        for (code, status, expected) in cases {
            let kind = c(code, status);
            assert!(expected(&kind), "{code} -> {kind:?}");
        }
        assert!(c("ThrottlingException", None).is_retryable_elsewhere());
        assert!(!c("ValidationException", None).is_retryable_elsewhere());
    }
}

#[cfg(test)]
mod document_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_document() {
        let v = json!({"type":"object","n":-3,"u":7,"f":1.5,"ok":true,"none":null,
                       "list":[1,"two",{"three":[3.25]}]});
        let doc = json_to_document(&v, 64).unwrap();
        assert_eq!(document_to_json(&doc), v);
    }

    #[test]
    fn depth_limit_counts_levels() {
        let mut v = json!(1);
        for _ in 0..9 {
            v = json!([v]);
        }
        // ten levels: the scalar plus nine arrays
        assert!(json_to_document(&v, 10).is_ok());
        assert_eq!(json_to_document(&v, 9), Err(TooDeep { limit: 9 }));
    }
}
