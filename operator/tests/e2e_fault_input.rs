//! Fault: a flood of bad specs. Generated mutations of a valid spec (wrong types, out-of-range
//! numbers, unknown enum values, huge strings and lists, unicode, null where an object is
//! expected, duplicate keys, unknown fields) are server-side applied, raw, to ten Exposures.
//! Each is refused by the API server (schema, CEL, or the apply decoder), or accepted and then
//! either valid (reconciled) or `Stalled` with a message naming a `spec.` field path. The
//! operator never panics, its memory stays flat, and the children of an unrelated Exposure do
//! not change.
//!
//! Count: `EXPOSURE_FAULT_INPUT_MUTATIONS` (default 500, the issue's count).

mod support;

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use exposure_crd::{condition, Exposure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use serde_json::{json, Value};
use support::faults::{rss_kib, Rng};
use support::*;

const TARGETS: usize = 10;

fn base_spec() -> Value {
    json!({
        "image": "nginx:1.25",
        "replicas": 2,
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
        "visibility": {"type": "NodePort"},
        "env": [{"name": "MODE", "value": "prod"}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
        "podLabels": {"team": "a"},
        "storage": [{"name": "data", "mountPath": "/data", "size": "1Gi", "storageClassName": "fast"}],
    })
}

/// Every path in `v` ("" is the spec itself), as JSON pointers.
fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| paths(c, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| paths(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn set(spec: &mut Value, pointer: &str, value: Value) {
    if pointer.is_empty() {
        *spec = value;
    } else if let Some(slot) = spec.pointer_mut(pointer) {
        *slot = value;
    }
}

/// One mutation of the base spec: a description and the raw JSON body of the apply.
fn mutate(rng: &mut Rng, name: &str) -> (String, String) {
    let mut spec = base_spec();
    let mut all = Vec::new();
    paths(&spec, String::new(), &mut all);
    let path = rng.pick(&all).clone();
    let current = spec.pointer(&path).cloned().unwrap_or(Value::Null);
    let kind = rng.below(9);
    let what = match kind {
        0 => {
            let wrong = match current {
                Value::String(_) => json!(12345),
                Value::Number(_) => json!("twelve"),
                Value::Bool(_) => json!("yes"),
                Value::Array(_) => json!({"a": 1}),
                Value::Object(_) => json!([1, 2]),
                Value::Null => json!(true),
            };
            set(&mut spec, &path, wrong);
            "wrong type"
        }
        1 => {
            let n = rng
                .pick(&[
                    json!(-1),
                    json!(0),
                    json!(65536),
                    json!(2147483648u64),
                    json!(1e300),
                    json!(-2147483649i64),
                    json!(1.5),
                ])
                .clone();
            let target = rng
                .pick(&["/replicas", "/ports/0/containerPort", path.as_str()])
                .to_string();
            set(&mut spec, &target, n);
            "out-of-range number"
        }
        2 => {
            let target = *rng.pick(&[
                "/visibility/type",
                "/ports/0/protocol",
                "/storage/0/accessModes",
            ]);
            let bogus = format!("Bogus{}", rng.below(1000));
            if target.ends_with("accessModes") {
                spec["storage"][0]["accessModes"] = json!([bogus]);
            } else {
                set(&mut spec, target, json!(bogus));
            }
            "unknown enum value"
        }
        3 => {
            let big = "x".repeat(1 + rng.below(400_000) as usize);
            let target = rng
                .pick(&[
                    "/image",
                    "/env/0/value",
                    "/ports/0/name",
                    "/podLabels/team",
                    path.as_str(),
                ])
                .to_string();
            set(&mut spec, &target, json!(big));
            "huge string"
        }
        4 => {
            let n = 100 + rng.below(3000) as usize;
            if rng.chance(50) {
                spec["ports"] = (0..n)
                    .map(|i| json!({"name": format!("p{i}"), "containerPort": 1000 + i, "protocol": "TCP"}))
                    .collect();
            } else {
                spec["env"] = (0..n)
                    .map(|i| json!({"name": format!("V{i}"), "value": "v"}))
                    .collect();
            }
            "huge list"
        }
        5 => {
            let text = *rng.pick(&[
                "naïve-🙂",
                "\u{202e}evil",
                "nul\u{0}byte",
                "日本語",
                "ȧ/../../etc",
            ]);
            let target = rng
                .pick(&[
                    "/image",
                    "/env/0/value",
                    "/env/0/name",
                    "/ports/0/name",
                    "/podLabels/team",
                    "/storage/0/mountPath",
                    path.as_str(),
                ])
                .to_string();
            set(&mut spec, &target, json!(text));
            "unicode"
        }
        6 => {
            let target = rng
                .pick(&[
                    "/visibility",
                    "/ports",
                    "/ports/0",
                    "/resources",
                    "/storage/0",
                    "/env",
                    "",
                ])
                .to_string();
            set(&mut spec, &target, Value::Null);
            "null"
        }
        7 => "duplicate keys",
        _ => {
            let target = rng
                .pick(&["", "/visibility", "/ports/0", "/storage/0", "/resources"])
                .to_string();
            if let Some(Value::Object(m)) = spec.pointer_mut(&target) {
                m.insert("bogusField".into(), json!({"deep": [1, 2, 3]}));
            }
            "unknown field"
        }
    };
    let doc = json!({
        "apiVersion": "exposure.dev/v1alpha1",
        "kind": "Exposure",
        "metadata": {"name": name},
        "spec": spec,
    });
    let mut body = doc.to_string();
    if kind == 7 {
        // serde_json cannot hold a duplicate key: put it into the text.
        let dup = *rng.pick(&[
            r#""replicas":"three","#,
            r#""image":"a","image":"b","#,
            r#""visibility":{"type":"NodePort"},"visibility":null,"#,
        ]);
        body = body.replacen(r#""spec":{"#, &format!(r#""spec":{{{dup}"#), 1);
    }
    (
        format!("{what} at {}", if path.is_empty() { "spec" } else { &path }),
        body,
    )
}

/// Raw server-side apply (the test's field manager, forced): `Ok(())` or the refusal.
async fn raw_apply(
    client: &kube::Client,
    ns: &str,
    name: &str,
    body: String,
) -> Result<(), kube::Error> {
    let url = format!(
        "/apis/exposure.dev/v1alpha1/namespaces/{ns}/exposures/{name}?fieldManager={TEST_MANAGER}&force=true"
    );
    let request = http::Request::patch(url)
        .header("content-type", "application/apply-patch+yaml")
        .body(body.into_bytes())
        .map_err(kube::Error::HttpError)?;
    client.request_text(request).await.map(|_| ())
}

/// Most pods the flood's namespace may run: the sentinel's and two per target. Some mutations
/// are valid and large (`replicas: 65536`); without a cap they fill every simulated node
/// (110 pods each) and the other tests sharing the cluster wait for nodes in vain.
const POD_CAP: usize = 1 + 2 * TARGETS + 4;

async fn cap_pods(ns: &exposure_e2e::TestNamespace) -> Result<()> {
    use k8s_openapi::api::core::v1::ResourceQuota;
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "flood-pod-cap"},
        "spec": {"hard": {"pods": POD_CAP.to_string()}},
    }))?;
    ns.api::<ResourceQuota>()
        .create(&kube::api::PostParams::default(), &quota)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_specs_is_refused_or_stalled_and_harms_nothing_else() -> Result<()> {
    let total: usize = std::env::var("EXPOSURE_FAULT_INPUT_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut rng = Rng::from_env("fault-input");
    let (cluster, ns, op) = start_in_namespace("fault-input", &[]).await?;
    ensure_fast_storage_class(&cluster).await?;
    cap_pods(&ns).await?;
    let client = cluster.client();
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "sentinel", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "sentinel").await?;
    let sentinel = |d: &Deployment, s: &Service| {
        (
            d.metadata.generation,
            s.metadata.resource_version.clone(),
            d.metadata.uid.clone(),
            s.metadata.uid.clone(),
        )
    };
    let (deployments, services) = (ns.api::<Deployment>(), ns.api::<Service>());
    let before = sentinel(
        &deployments.get("sentinel").await?,
        &services.get("sentinel").await?,
    );
    let pid = op.pid().ok_or_else(|| anyhow!("no operator pid"))?;
    let rss_before = rss_kib(pid).unwrap_or(0);
    // RSS after each batch: the first half warms the caches and the allocator's arenas, the
    // second half must not grow beyond that (flat, not merely bounded).
    let mut rss_samples = Vec::new();

    let (mut refused, mut stalled, mut valid) = (BTreeMap::<String, usize>::new(), 0, 0);
    let mut done = 0;
    while done < total {
        let mut accepted = Vec::new();
        for t in 0..TARGETS.min(total - done) {
            let name = format!("fuzz-{t}");
            let (what, body) = mutate(&mut rng, &name);
            match raw_apply(&client, ns.name(), &name, body).await {
                Ok(()) => accepted.push((name, what)),
                // The API server answers an unknown field in a server-side apply with 500
                // "failed to create typed patch object": a refusal too, with its own code.
                Err(kube::Error::Api(e))
                    if (400..500).contains(&e.code)
                        || e.message.contains("failed to create typed patch object") =>
                {
                    *refused
                        .entry(format!("{} {}", e.code, e.reason))
                        .or_default() += 1;
                }
                Err(e) => return Err(anyhow!("{what}: unexpected failure {e}")),
            }
            done += 1;
        }
        for (name, what) in accepted {
            // Reconciled for exactly this generation: Stalled with a field path, or not stalled.
            let e = wait_exposure(
                &op,
                &exposures,
                &name,
                &format!("{what} to be reconciled"),
                |e| e.status.as_ref().and_then(|s| s.observed_generation) == e.metadata.generation,
            )
            .await?;
            match condition(&e, condition::STALLED).filter(|c| c.status == "True") {
                Some(c) => {
                    assert!(
                        c.message.contains("spec.") || c.message.contains("spec:"),
                        "{what}: Stalled {} without a field path: {}",
                        c.reason,
                        c.message
                    );
                    stalled += 1;
                }
                None => valid += 1,
            }
        }
        rss_samples.push(rss_kib(pid).unwrap_or(0));
    }
    let after = sentinel(
        &deployments.get("sentinel").await?,
        &services.get("sentinel").await?,
    );
    assert_eq!(after, before, "the sentinel's children changed");
    // Ready again (its simulated pods may have flapped while the machine was busy).
    wait_ready(&op, &exposures, "sentinel").await?;
    let log = op.logs();
    assert!(!log.contains("panicked"), "the operator panicked:\n{log}");
    // Every Event it meant to record was taken (a note quoting a huge value is cut to fit).
    assert!(
        !log.contains("could not publish event"),
        "an Event was refused:\n{log}"
    );
    assert_eq!(op.pid(), Some(pid), "the operator restarted");
    let rss_after = rss_kib(pid).unwrap_or(0);
    let (first_half, second_half) = rss_samples.split_at(rss_samples.len() / 2);
    let warm_peak = first_half.iter().max().copied().unwrap_or(rss_before);
    let late_peak = second_half.iter().max().copied().unwrap_or(rss_after);
    assert!(
        late_peak < warm_peak + 16 * 1024,
        "memory kept growing: peak {warm_peak} KiB in the first half of the flood, \
         {late_peak} KiB in the second (samples after each batch, KiB: {rss_samples:?})"
    );
    let refused_total: usize = refused.values().sum();
    println!(
        "fault-input: mutations={total} refused_by_api_server={refused_total} {refused:?} accepted_then_stalled={stalled} accepted_valid={valid} rss_kib_before={rss_before} rss_kib_warm_peak={warm_peak} rss_kib_late_peak={late_peak} rss_kib_after={rss_after} panics=0 sentinel_changed=false"
    );
    finish(ns, op).await
}
