//! Cross-object checks over all watched Exposures: two Exposures claiming the same Ingress
//! host + path (a wildcard host `*.example.com` covers every host of one more label, such as
//! `a.example.com`), the default backend of the same ingress class, or the same nodePort. The
//! one created later is blocked; the earlier one is unaffected. Pure.

use std::cmp::Ordering;

use exposure_crd::{Exposure, VisibilityType};

use crate::blocker::{BlockReason, Blocker};

/// Blockers for `me` caused by older Exposures among `others` (which may include `me`).
pub fn cross_object_blockers<'a>(
    me: &Exposure,
    others: impl IntoIterator<Item = &'a Exposure>,
) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    let my_routes = ingress_routes(me);
    let my_default_backend = default_backend_class(me);
    let my_node_ports = node_ports(me);
    for other in others {
        if same_object(me, other)
            || other.metadata.deletion_timestamp.is_some()
            || created_order(other, me) != Ordering::Less
        {
            continue;
        }
        let who = format!(
            "Exposure {}/{}",
            other.metadata.namespace.as_deref().unwrap_or_default(),
            other.metadata.name.as_deref().unwrap_or_default()
        );
        let their_routes = ingress_routes(other);
        for (host, path) in &my_routes {
            for (their_host, their_path) in &their_routes {
                if path != their_path || !hosts_overlap(host, their_host) {
                    continue;
                }
                let message = if host == their_host {
                    format!("spec.ingress: host {host} path {path} is already claimed by {who}; choose another host or path")
                } else {
                    let (wildcard, exact) = if host.starts_with("*.") {
                        (host, their_host)
                    } else {
                        (their_host, host)
                    };
                    format!("spec.ingress: host {host} path {path} overlaps host {their_host} path {path} of {who} ({wildcard} matches {exact}); choose another host or path")
                };
                blockers.push(Blocker::new(BlockReason::HostConflict, message));
            }
        }
        if let (Some(mine), Some(theirs)) = (&my_default_backend, default_backend_class(other)) {
            if *mine == theirs {
                blockers.push(Blocker::new(
                    BlockReason::DefaultBackendConflict,
                    format!("spec.ingress.defaultBackend: the default backend of {} is already claimed by {who}; one Exposure per ingress class may set defaultBackend", class_words(mine)),
                ));
            }
        }
        for port in node_ports(other)
            .iter()
            .filter(|p| my_node_ports.contains(p))
        {
            blockers.push(Blocker::new(
                BlockReason::NodePortConflict,
                format!("spec.ports: nodePort {port} is already used by {who}; choose another nodePort or omit it to get one allocated"),
            ));
        }
    }
    blockers
}

/// What an Exposure claims that no other may, as index keys: an Ingress route is keyed by the
/// domain a wildcard would name (`*.example.com` and `a.example.com` both by `example.com`),
/// so that every pair that may clash shares a key; [`cross_object_blockers`] decides.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Claim {
    Route {
        domain: String,
        path: String,
    },
    /// The ingress class (`""`: no `className`, the cluster's default class).
    DefaultBackend {
        class: String,
    },
    NodePort(i32),
}

/// Every claim of `e` (an index keys Exposures by these to find rivals without a scan).
pub fn claims(e: &Exposure) -> Vec<Claim> {
    let mut out: Vec<Claim> = ingress_routes(e)
        .into_iter()
        .map(|(host, path)| Claim::Route {
            domain: wildcard_domain(&host).to_owned(),
            path,
        })
        .collect();
    out.extend(
        default_backend_class(e)
            .into_iter()
            .map(|class| Claim::DefaultBackend { class }),
    );
    out.extend(node_ports(e).into_iter().map(Claim::NodePort));
    out.sort();
    out.dedup();
    out
}

/// The domain a wildcard covering `host` names: `*.example.com` → `example.com`,
/// `a.example.com` → `example.com`, `localhost` → ``.
fn wildcard_domain(host: &str) -> &str {
    host.split_once('.').map_or("", |(_, rest)| rest)
}

/// Whether one request host can match both: the same host, or a wildcard and a host of exactly
/// one more label (`*.example.com` matches `a.example.com`, not `example.com` nor
/// `a.b.example.com`, as the Ingress API defines wildcards).
pub fn hosts_overlap(a: &str, b: &str) -> bool {
    let covers = |wildcard: &str, exact: &str| {
        !exact.starts_with("*.")
            && wildcard.strip_prefix('*').is_some_and(|suffix| {
                exact
                    .strip_suffix(suffix)
                    .is_some_and(|label| !label.is_empty() && !label.contains('.'))
            })
    };
    a == b || covers(a, b) || covers(b, a)
}

