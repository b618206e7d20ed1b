//! When a new status is written. A settled status (Reconciling False: Ready, Stalled, or not
//! converging by itself) is written at once. While an Exposure converges its status changes
//! with every child event (created, observed, one pod ready, the next …); writing each of those
//! states costs one API write apiece and tells nobody anything a moment later. So a converging
//! status is written
//! - for a generation not reported yet: once it has been converging for the pacing window
//!   (an Exposure that settles within it is written once, settled);
//! - after that: when its phase (the Ready or Reconciling reason) changes, at most once per
//!   window; a change of wording alone waits for the next write.
//!
//! kstatus, Flux and Argo CD read a status whose `observedGeneration` lags as in progress,
//! which a converging Exposure is. The pure policy is here; the executor keeps the times.

use std::time::{Duration, Instant};

use exposure_crd::{condition, ExposureStatus};

/// When this Exposure's status was last written, and since when its generation converges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    pub generation: Option<i64>,
    /// The first reconcile of this generation.
    pub since: Instant,
    /// The last status write for this generation.
    pub written: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusWrite {
    /// Nothing changed.
    Unchanged,
    Now,
    /// Not yet: look again after this long.
    After(Duration),
}

/// Whether to write `next` now, given the status the Exposure has (`previous`) and `pacing`.
pub fn status_write(
    previous: Option<&ExposureStatus>,
    next: &ExposureStatus,
    pacing: &Pacing,
    window: Duration,
    now: Instant,
) -> StatusWrite {
    if previous == Some(next) {
        return StatusWrite::Unchanged;
    }
    if window.is_zero() || !converging(next) {
        return StatusWrite::Now;
    }
    let reported = previous.is_some_and(|p| p.observed_generation == next.observed_generation);
    let due = match (reported, pacing.written) {
        // Not reported for this generation: after the window of converging.
        (false, _) => pacing.since + window,
        // Reported: a new phase, at most once per window; wording alone waits.
        (true, last) if phase(previous) != phase(Some(next)) => {
            last.map_or(now, |last| last + window)
        }
        (true, _) => return StatusWrite::Unchanged,
    };
    if now >= due {
        StatusWrite::Now
    } else {
        StatusWrite::After(due - now)
    }
}

/// Reconciling True: the children converge by themselves.
fn converging(status: &ExposureStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == condition::RECONCILING && c.status == "True")
}

/// The Ready and Reconciling reasons.
fn phase(status: Option<&ExposureStatus>) -> (Option<&str>, Option<&str>) {
    let reason = |type_: &str| {
        status?
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .map(|c| c.reason.as_str())
    };
    (reason(condition::READY), reason(condition::RECONCILING))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    const WINDOW: Duration = Duration::from_secs(5);

    fn status(
        generation: i64,
        ready: &str,
        reconciling: (&str, &str),
        message: &str,
    ) -> ExposureStatus {
        let condition = |type_: &str, status: &str, reason: &str| Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: Some(generation),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        };
        ExposureStatus {
            observed_generation: Some(generation),
            conditions: vec![
                condition(
                    condition::READY,
                    if ready == "Ready" { "True" } else { "False" },
                    ready,
                ),
                condition(condition::RECONCILING, reconciling.0, reconciling.1),
            ],
            ..ExposureStatus::default()
        }
    }

    fn pacing(since: Instant, written: Option<Instant>) -> Pacing {
        Pacing {
            generation: Some(2),
            since,
            written,
        }
    }

    #[test]
    fn a_settled_status_is_written_at_once_an_unchanged_one_never() {
        let t0 = Instant::now();
        let ready = status(2, "Ready", ("False", "Converged"), "3/3");
        let creating = status(1, "DeploymentMissing", ("True", "Creating"), "x");
        assert_eq!(
            status_write(Some(&creating), &ready, &pacing(t0, None), WINDOW, t0),
            StatusWrite::Now
        );
        assert_eq!(
            status_write(Some(&ready), &ready, &pacing(t0, None), WINDOW, t0),
            StatusWrite::Unchanged
        );
        // A window of zero writes every change.
        assert_eq!(
            status_write(None, &creating, &pacing(t0, None), Duration::ZERO, t0),
            StatusWrite::Now
        );
    }

    #[test]
    fn a_new_generation_converging_is_written_after_the_window() {
        let t0 = Instant::now();
        let old = status(1, "Ready", ("False", "Converged"), "old");
        let creating = status(2, "DeploymentMissing", ("True", "Creating"), "waiting");
        assert_eq!(
            status_write(
                Some(&old),
                &creating,
                &pacing(t0, None),
                WINDOW,
                t0 + Duration::from_secs(1)
            ),
            StatusWrite::After(Duration::from_secs(4))
        );
        assert_eq!(
            status_write(
                Some(&old),
                &creating,
                &pacing(t0, None),
                WINDOW,
                t0 + WINDOW
            ),
            StatusWrite::Now
        );
        assert_eq!(
            status_write(None, &creating, &pacing(t0, None), WINDOW, t0),
            StatusWrite::After(WINDOW)
        );
    }

    #[test]
    fn once_reported_only_a_new_phase_is_written_at_most_once_per_window() {
        let t0 = Instant::now();
        let written = t0 + Duration::from_secs(5);
        let waiting = status(
            2,
            "ReplicasUnavailable",
            ("True", "WaitingForPods"),
            "1/3 ready",
        );
        let more = status(
            2,
            "ReplicasUnavailable",
            ("True", "WaitingForPods"),
            "2/3 ready",
        );
        let failing = status(
            2,
            "ErrImagePull",
            ("True", "WaitingForPods"),
            "pod x ErrImagePull",
        );
        let p = pacing(t0, Some(written));
        assert_eq!(
            status_write(
                Some(&waiting),
                &more,
                &p,
                WINDOW,
                written + Duration::from_secs(60)
            ),
            StatusWrite::Unchanged,
            "wording alone"
        );
        assert_eq!(
            status_write(
                Some(&waiting),
                &failing,
                &p,
                WINDOW,
                written + Duration::from_secs(2)
            ),
            StatusWrite::After(Duration::from_secs(3))
        );
        assert_eq!(
            status_write(Some(&waiting), &failing, &p, WINDOW, written + WINDOW),
            StatusWrite::Now
        );
    }
}
