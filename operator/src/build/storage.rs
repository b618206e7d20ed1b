//! Storage: one PersistentVolumeClaim `<name>-<volume>` per `spec.storage[]` entry, and the
//! GlusterFS/heketi StorageClasses the operator creates for `glusterfs` volumes.

use std::collections::BTreeMap;

use exposure_crd::{labels, AccessMode, GlusterfsClass, StorageSpec, VolumeReclaim, WorkloadKind};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::meta::{
    child_labels, effective_namespace, owned_meta, pvc_name, storage_class_name, unowned_meta,
};
use crate::cluster::{ClusterInfo, Feature};
use crate::validate::Valid;

/// The in-tree provisioner the textbook's `gluster-heketi` class uses.
pub const GLUSTERFS_PROVISIONER: &str = "kubernetes.io/glusterfs";

/// The shared PVCs of a Deployment or DaemonSet; none for a StatefulSet, whose volumes are
/// its `volumeClaimTemplates` (see [`claim_templates`]).
pub(crate) fn build_pvcs(valid: &Valid<'_>) -> Vec<PersistentVolumeClaim> {
    if super::deployment::workload_kind(&valid.exposure.spec) == Some(WorkloadKind::StatefulSet) {
        return Vec::new();
    }
    valid
        .exposure
        .spec
        .storage
        .iter()
        .map(|volume| build_pvc(valid, volume))
        .collect()
}

fn build_pvc(valid: &Valid<'_>, volume: &StorageSpec) -> PersistentVolumeClaim {
    let name = pvc_name(valid.name, &volume.name);
    // A retained claim must survive the Exposure, so it gets no owner to be collected with.
    let mut metadata = match volume.reclaim {
        VolumeReclaim::Delete => owned_meta(valid, name),
        VolumeReclaim::Retain => unowned_meta(valid, name),
    };
    metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(labels::VOLUME.to_owned(), volume.name.clone());
    PersistentVolumeClaim {
        metadata,
        spec: Some(claim_spec(valid, volume)),
        status: None,
    }
}

/// A StatefulSet's `volumeClaimTemplates`: one per volume, named after it (the controller makes
/// `<volume>-<name>-<ordinal>` for each pod), labelled like our other claims plus
/// `exposure.dev/per-pod`. The StatefulSet controller owns (and with `reclaim: Delete`
/// deletes) them; the operator only reports them.
pub(crate) fn claim_templates(valid: &Valid<'_>) -> Vec<PersistentVolumeClaim> {
    valid
        .exposure
        .spec
        .storage
        .iter()
        .map(|volume| {
            let mut claim_labels = child_labels(valid.name);
            claim_labels.insert(labels::VOLUME.to_owned(), volume.name.clone());
            claim_labels.insert(labels::PER_POD.to_owned(), "true".to_owned());
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(volume.name.clone()),
                    labels: Some(claim_labels),
                    ..ObjectMeta::default()
                },
                spec: Some(claim_spec(valid, volume)),
                status: None,
            }
        })
        .collect()
}

fn claim_spec(valid: &Valid<'_>, volume: &StorageSpec) -> PersistentVolumeClaimSpec {
    let access_modes = if volume.access_modes.is_empty() {
        &[AccessMode::ReadWriteOnce][..]
    } else {
        &volume.access_modes[..]
    };
    let storage_class = match (&volume.storage_class_name, &volume.glusterfs) {
        (Some(existing), _) => Some(existing.clone()),
        (None, Some(_)) => Some(storage_class_name(valid.namespace, valid.name, volume)),
        // Left out: the cluster's default StorageClass provisions the claim.
        (None, None) => None,
    };
    PersistentVolumeClaimSpec {
        access_modes: Some(
            access_modes
                .iter()
                .map(|mode| mode.as_str().to_owned())
                .collect(),
        ),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".to_owned(),
                volume.size.clone(),
            )])),
            ..VolumeResourceRequirements::default()
        }),
        storage_class_name: storage_class,
        ..PersistentVolumeClaimSpec::default()
    }
}

/// One StorageClass per distinct class name of the `glusterfs` volumes (the first volume
/// naming a class defines it); none on clusters without the in-tree provisioner, which
/// validate reports.
pub(crate) fn build_storage_classes(valid: &Valid<'_>, cluster: &ClusterInfo) -> Vec<StorageClass> {
    if !cluster.supports(Feature::InTreeGlusterfs) {
        return Vec::new();
    }
    let mut classes: Vec<StorageClass> = Vec::new();
    for volume in &valid.exposure.spec.storage {
        let Some(gluster) = &volume.glusterfs else {
            continue;
        };
        let name = storage_class_name(valid.namespace, valid.name, volume);
        if classes
            .iter()
            .any(|class| class.metadata.name.as_deref() == Some(name.as_str()))
        {
            continue;
        }
        classes.push(build_storage_class(valid, name, gluster));
    }
    classes
}

