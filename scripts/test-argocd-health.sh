#!/usr/bin/env bash
# Tests the Argo CD health check charts/exposure-operator/argocd/health.lua under Lua 5.1 (the
# semantics Argo CD's gopher-lua implements) on Exposure objects written by the real operator:
# charts/exposure-operator/argocd/fixtures/*.json, the expected health of each in
# fixtures/expected.json ({"<file>": {"argocd": "<Healthy|Progressing|Degraded>",
# "message": "<substring>", "kstatus": "..."}}; the kstatus part is checked by
# operator/tests/kstatus.rs).
#
# Each fixture is converted to a Lua table literal (python3), assigned to the global `obj`, and
# health.lua is run; its `hs.status` must equal the expectation and `hs.message` contain it.
#
# Usage: scripts/test-argocd-health.sh            run the checks (installs lua5.1 if missing)
#        scripts/test-argocd-health.sh capture    re-capture the fixtures from the local
#                                                 cluster (KUBECONFIG, default e2e/.cluster)
set -euo pipefail

cd "$(dirname "$0")/.."
readonly DIR=charts/exposure-operator/argocd
readonly FIXTURES=$DIR/fixtures

fail() {
  echo "test-argocd-health: FAIL: $*" >&2
  exit 1
}

# JSON (stdin) -> `obj = <Lua table>` (stdout). JSON null becomes nil (absent), as in Argo CD.
to_lua() {
  python3 -c '
import json, sys
def lua(v):
    if v is None: return "nil"
    if v is True: return "true"
    if v is False: return "false"
    if isinstance(v, (int, float)): return repr(v)
    if isinstance(v, str): return json_str(v)
    if isinstance(v, list): return "{" + ", ".join(lua(x) for x in v if x is not None) + "}"
    return "{" + ", ".join("[%s] = %s" % (json_str(k), lua(x)) for k, x in v.items() if x is not None) + "}"
def json_str(s):
    # Lua 5.1 string literal: escape backslash, quote and every byte outside printable ASCII.
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in "\\\"": out.append("\\" + c)
        elif 32 <= b < 127: out.append(c)
        else: out.append("\\%03d" % b)
    return "\"" + "".join(out) + "\""
print("obj = " + lua(json.load(sys.stdin)))
'
}

run_checks() {
  command -v lua5.1 >/dev/null 2>&1 || scripts/install-tools.sh >/dev/null
  [ -f "$FIXTURES/expected.json" ] || fail "no $FIXTURES/expected.json"
  local work n=0 file want message got
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  # Every fixture has an expectation and every expectation a fixture.
  python3 - "$FIXTURES" <<'PY' || fail "fixtures and expected.json disagree"
import json, os, sys
d = sys.argv[1]
exp = json.load(open(os.path.join(d, "expected.json")))
files = {f for f in os.listdir(d) if f.endswith(".json") and f != "expected.json"}
missing, extra = files - exp.keys(), exp.keys() - files
for f in sorted(missing): print(f"no expectation for {f}", file=sys.stderr)
for f in sorted(extra): print(f"expectation without fixture: {f}", file=sys.stderr)
sys.exit(1 if missing or extra else 0)
PY
  while IFS=$'\t' read -r file want message; do
    to_lua <"$FIXTURES/$file" >"$work/obj.lua"
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
  done < <(python3 -c '
import json, sys
for f, e in sorted(json.load(open(sys.argv[1])).items()):
    print(f + "\t" + e["argocd"] + "\t" + e.get("message", ""))
' "$FIXTURES/expected.json")
  [ "$n" -gt 0 ] || fail "no fixtures"
  echo "test-argocd-health: all $n fixtures give the expected health (lua5.1)"
}

# ---- capture: real status objects from the operator on the local cluster -------------------
capture() {
  export KUBECONFIG=${KUBECONFIG:-$PWD/e2e/.cluster-1.35/admin.kubeconfig}
  cargo build -q -p exposure-operator
  bin=target/debug/exposure-operator
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
  # 4. An image that cannot be pulled (node-sim: tag :missing).
  sed 's/^  image: .*/  image: tomcat:missing/' examples/clusterip-tomcat.yaml | apply missing-image
  until_ missing-image "$current and 'ImagePull' in c['Ready'].get('message','')"
  save missing-image missing-image
  # 5. Pods never ready (node-sim: tag :unready) and crash-looping pods (:crashloop).
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
