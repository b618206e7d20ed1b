//! Status as a pure function of the spec, the outcome of this reconcile and the children
//! observed in the cluster. Written separately (server-side apply on the status subresource).
//!
//! Deterministic: the same inputs give the same status, conditions in a fixed order
//! (Ready, Reconciling, Stalled, Available, Exposed, StorageBound), so the reconciler can skip
//! the write when nothing changed. The condition reasons are listed in [`reason`].

use std::collections::BTreeMap;

use exposure_crd::{
    condition, AutoscalerStatus, DisruptionBudgetStatus, Exposure, ExposureSpec, ExposureStatus,
    ResourceRef, RetainedVolume, VisibilityType, WorkloadKind,
};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Endpoints, LimitRange, PersistentVolumeClaim, Pod, ResourceQuota, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use k8s_openapi::{Metadata, Resource};

use crate::build::{
    headless_service_name, per_pod_pvc_name, pvc_name, workload_kind, Children, ConfigDigests,
    HTTPRoute, DEFAULT_NAMESPACE,
};

mod address;
mod pods;
#[cfg(test)]
mod tests;
mod workload;

/// The cluster DNS domain in-cluster URLs and `addresses.dns` use.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// Children as they are in the cluster now (from the reconciler's caches).
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub deployment: Option<Deployment>,
    pub stateful_set: Option<StatefulSet>,
    pub daemon_set: Option<DaemonSet>,
    /// The newest `FailedCreate` event of the StatefulSet or DaemonSet while it lacks pods
    /// (a Deployment says so in its ReplicaFailure condition).
    pub workload_failure: Option<String>,
    /// The autoscaler (a `v2beta2` one read as `v2`).
    pub autoscaler: Option<HorizontalPodAutoscaler>,
    /// The disruption budget (a `v1beta1` one read as `v1`).
    pub disruption_budget: Option<PodDisruptionBudget>,
    pub resource_quota: Option<ResourceQuota>,
    pub limit_range: Option<LimitRange>,
    /// The ConfigMaps and Secrets `spec.config` mounts, as far as the operator may read them.
    pub config: ConfigDigests,
    /// Pods selected by `exposure.dev/name=<name>`.
    pub pods: Vec<Pod>,
    pub service: Option<Service>,
    pub headless_service: Option<Service>,
    /// The Endpoints object named like the Service (ours with `spec.endpoints`, else the
    /// endpoints controller's).
    pub endpoints: Option<Endpoints>,
    /// Our EndpointSlices for `spec.endpoints` (clusters >= 1.21), by name.
    pub endpoint_slices: Vec<EndpointSlice>,
    pub ingress: Option<Ingress>,
    /// The HTTPRoute `<name>` (visibility Gateway).
    pub http_route: Option<HTTPRoute>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// PVC name → message of its newest `ProvisioningFailed` event.
    pub provisioning_failures: BTreeMap<String, String>,
    /// PVCs released by this Exposure (reclaim Retain) and not in use by it now.
    pub retained_volumes: Vec<RetainedVolume>,
    /// An address of a Ready node (InternalIP), for NodePort URLs.
    pub node_address: Option<String>,
}

pub use crate::blocker::{BlockReason, Blocker};

/// What this reconcile did.
#[derive(Clone, Debug)]
pub enum Outcome<'a> {
    /// The desired children are in place (applied now or already up to date).
    Applied(&'a Children),
    /// Nothing was applied or pruned (the last good children stay).
    Blocked(Vec<Blocker>),
    /// The API server refused a child half-way through the apply (422, quota): the children
    /// before it were applied, it and those after it were not, nothing was pruned.
    PartiallyApplied {
        applied: Vec<ResourceRef>,
        not_applied: Vec<ResourceRef>,
        blockers: Vec<Blocker>,
    },
}

