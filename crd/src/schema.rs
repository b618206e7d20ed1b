//! The CustomResourceDefinition generated from the Rust types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

use crate::cel::RULES;
use crate::Exposure;

/// The Exposure CRD exactly as the chart ships it (`charts/exposure-operator/crds/`), with its
/// CEL validation rules.
pub fn crd() -> CustomResourceDefinition {
    crd_for(true)
}

/// The CRD with or without its CEL rules: API servers before 1.25 do not know
/// `x-kubernetes-validations` (kubectl's validation and server-side apply refuse the field), so
/// there the CRD goes without them and the operator's `validate` alone rejects those specs.
pub fn crd_for(validation_rules: bool) -> CustomResourceDefinition {
    let generated = Exposure::crd();
    let Ok(mut value) = serde_json::to_value(&generated) else {
        return generated;
    };
    drop_null_enum_values(&mut value);
    bound_int32(&mut value);
    if let Some(versions) = value
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    {
        for version in versions {
            if let Some(root) = version
                .pointer_mut("/schema/openAPIV3Schema")
                .filter(|_| validation_rules)
            {
                attach_cel_rules(root);
            }
        }
    }
    serde_json::from_value(value).unwrap_or(generated)
}

/// Adds every rule of `cel::RULES` as `x-kubernetes-validations` where it belongs. A location
/// that does not exist in the schema is a programming error the tests catch
/// (`every_rule_has_its_location`).
fn attach_cel_rules(root: &mut Value) {
    for rule in RULES {
        for at in rule.at {
            let Some(node) = schema_at(root, at) else {
                continue;
            };
            let Some(object) = node.as_object_mut() else {
                continue;
            };
            let entries = object
                .entry("x-kubernetes-validations")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(entries) = entries.as_array_mut() {
                entries.push(rule.to_json());
            }
        }
    }
}

/// The subschema at a dotted path (`spec.storage[].glusterfs`): each name is a property, a
/// trailing `[]` the list's items.
pub(crate) fn schema_at<'a>(root: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut node = root;
    for part in path.split('.') {
        let (name, items) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        node = node.get_mut("properties")?.get_mut(name)?;
        if items {
            node = node.get_mut("items")?;
        }
    }
    Some(node)
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

/// The API server does not enforce `format: int32` in a CRD: `replicas: 2147483648` was stored,
/// and then no client with an i32 field could read that Exposure, nor list its namespace (the
/// operator's watch of it broke). Every int32 field gets the int32 range as explicit bounds.
fn bound_int32(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("int32") {
                map.entry("minimum").or_insert(Value::from(i32::MIN));
                map.entry("maximum").or_insert(Value::from(i32::MAX));
            }
            map.values_mut().for_each(bound_int32);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_int32),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_location() {
        let mut schema = serde_json::to_value(Exposure::crd()).unwrap_or_default();
        let root = schema
            .pointer_mut("/spec/versions/0/schema/openAPIV3Schema")
            .expect("a schema");
        for rule in RULES {
            for at in rule.at {
                assert!(
                    schema_at(root, at).is_some(),
                    "rule {}: no schema at {at}",
                    rule.name
                );
            }
        }
        let text = serde_json::to_string(&crd()).unwrap_or_default();
        let attached = text.matches("\"rule\":").count();
        let expected: usize = RULES.iter().map(|r| r.at.len()).sum();
        assert_eq!(attached, expected);
    }

    #[test]
    fn without_validation_rules_the_crd_has_none() {
        let text = serde_json::to_string(&crd_for(false)).unwrap_or_default();
        assert!(!text.contains("x-kubernetes-validations"));
        assert!(serde_json::to_string(&crd())
            .unwrap_or_default()
            .contains("x-kubernetes-validations"));
    }

    #[test]
    fn rule_names_are_unique() {
        let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
    }

    #[test]
    fn every_int32_field_has_int32_bounds() {
        let text = serde_json::to_string(&crd()).unwrap_or_default();
        let mut value: Value = serde_json::from_str(&text).unwrap_or_default();
        let mut unbounded = Vec::new();
        fn walk(v: &mut Value, out: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    if map.get("format").and_then(Value::as_str) == Some("int32")
                        && (map.get("minimum").is_none() || map.get("maximum").is_none())
                    {
                        out.push(format!("{map:?}"));
                    }
                    map.values_mut().for_each(|c| walk(c, out));
                }
                Value::Array(items) => items.iter_mut().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        walk(&mut value, &mut unbounded);
        assert!(unbounded.is_empty(), "{unbounded:?}");
        let replicas = &value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
            ["spec"]["properties"]["replicas"];
        assert_eq!(replicas["maximum"].as_f64(), Some(f64::from(i32::MAX)));
        assert_eq!(replicas["minimum"].as_f64(), Some(0.0));
    }

    #[test]
    fn no_enum_lists_null() {
        let text = serde_json::to_string(&crd()).unwrap_or_default();
        assert!(text.contains("\"IfNotPresent\""));
        assert!(!text.contains(",null]"), "an enum still lists null");
    }
}
