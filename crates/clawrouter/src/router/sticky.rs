//! Which model issued which tool call, so the turn that carries the tool
//! results goes back to the same model.
//!
//! An agent loop that changes model between a tool call and its result loses
//! the model's train of thought, and with signed thinking blocks in the
//! history the other model rejects the request outright. The store is
//! in-memory and bounded: the oldest ids are forgotten first (FIFO), which is
//! enough because a tool result follows its call within seconds or minutes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// How many tool-call ids are remembered.
pub(super) const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct StickyStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    model_by_id: HashMap<String, String>,
    /// Insertion order of the keys of `model_by_id`, oldest first.
    order: VecDeque<String>,
}

impl StickyStore {
    pub(super) fn remember(&self, tool_use_ids: &[&str], model_name: &str) {
        // A panic elsewhere while holding the lock leaves the map consistent
        // (every mutation below is a single step), so a poisoned lock is usable.
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for id in tool_use_ids {
            if let Some(model) = inner.model_by_id.get_mut(*id) {
                model.clear();
                model.push_str(model_name);
                continue;
            }
            if inner.order.len() >= CAPACITY
                && let Some(oldest) = inner.order.pop_front()
            {
                inner.model_by_id.remove(&oldest);
            }
            inner.order.push_back((*id).to_owned());
            inner
                .model_by_id
                .insert((*id).to_owned(), model_name.to_owned());
        }
    }

    /// The model of the first of `tool_use_ids` that is remembered.
    pub(super) fn lookup(&self, tool_use_ids: &[&str]) -> Option<String> {
        if tool_use_ids.is_empty() {
            return None;
        }
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        tool_use_ids
            .iter()
            .find_map(|id| inner.model_by_id.get(*id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_updates() {
        let s = StickyStore::default();
        assert_eq!(s.lookup(&["a"]), None);
        s.remember(&["a", "b"], "m1");
        assert_eq!(s.lookup(&["x", "b"]).as_deref(), Some("m1"));
        s.remember(&["a"], "m2");
        assert_eq!(s.lookup(&["a"]).as_deref(), Some("m2"));
        assert_eq!(s.lookup(&[]), None);
    }

    #[test]
    fn forgets_oldest_beyond_capacity() {
        let s = StickyStore::default();
        let ids: Vec<String> = (0..=CAPACITY).map(|i| format!("toolu_{i}")).collect();
        for id in &ids {
            s.remember(&[id.as_str()], "m");
        }
        assert_eq!(s.lookup(&["toolu_0"]), None);
        assert_eq!(s.lookup(&["toolu_1"]).as_deref(), Some("m"));
        assert_eq!(s.lookup(&[ids[CAPACITY].as_str()]).as_deref(), Some("m"));
        let inner = s.inner.lock().unwrap();
        assert_eq!(inner.model_by_id.len(), CAPACITY);
        assert_eq!(inner.order.len(), CAPACITY);
    }
}
