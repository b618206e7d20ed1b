//! kstatus (sigs.k8s.io/cli-utils/pkg/kstatus, used by Flux and kpt) on Exposures the real
//! operator wrote: `charts/exposure-operator/argocd/fixtures/*.json` (captured with
//! `scripts/test-argocd-health.sh capture`), expected results in `fixtures/expected.json`.
//!
//! [`compute`] follows kstatus' rules for a custom resource (no type-specific rules apply):
//! 1. `metadata.deletionTimestamp` set → Terminating;
//! 2. `status.observedGeneration` present and != `metadata.generation` → InProgress;
//! 3. condition `Reconciling` True → InProgress; `Stalled` True → Failed (first in list order);
//! 4. otherwise → Current (kstatus does not read `Ready` for custom resources, and an object
//!    without conditions is Current too).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    InProgress,
    Failed,
    Current,
    Terminating,
}

impl Status {
    fn parse(s: &str) -> Status {
        match s {
            "InProgress" => Status::InProgress,
            "Failed" => Status::Failed,
            "Current" => Status::Current,
            "Terminating" => Status::Terminating,
            other => panic!("unknown kstatus status {other:?}"),
        }
    }
}

/// kstatus' Compute for a custom resource: (status, message).
fn compute(obj: &Value) -> (Status, String) {
    let meta = &obj["metadata"];
    if meta["deletionTimestamp"]
        .as_str()
        .is_some_and(|t| !t.is_empty())
    {
        return (
            Status::Terminating,
            "Resource scheduled for deletion".into(),
        );
    }
    if let (Some(generation), Some(observed)) = (
        meta["generation"].as_i64(),
        obj["status"]["observedGeneration"].as_i64(),
    ) {
        if generation != observed {
            let kind = obj["kind"].as_str().unwrap_or_default();
            return (
                Status::InProgress,
                format!("{kind} generation is {generation}, but latest observed generation is {observed}"),
            );
        }
    }
    for c in obj["status"]["conditions"].as_array().into_iter().flatten() {
        let message = c["message"].as_str().unwrap_or_default().to_string();
        match (c["type"].as_str(), c["status"].as_str()) {
            (Some("Reconciling"), Some("True")) => return (Status::InProgress, message),
            (Some("Stalled"), Some("True")) => return (Status::Failed, message),
            _ => {}
        }
    }
    (Status::Current, "Resource is current".into())
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/exposure-operator/argocd/fixtures")
}

/// Every fixture (file name → object) and its expectations.
fn fixtures() -> Vec<(String, Value, Value)> {
    let dir = fixtures_dir();
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json") && f != "expected.json")
        .collect();
    files.sort();
    assert!(files.len() >= 8, "too few fixtures in {}", dir.display());
    let names: Vec<&String> = expected.keys().collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        names,
        "fixtures and expected.json disagree"
    );
    files
        .into_iter()
        .map(|f| {
            let obj: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(&f)).unwrap()).unwrap();
            assert_eq!(obj["kind"], "Exposure", "{f} is not an Exposure");
            assert_eq!(obj["apiVersion"], "exposure.dev/v1alpha1", "{f}");
            let exp = expected[&f].clone();
            (f, obj, exp)
        })
        .collect()
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn is_true(obj: &Value, type_: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c["status"] == "True")
}

#[test]
fn kstatus_of_every_fixture() {
    for (file, obj, exp) in fixtures() {
        let want = Status::parse(exp["kstatus"].as_str().expect("kstatus expectation"));
        let (got, message) = compute(&obj);
        assert_eq!(
            got, want,
            "{file}: kstatus {got:?} ({message}), want {want:?}"
        );
    }
}

