//! The desired children of one Exposure as a flat list in apply order, serialised as applied.

use serde_json::Value;

pub use crate::build::ChildKind;
use crate::build::Children;
use crate::drift;

/// A built child that does not serialise: a bug, reported as an error (never dropped, which
/// would make prune delete the live object).
#[derive(Debug, thiserror::Error)]
#[error("cannot serialise {kind} {name}: {source}")]
pub struct SerialiseError {
    pub kind: &'static str,
    pub name: String,
    #[source]
    pub source: serde_json::Error,
}

/// One desired child, serialised.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredChild {
    pub kind: ChildKind,
    pub name: String,
    pub object: Value,
}

/// The desired children in apply order, serialised exactly as applied (and as `render` prints
/// them): each with the hash of itself.
pub fn desired_children(children: &Children) -> Result<Vec<DesiredChild>, SerialiseError> {
    children
        .in_apply_order()
        .iter()
        .map(|child| {
            let mut object = child.to_value().map_err(|source| SerialiseError {
                kind: child.kind().as_str(),
                name: child.name().to_string(),
                source,
            })?;
            drift::stamp_hash(&mut object);
            Ok(DesiredChild {
                kind: child.kind(),
                name: child.name().to_string(),
                object,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::build;
    use crate::cluster::ClusterInfo;
    use crate::validate::validate;

    #[test]
    fn children_come_in_apply_order_with_names() {
        let yaml = r#"
apiVersion: exposure.dev/v1alpha1
kind: Exposure
metadata: {name: web, namespace: shop, uid: 0000-1}
spec:
  image: nginx:1.25
  ports: [{name: http, containerPort: 80}]
  visibility: {type: Ingress}
  ingress: {host: web.example.com}
  headless: true
  quota: {hard: {pods: "3"}}
  storage: [{name: data, mountPath: /data, size: 1Gi, storageClassName: fast}]
"#;
        let exposure: exposure_crd::Exposure = serde_yaml::from_str(yaml).expect("parses");
        let cluster = ClusterInfo::default();
        let valid = validate(&exposure, &cluster).expect("valid");
        let children = desired_children(&build(&valid, &cluster)).expect("serialises");
        let got: Vec<(ChildKind, &str)> =
            children.iter().map(|c| (c.kind, c.name.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (ChildKind::PersistentVolumeClaim, "web-data"),
                (ChildKind::ResourceQuota, "web"),
                (ChildKind::Deployment, "web"),
                (ChildKind::Service, "web"),
                (ChildKind::Service, "web-headless"),
                (ChildKind::Ingress, "web"),
            ]
        );
        assert!(children
            .iter()
            .all(|c| c.object.get("apiVersion").is_some() && c.object.get("kind").is_some()));
    }

    #[test]
    fn api_resources_name_the_right_endpoints() {
        let ar = ChildKind::Ingress.api_resource();
        assert_eq!(
            (ar.group.as_str(), ar.version.as_str(), ar.plural.as_str()),
            ("networking.k8s.io", "v1", "ingresses")
        );
        assert!(!ChildKind::StorageClass.namespaced());
        assert_eq!(ChildKind::Endpoints.api_resource().plural, "endpoints");
    }
}
