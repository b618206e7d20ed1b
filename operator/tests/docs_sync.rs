//! Generated documentation stays in sync with the code:
//! * `docs/api-reference.md` from the CRD's openAPIV3Schema (`exposure_crd::crd()`);
//! * `docs/visibility/*.md` and `docs/storage/*.md` from `examples/` and what
//!   `exposure-operator render --kubernetes-version 1.20` prints for them, and `docs/workloads/*.md`
//!   likewise for 1.35;
//! * every condition reason in docs/troubleshooting.md and every metric in docs/metrics.md.
//!
//! Regenerate after a change: `EXPOSURE_UPDATE_DOCS=1 cargo test -p exposure-operator --test docs_sync`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use exposure_operator::cli::render_text;
use exposure_operator::cluster::ClusterInfo;
use serde_json::Value;

const UPDATE_ENV: &str = "EXPOSURE_UPDATE_DOCS";
const REGENERATE: &str = "EXPOSURE_UPDATE_DOCS=1 cargo test -p exposure-operator --test docs_sync";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compares `path` with `want`; rewrites it under EXPOSURE_UPDATE_DOCS=1. Returns a problem.
fn sync(path: &Path, want: &str) -> Option<String> {
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have == want {
        return None;
    }
    if std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, want).unwrap();
        eprintln!("updated {}", path.display());
        return None;
    }
    let line = have
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(have.lines().count().min(want.lines().count()));
    Some(format!(
        "{} is out of date (first difference at line {}); regenerate with `{REGENERATE}`",
        path.display(),
        line + 1
    ))
}