/// Every condition reason this module writes, by condition type.
///
/// - `Ready`: [`READY`](reason::READY) when True; when False, the reason (and message) of the
///   first condition that fails: Stalled, then Available, Exposed, StorageBound.
/// - `Reconciling` (True while the children converge by themselves):
///   [`ROLLOUT_IN_PROGRESS`](reason::ROLLOUT_IN_PROGRESS), [`CREATING`](reason::CREATING),
///   [`WAITING_FOR_PODS`](reason::WAITING_FOR_PODS),
///   [`WAITING_FOR_ADDRESS`](reason::WAITING_FOR_ADDRESS),
///   [`WAITING_FOR_VOLUME`](reason::WAITING_FOR_VOLUME); False: [`CONVERGED`](reason::CONVERGED),
///   [`NOT_PROGRESSING`](reason::NOT_PROGRESSING), [`STALLED`](reason::STALLED).
/// - `Stalled`: the first [`Blocker`]'s reason (`InvalidSpec`, `UnsupportedByCluster`,
///   `ResourceConflict`, ...), [`PROGRESS_DEADLINE_EXCEEDED`](reason::PROGRESS_DEADLINE_EXCEEDED),
///   [`BLOCKED`](reason::BLOCKED); False: [`NOT_STALLED`](reason::NOT_STALLED).
/// - `Available`: [`REPLICAS_AVAILABLE`](reason::REPLICAS_AVAILABLE),
///   [`SCALED_TO_ZERO`](reason::SCALED_TO_ZERO); False:
///   [`DEPLOYMENT_MISSING`](reason::DEPLOYMENT_MISSING),
///   [`WORKLOAD_MISSING`](reason::WORKLOAD_MISSING), [`QUOTA_EXCEEDED`](reason::QUOTA_EXCEEDED),
///   [`CONFIG_MISSING`](reason::CONFIG_MISSING), the waiting reason of a failing
///   container (`ImagePullBackOff`, `ErrImagePull`, `InvalidImageName`, `CrashLoopBackOff`,
///   `CreateContainerConfigError`, `CreateContainerError`, `RunContainerError`),
///   [`UNSCHEDULABLE`](reason::UNSCHEDULABLE), [`REPLICA_FAILURE`](reason::REPLICA_FAILURE),
///   [`REPLICAS_UNAVAILABLE`](reason::REPLICAS_UNAVAILABLE).
/// - `Exposed`: [`SERVICE_READY`](reason::SERVICE_READY),
///   [`LOAD_BALANCER_READY`](reason::LOAD_BALANCER_READY),
///   [`INGRESS_READY`](reason::INGRESS_READY), [`ROUTE_ACCEPTED`](reason::ROUTE_ACCEPTED); False:
///   [`SERVICE_MISSING`](reason::SERVICE_MISSING),
///   [`ENDPOINTS_MISSING`](reason::ENDPOINTS_MISSING),
///   [`INGRESS_MISSING`](reason::INGRESS_MISSING),
///   [`LOAD_BALANCER_PENDING`](reason::LOAD_BALANCER_PENDING),
///   [`INGRESS_ADDRESS_PENDING`](reason::INGRESS_ADDRESS_PENDING),
///   [`ROUTE_MISSING`](reason::ROUTE_MISSING), [`ROUTE_PENDING`](reason::ROUTE_PENDING),
///   [`ROUTE_NOT_ACCEPTED`](reason::ROUTE_NOT_ACCEPTED),
///   [`ROUTE_REFS_UNRESOLVED`](reason::ROUTE_REFS_UNRESOLVED).
/// - `StorageBound`: [`BOUND`](reason::BOUND); False: [`PENDING`](reason::PENDING),
///   [`PROVISIONING_FAILED`](reason::PROVISIONING_FAILED), [`LOST`](reason::LOST).
pub mod reason {
    /// Ready: the workload is available, the app exposed and every volume bound.
    pub const READY: &str = "Ready";

    /// Reconciling: the Deployment is rolling out (new spec not yet observed by the
    /// Deployment controller, replicas not yet updated, or old replicas still running).
    pub const ROLLOUT_IN_PROGRESS: &str = "RolloutInProgress";
    /// Reconciling: a child was just applied and is not visible yet.
    pub const CREATING: &str = "Creating";
    /// Reconciling: pods are starting and none reports a failure.
    pub const WAITING_FOR_PODS: &str = "WaitingForPods";
    /// Reconciling: waiting for the load balancer or the ingress controller to assign an
    /// address.
    pub const WAITING_FOR_ADDRESS: &str = "WaitingForAddress";
    /// Reconciling: a PVC is Pending and no provisioning failure was reported.
    pub const WAITING_FOR_VOLUME: &str = "WaitingForVolume";
    /// Reconciling False: everything is up to date and ready.
    pub const CONVERGED: &str = "Converged";
    /// Reconciling False: not ready, and nothing converges by itself (a pod fails, a volume
    /// cannot be provisioned); it may recover, else see Ready's reason.
    pub const NOT_PROGRESSING: &str = "NotProgressing";
    /// Reconciling False: Stalled is True.
    pub const STALLED: &str = "Stalled";

