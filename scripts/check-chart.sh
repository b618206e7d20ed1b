#!/usr/bin/env bash
# Checks the Helm chart charts/exposure-operator, offline:
#   1. `helm lint --strict` with the default values and with every ci/*-values.yaml;
#   2. `helm template` of each (plus the CRD from crds/) for Kubernetes 1.20.0, and every
#      rendered object validated strictly with kubernetes-validate against the 1.20.0 schemas;
#   3. the ServiceMonitor (monitoring.coreos.com/v1 — a CRD kind kubernetes-validate has no
#      schema for) is taken out of that validation and its shape checked here instead: it
#      selects the metrics Service's labels and scrapes a port name that Service has;
#   4. chart invariants: least-privilege RBAC facts (no secrets/configmaps, no CRD writes, no
#      wildcards; StorageClass rules only with storageClasses.enabled; in namespaced mode no
#      ClusterRole grants a namespaced resource), the flags passed to the operator, the pod's
#      security settings.
# Exits non-zero on the first failing step.
#
# Usage: scripts/check-chart.sh           Env: HELM (default: from scripts/install-tools.sh)
set -euo pipefail

cd "$(dirname "$0")/.."
readonly CHART=charts/exposure-operator
readonly KUBE_VERSION=1.20.0

fail() {
  echo "check-chart: FAIL: $*" >&2
  exit 1
}

if [ -z "${HELM:-}" ]; then
  eval "$(scripts/install-tools.sh --no-lua | tail -n 1)"