fn check(problems: Vec<String>) {
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---- API reference ------------------------------------------------------------------------

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn type_of(schema: &Value) -> String {
    if schema["x-kubernetes-int-or-string"] == true {
        return "int or string".into();
    }
    match schema["type"].as_str() {
        Some("array") => format!("[]{}", type_of(&schema["items"])),
        Some("object") if schema["additionalProperties"].is_object() => {
            format!("map[string]{}", type_of(&schema["additionalProperties"]))
        }
        Some("integer") => match schema["format"].as_str() {
            Some(f) => format!("integer ({f})"),
            None => "integer".into(),
        },
        Some(t) => t.into(),
        None if schema["x-kubernetes-preserve-unknown-fields"] == true => "any".into(),
        None => "any".into(),
    }
}

fn constraints(schema: &Value) -> String {
    let mut out = Vec::new();
    if let Some(e) = schema["enum"].as_array() {
        let values: Vec<String> = e
            .iter()
            .map(|v| {
                format!(
                    "`{}`",
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                )
            })
            .collect();
        out.push(format!("one of {}", values.join(", ")));
    }
    for (key, label) in [
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("minProperties", "min properties"),
        ("maxProperties", "max properties"),
    ] {
        if let Some(v) = schema.get(key) {
            out.push(format!("{label} {v}"));
        }
    }
    if let Some(p) = schema["pattern"].as_str() {
        out.push(format!("pattern `{}`", p.replace('|', "\\|")));
    }
    if let Some(d) = schema.get("default") {
        out.push(format!("default `{d}`"));
    }
    if schema["nullable"] == true {
        out.push("nullable".into());
    }
    if let Some(t) = schema["x-kubernetes-list-type"].as_str() {
        out.push(format!("list type {t}"));
    }
    if let Some(keys) = schema["x-kubernetes-list-map-keys"].as_array() {
        let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        out.push(format!("keys {}", keys.join(", ")));
    }
    out.join("; ")
}

/// One row per field, depth first in schema order (properties sorted by name).
fn walk(path: &str, schema: &Value, required: bool, rows: &mut String) {
    let _ = writeln!(
        rows,
        "| `{path}` | {} | {} | {} | {} |",
        type_of(schema),
        if required { "yes" } else { "" },
        one_line(schema["description"].as_str().unwrap_or_default()),
        constraints(schema)
    );
    let (inner, inner_path) = match schema["type"].as_str() {
        Some("array") => (&schema["items"], format!("{path}[]")),
        Some("object") if schema["additionalProperties"].is_object() => {
            (&schema["additionalProperties"], format!("{path}.<key>"))
        }
        _ => (schema, path.to_string()),
    };
    if !std::ptr::eq(inner, schema) && inner["properties"].is_null() {
        return;
    }
    children(&inner_path, inner, rows);
}

fn children(path: &str, schema: &Value, rows: &mut String) {
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&String> = props.keys().collect();
    names.sort();
    for name in names {
        let child = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        walk(
            &child,
            &props[name],
            required.contains(&name.as_str()),
            rows,
        );
    }
}

/// docs/api-reference.md from the CRD.
pub fn api_reference() -> String {
    let crd = serde_json::to_value(exposure_crd::crd()).unwrap();
    let spec = &crd["spec"];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# API reference: {}",
        crd["metadata"]["name"].as_str().unwrap()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "<!-- Generated from the CRD schema by operator/tests/docs_sync.rs; do not edit. Regenerate: {REGENERATE} -->"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Group `{}`, kind `{}` (plural `{}`, short names: {}), {} scope.",
        spec["group"].as_str().unwrap(),
        spec["names"]["kind"].as_str().unwrap(),
        spec["names"]["plural"].as_str().unwrap(),
        spec["names"]["shortNames"]
            .as_array()
            .map(|s| s
                .iter()
                .filter_map(Value::as_str)
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", "))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "none".into()),
        spec["scope"].as_str().unwrap()
    );
    for version in spec["versions"].as_array().unwrap() {
        let schema = &version["schema"]["openAPIV3Schema"];
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "## {}/{}{}",
            spec["group"].as_str().unwrap(),
            version["name"].as_str().unwrap(),
            if version["storage"] == true {
                " (storage version)"
            } else {
                ""
            }
        );
        if let Some(d) = schema["description"].as_str() {
            let _ = writeln!(out);
            let _ = writeln!(out, "{}", one_line(d));
        }
        if let Some(sub) = version["subresources"].as_object() {
            let mut names: Vec<&String> = sub.keys().collect();
            names.sort();
            let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            let _ = writeln!(out);
            let _ = writeln!(out, "Subresources: {}.", names.join(", "));
        }
        if let Some(cols) = version["additionalPrinterColumns"].as_array() {
            let _ = writeln!(out);
            let _ = writeln!(out, "`kubectl get` columns:");
            let _ = writeln!(out);
            for c in cols {
                let _ = writeln!(
                    out,
                    "- {} (`{}`){}",
                    c["name"].as_str().unwrap_or_default(),
                    c["jsonPath"].as_str().unwrap_or_default(),
                    c["description"]
                        .as_str()
                        .map(|d| format!(": {}", one_line(d)))
                        .unwrap_or_default()
                );
            }
        }
        let props = schema["properties"].as_object().unwrap();
        let mut tops: Vec<&String> = props
            .keys()
            .filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
            .collect();
        tops.sort_by_key(|k| (k.as_str() != "spec", k.as_str().to_string()));
        for top in tops {
            let _ = writeln!(out);
            let _ = writeln!(out, "### `{top}`");
            let _ = writeln!(out);
            if let Some(d) = props[top]["description"].as_str() {
                let _ = writeln!(out, "{}", one_line(d));
                let _ = writeln!(out);
            }
            let _ = writeln!(
                out,
                "| Field | Type | Required | Description | Constraints |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|");
            let mut rows = String::new();
            children(top, &props[top], &mut rows);
            out.push_str(&rows);
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Validation rules (CEL)");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Enforced by the API server from Kubernetes 1.25 (`x-kubernetes-validations`); older servers drop them and the operator reports the same message as `Stalled`/`InvalidSpec`. Each message is the operator's own for the same spec (`operator/tests/cel_rules.rs`, `e2e_cel.rs`)."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| Rule | At | Error field | Rule (CEL) |");
    let _ = writeln!(out, "|---|---|---|---|");
    for rule in exposure_crd::cel::RULES {
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | `{}` |",
            rule.name,
            rule.at
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            rule.field_path.unwrap_or("."),
            one_line(rule.rule)
        );
    }
    out
}

#[test]
fn api_reference_is_in_sync() {
    let want = api_reference();
    assert!(
        want.contains("| `spec.image` |"),
        "the generator lost spec.image"
    );
    assert!(
        want.contains("| `status.conditions` |"),
        "the generator lost status.conditions"
    );
    check(
        sync(&repo().join("docs/api-reference.md"), &want)
            .into_iter()
            .collect(),
    );
}

