//! An index of the watched Exposures, kept current from their watch events: who claims which
//! Ingress route or nodePort (so a reconcile finds its rivals without scanning every
//! Exposure), and each one's Ready status (so the ready gauge changes with status
//! transitions, not by a scan). Shared by all watch scopes. It holds keys, claims and Ready
//! only: the Exposures themselves are in the caches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use exposure_crd::{condition, Exposure, ExposureStatus};
use kube::runtime::watcher;

use crate::conflicts::{claims, Claim};

/// An Exposure: namespace and name.
pub type Key = (String, String);

struct Entry {
    claims: Vec<Claim>,
    ready: &'static str,
    scope: usize,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    by_claim: HashMap<Claim, BTreeSet<Key>>,
    ready_counts: BTreeMap<&'static str, i64>,
    /// Keys listed since a scope's watch (re)started its initial list.
    relisting: HashMap<usize, BTreeSet<Key>>,
}

#[derive(Default)]
pub struct ExposureIndex {
    state: Mutex<State>,
}

fn key_of(e: &Exposure) -> Key {
    (
        e.metadata.namespace.clone().unwrap_or_default(),
        e.metadata.name.clone().unwrap_or_default(),
    )
}

/// `True`, `False` or `Unknown`: the Ready condition's status.
pub fn ready_of(e: &Exposure) -> &'static str {
    ready_in(e.status.as_ref())
}

fn ready_in(status: Option<&ExposureStatus>) -> &'static str {
    let cond = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == condition::READY));
    match cond.map(|c| c.status.as_str()) {
        Some("True") => "True",
        Some("False") => "False",
        _ => "Unknown",
    }
}

impl State {
    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.entries.remove(key) {
            for claim in &old.claims {
                if let Some(keys) = self.by_claim.get_mut(claim) {
                    keys.remove(key);
                    if keys.is_empty() {
                        self.by_claim.remove(claim);
                    }
                }
            }
            *self.ready_counts.entry(old.ready).or_default() -= 1;
        }
    }

    fn upsert(&mut self, scope: usize, exposure: &Exposure) {
        let key = key_of(exposure);
        self.remove(&key);
        let entry = Entry {
            claims: claims(exposure),
            ready: ready_of(exposure),
            scope,
        };
        for claim in &entry.claims {
            self.by_claim
                .entry(claim.clone())
                .or_default()
                .insert(key.clone());
        }
        *self.ready_counts.entry(entry.ready).or_default() += 1;
        if let Some(seen) = self.relisting.get_mut(&scope) {
            seen.insert(key.clone());
        }
        self.entries.insert(key, entry);
    }
}

impl ExposureIndex {
    /// Applies one watch event of the scope `scope`.
    pub fn observe(&self, scope: usize, event: &watcher::Event<Exposure>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match event {
            watcher::Event::Apply(e) | watcher::Event::InitApply(e) => state.upsert(scope, e),
            watcher::Event::Delete(e) => state.remove(&key_of(e)),
            watcher::Event::Init => {
                state.relisting.insert(scope, BTreeSet::new());
            }
            // Objects of this scope not in the new list were deleted while the watch was down.
            watcher::Event::InitDone => {
                let seen = state.relisting.remove(&scope).unwrap_or_default();
                let gone: Vec<Key> = state
                    .entries
                    .iter()
                    .filter(|(k, e)| e.scope == scope && !seen.contains(*k))
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in gone {
                    state.remove(&key);
                }
            }
        }
    }

