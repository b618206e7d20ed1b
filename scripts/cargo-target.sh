# Sourced by the scripts that build (test-all, run-local, e2e/cluster, test-argocd-health):
# cargo builds into ~/.cache/exposure-operator/cargo-target, outside the clone, so that a fresh
# clone (CI clones anew) reuses the compiled dependencies instead of building them all again
# (about 20 minutes on two cores). A CARGO_TARGET_DIR already set wins. What the scripts write
# for people (target/dist, target/test-*.log) stays in the clone's target/.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator/cargo-target}
# Clones on one machine share these artifacts: the clone that built last wins, and its test
# binaries carry its path (the e2e clusters they start live under it). So build and test in one
# clone at a time (CI has one). With full debug info each test binary is ~250 MB (45 of them),
# and incremental caches double that. Line tables keep file:line in backtraces; no incremental
# state is kept for builds nobody edits in place.
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
