//! Leader fencing: with `--leader-elect`, no write leaves the process unless the Lease is
//! known to be ours. The lease manager renews in the background and says when leadership
//! changes, but a process frozen past its lease (SIGSTOP, a stalled VM, a long GC-like pause)
//! resumes with its timers due and its caches stale, and would write before the lease task
//! notices that someone else holds the lease. So before a write, when the last confirmation is
//! older than `recheck`, the Lease is read: a holder other than us, or a lease expired by its
//! own `renewTime` + `leaseDurationSeconds`, fences every further write of this process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};

pub struct LeaseFence {
    api: Api<Lease>,
    lease: String,
    identity: String,
    /// A confirmation is trusted this long (well inside the lease duration).
    recheck: Duration,
    /// When the last confirming read was sent.
    confirmed: Mutex<Option<Instant>>,
    fenced: AtomicBool,
}

impl LeaseFence {
    pub fn new(
        client: Client,
        namespace: &str,
        lease: &str,
        identity: &str,
        recheck: Duration,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            lease: lease.to_string(),
            identity: identity.to_string(),
            recheck,
            confirmed: Mutex::new(None),
            fenced: AtomicBool::new(false),
        }
    }

    /// Whether this process may write now. Once it may not, it never may again (the process
    /// stops and restarts as a follower).
    pub async fn allows_writes(&self) -> bool {
        if self.fenced.load(Ordering::SeqCst) {
            return false;
        }
        let fresh = self
            .confirmed
            .lock()
            .ok()
            .and_then(|c| *c)
            .is_some_and(|at| at.elapsed() < self.recheck);
        if fresh {
            return true;
        }
        let sent = Instant::now();
        let held = match self.api.get_opt(&self.lease).await {
            Ok(Some(lease)) => self.holds(&lease),
            Ok(None) => false,
            // Unknown: no write now, but not fenced for good (the API may be restarting).
            Err(e) => {
                tracing::warn!(error = %e, "cannot confirm the leader lease; not writing");
                return false;
            }
        };
        if held {
            if let Ok(mut c) = self.confirmed.lock() {
                *c = Some(sent);
            }
        } else {
            self.fenced.store(true, Ordering::SeqCst);
            tracing::error!(lease = %self.lease, "the leader lease is no longer ours; writes are fenced");
        }
        held
    }

    fn holds(&self, lease: &Lease) -> bool {
        let Some(spec) = lease.spec.as_ref() else {
            return false;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return false;
        }
        let (Some(renewed), Some(seconds)) =
            (spec.renew_time.as_ref(), spec.lease_duration_seconds)
        else {
            return false;
        };
        renewed
            .0
            .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(i64::from(
                seconds,
            )))
            .is_ok_and(|expires| expires > k8s_openapi::jiff::Timestamp::now())
    }
}
