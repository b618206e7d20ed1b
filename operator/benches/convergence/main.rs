//! Convergence benchmark (issue #14): the operator against the same children applied raw, on one
//! control plane, for several N. Prints figures as it goes and writes `convergence.json` and
//! `convergence.md` (the plot: `scripts/bench_plot.py`). Asserts nothing about time.
//!
//!   scripts/bench.sh                      (cluster of its own, this bench, the plot)
//!   EXPOSURE_E2E_KUBECONFIG=e2e/.cluster-bench/admin.kubeconfig BENCH_SIZES=100 BENCH_STORAGE=0 \
//!     cargo bench -p exposure-operator --bench convergence
//!
//! For every N and pass (without, then with one volume per Exposure), each in a fresh namespace:
//! * raw:  `exposure-operator render` of the N Exposures, split by Exposure into `--concurrency`
//!   streams, each applied by one `kubectl apply --server-side` at the same time;
//! * raw+: the Exposures and their children in one stream, one `kubectl apply --server-side`,
//!   no operator watching;
//! * op:   the N Exposures in one `kubectl apply --server-side`, the operator (release build)
//!   running: until every child exists and every status observed its generation, then until
//!   every Exposure is Ready. At the largest N: restart of the operator.
//!
//! Convergence is observed by watches from this process (the first time each child exists,
//! each status), not by polling. Before the sizes: one Exposure at a time, 50 times, operator vs
//! its children applied with the kube client.
//!
//! Environment: BENCH_SIZES (default 100,1000,3000), BENCH_STORAGE (1), BENCH_STORAGE_SIZES
//! (BENCH_SIZES), BENCH_TRIALS (50), BENCH_CONCURRENCY (8, the operator's default),
//! BENCH_OUT_DIR (<repo>/target/bench), BENCH_OPERATOR_LOG (RUST_LOG of the operator; unset:
//! its default), BENCH_TIMEOUT_SCALE (1.0, multiplies every wait bound), BENCH_KUBECTL_VALIDATE
//! (false: every kubectl apply runs with --validate=false; `strict` is kubectl's default),
//! BENCH_OPERATOR_BIN (the operator run under test; default: this build's, which also renders
//! the raw children either way), to measure another build in the same conditions,
//! BENCH_PAIRS (1: how many times T_raw+ and T_op are measured at each N of the base pass;
//! the repeats alternate their order, and the ratio's median and spread are reported, since
//! one pair moves with the machine's load), BENCH_OPERATOR_ARGS (more flags of
//! `exposure-operator run`, split at spaces, e.g. `--kube-api-qps 400`).

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use exposure_crd::Exposure;
use exposure_e2e::{cluster, random_suffix, Cluster};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, ServiceAccount};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, PartialObjectMeta, Patch, PatchParams,
    PostParams,
};
use kube::core::GroupVersionKind;
use kube::runtime::watcher;
use kube::{Api, Client};
use serde::Deserialize as _;
use serde_json::{json, Value};
use support::{free_port, http_get, install_crd, is_ready, Operator};
use tokio::task::JoinHandle;

const OPERATOR: &str = env!("CARGO_BIN_EXE_exposure-operator");
/// Label on every namespace of the benchmark (leftovers of an aborted run are deleted at start).
const BENCH_LABEL: &str = "exposure.dev/bench";
const RAW_MANAGER: &str = "exposure-bench-raw";
/// How long the restarted operator rests before its RSS is read again.
const RESTART_REST: Duration = Duration::from_secs(30);
const USER_MANAGER: &str = "exposure-bench-user";

mod cluster_helpers;
mod config;
mod metrics;
mod phases;
mod single;
mod summary;
mod tracker;
mod workload;

