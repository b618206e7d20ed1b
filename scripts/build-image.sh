#!/usr/bin/env bash
# Builds the operator's OCI image without a container engine, plus what ships next to it:
#
#   <out>/oci/                         OCI image layout, reference oci:<out>/oci:<version>
#   <out>/image-digest                 the manifest digest (sha256:...)
#   <out>/exposure-operator-<v>.cdx.json   CycloneDX SBOM: the crates linked in (Cargo.lock)
#                                      and the Debian packages the image's files come from
#   <out>/exposure-operator-<v>.tgz    `helm package` of charts/exposure-operator
#   <out>/SHA256SUMS
#
# The image (one layer, like distroless/cc): the release binary at
# /usr/local/bin/exposure-operator, the shared libraries it links (read from its ELF headers)
# and the CA bundle, all taken from Debian's own .deb files (their copyright files and dpkg
# status.d entries included, so scanners see them), /etc/passwd and /etc/group with the
# non-root user 65532, no shell. ENTRYPOINT the binary, CMD ["run"], USER 65532:65532, OCI
# labels version/revision/source/licenses.
#
# Reproducible: every timestamp is SOURCE_DATE_EPOCH (default: the HEAD commit's time), the
# layer tar is sorted with fixed owners, so the same binary and .debs give the same digest.
# The binary is built with remapped source paths, so it does not depend on the clone's path.
#
# Cached: the release build in ~/.cache/exposure-operator/release-target, from a copy of the
# sources in ~/.cache/exposure-operator/release-src (cargo rebuilds only what changed, whatever
# the clone's path), the .debs in ~/.cache/exposure-operator/debs/; the image
# is rebuilt only when its inputs changed.
#
# Needs root (apt-get, files owned by 65532). Tools: umoci, skopeo, docker-registry (Debian,
# installed here if missing), helm (scripts/install-tools.sh).
#
# Usage: scripts/build-image.sh [--out DIR]     (default DIR: target/dist)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

log() { echo "build-image: $*" >&2; }
fail() {
  echo "build-image: FAIL: $*" >&2
  exit 1
}

out=$repo/target/dist
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$(mkdir -p "$2" && cd "$2" && pwd -P); shift 2 ;;
    *) fail "unknown argument $1 (usage: scripts/build-image.sh [--out DIR])" ;;
  esac
done

readonly CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator
readonly BIN_PATH=/usr/local/bin/exposure-operator
readonly SOURCE_URL=https://github.com/exposure-dev/exposure-operator
readonly LICENSE=Apache-2.0
readonly NONROOT=65532

# -- Tools (Debian packages; idempotent).
missing=()
for tool in umoci:umoci skopeo:skopeo docker-registry:docker-registry jq:jq rsync:rsync; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  log "installing ${missing[*]} (Debian)"
  "${sudo_cmd[@]}" apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >&2
fi
[ "$(id -u)" -eq 0 ] || fail "run as root (the image's files are owned by uid 0 and $NONROOT)"
if [ -z "${HELM:-}" ]; then
  eval "$(scripts/install-tools.sh --no-lua | tail -n 1)"
fi

# -- Versions: the crate, the chart's version and appVersion must agree.
version=$(cargo metadata --format-version 1 --no-deps --locked |
  jq -r '.packages[] | select(.name == "exposure-operator") | .version')
chart=$("$HELM" show chart charts/exposure-operator)
chart_version=$(sed -n 's/^version: *//p' <<<"$chart" | tr -d "\"'")
chart_app_version=$(sed -n 's/^appVersion: *//p' <<<"$chart" | tr -d "\"'")
[ "$chart_version" = "$version" ] && [ "$chart_app_version" = "$version" ] ||
  fail "versions disagree: crate $version, chart version $chart_version, appVersion $chart_app_version"

if git rev-parse --git-dir >/dev/null 2>&1; then
  revision=$(git rev-parse HEAD)
  [ -z "$(git status --porcelain --untracked-files=no)" ] || revision=$revision-dirty
  : "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
