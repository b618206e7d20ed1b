"""Invariants of the rendered Helm chart (scripts/check-chart.sh runs this per value set).

Checks the ServiceMonitor's shape (no schema for it offline; it is left out of the schema
validation), the operator Deployment's security settings, probes and flags, least-privilege
RBAC, and the Argo CD health ConfigMap. Tests: scripts/test_chart_invariants.py.

Usage: chart_invariants.py RENDERED.yaml OUT.yaml CASE
  writes OUT.yaml: the rendered objects without the ServiceMonitor (for kubernetes-validate).
"""
import sys

import yaml


def problems(docs):
    """The broken invariants of the rendered objects `docs` (a list of dicts)."""
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

    # -- Deployment: security settings, probes, flags.
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
    watch_config_maps = "--watch-config-maps=false" not in args
    watch_secrets = "--watch-secrets=true" in args
    replicas = dep["spec"]["replicas"]
    if replicas > 1:
        check("--leader-elect" in args, "replicas > 1 without --leader-elect")
        pdbs = kinds.get("PodDisruptionBudget", [])
        check(len(pdbs) == 1 and pdbs[0]["spec"].get("minAvailable") == 1, "PDB minAvailable 1 with replicas > 1")
        check(pdbs[0]["apiVersion"] == "policy/v1beta1", "PDB policy/v1beta1 for Kubernetes 1.20")

    # -- RBAC.
    NAMESPACED = {"exposures", "exposures/status", "exposures/finalizers", "deployments", "statefulsets",
                  "daemonsets", "services", "endpoints", "persistentvolumeclaims", "resourcequotas",
                  "limitranges", "horizontalpodautoscalers", "poddisruptionbudgets", "ingresses",
                  "httproutes", "pods", "events", "configmaps", "secrets"}
    sa_names = {s["metadata"]["name"] for s in kinds.get("ServiceAccount", [])}
    for role in kinds.get("ClusterRole", []) + kinds.get("Role", []):
        for rule in role.get("rules", []):
            res, verbs, groups = rule.get("resources", []), rule.get("verbs", []), rule.get("apiGroups", [])
            where = f"{role['kind']} {role['metadata']['name']} {groups} {res}"
            check("*" not in res and "*" not in verbs and "*" not in groups, f"wildcard in {where}")
            # ConfigMaps and Secrets: read-only, and only with the flag that makes the operator
            # watch them (spec.config's roll-on-change).
            for private, wanted in (("configmaps", watch_config_maps), ("secrets", watch_secrets)):
                if private in res:
                    check(wanted and set(verbs) <= {"get", "list", "watch"},
                          f"{private} in {where} (verbs {verbs}, watched: {wanted})")
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
    return problems


def without_service_monitors(docs):
    return [d for d in docs if d["kind"] != "ServiceMonitor"]


def main(argv):
    src, out, case = argv[1], argv[2], argv[3]
    with open(src) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    found = problems(docs)
    with open(out, "w") as f:
        yaml.safe_dump_all(without_service_monitors(docs), f)
    if found:
        for p in found:
            print(f"  {case}: {p}", file=sys.stderr)
        return 1
    kinds = sorted({d["kind"] for d in docs})
    monitors = sum(1 for d in docs if d["kind"] == "ServiceMonitor")
    print(f"  {case}: {len(docs)} objects ({', '.join(kinds)}); "
          f"{monitors} ServiceMonitor(s) shape-checked", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
