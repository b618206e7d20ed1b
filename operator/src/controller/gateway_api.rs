//! Whether the cluster serves the Gateway API (`gateway.networking.k8s.io/v1` HTTPRoutes): a
//! matter of installed CRDs, found by discovery, not of the Kubernetes version. Checked at
//! start; while it is missing, again on every reconcile of a Gateway Exposure (which is
//! requeued every [`RECHECK`]) and by the HTTPRoute watch, which starts once it is served, so
//! that installing the CRDs needs no restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;

use crate::build::GATEWAY_API_GROUP;

/// How often a missing Gateway API is looked for again.
pub const RECHECK: Duration = Duration::from_secs(5);

/// One discovery request: does the API server serve `httproutes` in
/// `gateway.networking.k8s.io/v1`? A failed request counts as no (and is logged).
pub async fn served(client: &Client) -> bool {
    super::discovery::resource_served(client, &format!("{GATEWAY_API_GROUP}/v1"), "httproutes")
        .await
}

/// What the operator knows of the Gateway API now, shared by every reconcile and watch.
#[derive(Debug)]
pub struct GatewayApi {
    served: AtomicBool,
}

impl GatewayApi {
    pub fn new(served: bool) -> Self {
        Self {
            served: AtomicBool::new(served),
        }
    }

    pub fn is_served(&self) -> bool {
        self.served.load(Ordering::Relaxed)
    }

    /// Served as last seen; while it was not, discovery is asked again.
    pub async fn refresh(&self, client: &Client) -> bool {
        if self.is_served() {
            return true;
        }
        let now = served(client).await;
        if now {
            tracing::info!("the Gateway API is served now");
            self.served.store(true, Ordering::Relaxed);
        }
        now
    }

    /// Returns once the Gateway API is served, looking every [`RECHECK`].
    pub async fn wait_until_served(&self, client: &Client) {
        while !self.refresh(client).await {
            tokio::time::sleep(RECHECK).await;
        }
    }
}
