//! Two lanes for reconciles, so that new and changed Exposures are never queued behind the
//! resyncs of settled ones: an Exposure whose current generation the status has not observed
//! yet (new, changed, or being deleted) takes a `changed` permit (`--concurrency` of them); a
//! settled one (a resync, a child's status moving) takes one of a quarter as many `settled`
//! permits. kube's controller itself runs without a limit and still never reconciles one
//! Exposure twice at a time; these permits are the limit.

use exposure_crd::Exposure;
use tokio::sync::{Semaphore, SemaphorePermit};

pub struct Lanes {
    changed: Semaphore,
    settled: Semaphore,
}

impl Lanes {
    pub fn new(concurrency: u16) -> Self {
        let changed = usize::from(concurrency.max(1));
        Self {
            changed: Semaphore::new(changed),
            settled: Semaphore::new((changed / 4).max(1)),
        }
    }

    /// Waits for a permit of the Exposure's lane; `None` never happens (the semaphores are
    /// never closed), but is not a reason to panic.
    pub async fn enter(&self, exposure: &Exposure) -> Option<SemaphorePermit<'_>> {
        let lane = if is_changed(exposure) {
            &self.changed
        } else {
            &self.settled
        };
        lane.acquire().await.ok()
    }
}

/// Whether the operator has yet to act on this Exposure's current spec.
pub fn is_changed(exposure: &Exposure) -> bool {
    exposure.metadata.deletion_timestamp.is_some()
        || exposure.status.as_ref().and_then(|s| s.observed_generation)
            != exposure.metadata.generation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::exposure_from;
    use serde_json::json;

    #[test]
    fn new_changed_and_deleting_exposures_take_the_changed_lane() {
        let at = |generation: i64, observed: Option<i64>, deleting: bool| {
            let mut value = json!({"metadata": {"name": "web", "namespace": "shop", "generation": generation},
                                   "spec": {}});
            if let Some(observed) = observed {
                value["status"] = json!({"observedGeneration": observed});
            }
            if deleting {
                value["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
            }
            exposure_from(value)
        };
        assert!(is_changed(&at(1, None, false)), "new");
        assert!(is_changed(&at(3, Some(2), false)), "changed");
        assert!(!is_changed(&at(3, Some(3), false)), "settled");
        assert!(is_changed(&at(3, Some(3), true)), "deleting");
    }

    #[tokio::test]
    async fn settled_reconciles_cannot_take_every_permit() {
        let lanes = Lanes::new(8);
        let settled = exposure_from(json!({"metadata": {"name": "a", "generation": 1},
                                           "spec": {}, "status": {"observedGeneration": 1}}));
        let fresh = exposure_from(json!({"metadata": {"name": "b", "generation": 1}, "spec": {}}));
        let held: Vec<_> = [lanes.enter(&settled).await, lanes.enter(&settled).await]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(held.len(), 2);
        assert_eq!(lanes.settled.available_permits(), 0);
        // The changed lane is untouched by a full settled lane.
        assert!(lanes.enter(&fresh).await.is_some());
        assert_eq!(lanes.changed.available_permits(), 8);
    }
}