/// The operator keeps the kstatus invariants on what it writes: observedGeneration with every
/// status, the three kstatus conditions always present, never Reconciling and Stalled both
/// True, and Ready True only when neither is.
#[test]
fn operator_status_follows_kstatus_conventions() {
    for (file, obj, _) in fixtures() {
        if obj.get("status").is_none() {
            continue;
        }
        assert!(
            obj["status"]["observedGeneration"].is_i64(),
            "{file}: status without observedGeneration"
        );
        for t in ["Ready", "Reconciling", "Stalled"] {
            let c = condition(&obj, t).unwrap_or_else(|| panic!("{file}: no {t} condition"));
            assert!(
                matches!(c["status"].as_str(), Some("True" | "False" | "Unknown")),
                "{file}: {t} status {:?}",
                c["status"]
            );
            assert!(
                c["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{file}: {t} without a reason"
            );
            assert!(
                c["observedGeneration"].as_i64().is_some(),
                "{file}: {t} without observedGeneration"
            );
        }
        assert!(
            !(is_true(&obj, "Reconciling") && is_true(&obj, "Stalled")),
            "{file}: Reconciling and Stalled both True"
        );
        if is_true(&obj, "Ready") {
            assert!(
                !is_true(&obj, "Reconciling") && !is_true(&obj, "Stalled"),
                "{file}: Ready True while Reconciling or Stalled"
            );
        }
        if is_true(&obj, "Stalled") {
            let (stalled, ready) = (
                condition(&obj, "Stalled").unwrap(),
                condition(&obj, "Ready").unwrap(),
            );
            assert_eq!(
                stalled["reason"], ready["reason"],
                "{file}: Stalled and Ready give different reasons"
            );
        }
    }
}

/// Where kstatus and the Ready condition disagree: kstatus reports Current for an Exposure that
/// is not Ready when neither Reconciling nor Stalled is True. Failing pods are Reconciling until
/// the progress deadline, so only an object without any status yet remains. This test pins the
/// exact set so that a change either way is noticed.
#[test]
fn where_kstatus_current_is_not_ready() {
    let gaps: Vec<String> = fixtures()
        .into_iter()
        .filter(|(_, obj, _)| compute(obj).0 == Status::Current && !is_true(obj, "Ready"))
        .map(|(f, _, _)| f)
        .collect();
    assert_eq!(
        gaps,
        // Only an object the operator has not written yet: kstatus cannot know better.
        ["no-status.json"],
        "kstatus Current without Ready=True"
    );
}

/// The rules themselves, on minimal objects (order and precedence).
#[test]
fn kstatus_rules() {
    let obj = |generation: i64, status: Value| serde_json::json!({"kind": "Exposure", "metadata": {"generation": generation}, "status": status});
    let cond = |t: &str, s: &str| serde_json::json!({"type": t, "status": s, "message": t});
    // observedGeneration behind wins over Stalled.
    let o = obj(
        3,
        serde_json::json!({"observedGeneration": 2, "conditions": [cond("Stalled", "True")]}),
    );
    assert_eq!(compute(&o).0, Status::InProgress);
    // Without observedGeneration the generation check is skipped.
    let o = obj(
        3,
        serde_json::json!({"conditions": [cond("Stalled", "True")]}),
    );
    assert_eq!(compute(&o).0, Status::Failed);
    // Reconciling True → InProgress; the first abnormal-true condition in order decides.
    let o = obj(
        1,
        serde_json::json!({"observedGeneration": 1, "conditions": [cond("Reconciling", "True"), cond("Stalled", "True")]}),
    );
    assert_eq!(compute(&o), (Status::InProgress, "Reconciling".to_string()));
    // Ready False alone does not make a custom resource InProgress.
    let o = obj(
        1,
        serde_json::json!({"observedGeneration": 1, "conditions": [cond("Ready", "False")]}),
    );
    assert_eq!(compute(&o).0, Status::Current);
    // Deletion first.
    let mut o = obj(1, serde_json::json!({"observedGeneration": 0}));
    o["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z".into();
    assert_eq!(compute(&o).0, Status::Terminating);
}
