"""Tests of chart_invariants.py on small hand-written renderings."""
import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import chart_invariants  # noqa: E402


def env(name, path):
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


GOOD = [
    {
        "kind": "Deployment",
        "metadata": {"name": "op", "namespace": "exposure-system"},
        "spec": {
            "replicas": 1,
            "template": {"spec": {
                "automountServiceAccountToken": True,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65532,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "args": ["run"],
                    "securityContext": {"readOnlyRootFilesystem": True,
                                        "allowPrivilegeEscalation": False,
                                        "capabilities": {"drop": ["ALL"]}},
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}},
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}},
                    "resources": {"limits": {}, "requests": {}},
                    "env": [env("POD_NAME", "metadata.name"),
                            env("POD_NAMESPACE", "metadata.namespace")],
                }],
            }},
        },
    },
    {"kind": "ServiceAccount", "metadata": {"name": "op"}},
    {"kind": "ClusterRole", "metadata": {"name": "op"}, "rules": [
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get"]},
    ]},
    {"kind": "ClusterRoleBinding", "metadata": {"name": "op"}, "roleRef": {"name": "op"},
     "subjects": [{"kind": "ServiceAccount", "name": "op"}]},
]


class ChartInvariants(unittest.TestCase):
    def test_a_good_rendering_passes(self):
        self.assertEqual(chart_invariants.problems(copy.deepcopy(GOOD)), [])

    def test_root_wildcards_and_secrets_are_reported(self):
        docs = copy.deepcopy(GOOD)
        pod = docs[0]["spec"]["template"]["spec"]
        pod["securityContext"]["runAsUser"] = 0
        docs[2]["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]})
        found = chart_invariants.problems(docs)
        self.assertIn("pod runAsUser non-root", found)
        self.assertTrue(any(p.startswith("wildcard in ClusterRole") for p in found), found)
        self.assertTrue(any(p.startswith("secrets in") for p in found), found)

    def test_secrets_are_readable_only_when_watched(self):
        docs = copy.deepcopy(GOOD)
        docs[2]["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]})
        found = chart_invariants.problems(copy.deepcopy(docs))
        self.assertTrue(any(p.startswith("secrets in") for p in found), found)
        container = docs[0]["spec"]["template"]["spec"]["containers"][0]
        container["args"] = container["args"] + ["--watch-secrets=true"]
        self.assertEqual(chart_invariants.problems(docs), [])

    def test_service_monitors_are_left_out_of_the_schema_validation(self):
        docs = copy.deepcopy(GOOD) + [{"kind": "ServiceMonitor"}]
        kept = chart_invariants.without_service_monitors(docs)
        self.assertEqual([d["kind"] for d in kept], [d["kind"] for d in GOOD])


if __name__ == "__main__":
    unittest.main()
