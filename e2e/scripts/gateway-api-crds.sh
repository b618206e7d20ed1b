#!/usr/bin/env bash
# Prints the directory of the Gateway API standard CRDs (HTTPRoute, Gateway, GatewayClass, ...)
# that the e2e tests install: `config/crd/standard/` of the Go module sigs.k8s.io/gateway-api,
# downloaded once into the module cache (~/.cache/exposure-operator/go-mod). Idempotent: a
# cached module is used as is, without the network.
#
# Usage: e2e/scripts/gateway-api-crds.sh            (prints the directory)
# Environment: GATEWAY_API_VERSION (default v1.6.3), XDG_CACHE_HOME
set -euo pipefail

VERSION=${GATEWAY_API_VERSION:-v1.6.3}
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator"
export GOMODCACHE="$CACHE_ROOT/go-mod" GOFLAGS=-mod=mod GOTOOLCHAIN=local
DIR="$GOMODCACHE/sigs.k8s.io/gateway-api@$VERSION/config/crd/standard"

if [[ ! -f "$DIR/gateway.networking.k8s.io_httproutes.yaml" ]]; then
  command -v go >/dev/null || { echo "[gateway-api-crds] error: go is not installed" >&2; exit 1; }
  # `go mod download` of a module path and version needs no go.mod of ours.
  (cd "$(mktemp -d)" && go mod download "sigs.k8s.io/gateway-api@$VERSION") >&2
fi
[[ -f "$DIR/gateway.networking.k8s.io_httproutes.yaml" ]] || {
  echo "[gateway-api-crds] error: $DIR has no HTTPRoute CRD" >&2
  exit 1
}
printf '%s\n' "$DIR"
