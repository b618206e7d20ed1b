#!/usr/bin/env bash
# The main job, on a fresh machine, in one command: brings up a local Kubernetes 1.35 control
# plane (unless KUBECONFIG is set), installs the CRD, starts the operator, applies every example
# (each in its own namespace `exposure-<example>`) and shows `kubectl get exposures -A`
# converging.
#
# The local control plane here is the demo cluster, with its own state directory
# (e2e/.cluster-demo-1.35): the examples it leaves behind (fixed nodePorts among them) never
# meet the tests' cluster (e2e/.cluster-1.35), so either command may run first, or twice.
# `EXPOSURE_CLUSTER_DIR=e2e/.cluster-demo-1.35 e2e/cluster down` stops it.
#
# Interactive: the operator keeps running until Ctrl-C. Not interactive (CI, a pipe): exits
# once every Exposure is settled (status 0) or the timeout passes (status 1). Settled is Ready,
# or, for an example the cluster cannot serve (GlusterFS on >= 1.26), Stalled with
# UnsupportedByCluster, as the operator must report it.
#
# Env: RUN_LOCAL_TIMEOUT (seconds, default 240)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cargo-target.sh
export EXPOSURE_K8S_VERSION=${EXPOSURE_K8S_VERSION:-1.35}
export EXPOSURE_CLUSTER_DIR=${EXPOSURE_CLUSTER_DIR:-e2e/.cluster-demo-$EXPOSURE_K8S_VERSION}

timeout_s=${RUN_LOCAL_TIMEOUT:-240}
say() { printf '\n==> %s\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

local_cluster=false
if [ -z "${KUBECONFIG:-}" ]; then
  say "local control plane (e2e/cluster up, Kubernetes $EXPOSURE_K8S_VERSION; the first run builds it, ~15 min)"
  eval "$(e2e/cluster up)"
  local_cluster=true
fi
export KUBECONFIG

say "building the operator"
cargo build -q -p exposure-operator -p exposure-e2e --bins
bin=$CARGO_TARGET_DIR/debug

say "installing the CRD"
# The CRD this cluster takes (before 1.25 without its CEL rules, which such servers refuse).
server_version=$(kubectl version -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')
$bin/exposure-operator crd --kubernetes-version "$server_version" | kubectl apply --server-side --force-conflicts -f - >/dev/null
# Right after the first apply the CRD may have no status yet, and `kubectl wait` then fails at
# once ("status.conditions accessor error") instead of waiting: ask until it is Established.
for _ in $(seq 1 60); do
  established=$(kubectl get crd exposures.exposure.dev \
    -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null || true)
  [ "$established" = True ] && break
  sleep 1
done
[ "${established:-}" = True ] || { echo "run-local: the Exposure CRD did not become Established in 60 s" >&2; exit 1; }

mkdir -p target # logs (the build itself goes to $CARGO_TARGET_DIR)
log=target/run-local-operator.log
operator_args=(run --metrics-addr 127.0.0.1:0)
if $local_cluster; then
  # Only the local cluster gets the loopback heketi stand-in (never a real address).
  operator_args+=(--gluster-allowed-resturl http://127.0.0.1:)
fi
say "starting the operator (log: $log)"
$bin/exposure-operator "${operator_args[@]}" >"$log" 2>&1 &
pids+=($!)

gluster_url=
if $local_cluster; then
  kubectl apply -f - >/dev/null <<'YAML'
# `fast` for examples/storage-existing-class.yaml: the node simulator provisions its PVs.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: exposure.dev/simulated
allowVolumeExpansion: true
YAML
  heketi_out=target/run-local-heketi.out
  $bin/heketi-stand-in >"$heketi_out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 50); do gluster_url=$(head -n1 "$heketi_out" 2>/dev/null || true); [ -n "$gluster_url" ] && break; sleep 0.1; done
fi

say "applying examples/"
for file in examples/*.yaml; do
  example=$(basename "$file" .yaml)
  ns="exposure-$example"
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # What the example asks to be created first (its `#>` lines: the ConfigMap of config-files.yaml).
  if grep -q '^#>' "$file"; then
    sed -n 's/^#> \{0,1\}//p' "$file" | kubectl apply -n "$ns" -f - | sed 's/^/  /'
  fi
  if grep -q 'resturl:' "$file"; then
    if [ -z "$gluster_url" ]; then
      echo "  skipping $file: its heketi resturl is only replaced by the loopback stand-in on the local cluster"
      continue
    fi
    sed -E "s#resturl: .*#resturl: $gluster_url#" "$file" | kubectl apply -n "$ns" -f - | sed 's/^/  /'
  else
    kubectl apply -n "$ns" -f "$file" | sed 's/^/  /'
  fi
done

say "kubectl get exposures -A (until all are settled)"
deadline=$((SECONDS + timeout_s))
# One line per Exposure: "<Ready status> <Stalled reason>".
states='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Stalled")].reason}{"\n"}{end}'
while :; do
  table=$(kubectl get exposures -A 2>&1)
  all=$(kubectl get exposures -A -o jsonpath="$states")
  unsupported=$(grep -c ' UnsupportedByCluster$' <<<"$all" || true)
  not_settled=$(grep -v '^True ' <<<"$all" | grep -vc ' UnsupportedByCluster$' || true)
  if [ -t 1 ]; then clear; fi
  printf '%s\n\n%s not settled yet\n' "$table" "$not_settled"
  if [ "$not_settled" = 0 ]; then
    break
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "timed out after ${timeout_s}s; see $log and: kubectl get exposures -A -o wide" >&2
    exit 1
  fi
  sleep 3
done
if [ "$unsupported" -gt 0 ]; then
  echo "all Exposures Ready, except $unsupported the cluster cannot serve (UnsupportedByCluster, see the Message column of kubectl get exposures -A -o wide)."
else
  echo "all Exposures Ready."
fi

if [ -t 0 ]; then
  echo "The operator keeps running (log: $log). Try: kubectl get exposures -A -o wide; Ctrl-C stops."
  wait "${pids[0]}"
fi
