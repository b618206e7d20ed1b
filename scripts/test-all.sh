#!/usr/bin/env bash
# The one test command (README; `.ci/run` calls it). On a fresh machine it installs what it
# needs (apt, pip; cached under ~/.cache/exposure-operator), builds the local control plane
# if not cached, brings it up, and runs every check and test:
#   format, clippy, unit + property + seed + CRD-drift tests, every e2e test against the real
#   kube-apiserver, rendered examples against the Kubernetes 1.20 schemas, the Helm chart,
#   the Argo CD health script.
# EXPOSURE_E2E_KUBECONFIG=path runs the e2e tests against an existing cluster instead.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "tools"
scripts/install-tools.sh

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -z "${EXPOSURE_E2E_KUBECONFIG:-}" ]; then
  step "local control plane (e2e/cluster up)"
  e2e/cluster up >/dev/null
fi

step "image (scripts/build-image.sh: OCI layout, SBOM, chart package in target/dist)"
scripts/build-image.sh

step "tests (unit, property, seeds, drift, e2e)"
mkdir -p target
set +e
# e2e tests mostly wait on the API server: run four at a time even on two cores.
cargo test --workspace --locked --no-fail-fast -- --test-threads="${EXPOSURE_TEST_THREADS:-4}" 2>&1 | tee target/test-all.log
cargo_status=${PIPESTATUS[0]}
set -e

step "rendered examples vs Kubernetes 1.20 schemas"
scripts/validate-rendered.sh

step "Helm chart"
scripts/check-chart.sh

step "Argo CD health script (lua5.1)"
scripts/test-argocd-health.sh

step "summary"
passed=$(grep -Eo '[0-9]+ passed' target/test-all.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test-all.log | awk '{s+=$1} END {print s+0}')
echo "all checks ran in $((SECONDS - started)) s; cargo test exit status $cargo_status"
echo "tests: $passed passed, $failed failed"
exit "$cargo_status"
