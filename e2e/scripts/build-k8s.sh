#!/usr/bin/env bash
# Installs the local control plane's prerequisites and builds kube-apiserver,
# kube-controller-manager and kube-scheduler v1.20.2 from Debian's source package, cached outside
# the repo.
# Idempotent: a warm run only checks that the cached binaries exist.
#
# Usage: e2e/scripts/build-k8s.sh            (prints the binary directory on stdout's last line)
set -euo pipefail

K8S_DEB_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator"
K8S_CACHE="$CACHE_ROOT/k8s-v1.20.2"
BIN_DIR="$K8S_CACHE/bin"
LOG="$K8S_CACHE/build.log"
GO_BIN=/usr/lib/go-1.19/bin
APT_PACKAGES=(etcd-server golang-1.19-go rsync openssl dpkg-dev golang-github-modern-go-reflect2-dev)
SRC_LIST=/etc/apt/sources.list.d/exposure-operator-deb-src.sources

say() { printf '[build-k8s] %s\n' "$*" >&2; }
die() { printf '[build-k8s] error: %s (log: %s)\n' "$1" "$LOG" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=false
apt_update_once() {
  $apt_updated && return 0
  say "apt-get update"
  as_root apt-get update >>"$LOG" 2>&1 || die "apt-get update failed"
  apt_updated=true
}

ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_update_once
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends "${missing[@]}" \
    >>"$LOG" 2>&1 || die "apt-get install ${missing[*]} failed"
}

# A deb-src twin of every existing deb822 entry: same URIs/suites, Types changed. No host name
# is written by us; it comes from the machine's own sources.
ensure_deb_src() {
  if grep -rqsE '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qsE '^deb-src' /etc/apt/sources.list; then
    return 0
  fi
  local src
  src=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [ -n "$src" ] || die "no deb822 source list in /etc/apt/sources.list.d to copy a deb-src entry from"
  say "adding deb-src entries (twin of $src)"
  sed -E 's/^Types:.*/Types: deb-src/' "$src" | as_root tee "$SRC_LIST" >/dev/null
  apt_updated=false
}

fetch_source() {
  local src_dir="$K8S_CACHE/src"
  local tree
  tree=$(ls -d "$src_dir"/kubernetes-*/ 2>/dev/null | head -n1 || true)
  if [ -n "$tree" ] && [ -f "$tree/Makefile" ]; then
    echo "${tree%/}"
    return 0
  fi
  ensure_deb_src
  apt_update_once
  mkdir -p "$src_dir"
  say "apt-get source kubernetes=$K8S_DEB_VERSION"
  (cd "$src_dir" && apt-get source --only-source "kubernetes=$K8S_DEB_VERSION") >>"$LOG" 2>&1 \
    || die "apt-get source kubernetes=$K8S_DEB_VERSION failed"
  tree=$(ls -d "$src_dir"/kubernetes-*/ 2>/dev/null | head -n1 || true)
  [ -n "$tree" ] || die "source tree not found after apt-get source"
  echo "${tree%/}"
}

# reflect2 1.0.1 (vendored by v1.20) segfaults under Go >= 1.18 on the first CR write.
patch_reflect2() {
  local tree=$1 vend="$1/vendor/github.com/modern-go/reflect2"
  local deb=/usr/share/gocode/src/github.com/modern-go/reflect2
  [ -d "$deb" ] || die "reflect2 1.0.2 sources not found at $deb"
  if [ -f "$vend/.exposure-patched" ]; then return 0; fi
  say "replacing vendored modern-go/reflect2 with Debian's 1.0.2"
  find "$vend" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) -delete
  find "$deb" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' -exec cp {} "$vend"/ \;
  touch "$vend/.exposure-patched"
}

build() {
  local tree=$1 what=("cmd/kube-apiserver" "cmd/kube-controller-manager" "cmd/kube-scheduler")
  command -v kubectl >/dev/null 2>&1 || what+=("cmd/kubectl")
  export PATH="$GO_BIN:$PATH" GOFLAGS="${GOFLAGS:-}" GO111MODULE="${GO111MODULE:-}"
  export GOCACHE="$CACHE_ROOT/go-build-cache"
  if [ ! -f "$tree/.exposure-generated" ]; then
    say "make generated_files (about 1.5 min)"
    (cd "$tree" && make generated_files) >>"$LOG" 2>&1 || die "make generated_files failed"
    touch "$tree/.exposure-generated"
  fi
  say "make WHAT=\"${what[*]}\" (about 5 min on 2 cores)"
  (cd "$tree" && make WHAT="${what[*]}") >>"$LOG" 2>&1 || die "make WHAT=\"${what[*]}\" failed"
  mkdir -p "$BIN_DIR"
  local out="$tree/_output/bin"
  [ -x "$out/kube-apiserver" ] || out="$tree/_output/local/bin/linux/amd64"
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$out/$b" ] && cp "$out/$b" "$BIN_DIR/$b.tmp" && mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
  done
  [ -x "$BIN_DIR/kube-apiserver" ] || die "kube-apiserver not produced by the build"
}

main() {
  mkdir -p "$K8S_CACHE"
  : >>"$LOG"
  ensure_packages "${APT_PACKAGES[@]}"
  if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/kube-controller-manager" ] \
    && [ -x "$BIN_DIR/kube-scheduler" ] \
    && { command -v kubectl >/dev/null 2>&1 || [ -x "$BIN_DIR/kubectl" ]; }; then
    echo "$BIN_DIR"
    return 0
  fi
  say "cold build of Kubernetes v1.20.2 (about 7 min); progress in $LOG"
  local start=$SECONDS tree
  tree=$(fetch_source)
  patch_reflect2 "$tree"
  build "$tree"
  say "built in $((SECONDS - start)) s"
  echo "$BIN_DIR"
}

main "$@"
