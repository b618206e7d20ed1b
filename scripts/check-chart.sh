#!/usr/bin/env bash
# Checks the Helm chart charts/exposure-operator, offline:
#   1. `helm lint --strict` with the default values and with every ci/*-values.yaml;
#   2. `helm template` of each (plus the CRD from crds/) for Kubernetes 1.20.0, and every
#      rendered object validated strictly with kubernetes-validate against the 1.20.0 schemas;
#   3. the ServiceMonitor (monitoring.coreos.com/v1 — a CRD kind kubernetes-validate has no
#      schema for) is taken out of that validation and its shape checked here instead: it
#      selects the metrics Service's labels and scrapes a port name that Service has;
#   4. chart invariants: least-privilege RBAC facts (no secrets/configmaps, no CRD writes, no
#      wildcards; StorageClass rules only with storageClasses.enabled; in namespaced mode no
#      ClusterRole grants a namespaced resource), the flags passed to the operator, the pod's
#      security settings.
# Exits non-zero on the first failing step.
#
# Usage: scripts/check-chart.sh           Env: HELM (default: from scripts/install-tools.sh)
set -euo pipefail

cd "$(dirname "$0")/.."
readonly CHART=charts/exposure-operator
readonly KUBE_VERSION=1.20.0
# The newest Kubernetes whose schemas kubernetes-validate 1.28.3 bundles (knows CEL rules).
readonly CRD_KUBE_VERSION=1.28.0

fail() {
  echo "check-chart: FAIL: $*" >&2
  exit 1
}

if [ -z "${HELM:-}" ]; then
  eval "$(scripts/install-tools.sh --no-lua | tail -n 1)"
fi
[ -x "$HELM" ] || fail "helm not found (HELM=$HELM)"

python3 -m unittest discover -s scripts -p 'test_chart_invariants.py' 2>&1 | tail -n 1 >&2 ||
  fail "scripts/test_chart_invariants.py"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name|helm flags
cases=("defaults|")
for f in "$CHART"/ci/*-values.yaml; do
  cases+=("$(basename "$f" .yaml)|-f $f")
done
# Namespaced mode with StorageClasses disabled, from the command line.
cases+=("namespaced-no-sc|--set watchNamespaces={ns-a,ns-b} --set storageClasses.enabled=false")

for c in "${cases[@]}"; do
  name=${c%%|*}
  read -r -a flags <<<"${c#*|}"
  echo "== $name" >&2
  "$HELM" lint --strict "$CHART" "${flags[@]}" >"$work/lint.txt" 2>&1 || {
    cat "$work/lint.txt" >&2
    fail "helm lint --strict ($name)"
  }
  "$HELM" template ci-release "$CHART" --namespace exposure-system --kube-version "$KUBE_VERSION" \
    --include-crds "${flags[@]}" >"$work/$name.yaml" || fail "helm template ($name)"

  python3 scripts/chart_invariants.py "$work/$name.yaml" "$work/$name.validate.yaml" "$name" ||
    fail "chart invariants ($name)"

  # The CRD carries CEL rules (x-kubernetes-validations), which 1.20 does not know: it is
  # validated against the newest schemas kubernetes-validate bundles; on clusters before 1.25
  # it is installed without them (`exposure-operator crd --kubernetes-version`).
  python3 scripts/split_crds.py "$work/$name.validate.yaml" "$work/$name.crd.yaml" ||
    fail "splitting the CRD off ($name)"
  kubernetes-validate --strict --quiet -k "$KUBE_VERSION" "$work/$name.validate.yaml" >&2 ||
    fail "rendered objects are not valid Kubernetes $KUBE_VERSION ($name)"
  kubernetes-validate --strict --quiet -k "$CRD_KUBE_VERSION" "$work/$name.crd.yaml" >&2 ||
    fail "the CRD is not valid Kubernetes $CRD_KUBE_VERSION ($name)"
  echo "  $name: helm lint --strict, helm template and kubernetes-validate --strict -k $KUBE_VERSION (CRD: $CRD_KUBE_VERSION) ok" >&2
done

# Fields the template must not lose: the all-values case passes every operator flag.
all=$work/all-values.yaml
for flag in --leader-elect --leader-election-lease-name=exposure-operator-ci --namespace=team-a \
  --namespace=team-b --gluster-allowed-resturl=https://heketi.storage.example.com:8080 \
  --gluster-allow-cross-namespace-secrets --log-format=json --concurrency=4 --metrics-addr=0.0.0.0:9090; do
  grep -qF -- "- $flag" "$all" || fail "all-values: operator flag $flag not rendered"
done
grep -qF -- "- --storage-classes-enabled=false" "$work/minimal-values.yaml" ||
  fail "minimal-values: --storage-classes-enabled=false not rendered"

echo "check-chart: ok (${#cases[@]} value sets)"
