//! The Deployment `<name>` (the default workload).

use std::collections::BTreeMap;

use exposure_crd::{labels, VisibilityType, WorkloadKind};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::config::ConfigDigests;
use super::meta::{owned_meta, selector_labels};
use super::pod::{template, Claims};
use crate::cluster::ClusterInfo;
use crate::validate::Valid;

/// The workload kind of a spec: none for an ExternalName alias or an external backend
/// (`spec.endpoints`), which run no pods.
pub fn workload_kind(spec: &exposure_crd::ExposureSpec) -> Option<WorkloadKind> {
    if spec.visibility.type_ == VisibilityType::ExternalName || !spec.endpoints.is_empty() {
        return None;
    }
    Some(spec.workload.unwrap_or_default())
}

/// The replicas the operator owns: none when an autoscaler owns them (or none are given).
pub(crate) fn owned_replicas(valid: &Valid<'_>) -> Option<i32> {
    let spec = &valid.exposure.spec;
    spec.replicas.filter(|_| spec.autoscaling.is_none())
}

/// The workload's metadata; with an autoscaler it says that replicas are the autoscaler's
/// (the operator hands them over once, see `decide::workload`).
pub(crate) fn workload_meta(valid: &Valid<'_>) -> ObjectMeta {
    let mut meta = owned_meta(valid, valid.name.to_owned());
    if valid.exposure.spec.autoscaling.is_some() {
        meta.annotations = Some(BTreeMap::from([(
            labels::REPLICAS_FROM_AUTOSCALER.to_owned(),
            "true".to_owned(),
        )]));
    }
    meta
}

