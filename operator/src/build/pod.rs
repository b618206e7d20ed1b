//! The pod template every workload kind runs: one container named after the Exposure, its
//! volumes (claims, configuration files, scratch space), scheduling and security settings, and
//! the configuration hash that rolls the pods when referenced data changes.

use std::collections::BTreeMap;

use exposure_crd::{ConfigVolume, HttpGetProbe, PortSpec, Probe, StorageSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, ExecAction, GRPCAction,
    HTTPGetAction, HTTPHeader, LocalObjectReference, PersistentVolumeClaimVolumeSource, PodSpec,
    PodTemplateSpec, Probe as CoreProbe, SecretVolumeSource, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::config::{ConfigDigests, CONFIG_HASH};
use super::meta::{child_labels, non_empty_map, non_empty_vec, pvc_name, selector_labels};
use crate::cluster::{ClusterInfo, Feature};
use crate::validate::Valid;

/// Where the pods' `storage` volumes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claims {
    /// One PVC `<name>-<volume>` shared by every pod (Deployment, DaemonSet).
    Shared,
    /// The StatefulSet's `volumeClaimTemplates`: the pod volume is the template's name.
    PerPod,
}

/// The pod template of the workload.
pub(crate) fn template(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
    config: &ConfigDigests,
    claims: Claims,
) -> Option<PodTemplateSpec> {
    let spec = &valid.exposure.spec;
    let image = spec.image.clone()?;
    let probes = spec.probes.as_ref();
    let mut mounts: Vec<VolumeMount> = spec.storage.iter().map(storage_mount).collect();
    mounts.extend(spec.config.iter().map(config_mount));
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
        readiness_probe: probes
            .and_then(|p| p.readiness.as_ref())
            .and_then(|p| probe(p, cluster)),
        liveness_probe: probes
            .and_then(|p| p.liveness.as_ref())
            .and_then(|p| probe(p, cluster)),
        startup_probe: probes
            .and_then(|p| p.startup.as_ref())
            .and_then(|p| probe(p, cluster)),
        volume_mounts: non_empty_vec(&mounts),
        security_context: spec.security_context.as_deref().cloned(),
        ..Container::default()
    };
    let mut volumes: Vec<Volume> = match claims {
        Claims::Shared => spec
            .storage
            .iter()
            .map(|volume| claim_volume(valid.name, volume))
            .collect(),
        Claims::PerPod => Vec::new(),
    };
    volumes.extend(spec.config.iter().map(config_volume));
    let scheduling = spec.scheduling.clone().unwrap_or_default();
    let pod_spec = PodSpec {
        containers: vec![container],
        volumes: non_empty_vec(&volumes),
        service_account_name: spec.service_account_name.clone(),
        image_pull_secrets: non_empty_vec(
            &spec
                .image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect::<Vec<_>>(),
        ),
        node_selector: non_empty_map(&scheduling.node_selector),
        tolerations: non_empty_vec(&scheduling.tolerations),
        affinity: scheduling.affinity,
        topology_spread_constraints: non_empty_vec(&scheduling.topology_spread_constraints),
        priority_class_name: scheduling.priority_class_name,
        security_context: spec.pod_security_context.as_deref().cloned(),
        ..PodSpec::default()
    };
    let mut annotations = spec.pod_annotations.clone();
    if let Some(hash) = config.hash() {
        annotations.insert(CONFIG_HASH.to_owned(), hash);
    }
    Some(PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels(valid)),
            annotations: non_empty_map(&annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec),
    })
}

/// App labels, then the user's pod labels, then the selector label, which must win so the
/// workload and the Services keep selecting these pods.
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
fn only_true(flag: Option<bool>) -> Option<bool> {
    flag.filter(|set| *set)
}

fn storage_mount(volume: &StorageSpec) -> VolumeMount {
    VolumeMount {
        name: volume.name.clone(),
        mount_path: volume.mount_path.clone(),
        read_only: only_true(volume.read_only),
        ..VolumeMount::default()
    }
}

fn claim_volume(exposure: &str, volume: &StorageSpec) -> Volume {
    Volume {
        name: volume.name.clone(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: pvc_name(exposure, &volume.name),
            read_only: only_true(volume.read_only),
        }),
        ..Volume::default()
    }
}

fn config_mount(config: &ConfigVolume) -> VolumeMount {
    VolumeMount {
        name: config.name.clone(),
        mount_path: config.mount_path.clone(),
        read_only: only_true(config.read_only),
        ..VolumeMount::default()
    }
}

