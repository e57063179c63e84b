//! The OpenAI Responses API (stateless), for Codex CLI and the openai SDKs'
//! `responses` methods: wire types, and pure translation to and from Bedrock
//! Converse (no I/O here; `server` does HTTP and SSE framing).
//!
//! Request → [`to_converse`] → Bedrock → [`from_converse`] (or one
//! [`StreamTranslator`] per streamed response) → response. Translation
//! shares the conversation builder, tool rules and generation settings of
//! Chat Completions, and so its [`TranslateError`], answered as an
//! OpenAI-shaped 400.

mod reasoning;
mod request;
mod response;
mod routing;
mod stream;
mod tools;
mod wire;

pub use crate::openai::TranslateError;
pub use request::{Prepared, to_converse};
pub use response::{ResponseContext, from_converse};
pub use routing::{route_input, strip_override_tag};
pub use stream::StreamTranslator;
pub use tools::ToolIndex;
pub use wire::*;