else
  revision=unknown
  : "${SOURCE_DATE_EPOCH:=0}"
fi
export SOURCE_DATE_EPOCH
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

# -- The release binary. Built from a copy of the sources at one fixed path, with its own flags
# in its own target dir: every clone (CI clones anew) reuses the same cached dependency builds,
# other builds are not invalidated, and the remapped paths keep the clone's directory out of
# the binary.
src_dir=$CACHE/release-src
target_dir=$CACHE/release-target
cargo_home=${CARGO_HOME:-$HOME/.cargo}
mkdir -p "$src_dir"
# --checksum: a fresh clone's new mtimes alone do not make cargo rebuild our crates.
rsync -a --delete --checksum --exclude /target --exclude /.git --exclude '/e2e/.cluster*' \
  "$repo/" "$src_dir/"
log "cargo build --release -p exposure-operator (sources $src_dir, target dir $target_dir)"
(
  # Variables build scripts watch (ring's cc: SOURCE_DATE_EPOCH) or that a calling cargo
  # (e.g. `cargo test`) set: a different value would rebuild half the dependency graph.
  unset SOURCE_DATE_EPOCH OUT_DIR CARGO_TARGET_TMPDIR CARGO_PRIMARY_PACKAGE
  for v in $(compgen -e | grep -E '^CARGO_(PKG|MANIFEST|CRATE|BIN)_' || true); do unset "$v"; done
  export CARGO_TARGET_DIR=$target_dir CARGO_PROFILE_RELEASE_STRIP=symbols
  export RUSTFLAGS="--remap-path-prefix=$src_dir=/exposure-operator --remap-path-prefix=$cargo_home=/cargo"
  cd "$src_dir" && cargo build --release --locked -p exposure-operator
)
binary=$target_dir/release/exposure-operator
[ -x "$binary" ] || fail "no binary at $binary"

