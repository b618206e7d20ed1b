//! The CustomResourceDefinition generated from the Rust types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

use crate::Exposure;

/// The Exposure CRD exactly as the chart ships it (`charts/exposure-operator/crds/`).
pub fn crd() -> CustomResourceDefinition {
    let generated = Exposure::crd();
    let Ok(mut value) = serde_json::to_value(&generated) else {
        return generated;
    };
    drop_null_enum_values(&mut value);
    serde_json::from_value(value).unwrap_or(generated)
}

/// `Option<SomeEnum>` makes schemars list `null` among the enum values; the field is already
/// `nullable`, and a `null` enum entry is rejected by kubectl's client-side validation.
fn drop_null_enum_values(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                values.retain(|x| !x.is_null());
            }
            map.values_mut().for_each(drop_null_enum_values);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_enum_values),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_enum_lists_null() {
        let text = serde_json::to_string(&crd()).unwrap_or_default();
        assert!(text.contains("\"IfNotPresent\""));
        assert!(!text.contains(",null]"), "an enum still lists null");
    }
}
