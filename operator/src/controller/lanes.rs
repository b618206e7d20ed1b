//! Two lanes for reconciles, so that new and changed Exposures are never queued behind the
//! resyncs of settled ones: an Exposure whose current generation the status has not observed
//! yet (new, changed, or being deleted) takes a `changed` permit (`--concurrency` of them); a
//! settled one (a resync, a child's status moving) takes one of a quarter as many `settled`
//! permits. kube's controller itself runs without a limit and still never reconciles one
//! Exposure twice at a time; these permits are the limit.

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

    /// Waits for a permit of the `changed` lane (an Exposure not yet settled, see
    /// `CachedExposure::is_changed`) or the `settled` one; `None` never happens (the semaphores
    /// are never closed), but is not a reason to panic.
    pub async fn enter(&self, changed: bool) -> Option<SemaphorePermit<'_>> {
        let lane = if changed {
            &self.changed
        } else {
            &self.settled
        };
        lane.acquire().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settled_reconciles_cannot_take_every_permit() {
        let lanes = Lanes::new(8);
        let held: Vec<_> = [lanes.enter(false).await, lanes.enter(false).await]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(held.len(), 2);
        assert_eq!(lanes.settled.available_permits(), 0);
        // The changed lane is untouched by a full settled lane.
        assert!(lanes.enter(true).await.is_some());
        assert_eq!(lanes.changed.available_permits(), 8);
    }
}
