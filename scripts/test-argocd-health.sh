#!/usr/bin/env bash
# Tests the Argo CD health check charts/exposure-operator/argocd/health.lua on Exposure objects
# written by the real operator: charts/exposure-operator/argocd/fixtures/*.json, the expected
# health of each in fixtures/expected.json ({"<file>": {"argocd": "<Healthy|Progressing|Degraded>",
# "message": "<substring>", "kstatus": "..."}}; the kstatus part is computed by the real kstatus
# library in operator/tests/health_fixtures.rs).
#
# 1. The engine Argo CD runs: `argocd-health` (e2e/tools, gopher-lua, the script run as an Argo
#    CD resource health check: global `obj`, a {status, message} table back), built and cached
#    by e2e/scripts/build-e2e-tools.sh. Its status must equal the expectation and its message
#    contain it.
# 2. A second opinion under C Lua 5.1 (lua5.1): each fixture as a Lua table literal in `obj`.
# scripts/argocd_fixtures.py reads the fixtures and expectations for both.
#
# Usage: scripts/test-argocd-health.sh            run the checks (installs lua5.1 if missing)
#        scripts/test-argocd-health.sh capture    re-capture the fixtures from the local
#                                                 cluster (KUBECONFIG, default e2e/.cluster-1.35)
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/cargo-target.sh
readonly DIR=charts/exposure-operator/argocd
readonly FIXTURES=$DIR/fixtures

fail() {
  echo "test-argocd-health: FAIL: $*" >&2
  exit 1
}

run_gopher_lua() {
  local tools n
  tools=$(e2e/scripts/build-e2e-tools.sh | tail -n1) || fail "building the e2e tools failed"
  n=$(find "$FIXTURES" -name '*.json' ! -name expected.json | wc -l)
  "$tools/argocd-health" --script "$DIR/health.lua" $(find "$FIXTURES" -name '*.json' ! -name expected.json | sort) |
    scripts/argocd_fixtures.py compare "$FIXTURES" || fail "health.lua under gopher-lua (argocd-health)"
  echo "test-argocd-health: all $n fixtures give the expected health (gopher-lua, as Argo CD runs it)"
}

run_lua51() {
  command -v lua5.1 >/dev/null 2>&1 || scripts/install-tools.sh >/dev/null
  local work n=0 file want message got
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expanded now: $work is local
  trap "rm -rf '$work'; trap - RETURN" RETURN
  while IFS=$'\t' read -r file want message; do
    scripts/argocd_fixtures.py to-lua <"$FIXTURES/$file" >"$work/obj.lua"
    got=$(lua5.1 -e "
      dofile('$work/obj.lua')
      local hs = dofile('$DIR/health.lua')
      io.write(tostring(hs.status), '\t', tostring(hs.message))
    ") || fail "$file: health.lua raised an error"
    if [ "${got%%$'\t'*}" != "$want" ]; then
      fail "$file: status ${got%%$'\t'*}, want $want (message: ${got#*$'\t'})"
    fi
    case "${got#*$'\t'}" in
      *"$message"*) ;;
      *) fail "$file: message '${got#*$'\t'}' does not contain '$message'" ;;
    esac
    echo "ok   $file -> $want: ${got#*$'\t'}"
    n=$((n + 1))
  done < <(scripts/argocd_fixtures.py expectations "$FIXTURES")
  [ "$n" -gt 0 ] || fail "no fixtures"
  echo "test-argocd-health: all $n fixtures give the expected health (lua5.1, second opinion)"
}

run_checks() {
  [ -f "$FIXTURES/expected.json" ] || fail "no $FIXTURES/expected.json"
  # Every fixture has an expectation and every expectation a fixture.
  scripts/argocd_fixtures.py check "$FIXTURES" || fail "fixtures and expected.json disagree"
  run_gopher_lua
  run_lua51
}

