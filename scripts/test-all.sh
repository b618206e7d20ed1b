#!/usr/bin/env bash
# The one test command (README; `.ci/run` calls it). On a fresh machine it installs what it
# needs (apt, pip, Go modules; cached under ~/.cache/exposure-operator), builds both local
# control planes if not cached, brings them up, and runs every check and test:
#   format, clippy, unit + property + seed + CRD-drift + CEL-pairing tests;
#   with cargo-nextest (every test in its own process, many at a time, .config/nextest.toml):
#   every e2e test against a real Kubernetes 1.35 (Go modules, the default lane) and, at the
#   same time, the tests that need the in-tree GlusterFS provisioner (`in_tree_glusterfs::`) and a
#   compatibility subset (the chart's RBAC with StorageClasses, CRD without CEL, v1 Endpoints, PDB v1beta1, InvalidSpec for what CEL
#   refuses on 1.35, UnsupportedByCluster for grpc probes and loadBalancerClass) against Kubernetes 1.20.2 (Debian's source, the old lane);
#   rendered examples against the Kubernetes 1.20 schemas, the Helm chart, the Argo CD health
#   check under gopher-lua (Argo CD's engine) and lua5.1.
# kube-scheduler schedules and kwok plays the kubelets on both lanes; kstatus and Argo CD health
# expectations are computed by the real kstatus library and gopher-lua (e2e/tools, Go modules,
# cached like the control plane; see e2e/README.md).
# EXPOSURE_E2E_KUBECONFIG=path runs the e2e tests against an existing cluster instead (one
# lane: every test but `in_tree_glusterfs::`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cargo-target.sh

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "tools"
scripts/install-tools.sh

step "e2e Go tools (e2e/tools: kwok, kstatus-check, argocd-health; cached)"
e2e/scripts/build-e2e-tools.sh >/dev/null

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

export PATH="${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator/tools/bin:$PATH"

# Which tests run on which lane (cargo-nextest filter expressions). 1.35: everything but what
# needs the in-tree GlusterFS provisioner. 1.20: that, plus a compatibility subset run whole
# (what an old API server does differently).
LANE_1_35='not test(/^in_tree_glusterfs::/)'
LANE_1_20='test(/^in_tree_glusterfs::/) | binary(e2e_cel) | binary(e2e_endpoint_slices) | binary(e2e_invalid) | binary(e2e_helm) | binary(e2e_versions) | binary(e2e_rbac)'
# e2e tests mostly wait on the API server (each in its own namespaces, with its own operator):
# run several at a time even on two cores, both lanes at once (.config/nextest.toml).
threads_1_35=${EXPOSURE_TEST_THREADS:-4}
threads_1_20=${EXPOSURE_TEST_THREADS_1_20:-3}

if [ -z "${EXPOSURE_E2E_KUBECONFIG:-}" ]; then
  step "local control planes (e2e/cluster up: Kubernetes 1.35 and 1.20, kube-scheduler and kwok on both)"
  EXPOSURE_K8S_VERSION=1.35 e2e/cluster up >/dev/null
  EXPOSURE_K8S_VERSION=1.20 e2e/cluster up >/dev/null
fi

step "image (scripts/build-image.sh: OCI layout, SBOM, chart package in target/dist)"
scripts/build-image.sh

mkdir -p target
rm -f target/test-*.log
step "build every test binary; doc tests"
cargo nextest run --workspace --locked --no-run
cargo test --workspace --locked --doc 2>&1 | tee target/test-doc.log
doc_status=${PIPESTATUS[0]}

# lane_tests <log> <threads> <filter> [nextest args...]: one nextest run into target/test-<log>.log
# (EXPOSURE_K8S_VERSION chooses the lane). With LANE_ECHO=1 the output is shown as it comes.
lane_tests() {
  local log=target/test-$1.log threads=$2 filter=$3 status
  shift 3
  if [ "${LANE_ECHO:-0}" = 1 ]; then
    cargo nextest run --locked --no-fail-fast "$@" --test-threads "$threads" -E "$filter" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
  else
    cargo nextest run --locked --no-fail-fast "$@" --test-threads "$threads" -E "$filter" >"$log" 2>&1
    status=$?
  fi
  return "$status"
}

status_1_20=0
set +e
if [ -z "${EXPOSURE_E2E_KUBECONFIG:-}" ]; then
  step "tests on Kubernetes 1.35 (unit, property, seeds, drift, CEL, every e2e) and at the same time on Kubernetes 1.20 (in-tree GlusterFS, compatibility; its log follows)"
  EXPOSURE_K8S_VERSION=1.20 lane_tests 1.20 "$threads_1_20" "$LANE_1_20" -p exposure-operator -p exposure-e2e &
  old_lane=$!
  EXPOSURE_K8S_VERSION=1.35 LANE_ECHO=1 lane_tests 1.35 "$threads_1_35" "$LANE_1_35" --workspace
  status_1_35=$?
  wait "$old_lane"
  status_1_20=$?
  printf '\n---- target/test-1.20.log ----\n'
  cat target/test-1.20.log
else
  step "tests on the cluster of EXPOSURE_E2E_KUBECONFIG (every test but in-tree GlusterFS)"
  LANE_ECHO=1 lane_tests given "$threads_1_35" "$LANE_1_35" --workspace
  status_1_35=$?
fi
set -e

step "rendered examples vs Kubernetes 1.20 schemas"
scripts/validate-rendered.sh

step "Helm chart"
scripts/check-chart.sh

step "Argo CD health check (gopher-lua as Argo CD runs it; lua5.1 second opinion)"
scripts/test-argocd-health.sh

step "summary"
summary=$(grep -h 'Summary \[' target/test-*.log || true)
echo "$summary"
# `|| true`: with pipefail, a grep without a match (no failures at all) would end the script.
passed=$({ grep -Eo '[0-9]+ passed' <<<"$summary" || true; } | awk '{s+=$1} END {print s+0}')
failed=$({ grep -Eo '[0-9]+ failed' <<<"$summary" || true; } | awk '{s+=$1} END {print s+0}')
echo "all checks ran in $((SECONDS - started)) s; exit status: 1.35 lane $status_1_35, 1.20 lane $status_1_20, doc tests $doc_status"
echo "tests: $passed passed, $failed failed"
[ "$status_1_35" = 0 ] && [ "$status_1_20" = 0 ] && [ "$doc_status" = 0 ]
