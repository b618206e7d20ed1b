//! Does a child need a write? Pure comparison of the desired object with the live one, so a
//! steady cluster gets zero writes from the operator (resyncs included).
//!
//! Two checks, both needed:
//! - every field we set is present in the live object with the same value (someone edited or
//!   removed a field we own → write it back). The API server adds defaults and allocations
//!   (clusterIP, nodePorts, container defaults); those are extra fields in `live` and ignored.
//! - the live object carries the hash of the desired object we last applied. When we stop
//!   setting a field the first check still passes (live has more), but the hash differs, so
//!   the apply that removes our field is sent.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::Value;

use crate::quantity::same_quantity;

/// Annotation holding [`desired_hash`] of the last applied desired object.
pub const APPLIED_HASH: &str = "exposure.dev/applied-hash";

/// Stable hash (FNV-1a 64) of a desired object's canonical JSON; stable across builds and
/// platforms, unlike `DefaultHasher`.
pub fn desired_hash(desired: &Value) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in desired.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Adds the applied-hash annotation (computed over the object without it) to `desired`.
pub fn stamp_hash(desired: &mut Value) {
    let hash = desired_hash(desired);
    if let Some(meta) = desired.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(APPLIED_HASH.to_string(), Value::String(hash));
        }
    }
}

/// True when sending `desired` (already stamped) would change nothing we own in `live`.
pub fn is_up_to_date(desired: &Value, live: &Value) -> bool {
    contains(desired, live)
}

/// `desired ⊆ live`: objects by key, arrays element-wise with equal length, scalars equal
/// (quantities compared by value: the API server canonicalises `0.5` to `500m`).
fn contains(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => contains(dv, lv),
            // An empty desired map/list/null is the same as an absent one once stored.
            None => is_empty(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| contains(dv, lv))
        }
        (Value::String(d), Value::String(l)) => {
            d == l || same_quantity(&Quantity(d.clone()), &Quantity(l.clone()))
        }
        (Value::Number(d), Value::Number(l)) => d.as_f64() == l.as_f64(),
        (d, Value::Null) => is_empty(d),
        (d, l) => d == l,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_defaults_and_allocations_are_not_drift() {
        let desired =
            json!({"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "type": "NodePort"}});
        let live = json!({"spec": {"ports": [{"port": 80, "protocol": "TCP", "nodePort": 31234}],
            "type": "NodePort", "clusterIP": "10.96.0.7", "sessionAffinity": "None"}});
        assert!(is_up_to_date(&desired, &live));
    }

    #[test]
    fn edited_or_removed_fields_are_drift() {
        let desired =
            json!({"spec": {"replicas": 3, "template": {"metadata": {"labels": {"a": "b"}}}}});
        assert!(!is_up_to_date(
            &desired,
            &json!({"spec": {"replicas": 5, "template": {"metadata": {"labels": {"a": "b"}}}}})
        ));
        assert!(!is_up_to_date(
            &desired,
            &json!({"spec": {"replicas": 3, "template": {"metadata": {}}}})
        ));
    }

    #[test]
    fn list_length_changes_are_drift() {
        let desired = json!({"ports": [{"port": 80}]});
        assert!(!is_up_to_date(
            &desired,
            &json!({"ports": [{"port": 80}, {"port": 81}]})
        ));
    }

    #[test]
    fn canonicalised_quantities_are_equal() {
        let desired = json!({"resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}}});
        let live = json!({"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}});
        assert!(is_up_to_date(&desired, &live));
        assert!(!is_up_to_date(
            &desired,
            &json!({"resources": {"requests": {"cpu": "600m", "memory": "1Gi"}}})
        ));
    }

    #[test]
    fn empty_desired_collections_match_absent_ones() {
        assert!(is_up_to_date(
            &json!({"metadata": {"annotations": {}}}),
            &json!({"metadata": {}})
        ));
    }

    #[test]
    fn hash_is_stable_and_changes_with_content() {
        let a = json!({"spec": {"x": 1}});
        assert_eq!(desired_hash(&a), desired_hash(&a.clone()));
        assert_ne!(desired_hash(&a), desired_hash(&json!({"spec": {"x": 2}})));
        let mut stamped = json!({"metadata": {"name": "n"}, "spec": {"x": 1}});
        stamp_hash(&mut stamped);
        let live_without_hash = json!({"metadata": {"name": "n"}, "spec": {"x": 1}});
        assert!(
            !is_up_to_date(&stamped, &live_without_hash),
            "a missing hash forces one apply"
        );
    }
}
