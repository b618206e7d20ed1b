//! Pure builders: one valid Exposure → the child objects the operator owns.
//! No I/O; `render` prints exactly this and the reconciler applies exactly this.
//!
//! Only fields Kubernetes 1.20 knows are built unless the [`ClusterInfo`] says the cluster is
//! newer: server-side apply rejects unknown fields.

mod autoscaler;
mod config;
mod daemon_set;
mod deployment;
mod disruption;
mod httproute;
mod ingress;
mod kind;
mod legacy;
mod limit_range;
mod meta;
mod pod;
mod quota;
mod service;
mod stateful_set;
mod storage;

use exposure_crd::ResourceRef;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Endpoints, LimitRange, PersistentVolumeClaim, ResourceQuota, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;

pub use self::autoscaler::DEFAULT_CPU_UTILIZATION;
pub use self::config::{
    config_map_digest, config_sources, secret_digest, ConfigDigests, ConfigSource, CONFIG_HASH,
};
pub use self::deployment::workload_kind;
pub use self::httproute::{
    HTTPRoute, HttpRouteSpec, HttpRouteStatus, ParentReference, RouteParentStatus,
    GATEWAY_API_GROUP,
};
pub use self::kind::{ChildKind, ChildRef};
pub use self::legacy::{LegacyHorizontalPodAutoscaler, LegacyPodDisruptionBudget};
pub use self::meta::{
    child_labels, headless_service_name, per_pod_pvc_name, pvc_name, selector_labels,
    storage_class_name, DEFAULT_NAMESPACE,
};
pub use self::storage::GLUSTERFS_PROVISIONER;
use crate::cluster::ClusterInfo;
use crate::validate::Valid;

/// Every child an Exposure can have. Consumers destructure it without `..` so that adding a
/// child type is a compile error everywhere it must be handled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Children {
    pub storage_classes: Vec<StorageClass>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub resource_quota: Option<ResourceQuota>,
    pub limit_range: Option<LimitRange>,
    /// At most one workload: the Deployment, the StatefulSet or the DaemonSet.
    pub deployment: Option<Deployment>,
    pub stateful_set: Option<StatefulSet>,
    pub daemon_set: Option<DaemonSet>,
    /// `autoscaling/v2` (clusters >= 1.23).
    pub autoscaler: Option<HorizontalPodAutoscaler>,
    /// `autoscaling/v2beta2` (clusters before 1.23).
    pub legacy_autoscaler: Option<LegacyHorizontalPodAutoscaler>,
    /// `policy/v1` (clusters >= 1.21).
    pub disruption_budget: Option<PodDisruptionBudget>,
    /// `policy/v1beta1` (clusters before 1.21).
    pub legacy_disruption_budget: Option<LegacyPodDisruptionBudget>,
    pub service: Option<Service>,
    pub headless_service: Option<Service>,
    /// Clusters before 1.21 only (no EndpointSlice API).
    pub endpoints: Option<Endpoints>,
    /// One per address family of `spec.endpoints`, on clusters >= 1.21.
    pub endpoint_slices: Vec<EndpointSlice>,
    pub ingress: Option<Ingress>,
    /// Gateway API HTTPRoute (visibility Gateway).
    pub http_route: Option<HTTPRoute>,
}

impl Children {
    /// Every child, borrowed, in apply order: StorageClass, PersistentVolumeClaim,
    /// ResourceQuota, LimitRange, the workload, its autoscaler and disruption budget, Service,
    /// Service (headless), Endpoints, EndpointSlices, Ingress, HTTPRoute. The one walk over
    /// all children; destructured without `..`.
    pub fn in_apply_order(&self) -> Vec<ChildRef<'_>> {
        let Children {
            storage_classes,
            pvcs,
            resource_quota,
            limit_range,
            deployment,
            stateful_set,
            daemon_set,
            autoscaler,
            legacy_autoscaler,
            disruption_budget,
            legacy_disruption_budget,
            service,
            headless_service,
            endpoints,
            endpoint_slices,
            ingress,
            http_route,
        } = self;
        let mut all = Vec::new();
        all.extend(storage_classes.iter().map(ChildRef::StorageClass));
        all.extend(pvcs.iter().map(ChildRef::PersistentVolumeClaim));
        all.extend(resource_quota.iter().map(ChildRef::ResourceQuota));
        all.extend(limit_range.iter().map(ChildRef::LimitRange));
        all.extend(deployment.iter().map(ChildRef::Deployment));
        all.extend(stateful_set.iter().map(ChildRef::StatefulSet));
        all.extend(daemon_set.iter().map(ChildRef::DaemonSet));
        all.extend(autoscaler.iter().map(ChildRef::HorizontalPodAutoscaler));
        all.extend(
            legacy_autoscaler
                .iter()
                .map(ChildRef::LegacyHorizontalPodAutoscaler),
        );
        all.extend(disruption_budget.iter().map(ChildRef::PodDisruptionBudget));
        all.extend(
            legacy_disruption_budget
                .iter()
                .map(ChildRef::LegacyPodDisruptionBudget),
        );
        all.extend(service.iter().map(ChildRef::Service));
        all.extend(headless_service.iter().map(ChildRef::Service));
        all.extend(endpoints.iter().map(ChildRef::Endpoints));
        all.extend(endpoint_slices.iter().map(ChildRef::EndpointSlice));
        all.extend(ingress.iter().map(ChildRef::Ingress));
        all.extend(http_route.iter().map(ChildRef::HTTPRoute));
        all
    }

    /// Kind and name of every child, in apply order.
    pub fn resource_refs(&self) -> Vec<ResourceRef> {
        self.in_apply_order()
            .iter()
            .map(|child| ResourceRef {
                kind: child.kind().as_str().to_owned(),
                name: child.name().to_owned(),
            })
            .collect()
    }
}