/// The Deployment, when the workload is one (and there is an image to run).
pub(crate) fn build_deployment(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
    config: &ConfigDigests,
) -> Option<Deployment> {
    let spec = &valid.exposure.spec;
    if workload_kind(spec) != Some(WorkloadKind::Deployment) {
        return None;
    }
    Some(Deployment {
        metadata: workload_meta(valid),
        spec: Some(DeploymentSpec {
            replicas: owned_replicas(valid),
            selector: LabelSelector {
                match_labels: Some(selector_labels(valid.name)),
                ..LabelSelector::default()
            },
            strategy: spec.strategy.map(|strategy| DeploymentStrategy {
                type_: Some(strategy.as_str().to_owned()),
                ..DeploymentStrategy::default()
            }),
            template: template(valid, cluster, config, Claims::Shared)?,
            ..DeploymentSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use exposure_crd::{
        EndpointSpec, ExecProbe, ExposureSpec, GrpcProbe, HttpHeader, HttpScheme, ImagePullPolicy,
        PortSpec, Probes, Protocol, StorageSpec, TcpSocketProbe, Visibility,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use exposure_crd::{HttpGetProbe, Probe};
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, GRPCAction, LocalObjectReference,
        PersistentVolumeClaimVolumeSource, PodSpec, VolumeMount,
    };

    use super::*;
    use crate::build::meta::child_labels;
    use crate::build::meta::tests::{new_exposure, valid};
    use crate::cluster::KubeVersion;
    use crate::fixtures::valid_on;

    fn old() -> ClusterInfo {
        ClusterInfo::new(KubeVersion::new(1, 20))
    }

    fn new() -> ClusterInfo {
        ClusterInfo::new(KubeVersion::new(1, 30))
    }

    fn tomcat() -> ExposureSpec {
        ExposureSpec {
            image: Some("tomcat:9.0.20-jre8-alpine".into()),
            ports: vec![PortSpec {
                container_port: 8080,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn container(deployment: &Deployment) -> &Container {
        &deployment
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
    }

    fn pod_spec(deployment: &Deployment) -> &PodSpec {
        deployment
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
    }

    #[test]
    fn minimal_deployment() {
        let exposure = new_exposure(Some("shop"), Some("uid-1"), tomcat());
        let deployment =
            build_deployment(&valid(&exposure), &old(), &ConfigDigests::default()).unwrap();
        assert_eq!(deployment.metadata.name.as_deref(), Some("web"));
        assert_eq!(deployment.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(deployment.metadata.labels, Some(child_labels("web")));
        assert_eq!(
            deployment.metadata.owner_references.as_ref().map(Vec::len),
            Some(1)
        );
        let spec = deployment.spec.as_ref().unwrap();
        assert_eq!(spec.replicas, None, "replicas are not owned when not set");
        assert_eq!(spec.strategy, None);
        assert_eq!(spec.selector.match_labels, Some(selector_labels("web")));
        let container = container(&deployment);
        assert_eq!(container.name, "web");
        assert_eq!(
            container.image.as_deref(),
            Some("tomcat:9.0.20-jre8-alpine")
        );
        assert_eq!(container.image_pull_policy, None);
        assert_eq!(container.command, None);
        assert_eq!(container.volume_mounts, None);
        assert_eq!(
            container.ports,
            Some(vec![ContainerPort {
                container_port: 8080,
                protocol: Some("TCP".into()),
                ..Default::default()
            }])
        );
        assert_eq!(pod_spec(&deployment).volumes, None);
        assert_eq!(pod_spec(&deployment).image_pull_secrets, None);
    }

    #[test]
    fn no_deployment_without_a_workload() {
        let alias = ExposureSpec {
            image: None,
            visibility: Visibility {
                type_: VisibilityType::ExternalName,
                external_name: Some("db.example.com".into()),
                ..Default::default()
            },
            ..tomcat()
        };
        assert_eq!(
            build_deployment(
                &valid(&new_exposure(None, None, alias)),
                &old(),
                &ConfigDigests::default()
            ),
            None
        );
        let external = ExposureSpec {
            image: None,
            endpoints: vec![EndpointSpec {
                ip: "192.0.2.10".into(),
            }],
            ..tomcat()
        };
        assert_eq!(
            build_deployment(
                &valid(&new_exposure(None, None, external)),
                &old(),
                &ConfigDigests::default()
            ),
            None
        );
    }

    #[test]
    fn container_and_pod_settings_are_copied() {
        let spec = ExposureSpec {
            replicas: Some(3),
            image_pull_policy: Some(ImagePullPolicy::IfNotPresent),
            image_pull_secrets: vec!["registry".into()],
            command: vec!["sleep".into()],
            args: vec!["3600".into()],
            service_account_name: Some("robot".into()),
            strategy: Some(exposure_crd::DeploymentStrategy::Recreate),
            pod_labels: BTreeMap::from([
                ("tier".to_owned(), "web".to_owned()),
                ("app.kubernetes.io/name".to_owned(), "tomcat".to_owned()),
            ]),
            pod_annotations: BTreeMap::from([(
                "prometheus.io/scrape".to_owned(),
                "true".to_owned(),
            )]),
            ports: vec![
                PortSpec {
                    name: Some("http".into()),
                    container_port: 8080,
                    ..Default::default()
                },
                PortSpec {
                    name: Some("dns".into()),
                    container_port: 53,
                    protocol: Protocol::Udp,
                    ..Default::default()
                },
            ],
            ..tomcat()
        };
        let exposure = new_exposure(None, None, spec);
        let deployment =
            build_deployment(&valid(&exposure), &old(), &ConfigDigests::default()).unwrap();
        let deployment_spec = deployment.spec.as_ref().unwrap();
        assert_eq!(deployment_spec.replicas, Some(3));
        assert_eq!(
            deployment_spec
                .strategy
                .as_ref()
                .and_then(|s| s.type_.as_deref()),
            Some("Recreate")
        );
        let template = deployment_spec.template.metadata.as_ref().unwrap();
        let labels = template.labels.as_ref().unwrap();
        assert_eq!(labels["exposure.dev/name"], "web", "the selector label");
        assert_eq!(labels["tier"], "web");
        assert_eq!(
            labels["app.kubernetes.io/name"], "tomcat",
            "other labels can"
        );
        assert_eq!(labels["app.kubernetes.io/managed-by"], "exposure-operator");
        assert_eq!(
            template.annotations.as_ref().unwrap()["prometheus.io/scrape"],
            "true"
        );
        let container = container(&deployment);
        assert_eq!(container.image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(container.command, Some(vec!["sleep".to_owned()]));
        assert_eq!(container.args, Some(vec!["3600".to_owned()]));
        let ports = container.ports.as_ref().unwrap();
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        assert_eq!(ports[1].protocol.as_deref(), Some("UDP"));
        let pod = pod_spec(&deployment);
        assert_eq!(pod.service_account_name.as_deref(), Some("robot"));
        assert_eq!(
            pod.image_pull_secrets,
            Some(vec![LocalObjectReference {
                name: "registry".into()
            }])
        );
        assert_eq!(
            deployment.metadata.owner_references, None,
            "no uid, no owner"
        );
    }

    #[test]
    fn probes_map_to_core_probes() {
        let http = Probe {
            http_get: Some(HttpGetProbe {
                path: Some("/healthcheck".into()),
                port: IntOrString::Int(80),
                host: Some("localhost".into()),
                scheme: Some(HttpScheme::Https),
                http_headers: vec![HttpHeader {
                    name: "My-Custom-Header".into(),
                    value: "v".into(),
                }],
            }),
            initial_delay_seconds: Some(5),
            period_seconds: Some(6),
            timeout_seconds: Some(7),
            success_threshold: Some(1),
            failure_threshold: Some(30),
            ..Default::default()
        };
        let tcp = Probe {
            tcp_socket: Some(TcpSocketProbe {
                port: IntOrString::String("liveness-port".into()),
                host: None,
            }),
            ..Default::default()
        };
        let exec = Probe {
            exec: Some(ExecProbe {
                command: vec!["cat".into(), "/tmp/healthy".into()],
            }),
            ..Default::default()
        };
        let spec = ExposureSpec {
            probes: Some(Box::new(Probes {
                readiness: Some(http),
                liveness: Some(tcp),
                startup: Some(exec),
            })),
            ports: vec![PortSpec {
                name: Some("liveness-port".into()),
                container_port: 8080,
                ..Default::default()
            }],
            ..tomcat()
        };
        let exposure = new_exposure(None, None, spec);
        let deployment =
            build_deployment(&valid(&exposure), &old(), &ConfigDigests::default()).unwrap();
        let container = container(&deployment);

        let readiness = container.readiness_probe.as_ref().unwrap();
        let http_get = readiness.http_get.as_ref().unwrap();
        assert_eq!(http_get.path.as_deref(), Some("/healthcheck"));
        assert_eq!(http_get.port, IntOrString::Int(80));
        assert_eq!(http_get.host.as_deref(), Some("localhost"));
        assert_eq!(http_get.scheme.as_deref(), Some("HTTPS"));
        assert_eq!(
            http_get.http_headers.as_ref().unwrap()[0].name,
            "My-Custom-Header"
        );
        assert_eq!(
            (
                readiness.initial_delay_seconds,
                readiness.period_seconds,
                readiness.timeout_seconds,
                readiness.success_threshold,
                readiness.failure_threshold
            ),
            (Some(5), Some(6), Some(7), Some(1), Some(30))
        );

        let liveness = container.liveness_probe.as_ref().unwrap();
        assert_eq!(
            liveness.tcp_socket.as_ref().unwrap().port,
            IntOrString::String("liveness-port".into())
        );
        assert_eq!(
            (liveness.http_get.as_ref(), liveness.exec.as_ref()),
            (None, None)
        );

        let startup = container.startup_probe.as_ref().unwrap();
        assert_eq!(
            startup.exec.as_ref().unwrap().command,
            Some(vec!["cat".to_owned(), "/tmp/healthy".to_owned()])
        );
    }

    #[test]
    fn newer_probe_fields_follow_the_cluster() {
        let grpc = Probe {
            grpc: Some(GrpcProbe {
                port: 9090,
                service: Some("health".into()),
            }),
            termination_grace_period_seconds: Some(10),
            ..Default::default()
        };
        let tcp_with_grace = Probe {
            tcp_socket: Some(TcpSocketProbe {
                port: IntOrString::Int(8080),
                host: None,
            }),
            termination_grace_period_seconds: Some(10),
            ..Default::default()
        };
        let spec = ExposureSpec {
            probes: Some(Box::new(Probes {
                liveness: Some(grpc),
                startup: Some(tcp_with_grace),
                ..Default::default()
            })),
            ..tomcat()
        };
        let exposure = new_exposure(None, None, spec);

        // Valid on 1.30, built for 1.20: validation reports UnsupportedByCluster there, and the
        // builder still never emits a field the cluster does not know.
        let on_old = build_deployment(
            &valid_on(&exposure, &new()),
            &old(),
            &ConfigDigests::default(),
        )
        .unwrap();
        assert_eq!(
            container(&on_old).liveness_probe,
            None,
            "a grpc-only probe has no handler on 1.20"
        );
        let startup = container(&on_old).startup_probe.as_ref().unwrap();
        assert_eq!(startup.termination_grace_period_seconds, None);
        assert!(startup.tcp_socket.is_some());

        let on_new = build_deployment(
            &valid_on(&exposure, &new()),
            &new(),
            &ConfigDigests::default(),
        )
        .unwrap();
        let liveness = container(&on_new).liveness_probe.as_ref().unwrap();
        assert_eq!(
            liveness.grpc,
            Some(GRPCAction {
                port: 9090,
                service: Some("health".into())
            })
        );
        assert_eq!(liveness.termination_grace_period_seconds, Some(10));
    }

    #[test]
    fn storage_is_mounted_from_its_claim() {
        let spec = ExposureSpec {
            storage: vec![
                StorageSpec {
                    name: "data".into(),
                    mount_path: "/pv-data".into(),
                    size: Quantity("1Gi".into()),
                    ..Default::default()
                },
                StorageSpec {
                    name: "config".into(),
                    mount_path: "/etc/app".into(),
                    size: Quantity("1Mi".into()),
                    read_only: Some(true),
                    ..Default::default()
                },
            ],
            ..tomcat()
        };
        let exposure = new_exposure(None, None, spec);
        let deployment =
            build_deployment(&valid(&exposure), &old(), &ConfigDigests::default()).unwrap();
        let mounts = container(&deployment).volume_mounts.as_ref().unwrap();
        assert_eq!(
            mounts[0],
            VolumeMount {
                name: "data".into(),
                mount_path: "/pv-data".into(),
                ..Default::default()
            }
        );
        assert_eq!(mounts[1].read_only, Some(true));
        let volumes = pod_spec(&deployment).volumes.as_ref().unwrap();
        assert_eq!(volumes[0].name, "data");
        assert_eq!(
            volumes[0].persistent_volume_claim,
            Some(PersistentVolumeClaimVolumeSource {
                claim_name: "web-data".into(),
                read_only: None
            })
        );
        assert_eq!(
            volumes[1]
                .persistent_volume_claim
                .as_ref()
                .unwrap()
                .read_only,
            Some(true)
        );
    }
}
