//! The textbook manifests are the reference outputs: every `examples/X.yaml`, rendered for a
//! Kubernetes 1.20 cluster, must contain every field the hand-written manifest in
//! `tests/fixtures/seeds/X.yaml` sets, with the same value ("seed ⊆ rendered").
//!
//! Deliberate differences from the books are edited into the fixtures, each with a comment.
//! One difference is handled here instead, for every fixture: the books select pods with
//! labels of their own (`app: tomcat`); ours are the child labels and the selector
//! `exposure.dev/name: <name>` only. The test drops the seed's labels and selectors and checks
//! ours in their place: a seed object with a selector must be rendered with exactly ours, a
//! seed Service without one (external backend, ExternalName) must be rendered without one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use exposure_crd::Exposure;
use exposure_operator::build::{build, child_labels, selector_labels, Children};
use exposure_operator::cluster::{ClusterInfo, KubeVersion};
use exposure_operator::validate::validate;
use serde::Deserialize;
use serde_json::{json, Value};

/// Rendered as if applied in this namespace by the operator, so ownership can be checked.
const NAMESPACE: &str = "seeds";
const UID: &str = "00000000-0000-0000-0000-000000000001";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("operator/ is in the workspace")
        .to_path_buf()
}

fn examples_dir() -> PathBuf {
    workspace_root().join("examples")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds")
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(&read(path))
        .map(|document| {
            Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        })
        .collect()
}

/// One rendered child and the Exposure it comes from.
struct Rendered {
    exposure: Exposure,
    object: Value,
}

impl Rendered {
    fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    fn exposure_name(&self) -> &str {
        self.exposure.metadata.name.as_deref().unwrap_or_default()
    }
}

fn children_as_json(children: Children) -> Vec<Value> {
    children
        .in_apply_order()
        .iter()
        .map(|child| child.to_value().expect("children serialize to JSON"))
        .collect()
}

/// Every Exposure of an example, validated and built for Kubernetes 1.20.
fn render_example(file: &str) -> Vec<Rendered> {
    let cluster = ClusterInfo::new(KubeVersion::new(1, 20));
    let path = examples_dir().join(file);
    let mut rendered = Vec::new();
    for document in yaml_documents(&path) {
        let mut exposure: Exposure = serde_json::from_value(document)
            .unwrap_or_else(|error| panic!("{file}: not an Exposure: {error}"));
        exposure.metadata.namespace = Some(NAMESPACE.to_owned());
        exposure.metadata.uid = Some(UID.to_owned());
        let valid = validate(&exposure, &cluster).unwrap_or_else(|errors| {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!(
                "{file}: invalid for Kubernetes 1.20:\n{}",
                errors.join("\n")
            )
        });
        let objects = children_as_json(build(&valid, &cluster));
        rendered.extend(objects.into_iter().map(|object| Rendered {
            exposure: exposure.clone(),
            object,
        }));
    }
    rendered
}

/// `Ok` when every field `seed` sets is in `rendered` with the same value; lists must have the
/// same length (a seed's list is the whole list). Else the path of the first difference.
fn seed_subset(seed: &Value, rendered: &Value, path: &str) -> Result<(), String> {
    match (seed, rendered) {
        (Value::Object(seed_fields), Value::Object(rendered_fields)) => {
            for (key, seed_value) in seed_fields {
                let field_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let rendered_value = rendered_fields
                    .get(key)
                    .ok_or_else(|| format!("{field_path}: missing, the seed sets {seed_value}"))?;
                seed_subset(seed_value, rendered_value, &field_path)?;
            }
            Ok(())
        }
        (Value::Array(seed_items), Value::Array(rendered_items)) => {
            if seed_items.len() != rendered_items.len() {
                return Err(format!(
                    "{path}: {} items rendered, the seed has {}: {rendered}",
                    rendered_items.len(),
                    seed_items.len()
                ));
            }
            seed_items
                .iter()
                .zip(rendered_items)
                .enumerate()
                .try_for_each(|(index, (seed_item, rendered_item))| {
                    seed_subset(seed_item, rendered_item, &format!("{path}[{index}]"))
                })
        }
        _ if seed == rendered => Ok(()),
        _ => Err(format!("{path}: rendered {rendered}, the seed has {seed}")),
    }
}

