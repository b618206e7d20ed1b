#!/usr/bin/env bash
# Prints how fast the simulated nodes run pods (e2e/README.md, "Measured times"): seconds from
# creating a Deployment of <replicas> to all of them available, and from scaling it to 0 to no
# pod left. Asserts nothing. Nothing it creates is reachable: image app:1 never runs.
#
# Usage: e2e/scripts/measure-pod-startup.sh <kubeconfig> [replicas, default 30]
set -euo pipefail
kc=$1 n=${2:-30}
k() { kubectl --kubeconfig "$kc" "$@"; }
ns=measure-$RANDOM
k create ns "$ns" >/dev/null
t0=$(date +%s.%N)
cat <<Y | k -n "$ns" apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: m}
spec:
  replicas: $n
  selector: {matchLabels: {app: m}}
  template:
    metadata: {labels: {app: m}}
    spec: {containers: [{name: c, image: "app:1"}]}
Y
until [ "$(k -n "$ns" get deploy m -o jsonpath='{.status.availableReplicas}')" = "$n" ]; do sleep 0.1; done
t1=$(date +%s.%N)
k -n "$ns" scale deploy m --replicas 0 >/dev/null
until [ -z "$(k -n "$ns" get pods -o name)" ]; do sleep 0.1; done
t2=$(date +%s.%N)
k delete ns "$ns" --wait=false >/dev/null
printf 'replicas=%s available_after=%.1fs pods_gone_after_scale_to_0=%.1fs\n' "$n" "$(echo "$t1-$t0" | bc)" "$(echo "$t2-$t1" | bc)"