# ---- capture: real status objects from the operator on the local cluster -------------------
capture() {
  export KUBECONFIG=${KUBECONFIG:-$PWD/e2e/.cluster-1.35/admin.kubeconfig}
  cargo build -q -p exposure-operator
  bin=$CARGO_TARGET_DIR/debug/exposure-operator
  pid=""
  ns=argocd-fixtures-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
  log=$(mktemp)
  "$bin" crd | kubectl apply --server-side --force-conflicts -f - >/dev/null
  kubectl create namespace "$ns" >/dev/null
  start_op() {
    "$bin" run --metrics-addr 127.0.0.1:0 --namespace "$ns" >>"$log" 2>&1 &
    pid=$!
  }
  stop_op() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    pid=""
  }
  trap 'stop_op || true; kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; rm -f "$log"' EXIT

  apply() { sed "s/^  name: .*/  name: $1/" | kubectl apply -n "$ns" --server-side -f - >/dev/null; }
  # until <name> <python expression over e (the object)>
  until_() {
    local name=$1 expr=$2 i
    for i in $(seq 1 180); do
      if kubectl get exposure "$name" -n "$ns" -o json 2>/dev/null |
        python3 -c "import json,sys; e=json.load(sys.stdin); c={x['type']: x for x in e.get('status',{}).get('conditions',[])}; sys.exit(0 if ($expr) else 1)" 2>/dev/null; then
        return 0
      fi
      sleep 1
    done
    fail "capture: $name never satisfied: $expr"
  }
  save() {
    kubectl get exposure "$1" -n "$ns" -o json | python3 -c '
import json, sys
e = json.load(sys.stdin)
e["metadata"].pop("managedFields", None)
json.dump(e, sys.stdout, indent=2, sort_keys=True)
print()' >"$FIXTURES/$2.json"
    echo "captured $2.json" >&2
  }
  current='e.get("status",{}).get("observedGeneration")==e["metadata"]["generation"]'

  # 1. No status yet: applied while the operator is not running.
  apply no-status <examples/clusterip-tomcat.yaml
  save no-status no-status
  kubectl delete exposure no-status -n "$ns" >/dev/null

  start_op
  apply clusterip <examples/clusterip-tomcat.yaml
  apply ingress <examples/ingress-tomcat.yaml
  sed 's/^    host: .*/    host: argocd-fixtures.example.com/' examples/ingress-tomcat.yaml | apply ingress-host
  until_ clusterip "$current and c['Ready']['status']=='True'"
  save clusterip ready-clusterip
  until_ ingress "$current and c['Ready']['status']=='True'"
  save ingress ready-ingress
  until_ ingress-host "$current and c['Ready']['status']=='True'"
  # 2. Host conflict: a second Exposure claims the same Ingress host.
  sed 's/^    host: .*/    host: argocd-fixtures.example.com/' examples/ingress-tomcat.yaml | apply host-conflict
  until_ host-conflict "$current and c.get('Stalled',{}).get('status')=='True'"
  save host-conflict stalled-host-conflict
  # 3. Invalid spec (schema-valid, rejected by the operator's validation).
  printf 'apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata:\n  name: invalid\nspec:\n  image: nginx:1.25\n  ports:\n    - containerPort: 80\n  visibility:\n    type: Ingress\n' |
    apply invalid
  until_ invalid "$current and c.get('Stalled',{}).get('status')=='True'"
  save invalid stalled-invalid-spec
  # 4. An image that cannot be pulled (image convention :missing, e2e/kwok).
  sed 's/^  image: .*/  image: tomcat:missing/' examples/clusterip-tomcat.yaml | apply missing-image
  until_ missing-image "$current and 'ImagePull' in c['Ready'].get('message','')"
  save missing-image missing-image
  # 5. Pods never ready (image convention :unready) and crash-looping pods (:crashloop).
  sed 's/^  image: .*/  image: tomcat:unready/' examples/clusterip-tomcat.yaml | apply unready
  until_ unready "$current and c['Ready']['status']=='False' and c['Ready']['reason']!='Creating'"
  save unready unready-pods
  sed 's/^  image: .*/  image: tomcat:crashloop/' examples/clusterip-tomcat.yaml | apply crashloop
  until_ crashloop "$current and 'CrashLoopBackOff' in c['Ready'].get('message','')"
  save crashloop crashloop
  # 6. A new generation the operator has not observed yet (operator stopped, spec changed).
  stop_op
  kubectl patch exposure clusterip -n "$ns" --type merge -p '{"spec":{"replicas":4}}' >/dev/null
  save clusterip generation-not-observed
  # 7. Being deleted (a finalizer of someone else holds it).
  kubectl patch exposure ingress -n "$ns" --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
  kubectl delete exposure ingress -n "$ns" --wait=false >/dev/null
  save ingress deleting
  kubectl patch exposure ingress -n "$ns" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
  echo "fixtures captured from namespace $ns; now review $FIXTURES/expected.json" >&2
}

case "${1:-test}" in
  test) run_checks ;;
  capture) capture ;;
  *) fail "usage: $0 [test|capture]" ;;
esac
