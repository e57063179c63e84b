//! Which catalog models cannot be called now, and why: an overlay on the
//! catalog that `auto` consults (it never routes to an unavailable model) and
//! that makes naming such a model a clear error instead of an upstream one.
//!
//! It starts from the catalog's lifecycle (end-of-life models), and is
//! updated while running: by discovery (the account has no profile for a
//! model) and by the proxy when Bedrock denies access to a model. Clones
//! share one overlay.
//!
//! It also holds the Claude profiles discovery found that the catalog lacks
//! ([`Model::discovered`]): callable by their profile id, never routed to.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::broadcast;

use super::{Catalog, LifecycleStatus, Model};

/// Why a model is unavailable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unavailable {
    pub kind: UnavailableKind,
    /// A sentence a person can act on, e.g. "reached end of life on Bedrock on 2026-10-14".
    pub reason: String,
    /// Catalog name of the model to use instead, when there is one.
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnavailableKind {
    /// Past its end-of-life date on Bedrock.
    EndOfLife,
    /// Bedrock denied this account access to it.
    AccessDenied,
    /// Anything else (e.g. discovery found no profile for it in this region).
    NotOffered,
}

/// A model became unavailable (`unavailable` says why) or available again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AvailabilityChange {
    pub model: String,
    pub unavailable: Option<Unavailable>,
}

/// The shared overlay, keyed by catalog model name.
#[derive(Debug, Clone, Default)]
pub struct ModelAvailability {
    unavailable: Arc<RwLock<BTreeMap<String, Unavailable>>>,
    /// Where changes are told, when a host listens ([`Self::reporting_to`]).
    changes: Option<broadcast::Sender<AvailabilityChange>>,
    /// Discovered models by profile id.
    discovered: Arc<RwLock<BTreeMap<String, Arc<Model>>>>,
}

impl ModelAvailability {
    /// End-of-life models of `catalog` marked unavailable; the rest available.
    pub fn from_catalog(catalog: &Catalog) -> Self {
        let out = Self::default();
        for m in catalog.models() {
            if m.lifecycle.status == LifecycleStatus::Eol {
                let when = m
                    .lifecycle
                    .date
                    .as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default();
                out.mark(
                    &m.name,
                    Unavailable {
                        kind: UnavailableKind::EndOfLife,
                        reason: format!("reached end of life on Bedrock{when}"),
                        replacement: m.lifecycle.replacement.clone(),
                    },
                );
            }
        }
        out
    }

    /// This overlay, telling `changes` of every model that becomes
    /// unavailable or available again from now on.
    pub fn reporting_to(mut self, changes: broadcast::Sender<AvailabilityChange>) -> Self {
        self.changes = Some(changes);
        self
    }

    /// Marks `model` (a catalog name) unavailable for `reason`; a model
    /// already marked keeps its first reason (end of life outranks a later
    /// access denial, which it causes).
    pub fn mark_unavailable(&self, model: &str, reason: impl Into<String>) {
        self.mark(
            model,
            Unavailable {
                kind: UnavailableKind::NotOffered,
                reason: reason.into(),
                replacement: None,
            },
        );
    }

    /// Marks `model` unavailable because Bedrock answered AccessDeniedException.
    pub fn mark_access_denied(&self, model: &str, message: &str) {
        self.mark(
            model,
            Unavailable {
                kind: UnavailableKind::AccessDenied,
                reason: format!("Bedrock denied access to it ({message})"),
                replacement: None,
            },
        );
    }

    fn mark(&self, model: &str, why: Unavailable) {
        if let Entry::Vacant(entry) = self.write().entry(model.to_owned()) {
            entry.insert(why.clone());
            self.tell(model, Some(why));
        }
    }

    /// Makes `model` available again (discovery found its profile after all).
    pub fn mark_available(&self, model: &str) {
        if self.write().remove(model).is_some() {
            self.tell(model, None);
        }
    }

    fn tell(&self, model: &str, unavailable: Option<Unavailable>) {
        if let Some(changes) = &self.changes {
            // No subscriber left (the window closed) is not an error.
            let _ = changes.send(AvailabilityChange {
                model: model.to_owned(),
                unavailable,
            });
        }
    }

    /// Why `model` is unavailable, or `None` when it is available.
    pub fn reason(&self, model: &str) -> Option<Unavailable> {
        self.unavailable
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .cloned()
    }

    pub fn is_available(&self, model: &str) -> bool {
        !self
            .unavailable
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(model)
    }

    /// Replaces the discovered models with `models` (discovery's latest answer).
    pub fn set_discovered(&self, models: impl IntoIterator<Item = Model>) {
        let models = models
            .into_iter()
            .map(|m| (m.profile_id.clone(), Arc::new(m)))
            .collect();
        *self
            .discovered
            .write()
            .unwrap_or_else(PoisonError::into_inner) = models;
    }

    /// The discovered model called through `profile_id`, if there is one.
    pub fn discovered(&self, profile_id: &str) -> Option<Arc<Model>> {
        self.discovered
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(profile_id)
            .cloned()
    }

    /// Every discovered model, by profile id.
    pub fn all_discovered(&self) -> Vec<Arc<Model>> {
        self.discovered
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Unavailable>> {
        // Every update is one map operation: a panicking holder cannot leave
        // it half-done, so a poisoned lock is still consistent.
        self.unavailable
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl crate::router::Availability for ModelAvailability {
    fn usable(&self, model: &Model) -> bool {
        self.is_available(&model.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eol_models_start_unavailable_with_their_replacement() {
        let catalog = Catalog::builtin().unwrap();
        let a = ModelAvailability::from_catalog(&catalog);
        let why = a.reason("bedrock/claude-sonnet-4").unwrap();
        assert!(why.reason.contains("end of life"), "{why:?}");
        assert!(why.reason.contains("2026-10-14"), "{why:?}");
        assert_eq!(
            why.replacement.as_deref(),
            Some("bedrock/claude-sonnet-4-6")
        );
        assert!(a.is_available("bedrock/claude-opus-5-5"));
    }

    #[test]
    fn marks_are_shared_between_clones_and_can_be_lifted() {
        let a = ModelAvailability::default();
        let b = a.clone();
        a.mark_unavailable("bedrock/claude-haiku-5-5", "access denied by Bedrock");
        assert_eq!(
            b.reason("bedrock/claude-haiku-5-5").unwrap().reason,
            "access denied by Bedrock"
        );
        a.mark_unavailable("bedrock/claude-haiku-5-5", "later reason");
        assert_eq!(
            b.reason("bedrock/claude-haiku-5-5").unwrap().reason,
            "access denied by Bedrock",
            "the first reason stays"
        );
        b.mark_available("bedrock/claude-haiku-5-5");
        assert!(a.is_available("bedrock/claude-haiku-5-5"));
    }
}