// ---- example pages ------------------------------------------------------------------------

struct Page {
    dir: &'static str,
    slug: &'static str,
    title: &'static str,
    intro: &'static str,
    examples: &'static [&'static str],
    /// The Kubernetes version the examples are rendered for.
    kubernetes_version: &'static str,
}

const PAGES: &[Page] = &[
    Page {
        dir: "visibility",
        slug: "clusterip",
        title: "ClusterIP (inside the cluster only)",
        intro: "`visibility.type: Internal` (the default) gives the pods a Service reachable only inside the cluster, at `http://<name>.<namespace>.svc.cluster.local:<port>` (the status `url`). Several ports need a name each; `sessionAffinity: ClientIP` pins a client to one pod.",
        examples: &["clusterip-tomcat.yaml", "multi-port.yaml", "session-affinity.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "visibility",
        slug: "headless",
        title: "Headless Service (one DNS record per pod)",
        intro: "`headless: true` adds a second Service, `<name>-headless` with `clusterIP: None`, next to the normal one: its DNS name resolves to the pod addresses.",
        examples: &["headless.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "visibility",
        slug: "nodeport",
        title: "NodePort (every node's port)",
        intro: "`visibility.type: NodePort` opens a port on every node (optionally a fixed `nodePort`, 30000–32767; two Exposures claiming the same one stall with `NodePortConflict`). The status `url` names a node address.",
        examples: &["nodeport-tomcat.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "visibility",
        slug: "loadbalancer",
        title: "LoadBalancer (a cloud load balancer)",
        intro: "`visibility.type: LoadBalancer` asks the cloud for an external address; the Exposure stays Reconciling (`WaitingForAddress`, Exposed reason `LoadBalancerPending`) until the Service has one.",
        examples: &["loadbalancer.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "visibility",
        slug: "ingress",
        title: "Ingress (HTTP by host and path)",
        intro: "`visibility.type: Ingress` puts a ClusterIP Service behind one Ingress `<name>` (networking.k8s.io/v1 on Kubernetes ≥ 1.19): `ingress.host` with its `paths` and `tls`, or `ingress.hosts` (one rule per host, each with its own paths and tls; hosts sharing a `tls.secretName` share one `tls` entry), and/or `ingress.defaultBackend: true` (the Ingress's `spec.defaultBackend` is this Service, port `defaultBackendPort` or the first port). `tls.issuer` (with `tls.issuerKind` ClusterIssuer, the default, or Issuer) adds the cert-manager annotation `cert-manager.io/cluster-issuer` or `cert-manager.io/issuer`, so that cert-manager requests the certificate for every TLS host; nothing else of cert-manager is assumed. `status.url` is the first URL, `status.urls` lists one per host and path. One Exposure is one backend; a fan-out is several Exposures sharing a host with different paths.\n\n**What counts as a clash.** Two Exposures clash on a route when they have the same path (the same string: `/` and `/api` may share a host, the longest match wins as usual) on hosts one request can match both of: the same host, or a wildcard and a host of exactly one more label. `*.example.com` matches `shop.example.com` but not `example.com` nor `a.shop.example.com`, as the Ingress API defines wildcards. A wildcard and an exact host do clash although most controllers prefer the exact host: the wildcard's owner would silently lose that host's traffic. The later Exposure stalls with `HostConflict`, the older one is untouched. Two Exposures that set `defaultBackend` for the same `className` (no `className`: the cluster's default class, compared as \"no className\") stall the later with `DefaultBackendConflict`: an ingress controller takes one default backend per class.",
        examples: &[
            "ingress-tomcat.yaml",
            "ingress-fanout.yaml",
            "ingress-multi-host.yaml",
            "ingress-default-backend.yaml",
        ],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "visibility",
        slug: "gateway",
        title: "Gateway API (an HTTPRoute attached to a Gateway)",
        intro: "`visibility.type: Gateway` puts a ClusterIP Service behind an HTTPRoute `<name>` (`gateway.networking.k8s.io/v1`), the successor of Ingress: `gateway.parentRefs` names the Gateways (`name`, `namespace` when another, `sectionName` for one listener) a platform team runs, `hostnames` the hosts (none: the listener's), and `paths` one rule each (`PathPrefix` by default, or `Exact`, to `port` or the first port; none: `/`). The operator owns the route (labels, ownerReference, drift correction, prune when the visibility changes) and nothing of the Gateway. Its status reads the route's `status.parents` that the Gateway controller writes: the Exposure is exposed (`RouteAccepted`) once every Gateway reports `Accepted` and `ResolvedRefs` True for the route's generation; until a Gateway reports, `RoutePending` (is a Gateway controller running?); a refusal is `RouteNotAccepted` or `RouteRefsUnresolved` with the controller's reason. `status.urls` lists `http://<hostname><path>` for every hostname and path. The Gateway API is a set of CRDs, not part of Kubernetes: without them (found by discovery) the Exposure is `Stalled`/`UnsupportedByCluster` naming the missing API, and once they are installed it is reconciled (checked every 5 s while missing) and the HTTPRoute watch starts, without a restart of the operator.",
        examples: &["gateway-httproute.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "visibility",
        slug: "externalname",
        title: "ExternalName (a DNS alias)",
        intro: "`visibility.type: ExternalName` creates only a Service that is a CNAME of `visibility.externalName`: no pods, no ports.",
        examples: &["externalname-db.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "visibility",
        slug: "external-endpoints",
        title: "External endpoints (a backend outside the cluster)",
        intro: "`endpoints` lists addresses outside the cluster: the operator creates a selector-less Service and an Endpoints object with those addresses, and no Deployment.",
        examples: &["external-endpoints.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "storage",
        slug: "existing-class",
        title: "Volumes from an existing StorageClass",
        intro: "A `storage` entry with `storageClassName` becomes a PersistentVolumeClaim `<name>-<volume>` from that class, mounted at `mountPath`. `reclaim: Retain` (the default) keeps the claim when the Exposure or the volume goes (it is released, labelled `exposure.dev/retained-from`, and adopted again by an Exposure of the same name); `reclaim: Delete` deletes it. The Exposure is Reconciling (`WaitingForVolume`) until the claim is Bound, and reports `ProvisioningFailed` with the provisioner's message.",
        examples: &["storage-existing-class.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "storage",
        slug: "glusterfs",
        title: "GlusterFS volumes through heketi (a StorageClass per Exposure)",
        intro: "A `storage` entry with `glusterfs` makes the operator create a cluster-scoped StorageClass `glusterfs.className` (in-tree `kubernetes.io/glusterfs` provisioner, Kubernetes < 1.26) and a claim from it. Only when the operator runs with StorageClasses enabled (chart `storageClasses.enabled`), the `resturl` matches an allowed prefix (`storageClasses.glusterfs.allowedRestUrls`) and the heketi Secret is in the Exposure's namespace (unless `allowCrossNamespaceSecrets`) — otherwise the Exposure stalls with `StorageClassesDisabled` or `StorageClassNotAllowed`. See [security](../security.md): the class can be used by name from every namespace.",
        examples: &["gluster-storage.yaml"],
        kubernetes_version: "1.20",
    },
    Page {
        dir: "workloads",
        slug: "statefulset",
        title: "StatefulSet (stable names, a volume per replica)",
        intro: "`workload: StatefulSet` runs the pods as a StatefulSet `<name>`: stable pod names `<name>-0`, `<name>-1`, …, started one at a time in order (`statefulSet.podManagementPolicy: OrderedReady`, the default) or all at once (`Parallel`), and the headless Service `<name>-headless` (clusterIP None, publishNotReadyAddresses) that gives each pod the DNS name `<name>-<ordinal>.<name>-headless`, made without `headless: true`. Each `storage` entry becomes a claim template: the StatefulSet controller makes one claim per pod, `<volume>-<name>-<ordinal>`, labelled `exposure.dev/per-pod: \"true\"`. Every volume of a StatefulSet has the same `reclaim`; it becomes the StatefulSet's `persistentVolumeClaimRetentionPolicy` (whenDeleted and whenScaled) on Kubernetes ≥ 1.27. Before 1.27 the policy is left out and the claims are always kept, and `reclaim: Delete` is `UnsupportedByCluster`. Scaling, kind switches, changed volumes: [workloads](../workloads.md#statefulset).",
        examples: &["statefulset.yaml"],
        kubernetes_version: "1.35",
    },
    Page {
        dir: "workloads",
        slug: "daemonset",
        title: "DaemonSet (one pod per node)",
        intro: "`workload: DaemonSet` runs one pod on every node the pod may run on (`scheduling.nodeSelector`, `tolerations`, `affinity`). It takes no `replicas` and no `autoscaling` (both are refused), and the desired count is the DaemonSet's `desiredNumberScheduled`: with no node to run on, the Exposure is not Available (`ReplicasUnavailable`, \"no node to run on\"). A `storage` volume is one claim shared by every pod (`<name>-<volume>`), so a ReadWriteOnce volume draws a `SharedReadWriteOnce` warning event. See [workloads](../workloads.md#daemonset).",
        examples: &["daemonset-ingress-controller.yaml"],
        kubernetes_version: "1.35",
    },
    Page {
        dir: "workloads",
        slug: "autoscaling",
        title: "Autoscaling and disruption budgets",
        intro: "`autoscaling` makes a HorizontalPodAutoscaler `<name>` for the Deployment or StatefulSet (`autoscaling/v2`; `autoscaling/v2beta2` before Kubernetes 1.23) with the CPU and/or memory targets given, CPU 80% when neither is. The operator then leaves `replicas` to the autoscaler: the workload carries the annotation `exposure.dev/replicas-from-autoscaler`, and when an autoscaler is added to a running workload the current replica count is handed over first, so the workload does not drop to one pod. `status.autoscaler` shows the autoscaler's current and desired replicas and why it cannot scale (e.g. no metrics). `disruption` makes a PodDisruptionBudget `<name>` over the pods (`policy/v1`; `policy/v1beta1` before 1.21) with `minAvailable` or `maxUnavailable` (a number or a percentage); `status.disruptionBudget` shows how many pods may be evicted now. See [workloads](../workloads.md#autoscaling).",
        examples: &["autoscaling.yaml"],
        kubernetes_version: "1.35",
    },
    Page {
        dir: "workloads",
        slug: "config-files",
        title: "Configuration files (ConfigMaps, Secrets, emptyDir)",
        intro: "`config` mounts ConfigMaps, Secrets and emptyDir volumes into the container (exactly one source each; `items` picks keys and file names). Volume names and mount paths are shared with `storage`. The operator watches the ConfigMaps the pods mount (and Secrets, when it runs with `--watch-secrets=true`) and puts a hash of their data on the pod template (`exposure.dev/config-hash`), so that changed data rolls the pods. A mounted ConfigMap that does not exist makes the Exposure `Available=False`, `ConfigMissing`. `render` cannot read the cluster, so the YAML below has no hash. The ConfigMap itself is the app team's: the example carries it in its `#>` lines. See [workloads](../workloads.md#configuration-files).",
        examples: &["config-files.yaml"],
        kubernetes_version: "1.35",
    },
    Page {
        dir: "workloads",
        slug: "restricted",
        title: "Pod Security `restricted`",
        intro: "`podSecurityContext` (the pod's) and `securityContext` (the container's) are Kubernetes' own types, passed through. This spec is admitted in a namespace that enforces Pod Security level `restricted` (`pod-security.kubernetes.io/enforce: restricted`), and its Deployment draws no warning under `warn: restricted`: both are checked by `operator/tests/e2e_examples.rs`. See [workloads](../workloads.md#pod-security).",
        examples: &["restricted.yaml"],
        kubernetes_version: "1.35",
    },
    Page {
        dir: "workloads",
        slug: "quota-limits",
        title: "Namespace quota and container limits",
        intro: "`quota.hard` becomes a ResourceQuota `<name>` and `quota.limits` a LimitRange `<name>` of type Container (`default`, `defaultRequest`, `max`, `min` per resource; min ≤ defaultRequest ≤ default ≤ max). A ResourceQuota is made unless only `limits` is given. Both are applied before the workload, so its pods get the LimitRange's defaults. Both count for the whole namespace, not only this Exposure's pods. When the quota stops the workload from creating pods, the Exposure is `Available=False` with reason `QuotaExceeded` and the figures, e.g. `3/4 pods: exceeded quota busybox-ns: requested pods=1, used pods=3, limited pods=3`. See [workloads](../workloads.md#quota-and-limits).",
        examples: &["quota-limits.yaml"],
        kubernetes_version: "1.35",
    },
];

/// The example's opening comment as one paragraph, up to its first `#>` line (the objects to
/// create first, shown in the YAML below).
fn header_comment(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with('#') && !l.starts_with("#>"))
        .map(|l| l.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

fn page(p: &Page) -> String {
    let cluster = ClusterInfo::new(p.kubernetes_version.parse().unwrap());
    let mut out = String::new();
    let _ = writeln!(out, "# {}", p.title);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "<!-- Generated from examples/ by operator/tests/docs_sync.rs; do not edit. Regenerate: {REGENERATE} -->"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", p.intro);
    for file in p.examples {
        let text = std::fs::read_to_string(repo().join("examples").join(file)).unwrap();
        let rendered = render_text(&text, file, &cluster)
            .unwrap_or_else(|e| panic!("examples/{file} does not render: {e:?}"));
        let _ = writeln!(out);
        let _ = writeln!(out, "## `examples/{file}`");
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", header_comment(&text));
        let _ = writeln!(out);
        let _ = writeln!(out, "```yaml");
        out.push_str(text.trim_end());
        let _ = writeln!(out);
        let _ = writeln!(out, "```");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "What the operator applies for it (`exposure-operator render -f examples/{file} --kubernetes-version {}`):",
            p.kubernetes_version
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```yaml");
        out.push_str(rendered.trim_end());
        let _ = writeln!(out);
        let _ = writeln!(out, "```");
    }
    out
}

#[test]
fn example_pages_are_in_sync() {
    let mut problems = Vec::new();
    for p in PAGES {
        let path = repo()
            .join("docs")
            .join(p.dir)
            .join(format!("{}.md", p.slug));
        problems.extend(sync(&path, &page(p)));
    }
    // Every example has a page, except the probes and the plain quota (not a visibility,
    // storage or workload mode).
    let documented: Vec<&str> = PAGES
        .iter()
        .flat_map(|p| p.examples.iter().copied())
        .collect();
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let text = std::fs::read_to_string(repo().join("examples").join(&name)).unwrap();
        let about_storage = text.contains("\n  storage:");
        let other = matches!(name.as_str(), "probes.yaml" | "quota.yaml");
        if !documented.contains(&name.as_str()) && (about_storage || !other) {
            problems.push(format!(
                "examples/{name} is on no page of docs/visibility, docs/storage or docs/workloads"
            ));
        }
    }
    check(problems);
}

// ---- troubleshooting and metrics ----------------------------------------------------------

/// String constants (`pub const X: &str = "...";`) of a source file, optionally only inside
/// `pub mod <module> { ... }`.
fn constants(file: &str, module: Option<&str>) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("operator/src").join(file)).unwrap();
    let body = match module {
        Some(m) => {
            let start = text.find(&format!("pub mod {m} {{")).unwrap();
            let end = start + text[start..].find("\n}").unwrap();
            text[start..end].to_string()
        }
        None => text,
    };
    body.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("pub const ")?;
            let (_, value) = rest.split_once(": &str = \"")?;
            Some(value.trim_end_matches("\";").to_string())
        })
        .collect()
}

#[test]
fn troubleshooting_covers_every_reason() {
    let doc = std::fs::read_to_string(repo().join("docs/troubleshooting.md")).unwrap();
    let mut reasons = constants("status/mod.rs", Some("reason"));
    reasons.extend(constants("blocker.rs", Some("reason")));
    reasons
        .retain(|r| r.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !r.contains(' '));
    assert!(reasons.len() >= 30, "found only {} reasons", reasons.len());
    let missing: Vec<&String> = reasons
        .iter()
        .filter(|r| !doc.contains(&format!("`{r}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/troubleshooting.md does not explain: {missing:?}"
    );
}

#[test]
fn metrics_doc_lists_every_metric() {
    let doc = std::fs::read_to_string(repo().join("docs/metrics.md")).unwrap();
    let metrics = exposure_operator::controller::metrics::Metrics::default();
    let text = metrics.render();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(!names.is_empty(), "no metrics exposed");
    let missing: Vec<&&str> = names
        .iter()
        .filter(|n| !doc.contains(&format!("`{n}")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/metrics.md does not list: {missing:?}"
    );
}
