//! How watches retry after an error. kube's default grows to 30 s between attempts: a watch
//! that failed through a 15 s API server restart would then wait up to another 30 s before it
//! looks again, and changes made meanwhile would sit unseen. Capped at 5 s (with jitter, from
//! 0.5 s, doubling; back to 0.5 s after a minute without errors), a restart costs at most a few
//! seconds of blindness, at a cost to the API server of one request per watch every 5 s while
//! it is down.

use std::time::Duration;

use kube::runtime::utils::ResetTimerBackoff;
use kube::runtime::watcher::ExponentialBackoff;

pub fn watch_backoff() -> ResetTimerBackoff<ExponentialBackoff> {
    let exponential = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(5))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    ResetTimerBackoff::new(exponential.into(), Duration::from_secs(60))
}
