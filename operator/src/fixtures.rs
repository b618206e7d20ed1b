//! Test fixtures shared by the unit tests: Exposures (from JSON, YAML, typed specs, or built up
//! field by field), validated Exposures, and live objects. Every unit test that needs an
//! Exposure gets it from here.

use exposure_crd::{Exposure, ExposureSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::cluster::{ClusterInfo, KubeVersion};
use crate::validate::{validate, Valid};

/// An Exposure from JSON; `apiVersion` and `kind` are added.
pub fn exposure_from(mut value: Value) -> Exposure {
    value["apiVersion"] = "exposure.dev/v1alpha1".into();
    value["kind"] = "Exposure".into();
    serde_json::from_value(value).expect("a valid test Exposure")
}

/// An Exposure from YAML.
pub fn exposure_yaml(yaml: &str) -> Exposure {
    serde_yaml::from_str(yaml).expect("a valid test Exposure")
}

/// An Exposure named `web`, in `namespace` when given, with a uid when given.
pub fn new_exposure(namespace: Option<&str>, uid: Option<&str>, spec: ExposureSpec) -> Exposure {
    ExposureFixture::named("web")
        .namespace(namespace)
        .uid(uid)
        .typed_spec(spec)
        .build()
}

/// The smallest valid workload: one image, one port (`..app_spec()` in struct literals).
pub fn app_spec() -> ExposureSpec {
    ExposureSpec {
        image: Some("nginx:1.25".into()),
        ports: vec![exposure_crd::PortSpec {
            container_port: 80,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// An Exposure built up field by field: `ExposureFixture::named("web").spec(json!(..)).build()`
/// is `web` in namespace `shop`.
pub struct ExposureFixture {
    value: Value,
}

impl ExposureFixture {
    pub fn named(name: &str) -> Self {
        Self {
            value: json!({"metadata": {"name": name, "namespace": "shop"}, "spec": {}}),
        }
    }

    pub fn namespace(mut self, namespace: Option<&str>) -> Self {
        self.value["metadata"]["namespace"] = namespace.into();
        self
    }

    pub fn uid(mut self, uid: Option<&str>) -> Self {
        self.value["metadata"]["uid"] = uid.into();
        self
    }

    pub fn generation(mut self, generation: i64) -> Self {
        self.value["metadata"]["generation"] = generation.into();
        self
    }

    /// Created `seconds` after 2023-11-14T22:13:20Z (older objects win conflicts).
    pub fn created(mut self, seconds: i64) -> Self {
        let time = Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000 + seconds)
                .expect("a timestamp in range"),
        );
        self.value["metadata"]["creationTimestamp"] =
            serde_json::to_value(time).expect("a timestamp serialises");
        self
    }

    pub fn spec(mut self, spec: Value) -> Self {
        self.value["spec"] = spec;
        self
    }

    pub fn typed_spec(self, spec: ExposureSpec) -> Self {
        self.spec(serde_json::to_value(spec).expect("a spec serialises"))
    }

    /// A `Ready` condition with the given status (`"True"`, `"False"`).
    pub fn ready(mut self, status: &str) -> Self {
        self.value["status"] = json!({"conditions": [{"type": "Ready", "status": status,
            "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "x", "message": ""}]});
        self
    }

    pub fn build(self) -> Exposure {
        exposure_from(self.value)
    }
}

/// The cluster of the old lane, where every storage mode is available.
pub fn old_cluster() -> ClusterInfo {
    ClusterInfo::new(KubeVersion::new(1, 20))
}

/// `exposure` validated for `cluster`; a test fixture that does not validate is a broken test.
#[track_caller]
pub fn valid_on<'a>(exposure: &'a Exposure, cluster: &ClusterInfo) -> Valid<'a> {
    match validate(exposure, cluster) {
        Ok(valid) => valid,
        Err(errors) => panic!("test fixture does not validate: {errors:?}"),
    }
}

/// `exposure` validated for the old lane's cluster (see `old_cluster`).
#[track_caller]
pub fn valid(exposure: &Exposure) -> Valid<'_> {
    valid_on(exposure, &old_cluster())
}

/// Any Kubernetes object from JSON.
pub fn object<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("a valid test object")
}
