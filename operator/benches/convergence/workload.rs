//! The Exposures of the mix and the children `exposure-operator render` gives for them.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Visibility {
    Internal,
    Ingress,
    NodePort,
    LoadBalancer,
}

/// The mix of the issue: of every 20 Exposures 12 Internal (60 %), 5 Ingress (25 %), 2
/// NodePort (10 %), 1 LoadBalancer (5 %); a quarter headless, the quarter shifting from one
/// block of 20 to the next so that every type gets its share.
pub(crate) fn mix(i: usize) -> (Visibility, bool) {
    let visibility = match i % 20 {
        0..=11 => Visibility::Internal,
        12..=16 => Visibility::Ingress,
        17 | 18 => Visibility::NodePort,
        _ => Visibility::LoadBalancer,
    };
    (visibility, (i + i / 20) % 4 == 1)
}

pub(crate) fn exposure_name(i: usize) -> String {
    format!("e-{i:05}")
}

/// One Exposure of the mix: 1 replica, port 80; `class`: one 1Gi volume of that class.
pub(crate) fn exposure(i: usize, host_tag: &str, class: Option<&str>) -> Value {
    let name = exposure_name(i);
    let (visibility, headless) = mix(i);
    let mut spec = json!({
        "image": "nginx:1.25",
        "replicas": 1,
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
    });
    let kind = match visibility {
        Visibility::Internal => "Internal",
        Visibility::Ingress => "Ingress",
        Visibility::NodePort => "NodePort",
        Visibility::LoadBalancer => "LoadBalancer",
    };
    spec["visibility"] = json!({ "type": kind });
    if visibility == Visibility::Ingress {
        spec["ingress"] = json!({ "host": format!("{name}.{host_tag}.bench.example") });
    }
    if headless {
        spec["headless"] = json!(true);
    }
    if let Some(class) = class {
        spec["storage"] = json!([{
            "name": "data", "mountPath": "/data", "size": "1Gi",
            "accessModes": ["ReadWriteOnce"], "storageClassName": class, "reclaim": "Delete",
        }]);
    }
    json!({
        "apiVersion": "exposure.dev/v1alpha1",
        "kind": "Exposure",
        "metadata": { "name": name },
        "spec": spec,
    })
}

pub(crate) fn yaml_stream(docs: &[&Value]) -> Result<String> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(doc)?);
    }
    Ok(out)
}

/// The Exposures of a phase and the children `exposure-operator render` gives for them.
pub(crate) struct Workload {
    pub(crate) exposures: Vec<Value>,
    /// Children in render order, each with the index of its Exposure.
    pub(crate) children: Vec<(usize, Value)>,
    /// (apiVersion, kind) of the children.
    pub(crate) kinds: Vec<(String, String)>,
    /// Per Exposure, the indices of its children in `children`.
    pub(crate) by_exposure: Vec<Vec<usize>>,
}

impl Workload {
    pub(crate) fn children_of(&self, i: usize) -> impl Iterator<Item = &Value> {
        self.by_exposure[i].iter().map(|&c| &self.children[c].1)
    }
}

pub(crate) async fn render(dir: &Path, exposures: Vec<Value>) -> Result<Workload> {
    let file = dir.join("exposures.yaml");
    std::fs::write(&file, yaml_stream(&exposures.iter().collect::<Vec<_>>())?)?;
    let out = tokio::process::Command::new(OPERATOR)
        .arg("render")
        .arg("-f")
        .arg(&file)
        .output()
        .await
        .context("running exposure-operator render")?;
    if !out.status.success() {
        bail!(
            "exposure-operator render failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let index: HashMap<String, usize> = exposures
        .iter()
        .enumerate()
        .map(|(i, e)| (e["metadata"]["name"].as_str().unwrap_or("").to_string(), i))
        .collect();
    let mut children = Vec::new();
    let mut kinds = Vec::new();
    for doc in serde_yaml::Deserializer::from_slice(&out.stdout) {
        let value = Value::deserialize(doc)?;
        if value.is_null() {
            continue;
        }
        let owner = value["metadata"]["labels"][exposure_crd::labels::NAME]
            .as_str()
            .ok_or_else(|| {
                anyhow!(
                    "a rendered child without the {} label",
                    exposure_crd::labels::NAME
                )
            })?;
        let i = *index
            .get(owner)
            .ok_or_else(|| anyhow!("a rendered child of an unknown Exposure {owner}"))?;
        let kind = (
            value["apiVersion"].as_str().unwrap_or("").to_string(),
            value["kind"].as_str().unwrap_or("").to_string(),
        );
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        children.push((i, value));
    }
    let mut by_exposure = vec![Vec::new(); exposures.len()];
    for (c, (i, _)) in children.iter().enumerate() {
        by_exposure[*i].push(c);
    }
    Ok(Workload {
        exposures,
        children,
        kinds,
        by_exposure,
    })
}
