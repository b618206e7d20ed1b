//! Label and annotation keys the operator puts on the objects it manages.

/// Selector label on pods and the ownership label on every child: `exposure.dev/name: <name>`.
pub const NAME: &str = "exposure.dev/name";
/// On cluster-scoped children (StorageClass), which cannot carry an ownerReference.
pub const NAMESPACE: &str = "exposure.dev/namespace";
/// Put on a released PVC (reclaim Retain) in place of the ownership labels.
pub const RETAINED_FROM: &str = "exposure.dev/retained-from";
/// On a PVC: the `spec.storage[].name` it was made for.
pub const VOLUME: &str = "exposure.dev/volume";
/// On a StatefulSet's per-pod PVC (`<volume>-<name>-<ordinal>`, made by the StatefulSet
/// controller from our claim template): `"true"`.
pub const PER_POD: &str = "exposure.dev/per-pod";
pub const APP_NAME: &str = "app.kubernetes.io/name";
pub const APP_INSTANCE: &str = "app.kubernetes.io/instance";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of `app.kubernetes.io/managed-by`, and the server-side apply field manager.
pub const MANAGER: &str = "exposure-operator";
/// Annotation on a Deployment or StatefulSet whose replicas the operator leaves to the
/// HorizontalPodAutoscaler (`spec.autoscaling`).
pub const REPLICAS_FROM_AUTOSCALER: &str = "exposure.dev/replicas-from-autoscaler";
/// Finalizer on Exposures that created a StorageClass.
pub const CLEANUP_FINALIZER: &str = "exposure.dev/cleanup";
/// `endpointslice.kubernetes.io/managed-by` on the EndpointSlices the operator writes, so the
/// EndpointSlice controllers of kube-controller-manager leave them alone.
pub const ENDPOINT_SLICE_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// Its value: our controller, named as the convention asks (a domain-qualified name).
pub const ENDPOINT_SLICE_MANAGER: &str = "exposure-operator.exposure.dev";
/// `kubernetes.io/service-name`: ties an EndpointSlice to its Service.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
