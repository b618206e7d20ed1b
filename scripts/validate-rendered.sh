#!/usr/bin/env bash
# Renders every example (examples/*.yaml) for Kubernetes 1.20 and validates each rendered
# object strictly (unknown fields are errors, as under server-side apply) against the
# Kubernetes 1.20.0 OpenAPI schemas, offline, with kubernetes-validate.
#
# Usage: scripts/validate-rendered.sh [examples/X.yaml ...]   (default: all examples)
# Env:   EXPOSURE_RENDER  command rendering one file, default `cargo run -q -p exposure-operator --`
set -euo pipefail

cd "$(dirname "$0")/.."

readonly KUBE_VERSION=1.20.0
# kubernetes-validate bundles the schemas of a window of Kubernetes versions; 1.28.3 is the
# newest release that still has 1.20.0.
readonly VALIDATOR_PIN=kubernetes-validate==1.28.3
read -r -a render <<<"${EXPOSURE_RENDER:-cargo run -q -p exposure-operator --}"

fail() {
  echo "validate-rendered: $*" >&2
  exit 1
}

has_schemas() {
  kubernetes-validate --version >/dev/null 2>&1 &&
    python3 scripts/has_k8s_schemas.py "$KUBE_VERSION"
}

if ! has_schemas; then
  echo "validate-rendered: installing $VALIDATOR_PIN (offline schemas for Kubernetes $KUBE_VERSION)" >&2
  python3 -m pip install --quiet "$VALIDATOR_PIN" || fail "could not install $VALIDATOR_PIN"
  has_schemas || fail "kubernetes-validate has no offline schemas for Kubernetes $KUBE_VERSION"
fi

if [ "$#" -gt 0 ]; then
  examples=("$@")
else
  examples=(examples/*.yaml)
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

failed=()
for example in "${examples[@]}"; do
  rendered="$workdir/$(basename "$example")"
  if ! "${render[@]}" render -f "$example" --kubernetes-version 1.20 >"$rendered"; then
    echo "FAIL $example: render failed" >&2
    failed+=("$example")
    continue
  fi
  if ! grep -q '^kind:' "$rendered"; then
    echo "FAIL $example: rendered no objects" >&2
    failed+=("$example")
    continue
  fi
  if kubernetes-validate --strict --quiet -k "$KUBE_VERSION" "$rendered" >&2; then
    echo "ok   $example"
  else
    echo "FAIL $example: rendered objects are not valid Kubernetes $KUBE_VERSION (see above)" >&2
    failed+=("$example")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  fail "${#failed[@]} of ${#examples[@]} examples failed: ${failed[*]}"
fi
echo "validate-rendered: all ${#examples[@]} examples render valid Kubernetes $KUBE_VERSION objects"
