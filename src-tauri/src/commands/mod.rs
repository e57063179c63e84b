//! The commands the window calls (`invoke("name", args)`): thin adapters
//! that call the engine and return serde values. Each area is one file.

pub mod dashboard;
pub mod proxy;
pub mod settings;

use clawrouter::credentials::CredentialsError;
use clawrouter::engine::EngineError;
use clawrouter::settings::{FieldError, SettingsError};
use serde::Serialize;

/// What a failed command returns to the window: a sentence to show, and
/// the fields to mark when the failure is about input.
#[derive(Debug, Serialize, PartialEq)]
pub struct CommandError {
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl CommandError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fields: Vec::new(),
        }
    }
}

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Settings(SettingsError::Invalid { errors, .. }) => Self {
                message: "Some settings are not valid.".to_owned(),
                fields: errors,
            },
            other => Self::new(other.to_string()),
        }
    }
}

impl From<CredentialsError> for CommandError {
    fn from(e: CredentialsError) -> Self {
        match e {
            CredentialsError::InvalidAwsKeys(field) => Self {
                message: "These AWS keys do not look right.".to_owned(),
                fields: vec![field],
            },
            other => Self::new(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for CommandError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::new(format!("a background task failed: {e}"))
    }
}
