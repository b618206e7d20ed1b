//! The executor: the only code that writes. It makes a [`Decision`]'s writes in order and
//! reports exactly what happened; an apply the API server refuses half-way (422, quota) stops
//! the plan, and the status then says which children were applied and which were not.

use std::time::Duration;

use exposure_crd::{Exposure, ExposureStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::events::EventType;

use crate::events::Event;
use kube::ResourceExt;

use super::apply::{self, Applied};
use super::cached_exposure::key_of;
use super::context::Context;
use super::error::{refusal, Error};
use super::status_pacing::StatusWrite;
use crate::blocker::{BlockReason, Blocker};
use crate::build::ChildKind;
use crate::decide::storage::{finalizers_with_cleanup, has_cleanup_finalizer, volume_field};
use crate::decide::{stopped_status, Cleanup, Decision, Deletion, Plan, Release};
use crate::events::{self, note};

/// After this many failed cleanup attempts a deleting Exposure lets go (with an event), so
/// deletion never hangs on an unreachable dependency.
const MAX_CLEANUP_ATTEMPTS: u32 = 5;
/// Quota frees up without any event we watch: look again soon.
pub const QUOTA_RECHECK: Duration = Duration::from_secs(30);

/// What the executor did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// Every step of the plan succeeded; look again after `recheck` if the resync is later.
    Applied { recheck: Option<Duration> },
    /// Nothing but the status was written.
    Blocked,
    /// The apply stopped at a refused child; it and the children after it were not applied.
    Stopped {
        reason: BlockReason,
        applied: Vec<(ChildKind, String)>,
        not_applied: Vec<(ChildKind, String)>,
    },
    /// A deleting Exposure was cleaned up (or had nothing of ours).
    Finalized,
}

impl Done {
    /// When to look again without a watch event.
    pub fn requeue(&self, resync: Duration) -> Option<Duration> {
        match self {
            Done::Finalized => None,
            Done::Stopped {
                reason: BlockReason::QuotaExceeded,
                ..
            } => Some(QUOTA_RECHECK),
            Done::Applied {
                recheck: Some(recheck),
            } => Some(resync.min(*recheck)),
            _ => Some(resync),
        }
    }
}

pub async fn execute(
    ctx: &Context,
    exposure: &Exposure,
    decision: Decision,
    now: &Time,
) -> Result<Done, Error> {
    match decision {
        Decision::Nothing => {
            ctx.forget_pacing(&key_of(exposure));
            Ok(Done::Finalized)
        }
        Decision::Cleanup(cleanup) => {
            ctx.forget_pacing(&key_of(exposure));
            finalize(ctx, exposure, cleanup).await
        }
        Decision::Blocked { status, .. } => {
            finish(ctx, exposure, &status, Vec::new()).await?;
            Ok(Done::Blocked)
        }
        Decision::Apply(plan) => run(ctx, exposure, *plan, now).await,
    }
}