fn config_volume(config: &ConfigVolume) -> Volume {
    let items = non_empty_vec(&config.items);
    Volume {
        name: config.name.clone(),
        config_map: config
            .config_map
            .as_ref()
            .map(|name| ConfigMapVolumeSource {
                name: name.clone(),
                items: items.clone(),
                ..ConfigMapVolumeSource::default()
            }),
        secret: config.secret.as_ref().map(|name| SecretVolumeSource {
            secret_name: Some(name.clone()),
            items: items.clone(),
            ..SecretVolumeSource::default()
        }),
        empty_dir: config.empty_dir.as_ref().map(|dir| EmptyDirVolumeSource {
            size_limit: dir.size_limit.clone(),
            medium: dir.medium.map(|m| m.as_str().to_owned()),
        }),
        ..Volume::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{json, Value};

    use super::*;
    use crate::build::ConfigSource;
    use crate::fixtures::{valid_on, ExposureFixture};

    fn template_of(spec: Value, config: &ConfigDigests) -> Value {
        let exposure = ExposureFixture::named("web").spec(spec).build();
        let cluster = ClusterInfo::default();
        let template = template(
            &valid_on(&exposure, &cluster),
            &cluster,
            config,
            Claims::Shared,
        )
        .expect("a template");
        serde_json::to_value(template).expect("serialises")
    }

    #[test]
    fn scheduling_and_security_are_passed_through() {
        let template = template_of(
            json!({
                "image": "nginx", "ports": [{"containerPort": 8080}],
                "scheduling": {
                    "nodeSelector": {"disktype": "ssd"},
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
                    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                         "labelSelector": {"matchLabels": {"exposure.dev/name": "web"}}}}]}},
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "ScheduleAnyway"}],
                    "priorityClassName": "high",
                },
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": true},
                "podSecurityContext": {"runAsNonRoot": true, "runAsUser": 10001,
                                       "seccompProfile": {"type": "RuntimeDefault"}},
            }),
            &ConfigDigests::default(),
        );
        let pod = &template["spec"];
        assert_eq!(pod["nodeSelector"], json!({"disktype": "ssd"}));
        assert_eq!(pod["tolerations"][0]["value"], "web");
        assert_eq!(
            pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
                [0]["weight"],
            100
        );
        assert_eq!(pod["topologySpreadConstraints"][0]["maxSkew"], 1);
        assert_eq!(pod["priorityClassName"], "high");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(
            pod["containers"][0]["securityContext"]["capabilities"]["drop"],
            json!(["ALL"])
        );
        // No config: no hash annotation, nothing else added.
        assert_eq!(template["metadata"].get("annotations"), None);
    }

    #[test]
    fn config_volumes_are_mounted_and_their_data_hashed() {
        let spec = json!({
            "image": "nginx", "ports": [{"containerPort": 80}],
            "storage": [{"name": "data", "mountPath": "/data", "size": "1Gi"}],
            "config": [
                {"name": "conf", "mountPath": "/etc/nginx/conf.d", "configMap": "nginx-conf",
                 "items": [{"key": "default.conf", "path": "default.conf"}]},
                {"name": "tls", "mountPath": "/etc/tls", "secret": "web-tls", "readOnly": true},
                {"name": "tmp", "mountPath": "/tmp", "emptyDir": {"sizeLimit": "64Mi", "medium": "Memory"}},
            ],
        });
        let digests = |value: &str| {
            ConfigDigests(BTreeMap::from([(
                ConfigSource::ConfigMap("nginx-conf".into()),
                Some(value.to_owned()),
            )]))
        };
        let template = template_of(spec.clone(), &digests("d1"));
        let pod = &template["spec"];
        let volumes = pod["volumes"].as_array().expect("volumes");
        assert_eq!(
            volumes
                .iter()
                .map(|v| v["name"].as_str().unwrap_or_default())
                .collect::<Vec<_>>(),
            ["data", "conf", "tls", "tmp"]
        );
        assert_eq!(volumes[1]["configMap"]["name"], "nginx-conf");
        assert_eq!(volumes[1]["configMap"]["items"][0]["path"], "default.conf");
        assert_eq!(volumes[2]["secret"]["secretName"], "web-tls");
        assert_eq!(
            volumes[3]["emptyDir"],
            json!({"sizeLimit": "64Mi", "medium": "Memory"})
        );
        let mounts = pod["containers"][0]["volumeMounts"]
            .as_array()
            .expect("mounts");
        assert_eq!(mounts.len(), 4);
        assert_eq!(mounts[2]["readOnly"], true);
        let hash = template["metadata"]["annotations"][CONFIG_HASH].clone();
        assert!(hash.is_string(), "{template}");
        // Other data, another hash; the same data, the same hash.
        let changed = template_of(spec.clone(), &digests("d2"));
        assert_ne!(changed["metadata"]["annotations"][CONFIG_HASH], hash);
        let same = template_of(spec, &digests("d1"));
        assert_eq!(same["metadata"]["annotations"][CONFIG_HASH], hash);
    }
}
