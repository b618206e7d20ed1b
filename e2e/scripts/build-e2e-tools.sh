#!/usr/bin/env bash
# Builds the e2e tools of the Go module e2e/tools (go.mod/go.sum committed; its own module
# because kwok requires newer k8s.io modules than the control plane's pins in e2e/k8s):
#   kwok           sigs.k8s.io/kwok's kubelet/node simulator (runs the Stage files)
#   kstatus-check  kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) of JSON objects
#   argocd-health  an Argo CD health Lua script under gopher-lua, Argo CD's Lua engine
# Static binaries (CGO_ENABLED=0) cached under ~/.cache/exposure-operator/e2e-tools/bin-<hash>,
# the hash of the module's go.mod, go.sum and *.go, so a change builds anew and worktrees with
# different tools do not rebuild in turn; kwok-module-dir there names where kwok's Stage files
# are. Modules and build cache under ~/.cache/exposure-operator/go-{mod,build}. Idempotent and
# safe to run concurrently (a lock).
#
# Usage: e2e/scripts/build-e2e-tools.sh   (prints the binary directory on stdout's last line)
set -euo pipefail

MODULE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator"
TOOLS_CACHE="$CACHE_ROOT/e2e-tools"
LOG="$TOOLS_CACHE/build.log"
# binary name -> package
TOOLS=(kwok=sigs.k8s.io/kwok/cmd/kwok kstatus-check=./cmd/kstatus-check argocd-health=./cmd/argocd-health)

say() { printf '[build-e2e-tools] %s\n' "$*" >&2; }
die() { printf '[build-e2e-tools] error: %s (log: %s)\n' "$1" "$LOG" >&2; exit 1; }

# What the binaries are built from: the module's files, so any change rebuilds.
stamp() {
  (cd "$MODULE_DIR" && find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}

all_built() {
  local t
  for t in "${TOOLS[@]}"; do [ -x "$BIN_DIR/${t%%=*}" ] || return 1; done
  [ -d "$(cat "$BIN_DIR/kwok-module-dir" 2>/dev/null)" ] || return 1
  [ "$(cat "$BIN_DIR/stamp" 2>/dev/null)" = "$(stamp)" ]
}

main() {
  BIN_DIR="$TOOLS_CACHE/bin-$(stamp | cut -c1-16)"
  mkdir -p "$BIN_DIR"
  : >>"$LOG"
  command -v go >/dev/null 2>&1 || die "go not found on PATH (Go >= $(sed -n 's/^go //p' "$MODULE_DIR/go.mod") is needed)"
  exec 8>>"$TOOLS_CACHE/.lock"
  flock -w 1800 8 || die "timed out waiting for another build of the e2e tools"
  if all_built; then
    echo "$BIN_DIR"
    return 0
  fi
  export GOMODCACHE="$CACHE_ROOT/go-mod" GOCACHE="$CACHE_ROOT/go-build" CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
  export GOTOOLCHAIN=local
  local start=$SECONDS t name pkg
  say "building the e2e tools from Go modules (kwok: a few minutes cold on 2 cores); progress in $LOG"
  for t in "${TOOLS[@]}"; do
    name=${t%%=*} pkg=${t#*=}
    say "go build $pkg"
    (cd "$MODULE_DIR" && go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/$name.tmp" "$pkg") >>"$LOG" 2>&1 \
      || die "go build $pkg failed"
    mv "$BIN_DIR/$name.tmp" "$BIN_DIR/$name"
  done
  # kwok's own Stage files ship in its module; e2e/cluster runs kwok with some of them.
  (cd "$MODULE_DIR" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok) >"$BIN_DIR/kwok-module-dir" 2>>"$LOG" \
    || die "go list -m sigs.k8s.io/kwok failed"
  stamp >"$BIN_DIR/stamp"
  say "built in $((SECONDS - start)) s"
  echo "$BIN_DIR"
}

main "$@"
