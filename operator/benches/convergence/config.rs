//! The benchmark's settings, read from `BENCH_*` environment variables.

use super::*;

pub(crate) struct Config {
    pub(crate) sizes: Vec<usize>,
    pub(crate) storage_sizes: Vec<usize>,
    pub(crate) trials: usize,
    /// Whether the raw phases run (without them, only the operator's figures: no ratios).
    pub(crate) raw: bool,
    pub(crate) concurrency: usize,
    /// Pairs of T_raw+ and T_op per N of the base pass (the first pair included).
    pub(crate) pairs: usize,
    pub(crate) out_dir: PathBuf,
    /// More flags of `exposure-operator run`.
    pub(crate) operator_args: Vec<String>,
    pub(crate) operator_log: Option<String>,
    /// The operator binary run under test.
    pub(crate) operator: PathBuf,
    pub(crate) timeout_scale: f64,
    pub(crate) kubectl_validate: String,
}

pub(crate) fn env_list(name: &str, default: &str) -> Result<Vec<usize>> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_string());
    text.split([',', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse::<usize>()
                .with_context(|| format!("{name}={text}: not a list of numbers"))
        })
        .filter(|n| !matches!(n, Ok(0)))
        .collect()
}

impl Config {
    pub(crate) fn from_env() -> Result<Config> {
        let sizes = env_list("BENCH_SIZES", "100,1000,3000")?;
        let storage = std::env::var("BENCH_STORAGE")
            .map_or(true, |v| !matches!(v.as_str(), "0" | "false" | "no" | ""));
        let storage_sizes = if storage {
            let default = sizes
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(",");
            env_list("BENCH_STORAGE_SIZES", &default)?
        } else {
            Vec::new()
        };
        let number = |name: &str, default: usize| -> Result<usize> {
            std::env::var(name).map_or(Ok(default), |v| {
                v.parse()
                    .with_context(|| format!("{name}={v}: not a number"))
            })
        };
        let out_dir = std::env::var_os("BENCH_OUT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| support::repo_dir().join("target").join("bench"));
        Ok(Config {
            sizes,
            storage_sizes,
            trials: number("BENCH_TRIALS", 50)?,
            raw: std::env::var("BENCH_RAW")
                .map_or(true, |v| !matches!(v.as_str(), "0" | "false" | "no" | "")),
            concurrency: number("BENCH_CONCURRENCY", 8)?.max(1),
            pairs: number("BENCH_PAIRS", 1)?.max(1),
            out_dir,
            operator: std::env::var_os("BENCH_OPERATOR_BIN")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(OPERATOR), PathBuf::from),
            operator_args: std::env::var("BENCH_OPERATOR_ARGS")
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect(),
            operator_log: std::env::var("BENCH_OPERATOR_LOG")
                .ok()
                .filter(|v| !v.is_empty()),
            kubectl_validate: std::env::var("BENCH_KUBECTL_VALIDATE")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "false".into()),
            timeout_scale: std::env::var("BENCH_TIMEOUT_SCALE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1.0),
        })
    }

    /// A wait bound: `base` seconds plus `per_exposure` seconds for each of `n`, scaled.
    pub(crate) fn bound(&self, base: f64, per_exposure: f64, n: usize) -> Duration {
        Duration::from_secs_f64((base + per_exposure * n as f64) * self.timeout_scale)
    }
}
