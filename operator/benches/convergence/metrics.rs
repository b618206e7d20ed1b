//! Figures of the API server (`apiserver_request_total`), of the operator (its metrics, CPU, RSS) and of the cluster's processes.

use super::*;

/// One sample of a Prometheus text line: name, labels, value.
pub(crate) fn parse_sample(line: &str) -> Option<(&str, BTreeMap<String, String>, f64)> {
    if line.starts_with('#') || line.is_empty() {
        return None;
    }
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.trim().parse().ok()?;
    let Some(brace) = head.find('{') else {
        return Some((head, BTreeMap::new(), value));
    };
    let name = &head[..brace];
    let mut labels = BTreeMap::new();
    let mut rest = head[brace + 1..].trim_end_matches('}');
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut val = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(n);
                    }
                }
                '"' => {
                    end = at + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_string(), val);
        rest = &after[end..];
    }
    Some((name, labels, value))
}

/// Waits (bounded) until the API server takes at most 3 writes in 3 s (an idle cluster: node
/// leases), so that a phase does not count what the previous one's deletion still causes (the
/// controller-manager works through deleted Services and pods at its client rate limit).
pub(crate) async fn wait_quiet(client: &Client, timeout: Duration) -> Result<f64> {
    let writes = |r: &Requests| -> f64 {
        r.iter()
            .filter(|((verb, _), _)| is_write(verb))
            .fold(0.0, |sum, (_, c)| sum + c)
    };
    let started = Instant::now();
    let mut samples = vec![writes(&apiserver_requests(client).await?)];
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(writes(&apiserver_requests(client).await?));
        if samples.len() >= 4 && samples[samples.len() - 1] - samples[samples.len() - 4] <= 3.0 {
            let waited = started.elapsed().as_secs_f64();
            if waited > 6.0 {
                eprintln!("[bench]   the API server was quiet after {waited:.0} s");
            }
            return Ok(waited);
        }
        if started.elapsed() > timeout {
            eprintln!("[bench]   the API server still took writes after {timeout:?}; going on");
            return Ok(started.elapsed().as_secs_f64());
        }
    }
}

/// `apiserver_request_total` summed by (verb, resource incl. group and subresource).
pub(crate) type Requests = BTreeMap<(String, String), f64>;

pub(crate) async fn apiserver_requests(client: &Client) -> Result<Requests> {
    let request = http::Request::get("/metrics").body(Vec::new())?;
    let text = client
        .request_text(request)
        .await
        .context("GET /metrics on the API server")?;
    let mut out = Requests::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some((_, labels, value)) = parse_sample(line) else {
            continue;
        };
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let mut resource = get("resource");
        let group = get("group");
        if !group.is_empty() {
            resource = format!("{resource}.{group}");
        }
        let sub = get("subresource");
        if !sub.is_empty() {
            resource = format!("{resource}/{sub}");
        }
        *out.entry((get("verb"), resource)).or_default() += value;
    }
    Ok(out)
}

pub(crate) fn delta(after: &Requests, before: &Requests) -> Requests {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

pub(crate) fn is_write(verb: &str) -> bool {
    matches!(
        verb,
        "POST" | "PUT" | "PATCH" | "APPLY" | "DELETE" | "DELETECOLLECTION" | "CREATE" | "UPDATE"
    )
}

pub(crate) fn is_read(verb: &str) -> bool {
    matches!(verb, "GET" | "LIST" | "WATCH")
}

/// The API server's requests over a window, per Exposure.
pub(crate) fn requests_json(d: &Requests, n: usize) -> Value {
    // fold from +0.0: an empty f64 sum is -0.0.
    let per = |f: &dyn Fn(&str) -> bool| {
        d.iter()
            .filter(|((v, _), _)| f(v))
            .fold(0.0, |sum, (_, c)| sum + c)
    };
    let rows: Vec<Value> = {
        let mut rows: Vec<(&(String, String), &f64)> = d.iter().collect();
        rows.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
        rows.iter()
            .map(|((verb, resource), count)| {
                json!({"verb": verb, "resource": resource, "count": count, "per_exposure": *count / n as f64})
            })
            .collect()
    };
    json!({
        "writes": per(&is_write), "reads": per(&is_read),
        "writes_per_exposure": per(&is_write) / n as f64,
        "reads_per_exposure": per(&is_read) / n as f64,
        "by_verb_resource": rows,
    })
}

/// The operator's counters and process figures at one moment.
#[derive(Clone, Default)]
pub(crate) struct OpSnapshot {
    pub(crate) writes: BTreeMap<(String, String), f64>,
    pub(crate) reconciles: f64,
    pub(crate) errors: f64,
    pub(crate) warnings: f64,
    pub(crate) throttled_seconds: f64,
    pub(crate) buckets: Vec<(f64, f64)>,
    pub(crate) duration_sum: f64,
    pub(crate) cpu_seconds: f64,
    pub(crate) rss_kib: f64,
    pub(crate) hwm_kib: f64,
}

pub(crate) fn proc_figures(pid: u32) -> (f64, f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command: field 3 (state) is index 0; utime is field 14, stime field 15.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    ((ticks(11) + ticks(12)) / hz, kib("VmRSS:"), kib("VmHWM:"))
}

pub(crate) async fn op_snapshot(op: &Operator) -> Result<OpSnapshot> {
    let text = op.metrics().await?;
    let mut s = OpSnapshot::default();
    for (name, labels, value) in text.lines().filter_map(parse_sample) {
        match name {
            "exposure_api_writes_total" => {
                let key = (
                    labels.get("kind").cloned().unwrap_or_default(),
                    labels.get("verb").cloned().unwrap_or_default(),
                );
                *s.writes.entry(key).or_default() += value;
            }
            "exposure_reconciles_total" => s.reconciles += value,
            "exposure_reconcile_errors_total" => s.errors += value,
            "exposure_api_warnings_total" => s.warnings += value,
            "exposure_api_throttled_seconds_total" => s.throttled_seconds += value,
            "exposure_reconcile_duration_seconds_bucket" => {
                let le = labels.get("le").map_or(f64::INFINITY, |l| {
                    if l == "+Inf" {
                        f64::INFINITY
                    } else {
                        l.parse().unwrap_or(f64::INFINITY)
                    }
                });
                s.buckets.push((le, value));
            }
            "exposure_reconcile_duration_seconds_sum" => s.duration_sum += value,
            _ => {}
        }
    }
    s.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (cpu, rss, hwm) = proc_figures(op.pid().unwrap_or_default());
    s.cpu_seconds = cpu;
    s.rss_kib = rss;
    s.hwm_kib = hwm;
    Ok(s)
}

/// The q-quantile of the reconciles between two snapshots, from the histogram buckets,
/// interpolated linearly inside the bucket as Prometheus' histogram_quantile does.
pub(crate) fn quantile(after: &OpSnapshot, before: &OpSnapshot, q: f64) -> Option<f64> {
    let buckets: Vec<(f64, f64)> = after
        .buckets
        .iter()
        .map(|(le, c)| {
            let b = before
                .buckets
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0.0, |(_, c)| *c);
            (*le, c - b)
        })
        .collect();
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut prev_le, mut prev_count) = (0.0, 0.0);
    for (le, count) in &buckets {
        if *count >= rank {
            if le.is_infinite() {
                return Some(prev_le);
            }
            let inside = (count - prev_count).max(f64::MIN_POSITIVE);
            return Some(prev_le + (le - prev_le) * (rank - prev_count) / inside);
        }
        (prev_le, prev_count) = (*le, *count);
    }
    Some(prev_le)
}

