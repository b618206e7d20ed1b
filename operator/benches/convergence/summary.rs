//! The summary rows, the pairs' ratios and the markdown report.

use super::*;

/// T_op/T_raw+ of every pair measured at (pass, n), in the order measured: the first pair and
/// the repeats (`repeat` k holds the k-th repeat's raw+ and op).
pub(crate) fn pair_ratios(results: &[Value], pass: &str, n: u64) -> Vec<f64> {
    let seconds = |phase: &str, repeat: &Value| {
        results
            .iter()
            .find(|r| {
                r["pass"] == pass && r["n"] == n && r["phase"] == phase && r["repeat"] == *repeat
            })
            .and_then(|r| r["converged_seconds"].as_f64())
    };
    let mut repeats = vec![Value::Null];
    repeats.extend(
        results
            .iter()
            .filter(|r| r["pass"] == pass && r["n"] == n && r["phase"] == "op")
            .map(|r| r["repeat"].clone())
            .filter(|k| !k.is_null()),
    );
    repeats
        .iter()
        .filter_map(|k| ratio(seconds("op", k), seconds("raw+", k)))
        .collect()
}

pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        len if len % 2 == 1 => v.get(mid).copied(),
        _ => Some((v[mid - 1] + v[mid]) / 2.0),
    }
}

pub(crate) fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?).filter(|r| r.is_finite())
}

