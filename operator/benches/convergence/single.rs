//! One Exposure at a time, many times: the operator against its children applied raw.

use super::*;

/// One Exposure at a time: the operator (apply the Exposure → every child exists) against its
/// children applied with the kube client (server-side apply, one after the other); both end
/// when the watch has seen the last child.
pub(crate) async fn single_trials(cfg: &Config, cluster: &Cluster) -> Result<Value> {
    let client = cluster.client();
    let trials = cfg.trials;
    let op_ns = create_namespace(&client, "bench-single-op").await?;
    let raw_ns = create_namespace(&client, "bench-single-raw").await?;
    let dir = cfg.out_dir.join("work").join(&op_ns);
    std::fs::create_dir_all(&dir)?;
    // Internal, not headless: the most common Exposure of the mix (i % 20 == 0 is Internal).
    let exposures: Vec<Value> = (0..trials)
        .map(|k| {
            let mut e = exposure(0, &op_ns, None);
            e["metadata"]["name"] = json!(format!("single-{k:03}"));
            if let Some(spec) = e["spec"].as_object_mut() {
                spec.remove("headless");
            }
            e
        })
        .collect();
    let work = render(&dir, exposures).await?;
    let children_per = work.children_of(0).count();

    // Raw: the kube client applies the children one after the other.
    let raw_tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let raw_watches = watch(&client, &raw_ns, &work, &raw_tracker).await?;
    let mut resources: HashMap<(String, String), ApiResource> = HashMap::new();
    for (api_version, kind) in &work.kinds {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let (ar, _) =
            kube::discovery::pinned_kind(&client, &GroupVersionKind::gvk(group, version, kind))
                .await?;
        resources.insert((api_version.clone(), kind.clone()), ar);
    }
    let mut raw = Vec::new();
    for k in 0..trials {
        let started = Instant::now();
        for child in work.children_of(k) {
            let key = (
                child["apiVersion"].as_str().unwrap_or("").to_string(),
                child["kind"].as_str().unwrap_or("").to_string(),
            );
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &raw_ns, &resources[&key]);
            let name = child["metadata"]["name"].as_str().unwrap_or("");
            api.patch(
                name,
                &PatchParams::apply(RAW_MANAGER).force(),
                &Patch::Apply(child),
            )
            .await?;
        }
        let ok = wait_for(
            &raw_tracker,
            format!("single raw trial {k}"),
            Duration::from_secs(30),
            |t| t.children_at[k].is_some(),
            |_| String::new(),
        )
        .await;
        let t = raw_tracker.lock().unwrap();
        raw.push(
            ok.then(|| {
                t.children_at[k].map(|at| at.saturating_duration_since(started).as_secs_f64())
            })
            .flatten(),
        );
    }
    drop(raw_watches);

    // Operator: apply the Exposure with the kube client.
    let op_tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let op_watches = watch(&client, &op_ns, &work, &op_tracker).await?;
    let (op, _) = start_operator(cfg, cluster, &op_ns, "single").await?;
    let exposures: Api<Exposure> = Api::namespaced(client.clone(), &op_ns);
    let mut op_children = Vec::new();
    let mut op_observed = Vec::new();
    for k in 0..trials {
        let e = &work.exposures[k];
        let name = e["metadata"]["name"].as_str().unwrap_or("");
        let started = Instant::now();
        exposures
            .patch(
                name,
                &PatchParams::apply(USER_MANAGER).force(),
                &Patch::Apply(e),
            )
            .await?;
        wait_for(
            &op_tracker,
            format!("single operator trial {k}"),
            Duration::from_secs(30),
            |t| t.children_at[k].is_some() && t.observed_at[k].is_some(),
            |_| String::new(),
        )
        .await;
        let t = op_tracker.lock().unwrap();
        let since =
            |at: Option<Instant>| at.map(|a| a.saturating_duration_since(started).as_secs_f64());
        op_children.push(since(t.children_at[k]));
        op_observed.push(since(
            t.children_at[k]
                .zip(t.observed_at[k])
                .map(|(a, b)| a.max(b)),
        ));
    }
    op.stop().await?;
    drop(op_watches);
    delete_namespaces(&client, &[op_ns, raw_ns], cfg.bound(120.0, 0.0, 0)).await?;

    let stats = |v: &[Option<f64>]| {
        let s = sorted(v);
        let q = |p: f64| -> Option<f64> {
            if s.is_empty() {
                None
            } else {
                Some(s[((s.len() - 1) as f64 * p).round() as usize] * 1000.0)
            }
        };
        json!({"p50_ms": q(0.5), "p90_ms": q(0.9), "min_ms": q(0.0), "max_ms": q(1.0), "completed": s.len(), "trials_ms": s.iter().map(|x| round3(x * 1000.0)).collect::<Vec<_>>()})
    };
    let result = json!({
        "trials": trials,
        "exposure": "Internal, 1 replica, not headless",
        "children_per_exposure": children_per,
        "operator_children": stats(&op_children),
        "operator_children_and_status": stats(&op_observed),
        "raw_children": stats(&raw),
    });
    let p = |v: &Value| v["p50_ms"].as_f64().unwrap_or(f64::NAN);
    println!(
        "single Exposure ({children_per} children), {trials} trials: operator apply → children p50 {:.1} ms (p90 {:.1}), → children and status p50 {:.1} ms; raw apply of the children p50 {:.1} ms (p90 {:.1}); ratio {:.2}",
        p(&result["operator_children"]),
        result["operator_children"]["p90_ms"].as_f64().unwrap_or(f64::NAN),
        p(&result["operator_children_and_status"]),
        p(&result["raw_children"]),
        result["raw_children"]["p90_ms"].as_f64().unwrap_or(f64::NAN),
        p(&result["operator_children"]) / p(&result["raw_children"]),
    );
    Ok(result)
}