fi
[ -x "$HELM" ] || fail "helm not found (HELM=$HELM)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name|helm flags
cases=("defaults|")
for f in "$CHART"/ci/*-values.yaml; do
  cases+=("$(basename "$f" .yaml)|-f $f")
done
# Namespaced mode with StorageClasses disabled, from the command line.
cases+=("namespaced-no-sc|--set watchNamespaces={ns-a,ns-b} --set storageClasses.enabled=false")

for c in "${cases[@]}"; do
  name=${c%%|*}
  read -r -a flags <<<"${c#*|}"
  echo "== $name" >&2
  "$HELM" lint --strict "$CHART" "${flags[@]}" >"$work/lint.txt" 2>&1 || {
    cat "$work/lint.txt" >&2
    fail "helm lint --strict ($name)"
  }
  "$HELM" template ci-release "$CHART" --namespace exposure-system --kube-version "$KUBE_VERSION" \
    --include-crds "${flags[@]}" >"$work/$name.yaml" || fail "helm template ($name)"

  python3 - "$work/$name.yaml" "$work/$name.validate.yaml" "$name" <<'PY' || fail "chart invariants ($name)"
import sys, yaml

src, out, case = sys.argv[1], sys.argv[2], sys.argv[3]
docs = [d for d in yaml.safe_load_all(open(src)) if d]
problems = []
def check(cond, msg):
    if not cond:
        problems.append(msg)

kinds = {}
for d in docs:
    kinds.setdefault(d["kind"], []).append(d)

# -- ServiceMonitor: shape check (no schema available offline), then dropped from validation.
monitors = kinds.get("ServiceMonitor", [])
services = kinds.get("Service", [])
for sm in monitors:
    check(sm.get("apiVersion") == "monitoring.coreos.com/v1", "ServiceMonitor apiVersion")
    spec = sm.get("spec", {})
    sel = spec.get("selector", {}).get("matchLabels", {})
    eps = spec.get("endpoints", [])
    check(bool(sel), "ServiceMonitor has no selector.matchLabels")
    check(bool(eps), "ServiceMonitor has no endpoints")
    matching = [s for s in services
                if all(s["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
    check(len(matching) == 1, f"ServiceMonitor selects {len(matching)} Services, want 1")
    ports = {p.get("name") for s in matching for p in s["spec"]["ports"]}
    for ep in eps:
        check(ep.get("port") in ports, f"ServiceMonitor endpoint port {ep.get('port')!r} not in {ports}")
        check(ep.get("path") == "/metrics", "ServiceMonitor path")
    ns = spec.get("namespaceSelector", {}).get("matchNames", [])
    check(ns == [sm["metadata"]["namespace"]], "ServiceMonitor namespaceSelector")
with open(out, "w") as f:
    yaml.safe_dump_all([d for d in docs if d["kind"] != "ServiceMonitor"], f)

# -- Deployment: security settings, probes, flags.
values_ns = None
deps = kinds.get("Deployment", [])
check(len(deps) == 1, "exactly one Deployment")
dep = deps[0]
pod = dep["spec"]["template"]["spec"]
psc = pod.get("securityContext", {})
check(psc.get("runAsNonRoot") is True, "pod runAsNonRoot")
check(isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] != 0, "pod runAsUser non-root")
check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "pod seccompProfile RuntimeDefault")
check(pod.get("automountServiceAccountToken") is True, "the operator pod mounts its token")
(ctr,) = pod["containers"]
sc = ctr.get("securityContext", {})
check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
check(sc.get("capabilities", {}).get("drop") == ["ALL"], "drop ALL capabilities")
check(ctr["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness /healthz")
check(ctr["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness /readyz")
check(ctr["livenessProbe"]["httpGet"]["port"] == "metrics", "probes on the metrics port")
check("limits" in ctr.get("resources", {}) and "requests" in ctr["resources"], "resources set")
env = {e["name"]: e for e in ctr.get("env", [])}
check(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name", "POD_NAME")
check(env.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace", "POD_NAMESPACE")
args = ctr["args"]
check(args[0] == "run", "args start with run")
watch = [a.split("=", 1)[1] for a in args if a.startswith("--namespace=")]
sc_disabled = "--storage-classes-enabled=false" in args
replicas = dep["spec"]["replicas"]
if replicas > 1:
    check("--leader-elect" in args, "replicas > 1 without --leader-elect")
    pdbs = kinds.get("PodDisruptionBudget", [])
    check(len(pdbs) == 1 and pdbs[0]["spec"].get("minAvailable") == 1, "PDB minAvailable 1 with replicas > 1")
    check(pdbs[0]["apiVersion"] == "policy/v1beta1", "PDB policy/v1beta1 for Kubernetes 1.20")

# -- RBAC.
NAMESPACED = {"exposures", "exposures/status", "exposures/finalizers", "deployments", "services",
              "endpoints", "persistentvolumeclaims", "resourcequotas", "ingresses", "pods", "events"}
sa_names = {s["metadata"]["name"] for s in kinds.get("ServiceAccount", [])}
for role in kinds.get("ClusterRole", []) + kinds.get("Role", []):
    for rule in role.get("rules", []):
        res, verbs, groups = rule.get("resources", []), rule.get("verbs", []), rule.get("apiGroups", [])
        where = f"{role['kind']} {role['metadata']['name']} {groups} {res}"
        check("*" not in res and "*" not in verbs and "*" not in groups, f"wildcard in {where}")
        check("secrets" not in res and "configmaps" not in res, f"secrets/configmaps in {where}")
        check("customresourcedefinitions" not in res, f"CRD access in {where}")
        if "storageclasses" in res:
            check(not sc_disabled, f"StorageClass rule with storageClasses.enabled=false: {where}")
        if role["kind"] == "ClusterRole" and watch:
            check(not (set(res) & NAMESPACED), f"namespaced mode grants cluster-wide {where}")
        if "leases" in res:
            check(role["kind"] == "Role", "leases only in a Role")
            check("list" not in verbs and "watch" not in verbs and "delete" not in verbs, f"lease verbs {verbs}")
if kinds.get("ClusterRole"):
    has_sc = any("storageclasses" in r.get("resources", []) for c in kinds["ClusterRole"] for r in c["rules"])
    check(has_sc != sc_disabled, "StorageClass rule iff storageClasses.enabled")
if watch:
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in kinds.get("Role", [])}
    bound = {r["metadata"]["namespace"] for r in kinds.get("RoleBinding", [])}
    for ns in watch:
        check(any(n == ns for n, _ in roles), f"no Role in watched namespace {ns}")
        check(ns in bound, f"no RoleBinding in watched namespace {ns}")
    crbs = kinds.get("ClusterRoleBinding", [])
    check(len(crbs) == 1 and crbs[0]["roleRef"]["name"].endswith("-cluster"),
          "namespaced mode: only the cluster-scoped ClusterRole is bound cluster-wide")
for b in kinds.get("ClusterRoleBinding", []) + kinds.get("RoleBinding", []):
    for s in b["subjects"]:
        check(s["kind"] == "ServiceAccount", f"binding {b['metadata']['name']} subject kind")
        if sa_names:
            check(s["name"] in sa_names, f"binding {b['metadata']['name']} names SA {s['name']}")

# -- Argo CD health ConfigMap.
for cm in kinds.get("ConfigMap", []):
    check(cm["metadata"]["name"] != "argocd-cm", "never render argocd-cm itself")
    lua = cm.get("data", {}).get("resource.customizations.health.exposure.dev_Exposure", "")
    check("return hs" in lua, "Argo CD ConfigMap carries health.lua")

if problems:
    for p in problems:
        print(f"  {case}: {p}", file=sys.stderr)
    sys.exit(1)
print(f"  {case}: {len(docs)} objects ({', '.join(sorted(kinds))}); "
      f"{len(monitors)} ServiceMonitor(s) shape-checked", file=sys.stderr)
PY

  kubernetes-validate --strict --quiet -k "$KUBE_VERSION" "$work/$name.validate.yaml" >&2 ||
    fail "rendered objects are not valid Kubernetes $KUBE_VERSION ($name)"
  echo "  $name: helm lint --strict, helm template and kubernetes-validate --strict -k $KUBE_VERSION ok" >&2
done

# Fields the template must not lose: the all-values case passes every operator flag.
all=$work/all-values.yaml
for flag in --leader-elect --leader-election-lease-name=exposure-operator-ci --namespace=team-a \
  --namespace=team-b --gluster-allowed-resturl=https://heketi.storage.example.com:8080 \
  --gluster-allow-cross-namespace-secrets --log-format=json --concurrency=4 --metrics-addr=0.0.0.0:9090; do
  grep -qF -- "- $flag" "$all" || fail "all-values: operator flag $flag not rendered"
done
grep -qF -- "- --storage-classes-enabled=false" "$work/minimal-values.yaml" ||
  fail "minimal-values: --storage-classes-enabled=false not rendered"

echo "check-chart: ok (${#cases[@]} value sets)"
