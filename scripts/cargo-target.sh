# Sourced by the scripts that build (test-all, run-local, e2e/cluster, test-argocd-health):
# cargo builds into ~/.cache/exposure-operator/cargo-target, outside the clone, so that a fresh
# clone (CI clones anew) reuses the compiled dependencies instead of building them all again
# (about 20 minutes on two cores). A CARGO_TARGET_DIR already set wins. What the scripts write
# for people (target/dist, target/test-*.log) stays in the clone's target/.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/exposure-operator/cargo-target}