# -- Debian packages: the one providing each library the binary needs (recursively), at the
# version installed here (what the binary was linked against), and ca-certificates.
needed_libs() { # ELF file → the sonames it needs
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}
interp=$(readelf -l "$binary" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
[ -n "$interp" ] || fail "$binary has no program interpreter (not dynamically linked?)"
declare -A lib_paths=() # soname → host path
# Read once: `ldconfig -p | awk '...; exit'` would kill ldconfig with SIGPIPE when awk stops
# early, and under pipefail that ends the script without a word.
ld_cache=$(ldconfig -p)
queue=($(needed_libs "$binary"))
while [ ${#queue[@]} -gt 0 ]; do
  soname=${queue[0]}
  queue=("${queue[@]:1}")
  [ -n "${lib_paths[$soname]:-}" ] && continue
  path=$(awk -v s="$soname" '$1 == s && /x86-64/ {print $NF; exit}' <<<"$ld_cache")
  [ -n "$path" ] || fail "library $soname (needed by the binary) not found on this machine"
  lib_paths[$soname]=$path
  queue+=($(needed_libs "$path"))
done
# Paths inside the packages (Debian 12 ships /lib/..., merged into /usr/lib on disk).
package_of() { # host path → "package path-in-package"
  local p=$1 real
  real=$(readlink -f "$p")
  for cand in "$p" "$real" "${p#/usr}" "${real#/usr}" "/usr$p" "/usr$real"; do
    if pkg=$(dpkg -S "$cand" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$pkg" ]; then
      echo "$pkg $cand"
      return
    fi
  done
  return 1
}
declare -A packages=() # package → files (paths in the package) to take from it
for f in "$interp" "${lib_paths[@]}"; do
  read -r pkg file < <(package_of "$f") || fail "no Debian package owns $f"
  packages[$pkg]="${packages[$pkg]:-} $file"
done
packages[ca-certificates]=""
# A package whose doc directory links to another's (libgcc-s1 → gcc-12-base) has its copyright
# there: take that package too (as distroless does).
for pkg in "${!packages[@]}"; do
  if [ -L "/usr/share/doc/$pkg" ]; then
    doc_pkg=$(basename "$(readlink "/usr/share/doc/$pkg")")
    packages[$doc_pkg]=${packages[$doc_pkg]:-}
  fi
done
# The loader's path as the binary names it (a symlink in the package, e.g. /lib64/...).
loader_link=$interp

mkdir -p "$CACHE/debs"
debs=()
for pkg in $(printf '%s\n' "${!packages[@]}" | LC_ALL=C sort); do
  ver=$(dpkg-query -W -f '${Version}' "$pkg")
  arch=$(dpkg-query -W -f '${Architecture}' "$pkg")
  deb=$CACHE/debs/${pkg}_${ver//:/%3a}_${arch}.deb
  if [ ! -s "$deb" ]; then
    log "apt-get download $pkg=$ver"
    (cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
      fail "apt-get download $pkg=$ver failed (run apt-get update?)"
  fi
  [ -s "$deb" ] || fail "$deb missing after apt-get download"
  debs+=("$pkg|$deb")
done

# -- Inputs unchanged since the last build → nothing to do.
inputs=$(
  {
    sha256sum "$binary" scripts/build-image.sh scripts/image-sbom.py Cargo.lock | cut -d' ' -f1
    for d in "${debs[@]}"; do sha256sum "${d#*|}" | cut -d' ' -f1; done
    echo "$version $revision $SOURCE_DATE_EPOCH"
    tar -C charts -cf - --sort=name --mtime=@0 --owner=0 --group=0 exposure-operator | sha256sum | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
)
if [ -f "$out/.inputs" ] && [ "$(cat "$out/.inputs")" = "$inputs" ] && [ -s "$out/image-digest" ]; then
  log "up to date: oci:$out/oci:$version $(cat "$out/image-digest")"
  exit 0
fi

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"

# -- Root filesystem.
for d in "${debs[@]}"; do
  pkg=${d%%|*}
  deb=${d#*|}
  x=$work/deb-$pkg
  dpkg-deb -x "$deb" "$x"
  for file in ${packages[$pkg]}; do
    [ -e "$x$file" ] || [ -L "$x$file" ] || fail "$file is not in $(basename "$deb")"
    mkdir -p "$root$(dirname "$file")"
    cp -a "$x$file" "$root$file"
    # A symlink (libfoo.so.1 → libfoo.so.1.2.3): take its target too.
    if [ -L "$x$file" ]; then
      target=$(readlink "$x$file")
      case $target in /*) t=$target ;; *) t=$(dirname "$file")/$target ;; esac
      [ -e "$x$t" ] || fail "$file → $target is not in $(basename "$deb")"
      mkdir -p "$root$(dirname "$t")"
      cp -a "$x$t" "$root$t"
    fi
  done
  if [ "$pkg" = ca-certificates ]; then
    # What update-ca-certificates (the package's postinst) generates: every certificate of
    # the package, concatenated.
    mkdir -p "$root/etc/ssl/certs"
    find "$x/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort |
      while read -r crt; do sed -e '$a\' "$crt"; done >"$root/etc/ssl/certs/ca-certificates.crt"
    grep -q 'BEGIN CERTIFICATE' "$root/etc/ssl/certs/ca-certificates.crt" ||
      fail "no certificates in $(basename "$deb")"
  fi
  mkdir -p "$root/usr/share/doc" "$root/var/lib/dpkg/status.d"
  if [ -L "$x/usr/share/doc/$pkg" ]; then
    cp -a "$x/usr/share/doc/$pkg" "$root/usr/share/doc/$pkg"
  else
    mkdir -p "$root/usr/share/doc/$pkg"
    cp "$x/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/copyright" ||
      fail "$pkg has no copyright file"
  fi
  # As distroless does: the package's control fields, so image scanners know the package.
  dpkg-deb -f "$deb" >"$root/var/lib/dpkg/status.d/$pkg"
done
[ -e "$root$loader_link" ] || fail "the loader $loader_link is not in the image"
for d in "${debs[@]}"; do
  [ -f "$root/usr/share/doc/${d%%|*}/copyright" ] || fail "no copyright file of ${d%%|*} in the image"
done

install -D -m 0755 "$binary" "$root$BIN_PATH"
mkdir -p "$root/etc" "$root/tmp" "$root/home/nonroot"
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:$NONROOT:$NONROOT:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
nobody:x:65534:
nonroot:x:$NONROOT:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown "$NONROOT:$NONROOT" "$root/home/nonroot"
chmod 0700 "$root/home/nonroot"
if find "$root" -name sh -o -name bash -o -name busybox | grep -q .; then
  fail "a shell got into the image"
fi

# -- The layer: sorted, fixed timestamps, numeric owners, no atime/ctime.
(cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) >"$work/files"
tar -C "$root" --create --file "$work/layer.tar" --no-recursion --files-from "$work/files" \
  --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner

# -- The image (umoci writes the OCI layout: blobs, manifest, config, index).
layout=$work/oci
tag=$version
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci raw add-layer --image "$layout:$tag" --history.created "$created" \
  --history.created_by "scripts/build-image.sh (exposure-operator $version)" "$work/layer.tar"
umoci config --image "$layout:$tag" --no-history --created "$created" \
  --author "exposure-operator" --os linux --architecture amd64 \
  --config.user "$NONROOT:$NONROOT" --config.workingdir / \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --config.entrypoint "$BIN_PATH" --config.cmd run \
  --config.exposedports 8080/tcp \
  --config.label "org.opencontainers.image.title=exposure-operator" \
  --config.label "org.opencontainers.image.description=Kubernetes operator: one Exposure becomes a Deployment, Services, Ingress, PVCs, ResourceQuota and StorageClasses" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.source=$SOURCE_URL" \
  --config.label "org.opencontainers.image.licenses=$LICENSE" \
  --config.label "org.opencontainers.image.created=$created"
umoci gc --layout "$layout"
digest=$(jq -r --arg t "$tag" \
  '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
  "$layout/index.json")
[ -n "$digest" ] || fail "no manifest tagged $tag in the layout"

# -- SBOM: the crates compiled into the binary (the normal dependency graph from Cargo.lock)
# and the Debian packages whose files are in the image.
cargo metadata --format-version 1 --locked --filter-platform x86_64-unknown-linux-gnu >"$work/metadata.json"
for d in "${debs[@]}"; do
  files=${packages[${d%%|*}]}
  [ "${d%%|*}" = ca-certificates ] && files=/etc/ssl/certs/ca-certificates.crt
  printf '%s\t%s\n' "${d#*|}" "$files"
done >"$work/debs.tsv"
sbom_name=exposure-operator-$version.cdx.json
python3 scripts/image-sbom.py --metadata "$work/metadata.json" --debs "$work/debs.tsv" \
  --digest "$digest" --version "$version" --revision "$revision" --created "$created" \
  --source "$SOURCE_URL" >"$work/$sbom_name"

# -- The chart.
"$HELM" package charts/exposure-operator --destination "$work" >/dev/null
[ -f "$work/exposure-operator-$version.tgz" ] || fail "helm package wrote no exposure-operator-$version.tgz"

# -- Publish into <out> (replaced whole, so no stale file survives).
rm -rf "$out/oci"
mv "$layout" "$out/oci"
mv "$work/$sbom_name" "$work/exposure-operator-$version.tgz" "$out/"
echo "$digest" >"$out/image-digest"
(cd "$out" && sha256sum "$sbom_name" "exposure-operator-$version.tgz" image-digest >SHA256SUMS)
echo "$inputs" >"$out/.inputs"
size=$(jq -r '[.layers[].size] | add' "$out/oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$out/oci/index.json" | cut -d: -f2)")
log "built oci:$out/oci:$tag $digest (layer $((size / 1024)) KiB compressed; revision $revision)"
