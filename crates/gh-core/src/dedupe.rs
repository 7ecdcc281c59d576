//! Bounded memory of recent ids: webhook delivery ids (`ghops serve`), launched runner names
//! (runner-orch). Past its capacity the oldest id is forgotten first, so a long-running
//! process never grows by one entry per event.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Remembers the last `capacity` ids; older ones are forgotten first.
#[derive(Debug)]
pub struct Dedupe {
    inner: Mutex<(HashSet<String>, VecDeque<String>)>,
    capacity: usize,
}

impl Dedupe {
    /// A memory of at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new((HashSet::new(), VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// Records `id`; false when it was already there (a duplicate delivery).
    pub fn insert(&self, id: &str) -> bool {
        let mut g = self.inner.lock().expect("lock");
        let (set, order) = &mut *g;
        if set.contains(id) {
            return false;
        }
        if order.len() == self.capacity
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        set.insert(id.to_owned());
        order.push_back(id.to_owned());
        true
    }

    /// Forgets `id` (a delivery that was refused, so that its redelivery is accepted).
    pub fn remove(&self, id: &str) {
        let mut g = self.inner.lock().expect("lock");
        let (set, order) = &mut *g;
        if set.remove(id) {
            order.retain(|x| x != id);
        }
    }

    /// True when `id` is remembered.
    pub fn contains(&self, id: &str) -> bool {
        self.inner.lock().expect("lock").0.contains(id)
    }

    /// Keeps only the ids for which `keep` is true.
    pub fn retain(&self, mut keep: impl FnMut(&str) -> bool) {
        let mut g = self.inner.lock().expect("lock");
        let (set, order) = &mut *g;
        order.retain(|x| {
            let k = keep(x);
            if !k {
                set.remove(x);
            }
            k
        });
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.inner.lock().expect("lock").1.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_ordered() {
        let d = Dedupe::new(2);
        assert!(d.insert("a"));
        assert!(!d.insert("a"));
        assert!(d.insert("b"));
        assert!(d.insert("c"));
        assert_eq!(d.len(), 2);
        assert!(d.insert("a"), "the oldest was forgotten");
        d.remove("c");
        assert!(!d.contains("c"));
        assert!(d.insert("c"));
        assert!(d.contains("c"));
        d.retain(|x| x != "a");
        assert!(!d.contains("a") && d.contains("c"));
        assert_eq!(d.len(), 1);
    }
}