fn build_storage_class(valid: &Valid<'_>, name: String, gluster: &GlusterfsClass) -> StorageClass {
    let namespace = effective_namespace(valid.namespace);
    let mut class_labels = child_labels(valid.name);
    // Cluster-scoped: no ownerReference can point at a namespaced Exposure, so the labels say
    // whose class it is.
    class_labels.insert(labels::NAMESPACE.to_owned(), namespace.to_owned());
    StorageClass {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(class_labels),
            ..ObjectMeta::default()
        },
        provisioner: GLUSTERFS_PROVISIONER.to_owned(),
        parameters: Some(gluster_parameters(gluster, namespace)),
        reclaim_policy: gluster
            .reclaim_policy
            .map(|policy| policy.as_str().to_owned()),
        allow_volume_expansion: gluster.allow_volume_expansion,
        ..StorageClass::default()
    }
}

/// The provisioner's parameters (all strings), only those given; the secret is looked up in
/// the Exposure's namespace unless another is named.
fn gluster_parameters(gluster: &GlusterfsClass, namespace: &str) -> BTreeMap<String, String> {
    let secret_namespace = gluster
        .secret_namespace
        .clone()
        .or_else(|| gluster.secret_name.as_ref().map(|_| namespace.to_owned()));
    [
        ("resturl", Some(gluster.resturl.clone())),
        (
            "restauthenabled",
            gluster.restauthenabled.map(|enabled| enabled.to_string()),
        ),
        ("restuser", gluster.restuser.clone()),
        ("secretName", gluster.secret_name.clone()),
        ("secretNamespace", secret_namespace),
        ("clusterid", gluster.clusterid.clone()),
        ("volumetype", gluster.volumetype.clone()),
        ("gidMin", gluster.gid_min.map(|gid| gid.to_string())),
        ("gidMax", gluster.gid_max.map(|gid| gid.to_string())),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key.to_owned(), value?)))
    .collect()
}

#[cfg(test)]
mod tests {
    use exposure_crd::{ExposureSpec, PvReclaimPolicy};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;
    use crate::build::meta::tests::{app_spec, new_exposure, valid};
    use crate::cluster::KubeVersion;

    fn old() -> ClusterInfo {
        ClusterInfo::new(KubeVersion::new(1, 20))
    }

    fn volume(name: &str) -> StorageSpec {
        StorageSpec {
            name: name.into(),
            mount_path: format!("/{name}"),
            size: Quantity("1Gi".into()),
            ..Default::default()
        }
    }

    fn heketi() -> GlusterfsClass {
        GlusterfsClass {
            resturl: "http://heketi.storage.svc.cluster.local:8080".into(),
            ..Default::default()
        }
    }

    fn with_storage(storage: Vec<StorageSpec>) -> ExposureSpec {
        ExposureSpec {
            image: Some("busybox".into()),
            storage,
            ..app_spec()
        }
    }

