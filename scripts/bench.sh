#!/usr/bin/env bash
# The convergence benchmark of issue #14 in one command (docs/benchmarks.md):
#   1. matplotlib into a venv of its own (once);
#   2. a control plane of its own, e2e/.cluster-bench (e2e/cluster, nodes taking 4000 pods each);
#   3. cargo bench -p exposure-operator --bench convergence (release build: the operator under
#      test is the release binary), its output also in target/bench/convergence.log;
#   4. the plot, target/bench/convergence.png; the table and figures are in
#      target/bench/convergence.md and convergence.json;
#   5. the cluster is stopped and its state removed (BENCH_KEEP_CLUSTER=1 keeps it).
#
# Environment:
#   BENCH_SIZES          N of the runs (default 100,1000,3000)
#   BENCH_STORAGE        1 (default): a second pass with one simulated volume per Exposure; 0: none
#   BENCH_STORAGE_SIZES  N of the storage pass (default: BENCH_SIZES)
#   BENCH_TRIALS         single-Exposure trials (default 50; 0: none)
#   BENCH_RAW            1 (default): the raw phases too; 0: the operator's phases only (its
#                        memory, CPU and writes; no T_raw, so no ratios), half the time
#   BENCH_PAIRS          pairs of T_raw+ and T_op at each N of the base pass (default 1); more
#                        give the ratio's median and spread (repeats alternate their order)
#   BENCH_CONCURRENCY    the operator's --concurrency and the raw kubectl streams (default 8)
#   BENCH_OUT_DIR        output directory (default target/bench)
#   BENCH_OPERATOR_LOG   RUST_LOG of the operator under test (default: its own default)
#   BENCH_OPERATOR_BIN   the operator binary under test (default: the release build of this
#                        clone); e.g. an older build, to compare two in the same conditions
#   BENCH_OPERATOR_ARGS  more flags of `exposure-operator run` (e.g. "--kube-api-qps 400")
#   BENCH_TIMEOUT_SCALE  multiplies every wait bound (default 1)
#   BENCH_KUBECTL_VALIDATE  --validate of every kubectl apply (default false: kubectl's strict
#                        default parses the OpenAPI schema in every process, seconds of CPU)
#   BENCH_CLUSTER_DIR    the cluster's state directory (default e2e/.cluster-bench)
#   BENCH_NODE_PODS      pods per simulated node (default 4000; two nodes)
#   BENCH_KEEP_CLUSTER   1: leave the cluster running afterwards (a later run reuses it)
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR"
. "$REPO_DIR/scripts/cargo-target.sh"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator
export PATH="$CACHE/tools/bin:$PATH"
export BENCH_OUT_DIR=${BENCH_OUT_DIR:-$REPO_DIR/target/bench}
export BENCH_SIZES=${BENCH_SIZES:-100,1000,3000}
export BENCH_STORAGE=${BENCH_STORAGE:-1}
CLUSTER_DIR=${BENCH_CLUSTER_DIR:-$REPO_DIR/e2e/.cluster-bench}
NODE_PODS=${BENCH_NODE_PODS:-4000}
VENV=$CACHE/tools/bench-venv

say() { printf '[bench] %s\n' "$*" >&2; }

for tool in kubectl python3 cargo; do
  command -v "$tool" >/dev/null 2>&1 || { say "error: '$tool' not found on PATH"; exit 1; }
done

# 1. matplotlib for the plot, in a venv (installed once).
if ! "$VENV/bin/python" -c 'import matplotlib' >/dev/null 2>&1; then
  say "installing matplotlib into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'matplotlib>=3.5,<4'
fi

# 2. The cluster.
mkdir -p "$BENCH_OUT_DIR"
# kube-controller-manager and kube-scheduler without their client rate limits (20 and 50 per
# second by default): with thousands of pods they, not the API server, would set the pace.
cluster() {
  EXPOSURE_CLUSTER_DIR=$CLUSTER_DIR EXPOSURE_NODE_PODS=$NODE_PODS EXPOSURE_CONTROL_PLANE_QPS=5000 \
    "$REPO_DIR/e2e/cluster" "$@"
}
KUBECONFIG_BENCH=$CLUSTER_DIR/admin.kubeconfig
node_pods() { # the pods each node takes, one line each (a quantity: 4000 reads "4k")
  local q
  for q in $(kubectl --kubeconfig "$KUBECONFIG_BENCH" --request-timeout=10s get nodes \
    -o 'jsonpath={range .items[*]}{.status.allocatable.pods}{" "}{end}' 2>/dev/null); do
    case "$q" in *k) echo $((${q%k} * 1000)) ;; *) echo "$q" ;; esac
  done
}
say "starting the benchmark's cluster ($CLUSTER_DIR, nodes taking $NODE_PODS pods each)"
# Anew every run: a cluster left from another run may run its components with other flags.
cluster down >/dev/null 2>&1 || true
cluster up >/dev/null
if [ "$(node_pods | sort -u)" != "$NODE_PODS" ]; then
  # Left running by an earlier run with another capacity: start it anew.
  say "the nodes take $(node_pods | tr '\n' ' ')pods, not $NODE_PODS: restarting the cluster"
  cluster down >/dev/null
  cluster up >/dev/null
fi
if [ "${BENCH_KEEP_CLUSTER:-0}" != 1 ]; then
  trap 'say "stopping the benchmark cluster"; cluster down >/dev/null || true' EXIT
fi

# 3. The benchmark (cargo bench builds with the release profile).
say "cargo bench -p exposure-operator --bench convergence (sizes $BENCH_SIZES, storage $BENCH_STORAGE)"
EXPOSURE_E2E_KUBECONFIG=$KUBECONFIG_BENCH \
  cargo bench -p exposure-operator --bench convergence 2>&1 | tee "$BENCH_OUT_DIR/convergence.log"

# 4. The plot.
"$VENV/bin/python" "$REPO_DIR/scripts/bench_plot.py" \
  "$BENCH_OUT_DIR/convergence.json" "$BENCH_OUT_DIR/convergence.png"
say "done: $BENCH_OUT_DIR/convergence.{md,json,png,log}"