fn class_words(class: &str) -> String {
    if class.is_empty() {
        "the default ingress class (no className)".to_owned()
    } else {
        format!("ingress class {class}")
    }
}

fn same_object(a: &Exposure, b: &Exposure) -> bool {
    a.metadata.namespace == b.metadata.namespace && a.metadata.name == b.metadata.name
}

/// Older first; ties broken by namespace/name so the order is total and stable.
fn created_order(a: &Exposure, b: &Exposure) -> Ordering {
    let key = |e: &Exposure| {
        (
            e.metadata.creation_timestamp.as_ref().map(|t| t.0),
            e.metadata.namespace.clone().unwrap_or_default(),
            e.metadata.name.clone().unwrap_or_default(),
        )
    };
    key(a).cmp(&key(b))
}

fn ingress_spec(e: &Exposure) -> Option<&exposure_crd::IngressSpec> {
    e.spec
        .ingress
        .as_ref()
        .filter(|_| e.spec.visibility.type_ == VisibilityType::Ingress)
}

/// (host, path) of every host of the Ingress, hosts lowercased.
fn ingress_routes(e: &Exposure) -> Vec<(String, String)> {
    let Some(ingress) = ingress_spec(e) else {
        return Vec::new();
    };
    let mut routes = Vec::new();
    for entry in ingress.all_hosts() {
        let host = entry.host.to_ascii_lowercase();
        if entry.paths.is_empty() {
            routes.push((host, "/".to_string()));
        } else {
            routes.extend(entry.paths.iter().map(|p| (host.clone(), p.path.clone())));
        }
    }
    routes
}

/// The ingress class whose default backend `e` claims.
fn default_backend_class(e: &Exposure) -> Option<String> {
    let ingress = ingress_spec(e).filter(|i| i.is_default_backend())?;
    Some(ingress.class_name.clone().unwrap_or_default())
}

