//! Benchmark against the local control plane: N Exposures from nothing to Ready, with the
//! operator's API writes, reconcile time and memory, then an idle window. Prints figures;
//! asserts nothing.
//!
//!   cargo bench -p exposure-operator --bench cluster            (N = 50)
//!   BENCH_EXPOSURES=200 BENCH_IDLE_SECONDS=60 cargo bench -p exposure-operator --bench cluster

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use exposure_crd::Exposure;
use exposure_e2e::{cluster, TestNamespace};
use kube::api::ListParams;
use kube::Api;
use support::*;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (VmRSS, VmHWM) in MiB of a process.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn spec(i: u64) -> String {
    let name = format!("bench-{i:04}");
    match i % 4 {
        0 => format!("metadata: {{name: {name}}}\nspec: {{image: nginx:1.25, ports: [{{containerPort: 80}}]}}"),
        1 => format!("metadata: {{name: {name}}}\nspec: {{image: nginx:1.25, ports: [{{containerPort: 80}}], visibility: {{type: NodePort}}}}"),
        2 => format!(
            "metadata: {{name: {name}}}\nspec: {{image: nginx:1.25, ports: [{{containerPort: 80}}], visibility: {{type: Ingress}}, ingress: {{host: {name}.bench.example.com}}}}"
        ),
        _ => format!("metadata: {{name: {name}}}\nspec: {{image: nginx:1.25, replicas: 2, headless: true, ports: [{{name: http, containerPort: 80}}]}}"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n = env_number("BENCH_EXPOSURES", 50);
    let idle = env_number("BENCH_IDLE_SECONDS", 30);
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "bench").await?;
    let op = Operator::start(&cluster, &[ns.name()], &["--resync-seconds", "10"]).await?;
    let pid = op.pid().unwrap_or_default();
    let (rss_idle, _) = memory_mib(pid);
    let exposures: Api<Exposure> = ns.api();

    let started = Instant::now();
    for i in 0..n {
        apply_exposure(&exposures, &spec(i)).await?;
    }
    let applied = started.elapsed();
    let ready_after = loop {
        let list = exposures.list(&ListParams::default()).await?;
        if list.items.len() as u64 == n && list.items.iter().all(is_ready) {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("not all {n} Exposures Ready after 600 s\n{}", op.logs());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let metrics = op.metrics().await?;
    let writes = metric_sum(&metrics, "exposure_api_writes_total", None);
    let reconciles = metric_sum(&metrics, "exposure_reconciles_total", None);
    let duration_sum = metric_sum(&metrics, "exposure_reconcile_duration_seconds_sum", None);
    let (rss_busy, hwm) = memory_mib(pid);

    tokio::time::sleep(Duration::from_secs(idle)).await;
    let metrics_idle = op.metrics().await?;
    let idle_writes = metric_sum(&metrics_idle, "exposure_api_writes_total", None) - writes;
    let idle_reconciles = metric_sum(&metrics_idle, "exposure_reconciles_total", None) - reconciles;
    let (rss_after, hwm_after) = memory_mib(pid);

    println!("cluster benchmark: {n} Exposures (Internal / NodePort / Ingress / headless, 1-2 replicas), local control plane");
    println!(
        "  applied in                 {:>8.2} s",
        applied.as_secs_f64()
    );
    println!(
        "  all Ready after            {:>8.2} s  ({:.1} Exposures/s)",
        ready_after.as_secs_f64(),
        n as f64 / ready_after.as_secs_f64()
    );
    println!(
        "  reconciles until Ready     {:>8.0}    ({:.1} per Exposure)",
        reconciles,
        reconciles / n as f64
    );
    println!(
        "  mean reconcile duration    {:>8.2} ms",
        1000.0 * duration_sum / reconciles.max(1.0)
    );
    println!(
        "  API writes until Ready     {:>8.0}    ({:.1} per Exposure: children, status, events)",
        writes,
        writes / n as f64
    );
    println!(
        "  idle {idle:>3} s: reconciles  {:>8.0}    API writes {idle_writes:.0}",
        idle_reconciles
    );
    println!("  operator RSS: start {rss_idle:.1} MiB, at Ready {rss_busy:.1} MiB, after idle {rss_after:.1} MiB, peak {:.1} MiB", hwm.max(hwm_after));
    op.stop().await?;
    ns.cleanup().await
}
