//! The child kinds the operator manages, as a closed set, and the desired children of one
//! Exposure as a flat list in apply order.

use kube::core::{ApiResource, GroupVersionKind};
use serde::Serialize;
use serde_json::Value;

use crate::build::Children;
use crate::drift;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChildKind {
    StorageClass,
    PersistentVolumeClaim,
    ResourceQuota,
    Deployment,
    Service,
    Endpoints,
    Ingress,
}

impl ChildKind {
    /// Apply order: storage first (pods need their claims), the Ingress last (its backend exists).
    pub const ALL: [ChildKind; 7] = [
        Self::StorageClass,
        Self::PersistentVolumeClaim,
        Self::ResourceQuota,
        Self::Deployment,
        Self::Service,
        Self::Endpoints,
        Self::Ingress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StorageClass => "StorageClass",
            Self::PersistentVolumeClaim => "PersistentVolumeClaim",
            Self::ResourceQuota => "ResourceQuota",
            Self::Deployment => "Deployment",
            Self::Service => "Service",
            Self::Endpoints => "Endpoints",
            Self::Ingress => "Ingress",
        }
    }

    pub fn namespaced(self) -> bool {
        self != Self::StorageClass
    }

    pub fn api_resource(self) -> ApiResource {
        let (group, version, plural) = match self {
            Self::StorageClass => ("storage.k8s.io", "v1", "storageclasses"),
            Self::PersistentVolumeClaim => ("", "v1", "persistentvolumeclaims"),
            Self::ResourceQuota => ("", "v1", "resourcequotas"),
            Self::Deployment => ("apps", "v1", "deployments"),
            Self::Service => ("", "v1", "services"),
            Self::Endpoints => ("", "v1", "endpoints"),
            Self::Ingress => ("networking.k8s.io", "v1", "ingresses"),
        };
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, version, self.as_str()),
            plural,
        )
    }
}

/// One desired child, serialised.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredChild {
    pub kind: ChildKind,
    pub name: String,
    pub object: Value,
}

/// Flattens `Children` in apply order. Destructured without `..`: a new child type must be
/// handled here or the build fails.
pub fn desired_children(children: &Children) -> Vec<DesiredChild> {
    let Children {
        storage_classes,
        pvcs,
        resource_quota,
        deployment,
        service,
        headless_service,
        endpoints,
        ingress,
    } = children;
    let mut out = Vec::new();
    push_all(&mut out, ChildKind::StorageClass, storage_classes);
    push_all(&mut out, ChildKind::PersistentVolumeClaim, pvcs);
    push_all(&mut out, ChildKind::ResourceQuota, resource_quota);
    push_all(&mut out, ChildKind::Deployment, deployment);
    push_all(&mut out, ChildKind::Service, service);
    push_all(&mut out, ChildKind::Service, headless_service);
    push_all(&mut out, ChildKind::Endpoints, endpoints);
    push_all(&mut out, ChildKind::Ingress, ingress);
    out
}

fn push_all<'a, T: Serialize + 'a>(
    out: &mut Vec<DesiredChild>,
    kind: ChildKind,
    items: impl IntoIterator<Item = &'a T>,
) {
    for item in items {
        let Ok(mut object) = serde_json::to_value(item) else {
            continue;
        };
        // The object exactly as applied (and as `render` prints it): with the hash of itself.
        drift::stamp_hash(&mut object);
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        out.push(DesiredChild { kind, name, object });
    }
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
        let children = desired_children(&build(&valid, &cluster));
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
