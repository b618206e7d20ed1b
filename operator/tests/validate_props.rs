//! Property tests: `parse_exposures`, `validate` and `build` never panic, whatever they are fed.

use std::collections::BTreeMap;

use exposure_crd::{
    AccessMode, EndpointSpec, Exposure, ExposureSpec, ExternalTrafficPolicy, GlusterfsClass,
    HttpGetProbe, IngressPath, IngressSpec, IngressTls, PathType, PortSpec, Probe, Probes,
    Protocol, QuotaSpec, SessionAffinity, StorageSpec, TcpSocketProbe, Visibility, VisibilityType,
};
use exposure_operator::build::build;
use exposure_operator::cluster::{ClusterInfo, KubeVersion};
use exposure_operator::parse::parse_exposures;
use exposure_operator::quantity::parse_quantity;
use exposure_operator::validate::validate;
use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_yaml::{Mapping, Value as Yaml};

/// Strings that are often valid names, sometimes almost, sometimes anything.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop_oneof![Just("web"), Just("http"), Just("data"), Just("a.example.com"), Just("/data")].prop_map(String::from),
        3 => "[a-z][a-z0-9-]{0,12}",
        2 => "[a-z0-9.*/:-]{0,70}",
        1 => "\\PC{0,20}",
        1 => Just(String::new()),
        1 => "[0-9a-f:.]{1,40}",
    ]
    .boxed()
}

fn port_number() -> BoxedStrategy<i32> {
    prop_oneof![4 => 1..65536i32, 2 => 29_990..32_800i32, 1 => any::<i32>()].boxed()
}

fn quantity() -> BoxedStrategy<Quantity> {
    prop_oneof![
        3 => "[+-]?[0-9]{0,30}(\\.[0-9]{0,12})?([eE][+-]?[0-9]{1,25}|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?",
        1 => text(),
    ]
    .prop_map(Quantity)
    .boxed()
}

fn int_or_string() -> BoxedStrategy<IntOrString> {
    prop_oneof![
        port_number().prop_map(IntOrString::Int),
        text().prop_map(IntOrString::String)
    ]
    .boxed()
}

fn port() -> BoxedStrategy<PortSpec> {
    (
        option::of(text()),
        port_number(),
        option::of(port_number()),
        prop_oneof![
            Just(Protocol::Tcp),
            Just(Protocol::Udp),
            Just(Protocol::Sctp)
        ],
        option::weighted(0.2, port_number()),
    )
        .prop_map(
            |(name, container_port, port, protocol, node_port)| PortSpec {
                name,
                container_port,
                port,
                protocol,
                node_port,
            },
        )
        .boxed()
}

fn probe() -> BoxedStrategy<Probe> {
    (
        option::of(
            (option::of(text()), int_or_string()).prop_map(|(path, port)| HttpGetProbe {
                path,
                port,
                ..Default::default()
            }),
        ),
        option::weighted(
            0.3,
            int_or_string().prop_map(|port| TcpSocketProbe { port, host: None }),
        ),
        option::weighted(
            0.2,
            vec(text(), 0..2).prop_map(|command| exposure_crd::ExecProbe { command }),
        ),
        option::weighted(
            0.2,
            port_number().prop_map(|port| exposure_crd::GrpcProbe {
                port,
                service: None,
            }),
        ),
        option::of(-2..5i32),
        option::of(-2..5i32),
        option::weighted(0.2, any::<i64>()),
    )
        .prop_map(
            |(http_get, tcp_socket, exec, grpc, success_threshold, period_seconds, grace)| Probe {
                http_get,
                tcp_socket,
                exec,
                grpc,
                success_threshold,
                period_seconds,
                termination_grace_period_seconds: grace,
                ..Default::default()
            },
        )
        .boxed()
}

fn visibility() -> BoxedStrategy<Visibility> {
    (
        prop_oneof![
            Just(VisibilityType::Internal),
            Just(VisibilityType::NodePort),
            Just(VisibilityType::LoadBalancer),
            Just(VisibilityType::Ingress),
            Just(VisibilityType::ExternalName),
        ],
        option::of(text()),
        option::weighted(
            0.3,
            prop_oneof![Just(SessionAffinity::None), Just(SessionAffinity::ClientIp)],
        ),
        option::weighted(0.2, any::<i32>()),
        option::weighted(
            0.2,
            prop_oneof![
                Just(ExternalTrafficPolicy::Cluster),
                Just(ExternalTrafficPolicy::Local)
            ],
        ),
        option::weighted(0.2, text()),
        vec(text(), 0..2),
        btree_map(text(), text(), 0..2),
    )
        .prop_map(
            |(type_, external_name, affinity, timeout, policy, class, ranges, annotations)| {
                Visibility {
                    type_,
                    external_name,
                    session_affinity: affinity,
                    session_affinity_timeout_seconds: timeout,
                    external_traffic_policy: policy,
                    load_balancer_class: class,
                    load_balancer_source_ranges: ranges,
                    annotations,
                }
            },
        )
        .boxed()
}

