//! Unit tests of `validate`, one file per area of the spec.

use super::*;

const HEADER: &str = "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata:\n  name: web\n";
/// The smallest valid workload: one image, one port.
const APP: &str = "  image: nginx:1.25\n  ports: [{containerPort: 80}]\n";
const TWO_PORTS: &str = "  image: nginx\n  ports: [{name: http, containerPort: 80}, {name: admin, containerPort: 9000}]\n";

fn exposure_from(text: &str) -> Exposure {
    serde_yaml::from_str(text).expect("test fixture is a well-typed Exposure")
}

fn errors_for(exposure: &Exposure, version: KubeVersion) -> Vec<String> {
    match validate(exposure, &ClusterInfo::new(version)) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// Errors of `spec` (YAML lines indented by two) on the newest cluster.
fn errors(spec: &str) -> Vec<String> {
    errors_for(
        &exposure_from(&format!("{HEADER}spec:\n{spec}")),
        KubeVersion::NEWEST,
    )
}

fn errors_on(minor: u32, spec: &str) -> Vec<String> {
    errors_for(
        &exposure_from(&format!("{HEADER}spec:\n{spec}")),
        KubeVersion::new(1, minor),
    )
}

#[track_caller]
fn valid(spec: &str) {
    assert_eq!(errors(spec), Vec::<String>::new());
}

mod gateway;
mod ingress;
mod metadata;
mod order;
mod pod;
mod ports;
mod probes;
mod storage;
mod visibility;
mod workload;