/// ", over 3 pairs: 0.85, 0.93, 1.02 (median 0.93)", or nothing for a single pair.
pub(crate) fn pairs_note(row: &Value) -> String {
    let pairs: Vec<String> = row["t_op_over_t_raw_plus_pairs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .map(|x| format!("{x:.2}"))
        .collect();
    if pairs.len() < 2 {
        return String::new();
    }
    format!(
        ", over {} pairs: {} (median {})",
        pairs.len(),
        pairs.join(", "),
        cell(row["t_op_over_t_raw_plus_median"].as_f64(), 2)
    )
}

pub(crate) fn cell(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

pub(crate) fn summary_rows(results: &[Value]) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut keys: Vec<(String, u64)> = Vec::new();
    for r in results {
        let key = (
            r["pass"].as_str().unwrap_or("").to_string(),
            r["n"].as_u64().unwrap_or(0),
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for (pass, n) in keys {
        let find = |phase: &str| {
            results.iter().find(|r| {
                r["pass"] == pass.as_str()
                    && r["n"] == n
                    && r["phase"] == phase
                    && r["repeat"].is_null()
            })
        };
        let pairs = pair_ratios(results, &pass, n);
        let (raw, plus, op) = (find("raw"), find("raw+"), find("op"));
        let t = |r: Option<&Value>, k: &str| r.and_then(|r| r[k].as_f64());
        let opv = |k: &str| op.and_then(|o| o["operator_until_ready"][k].as_f64());
        let t_raw = t(raw, "converged_seconds");
        let t_plus = t(plus, "converged_seconds");
        let t_op = t(op, "converged_seconds");
        rows.push(json!({
            "pass": pass, "n": n,
            "t_raw": t_raw, "t_raw_plus": t_plus, "t_op": t_op,
            "t_op_ready": t(op, "ready_seconds"),
            "t_raw_available": t(raw, "deployments_available_seconds"),
            "t_op_over_t_raw": ratio(t_op, t_raw),
            "t_op_over_t_raw_plus": ratio(t_op, t_plus),
            "t_op_over_t_raw_plus_pairs": pairs,
            "t_op_over_t_raw_plus_median": median(&pairs),
            "operator_writes_per_exposure": opv("writes_per_exposure"),
            "apiserver_writes_per_exposure": op.and_then(|o| o["requests_until_ready"]["writes_per_exposure"].as_f64()),
            "apiserver_reads_per_exposure": op.and_then(|o| o["requests_until_ready"]["reads_per_exposure"].as_f64()),
            "raw_apiserver_writes_per_exposure": raw.and_then(|o| o["requests"]["writes_per_exposure"].as_f64()),
            "reconciles_per_exposure": opv("reconciles_per_exposure"),
            "reconcile_p50_ms": opv("reconcile_p50_ms"),
            "reconcile_p99_ms": opv("reconcile_p99_ms"),
            "cpu_seconds": opv("cpu_seconds"),
            "throttled_seconds": op.and_then(|o| o["operator"]["throttled_seconds"].as_f64()),
            "rss_start_mib": opv("rss_start_mib"),
            "rss_end_mib": opv("rss_end_mib"),
            "rss_kib_per_exposure": opv("rss_kib_per_exposure"),
        }));
    }
    rows
}

pub(crate) fn markdown(rows: &[Value], results: &[Value], single: &Value, meta: &Value) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "Convergence benchmark, {} ({} CPUs, load average {} at the start, {} at the end), operator `--concurrency {}{}`.\n\n",
        meta["kubernetes"].as_str().unwrap_or("?"),
        meta["cpus"],
        meta["loadavg_start"].as_str().unwrap_or(""),
        meta["loadavg_end"].as_str().unwrap_or(""),
        meta["concurrency"],
        meta["operator_args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .fold(String::new(), |line, arg| line + " " + arg),
    ));
    md.push_str("| pass | N | T_raw s | T_raw+ s | T_op s | T_op Ready s | T_op/T_raw | T_op/T_raw+ | operator writes/Exp | API writes/Exp (op, all clients) | API reads/Exp | reconciles/Exp | reconcile p50 ms | p99 ms | operator CPU s | waited for the rate limit s | RSS MiB start → Ready | RSS KiB/Exp |\n");
    md.push_str(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let f = |k: &str, d: usize| cell(r[k].as_f64(), d);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {} |\n",
            r["pass"].as_str().unwrap_or(""),
            r["n"],
            f("t_raw", 2),
            f("t_raw_plus", 2),
            f("t_op", 2),
            f("t_op_ready", 2),
            f("t_op_over_t_raw", 2),
            f("t_op_over_t_raw_plus", 2),
            f("operator_writes_per_exposure", 2),
            f("apiserver_writes_per_exposure", 2),
            f("apiserver_reads_per_exposure", 2),
            f("reconciles_per_exposure", 2),
            f("reconcile_p50_ms", 1),
            f("reconcile_p99_ms", 1),
            f("cpu_seconds", 2),
            f("throttled_seconds", 1),
            f("rss_start_mib", 1),
            f("rss_end_mib", 1),
            f("rss_kib_per_exposure", 1),
        ));
    }
    for r in rows {
        let note = pairs_note(r);
        if !note.is_empty() {
            md.push_str(&format!(
                "\nT_op/T_raw+ at {} N={}{} (the first pair is the row above; the repeats alternate which runs first).\n",
                r["pass"].as_str().unwrap_or(""),
                r["n"],
                note
            ));
        }
    }
    let restarts: Vec<&Value> = results.iter().filter(|r| !r["restart"].is_null()).collect();
    if !restarts.is_empty() {
        md.push_str("\n| restart | N settled | /readyz 200 after s | every Exposure reconciled after s | writes during start-up | API reads/Exp during start-up | RSS MiB after start-up (peak) | RSS MiB at rest after |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in restarts {
            let s = &r["restart"];
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} ({}) | {} ({} s) |\n",
                r["pass"].as_str().unwrap_or(""),
                s["n"],
                cell(s["readyz_seconds"].as_f64(), 2),
                cell(s["all_reconciled_seconds"].as_f64(), 2),
                cell(s["writes"].as_f64(), 0),
                cell(s["requests"]["reads_per_exposure"].as_f64(), 2),
                cell(s["operator"]["rss_end_mib"].as_f64(), 1),
                cell(s["operator"]["rss_peak_mib"].as_f64(), 1),
                cell(s["rss_rested_mib"].as_f64(), 1),
                s["rested_seconds"],
            ));
        }
    }
    if !single.is_null() {
        let q = |k: &str, p: &str| cell(single[k][p].as_f64(), 1);
        md.push_str(&format!(
            "\n| one Exposure ({} children), {} trials | p50 ms | p90 ms |\n|---|---:|---:|\n| operator: apply → all children exist | {} | {} |\n| operator: apply → children and status | {} | {} |\n| raw: its children applied with the kube client | {} | {} |\n",
            single["children_per_exposure"],
            single["trials"],
            q("operator_children", "p50_ms"),
            q("operator_children", "p90_ms"),
            q("operator_children_and_status", "p50_ms"),
            q("operator_children_and_status", "p90_ms"),
            q("raw_children", "p50_ms"),
            q("raw_children", "p90_ms"),
        ));
    }
    md.push_str("\nRequests per Exposure by verb and resource (API server `apiserver_request_total`, all clients; ≥ 0.05 per Exposure):\n");
    for r in results {
        let windows: &[(&str, &str)] = if r["phase"] == "op" {
            &[
                ("requests", "until children + observed"),
                ("requests_until_ready", "until Ready"),
            ]
        } else {
            &[("requests", "until all exist")]
        };
        for (key, label) in windows {
            let rows: Vec<String> = r[*key]["by_verb_resource"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter(|x| x["per_exposure"].as_f64().unwrap_or(0.0) >= 0.05)
                .map(|x| {
                    format!(
                        "{} {} {:.2}",
                        x["verb"].as_str().unwrap_or(""),
                        x["resource"].as_str().unwrap_or(""),
                        x["per_exposure"].as_f64().unwrap_or(0.0)
                    )
                })
                .collect();
            md.push_str(&format!(
                "\n* {} N={} {}{} {}: {}\n",
                r["pass"].as_str().unwrap_or(""),
                r["n"],
                r["phase"].as_str().unwrap_or(""),
                r["repeat"]
                    .as_u64()
                    .map(|k| format!(" (pair {})", k + 1))
                    .unwrap_or_default(),
                label,
                rows.join(", ")
            ));
        }
        if r["phase"] == "op" {
            let w: Vec<String> = r["operator_until_ready"]["writes_by_kind_verb"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|x| {
                    format!(
                        "{} {} {:.2}",
                        x["verb"].as_str().unwrap_or(""),
                        x["kind"].as_str().unwrap_or(""),
                        x["per_exposure"].as_f64().unwrap_or(0.0)
                    )
                })
                .collect();
            md.push_str(&format!(
                "  * operator's own `exposure_api_writes_total` until Ready: {}\n",
                w.join(", ")
            ));
        }
    }
    md
}

/// Least-squares slope of RSS at Ready over N (KiB per Exposure), across the sizes of a pass.
pub(crate) fn rss_slope(rows: &[Value], pass: &str) -> Option<f64> {
    let pts: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r["pass"] == pass)
        .filter_map(|r| Some((r["n"].as_f64()?, r["rss_end_mib"].as_f64()? * 1024.0)))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let k = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let var: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    (var > 0.0).then(|| pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / var)
}