fn ingress() -> BoxedStrategy<IngressSpec> {
    let path = (
        text(),
        prop_oneof![
            Just(PathType::Prefix),
            Just(PathType::Exact),
            Just(PathType::ImplementationSpecific)
        ],
        option::of(int_or_string()),
    )
        .prop_map(|(path, path_type, port)| IngressPath {
            path,
            path_type,
            port,
        });
    (
        text(),
        option::of(text()),
        vec(path, 0..3),
        option::of(text()),
    )
        .prop_map(|(host, class_name, paths, tls)| IngressSpec {
            host: Some(host),
            class_name,
            paths,
            tls: tls.map(|secret_name| IngressTls {
                secret_name,
                ..Default::default()
            }),
            annotations: BTreeMap::new(),
            ..Default::default()
        })
        .boxed()
}

fn storage() -> BoxedStrategy<StorageSpec> {
    let access_mode = prop_oneof![
        Just(AccessMode::ReadWriteOnce),
        Just(AccessMode::ReadOnlyMany),
        Just(AccessMode::ReadWriteMany),
        Just(AccessMode::ReadWriteOncePod),
    ];
    let glusterfs = (
        text(),
        option::of(text()),
        option::of(any::<i64>()),
        option::of(any::<i64>()),
        option::of(text()),
    )
        .prop_map(
            |(resturl, volumetype, gid_min, gid_max, class_name)| GlusterfsClass {
                resturl,
                volumetype,
                gid_min,
                gid_max,
                class_name,
                ..Default::default()
            },
        );
    (
        text(),
        text(),
        quantity(),
        vec(access_mode, 0..3),
        option::of(text()),
        option::weighted(0.3, glusterfs),
    )
        .prop_map(
            |(name, mount_path, size, access_modes, storage_class_name, glusterfs)| StorageSpec {
                name,
                mount_path,
                size,
                access_modes,
                storage_class_name,
                glusterfs,
                ..Default::default()
            },
        )
        .boxed()
}

fn spec() -> BoxedStrategy<ExposureSpec> {
    let workload = (
        option::weighted(0.8, text()),
        option::of(any::<i32>()),
        vec(text(), 0..2),
        vec(
            (text(), option::of(text())).prop_map(|(name, value)| EnvVar {
                name,
                value,
                value_from: None,
            }),
            0..2,
        ),
        btree_map(text(), text(), 0..2),
        option::of(quantity()),
    )
        .boxed();
    let service = (
        vec(port(), 0..4),
        option::weighted(
            0.5,
            (
                option::of(probe()),
                option::of(probe()),
                option::of(probe()),
            ),
        ),
        visibility(),
        option::weighted(0.3, ingress()),
        option::of(any::<bool>()),
        vec(text().prop_map(|ip| EndpointSpec { ip }), 0..2),
        vec(storage(), 0..3),
        option::weighted(0.2, btree_map(text(), quantity(), 0..3)),
    )
        .boxed();
    (workload, service)
        .prop_map(
            |(
                (image, replicas, image_pull_secrets, env, pod_labels, cpu),
                (ports, probes, visibility, ingress, headless, endpoints, storage, quota),
            )| ExposureSpec {
                image,
                replicas,
                image_pull_secrets,
                env,
                pod_labels,
                resources: cpu.map(|cpu| k8s_openapi::api::core::v1::ResourceRequirements {
                    requests: Some(BTreeMap::from([("cpu".to_string(), cpu)])),
                    ..Default::default()
                }),
                ports,
                probes: probes.map(|(readiness, liveness, startup)| {
                    Box::new(Probes {
                        readiness,
                        liveness,
                        startup,
                    })
                }),
                visibility,
                ingress,
                headless,
                endpoints,
                storage,
                quota: quota.map(|hard| QuotaSpec { hard, limits: None }),
                ..Default::default()
            },
        )
        .boxed()
}

fn exposure() -> BoxedStrategy<Exposure> {
    (option::weighted(0.9, text()), option::of(text()), spec())
        .prop_map(|(name, namespace, spec)| Exposure {
            metadata: ObjectMeta {
                name,
                namespace,
                ..Default::default()
            },
            spec,
            status: None,
        })
        .boxed()
}

