#!/usr/bin/env bash
# The one test command (README; `.ci/run` calls it). On a fresh machine it installs what it
# needs (apt, pip, Go modules; cached under ~/.cache/exposure-operator), builds both local
# control planes if not cached, brings them up, and runs every check and test:
#   format, clippy, unit + property + seed + CRD-drift + CEL-pairing tests;
#   every e2e test against a real Kubernetes 1.35 (Go modules, the default lane), then the
#   tests that need the in-tree GlusterFS provisioner (`in_tree_glusterfs::`) and a
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

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "tools"
scripts/install-tools.sh

step "e2e Go tools (e2e/tools: kwok, kstatus-check, argocd-health; cached)"
e2e/scripts/build-e2e-tools.sh >/dev/null

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# The old lane: what only an old cluster has (the in-tree GlusterFS provisioner) and what an old
# API server does differently. Test binaries of `exposure-operator` run whole; the others filter.
OLD_LANE_TESTS=(--test e2e_cel --test e2e_endpoint_slices --test e2e_invalid --test e2e_helm --test e2e_versions --test e2e_rbac)
GLUSTER_TESTS=(--test e2e_storage --test e2e_cleanup --test e2e_examples --test smoke)
threads=${EXPOSURE_TEST_THREADS:-4}

if [ -z "${EXPOSURE_E2E_KUBECONFIG:-}" ]; then
  step "local control planes (e2e/cluster up: Kubernetes 1.35 and 1.20, kube-scheduler and kwok on both)"
  EXPOSURE_K8S_VERSION=1.35 e2e/cluster up >/dev/null
  EXPOSURE_K8S_VERSION=1.20 e2e/cluster up >/dev/null
fi

step "image (scripts/build-image.sh: OCI layout, SBOM, chart package in target/dist)"
scripts/build-image.sh

mkdir -p target
: >target/test-all.log
cargo_status=0
# run_tests <title> <lane> <cargo test args...>: appends to target/test-all.log.
run_tests() {
  local title=$1 lane=$2 status
  shift 2
  step "$title"
  set +e
  # e2e tests mostly wait on the API server: run four at a time even on two cores.
  EXPOSURE_K8S_VERSION=$lane cargo test --locked --no-fail-fast "$@" 2>&1 | tee -a target/test-all.log
  status=${PIPESTATUS[0]}
  set -e
  [ "$status" = 0 ] || cargo_status=$status
}

run_tests "tests on Kubernetes 1.35 (unit, property, seeds, drift, CEL, every e2e)" 1.35 \
  --workspace -- --test-threads="$threads" --skip in_tree_glusterfs::
if [ -z "${EXPOSURE_E2E_KUBECONFIG:-}" ]; then
  run_tests "tests on Kubernetes 1.20: compatibility" 1.20 \
    -p exposure-operator "${OLD_LANE_TESTS[@]}" -- --test-threads="$threads"
  run_tests "tests on Kubernetes 1.20: the in-tree GlusterFS provisioner" 1.20 \
    -p exposure-operator -p exposure-e2e "${GLUSTER_TESTS[@]}" -- --test-threads="$threads" in_tree_glusterfs::
fi

step "rendered examples vs Kubernetes 1.20 schemas"
scripts/validate-rendered.sh

step "Helm chart"
scripts/check-chart.sh

step "Argo CD health check (gopher-lua as Argo CD runs it; lua5.1 second opinion)"
scripts/test-argocd-health.sh

step "summary"
passed=$(grep -Eo '[0-9]+ passed' target/test-all.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test-all.log | awk '{s+=$1} END {print s+0}')
echo "all checks ran in $((SECONDS - started)) s; cargo test exit status $cargo_status"
echo "tests: $passed passed, $failed failed"
exit "$cargo_status"