    /// Stalled: the Deployment's progress deadline passed (Progressing=False).
    pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
    /// Stalled: the reconcile was blocked without a stated blocker.
    pub const BLOCKED: &str = "Blocked";
    /// Stalled False.
    pub const NOT_STALLED: &str = "NotStalled";

    /// Available: at least the desired replicas are available.
    pub const REPLICAS_AVAILABLE: &str = "ReplicasAvailable";
    /// Available: `replicas: 0`.
    pub const SCALED_TO_ZERO: &str = "ScaledToZero";
    /// Available False: the Deployment does not exist (yet).
    pub const DEPLOYMENT_MISSING: &str = "DeploymentMissing";
    /// Available False: the StatefulSet or DaemonSet does not exist (yet).
    pub const WORKLOAD_MISSING: &str = "WorkloadMissing";
    /// Available False: the namespace's ResourceQuota stops the workload from creating pods
    /// (the message names the quota and its figures).
    pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";
    /// Available False: a ConfigMap or Secret `spec.config` mounts does not exist.
    pub const CONFIG_MISSING: &str = "ConfigMissing";
    /// Available False: a pod cannot be scheduled (see the message for the scheduler's words).
    pub const UNSCHEDULABLE: &str = "Unschedulable";
    /// Available False: the workload cannot create pods (e.g. Pod Security refuses them).
    pub const REPLICA_FAILURE: &str = "ReplicaFailure";
    /// Available False: fewer replicas available than desired, no pod reports a failure.
    pub const REPLICAS_UNAVAILABLE: &str = "ReplicasUnavailable";

    /// Exposed: the Service (and headless Service / Endpoints when asked for) exists.
    pub const SERVICE_READY: &str = "ServiceReady";
    /// Exposed: the LoadBalancer Service has an address.
    pub const LOAD_BALANCER_READY: &str = "LoadBalancerReady";
    /// Exposed: the Ingress has an address.
    pub const INGRESS_READY: &str = "IngressReady";
    /// Exposed False: the Service or the headless Service does not exist (yet).
    pub const SERVICE_MISSING: &str = "ServiceMissing";
    /// Exposed False: the Endpoints object for `spec.endpoints` does not exist (yet).
    pub const ENDPOINTS_MISSING: &str = "EndpointsMissing";
    /// Exposed False: the Ingress does not exist (yet).
    pub const INGRESS_MISSING: &str = "IngressMissing";
    /// Exposed False: the LoadBalancer Service has no address yet.
    pub const LOAD_BALANCER_PENDING: &str = "LoadBalancerPending";
    /// Exposed False: the Ingress has no address yet (is an ingress controller running?).
    pub const INGRESS_ADDRESS_PENDING: &str = "IngressAddressPending";
    /// Exposed: every Gateway of the HTTPRoute accepted it and resolved its backend.
    pub const ROUTE_ACCEPTED: &str = "RouteAccepted";
    /// Exposed False: the HTTPRoute does not exist (yet).
    pub const ROUTE_MISSING: &str = "RouteMissing";
    /// Exposed False: a Gateway has not reported on the HTTPRoute yet (is a Gateway controller
    /// running, and does the parentRef name its Gateway?).
    pub const ROUTE_PENDING: &str = "RoutePending";
    /// Exposed False: a Gateway refused the HTTPRoute (`Accepted` False; its reason, e.g.
    /// `NotAllowedByListeners`, `NoMatchingListenerHostname`, is in the message).
    pub const ROUTE_NOT_ACCEPTED: &str = "RouteNotAccepted";
    /// Exposed False: a Gateway could not resolve the backend (`ResolvedRefs` False).
    pub const ROUTE_REFS_UNRESOLVED: &str = "RouteRefsUnresolved";

    /// StorageBound: every PVC is Bound.
    pub const BOUND: &str = "Bound";
    /// StorageBound False: a PVC is Pending (or not created yet).
    pub const PENDING: &str = "Pending";
    /// StorageBound False: a PVC is Pending and its provisioner reported a failure.
    pub const PROVISIONING_FAILED: &str = "ProvisioningFailed";
    /// StorageBound False: a PVC lost its volume.
    pub const LOST: &str = "Lost";
}