    #[test]
    fn retained_claim_has_no_owner_and_the_default_class() {
        let exposure = new_exposure(
            Some("shop"),
            Some("uid"),
            with_storage(vec![volume("data")]),
        );
        let pvcs = build_pvcs(&valid(&exposure));
        assert_eq!(pvcs.len(), 1);
        let pvc = &pvcs[0];
        assert_eq!(pvc.metadata.name.as_deref(), Some("web-data"));
        assert_eq!(pvc.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(pvc.metadata.owner_references, None);
        let pvc_labels = pvc.metadata.labels.as_ref().unwrap();
        assert_eq!(pvc_labels["exposure.dev/volume"], "data");
        assert_eq!(pvc_labels["exposure.dev/name"], "web");
        assert_eq!(
            pvc_labels["app.kubernetes.io/managed-by"],
            "exposure-operator"
        );
        let spec = pvc.spec.as_ref().unwrap();
        assert_eq!(spec.access_modes, Some(vec!["ReadWriteOnce".to_owned()]));
        assert_eq!(
            spec.resources.as_ref().unwrap().requests.as_ref().unwrap()["storage"],
            Quantity("1Gi".into())
        );
        assert_eq!(spec.storage_class_name, None);
    }

    #[test]
    fn deleted_claim_is_owned_and_classes_are_named() {
        let existing = StorageSpec {
            storage_class_name: Some("fast".into()),
            reclaim: VolumeReclaim::Delete,
            access_modes: vec![AccessMode::ReadWriteMany, AccessMode::ReadOnlyMany],
            ..volume("cache")
        };
        let gluster = StorageSpec {
            glusterfs: Some(heketi()),
            ..volume("data")
        };
        let exposure = new_exposure(
            Some("shop"),
            Some("uid"),
            with_storage(vec![existing, gluster]),
        );
        let pvcs = build_pvcs(&valid(&exposure));
        assert_eq!(
            pvcs[0].metadata.owner_references.as_ref().map(Vec::len),
            Some(1)
        );
        let cache = pvcs[0].spec.as_ref().unwrap();
        assert_eq!(cache.storage_class_name.as_deref(), Some("fast"));
        assert_eq!(
            cache.access_modes,
            Some(vec!["ReadWriteMany".to_owned(), "ReadOnlyMany".to_owned()])
        );
        assert_eq!(
            pvcs[1].spec.as_ref().unwrap().storage_class_name.as_deref(),
            Some("shop.web.data")
        );
        assert_eq!(pvcs[1].metadata.owner_references, None);
    }

    #[test]
    fn gluster_class_with_given_parameters_only() {
        let exposure = new_exposure(
            None,
            Some("uid"),
            with_storage(vec![StorageSpec {
                glusterfs: Some(GlusterfsClass {
                    class_name: Some("gluster-heketi".into()),
                    restauthenabled: Some(false),
                    ..heketi()
                }),
                ..volume("gluster-volume")
            }]),
        );
        let classes = build_storage_classes(&valid(&exposure), &old());
        assert_eq!(classes.len(), 1);
        let class = &classes[0];
        assert_eq!(class.metadata.name.as_deref(), Some("gluster-heketi"));
        assert_eq!(class.metadata.namespace, None);
        assert_eq!(
            class.metadata.owner_references, None,
            "cluster-scoped: no owner"
        );
        let class_labels = class.metadata.labels.as_ref().unwrap();
        assert_eq!(class_labels["exposure.dev/namespace"], "default");
        assert_eq!(class_labels["exposure.dev/name"], "web");
        assert_eq!(class.provisioner, "kubernetes.io/glusterfs");
        assert_eq!(
            class.parameters,
            Some(BTreeMap::from([
                (
                    "resturl".to_owned(),
                    "http://heketi.storage.svc.cluster.local:8080".to_owned()
                ),
                ("restauthenabled".to_owned(), "false".to_owned()),
            ]))
        );
        assert_eq!(
            (class.reclaim_policy.as_ref(), class.allow_volume_expansion),
            (None, None)
        );
        let pvcs = build_pvcs(&valid(&exposure));
        assert_eq!(
            pvcs[0].spec.as_ref().unwrap().storage_class_name.as_deref(),
            Some("gluster-heketi")
        );
    }

    #[test]
    fn gluster_class_with_every_parameter() {
        let gluster = GlusterfsClass {
            restauthenabled: Some(true),
            restuser: Some("admin".into()),
            secret_name: Some("heketi-secret".into()),
            clusterid: Some("630372ccdc720a92c681fb928f27b53f".into()),
            volumetype: Some("replicate:3".into()),
            gid_min: Some(40000),
            gid_max: Some(50000),
            reclaim_policy: Some(PvReclaimPolicy::Retain),
            allow_volume_expansion: Some(true),
            ..heketi()
        };
        let exposure = new_exposure(
            Some("shop"),
            None,
            with_storage(vec![StorageSpec {
                glusterfs: Some(gluster),
                ..volume("data")
            }]),
        );
        let class = build_storage_classes(&valid(&exposure), &old()).remove(0);
        assert_eq!(class.metadata.name.as_deref(), Some("shop.web.data"));
        assert_eq!(
            class.metadata.labels.as_ref().unwrap()["exposure.dev/namespace"],
            "shop"
        );
        let parameters = class.parameters.unwrap();
        assert_eq!(parameters["restauthenabled"], "true");
        assert_eq!(parameters["restuser"], "admin");
        assert_eq!(parameters["secretName"], "heketi-secret");
        assert_eq!(
            parameters["secretNamespace"], "shop",
            "defaults to the Exposure's namespace"
        );
        assert_eq!(parameters["clusterid"], "630372ccdc720a92c681fb928f27b53f");
        assert_eq!(parameters["volumetype"], "replicate:3");
        assert_eq!(parameters["gidMin"], "40000");
        assert_eq!(parameters["gidMax"], "50000");
        assert_eq!(class.reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(class.allow_volume_expansion, Some(true));
    }

    #[test]
    fn explicit_secret_namespace_wins() {
        let gluster = GlusterfsClass {
            secret_name: Some("heketi-secret".into()),
            secret_namespace: Some("storage".into()),
            ..heketi()
        };
        let exposure = new_exposure(
            Some("shop"),
            None,
            with_storage(vec![StorageSpec {
                glusterfs: Some(gluster),
                ..volume("data")
            }]),
        );
        let class = build_storage_classes(&valid(&exposure), &old()).remove(0);
        assert_eq!(class.parameters.unwrap()["secretNamespace"], "storage");
    }

    #[test]
    fn named_class_is_built_on_clusters_with_the_in_tree_provisioner_only() {
        let named = |volume_name: &str| StorageSpec {
            glusterfs: Some(GlusterfsClass {
                class_name: Some("gluster-heketi".into()),
                ..heketi()
            }),
            ..volume(volume_name)
        };
        let exposure = new_exposure(None, None, with_storage(vec![named("a"), volume("plain")]));
        assert_eq!(build_storage_classes(&valid(&exposure), &old()).len(), 1);
        let without_gluster = ClusterInfo::new(KubeVersion::new(1, 26));
        assert!(build_storage_classes(&valid(&exposure), &without_gluster).is_empty());
        assert_eq!(build_pvcs(&valid(&exposure)).len(), 2);
    }
}
