#!/usr/bin/env bash
# Builds the current Kubernetes lane from Go modules: kube-apiserver, kube-controller-manager,
# kube-scheduler and etcd, from the e2e tooling module e2e/k8s (go.mod pins k8s.io/kubernetes
# and maps every staging module to its published twin; see e2e/k8s/sync-gomod.sh). Static
# binaries (CGO_ENABLED=0) with the version ldflags, so /version reports the release.
# Cached by version under ~/.cache/exposure-operator/k8s-<version>/bin; modules and build
# cache under ~/.cache/exposure-operator/go-{mod,build}. Idempotent: a warm run only checks.
#
# Usage: e2e/scripts/build-k8s-go.sh   (prints the binary directory on stdout's last line)
set -euo pipefail

MODULE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../k8s" && pwd)
# shellcheck source=../k8s/versions.env
. "$MODULE_DIR/versions.env"
VERSION=$KUBERNETES_VERSION
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator"
K8S_CACHE="$CACHE_ROOT/k8s-$VERSION"
BIN_DIR="$K8S_CACHE/bin"
LOG="$K8S_CACHE/build.log"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler etcd)

say() { printf '[build-k8s-go] %s\n' "$*" >&2; }
die() { printf '[build-k8s-go] error: %s (log: %s)\n' "$1" "$LOG" >&2; exit 1; }

all_built() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$BIN_DIR/$b" ] || return 1; done
  # The binaries belong to this go.mod: a changed module (another etcd, say) rebuilds.
  cmp -s "$MODULE_DIR/go.sum" "$BIN_DIR/go.sum"
}

package_of() {
  case $1 in
    etcd) go -C "$MODULE_DIR" list -m -f '{{.Path}}' go.etcd.io/etcd/server/v3 ;;
    *) echo "k8s.io/kubernetes/cmd/$1" ;;
  esac
}

main() {
  mkdir -p "$K8S_CACHE"
  : >>"$LOG"
  command -v go >/dev/null 2>&1 || die "go not found on PATH (Go >= $(sed -n 's/^go //p' "$MODULE_DIR/go.mod") is needed)"
  if all_built; then
    echo "$BIN_DIR"
    return 0
  fi
  export GOMODCACHE="$CACHE_ROOT/go-mod" GOCACHE="$CACHE_ROOT/go-build" CGO_ENABLED=0 GOFLAGS=-mod=mod
  export GOTOOLCHAIN=local
  local start=$SECONDS minor=${VERSION#v1.}
  minor=${minor%%.*}
  # The module's commit time, as the release's build date: same sources, same binaries.
  local build_date
  build_date=$(go -C "$MODULE_DIR" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes) \
    || die "go list of k8s.io/kubernetes failed (is the Go module proxy reachable?)"
  local x ldflags="-s -w"
  for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $x.gitVersion=$VERSION -X $x.gitMajor=1 -X $x.gitMinor=$minor"
    ldflags+=" -X $x.gitTreeState=clean -X $x.buildDate=$build_date"
  done
  say "cold build of Kubernetes $VERSION and etcd from Go modules (about 15 min on 2 cores); progress in $LOG"
  mkdir -p "$BIN_DIR"
  local b pkg
  for b in "${BINARIES[@]}"; do
    pkg=$(package_of "$b")
    say "go build $pkg"
    (cd "$MODULE_DIR" && go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$b.tmp" "$pkg") >>"$LOG" 2>&1 \
      || die "go build $pkg failed"
    mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
  done
  cp "$MODULE_DIR/go.sum" "$BIN_DIR/go.sum"
  say "built in $((SECONDS - start)) s"
  echo "$BIN_DIR"
}

main "$@"
