# Sourced by the scripts that build (test-all, run-local, e2e/cluster, test-argocd-health):
# cargo builds into ~/.cache/exposure-operator/cargo-target, outside the clone, so that a fresh
# clone (CI clones anew) reuses the compiled dependencies instead of building them all again
# (about 20 minutes on two cores). A CARGO_TARGET_DIR already set wins. What the scripts write
# for people (target/dist, target/test-*.log) stays in the clone's target/.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator/cargo-target}
# Clones on one machine share these artifacts (see the end of this file): build and test in one
# clone at a time (CI has one); the binaries are those of the clone that built last, and test
# binaries carry its path (the e2e clusters they start live under it). With full debug info
# each test binary is ~250 MB (45 of them), and incremental caches double that. Line tables
# keep file:line in backtraces; no incremental state is kept for builds nobody edits in place.
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
# Artifacts of the workspace's own crates untouched for two days: stale ones (older code or
# other build flags); a clone still in use rebuilds its few crates.
if [ -d "$CARGO_TARGET_DIR/debug/deps" ]; then
  find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -mtime +2 \
    \( -name 'exposure_*' -o -name 'libexposure_*' -o -name 'e2e_*' -o -name 'node_sim-*' \
    -o -name 'heketi_stand_in-*' -o -name 'smoke-*' -o -name 'cel_rules-*' -o -name 'crd_drift-*' \
    -o -name 'docs_sync-*' -o -name 'seeds-*' -o -name 'validate_props-*' -o -name 'health_fixtures-*' \) \
    -delete 2>/dev/null || true
fi
# Cargo tells whether a workspace crate is built from its files' times, not their path: after
# another clone built, this clone's older files look built already, and its binaries would be
# the other clone's code. So when the building clone changes, its sources are touched: its own
# crates are rebuilt, the dependencies stay shared.
_exposure_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
mkdir -p "$CARGO_TARGET_DIR"
if [ "$(cat "$CARGO_TARGET_DIR/.last-clone" 2>/dev/null)" != "$_exposure_repo" ]; then
  find "$_exposure_repo/crd" "$_exposure_repo/operator" "$_exposure_repo/e2e" -name '*.rs' \
    -not -path '*/target/*' -exec touch {} + 2>/dev/null || true
  printf '%s\n' "$_exposure_repo" >"$CARGO_TARGET_DIR/.last-clone"
fi
unset _exposure_repo
