//! The operator's own writes to Exposures (status, finalizers) come back as watch events. Such
//! an echo changes nothing a reconcile reads that the reconcile which wrote it did not already
//! act on, so it updates the cache but does not trigger another reconcile: one reconcile fewer
//! per status write. Every other change (spec, labels, someone else's status edit) still
//! triggers one, as do the resyncs.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::runtime::watcher;
use kube::Resource;

use super::cached_exposure::{key_of, ExposureRef};

/// The resourceVersion of each Exposure's latest own write whose event has not been seen yet.
#[derive(Default)]
pub struct OwnWrites {
    pending: Mutex<HashMap<ExposureRef, Box<str>>>,
}

impl OwnWrites {
    /// The operator wrote an Exposure; `written` is what the API server answered.
    pub fn wrote(&self, written: &impl Resource) {
        let (Some(version), Ok(mut pending)) = (
            written.meta().resource_version.as_deref(),
            self.pending.lock(),
        ) else {
            return;
        };
        pending.insert(key_of(written), version.into());
    }

    /// Whether this watched state of an Exposure is the echo of the operator's latest own write
    /// to it (then forgotten: an echo is seen once).
    pub fn is_echo(&self, exposure: &impl Resource) -> bool {
        let Ok(mut pending) = self.pending.lock() else {
            return false;
        };
        let key = key_of(exposure);
        let echo = match (
            pending.get(&key),
            exposure.meta().resource_version.as_deref(),
        ) {
            (Some(written), Some(seen)) => written.as_ref() == seen,
            _ => false,
        };
        if echo {
            pending.remove(&key);
        }
        echo
    }

    /// Forgets an Exposure once it is deleted (a write whose echo never came: a watch that
    /// restarted past it).
    pub fn observe<K: Resource>(&self, event: &watcher::Event<K>) {
        if let watcher::Event::Delete(gone) = event {
            self.forget(&key_of(gone));
        }
    }

    fn forget(&self, key: &ExposureRef) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::exposure_from;
    use serde_json::json;

    fn at(version: &str) -> exposure_crd::Exposure {
        exposure_from(json!({
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": version},
            "spec": {}
        }))
    }

    #[test]
    fn only_the_event_of_the_latest_own_write_is_an_echo_and_only_once() {
        let own = OwnWrites::default();
        assert!(!own.is_echo(&at("7")), "nothing written yet");
        own.wrote(&at("8"));
        assert!(!own.is_echo(&at("7")), "an earlier event");
        own.wrote(&at("9"));
        assert!(own.is_echo(&at("9")));
        assert!(!own.is_echo(&at("9")), "seen once");
        own.wrote(&at("10"));
        own.observe(&watcher::Event::Delete(at("10")));
        assert!(!own.is_echo(&at("10")), "forgotten once deleted");
    }
}