/// Builds the desired children of a validated Exposure for the given cluster, without live
/// configuration data (what `render` shows for a spec alone, and enough to know the children's
/// names). See [`build_with_config`].
pub fn build(valid: &Valid<'_>, cluster: &ClusterInfo) -> Children {
    build_with_config(valid, cluster, &ConfigDigests::default())
}

/// Builds the desired children of a validated Exposure for the given cluster, the pod template
/// carrying the hash of `config` (the referenced ConfigMaps and Secrets as they are now).
/// Never fails: a child that cannot be built from the spec (e.g. a Service without ports) is
/// left out, and validate reports why.
pub fn build_with_config(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
    config: &ConfigDigests,
) -> Children {
    let (autoscaler, legacy_autoscaler) = autoscaler::build_autoscaler(valid, cluster);
    let (disruption_budget, legacy_disruption_budget) =
        disruption::build_disruption_budget(valid, cluster);
    Children {
        storage_classes: storage::build_storage_classes(valid, cluster),
        pvcs: storage::build_pvcs(valid),
        resource_quota: quota::build_resource_quota(valid),
        limit_range: limit_range::build_limit_range(valid),
        deployment: deployment::build_deployment(valid, cluster, config),
        stateful_set: stateful_set::build_stateful_set(valid, cluster, config),
        daemon_set: daemon_set::build_daemon_set(valid, cluster, config),
        autoscaler,
        legacy_autoscaler,
        disruption_budget,
        legacy_disruption_budget,
        service: service::build_service(valid, cluster),
        headless_service: service::build_headless_service(valid),
        endpoints: service::build_endpoints(valid, cluster),
        endpoint_slices: service::build_endpoint_slices(valid, cluster),
        ingress: ingress::build_ingress(valid),
        http_route: httproute::build_http_route(valid),
    }
}