    /// Records a status just written (the watch event follows; the gauge need not wait).
    pub fn record_status(&self, exposure: &Exposure, status: &ExposureStatus) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let ready = ready_in(Some(status));
        let Some(entry) = state.entries.get_mut(&key_of(exposure)) else {
            return;
        };
        let was = std::mem::replace(&mut entry.ready, ready);
        *state.ready_counts.entry(was).or_default() -= 1;
        *state.ready_counts.entry(ready).or_default() += 1;
    }

    /// The other Exposures that share a claim with `me` (namespace and name).
    pub fn rivals(&self, me: &Exposure) -> Vec<Key> {
        let Ok(state) = self.state.lock() else {
            return Vec::new();
        };
        let mine = key_of(me);
        let keys: BTreeSet<&Key> = claims(me)
            .iter()
            .filter_map(|c| state.by_claim.get(c))
            .flatten()
            .filter(|k| **k != mine)
            .collect();
        keys.into_iter().cloned().collect()
    }

    /// Exposures by Ready status: (`True`, `False`, `Unknown`).
    pub fn ready_counts(&self) -> (i64, i64, i64) {
        let Ok(state) = self.state.lock() else {
            return (0, 0, 0);
        };
        let get = |s: &str| state.ready_counts.get(s).copied().unwrap_or(0);
        (get("True"), get("False"), get("Unknown"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::ExposureFixture;
    use serde_json::json;

    fn exposure(name: &str, spec: serde_json::Value, ready: Option<&str>) -> Exposure {
        let fixture = ExposureFixture::named(name).spec(spec);
        match ready {
            Some(status) => fixture.ready(status),
            None => fixture,
        }
        .build()
    }

    fn node_port(port: i32) -> serde_json::Value {
        json!({"visibility": {"type": "NodePort"}, "ports": [{"containerPort": 80, "nodePort": port}]})
    }

    #[test]
    fn rivals_share_a_claim() {
        let index = ExposureIndex::default();
        let a = exposure("a", node_port(30080), None);
        let b = exposure("b", node_port(30080), None);
        let c = exposure("c", node_port(30081), None);
        for e in [&a, &b, &c] {
            index.observe(0, &watcher::Event::Apply(e.clone()));
        }
        let names = |v: Vec<Key>| -> Vec<String> { v.into_iter().map(|(_, n)| n).collect() };
        assert_eq!(names(index.rivals(&a)), ["b"]);
        assert!(index.rivals(&c).is_empty());
        index.observe(0, &watcher::Event::Delete(b));
        assert!(index.rivals(&a).is_empty());
        // A changed spec moves the claim.
        index.observe(
            0,
            &watcher::Event::Apply(exposure("c", node_port(30080), None)),
        );
        assert_eq!(names(index.rivals(&a)), ["c"]);
    }

    #[test]
    fn ready_counts_follow_status_and_relists() {
        let index = ExposureIndex::default();
        index.observe(
            0,
            &watcher::Event::Apply(exposure("a", json!({}), Some("True"))),
        );
        index.observe(
            0,
            &watcher::Event::Apply(exposure("b", json!({}), Some("False"))),
        );
        index.observe(1, &watcher::Event::Apply(exposure("c", json!({}), None)));
        assert_eq!(index.ready_counts(), (1, 1, 1));
        index.observe(
            0,
            &watcher::Event::Apply(exposure("b", json!({}), Some("True"))),
        );
        assert_eq!(index.ready_counts(), (2, 0, 1));
        // Scope 0 relists without `a`: it was deleted meanwhile; scope 1 is untouched.
        index.observe(0, &watcher::Event::Init);
        index.observe(
            0,
            &watcher::Event::InitApply(exposure("b", json!({}), Some("True"))),
        );
        index.observe(0, &watcher::Event::InitDone);
        assert_eq!(index.ready_counts(), (1, 0, 1));
    }

    #[test]
    fn a_written_status_moves_the_ready_count_before_its_watch_event() {
        let index = ExposureIndex::default();
        let a = exposure("a", json!({}), None);
        index.observe(0, &watcher::Event::Apply(a.clone()));
        assert_eq!(index.ready_counts(), (0, 0, 1));
        let ready = exposure("a", json!({}), Some("True"));
        index.record_status(&a, ready.status.as_ref().expect("a status"));
        assert_eq!(index.ready_counts(), (1, 0, 0));
        // An Exposure the index does not hold (deleted meanwhile) changes nothing.
        let gone = exposure("gone", json!({}), None);
        index.record_status(&gone, ready.status.as_ref().expect("a status"));
        assert_eq!(index.ready_counts(), (1, 0, 0));
    }
}
