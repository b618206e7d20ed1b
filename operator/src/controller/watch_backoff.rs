//! How watches retry after an error. kube's default grows to 30 s between attempts: a watch
//! that failed through a 15 s API server restart would then wait up to another 30 s before it
//! looks again, and changes made meanwhile would sit unseen. From 0.5 s, doubling, capped at
//! 3 s, plus a jitter of up to as much again (so at most 6 s), back to 0.5 s after a minute
//! without errors: a restart costs a few seconds of blindness, at a cost to the API server of
//! one request per watch every 3 to 6 s while it is down.
//!
//! The errors themselves stop here (logged): kube's `Controller` puts *all* its triggers behind
//! a backoff of its own (up to 30 s) each time one of them yields an error, so one failing
//! watch would hold back the reconciles every other watch asks for.

use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::runtime::utils::ResetTimerBackoff;
use kube::runtime::watcher::{self, ExponentialBackoff};

pub fn watch_backoff() -> ResetTimerBackoff<ExponentialBackoff> {
    let exponential = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(3))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    ResetTimerBackoff::new(exponential.into(), Duration::from_secs(60))
}

/// `stream` without its errors, each logged as a failed watch of `kind` (the stream's own
/// backoff retries it).
pub fn log_and_drop_errors<T: Send + 'static>(
    kind: impl std::fmt::Display + Send + 'static,
    stream: impl Stream<Item = Result<T, watcher::Error>> + Send + 'static,
) -> impl Stream<Item = Result<T, watcher::Error>> + Send + 'static {
    stream.filter_map(move |item| {
        let kept = match item {
            Ok(value) => Some(Ok(value)),
            Err(error) => {
                tracing::warn!(%kind, %error, "watch failed; retrying");
                None
            }
        };
        futures::future::ready(kept)
    })
}