#[cfg(test)]
mod tests {
    use exposure_crd::{
        EndpointSpec, Exposure, ExposureSpec, GlusterfsClass, IngressSpec, PortSpec, QuotaSpec,
        StorageSpec, Visibility, VisibilityType,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use proptest::prelude::*;

    use super::meta::tests::{new_exposure, valid};
    use super::*;
    use crate::cluster::KubeVersion;

    fn old() -> ClusterInfo {
        ClusterInfo::new(KubeVersion::new(1, 20))
    }

    fn everything() -> ExposureSpec {
        ExposureSpec {
            image: Some("nginx:1.25".into()),
            ports: vec![PortSpec {
                name: Some("http".into()),
                container_port: 80,
                ..Default::default()
            }],
            visibility: Visibility {
                type_: VisibilityType::Ingress,
                ..Default::default()
            },
            ingress: Some(IngressSpec {
                host: Some("foo.bar.com".into()),
                ..Default::default()
            }),
            headless: Some(true),
            storage: vec![StorageSpec {
                name: "data".into(),
                mount_path: "/pv-data".into(),
                size: Quantity("1Gi".into()),
                glusterfs: Some(GlusterfsClass {
                    resturl: "http://heketi:8080".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            quota: Some(QuotaSpec::default()),
            ..Default::default()
        }
    }

    fn refs(pairs: &[(&str, &str)]) -> Vec<ResourceRef> {
        pairs
            .iter()
            .map(|(kind, name)| ResourceRef {
                kind: (*kind).into(),
                name: (*name).into(),
            })
            .collect()
    }

    #[test]
    fn resource_refs_follow_apply_order() {
        let exposure = new_exposure(Some("shop"), None, everything());
        let children = build(&valid(&exposure), &old());
        assert_eq!(
            children.resource_refs(),
            refs(&[
                ("StorageClass", "shop.web.data"),
                ("PersistentVolumeClaim", "web-data"),
                ("ResourceQuota", "web"),
                ("Deployment", "web"),
                ("Service", "web"),
                ("Service", "web-headless"),
                ("Ingress", "web"),
            ])
        );
    }

    #[test]
    fn external_backends_have_no_workload() {
        let external = ExposureSpec {
            image: None,
            ports: vec![PortSpec {
                name: Some("http".into()),
                container_port: 80,
                ..Default::default()
            }],
            endpoints: vec![EndpointSpec {
                ip: "192.0.2.10".into(),
            }],
            ..Default::default()
        };
        let exposure = new_exposure(None, None, external);
        assert_eq!(
            build(&valid(&exposure), &old()).resource_refs(),
            refs(&[("Service", "web"), ("Endpoints", "web")])
        );

        let alias = ExposureSpec {
            visibility: Visibility {
                type_: VisibilityType::ExternalName,
                external_name: Some("app-db.database.example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let exposure = new_exposure(None, None, alias);
        assert_eq!(
            build(&valid(&exposure), &old()).resource_refs(),
            refs(&[("Service", "web")])
        );
    }

    #[test]
    fn children_serialize_with_api_version_and_kind() {
        let exposure = new_exposure(None, None, everything());
        let Children {
            storage_classes,
            pvcs,
            resource_quota,
            limit_range,
            deployment,
            stateful_set,
            daemon_set,
            autoscaler,
            legacy_autoscaler,
            disruption_budget,
            legacy_disruption_budget,
            service,
            headless_service,
            endpoints,
            endpoint_slices,
            ingress,
            http_route,
        } = build(&valid(&exposure), &old());
        assert_eq!(http_route, None);
        assert_eq!(limit_range, None);
        assert_eq!(stateful_set, None);
        assert_eq!(daemon_set, None);
        assert_eq!(autoscaler, None);
        assert_eq!(legacy_autoscaler, None);
        assert_eq!(disruption_budget, None);
        assert_eq!(legacy_disruption_budget, None);
        let type_meta =
            |value: serde_json::Value| (value["apiVersion"].clone(), value["kind"].clone());
        let json = |value: Result<serde_json::Value, serde_json::Error>| type_meta(value.unwrap());
        assert_eq!(
            json(serde_json::to_value(&storage_classes[0])),
            ("storage.k8s.io/v1".into(), "StorageClass".into())
        );
        assert_eq!(
            json(serde_json::to_value(&pvcs[0])),
            ("v1".into(), "PersistentVolumeClaim".into())
        );
        assert_eq!(
            json(serde_json::to_value(resource_quota.unwrap())),
            ("v1".into(), "ResourceQuota".into())
        );
        assert_eq!(
            json(serde_json::to_value(deployment.unwrap())),
            ("apps/v1".into(), "Deployment".into())
        );
        assert_eq!(
            json(serde_json::to_value(service.unwrap())),
            ("v1".into(), "Service".into())
        );
        assert_eq!(
            json(serde_json::to_value(headless_service.unwrap())),
            ("v1".into(), "Service".into())
        );
        assert_eq!(endpoints, None);
        assert!(endpoint_slices.is_empty());
        assert_eq!(
            json(serde_json::to_value(ingress.unwrap())),
            ("networking.k8s.io/v1".into(), "Ingress".into())
        );
    }

    fn visibility_type() -> impl Strategy<Value = VisibilityType> {
        prop_oneof![
            Just(VisibilityType::Internal),
            Just(VisibilityType::NodePort),
            Just(VisibilityType::LoadBalancer),
            Just(VisibilityType::Ingress),
            Just(VisibilityType::ExternalName),
        ]
    }

    /// Every combination of the fields that decide which children exist, each one valid
    /// (`valid` panics otherwise): a `Valid` only comes from `validate`.
    fn any_exposure() -> impl Strategy<Value = Exposure> {
        (
            visibility_type(),
            1..4usize,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec((any::<bool>(), any::<bool>()), 0..3),
            proptest::option::of("[a-z]{1,5}"),
            any::<bool>(),
        )
            .prop_map(
                |(
                    type_,
                    port_count,
                    node_ports,
                    headless,
                    external_backend,
                    volumes,
                    namespace,
                    with_uid,
                )| {
                    let alias = type_ == VisibilityType::ExternalName;
                    let external_backend = external_backend && !alias;
                    let workload = !alias && !external_backend;
                    let exposes_nodes = matches!(
                        type_,
                        VisibilityType::NodePort | VisibilityType::LoadBalancer
                    );
                    let ports = (0..port_count)
                        .map(|i| PortSpec {
                            name: (port_count > 1).then(|| format!("p{i}")),
                            container_port: 8000 + i as i32,
                            node_port: (node_ports && exposes_nodes).then_some(30000 + i as i32),
                            ..Default::default()
                        })
                        .collect();
                    let storage = volumes
                        .into_iter()
                        .enumerate()
                        .filter(|_| workload)
                        .map(|(i, (gluster, named))| StorageSpec {
                            name: format!("v{i}"),
                            mount_path: format!("/v{i}"),
                            size: Quantity("1Gi".into()),
                            glusterfs: gluster.then(|| GlusterfsClass {
                                resturl: "http://127.0.0.1:8080".into(),
                                class_name: named.then(|| format!("class-{i}")),
                                ..Default::default()
                            }),
                            ..Default::default()
                        })
                        .collect();
                    let spec = ExposureSpec {
                        image: workload.then(|| "nginx:1.25".into()),
                        ports,
                        visibility: Visibility {
                            type_,
                            external_name: alias.then(|| "db.example.com".into()),
                            ..Default::default()
                        },
                        ingress: (type_ == VisibilityType::Ingress).then(|| IngressSpec {
                            host: Some("shop.example.com".into()),
                            ..Default::default()
                        }),
                        endpoints: if external_backend {
                            vec![EndpointSpec {
                                ip: "192.0.2.10".into(),
                            }]
                        } else {
                            Vec::new()
                        },
                        headless: workload.then_some(headless),
                        storage,
                        ..Default::default()
                    };
                    new_exposure(namespace.as_deref(), with_uid.then_some("uid"), spec)
                },
            )
    }

    proptest! {
        #[test]
        fn every_child_is_labelled_and_pods_are_selected_by_name_only(exposure in any_exposure()) {
            let valid = valid(&exposure);
            let children = build(&valid, &old());
            let Children { storage_classes, pvcs, resource_quota, limit_range: _, deployment, stateful_set: _, daemon_set: _, autoscaler: _, legacy_autoscaler: _, disruption_budget: _, legacy_disruption_budget: _, service, headless_service, endpoints, endpoint_slices, ingress, http_route: _ } =
                &children;
            let mut metas: Vec<&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta> = Vec::new();
            metas.extend(pvcs.iter().map(|child| &child.metadata));
            metas.extend(resource_quota.iter().map(|child| &child.metadata));
            metas.extend(deployment.iter().map(|child| &child.metadata));
            metas.extend(service.iter().map(|child| &child.metadata));
            metas.extend(headless_service.iter().map(|child| &child.metadata));
            metas.extend(endpoints.iter().map(|child| &child.metadata));
            metas.extend(endpoint_slices.iter().map(|child| &child.metadata));
            metas.extend(ingress.iter().map(|child| &child.metadata));
            for meta in metas {
                let labels = meta.labels.clone().unwrap_or_default();
                prop_assert!(child_labels("web").iter().all(|(key, value)| labels.get(key) == Some(value)));
                prop_assert_eq!(meta.namespace.as_deref(), valid.namespace);
            }
            for class in storage_classes {
                prop_assert_eq!(class.metadata.namespace.as_deref(), None);
                prop_assert_eq!(class.metadata.owner_references.as_ref(), None);
            }
            for selecting in service.iter().chain(headless_service) {
                let selector = selecting.spec.as_ref().and_then(|spec| spec.selector.clone());
                prop_assert!(selector.is_none() || selector == Some(selector_labels("web")));
            }
            if let Some(deployment) = deployment {
                let spec = deployment.spec.as_ref().unwrap();
                prop_assert_eq!(spec.selector.match_labels.clone(), Some(selector_labels("web")));
                prop_assert_eq!(spec.template.spec.as_ref().unwrap().containers.len(), 1);
            }
            prop_assert_eq!(children.resource_refs().len(),
                storage_classes.len() + pvcs.len() + [resource_quota.is_some(), deployment.is_some(), service.is_some(),
                headless_service.is_some(), endpoints.is_some(), ingress.is_some()].iter().filter(|some| **some).count());
        }
    }
}
