//! Prometheus metrics, served on `/metrics`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub kind: String,
    pub verb: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReadyLabels {
    pub ready: String,
}

pub struct Metrics {
    registry: Registry,
    pub reconciles: Counter,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub api_writes: Family<WriteLabels, Counter>,
    /// `Warning` headers the API server sent back (deprecations and the like).
    pub api_warnings: Counter,
    /// Seconds requests waited for the client rate limit (`--kube-api-qps`).
    pub api_throttled: crate::client::ThrottledSeconds,
    pub exposures: Family<ReadyLabels, Gauge>,
    pub leader: Gauge,
    /// Caches synced and CRD present.
    pub ready: Arc<AtomicBool>,
    /// The API server answered its last `/readyz` probe (see `api_health`).
    pub api_reachable: Arc<AtomicBool>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("exposure");
        let reconciles = Counter::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Failed reconciles by error kind",
            reconcile_errors.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile",
            reconcile_duration.clone(),
        );
        let api_writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "api_writes",
            "Write requests sent to the API server, by kind and verb (apply, delete, status, event)",
            api_writes.clone(),
        );
        let api_warnings = Counter::default();
        registry.register(
            "api_warnings",
            "Warning headers in API server responses (each is also logged)",
            api_warnings.clone(),
        );
        let api_throttled = crate::client::ThrottledSeconds::default();
        registry.register(
            "api_throttled_seconds",
            "Seconds requests waited for the client rate limit (--kube-api-qps, --kube-api-burst)",
            api_throttled.clone(),
        );
        let exposures = Family::<ReadyLabels, Gauge>::default();
        registry.register(
            "managed_exposures",
            "Exposures watched, by Ready condition status",
            exposures.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this instance holds the leader lease",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            api_writes,
            api_warnings,
            api_throttled,
            exposures,
            leader,
            ready: Arc::new(AtomicBool::new(false)),
            api_reachable: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Metrics {
    pub fn count_write(&self, kind: &str, verb: &str) {
        self.api_writes
            .get_or_create(&WriteLabels {
                kind: kind.to_string(),
                verb: verb.to_string(),
            })
            .inc();
    }

    pub fn count_error(&self, kind: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                error: kind.to_string(),
            })
            .inc();
    }

    pub fn set_exposures(&self, ready: &str, count: i64) {
        self.exposures
            .get_or_create(&ReadyLabels {
                ready: ready.to_string(),
            })
            .set(count);
    }

    /// `/readyz`: caches synced and the API server reachable (an operator cut off from the
    /// API server can neither see nor fix anything).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed) && self.api_reachable.load(Ordering::Relaxed)
    }

    pub fn set_api_reachable(&self, reachable: bool) {
        self.api_reachable.store(reachable, Ordering::Relaxed);
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_labelled_by_kind_and_verb() {
        let m = Metrics::default();
        m.count_write("Deployment", "apply");
        m.count_write("Deployment", "apply");
        m.count_error("kube");
        let text = m.render();
        assert!(
            text.contains(r#"exposure_api_writes_total{kind="Deployment",verb="apply"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"exposure_reconcile_errors_total{error="kube"} 1"#),
            "{text}"
        );
    }
}
