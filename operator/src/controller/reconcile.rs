//! One reconcile: read one snapshot, decide (pure), execute.

use std::sync::Arc;
use std::time::Instant;

use exposure_crd::{Exposure, VisibilityType};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::ResourceExt;

use super::cached_exposure::{key_of, CachedExposure};
use super::caches::all_synced;
use super::context::Context;
use super::error::Error;
use super::{execute, gateway_api, snapshot};
use crate::decide::decide;

pub async fn reconcile(cached: Arc<CachedExposure>, ctx: Arc<Context>) -> Result<Action, Error> {
    all_synced(&ctx).await;
    let _permit = ctx.lanes.enter(cached.is_changed()).await;
    // The wait for a permit may have been long: act on the Exposure as it is now, and not at
    // all on one deleted meanwhile (its children would outlive it).
    let key = key_of(&*cached);
    let Some(now) = ctx.stores.exposures.get(&key) else {
        ctx.forget(&key);
        return Ok(Action::await_change());
    };
    let exposure = now.exposure().ok_or(Error::Undecodable)?;
    let started = Instant::now();
    ctx.metrics.reconciles.inc();
    // Boxed: the reconcile's whole state (several KiB) is allocated once it holds a permit, so
    // the thousands of reconciles a burst spawns wait for theirs at a few hundred bytes each.
    let result = Box::pin(reconcile_exposure(&exposure, &ctx)).await;
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    if result.is_ok() {
        ctx.forget_failures(&key);
    }
    result
}

/// Transient errors back off exponentially per Exposure (5 s doubling, capped at 5 min).
pub fn error_policy(cached: Arc<CachedExposure>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.count_error(error.kind());
    let (attempts, delay) = ctx.record_failure(&key_of(&*cached));
    tracing::warn!(exposure = %cached.name_any(), namespace = ?cached.namespace(), %error, attempts, ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn reconcile_exposure(exposure: &Exposure, ctx: &Context) -> Result<Action, Error> {
    exposure
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    exposure.uid().ok_or(Error::MissingField("metadata.uid"))?;
    // The Gateway API may have been installed since the operator started.
    let gateway = exposure.spec.visibility.type_ == VisibilityType::Gateway;
    let gateway_api = if gateway {
        ctx.gateway_api.refresh(&ctx.client).await
    } else {
        ctx.gateway_api.is_served()
    };
    let cluster = ctx.cluster.clone().with_gateway_api(gateway_api);
    let snapshot = snapshot::read(ctx, &cluster, exposure).await?;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let policy = ctx.config.storage_policy();
    let decision = decide(exposure, &cluster, &policy, snapshot, &now)?;
    let done = execute::execute(ctx, exposure, decision, &now).await?;
    // Nothing watches for the Gateway API CRDs: look again soon while they are missing.
    let resync = if gateway && !gateway_api {
        gateway_api::RECHECK
    } else {
        ctx.config.resync
    };
    // Regular resyncs come from `resync`; only a sooner look is a timer of its own.
    Ok(match done.requeue(resync) {
        Some(after) if after < ctx.config.resync => Action::requeue(after),
        _ => Action::await_change(),
    })
}