/// Exposures built to be (mostly) valid, with random shape: these reach `build`.
fn plausible_exposure() -> BoxedStrategy<Exposure> {
    let visibility_type = prop_oneof![
        Just(VisibilityType::Internal),
        Just(VisibilityType::NodePort),
        Just(VisibilityType::LoadBalancer),
        Just(VisibilityType::Ingress),
        Just(VisibilityType::ExternalName),
    ];
    (
        "[a-z]([a-z0-9-]{0,40}[a-z0-9])?",
        option::of("[a-z][a-z0-9]{0,10}"),
        visibility_type,
        any::<bool>(),
        1..4usize,
        any::<bool>(),
        option::of(0..5i32),
        any::<bool>(),
        0..3usize,
        any::<bool>(),
        option::of(any::<bool>()),
        any::<bool>(),
    )
        .prop_map(
            |(
                name,
                namespace,
                type_,
                external_backend,
                port_count,
                node_ports,
                replicas,
                probes,
                volumes,
                glusterfs,
                headless,
                quota,
            )| {
                let external_name = type_ == VisibilityType::ExternalName;
                let workload = !external_name && !external_backend;
                let ports = (0..port_count)
                    .map(|i| PortSpec {
                        name: Some(format!("p{i}")),
                        container_port: 8000 + i as i32,
                        port: Some(80 + i as i32),
                        protocol: Protocol::Tcp,
                        node_port: (node_ports && type_.has_node_ports())
                            .then_some(30000 + i as i32),
                    })
                    .collect();
                let storage = (0..volumes)
                    .map(|i| StorageSpec {
                        name: format!("v{i}"),
                        mount_path: format!("/mnt/v{i}"),
                        size: Quantity(if i == 0 { "1Gi" } else { "500Mi" }.to_string()),
                        glusterfs: (glusterfs && i == 0).then(|| GlusterfsClass {
                            resturl: "http://heketi.storage:8080".to_string(),
                            volumetype: Some("replicate:3".to_string()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .collect();
                let probe = Probe {
                    http_get: Some(HttpGetProbe {
                        path: Some("/healthz".to_string()),
                        port: IntOrString::String("p0".to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let spec = ExposureSpec {
                    image: workload.then(|| "nginx:1.25".to_string()),
                    replicas: replicas.filter(|_| workload),
                    ports,
                    probes: (workload && probes).then(|| {
                        Box::new(Probes {
                            readiness: Some(probe.clone()),
                            liveness: Some(probe),
                            startup: None,
                        })
                    }),
                    visibility: Visibility {
                        type_,
                        external_name: external_name.then(|| "db.example.com".to_string()),
                        ..Default::default()
                    },
                    ingress: (type_ == VisibilityType::Ingress).then(|| IngressSpec {
                        host: Some("*.example.com".to_string()),
                        paths: vec![IngressPath {
                            path: "/".to_string(),
                            path_type: PathType::Prefix,
                            port: None,
                        }],
                        ..Default::default()
                    }),
                    headless: headless.filter(|_| workload),
                    endpoints: if !external_name && external_backend {
                        vec![
                            EndpointSpec {
                                ip: "10.0.0.7".to_string(),
                            },
                            EndpointSpec {
                                ip: "2001:db8::7".to_string(),
                            },
                        ]
                    } else {
                        Vec::new()
                    },
                    storage: if workload { storage } else { Vec::new() },
                    quota: quota.then(|| QuotaSpec {
                        hard: BTreeMap::from([("pods".to_string(), Quantity("3".to_string()))]),
                        limits: None,
                    }),
                    ..Default::default()
                };
                Exposure {
                    metadata: ObjectMeta {
                        name: Some(name),
                        namespace,
                        ..Default::default()
                    },
                    spec,
                    status: None,
                }
            },
        )
        .boxed()
}

fn cluster() -> BoxedStrategy<ClusterInfo> {
    (15..40u32)
        .prop_map(|minor| ClusterInfo::new(KubeVersion::new(1, minor)))
        .boxed()
}

/// YAML documents built from the schema's own vocabulary, so they reach deep into the checks.
fn yaml_value() -> BoxedStrategy<Yaml> {
    let key = prop_oneof![
        4 => prop_oneof![
            Just("apiVersion"), Just("kind"), Just("metadata"), Just("name"), Just("spec"), Just("image"),
            Just("replicas"), Just("ports"), Just("containerPort"), Just("protocol"), Just("nodePort"),
            Just("probes"), Just("liveness"), Just("httpGet"), Just("port"), Just("visibility"), Just("type"),
            Just("storage"), Just("size"), Just("glusterfs"), Just("quota"), Just("hard"), Just("env"),
            Just("podLabels"), Just("ownerReferences"), Just("status"), Just("<<"),
        ]
        .prop_map(|k| Yaml::String(k.to_string())),
        1 => text().prop_map(Yaml::String),
        1 => any::<i64>().prop_map(|n| Yaml::Number(n.into())),
    ];
    let leaf = prop_oneof![
        Just(Yaml::Null),
        any::<bool>().prop_map(Yaml::Bool),
        any::<i64>().prop_map(|n| Yaml::Number(n.into())),
        any::<u64>().prop_map(|n| Yaml::Number(n.into())),
        any::<f64>().prop_map(|n| Yaml::Number(n.into())),
        text().prop_map(Yaml::String),
        prop_oneof![
            Just("exposure.dev/v1alpha1"),
            Just("Exposure"),
            Just("TCP"),
            Just("HTTP"),
            Just("1Gi")
        ]
        .prop_map(|s| Yaml::String(s.to_string())),
    ];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Yaml::Sequence),
            vec((key.clone(), inner), 0..6)
                .prop_map(|entries| Yaml::Mapping(entries.into_iter().collect::<Mapping>())),
        ]
    })
    .boxed()
}

/// Whole documents: a valid header most of the time, then anything.
fn yaml_document() -> BoxedStrategy<String> {
    (any::<bool>(), yaml_value())
        .prop_map(|(header, value)| {
            let body = serde_yaml::to_string(&value).unwrap_or_default();
            if header && value.is_mapping() {
                format!("apiVersion: exposure.dev/v1alpha1\nkind: Exposure\n{body}")
            } else {
                body
            }
        })
        .boxed()
}

/// Validates, and builds what validates: neither may panic.
fn validate_and_build(exposure: &Exposure, cluster: &ClusterInfo) {
    match validate(exposure, cluster) {
        Ok(valid) => {
            let _children = build(&valid, cluster);
        }
        Err(errors) => assert!(
            errors
                .iter()
                .all(|e| !e.field.is_empty() && !e.message.is_empty()),
            "{errors:?}"
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_any_text(text in "\\PC{0,200}") {
        let _ = parse_exposures(&text);
    }

    #[test]
    fn parse_never_panics_on_yaml_shaped_text(documents in vec(yaml_document(), 1..4), cluster in cluster()) {
        for document in parse_exposures(&documents.join("---\n")) {
            match document.result {
                Ok(exposure) => validate_and_build(&exposure, &cluster),
                Err(errors) => prop_assert!(!errors.is_empty()),
            }
        }
    }

    #[test]
    fn validate_and_build_never_panic(exposure in exposure(), cluster in cluster()) {
        validate_and_build(&exposure, &cluster);
    }

    #[test]
    fn plausible_exposures_validate_and_build(exposure in plausible_exposure(), cluster in cluster()) {
        validate_and_build(&exposure, &cluster);
        // Everything but the version-dependent GlusterFS volume and a 55+ character name is valid.
        let expect_valid = exposure.metadata.name.as_ref().is_some_and(|n| n.len() <= 54)
            && exposure.spec.storage.iter().all(|v| v.glusterfs.is_none());
        if expect_valid {
            let result = validate(&exposure, &cluster);
            prop_assert!(result.is_ok(), "{:?}", result.err());
        }
    }

    #[test]
    fn a_valid_spec_survives_a_round_trip_through_yaml(exposure in prop_oneof![exposure(), plausible_exposure()], cluster in cluster()) {
        // What validates must also parse back from its own YAML, to the same object.
        if validate(&exposure, &cluster).is_ok() {
            // The serialized Exposure carries its own apiVersion and kind.
            let text = serde_yaml::to_string(&exposure).unwrap_or_default();
            let documents = parse_exposures(&text);
            prop_assert_eq!(documents.len(), 1);
            let parsed = documents[0].result.as_ref();
            prop_assert!(parsed.is_ok(), "{:?}", parsed.err());
            prop_assert_eq!(parsed.ok().map(|e| &e.spec), Some(&exposure.spec));
        }
    }

    #[test]
    fn quantity_parsing_never_panics_and_orders_like_its_value(text in "[+-]?[0-9]{0,40}(\\.[0-9]{0,40})?([eE][+-]?[0-9]{1,30}|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?|\\PC{0,20}") {
        if let Some(value) = parse_quantity(&text) {
            let again = parse_quantity(&format!("{value}"));
            prop_assert_eq!(again, Some(value));
        }
    }
}
