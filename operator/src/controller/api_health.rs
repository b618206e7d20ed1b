//! Whether the API server is reachable, for `/readyz`: an operator whose API server is gone
//! (restarting, or its etcd down) reports not ready until the API server answers again. The
//! watches resume by themselves; `/healthz` stays 200, so the process is never restarted for
//! a fault that is not its own.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;

use super::metrics::Metrics;

/// How often the API server's `/readyz` is asked.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// A probe that takes longer counts as a failure.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Probes the API server's `/readyz` (readable by any identity: the `system:public-info-viewer`
/// role) forever, and records the answer in `metrics`.
pub async fn probe_loop(client: Client, metrics: Arc<Metrics>) {
    loop {
        let reachable = probe(&client).await;
        if reachable
            != metrics
                .api_reachable
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            if reachable {
                tracing::info!("API server reachable again");
            } else {
                tracing::warn!("API server not ready or unreachable; /readyz reports not ready");
            }
        }
        metrics.set_api_reachable(reachable);
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

async fn probe(client: &Client) -> bool {
    let Ok(request) = http::Request::get("/readyz").body(Vec::new()) else {
        return false;
    };
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, client.request_text(request)).await,
        Ok(Ok(_))
    )
}
