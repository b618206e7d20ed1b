//! The Deployment `<name>`: one container named after the Exposure.

use std::collections::BTreeMap;

use exposure_crd::{HttpGetProbe, PortSpec, Probe, StorageSpec, VisibilityType};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ExecAction, GRPCAction, HTTPGetAction, HTTPHeader,
    LocalObjectReference, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec,
    Probe as CoreProbe, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::meta::{
    child_labels, non_empty_map, non_empty_vec, owned_meta, pvc_name, selector_labels,
};
use crate::cluster::{ClusterInfo, Feature};
use crate::validate::Valid;

/// The Deployment, or none when there is no workload: an ExternalName alias, an external
/// backend (`spec.endpoints`), or no image to run.
pub(crate) fn build_deployment(valid: &Valid<'_>, cluster: &ClusterInfo) -> Option<Deployment> {
    let spec = &valid.exposure.spec;
    if spec.visibility.type_ == VisibilityType::ExternalName || !spec.endpoints.is_empty() {
        return None;
    }
    let image = spec.image.clone()?;
    let container = Container {
        name: valid.name.to_owned(),
        image: Some(image),
        image_pull_policy: spec
            .image_pull_policy
            .map(|policy| policy.as_str().to_owned()),
        command: non_empty_vec(&spec.command),
        args: non_empty_vec(&spec.args),
        env: non_empty_vec(&spec.env),
        env_from: non_empty_vec(&spec.env_from),
        resources: spec.resources.clone(),
        ports: non_empty_vec(&spec.ports.iter().map(container_port).collect::<Vec<_>>()),
        readiness_probe: spec
            .probes
            .as_ref()
            .and_then(|p| p.readiness.as_ref())
            .and_then(|p| probe(p, cluster)),
        liveness_probe: spec
            .probes
            .as_ref()
            .and_then(|p| p.liveness.as_ref())
            .and_then(|p| probe(p, cluster)),
        startup_probe: spec
            .probes
            .as_ref()
            .and_then(|p| p.startup.as_ref())
            .and_then(|p| probe(p, cluster)),
        volume_mounts: non_empty_vec(&spec.storage.iter().map(volume_mount).collect::<Vec<_>>()),
        ..Container::default()
    };
    let pod_spec = PodSpec {
        containers: vec![container],
        volumes: non_empty_vec(
            &spec
                .storage
                .iter()
                .map(|volume| pod_volume(valid.name, volume))
                .collect::<Vec<_>>(),
        ),
        service_account_name: spec.service_account_name.clone(),
        image_pull_secrets: non_empty_vec(
            &spec
                .image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect::<Vec<_>>(),
        ),
        ..PodSpec::default()
    };
    Some(Deployment {
        metadata: owned_meta(valid, valid.name.to_owned()),
        spec: Some(DeploymentSpec {
            replicas: spec.replicas,
            selector: LabelSelector {
                match_labels: Some(selector_labels(valid.name)),
                ..LabelSelector::default()
            },
            strategy: spec.strategy.map(|strategy| DeploymentStrategy {
                type_: Some(strategy.as_str().to_owned()),
                ..DeploymentStrategy::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels(valid)),
                    annotations: non_empty_map(&spec.pod_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    })
}

/// App labels, then the user's pod labels, then the selector label, which must win so the
/// Deployment and Services keep selecting these pods.
fn pod_labels(valid: &Valid<'_>) -> BTreeMap<String, String> {
    let mut labels = child_labels(valid.name);
    labels.extend(valid.exposure.spec.pod_labels.clone());
    labels.extend(selector_labels(valid.name));
    labels
}

fn container_port(port: &PortSpec) -> ContainerPort {
    ContainerPort {
        name: port.name.clone(),
        container_port: port.container_port,
        protocol: Some(port.protocol.as_str().to_owned()),
        ..ContainerPort::default()
    }
}

/// A core/v1 Probe with exactly one handler (the first of httpGet, tcpSocket, exec, grpc the
/// spec sets and the cluster supports); none when no handler is left, since Kubernetes
/// rejects a probe without one.
fn probe(probe: &Probe, cluster: &ClusterInfo) -> Option<CoreProbe> {
    let handler = if let Some(http_get) = &probe.http_get {
        CoreProbe {
            http_get: Some(http_get_action(http_get)),
            ..CoreProbe::default()
        }
    } else if let Some(tcp_socket) = &probe.tcp_socket {
        CoreProbe {
            tcp_socket: Some(TCPSocketAction {
                port: tcp_socket.port.clone(),
                host: tcp_socket.host.clone(),
            }),
            ..CoreProbe::default()
        }
    } else if let Some(exec) = &probe.exec {
        CoreProbe {
            exec: Some(ExecAction {
                command: Some(exec.command.clone()),
            }),
            ..CoreProbe::default()
        }
    } else {
        let grpc = probe
            .grpc
            .as_ref()
            .filter(|_| cluster.supports(Feature::GrpcProbe))?;
        CoreProbe {
            grpc: Some(GRPCAction {
                port: grpc.port,
                service: grpc.service.clone(),
            }),
            ..CoreProbe::default()
        }
    };
    Some(CoreProbe {
        initial_delay_seconds: probe.initial_delay_seconds,
        period_seconds: probe.period_seconds,
        timeout_seconds: probe.timeout_seconds,
        success_threshold: probe.success_threshold,
        failure_threshold: probe.failure_threshold,
        termination_grace_period_seconds: probe
            .termination_grace_period_seconds
            .filter(|_| cluster.supports(Feature::ProbeTerminationGracePeriod)),
        ..handler
    })
}

fn http_get_action(http_get: &HttpGetProbe) -> HTTPGetAction {
    HTTPGetAction {
        path: http_get.path.clone(),
        port: http_get.port.clone(),
        host: http_get.host.clone(),
        scheme: http_get.scheme.map(|scheme| scheme.as_str().to_owned()),
        http_headers: non_empty_vec(
            &http_get
                .http_headers
                .iter()
                .map(|header| HTTPHeader {
                    name: header.name.clone(),
                    value: header.value.clone(),
                })
                .collect::<Vec<_>>(),
        ),
    }
}

/// `readOnly` only when true: false is the default and need not be owned.
fn read_only(volume: &StorageSpec) -> Option<bool> {
    volume.read_only.filter(|read_only| *read_only)
}

fn volume_mount(volume: &StorageSpec) -> VolumeMount {
    VolumeMount {
        name: volume.name.clone(),
        mount_path: volume.mount_path.clone(),
        read_only: read_only(volume),
        ..VolumeMount::default()
    }
}

fn pod_volume(exposure: &str, volume: &StorageSpec) -> Volume {
    Volume {
        name: volume.name.clone(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: pvc_name(exposure, &volume.name),
            read_only: read_only(volume),
        }),
        ..Volume::default()
    }
}

#[cfg(test)]
mod tests {
    use exposure_crd::{
        EndpointSpec, ExecProbe, ExposureSpec, GrpcProbe, HttpHeader, HttpScheme, ImagePullPolicy,
        Probes, Protocol, TcpSocketProbe, Visibility,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use super::*;
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
        let deployment = build_deployment(&valid(&exposure), &old()).unwrap();
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
            build_deployment(&valid(&new_exposure(None, None, alias)), &old()),
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
            build_deployment(&valid(&new_exposure(None, None, external)), &old()),
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
        let deployment = build_deployment(&valid(&exposure), &old()).unwrap();
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
            probes: Some(Probes {
                readiness: Some(http),
                liveness: Some(tcp),
                startup: Some(exec),
            }),
            ports: vec![PortSpec {
                name: Some("liveness-port".into()),
                container_port: 8080,
                ..Default::default()
            }],
            ..tomcat()
        };
        let exposure = new_exposure(None, None, spec);
        let deployment = build_deployment(&valid(&exposure), &old()).unwrap();
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
            probes: Some(Probes {
                liveness: Some(grpc),
                startup: Some(tcp_with_grace),
                ..Default::default()
            }),
            ..tomcat()
        };
        let exposure = new_exposure(None, None, spec);

        // Valid on 1.30, built for 1.20: validation reports UnsupportedByCluster there, and the
        // builder still never emits a field the cluster does not know.
        let on_old = build_deployment(&valid_on(&exposure, &new()), &old()).unwrap();
        assert_eq!(
            container(&on_old).liveness_probe,
            None,
            "a grpc-only probe has no handler on 1.20"
        );
        let startup = container(&on_old).startup_probe.as_ref().unwrap();
        assert_eq!(startup.termination_grace_period_seconds, None);
        assert!(startup.tcp_socket.is_some());

        let on_new = build_deployment(&valid_on(&exposure, &new()), &new()).unwrap();
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
        let deployment = build_deployment(&valid(&exposure), &old()).unwrap();
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
