//! The simulated volume provisioner (`exposure.dev/simulated`).

use super::*;

/// StorageClass provisioner name whose claims node-sim satisfies with hostPath PVs.
const SIM_PROVISIONER: &str = "exposure.dev/simulated";
const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// Set by kube-scheduler on a `WaitForFirstConsumer` claim: the node its volume is for.
const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

impl Sim {
    pub(super) async fn handle_pvc(&self, pvc: &PersistentVolumeClaim) -> Result<()> {
        if pvc.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let Some(spec) = pvc.spec.as_ref() else {
            return Ok(());
        };
        if spec.volume_name.as_deref().is_some_and(|v| !v.is_empty())
            || pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
        {
            return Ok(());
        }
        let class_name = spec
            .storage_class_name
            .clone()
            .or_else(|| {
                pvc.annotations()
                    .get("volume.beta.kubernetes.io/storage-class")
                    .cloned()
            })
            .unwrap_or_default();
        if class_name.is_empty() {
            return Ok(());
        }
        let Some(class) = self.classes.get(&ObjectRef::new(&class_name)) else {
            return Ok(());
        };
        if class.provisioner != SIM_PROVISIONER {
            return Ok(());
        }
        let wffc = class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer");
        let selected = pvc.annotations().get(ANN_SELECTED_NODE).cloned();
        if wffc && selected.is_none() {
            return Ok(());
        }
        let uid = pvc.uid().unwrap_or_default();
        let pv_name = format!("pvc-{uid}");
        let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
        if pvs.get_opt(&pv_name).await?.is_some() {
            return Ok(());
        }
        let ns = pvc.namespace().unwrap_or_default();
        let storage = spec
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_else(|| "1Gi".into());
        let access_modes = spec
            .access_modes
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| vec!["ReadWriteOnce".into()]);
        let mut pv = json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {
                "name": pv_name,
                "annotations": { ANN_PROVISIONED_BY: SIM_PROVISIONER },
                "labels": { "exposure.dev/simulated-volume": "true" },
            },
            "spec": {
                "capacity": { "storage": storage },
                "accessModes": access_modes,
                "hostPath": { "path": format!("/tmp/exposure-sim/{pv_name}"), "type": "DirectoryOrCreate" },
                "storageClassName": class_name,
                "persistentVolumeReclaimPolicy": class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
                "volumeMode": spec.volume_mode.clone().unwrap_or_else(|| "Filesystem".into()),
                "claimRef": {
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "namespace": ns, "name": pvc.name_any(), "uid": uid,
                },
            },
        });
        if let Some(opts) = class.mount_options.clone() {
            pv["spec"]["mountOptions"] = json!(opts);
        }
        if let Some(node) = selected {
            pv["spec"]["nodeAffinity"] = json!({ "required": { "nodeSelectorTerms": [{
                "matchExpressions": [{ "key": "kubernetes.io/hostname", "operator": "In", "values": [node] }],
            }]}});
        }
        let pv: PersistentVolume = serde_json::from_value(pv)?;
        match pvs.create(&PostParams::default(), &pv).await {
            Ok(_) => {
                info!(pvc = %format!("{ns}/{}", pvc.name_any()), pv = %pv_name, "provisioned simulated volume")
            }
            Err(e) if is_conflict(&e) => {}
            Err(e) => return Err(e).context(format!("creating PV {pv_name}")),
        }
        Ok(())
    }

    pub(super) async fn handle_pv(&self, pv: &PersistentVolume) -> Result<()> {
        if pv.metadata.deletion_timestamp.is_some()
            || pv.annotations().get(ANN_PROVISIONED_BY).map(String::as_str) != Some(SIM_PROVISIONER)
        {
            return Ok(());
        }
        let released = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
        let delete = pv
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
            == Some("Delete");
        if released && delete {
            let api: Api<PersistentVolume> = Api::all(self.client.clone());
            match api.delete(&pv.name_any(), &DeleteParams::default()).await {
                Ok(_) => info!(pv = %pv.name_any(), "deleted released simulated volume"),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e).context("deleting released PV"),
            }
        }
        Ok(())
    }
}