/// The full status for this reconcile. Conditions keep `lastTransitionTime` from
/// `exposure.status` when their status does not change.
pub fn compute_status(
    exposure: &Exposure,
    outcome: &Outcome<'_>,
    observed: &Observed,
    now: &Time,
) -> ExposureStatus {
    let target = Target::of(exposure);
    let addresses = address::addresses(&target, observed);
    let urls = address::urls(&target, observed);
    let url = urls.first().cloned();

    let kind = target.workload();
    let workload = kind.map(|kind| workload::assess(target.name, kind, observed));
    let exposed = assess_exposure(&target, observed, url.as_deref());
    let storage = (!target.spec.storage.is_empty()).then(|| assess_storage(&target, observed));
    let stall = stall(outcome, workload.as_ref().and_then(|w| w.stall.as_ref()));

    let aspects: Vec<&Verdict> = [
        workload.as_ref().map(|w| &w.available),
        Some(&exposed),
        storage.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let summary = join(
        [workload.as_ref().map(|w| &w.available), Some(&exposed)]
            .into_iter()
            .flatten()
            .map(|v| v.message.as_str()),
    );
    let ready = ready(stall.as_ref(), &aspects, summary);
    let reconciling = reconciling(stall.as_ref(), &aspects);
    let stalled = match &stall {
        Some(stall) => Verdict::holds(&stall.reason, stall.message.clone()),
        None => Verdict::fails(reason::NOT_STALLED, "nothing blocks progress"),
    };

    let generation = exposure.metadata.generation;
    let previous = exposure
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let conditions = [
        (condition::READY, Some(&ready)),
        (condition::RECONCILING, Some(&reconciling)),
        (condition::STALLED, Some(&stalled)),
        (
            condition::AVAILABLE,
            workload.as_ref().map(|w| &w.available),
        ),
        (condition::EXPOSED, Some(&exposed)),
        (condition::STORAGE_BOUND, storage.as_ref()),
    ]
    .into_iter()
    .filter_map(|(type_, verdict)| Some(verdict?.to_condition(type_, generation, previous, now)))
    .collect();

    let counts = kind.and_then(|kind| workload::counts(kind, observed));

    ExposureStatus {
        observed_generation: generation,
        conditions,
        replicas: counts.as_ref().map(|c| c.current),
        ready_replicas: counts.as_ref().map(|c| c.ready),
        available_replicas: counts.as_ref().map(|c| c.available),
        url,
        urls,
        addresses,
        resources: resources(exposure, outcome, observed),
        retained_volumes: observed.retained_volumes.clone(),
        workload: kind.map(|k| k.as_str().to_owned()),
        autoscaler: autoscaler_status(&target, observed),
        disruption_budget: disruption_budget_status(&target, observed),
    }
}

/// The autoscaler's replica counts and why it cannot scale; whether `spec.replicas` is
/// ignored.
fn autoscaler_status(target: &Target<'_>, observed: &Observed) -> Option<AutoscalerStatus> {
    let scaling = target.spec.autoscaling.as_ref()?;
    let status = observed.autoscaler.as_ref().and_then(|h| h.status.clone());
    let mut notes = Vec::new();
    if let Some(replicas) = target.spec.replicas {
        notes.push(format!(
            "spec.replicas ({replicas}) is ignored: the HorizontalPodAutoscaler owns replicas ({}-{})",
            scaling.min_replicas, scaling.max_replicas
        ));
    }
    let inactive = status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .find(|c| c.type_ == "ScalingActive" && c.status == "False");
    if let Some(c) = inactive {
        notes.push(format!(
            "not scaling: {} ({})",
            c.reason.as_deref().unwrap_or("ScalingActive False"),
            c.message.as_deref().unwrap_or_default()
        ));
    }
    Some(AutoscalerStatus {
        current_replicas: status.as_ref().and_then(|s| s.current_replicas),
        // While it cannot scale (no metrics), the autoscaler reports 0: it wants nothing.
        desired_replicas: status
            .as_ref()
            .filter(|_| inactive.is_none())
            .map(|s| s.desired_replicas),
        message: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

fn disruption_budget_status(
    target: &Target<'_>,
    observed: &Observed,
) -> Option<DisruptionBudgetStatus> {
    target.spec.disruption.as_ref()?;
    let status = observed
        .disruption_budget
        .as_ref()
        .and_then(|p| p.status.clone());
    Some(DisruptionBudgetStatus {
        disruptions_allowed: status.as_ref().map(|s| s.disruptions_allowed),
        current_healthy: status.as_ref().map(|s| s.current_healthy),
        desired_healthy: status.as_ref().map(|s| s.desired_healthy),
    })
}

/// The Exposure fields the status depends on.
struct Target<'a> {
    name: &'a str,
    namespace: &'a str,
    spec: &'a ExposureSpec,
}

impl<'a> Target<'a> {
    fn of(exposure: &'a Exposure) -> Self {
        Self {
            name: exposure.metadata.name.as_deref().unwrap_or_default(),
            namespace: exposure
                .metadata
                .namespace
                .as_deref()
                .unwrap_or(DEFAULT_NAMESPACE),
            spec: &exposure.spec,
        }
    }

    /// ExternalName and `spec.endpoints` point at something outside: no workload.
    fn workload(&self) -> Option<WorkloadKind> {
        workload_kind(self.spec)
    }

    /// Whether the headless Service is wanted (asked for, or a StatefulSet's).
    fn headless(&self) -> bool {
        self.spec.headless == Some(true) || self.workload() == Some(WorkloadKind::StatefulSet)
    }

    /// In-cluster DNS name of the Service.
    fn dns(&self) -> String {
        format!("{}.{}.svc.{CLUSTER_DOMAIN}", self.name, self.namespace)
    }
}

/// One condition's outcome before it becomes a `Condition`.
#[derive(Clone, Debug)]
struct Verdict {
    holds: bool,
    reason: String,
    message: String,
    /// Set while this aspect converges by itself.
    converging: Option<Converging>,
}

/// A Reconciling reason and message.
type Converging = (&'static str, String);

/// Several things converging at once: the first one's reason, every message.
fn combine<'c>(items: impl IntoIterator<Item = &'c Converging>) -> Option<Converging> {
    let items: Vec<&Converging> = items.into_iter().collect();
    let (first_reason, _) = items.first()?;
    Some((
        first_reason,
        join(items.iter().map(|(_, message)| message.as_str())),
    ))
}

impl Verdict {
    fn holds(reason: &str, message: impl Into<String>) -> Self {
        Self {
            holds: true,
            reason: reason.to_owned(),
            message: message.into(),
            converging: None,
        }
    }

    fn fails(reason: &str, message: impl Into<String>) -> Self {
        Self {
            holds: false,
            ..Self::holds(reason, message)
        }
    }

    fn converging(self, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            converging: Some((reason, message.into())),
            ..self
        }
    }

    /// `lastTransitionTime` stays as in `previous` unless the status flips.
    fn to_condition(
        &self,
        type_: &str,
        generation: Option<i64>,
        previous: &[Condition],
        now: &Time,
    ) -> Condition {
        let status = if self.holds { "True" } else { "False" };
        let last_transition_time = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
        Condition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            observed_generation: generation,
            last_transition_time,
            reason: self.reason.clone(),
            message: self.message.clone(),
        }
    }
}

/// What the reconcile cannot get past by itself.
#[derive(Clone, Debug)]
struct Stall {
    reason: String,
    message: String,
}

/// Blockers first (nothing, or only part, was applied), then a Deployment past its progress
/// deadline.
fn stall(outcome: &Outcome<'_>, workload_stall: Option<&Stall>) -> Option<Stall> {
    match outcome {
        Outcome::Blocked(blockers) => Some(match blockers.first() {
            Some(first) => Stall {
                reason: first.reason.as_str().to_owned(),
                message: join(blockers.iter().map(|b| b.message.as_str())),
            },
            None => Stall {
                reason: reason::BLOCKED.to_owned(),
                message: "nothing was applied".to_owned(),
            },
        }),
        Outcome::PartiallyApplied {
            applied,
            not_applied,
            blockers,
        } => {
            let listed = |refs: &[ResourceRef]| {
                if refs.is_empty() {
                    "nothing".to_owned()
                } else {
                    refs.iter()
                        .map(|r| format!("{} {}", r.kind, r.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let why = join(blockers.iter().map(|b| b.message.as_str()));
            Some(Stall {
                reason: blockers
                    .first()
                    .map_or(reason::BLOCKED, |b| b.reason.as_str())
                    .to_owned(),
                message: format!(
                    "{why}; applied: {}; not applied: {}",
                    listed(applied),
                    listed(not_applied)
                ),
            })
        }
        Outcome::Applied(_) => workload_stall.cloned(),
    }
}

/// `summary`: what Ready says when True.
fn ready(stall: Option<&Stall>, aspects: &[&Verdict], summary: String) -> Verdict {
    if let Some(stall) = stall {
        return Verdict::fails(&stall.reason, stall.message.clone());
    }
    match aspects.iter().find(|a| !a.holds) {
        Some(failing) => Verdict::fails(&failing.reason, failing.message.clone()),
        None => Verdict::holds(reason::READY, summary),
    }
}

fn reconciling(stall: Option<&Stall>, aspects: &[&Verdict]) -> Verdict {
    if stall.is_some() {
        return Verdict::fails(
            reason::STALLED,
            "cannot progress until the spec or the cluster changes; see Stalled",
        );
    }
    if let Some((reason, message)) = combine(aspects.iter().filter_map(|a| a.converging.as_ref())) {
        return Verdict::holds(reason, message);
    }
    match aspects.iter().find(|a| !a.holds) {
        Some(failing) => Verdict::fails(
            reason::NOT_PROGRESSING,
            format!(
                "not converging by itself: {} ({})",
                failing.reason, failing.message
            ),
        ),
        None => Verdict::fails(reason::CONVERGED, "all children are up to date and ready"),
    }
}

/// `1 restart`, `5 restarts`.
fn count(n: i32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn join<'s>(messages: impl Iterator<Item = &'s str>) -> String {
    messages.collect::<Vec<_>>().join("; ")
}

fn assess_exposure(target: &Target<'_>, observed: &Observed, url: Option<&str>) -> Verdict {
    let name = target.name;
    let missing = |reason: &str, what: String| {
        Verdict::fails(reason, format!("{what} not found")).converging(
            reason::CREATING,
            format!("waiting for {what} to be created"),
        )
    };
    let Some(service) = &observed.service else {
        return missing(reason::SERVICE_MISSING, format!("Service {name}"));
    };
    let visibility = &target.spec.visibility;
    if visibility.type_ == VisibilityType::ExternalName {
        let message = match address::external_name(target, service) {
            Some(external_name) => format!("Service {name} is an alias for {external_name}"),
            None => format!("Service {name} exists (no externalName set)"),
        };
        return Verdict::holds(reason::SERVICE_READY, message);
    }
    if target.headless() && observed.headless_service.is_none() {
        return missing(
            reason::SERVICE_MISSING,
            format!("Service {}", headless_service_name(name)),
        );
    }
    if !target.spec.endpoints.is_empty()
        && observed.endpoints.is_none()
        && observed.endpoint_slices.is_empty()
    {
        return missing(reason::ENDPOINTS_MISSING, format!("Endpoints {name}"));
    }
    let exposed_at = format!(
        "exposed at {}",
        url.map_or_else(|| target.dns(), str::to_owned)
    );
    match visibility.type_ {
        VisibilityType::LoadBalancer if address::load_balancer_addresses(service).is_empty() => {
            let waiting = format!("waiting for a load balancer address for Service {name}");
            Verdict::fails(reason::LOAD_BALANCER_PENDING, waiting.clone())
                .converging(reason::WAITING_FOR_ADDRESS, waiting)
        }
        VisibilityType::LoadBalancer => Verdict::holds(reason::LOAD_BALANCER_READY, exposed_at),
        VisibilityType::Ingress => {
            match &observed.ingress {
                None => missing(reason::INGRESS_MISSING, format!("Ingress {name}")),
                Some(ingress) if !address::ingress_has_address(ingress) => {
                    let waiting = format!("waiting for an address on Ingress {name} (is an ingress controller running?)");
                    Verdict::fails(reason::INGRESS_ADDRESS_PENDING, waiting.clone())
                        .converging(reason::WAITING_FOR_ADDRESS, waiting)
                }
                Some(_) => Verdict::holds(reason::INGRESS_READY, exposed_at),
            }
        }
        VisibilityType::Gateway => match &observed.http_route {
            None => missing(reason::ROUTE_MISSING, format!("HTTPRoute {name}")),
            Some(route) => assess_route(target, route, exposed_at),
        },
        _ => Verdict::holds(reason::SERVICE_READY, exposed_at),
    }
}

/// The HTTPRoute as its Gateways report it in `status.parents` (one entry per Gateway and
/// controller): exposed once every parentRef of the spec has `Accepted` and `ResolvedRefs`
/// True for the current generation.
fn assess_route(target: &Target<'_>, route: &HTTPRoute, exposed_at: String) -> Verdict {
    let name = target.name;
    let parents = route
        .status
        .as_ref()
        .map(|s| s.parents.as_slice())
        .unwrap_or_default();
    let wanted = target
        .spec
        .gateway
        .as_ref()
        .map(|g| g.parent_refs.as_slice())
        .unwrap_or_default();
    let generation = route.metadata.generation;
    for parent in wanted {
        let namespace = parent.namespace.as_deref().unwrap_or(target.namespace);
        let gateway = format!("Gateway {namespace}/{}", parent.name);
        let reported = parents.iter().find(|p| {
            p.parent_ref.name == parent.name
                && p.parent_ref
                    .namespace
                    .as_deref()
                    .unwrap_or(target.namespace)
                    == namespace
                && p.parent_ref.section_name == parent.section_name
        });
        let condition = |type_: &str| {
            reported.and_then(|p| {
                p.conditions.iter().find(|c| {
                    c.type_ == type_
                        && (c.observed_generation.is_none() || c.observed_generation == generation)
                })
            })
        };
        let pending = || {
            let waiting = format!("waiting for {gateway} to accept HTTPRoute {name} (is a Gateway controller running?)");
            Verdict::fails(reason::ROUTE_PENDING, waiting.clone())
                .converging(reason::WAITING_FOR_ADDRESS, waiting)
        };
        match condition("Accepted") {
            None => return pending(),
            Some(c) if c.status != "True" => {
                return Verdict::fails(
                    reason::ROUTE_NOT_ACCEPTED,
                    format!(
                        "{gateway} did not accept HTTPRoute {name}: {} ({})",
                        c.reason, c.message
                    ),
                )
            }
            Some(_) => {}
        }
        match condition("ResolvedRefs") {
            None => return pending(),
            Some(c) if c.status != "True" => {
                return Verdict::fails(
                    reason::ROUTE_REFS_UNRESOLVED,
                    format!(
                        "{gateway} cannot resolve the backend of HTTPRoute {name}: {} ({})",
                        c.reason, c.message
                    ),
                )
            }
            Some(_) => {}
        }
    }
    Verdict::holds(reason::ROUTE_ACCEPTED, exposed_at)
}

/// The PVCs `spec.storage` stands for: one per volume, or for a StatefulSet one per volume and
/// replica (`<volume>-<name>-<ordinal>`, made by its controller).
fn claim_names(target: &Target<'_>, observed: &Observed) -> Vec<String> {
    let volumes = target.spec.storage.iter();
    if target.workload() != Some(WorkloadKind::StatefulSet) {
        return volumes.map(|v| pvc_name(target.name, &v.name)).collect();
    }
    // Until the StatefulSet exists, the replicas it will have.
    let replicas = workload::counts(WorkloadKind::StatefulSet, observed).map_or_else(
        || match &target.spec.autoscaling {
            Some(scaling) => scaling.min_replicas,
            None => target.spec.replicas.unwrap_or(1),
        },
        |c| c.desired,
    );
    volumes
        .flat_map(|v| (0..replicas).map(move |i| per_pod_pvc_name(target.name, &v.name, i)))
        .collect()
}

/// One line per PVC of `spec.storage` that is not Bound; the reason is the worst of them:
/// Lost, then ProvisioningFailed, then Pending.
fn assess_storage(target: &Target<'_>, observed: &Observed) -> Verdict {
    let mut bound = Vec::new();
    let mut problems: Vec<(&str, String)> = Vec::new();
    let mut converging: Vec<Converging> = Vec::new();
    for pvc in claim_names(target, observed) {
        let phase = observed
            .pvcs
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(pvc.as_str()))
            .map(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("Pending")
            });
        match (phase, observed.provisioning_failures.get(&pvc)) {
            (Some("Bound"), _) => bound.push(pvc),
            (None, _) => {
                problems.push((reason::PENDING, format!("PVC {pvc} not found")));
                converging.push((
                    reason::CREATING,
                    format!("waiting for PVC {pvc} to be created"),
                ));
            }
            (Some("Lost"), _) => {
                problems.push((reason::LOST, format!("PVC {pvc} Lost: its volume is gone")))
            }
            (Some(phase), Some(failure)) => {
                problems.push((
                    reason::PROVISIONING_FAILED,
                    format!("PVC {pvc} {phase}: {failure}"),
                ));
            }
            (Some(phase), None) => {
                problems.push((reason::PENDING, format!("PVC {pvc} {phase}")));
                converging.push((
                    reason::WAITING_FOR_VOLUME,
                    format!("waiting for PVC {pvc} to be bound"),
                ));
            }
        }
    }
    let worst = [reason::LOST, reason::PROVISIONING_FAILED, reason::PENDING]
        .into_iter()
        .find(|worst| problems.iter().any(|(reason, _)| reason == worst));
    let Some(worst) = worst else {
        if bound.is_empty() {
            return Verdict::holds(reason::BOUND, "no claims while scaled to 0");
        }
        return Verdict::holds(reason::BOUND, format!("PVCs bound: {}", bound.join(", ")));
    };
    let verdict = Verdict::fails(
        worst,
        join(problems.iter().map(|(_, message)| message.as_str())),
    );
    match combine(&converging) {
        Some((reason, message)) => verdict.converging(reason, message),
        None => verdict,
    }
}

/// Applied: what was applied, in apply order. Blocked: nothing was pruned, so the last
/// recorded list stays, followed by observed children it lacks. Partially applied: the same,
/// plus the children applied now.
fn resources(exposure: &Exposure, outcome: &Outcome<'_>, observed: &Observed) -> Vec<ResourceRef> {
    let applied_now = match outcome {
        Outcome::Applied(children) => return children.resource_refs(),
        Outcome::Blocked(_) => &[][..],
        Outcome::PartiallyApplied { applied, .. } => applied.as_slice(),
    };
    let mut refs = exposure
        .status
        .as_ref()
        .map(|s| s.resources.clone())
        .unwrap_or_default();
    for new_ref in applied_now
        .iter()
        .cloned()
        .chain(observed_refs(observed, &exposure.spec))
    {
        if !refs.contains(&new_ref) {
            refs.push(new_ref);
        }
    }
    refs
}

/// The observed children, in apply order (PVCs by name). The Endpoints object is ours only with
/// `spec.endpoints`; otherwise it is the endpoints controller's.
fn observed_refs(observed: &Observed, spec: &ExposureSpec) -> Vec<ResourceRef> {
    let Observed {
        pvcs,
        resource_quota,
        limit_range,
        deployment,
        stateful_set,
        daemon_set,
        autoscaler,
        disruption_budget,
        service,
        headless_service,
        endpoints,
        endpoint_slices,
        ingress,
        http_route,
        ..
    } = observed;
    let our_endpoints = endpoints.iter().filter(|_| !spec.endpoints.is_empty());
    // Per-pod claims belong to the StatefulSet, not to the operator.
    let our_pvcs = pvcs
        .iter()
        .filter(|p| !crate::ownership::per_pod_claim(&p.metadata));
    let mut refs: Vec<ResourceRef> = our_pvcs.map(resource_ref).collect();
    // The caches list PVCs in no particular order.
    refs.sort();
    refs.extend(resource_quota.iter().map(resource_ref));
    refs.extend(limit_range.iter().map(resource_ref));
    refs.extend(deployment.iter().map(resource_ref));
    refs.extend(stateful_set.iter().map(resource_ref));
    refs.extend(daemon_set.iter().map(resource_ref));
    refs.extend(autoscaler.iter().map(resource_ref));
    refs.extend(disruption_budget.iter().map(resource_ref));
    refs.extend(service.iter().chain(headless_service).map(resource_ref));
    refs.extend(our_endpoints.map(resource_ref));
    refs.extend(endpoint_slices.iter().map(resource_ref));
    refs.extend(ingress.iter().map(resource_ref));
    refs.extend(http_route.iter().map(|route| ResourceRef {
        kind: "HTTPRoute".to_owned(),
        name: route.metadata.name.clone().unwrap_or_default(),
    }));
    refs
}

fn resource_ref<K: Resource + Metadata<Ty = ObjectMeta>>(object: &K) -> ResourceRef {
    ResourceRef {
        kind: K::KIND.to_owned(),
        name: object.metadata().name.clone().unwrap_or_default(),
    }
}