fn node_ports(e: &Exposure) -> Vec<i32> {
    if !e.spec.visibility.type_.has_node_ports() {
        return Vec::new();
    }
    e.spec.ports.iter().filter_map(|p| p.node_port).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use exposure_crd::{ExposureSpec, IngressPath, IngressSpec, PortSpec, Visibility};

    use crate::fixtures::ExposureFixture;

    fn exposure(name: &str, created_secs: i64, spec: ExposureSpec) -> Exposure {
        ExposureFixture::named(name)
            .created(created_secs)
            .typed_spec(spec)
            .build()
    }

    fn ingress(host: &str, path: &str) -> ExposureSpec {
        ExposureSpec {
            visibility: Visibility {
                type_: VisibilityType::Ingress,
                ..Default::default()
            },
            ingress: Some(IngressSpec {
                host: Some(host.into()),
                paths: vec![IngressPath {
                    path: path.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn node_port(port: i32) -> ExposureSpec {
        ExposureSpec {
            visibility: Visibility {
                type_: VisibilityType::NodePort,
                ..Default::default()
            },
            ports: vec![PortSpec {
                container_port: 8080,
                node_port: Some(port),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_later_exposure_on_the_same_host_and_path_is_blocked() {
        let first = exposure("a", 0, ingress("foo.bar.com", "/foo"));
        let second = exposure("b", 10, ingress("foo.bar.com", "/foo"));
        let all = [first.clone(), second.clone()];
        assert!(cross_object_blockers(&first, &all).is_empty());
        let blockers = cross_object_blockers(&second, &all);
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0].reason, BlockReason::HostConflict);
        assert_eq!(
            blockers[0].message,
            "spec.ingress: host foo.bar.com path /foo is already claimed by Exposure shop/a; choose another host or path"
        );
    }

    #[test]
    fn fan_out_on_different_paths_is_fine() {
        let foo = exposure("a", 0, ingress("foo.bar.com", "/foo"));
        let bar = exposure("b", 10, ingress("foo.bar.com", "/bar"));
        assert!(cross_object_blockers(&bar, &[foo, bar.clone()]).is_empty());
    }

    #[test]
    fn the_later_exposure_with_the_same_node_port_is_blocked() {
        let first = exposure("a", 0, node_port(30088));
        let second = exposure("b", 10, node_port(30088));
        assert!(cross_object_blockers(&first, &[first.clone(), second.clone()]).is_empty());
        let blockers = cross_object_blockers(&second, &[first, second.clone()]);
        assert_eq!(blockers[0].reason, BlockReason::NodePortConflict);
        assert!(blockers[0]
            .message
            .starts_with("spec.ports: nodePort 30088 is already used by Exposure shop/a"));
        assert!(cross_object_blockers(&second, &[exposure("c", 0, node_port(30089))]).is_empty());
    }

    fn yaml_spec(text: &str) -> ExposureSpec {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn every_host_of_hosts_is_claimed() {
        let first = exposure(
            "a",
            0,
            yaml_spec("{visibility: {type: Ingress}, ingress: {hosts: [{host: one.example.com}, {host: two.example.com, paths: [{path: /api}]}]}}"),
        );
        let second = exposure(
            "b",
            10,
            yaml_spec("{visibility: {type: Ingress}, ingress: {hosts: [{host: three.example.com}, {host: two.example.com, paths: [{path: /api}]}]}}"),
        );
        let blockers = cross_object_blockers(&second, std::slice::from_ref(&first));
        assert_eq!(blockers.len(), 1);
        assert_eq!(
            blockers[0].message,
            "spec.ingress: host two.example.com path /api is already claimed by Exposure shop/a; choose another host or path"
        );
        // The index finds the rival through the shared claim.
        assert!(claims(&second).iter().any(|c| claims(&first).contains(c)));
    }

    #[test]
    fn a_wildcard_clashes_with_the_hosts_of_one_more_label_only() {
        assert!(hosts_overlap("*.example.com", "a.example.com"));
        assert!(hosts_overlap("a.example.com", "*.example.com"));
        assert!(!hosts_overlap("*.example.com", "example.com"));
        assert!(!hosts_overlap("*.example.com", "a.b.example.com"));
        assert!(!hosts_overlap("*.example.com", "*.a.example.com"));
        assert!(!hosts_overlap("a.example.com", "b.example.com"));
        let wildcard = exposure("a", 0, ingress("*.example.com", "/"));
        let exact = exposure("b", 10, ingress("shop.example.com", "/"));
        assert!(claims(&exact).iter().any(|c| claims(&wildcard).contains(c)));
        let blockers = cross_object_blockers(&exact, std::slice::from_ref(&wildcard));
        assert_eq!(blockers[0].reason, BlockReason::HostConflict);
        assert_eq!(
            blockers[0].message,
            "spec.ingress: host shop.example.com path / overlaps host *.example.com path / of Exposure shop/a (*.example.com matches shop.example.com); choose another host or path"
        );
        let deeper = exposure("c", 10, ingress("a.shop.example.com", "/"));
        assert!(cross_object_blockers(&deeper, &[wildcard]).is_empty());
    }

    #[test]
    fn one_default_backend_per_ingress_class() {
        let spec = |class: &str| {
            yaml_spec(&format!(
                "{{visibility: {{type: Ingress}}, ingress: {{defaultBackend: true{class}}}}}"
            ))
        };
        let first = exposure("a", 0, spec(""));
        let second = exposure("b", 10, spec(""));
        let other_class = exposure("c", 10, spec(", className: nginx"));
        assert!(cross_object_blockers(&first, std::slice::from_ref(&second)).is_empty());
        let blockers = cross_object_blockers(&second, &[first.clone(), other_class.clone()]);
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0].reason, BlockReason::DefaultBackendConflict);
        assert_eq!(
            blockers[0].message,
            "spec.ingress.defaultBackend: the default backend of the default ingress class (no className) is already claimed by Exposure shop/a; one Exposure per ingress class may set defaultBackend"
        );
        assert!(cross_object_blockers(&other_class, &[first, second]).is_empty());
        assert_eq!(
            claims(&other_class),
            [Claim::DefaultBackend {
                class: "nginx".into()
            }]
        );
    }

    #[test]
    fn deleted_exposures_release_their_claims() {
        let mut first = exposure("a", 0, node_port(30088));
        first.metadata.deletion_timestamp = first.metadata.creation_timestamp.clone();
        let second = exposure("b", 10, node_port(30088));
        assert!(cross_object_blockers(&second, &[first]).is_empty());
    }
}
