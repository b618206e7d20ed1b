//! The Kubernetes client the operator runs with: kube's default stack, plus one layer that
//! reads the API server's `Warning` response headers (deprecated APIs and fields, unknown
//! fields, ...), logs each and counts it in `exposure_api_warnings_total`, so a warning the
//! cluster gives about our own writes is seen, and tested for (`e2e_warnings`), not lost.

use http::Response;
use kube::client::ClientBuilder;
use kube::{Client, Config};
use prometheus_client::metrics::counter::Counter;
use tower::util::MapResponseLayer;

/// A client for the inferred configuration (in-cluster, or `KUBECONFIG`), counting warnings.
pub async fn client(warnings: Counter) -> anyhow::Result<Client> {
    let config = Config::infer()
        .await
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client: {e}"))?;
    let layer = MapResponseLayer::new(move |response: Response<_>| {
        for warning in response.headers().get_all(http::header::WARNING) {
            warnings.inc();
            tracing::warn!(warning = %String::from_utf8_lossy(warning.as_bytes()), "API server warning");
        }
        response
    });
    Ok(ClientBuilder::try_from(config)
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client: {e}"))?
        .with_layer(&layer)
        .build())
}
