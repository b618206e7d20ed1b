//! The health engines users run, on Exposures the real operator wrote:
//! `charts/exposure-operator/argocd/fixtures/*.json` (captured with
//! `scripts/test-argocd-health.sh capture`), expected results in `fixtures/expected.json`.
//!
//! * kstatus: `sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute` (Flux, kpt), through
//!   `kstatus-check` of e2e/tools;
//! * Argo CD: the chart's `health.lua` under gopher-lua as Argo CD runs a resource health check,
//!   through `argocd-health` of e2e/tools.
//!
//! Both are real engines: nothing here re-implements their rules. The live counterparts are in
//! `e2e_health.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use exposure_e2e::health_engines::{argocd_health, argocd_health_script, kstatus};
use serde_json::{json, Value};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/exposure-operator/argocd/fixtures")
}

/// Every fixture (file name, object, expectations), in file name order.
fn fixtures() -> Result<Vec<(String, Value, Value)>> {
    let dir = fixtures_dir();
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json"))?)?;
    let mut files: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
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
            let obj: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(&f))?)?;
            assert_eq!(obj["kind"], "Exposure", "{f} is not an Exposure");
            assert_eq!(obj["apiVersion"], "exposure.dev/v1alpha1", "{f}");
            let exp = expected[&f].clone();
            Ok((f, obj, exp))
        })
        .collect()
}

fn objects(fixtures: &[(String, Value, Value)]) -> Vec<Value> {
    fixtures.iter().map(|(_, o, _)| o.clone()).collect()
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

#[tokio::test]
async fn kstatus_of_every_fixture() -> Result<()> {
    let fixtures = fixtures()?;
    let computed = kstatus(&objects(&fixtures)).await?;
    for ((file, _, exp), got) in fixtures.iter().zip(&computed) {
        let want = exp["kstatus"].as_str().context("kstatus expectation")?;
        assert_eq!(
            got.status, want,
            "{file}: kstatus {} ({}), want {want}",
            got.status, got.message
        );
    }
    Ok(())
}

#[tokio::test]
async fn argocd_health_of_every_fixture() -> Result<()> {
    let fixtures = fixtures()?;
    let computed = argocd_health(&argocd_health_script(), &objects(&fixtures)).await?;
    for ((file, _, exp), got) in fixtures.iter().zip(&computed) {
        let want = exp["argocd"].as_str().context("argocd expectation")?;
        let message = exp["message"].as_str().unwrap_or_default();
        assert_eq!(
            got.status, want,
            "{file}: Argo CD health {} ({}), want {want}",
            got.status, got.message
        );
        assert!(
            got.message.contains(message),
            "{file}: Argo CD message {:?} does not contain {message:?}",
            got.message
        );
    }
    Ok(())
}

/// The operator keeps the kstatus invariants on what it writes: observedGeneration with every
/// status, the three kstatus conditions always present, never Reconciling and Stalled both
/// True, and Ready True only when neither is.
#[test]
fn operator_status_follows_kstatus_conventions() -> Result<()> {
    for (file, obj, _) in fixtures()? {
        if obj.get("status").is_none() {
            continue;
        }
        assert!(
            obj["status"]["observedGeneration"].is_i64(),
            "{file}: status without observedGeneration"
        );
        for t in ["Ready", "Reconciling", "Stalled"] {
            let c = condition(&obj, t).with_context(|| format!("{file}: no {t} condition"))?;
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
            let stalled = condition(&obj, "Stalled").context("Stalled")?;
            let ready = condition(&obj, "Ready").context("Ready")?;
            assert_eq!(
                stalled["reason"], ready["reason"],
                "{file}: Stalled and Ready give different reasons"
            );
        }
    }
    Ok(())
}

/// Where kstatus and the Ready condition disagree: kstatus reports Current for an Exposure that
/// is not Ready when neither Reconciling nor Stalled is True. Failing pods are Reconciling until
/// the progress deadline, so only an object without any status yet remains. This test pins the
/// exact set so that a change either way is noticed.
#[tokio::test]
async fn where_kstatus_current_is_not_ready() -> Result<()> {
    let fixtures = fixtures()?;
    let computed = kstatus(&objects(&fixtures)).await?;
    let gaps: Vec<&str> = fixtures
        .iter()
        .zip(&computed)
        .filter(|((_, obj, _), got)| got.status == "Current" && !is_true(obj, "Ready"))
        .map(|((f, _, _), _)| f.as_str())
        .collect();
    assert_eq!(
        gaps,
        // Only an object the operator has not written yet: kstatus cannot know better.
        ["no-status.json"],
        "kstatus Current without Ready=True"
    );
    Ok(())
}

/// What kstatus makes of the condition combinations the operator writes (minimal objects), as
/// the library computes them: the precedence the operator's status relies on.
#[tokio::test]
async fn kstatus_precedence_the_operator_relies_on() -> Result<()> {
    let obj = |generation: i64, status: Value| {
        json!({"apiVersion": "exposure.dev/v1alpha1", "kind": "Exposure",
               "metadata": {"name": "x", "namespace": "ns", "generation": generation},
               "status": status})
    };
    let cond = |t: &str, s: &str| json!({"type": t, "status": s, "reason": t, "message": t});
    let mut deleting = obj(1, json!({"observedGeneration": 0}));
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z".into();
    let cases = [
        // observedGeneration behind wins over Stalled.
        (
            obj(
                3,
                json!({"observedGeneration": 2, "conditions": [cond("Stalled", "True")]}),
            ),
            "InProgress",
        ),
        // Without observedGeneration the generation check is skipped.
        (
            obj(3, json!({"conditions": [cond("Stalled", "True")]})),
            "Failed",
        ),
        // Reconciling True with Stalled True: InProgress.
        (
            obj(
                1,
                json!({"observedGeneration": 1, "conditions": [cond("Reconciling", "True"), cond("Stalled", "True")]}),
            ),
            "InProgress",
        ),
        // Ready False alone: kstatus falls back to the Ready condition (InProgress).
        (
            obj(
                1,
                json!({"observedGeneration": 1, "conditions": [cond("Ready", "False")]}),
            ),
            "InProgress",
        ),
        // No conditions at all: Current.
        (obj(1, json!({"observedGeneration": 1})), "Current"),
        // Deletion first.
        (deleting, "Terminating"),
    ];
    let objects: Vec<Value> = cases.iter().map(|(o, _)| o.clone()).collect();
    let computed = kstatus(&objects).await?;
    for (i, ((o, want), got)) in cases.iter().zip(&computed).enumerate() {
        assert_eq!(
            got.status, *want,
            "case {i}: kstatus {} ({}) for {o}",
            got.status, got.message
        );
    }
    Ok(())
}
