//! ClawRouter's engine: a loopback proxy that lets local IDE tools call Claude
//! on AWS Bedrock with one key, routed to the cheapest capable tier, with
//! health and spend accounted.
//!
//! Data flows one way through these modules:
//! request → [`server`] (auth, limits) → [`router`] (which model) →
//! [`openai`] / [`anthropic`] (translate) → [`bedrock`] (call) → translate back
//! → [`ledger`] and [`health`] (account).
//!
//! [`catalog`], [`settings`] and [`credentials`] are the configuration the
//! flow reads; [`engine`] loads them and runs the server for the hosts (the
//! CLI and the desktop shell). Nothing here knows about either host.

pub mod adjust;
pub mod anthropic;
pub mod bedrock;
pub mod catalog;
pub mod credentials;
pub mod discovery;
pub mod engine;
pub mod health;
pub mod ledger;
pub mod money;
pub mod openai;
mod private_files;
pub mod prompt_cache;
pub mod responses;
pub mod router;
pub mod server;
pub mod settings;