async fn run(ctx: &Context, exposure: &Exposure, plan: Plan, now: &Time) -> Result<Done, Error> {
    let namespace = exposure.namespace().unwrap_or_default();
    let mut notes = Vec::new();
    if plan.add_finalizer {
        apply::set_finalizers(ctx, exposure, finalizers_with_cleanup(exposure, true)).await?;
    }
    let (mut created, mut updated) = (Vec::new(), Vec::new());
    for (index, step) in plan.apply.iter().enumerate() {
        let child = &step.child;
        let mut live = step.live.as_ref();
        if step.recreate {
            let uid = apply::uid_of(live);
            if child.kind == ChildKind::StatefulSet {
                apply::delete_keeping_pods(ctx, child.kind, &namespace, &child.name, uid).await?;
            } else {
                apply::delete(ctx, child.kind, &namespace, &child.name, uid).await?;
            }
            live = None;
        }
        let handover = |after_apply: bool| {
            step.handover_replicas
                .filter(|_| step.recreate == after_apply)
        };
        if let Some(replicas) = handover(false) {
            apply::hand_over_replicas(ctx, &namespace, child, replicas).await?;
        }
        let applied = apply::apply(ctx, &namespace, child, live).await;
        if let (Ok(_), Some(replicas)) = (&applied, handover(true)) {
            apply::hand_over_replicas(ctx, &namespace, child, replicas).await?;
        }
        match applied {
            Ok(Applied::Unchanged) => {}
            Ok(Applied::Created) => created.push((child.kind, child.name.clone())),
            Ok(Applied::Updated) => updated.push((child.kind, child.name.clone())),
            Err(Error::Kube(kube::Error::Api(status))) if refusal(&status).is_some() => {
                let reason = refusal(&status).unwrap_or(BlockReason::InvalidSpec);
                // A refused claim is about one volume of the spec: name it.
                let field = match child.kind {
                    ChildKind::PersistentVolumeClaim => {
                        format!("{}: ", volume_field(exposure, &child.object))
                    }
                    _ => String::new(),
                };
                let blocker = Blocker::new(
                    reason,
                    format!(
                        "{field}{} {}: {}",
                        child.kind.as_str(),
                        child.name,
                        status.message
                    ),
                );
                let stopped = stopped_status(exposure, &plan, index, blocker, now);
                notes.extend(events::applied(&created, &updated, &namespace));
                finish(ctx, exposure, &stopped, notes).await?;
                let names = |steps: &[crate::decide::Step]| {
                    steps
                        .iter()
                        .map(|s| (s.child.kind, s.child.name.clone()))
                        .collect()
                };
                return Ok(Done::Stopped {
                    reason,
                    applied: names(&plan.apply[..index]),
                    not_applied: names(&plan.apply[index..]),
                });
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(set) = &plan.retain_claims_of {
        apply::retain_claims(ctx, &set.namespace, &set.name, set.uid.clone()).await?;
    }
    for claim in &plan.disown {
        apply::disown_pvc(ctx, &claim.namespace, &claim.name, claim.uid.as_deref()).await?;
    }
    for deletion in &plan.prune {
        notes.extend(delete(ctx, deletion).await?);
    }
    for deletion in &plan.delete_pvcs {
        notes.extend(delete(ctx, deletion).await?);
    }
    for released in &plan.release {
        notes.push(release(ctx, released).await?);
    }
    for deletion in &plan.delete_classes {
        notes.extend(delete(ctx, deletion).await?);
    }
    let changed = !created.is_empty() || !updated.is_empty();
    // Applied children first: a prune or release follows from the apply.
    let mut all = events::applied(&created, &updated, &namespace);
    all.append(&mut notes);
    let mut notes = all;
    notes.extend(plan.events.iter().cloned());
    if changed {
        notes.extend(plan.change_warnings.iter().cloned());
    }
    if plan.drop_finalizer {
        apply::set_finalizers(ctx, exposure, finalizers_with_cleanup(exposure, false)).await?;
    }
    let status_due = finish(ctx, exposure, &plan.status, notes).await?;
    let recheck = match (plan.recheck, status_due) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(Done::Applied { recheck })
}

async fn delete(ctx: &Context, deletion: &Deletion) -> Result<Option<Event>, Error> {
    apply::delete(
        ctx,
        deletion.kind,
        &deletion.namespace,
        &deletion.name,
        deletion.uid.clone(),
    )
    .await?;
    Ok(deletion.event.clone())
}

async fn release(ctx: &Context, released: &Release) -> Result<Event, Error> {
    apply::release_pvc(ctx, &released.namespace, &released.name, &released.patch).await?;
    Ok(released.event.clone())
}

/// Writes the status when it changed and is due (see `status_pacing`), then publishes the
/// events (and a Warning when the Exposure became Stalled or its stall changed). Returns when
/// to look again for a status held back.
async fn finish(
    ctx: &Context,
    exposure: &Exposure,
    status: &ExposureStatus,
    mut notes: Vec<Event>,
) -> Result<Option<Duration>, Error> {
    notes.extend(events::stall_event(exposure.status.as_ref(), status));
    let due = match ctx.status_write(exposure, status) {
        StatusWrite::Unchanged => None,
        StatusWrite::After(delay) => Some(delay),
        StatusWrite::Now => {
            let namespace = exposure.namespace().unwrap_or_default();
            apply::write_status(ctx, &namespace, &exposure.name_any(), status).await?;
            ctx.status_written(exposure);
            None
        }
    };
    ctx.index.record_status(exposure, status);
    ctx.update_ready_gauge();
    apply::publish(ctx, exposure, &notes).await;
    Ok(due)
}

/// Deletion: release Retain PVCs (Delete ones go with the garbage collector), delete unused
/// StorageClasses, then drop the finalizer. Classes still in use stay (the sweep deletes them
/// later); after repeated failures the finalizer is dropped anyway, with an event.
async fn finalize(ctx: &Context, exposure: &Exposure, cleanup: Cleanup) -> Result<Done, Error> {
    if !has_cleanup_finalizer(exposure) {
        return Ok(Done::Finalized);
    }
    let attempt = ctx.failed_attempts(exposure);
    let notes = match clean_up(ctx, &cleanup).await {
        Ok(mut notes) => {
            notes.extend(cleanup.events);
            notes
        }
        Err(e) if attempt + 1 >= MAX_CLEANUP_ATTEMPTS => vec![note(
            EventType::Warning,
            "CleanupAbandoned",
            format!("Gave up cleaning up after {MAX_CLEANUP_ATTEMPTS} attempts ({e}); leftover StorageClasses are deleted by a later sweep"),
        )],
        Err(e) => return Err(e),
    };
    apply::set_finalizers(ctx, exposure, finalizers_with_cleanup(exposure, false)).await?;
    apply::publish(ctx, exposure, &notes).await;
    Ok(Done::Finalized)
}

async fn clean_up(ctx: &Context, cleanup: &Cleanup) -> Result<Vec<Event>, Error> {
    let mut notes = Vec::new();
    for released in &cleanup.release {
        notes.push(release(ctx, released).await?);
    }
    for deletion in &cleanup.delete_classes {
        notes.extend(delete(ctx, deletion).await?);
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recheck_comes_before_the_resync_never_after() {
        let resync = Duration::from_secs(300);
        let applied = |recheck| Done::Applied { recheck };
        assert_eq!(applied(None).requeue(resync), Some(resync));
        assert_eq!(
            applied(Some(Duration::from_secs(10))).requeue(resync),
            Some(Duration::from_secs(10))
        );
        // A resync shorter than the recheck wins.
        assert_eq!(
            applied(Some(Duration::from_secs(10))).requeue(Duration::from_secs(2)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(Done::Finalized.requeue(resync), None);
    }
}
