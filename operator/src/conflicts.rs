//! Cross-object checks over all watched Exposures: two Exposures claiming the same Ingress
//! host + path, or the same nodePort. The one created later is blocked; the earlier one is
//! unaffected. Pure.

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
        for (host, path) in ingress_routes(other)
            .iter()
            .filter(|r| my_routes.contains(r))
        {
            blockers.push(Blocker::new(
                BlockReason::HostConflict,
                format!("spec.ingress: host {host} path {path} is already claimed by {who}; choose another host or path"),
            ));
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

/// What an Exposure claims that no other may: its Ingress routes and its nodePorts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Claim {
    Route { host: String, path: String },
    NodePort(i32),
}

/// Every claim of `e` (an index keys Exposures by these to find rivals without a scan).
pub fn claims(e: &Exposure) -> Vec<Claim> {
    let mut out: Vec<Claim> = ingress_routes(e)
        .into_iter()
        .map(|(host, path)| Claim::Route { host, path })
        .collect();
    out.extend(node_ports(e).into_iter().map(Claim::NodePort));
    out
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

fn ingress_routes(e: &Exposure) -> Vec<(String, String)> {
    let Some(ingress) = e
        .spec
        .ingress
        .as_ref()
        .filter(|_| e.spec.visibility.type_ == VisibilityType::Ingress)
    else {
        return Vec::new();
    };
    let host = ingress.host.to_ascii_lowercase();
    if ingress.paths.is_empty() {
        return vec![(host, "/".to_string())];
    }
    ingress
        .paths
        .iter()
        .map(|p| (host.clone(), p.path.clone()))
        .collect()
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
                host: host.into(),
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

    #[test]
    fn deleted_exposures_release_their_claims() {
        let mut first = exposure("a", 0, node_port(30088));
        first.metadata.deletion_timestamp = first.metadata.creation_timestamp.clone();
        let second = exposure("b", 10, node_port(30088));
        assert!(cross_object_blockers(&second, &[first]).is_empty());
    }
}
