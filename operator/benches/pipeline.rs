//! Benchmark of the pure pipeline: parse → validate → build → drift check → status, per
//! Exposure, over every example. Prints figures; asserts nothing.
//!
//!   cargo bench -p exposure-operator --bench pipeline

use std::hint::black_box;
use std::time::{Duration, Instant};

use exposure_operator::build::build;
use exposure_operator::cluster::ClusterInfo;
use exposure_operator::decide::desired_children;
use exposure_operator::drift;
use exposure_operator::parse::parse_exposures;
use exposure_operator::status::{compute_status, Observed, Outcome};
use exposure_operator::validate::validate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

fn examples() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// Runs `f` in batches for about a second; returns the median time per call.
fn measure(mut f: impl FnMut()) -> Duration {
    let mut per_call = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline || per_call.len() < 5 {
        let start = Instant::now();
        for _ in 0..100 {
            f();
        }
        per_call.push(start.elapsed() / 100);
    }
    per_call.sort();
    per_call[per_call.len() / 2]
}

fn main() {
    let text = examples();
    let cluster = ClusterInfo::default();
    let exposures: Vec<_> = parse_exposures(&text)
        .into_iter()
        .filter_map(|d| d.result.ok())
        .collect();
    let n = exposures.len() as u32;
    println!("pipeline benchmark over {n} example Exposures (median per Exposure)");

    let parse = measure(|| {
        black_box(parse_exposures(black_box(&text)));
    }) / n;
    let validate_t = measure(|| {
        for e in &exposures {
            let _ = black_box(validate(black_box(e), &cluster));
        }
    }) / n;
    let valid: Vec<_> = exposures
        .iter()
        .filter_map(|e| validate(e, &cluster).ok())
        .collect();
    let build_t = measure(|| {
        for v in &valid {
            let _ = black_box(desired_children(&build(black_box(v), &cluster)));
        }
    }) / n;
    let desired: Vec<_> = valid
        .iter()
        .flat_map(|v| desired_children(&build(v, &cluster)).unwrap_or_default())
        .collect();
    let drift_t = measure(|| {
        for d in &desired {
            black_box(drift::is_up_to_date(&d.object, &d.object));
        }
    }) / n;
    let now = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    let children: Vec<_> = valid.iter().map(|v| build(v, &cluster)).collect();
    let status_t = measure(|| {
        for (e, c) in exposures.iter().zip(&children) {
            black_box(compute_status(
                e,
                &Outcome::Applied(c),
                &Observed::default(),
                &now,
            ));
        }
    }) / n;
    for (name, t) in [
        ("parse", parse),
        ("validate", validate_t),
        ("build", build_t),
        ("drift check (all children)", drift_t),
        ("compute status", status_t),
    ] {
        println!("{name:>28}: {:>9.1} µs", t.as_secs_f64() * 1e6);
    }
    let total = parse + validate_t + build_t + drift_t + status_t;
    println!(
        "{:>28}: {:>9.1} µs  (~{:.0} Exposures/s on one core)",
        "total",
        total.as_secs_f64() * 1e6,
        1.0 / total.as_secs_f64()
    );
}
