//! The measured phases at one N: raw, raw+, op (with the restart).

use super::*;

pub(crate) fn sorted(times: &[Option<f64>]) -> Vec<f64> {
    let mut v: Vec<f64> = times.iter().flatten().copied().collect();
    v.sort_by(f64::total_cmp);
    v
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn curve(times: &[Option<f64>]) -> Value {
    json!(sorted(times).into_iter().map(round3).collect::<Vec<_>>())
}

/// Seconds until all got there, or None.
pub(crate) fn all_after(times: &[Option<f64>]) -> Option<f64> {
    if times.iter().all(Option::is_some) {
        sorted(times).last().copied().or(Some(0.0))
    } else {
        None
    }
}

pub(crate) fn fmt_s(x: Option<f64>) -> String {
    x.map_or("timeout".to_string(), |v| format!("{v:.2} s"))
}

pub(crate) fn print_requests(label: &str, d: &Value) {
    println!(
        "    API server, {label} (all clients): {:.2} writes, {:.2} reads per Exposure",
        d["writes_per_exposure"].as_f64().unwrap_or(0.0),
        d["reads_per_exposure"].as_f64().unwrap_or(0.0)
    );
    let rows = d["by_verb_resource"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let shown: Vec<String> = rows
        .iter()
        .filter(|r| r["per_exposure"].as_f64().unwrap_or(0.0) >= 0.05)
        .take(14)
        .map(|r| {
            format!(
                "{} {} {:.2}",
                r["verb"].as_str().unwrap_or(""),
                r["resource"].as_str().unwrap_or(""),
                r["per_exposure"].as_f64().unwrap_or(0.0)
            )
        })
        .collect();
    for chunk in shown.chunks(4) {
        println!("      {}", chunk.join(" | "));
    }
}

pub(crate) struct Pass<'a> {
    pub(crate) name: &'static str,
    pub(crate) class: Option<&'a str>,
}

/// raw: the rendered children, split by Exposure into `concurrency` streams applied at once.
pub(crate) async fn phase_raw(
    cfg: &Config,
    cluster: &Cluster,
    pass: &Pass<'_>,
    n: usize,
) -> Result<Value> {
    let client = cluster.client();
    let ns = create_namespace(&client, &format!("bench-raw-{n}")).await?;
    let dir = cfg.out_dir.join("work").join(&ns);
    std::fs::create_dir_all(&dir)?;
    let work = render(&dir, (0..n).map(|i| exposure(i, &ns, pass.class)).collect()).await?;
    let mut parts = Vec::new();
    for p in 0..cfg.concurrency.min(n) {
        let docs: Vec<&Value> = work
            .children
            .iter()
            .filter(|(i, _)| i % cfg.concurrency == p)
            .map(|(_, v)| v)
            .collect();
        let file = dir.join(format!("part-{p}.yaml"));
        std::fs::write(&file, yaml_stream(&docs)?)?;
        parts.push(file);
    }
    let tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let watches = watch(&client, &ns, &work, &tracker).await?;
    let quiet = wait_quiet(&client, cfg.bound(30.0, 0.05, n)).await?;
    let load = loadavg();
    let before = apiserver_requests(&client).await?;
    let cpu_before = cpu_seconds(cluster, None);
    let start = Instant::now();
    let applies = futures::future::try_join_all(
        parts
            .iter()
            .map(|f| kubectl_apply(cfg, cluster.kubeconfig_path(), &ns, f, RAW_MANAGER)),
    );
    let applied = async {
        applies.await?;
        Ok::<f64, anyhow::Error>(start.elapsed().as_secs_f64())
    };
    let waited = wait_for(
        &tracker,
        format!("raw N={n}: children"),
        cfg.bound(120.0, 0.5, n),
        |t| t.children_done == t.n(),
        |t| format!("{}/{} Exposures' children exist", t.children_done, t.n()),
    );
    let (applied, _) = tokio::join!(applied, waited);
    let applied = applied?;
    let cpu = cpu_json(&cpu_seconds(cluster, None), &cpu_before);
    let after = apiserver_requests(&client).await?;
    let requests = requests_json(&delta(&after, &before), n);
    // Settle (so that the next phase does not count this one's pods) and time the Deployments.
    wait_for(
        &tracker,
        format!("raw N={n}: Deployments available"),
        cfg.bound(120.0, 0.5, n),
        |t| t.available == t.deployments,
        |t| format!("{}/{} Deployments available", t.available, t.deployments),
    )
    .await;
    let (children, available) = {
        let t = tracker.lock().unwrap();
        (
            t.times(start, |i| t.children_at[i]),
            t.times(start, |i| t.available_at[i]),
        )
    };
    drop(watches);
    let result = json!({
        "phase": "raw", "pass": pass.name, "n": n, "namespace": ns,
        "streams": parts.len(),
        "objects": work.children.len(),
        "kubectl_seconds": applied,
        "converged_seconds": all_after(&children),
        "deployments_available_seconds": all_after(&available),
        "converged": children.iter().flatten().count(),
        "requests": requests,
        "cpu_seconds": cpu,
        "curve": curve(&children),
        "curve_available": curve(&available),
        "loadavg_before": load, "loadavg_after": loadavg(), "quiet_after_seconds": quiet,
    });
    println!(
        "  raw   N={n:<5} {} children in {} kubectl streams: kubectl {applied:.2} s, all exist after {}; Deployments available after {}",
        work.children.len(),
        parts.len(),
        fmt_s(result["converged_seconds"].as_f64()),
        fmt_s(result["deployments_available_seconds"].as_f64()),
    );
    print_requests("until all exist", &result["requests"]);
    print_cpu("until all exist", &result["cpu_seconds"]);
    let cleanup =
        delete_namespaces(&client, std::slice::from_ref(&ns), cfg.bound(120.0, 0.2, n)).await?;
    println!("    namespace deleted in {cleanup:.1} s");
    Ok(result)
}

/// raw+: the Exposures and their children in one stream, one kubectl, no operator.
pub(crate) async fn phase_raw_plus(
    cfg: &Config,
    cluster: &Cluster,
    pass: &Pass<'_>,
    n: usize,
) -> Result<Value> {
    let client = cluster.client();
    let ns = create_namespace(&client, &format!("bench-rawplus-{n}")).await?;
    let dir = cfg.out_dir.join("work").join(&ns);
    std::fs::create_dir_all(&dir)?;
    let work = render(&dir, (0..n).map(|i| exposure(i, &ns, pass.class)).collect()).await?;
    let mut docs: Vec<&Value> = Vec::new();
    for (i, e) in work.exposures.iter().enumerate() {
        docs.push(e);
        docs.extend(work.children_of(i));
    }
    let file = dir.join("stream.yaml");
    std::fs::write(&file, yaml_stream(&docs)?)?;
    let tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let watches = watch(&client, &ns, &work, &tracker).await?;
    let quiet = wait_quiet(&client, cfg.bound(30.0, 0.05, n)).await?;
    let load = loadavg();
    let before = apiserver_requests(&client).await?;
    let cpu_before = cpu_seconds(cluster, None);
    let start = Instant::now();
    let applied = async {
        kubectl_apply(cfg, cluster.kubeconfig_path(), &ns, &file, RAW_MANAGER).await?;
        Ok::<f64, anyhow::Error>(start.elapsed().as_secs_f64())
    };
    let waited = wait_for(
        &tracker,
        format!("raw+ N={n}: Exposures and children"),
        cfg.bound(120.0, 0.5, n),
        |t| t.plus_converged == t.n(),
        |t| {
            format!(
                "{}/{} Exposures with their children",
                t.plus_converged,
                t.n()
            )
        },
    );
    let (applied, _) = tokio::join!(applied, waited);
    let applied = applied?;
    let cpu = cpu_json(&cpu_seconds(cluster, None), &cpu_before);
    let after = apiserver_requests(&client).await?;
    let requests = requests_json(&delta(&after, &before), n);
    wait_for(
        &tracker,
        format!("raw+ N={n}: Deployments available"),
        cfg.bound(120.0, 0.5, n),
        |t| t.available == t.deployments,
        |t| format!("{}/{} Deployments available", t.available, t.deployments),
    )
    .await;
    let (both, available) = {
        let t = tracker.lock().unwrap();
        (
            t.times(start, |i| Some(t.children_at[i]?.max(t.exposure_at[i]?))),
            t.times(start, |i| t.available_at[i]),
        )
    };
    drop(watches);
    let result = json!({
        "phase": "raw+", "pass": pass.name, "n": n, "namespace": ns,
        "objects": docs.len(),
        "kubectl_seconds": applied,
        "converged_seconds": all_after(&both),
        "deployments_available_seconds": all_after(&available),
        "converged": both.iter().flatten().count(),
        "requests": requests,
        "cpu_seconds": cpu,
        "curve": curve(&both),
        "curve_available": curve(&available),
        "loadavg_before": load, "loadavg_after": loadavg(), "quiet_after_seconds": quiet,
    });
    println!(
        "  raw+  N={n:<5} {} objects (Exposures and children) in one kubectl stream: kubectl {applied:.2} s, all exist after {}; Deployments available after {}",
        docs.len(),
        fmt_s(result["converged_seconds"].as_f64()),
        fmt_s(result["deployments_available_seconds"].as_f64()),
    );
    print_requests("until all exist", &result["requests"]);
    print_cpu("until all exist", &result["cpu_seconds"]);
    let cleanup =
        delete_namespaces(&client, std::slice::from_ref(&ns), cfg.bound(120.0, 0.2, n)).await?;
    println!("    namespace deleted in {cleanup:.1} s");
    Ok(result)
}

/// op: the N Exposures in one kubectl apply, the operator running; at the largest N also the
/// restart.
pub(crate) async fn phase_op(
    cfg: &Config,
    cluster: &Cluster,
    pass: &Pass<'_>,
    n: usize,
    restart: bool,
) -> Result<Value> {
    let client = cluster.client();
    let ns = create_namespace(&client, &format!("bench-op-{n}")).await?;
    let dir = cfg.out_dir.join("work").join(&ns);
    std::fs::create_dir_all(&dir)?;
    let work = render(&dir, (0..n).map(|i| exposure(i, &ns, pass.class)).collect()).await?;
    let file = dir.join("exposures.yaml");
    let tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let watches = watch(&client, &ns, &work, &tracker).await?;
    let (op, _) = start_operator(cfg, cluster, &ns, &format!("{}-{n}", pass.name)).await?;
    let quiet = wait_quiet(&client, cfg.bound(30.0, 0.05, n)).await?;
    let load = loadavg();
    let op_before = op_snapshot(&op).await?;
    let before = apiserver_requests(&client).await?;
    let cpu_before = cpu_seconds(cluster, Some(&op));
    let start = Instant::now();
    let applied = async {
        kubectl_apply(cfg, cluster.kubeconfig_path(), &ns, &file, USER_MANAGER).await?;
        Ok::<f64, anyhow::Error>(start.elapsed().as_secs_f64())
    };
    let waited = wait_for(
        &tracker,
        format!("op N={n}: children and observed generation"),
        cfg.bound(120.0, 0.5, n),
        |t| t.op_converged == t.n(),
        |t| {
            format!(
                "{}/{} with children, {} observed, {} Ready",
                t.children_done,
                t.n(),
                t.observed,
                t.ready
            )
        },
    );
    let (applied, _) = tokio::join!(applied, waited);
    let applied = applied?;
    let cpu_converged = cpu_seconds(cluster, Some(&op));
    let op_converged = op_snapshot(&op).await?;
    let at_converged = apiserver_requests(&client).await?;
    wait_for(
        &tracker,
        format!("op N={n}: Ready"),
        cfg.bound(120.0, 0.5, n),
        |t| t.ready == t.n(),
        |t| format!("{}/{} Ready", t.ready, t.n()),
    )
    .await;
    let cpu_ready = cpu_seconds(cluster, Some(&op));
    let op_ready = op_snapshot(&op).await?;
    let at_ready = apiserver_requests(&client).await?;
    let (converged, children, ready, available) = {
        let t = tracker.lock().unwrap();
        (
            t.times(start, |i| Some(t.children_at[i]?.max(t.observed_at[i]?))),
            t.times(start, |i| t.children_at[i]),
            t.times(start, |i| t.ready_at[i]),
            t.times(start, |i| t.available_at[i]),
        )
    };
    let operator_converged = operator_json(&op_converged, &op_before, n);
    let operator_ready = operator_json(&op_ready, &op_before, n);
    let mut result = json!({
        "phase": "op", "pass": pass.name, "n": n, "namespace": ns,
        "kubectl_seconds": applied,
        "children_seconds": all_after(&children),
        "converged_seconds": all_after(&converged),
        "ready_seconds": all_after(&ready),
        "deployments_available_seconds": all_after(&available),
        "converged": converged.iter().flatten().count(),
        "ready": ready.iter().flatten().count(),
        "requests": requests_json(&delta(&at_converged, &before), n),
        "requests_until_ready": requests_json(&delta(&at_ready, &before), n),
        "operator": operator_converged,
        "operator_until_ready": operator_ready,
        "cpu_seconds": cpu_json(&cpu_converged, &cpu_before),
        "cpu_seconds_until_ready": cpu_json(&cpu_ready, &cpu_before),
        "curve": curve(&converged),
        "curve_ready": curve(&ready),
        "curve_available": curve(&available),
        "loadavg_before": load, "loadavg_after": loadavg(), "quiet_after_seconds": quiet,
    });
    println!(
        "  op    N={n:<5} kubectl {applied:.2} s; all children exist after {}, and every status observed: {}; all Ready after {}",
        fmt_s(result["children_seconds"].as_f64()),
        fmt_s(result["converged_seconds"].as_f64()),
        fmt_s(result["ready_seconds"].as_f64()),
    );
    print_requests("until children + observed", &result["requests"]);
    print_requests("until Ready", &result["requests_until_ready"]);
    print_cpu("until children + observed", &result["cpu_seconds"]);
    print_operator("until Ready", &result["operator_until_ready"]);
    if restart {
        let r = restart_operator(cfg, cluster, &ns, op, n, pass).await?;
        result["restart"] = r;
    } else {
        op.stop().await?;
    }
    drop(watches);
    let cleanup =
        delete_namespaces(&client, std::slice::from_ref(&ns), cfg.bound(120.0, 0.2, n)).await?;
    println!("    namespace deleted in {cleanup:.1} s");
    Ok(result)
}

pub(crate) fn print_operator(label: &str, o: &Value) {
    let f = |k: &str| o[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "    operator, {label}: {:.2} writes/Exposure, {:.2} reconciles/Exposure, reconcile p50 {:.1} ms p99 {:.1} ms, {} errors, CPU {:.2} s, {:.1} s waiting for the client rate limit, RSS {:.1} → {:.1} MiB (peak {:.1}), {:.1} KiB/Exposure",
        f("writes_per_exposure"),
        f("reconciles_per_exposure"),
        f("reconcile_p50_ms"),
        f("reconcile_p99_ms"),
        f("reconcile_errors"),
        f("cpu_seconds"),
        f("throttled_seconds"),
        f("rss_start_mib"),
        f("rss_end_mib"),
        f("rss_peak_mib"),
        f("rss_kib_per_exposure"),
    );
    let writes: Vec<String> = o["writes_by_kind_verb"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|w| {
            format!(
                "{} {} {:.2}",
                w["verb"].as_str().unwrap_or(""),
                w["kind"].as_str().unwrap_or(""),
                w["per_exposure"].as_f64().unwrap_or(0.0)
            )
        })
        .collect();
    for chunk in writes.chunks(4) {
        println!("      {}", chunk.join(" | "));
    }
}

/// Stops the operator over `n` settled Exposures and starts it again: seconds to `/readyz`,
/// and what it wrote until it had reconciled every Exposure once more (should be nothing).
pub(crate) async fn restart_operator(
    cfg: &Config,
    cluster: &Cluster,
    ns: &str,
    op: Operator,
    n: usize,
    pass: &Pass<'_>,
) -> Result<Value> {
    let client = cluster.client();
    settle_writes(&op, cfg.bound(30.0, 0.02, n)).await?;
    op.stop().await?;
    let before = apiserver_requests(&client).await?;
    // Every Exposure reconciled once after the start (the initial list queues them all).
    let (op, ready_seconds, reconciled_seconds) = start_operator_timed(
        cfg,
        cluster,
        ns,
        &format!("{}-{n}-restart", pass.name),
        Some(n),
    )
    .await?;
    if reconciled_seconds.is_none() {
        eprintln!("[bench]   restart: not all {n} Exposures reconciled in time");
    }
    let zero = OpSnapshot::default();
    // A little longer: anything a reconcile queued right away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_op = op_snapshot(&op).await?;
    let after = apiserver_requests(&client).await?;
    let operator = operator_json(&after_op, &zero, n);
    // What the start-up's burst left resident once the operator has been at rest a while (two
    // of its periodic heap trims).
    tokio::time::sleep(RESTART_REST).await;
    let rested = op_snapshot(&op).await?;
    op.stop().await?;
    let result = json!({
        "n": n,
        "readyz_seconds": ready_seconds,
        "all_reconciled_seconds": reconciled_seconds,
        "writes": operator["writes"],
        "operator": operator,
        "rss_rested_mib": rested.rss_kib / 1024.0,
        "rested_seconds": RESTART_REST.as_secs(),
        "requests": requests_json(&delta(&after, &before), n),
    });
    println!(
        "  restart over {n} settled Exposures: /readyz 200 after {ready_seconds:.2} s, every Exposure reconciled after {}, writes during start-up: {}, RSS {} MiB (peak {}), {} MiB after {} s at rest",
        fmt_s(reconciled_seconds),
        cell(result["writes"].as_f64(), 0),
        cell(result["operator"]["rss_end_mib"].as_f64(), 1),
        cell(result["operator"]["rss_peak_mib"].as_f64(), 1),
        cell(result["rss_rested_mib"].as_f64(), 1),
        RESTART_REST.as_secs()
    );
    print_requests("during the start-up", &result["requests"]);
    Ok(result)
}
