//! Resyncs of settled Exposures. One stream walks the Exposure cache once per
//! `--resync-seconds`, one Exposure after another at even gaps, and the controller reconciles
//! each key it yields. kube's own way, a `requeue` timer per Exposure, keeps two copies of every
//! key in its scheduler for as long as the Exposure lives (about 0.6 KiB each), and the timers of
//! Exposures reconciled together (a start-up, a mass apply) all fire together again one period
//! later; the walk costs one pointer per Exposure and spreads the resyncs evenly.

use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use kube::runtime::reflector::Store;

use super::cached_exposure::{key_of, CachedExposure, ExposureRef};

/// The keys of `exposures`, each once per `period`, at even gaps. A round walks the Exposures
/// cached when it starts; one deleted meanwhile is skipped when its turn comes.
pub fn resyncs(
    exposures: Store<CachedExposure>,
    period: Duration,
) -> impl Stream<Item = ExposureRef> + Send + 'static {
    let round: Vec<Arc<CachedExposure>> = Vec::new();
    futures::stream::unfold(
        (exposures, round, period),
        move |(exposures, mut round, mut wait)| async move {
            loop {
                if round.is_empty() {
                    round = exposures.state();
                    wait = gap(period, round.len());
                }
                tokio::time::sleep(wait).await;
                let Some(next) = round.pop() else {
                    continue;
                };
                let key = key_of(next.as_ref());
                if exposures.get(&key).is_some() {
                    return Some((key, (exposures, round, wait)));
                }
            }
        },
    )
}

/// The wait between two resyncs: the period shared by `count` Exposures (the whole period when
/// there are none, so an empty cache is looked at once per period).
pub fn gap(period: Duration, count: usize) -> Duration {
    period / u32::try_from(count.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::exposure_from;
    use futures::StreamExt;
    use kube::runtime::watcher;
    use serde_json::json;

    #[test]
    fn the_period_is_shared_evenly() {
        let period = Duration::from_secs(300);
        assert_eq!(gap(period, 0), period);
        assert_eq!(gap(period, 1), period);
        assert_eq!(gap(period, 3000), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn every_cached_exposure_is_resynced_once_per_round_and_deleted_ones_are_skipped() {
        let (store, mut writer) = kube::runtime::reflector::store::<CachedExposure>();
        let cached = |name: &str| {
            CachedExposure::new(&exposure_from(
                json!({"metadata": {"name": name, "namespace": "shop"}, "spec": {}}),
            ))
            .expect("a named Exposure caches")
        };
        writer.apply_watcher_event(&watcher::Event::Init);
        for name in ["a", "b", "c"] {
            writer.apply_watcher_event(&watcher::Event::InitApply(cached(name)));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        // A short period: rounds of 3 keys 100 ms apart.
        let mut keys = Box::pin(resyncs(store, Duration::from_millis(300)));
        let mut next = async || keys.next().await.map(|k| k.name).unwrap_or_default();
        let first = next().await;
        // Deleted before its turn: skipped.
        let (deleted, kept) = match first.as_str() {
            "a" => ("b", "c"),
            "b" => ("a", "c"),
            _ => ("a", "b"),
        };
        writer.apply_watcher_event(&watcher::Event::Delete(cached(deleted)));
        assert_eq!(next().await, kept);
        // The next round: the two left, each once.
        let mut round = vec![next().await, next().await];
        round.sort();
        let mut left = vec![first, kept.to_owned()];
        left.sort();
        assert_eq!(round, left);
    }
}