use cluster_helpers::*;
use config::*;
use metrics::*;
use phases::*;
use single::*;
use summary::*;
use tracker::*;
use workload::*;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let cfg = Config::from_env()?;
    std::fs::create_dir_all(&cfg.out_dir)?;
    let cluster = cluster().await?;
    let client = cluster.client();
    install_crd(&cluster).await?;
    leftovers(&client).await?;
    let version = client.apiserver_version().await?.git_version;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load_start = loadavg();
    println!(
        "convergence benchmark: Kubernetes {version}, {cpus} CPUs, load average {load_start}; sizes {:?}, storage sizes {:?}, concurrency {}, output {}",
        cfg.sizes,
        cfg.storage_sizes,
        cfg.concurrency,
        cfg.out_dir.display()
    );
    println!("  mix of every 20 Exposures: 12 Internal, 5 Ingress, 2 NodePort, 1 LoadBalancer; a quarter headless; 1 replica each");

    let single = if cfg.trials > 0 {
        single_trials(&cfg, &cluster).await?
    } else {
        Value::Null
    };

    let mut results = Vec::new();
    let mut class = None;
    let passes: Vec<(&str, &[usize])> = vec![("base", &cfg.sizes), ("storage", &cfg.storage_sizes)];
    for (pass_name, sizes) in passes {
        if sizes.is_empty() {
            continue;
        }
        if pass_name == "storage" {
            class = Some(create_class(&client).await?);
        }
        let pass = Pass {
            name: if pass_name == "base" {
                "base"
            } else {
                "storage"
            },
            class: class.as_deref(),
        };
        let largest = sizes.iter().copied().max().unwrap_or(0);
        for &n in sizes {
            println!(
                "[{} N={n}]{}",
                pass.name,
                if pass.class.is_some() {
                    " one simulated 1Gi volume per Exposure"
                } else {
                    ""
                }
            );
            if cfg.raw {
                results.push(phase_raw(&cfg, &cluster, &pass, n).await?);
                results.push(phase_raw_plus(&cfg, &cluster, &pass, n).await?);
            }
            results.push(phase_op(&cfg, &cluster, &pass, n, n == largest).await?);
            // More pairs, in alternating order so that a drift of the machine's load does not
            // always favour the same side.
            let repeats = if cfg.raw && pass.class.is_none() {
                cfg.pairs - 1
            } else {
                0
            };
            for k in 1..=repeats {
                println!("  pair {} of {}", k + 1, cfg.pairs);
                let mut pair = Vec::new();
                if k % 2 == 1 {
                    pair.push(phase_op(&cfg, &cluster, &pass, n, false).await?);
                    pair.push(phase_raw_plus(&cfg, &cluster, &pass, n).await?);
                } else {
                    pair.push(phase_raw_plus(&cfg, &cluster, &pass, n).await?);
                    pair.push(phase_op(&cfg, &cluster, &pass, n, false).await?);
                }
                for mut r in pair {
                    r["repeat"] = json!(k);
                    results.push(r);
                }
            }
            let rows = summary_rows(&results);
            if let Some(r) = rows.iter().find(|r| r["pass"] == pass.name && r["n"] == n) {
                println!(
                    "  → T_op/T_raw {} , T_op/T_raw+ {}{}",
                    cell(r["t_op_over_t_raw"].as_f64(), 2),
                    cell(r["t_op_over_t_raw_plus"].as_f64(), 2),
                    pairs_note(r)
                );
            }
        }
        if let Some(name) = &class {
            delete_class(&client, name, cfg.bound(120.0, 0.1, largest)).await?;
        }
    }

    let rows = summary_rows(&results);
    let meta = json!({
        "kubernetes": version,
        "cpus": cpus,
        "concurrency": cfg.concurrency,
        "operator_args": cfg.operator_args,
        "sizes": cfg.sizes,
        "storage_sizes": cfg.storage_sizes,
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "rss_slope_kib_per_exposure": {
            "base": rss_slope(&rows, "base"),
            "storage": rss_slope(&rows, "storage"),
        },
    });
    let md = markdown(&rows, &results, &single, &meta);
    println!("\n{md}");
    for pass in ["base", "storage"] {
        if let Some(s) = meta["rss_slope_kib_per_exposure"][pass].as_f64() {
            println!("RSS at Ready over N ({pass}): {s:.1} KiB per Exposure (least squares over the sizes)");
        }
    }
    let json_out = json!({
        "meta": meta,
        "summary": rows,
        "single": single,
        "phases": results,
    });
    std::fs::write(
        cfg.out_dir.join("convergence.json"),
        serde_json::to_string_pretty(&json_out)?,
    )?;
    std::fs::write(cfg.out_dir.join("convergence.md"), md)?;
    println!(
        "wrote {} and {}",
        cfg.out_dir.join("convergence.json").display(),
        cfg.out_dir.join("convergence.md").display()
    );
    Ok(())
}