/// What label sets the seed object had before they were taken out for the comparison.
struct SeedSelection {
    selector: bool,
    template_labels: bool,
}

fn remove_path(object: &mut Value, path: &[&str]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = object;
    for key in parents {
        match current.get_mut(*key) {
            Some(next) => current = next,
            None => return false,
        }
    }
    current
        .as_object_mut()
        .and_then(|fields| fields.remove(*last))
        .is_some()
}

fn take_labels_and_selectors(seed: &mut Value) -> SeedSelection {
    remove_path(seed, &["metadata", "labels"]);
    SeedSelection {
        selector: remove_path(seed, &["spec", "selector"]),
        template_labels: remove_path(seed, &["spec", "template", "metadata", "labels"]),
    }
}

fn labels(object: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(object.clone()).unwrap_or_default()
}

fn contains_labels(actual: &BTreeMap<String, String>, expected: &BTreeMap<String, String>) -> bool {
    expected
        .iter()
        .all(|(key, value)| actual.get(key) == Some(value))
}

/// Our labels and selectors where the seed had its own.
fn check_selection(
    seed_kind: &str,
    selection: &SeedSelection,
    child: &Rendered,
) -> Result<(), String> {
    let name = child.exposure_name();
    let selector = json!(selector_labels(name));
    match seed_kind {
        "Service" => {
            let rendered = child.object["spec"].get("selector");
            match (selection.selector, rendered) {
                (true, Some(rendered)) if *rendered == selector => Ok(()),
                (false, None) => Ok(()),
                (true, _) => Err(format!(
                    "spec.selector: rendered {rendered:?}, expected {selector}"
                )),
                (false, Some(rendered)) => Err(format!(
                    "spec.selector: rendered {rendered}, the seed selects nothing"
                )),
            }
        }
        "Deployment" | "DaemonSet" | "Pod" => {
            let workload = &child.object["spec"];
            if workload["selector"] != json!({ "matchLabels": selector }) {
                return Err(format!(
                    "spec.selector: rendered {}, expected matchLabels {selector}",
                    workload["selector"]
                ));
            }
            let template_labels = labels(&workload["template"]["metadata"]["labels"]);
            if (selection.template_labels || seed_kind == "Pod")
                && !contains_labels(&template_labels, &child_labels(name))
            {
                return Err(format!(
                    "spec.template.metadata.labels: {template_labels:?} lacks {:?}",
                    child_labels(name)
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Child labels on everything, and the controller reference on what the Exposure owns.
fn check_ownership(child: &Rendered) -> Result<(), String> {
    let name = child.exposure_name();
    let metadata = &child.object["metadata"];
    if !contains_labels(&labels(&metadata["labels"]), &child_labels(name)) {
        return Err(format!(
            "metadata.labels: {} lacks {:?}",
            metadata["labels"],
            child_labels(name)
        ));
    }
    let owned = match child.kind() {
        "StorageClass" => false,
        "PersistentVolumeClaim" => {
            let volume = metadata["labels"]["exposure.dev/volume"]
                .as_str()
                .unwrap_or_default();
            let spec = child
                .exposure
                .spec
                .storage
                .iter()
                .find(|storage| storage.name == volume);
            spec.is_some_and(|storage| storage.reclaim == exposure_crd::VolumeReclaim::Delete)
        }
        _ => true,
    };
    let expected_owner = owned.then(|| {
        json!([{
            "apiVersion": "exposure.dev/v1alpha1",
            "kind": "Exposure",
            "name": name,
            "uid": UID,
            "controller": true,
            "blockOwnerDeletion": true,
        }])
    });
    if metadata.get("ownerReferences") != expected_owner.as_ref() {
        return Err(format!(
            "metadata.ownerReferences: rendered {:?}, expected {expected_owner:?}",
            metadata.get("ownerReferences")
        ));
    }
    let expected_namespace = (child.kind() != "StorageClass").then(|| json!(NAMESPACE));
    if metadata.get("namespace") != expected_namespace.as_ref() {
        return Err(format!(
            "metadata.namespace: rendered {:?}, expected {expected_namespace:?}",
            metadata.get("namespace")
        ));
    }
    Ok(())
}

/// Compares one seed document with the child of the same kind and name. A seed Pod is
/// compared with the pod template of the Deployment of its name.
fn compare(seed: &Value, rendered: &[Rendered]) -> Result<(), String> {
    let seed_kind = seed["kind"].as_str().unwrap_or_default();
    let seed_name = seed["metadata"]["name"].as_str().unwrap_or_default();
    let rendered_kind = if seed_kind == "Pod" {
        "Deployment"
    } else {
        seed_kind
    };
    let child = rendered
        .iter()
        .find(|child| child.kind() == rendered_kind && child.name() == seed_name)
        .ok_or_else(|| {
            let found: Vec<String> = rendered
                .iter()
                .map(|child| format!("{}/{}", child.kind(), child.name()))
                .collect();
            format!(
                "no {rendered_kind} {seed_name} rendered; rendered: {}",
                found.join(", ")
            )
        })?;

    let mut seed = seed.clone();
    let selection = take_labels_and_selectors(&mut seed);
    if seed_kind == "Pod" {
        seed_subset(
            &seed["spec"],
            &child.object["spec"]["template"]["spec"],
            "spec.template.spec",
        )?;
    } else {
        seed_subset(&seed, &child.object, "")?;
    }
    check_selection(seed_kind, &selection, child)?;
    check_ownership(child)
}

/// Runs every seed document of a fixture against its example and reports all differences.
fn check_fixture(file: &str) {
    let rendered = render_example(file);
    assert!(!rendered.is_empty(), "{file}: the example renders nothing");
    let failures: Vec<String> = yaml_documents(&fixtures_dir().join(file))
        .iter()
        .filter_map(|seed| {
            compare(seed, &rendered).err().map(|error| {
                format!(
                    "{} {}: {error}",
                    seed["kind"].as_str().unwrap_or("?"),
                    seed["metadata"]["name"].as_str().unwrap_or("?")
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "examples/{file} differs from the seed fixtures/seeds/{file}:\n{}",
        failures.join("\n")
    );
}

macro_rules! seed_tests {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_fixture($file);
            }
        )*

        const SEED_FILES: &[&str] = &[$($file),*];
    };
}

seed_tests! {
    clusterip_tomcat => "clusterip-tomcat.yaml",
    nodeport_tomcat => "nodeport-tomcat.yaml",
    loadbalancer => "loadbalancer.yaml",
    externalname_db => "externalname-db.yaml",
    headless => "headless.yaml",
    external_endpoints => "external-endpoints.yaml",
    multi_port => "multi-port.yaml",
    ingress_tomcat => "ingress-tomcat.yaml",
    ingress_fanout => "ingress-fanout.yaml",
    ingress_multi_host => "ingress-multi-host.yaml",
    ingress_default_backend => "ingress-default-backend.yaml",
    probes => "probes.yaml",
    gluster_storage => "gluster-storage.yaml",
    storage_existing_class => "storage-existing-class.yaml",
    quota => "quota.yaml",
    session_affinity => "session-affinity.yaml",
    daemonset_ingress_controller => "daemonset-ingress-controller.yaml",
    quota_limits => "quota-limits.yaml",
}

/// Examples of what no textbook has (the Gateway API postdates them; the books run no
/// StatefulSet, autoscaler, ConfigMap volume or restricted pod): no seed to match; their
/// builders have unit tests and e2e tests of their own.
const EXAMPLES_WITHOUT_SEED: &[&str] = &[
    "autoscaling.yaml",
    "config-files.yaml",
    "gateway-httproute.yaml",
    "restricted.yaml",
    "statefulset.yaml",
];

#[test]
fn every_example_and_fixture_is_covered() {
    let mut covered: Vec<String> = SEED_FILES.iter().map(|file| (*file).to_owned()).collect();
    covered.sort();
    let mut examples = yaml_files(&examples_dir());
    examples.retain(|file| !EXAMPLES_WITHOUT_SEED.contains(&file.as_str()));
    assert_eq!(examples, covered, "examples/ and the seed tests disagree");
    assert_eq!(
        yaml_files(&fixtures_dir()),
        covered,
        "tests/fixtures/seeds/ and the seed tests disagree"
    );
}

#[test]
fn examples_are_commented_namespace_free_exposures() {
    for file in yaml_files(&examples_dir()) {
        let path = examples_dir().join(&file);
        assert!(
            read(&path).starts_with('#'),
            "{file}: must open with a comment saying what it demonstrates"
        );
        for document in yaml_documents(&path) {
            assert_eq!(document["apiVersion"], "exposure.dev/v1alpha1", "{file}");
            assert_eq!(document["kind"], "Exposure", "{file}");
            assert_eq!(
                document["metadata"].get("namespace"),
                None,
                "{file}: examples apply to any namespace"
            );
        }
    }
}

/// What an example asks to be created before its Exposures: its `#>` lines, unprefixed (the
/// e2e harness applies them: `support::example_prerequisites`).
fn prerequisites(text: &str) -> Vec<Value> {
    let yaml: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("#>"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    serde_yaml::Deserializer::from_str(&yaml)
        .map(|document| Value::deserialize(document).expect("a `#>` block is YAML"))
        .filter(|document| !document.is_null())
        .collect()
}

/// Every ConfigMap and Secret an example mounts (`spec.config`) is in its `#>` block, so that
/// the example is complete; that block holds namespace-free objects, no Exposure.
#[test]
fn examples_carry_the_configuration_they_mount() {
    for file in yaml_files(&examples_dir()) {
        let path = examples_dir().join(&file);
        let carried: Vec<(String, String)> = prerequisites(&read(&path))
            .iter()
            .map(|object| {
                assert_ne!(object["kind"], "Exposure", "{file}: `#>` holds an Exposure");
                assert_eq!(
                    object["metadata"].get("namespace"),
                    None,
                    "{file}: `#>` objects apply to any namespace"
                );
                (
                    object["kind"].as_str().unwrap_or_default().to_owned(),
                    object["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        for document in yaml_documents(&path) {
            let exposure: Exposure = serde_json::from_value(document).unwrap();
            for entry in &exposure.spec.config {
                let source = match (&entry.config_map, &entry.secret) {
                    (Some(name), _) => ("ConfigMap", name),
                    (None, Some(name)) => ("Secret", name),
                    (None, None) => continue,
                };
                assert!(
                    carried
                        .iter()
                        .any(|(kind, name)| kind == source.0 && name == source.1),
                    "{file}: mounts {} {} without carrying it in a `#>` block",
                    source.0,
                    source.1
                );
            }
        }
    }
}

#[test]
fn subset_comparison_reports_the_first_difference() {
    let rendered =
        json!({"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "type": "ClusterIP"}});
    assert_eq!(
        seed_subset(&json!({"spec": {"ports": [{"port": 80}]}}), &rendered, ""),
        Ok(())
    );
    assert_eq!(
        seed_subset(&json!({"spec": {"ports": [{"port": 81}]}}), &rendered, ""),
        Err("spec.ports[0].port: rendered 80, the seed has 81".to_owned())
    );
    assert_eq!(
        seed_subset(&json!({"spec": {"clusterIP": "None"}}), &rendered, ""),
        Err("spec.clusterIP: missing, the seed sets \"None\"".to_owned())
    );
    assert!(seed_subset(
        &json!({"spec": {"ports": [{"port": 80}, {"port": 443}]}}),
        &rendered,
        ""
    )
    .is_err());
}