pub(crate) fn operator_json(after: &OpSnapshot, before: &OpSnapshot, n: usize) -> Value {
    let writes: Vec<Value> = after
        .writes
        .iter()
        .map(|(k, v)| (k, v - before.writes.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .map(|((kind, verb), v)| json!({"kind": kind, "verb": verb, "count": v, "per_exposure": v / n as f64}))
        .collect();
    let total = writes
        .iter()
        .filter_map(|w| w["count"].as_f64())
        .fold(0.0, |sum, c| sum + c);
    let reconciles = after.reconciles - before.reconciles;
    json!({
        "writes": total,
        "writes_per_exposure": total / n as f64,
        "writes_by_kind_verb": writes,
        "reconciles": reconciles,
        "reconciles_per_exposure": reconciles / n as f64,
        "reconcile_errors": after.errors - before.errors,
        "api_warnings": after.warnings - before.warnings,
        "throttled_seconds": after.throttled_seconds - before.throttled_seconds,
        "reconcile_p50_ms": quantile(after, before, 0.5).map(|s| s * 1000.0),
        "reconcile_p99_ms": quantile(after, before, 0.99).map(|s| s * 1000.0),
        "reconcile_mean_ms": if reconciles > 0.0 { Some(1000.0 * (after.duration_sum - before.duration_sum) / reconciles) } else { None },
        "cpu_seconds": after.cpu_seconds - before.cpu_seconds,
        "rss_start_mib": before.rss_kib / 1024.0,
        "rss_end_mib": after.rss_kib / 1024.0,
        "rss_peak_mib": after.hwm_kib / 1024.0,
        "rss_kib_per_exposure": (after.rss_kib - before.rss_kib) / n as f64,
    })
}

/// CPU seconds so far of the cluster's components (the PID files `e2e/cluster` keeps next to
/// the admin kubeconfig, if there are any), of this process and of the operator.
pub(crate) fn cpu_seconds(cluster: &Cluster, operator: Option<&Operator>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if let Some(dir) = cluster.kubeconfig_path().parent().map(|d| d.join("pids")) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok())
            {
                out.insert(name.to_string(), proc_figures(pid).0);
            }
        }
    }
    out.insert("bench".to_string(), proc_figures(std::process::id()).0);
    if let Some(pid) = operator.and_then(Operator::pid) {
        out.insert("exposure-operator".to_string(), proc_figures(pid).0);
    }
    out
}

pub(crate) fn cpu_json(after: &BTreeMap<String, f64>, before: &BTreeMap<String, f64>) -> Value {
    json!(after
        .iter()
        .map(|(k, v)| (k.clone(), round3(v - before.get(k).copied().unwrap_or(0.0))))
        .collect::<BTreeMap<_, _>>())
}

pub(crate) fn print_cpu(label: &str, cpu: &Value) {
    let parts: Vec<String> = cpu
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k} {:.1}", v.as_f64().unwrap_or(0.0)))
        .collect();
    println!("    CPU seconds {label}: {}", parts.join(", "));
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
