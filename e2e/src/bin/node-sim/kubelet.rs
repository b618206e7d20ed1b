//! 1.20 lane only (`--kubelet-and-scheduler`): kubelet and scheduler of the simulated nodes;
//! on the current lane kwok and kube-scheduler do this (e2e/README.md).

use super::*;

/// How long a `:missing` container shows ErrImagePull before ImagePullBackOff.
const PULL_BACKOFF_AFTER: Duration = Duration::from_secs(3);
/// How often a `:crashloop` container "restarts".
const CRASH_PERIOD: Duration = Duration::from_secs(5);

struct SimNode {
    name: &'static str,
    ip: Ipv4Addr,
}

const NODES: [SimNode; 2] = [
    SimNode {
        name: "sim-node-1",
        ip: Ipv4Addr::new(192, 0, 2, 11),
    },
    SimNode {
        name: "sim-node-2",
        ip: Ipv4Addr::new(192, 0, 2, 12),
    },
];

fn sim_node(name: &str) -> Option<&'static SimNode> {
    NODES.iter().find(|n| n.name == name)
}

fn node_labels(n: &SimNode) -> BTreeMap<String, String> {
    [
        ("kubernetes.io/hostname", n.name),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
        ("exposure.dev/simulated-node", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Nodes and leases

pub(super) async fn heartbeat_loop(client: Client) {
    let mut last_status: HashMap<&'static str, Instant> = HashMap::new();
    loop {
        for n in &NODES {
            if let Err(e) = heartbeat(&client, n, &mut last_status).await {
                warn!(node = n.name, "heartbeat: {e:#}");
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn heartbeat(
    client: &Client,
    n: &'static SimNode,
    last_status: &mut HashMap<&'static str, Instant>,
) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = match nodes.get_opt(n.name).await? {
        Some(node) => node,
        None => {
            let node: Node = serde_json::from_value(json!({
                "metadata": { "name": n.name, "labels": node_labels(n) },
                "spec": {},
            }))?;
            info!(node = n.name, "registering node");
            last_status.remove(n.name);
            nodes.create(&PostParams::default(), &node).await?
        }
    };
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status == "True")
        .unwrap_or(false);
    let due = last_status
        .get(n.name)
        .map(|t| t.elapsed() >= Duration::from_secs(30))
        .unwrap_or(true);
    if !ready || due {
        let now = Time(Timestamp::now());
        let cond = |type_: &str, status: &str, reason: &str, message: &str| {
            json!({
                "type": type_, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now,
            })
        };
        let resources = json!({
            "cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi",
        });
        let status = json!({ "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "node-sim is posting ready status"),
            ],
            // InternalDNS "localhost" is what kube-apiserver dials for logs/exec
            // (--kubelet-preferred-address-types InternalDNS): never a non-loopback address.
            "addresses": [
                { "type": "InternalIP", "address": n.ip.to_string() },
                { "type": "Hostname", "address": n.name },
                { "type": "InternalDNS", "address": "localhost" },
            ],
            "daemonEndpoints": { "kubeletEndpoint": { "Port": 10250 } },
            "nodeInfo": {
                "machineID": fake_hex(n.name, 32), "systemUUID": fake_hex(n.name, 32),
                "bootID": fake_hex(n.name, 32), "kernelVersion": "5.10.0-sim",
                "osImage": "node-sim", "containerRuntimeVersion": "containerd://1.4.0-sim",
                "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2",
                "operatingSystem": "linux", "architecture": "amd64",
            },
        }});
        nodes
            .patch_status(n.name, &PatchParams::default(), &Patch::Merge(&status))
            .await?;
        last_status.insert(n.name, Instant::now());
        if !ready {
            info!(node = n.name, "node status posted (Ready)");
        }
    }

    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let now = MicroTime(Timestamp::now());
    match leases.get_opt(n.name).await? {
        Some(_) => {
            let patch = json!({ "spec": {
                "holderIdentity": n.name, "leaseDurationSeconds": 40, "renewTime": now,
            }});
            leases
                .patch(n.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        None => {
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {
                    "name": n.name, "namespace": "kube-node-lease",
                    "ownerReferences": [{
                        "apiVersion": "v1", "kind": "Node", "name": n.name,
                        "uid": node.metadata.uid.clone().unwrap_or_default(),
                    }],
                },
                "spec": { "holderIdentity": n.name, "leaseDurationSeconds": 40, "renewTime": now },
            }))?;
            leases.create(&PostParams::default(), &lease).await?;
        }
    }
    Ok(())
}

pub(super) struct PodMemo {
    first_seen: Instant,
    /// restartCount found on the pod when node-sim first saw it
    restart_base: i32,
}

fn pod_ip(idx: u32) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::new(10, 244, 0, 0));
    Ipv4Addr::from(base + idx)
}

fn pod_ip_index(ip: &str) -> Option<u32> {
    let ip: Ipv4Addr = ip.parse().ok()?;
    let o = ip.octets();
    (o[0] == 10 && o[1] == 244).then(|| (u32::from(o[2]) << 8) | u32::from(o[3]))
}

impl SimState {
    fn alloc_pod_ip(&mut self, uid: &str, existing: Option<&str>) -> Ipv4Addr {
        if let Some(idx) = self.pod_ips.get(uid) {
            return pod_ip(*idx);
        }
        if let Some(idx) = existing.and_then(pod_ip_index) {
            self.pod_ips.insert(uid.to_string(), idx);
            self.used_pod_ips.insert(idx);
            return pod_ip(idx);
        }
        loop {
            self.next_pod_ip = if self.next_pod_ip >= 0xfffe {
                10
            } else {
                self.next_pod_ip.max(9) + 1
            };
            let idx = self.next_pod_ip;
            let low = idx & 0xff;
            if low == 0 || low == 255 || self.used_pod_ips.contains(&idx) {
                continue;
            }
            self.pod_ips.insert(uid.to_string(), idx);
            self.used_pod_ips.insert(idx);
            return pod_ip(idx);
        }
    }

    pub(super) fn release_pod_ip(&mut self, uid: &str) {
        if let Some(idx) = self.pod_ips.remove(uid) {
            self.used_pod_ips.remove(&idx);
        }
    }
}

fn fake_hex(seed: &str, len: usize) -> String {
    let mut out = String::new();
    let mut i = 0u64;
    while out.len() < len {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        i.hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
        i += 1;
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------------------------------------
// Pods

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Behaviour {
    Normal,
    Missing,
    CrashLoop,
    Unready,
}

/// The image tag decides the simulated behaviour: `:missing`, `:crashloop`, `:unready`.
fn behaviour(image: &str) -> Behaviour {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':').map(|(_, tag)| tag) {
        Some("missing") => Behaviour::Missing,
        Some("crashloop") => Behaviour::CrashLoop,
        Some("unready") => Behaviour::Unready,
        _ => Behaviour::Normal,
    }
}

fn canonical_image(image: &str) -> String {
    let first = image.split('/').next().unwrap_or("");
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let with_repo = if has_registry {
        image.to_string()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let last = with_repo.rsplit('/').next().unwrap_or("");
    if last.contains(':') || last.contains('@') {
        with_repo
    } else {
        format!("{with_repo}:latest")
    }
}

fn image_id(image: &str) -> String {
    let repo = canonical_image(image);
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r.to_string(),
        _ => repo,
    };
    format!("{repo}@sha256:{}", fake_hex(image, 64))
}

fn cond(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        reason: reason.map(str::to_string),
        message,
        ..Default::default()
    }
}

/// A comparable summary of the parts of a pod status node-sim owns (no timestamps).
fn signature(s: Option<&PodStatus>) -> String {
    let Some(s) = s else { return String::new() };
    let mut out = format!(
        "{}|{}|{}|",
        s.phase.as_deref().unwrap_or(""),
        s.pod_ip.as_deref().unwrap_or(""),
        s.host_ip.as_deref().unwrap_or("")
    );
    let mut conds: Vec<String> = s
        .conditions
        .iter()
        .flatten()
        .filter(|c| OUR_CONDITIONS.contains(&c.type_.as_str()))
        .map(|c| format!("{}={}", c.type_, c.status))
        .collect();
    conds.sort();
    out.push_str(&conds.join(","));
    for (label, list) in [
        ("i", &s.init_container_statuses),
        ("c", &s.container_statuses),
    ] {
        for c in list.iter().flatten() {
            let st = c.state.as_ref();
            let state = if let Some(w) = st.and_then(|s| s.waiting.as_ref()) {
                format!("waiting:{}", w.reason.as_deref().unwrap_or(""))
            } else if st.and_then(|s| s.running.as_ref()).is_some() {
                "running".to_string()
            } else if let Some(t) = st.and_then(|s| s.terminated.as_ref()) {
                format!("terminated:{}", t.exit_code)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "|{label}:{}:{}:{}:{}:{state}",
                c.name,
                c.ready,
                c.started.unwrap_or(false),
                c.restart_count
            ));
        }
    }
    out
}

const OUR_CONDITIONS: [&str; 4] = ["PodScheduled", "Initialized", "ContainersReady", "Ready"];

enum Outcome {
    Running {
        ready: bool,
    },
    Waiting {
        reason: String,
        message: String,
        never_started: bool,
    },
    Terminated {
        exit_code: i32,
        reason: &'static str,
    },
}

impl Sim {
    pub(super) fn forget_pod(&self, pod: &Pod) {
        let uid = pod.uid().unwrap_or_default();
        let mut st = self.state.lock().unwrap();
        st.release_pod_ip(&uid);
        st.memo.remove(&uid);
        st.foreign.remove(&uid);
    }

    pub(super) async fn handle_pod(&self, pod: &Pod) -> Result<()> {
        let ns = pod.namespace().unwrap_or_default();
        let name = pod.name_any();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        if pod.metadata.deletion_timestamp.is_some() {
            // No kubelet will ever confirm termination: finish the deletion right away.
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: pod.uid(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            match api.delete(&name, &dp).await {
                Ok(_) => debug!(pod = %format!("{ns}/{name}"), "deleted terminating pod"),
                Err(e) if is_not_found(&e) || is_conflict(&e) => {}
                Err(e) => return Err(e).context(format!("deleting pod {ns}/{name}")),
            }
            return Ok(());
        }
        let Some(spec) = pod.spec.as_ref() else {
            return Ok(());
        };
        match spec.node_name.as_deref() {
            None | Some("") => self.schedule(pod, &api).await,
            Some(node) => match sim_node(node) {
                Some(n) => self.sync_pod_status(pod, n, &api).await,
                None => {
                    let uid = pod.uid().unwrap_or_default();
                    if self.state.lock().unwrap().foreign.insert(uid) {
                        info!(pod = %format!("{ns}/{name}"), node, "pod bound to a node node-sim does not simulate; ignoring");
                    }
                    Ok(())
                }
            },
        }
    }

    async fn schedule(&self, pod: &Pod, api: &Api<Pod>) -> Result<()> {
        let ns = pod.namespace().unwrap_or_default();
        let name = pod.name_any();
        let spec = pod.spec.as_ref().unwrap();
        if matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        ) {
            return Ok(());
        }
        let selector = spec.node_selector.clone().unwrap_or_default();
        let candidates: Vec<&SimNode> = NODES
            .iter()
            .filter(|n| {
                let labels = node_labels(n);
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .collect();
        if candidates.is_empty() {
            return self
                .unschedulable(
                    pod,
                    api,
                    "0/2 nodes are available: 2 node(s) didn't match node selector.",
                )
                .await;
        }
        let rr = {
            let mut st = self.state.lock().unwrap();
            st.round_robin = st.round_robin.wrapping_add(1);
            st.round_robin
        };
        let mut node = candidates[rr % candidates.len()];

        // Volume binding, as the scheduler's VolumeBinding plugin would do it.
        let pvc_api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
        let mut unbound = Vec::new();
        for claim in spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
        {
            let Some(pvc) = pvc_api.get_opt(&claim.claim_name).await? else {
                return self
                    .unschedulable(
                        pod,
                        api,
                        &format!("persistentvolumeclaim \"{}\" not found", claim.claim_name),
                    )
                    .await;
            };
            if let Some(sel) = pvc
                .annotations()
                .get(ANN_SELECTED_NODE)
                .and_then(|s| sim_node(s))
            {
                node = sel;
            }
            let bound = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
            if !bound {
                unbound.push(pvc);
            }
        }
        if !unbound.is_empty() {
            for pvc in &unbound {
                let class = pvc
                    .spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.clone())
                    .unwrap_or_default();
                let wffc = self
                    .classes
                    .get(&ObjectRef::new(&class))
                    .map(|c| c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"))
                    .unwrap_or(false);
                if wffc && !pvc.annotations().contains_key(ANN_SELECTED_NODE) {
                    let patch =
                        json!({ "metadata": { "annotations": { ANN_SELECTED_NODE: node.name } } });
                    pvc_api
                        .patch(
                            &pvc.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await
                        .context("annotating PVC with selected node")?;
                    info!(pvc = %format!("{ns}/{}", pvc.name_any()), node = node.name, "selected node for WaitForFirstConsumer claim");
                }
            }
            return self
                .unschedulable(
                    pod,
                    api,
                    "0/2 nodes are available: 2 pod has unbound immediate PersistentVolumeClaims.",
                )
                .await;
        }

        let binding = json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": { "name": name, "namespace": ns, "uid": pod.uid() },
            "target": { "apiVersion": "v1", "kind": "Node", "name": node.name },
        });
        match api
            .create_subresource::<_, Value>("binding", &name, &PostParams::default(), &binding)
            .await
        {
            Ok(_) => {
                info!(pod = %format!("{ns}/{name}"), node = node.name, "bound");
                Ok(())
            }
            Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(()),
            Err(e) => Err(e).context(format!("binding pod {ns}/{name}")),
        }
    }

    async fn unschedulable(&self, pod: &Pod, api: &Api<Pod>, message: &str) -> Result<()> {
        let existing = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"));
        if existing
            .map(|c| c.status == "False" && c.message.as_deref() == Some(message))
            .unwrap_or(false)
        {
            return Ok(());
        }
        let mut conds: Vec<PodCondition> = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.type_ != "PodScheduled")
            .collect();
        let mut c = cond(
            "PodScheduled",
            false,
            Some("Unschedulable"),
            Some(message.to_string()),
        );
        c.last_transition_time = Some(Time(Timestamp::now()));
        conds.push(c);
        let patch = json!({ "status": { "phase": "Pending", "conditions": conds } });
        api.patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .context("marking pod unschedulable")?;
        info!(pod = %format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any()), "unschedulable: {message}");
        Ok(())
    }

    async fn sync_pod_status(&self, pod: &Pod, node: &SimNode, api: &Api<Pod>) -> Result<()> {
        let current = pod.status.as_ref();
        if matches!(
            current.and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        ) {
            return Ok(());
        }
        let desired = self.desired_status(pod, node);
        if signature(current) == signature(Some(&desired)) {
            return Ok(());
        }
        let patch = json!({ "status": desired });
        match api
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                debug!(pod = %pod.name_any(), sig = %signature(Some(&desired)), "status updated");
                Ok(())
            }
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e).context("updating pod status"),
        }
    }

    fn desired_status(&self, pod: &Pod, node: &SimNode) -> PodStatus {
        let spec = pod.spec.as_ref().unwrap();
        let uid = pod.uid().unwrap_or_default();
        let current = pod.status.clone().unwrap_or_default();
        let now = Time(Timestamp::now());
        let (first_seen, restart_base, ip) = {
            let mut st = self.state.lock().unwrap();
            let base = current
                .container_statuses
                .iter()
                .flatten()
                .map(|c| c.restart_count)
                .max()
                .unwrap_or(0);
            let memo = st.memo.entry(uid.clone()).or_insert_with(|| PodMemo {
                first_seen: Instant::now(),
                restart_base: base,
            });
            let (first_seen, restart_base) = (memo.first_seen, memo.restart_base);
            let ip = if spec.host_network == Some(true) {
                node.ip
            } else {
                st.alloc_pod_ip(&uid, current.pod_ip.as_deref())
            };
            (first_seen, restart_base, ip)
        };
        let age = first_seen.elapsed();
        let restart_policy = spec.restart_policy.as_deref().unwrap_or("Always");
        let crash_restarts = restart_base + 1 + (age.as_secs() / CRASH_PERIOD.as_secs()) as i32;

        let outcome = |c: &Container, init: bool| -> Outcome {
            match behaviour(&c.image.clone().unwrap_or_default()) {
                Behaviour::Missing => {
                    let image = c.image.clone().unwrap_or_default();
                    if age < PULL_BACKOFF_AFTER {
                        Outcome::Waiting {
                            reason: "ErrImagePull".into(),
                            message: format!(
                                "rpc error: code = NotFound desc = failed to pull and unpack image \"{}\": failed to resolve reference \"{}\": {}: not found",
                                canonical_image(&image), canonical_image(&image), canonical_image(&image)
                            ),
                            never_started: true,
                        }
                    } else {
                        Outcome::Waiting {
                            reason: "ImagePullBackOff".into(),
                            message: format!("Back-off pulling image \"{image}\""),
                            never_started: true,
                        }
                    }
                }
                Behaviour::CrashLoop if restart_policy == "Never" => Outcome::Terminated {
                    exit_code: 1,
                    reason: "Error",
                },
                Behaviour::CrashLoop => Outcome::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: format!(
                        "back-off {}s restarting failed container={} pod={}_{}({})",
                        CRASH_PERIOD.as_secs() * 2,
                        c.name,
                        pod.name_any(),
                        pod.namespace().unwrap_or_default(),
                        uid
                    ),
                    never_started: false,
                },
                Behaviour::Normal | Behaviour::Unready if init || restart_policy != "Always" => {
                    Outcome::Terminated {
                        exit_code: 0,
                        reason: "Completed",
                    }
                }
                Behaviour::Normal => Outcome::Running { ready: true },
                Behaviour::Unready => Outcome::Running { ready: false },
            }
        };

        let previous = |name: &str, init: bool| -> Option<ContainerStatus> {
            let list = if init {
                &current.init_container_statuses
            } else {
                &current.container_statuses
            };
            list.iter().flatten().find(|s| s.name == name).cloned()
        };
        let container_id = |c: &Container, restarts: i32| {
            format!(
                "containerd://{}",
                fake_hex(&format!("{uid}/{}/{restarts}", c.name), 64)
            )
        };
        let status_for = |c: &Container, init: bool, blocked: bool| -> (ContainerStatus, Outcome) {
            let prev = previous(&c.name, init);
            let image = c.image.clone().unwrap_or_default();
            let mut cs = ContainerStatus {
                name: c.name.clone(),
                image: image.clone(),
                image_id: String::new(),
                ready: false,
                restart_count: 0,
                started: Some(false),
                ..Default::default()
            };
            if blocked {
                cs.state = Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("PodInitializing".into()),
                        message: None,
                    }),
                    ..Default::default()
                });
                return (
                    cs,
                    Outcome::Waiting {
                        reason: "PodInitializing".into(),
                        message: String::new(),
                        never_started: true,
                    },
                );
            }
            let out = outcome(c, init);
            match &out {
                Outcome::Running { ready } => {
                    let started_at = prev
                        .as_ref()
                        .and_then(|p| p.state.as_ref())
                        .and_then(|s| s.running.as_ref())
                        .and_then(|r| r.started_at.clone())
                        .unwrap_or_else(|| now.clone());
                    cs.ready = *ready;
                    cs.started = Some(true);
                    cs.image_id = image_id(&image);
                    cs.container_id = Some(container_id(c, 0));
                    cs.state = Some(ContainerState {
                        running: Some(ContainerStateRunning {
                            started_at: Some(started_at),
                        }),
                        ..Default::default()
                    });
                }
                Outcome::Waiting {
                    reason,
                    message,
                    never_started,
                } => {
                    cs.state = Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some(reason.clone()),
                            message: Some(message.clone()),
                        }),
                        ..Default::default()
                    });
                    if !never_started {
                        cs.restart_count = crash_restarts;
                        cs.image_id = image_id(&image);
                        cs.container_id = Some(container_id(c, crash_restarts));
                        cs.last_state = Some(ContainerState {
                            terminated: Some(ContainerStateTerminated {
                                exit_code: 1,
                                reason: Some("Error".into()),
                                started_at: Some(now.clone()),
                                finished_at: Some(now.clone()),
                                container_id: Some(container_id(c, crash_restarts)),
                                ..Default::default()
                            }),
                            ..Default::default()
                        });
                    }
                }
                Outcome::Terminated { exit_code, reason } => {
                    cs.image_id = image_id(&image);
                    cs.container_id = Some(container_id(c, 0));
                    cs.state = Some(ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            exit_code: *exit_code,
                            reason: Some((*reason).into()),
                            started_at: Some(now.clone()),
                            finished_at: Some(now.clone()),
                            container_id: Some(container_id(c, 0)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
            }
            (cs, out)
        };

        // Init containers run in order; the first one that does not complete blocks the rest.
        let mut init_statuses = Vec::new();
        let mut init_blocked = false;
        let mut pending_init = Vec::new();
        for c in spec.init_containers.iter().flatten() {
            let (cs, out) = status_for(c, true, init_blocked);
            if !matches!(out, Outcome::Terminated { exit_code: 0, .. }) {
                init_blocked = true;
                pending_init.push(c.name.clone());
            }
            init_statuses.push(cs);
        }
        let mut statuses = Vec::new();
        let mut outcomes = Vec::new();
        for c in &spec.containers {
            let (cs, out) = status_for(c, false, init_blocked);
            statuses.push(cs);
            outcomes.push(out);
        }

        let all_terminated = outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Terminated { .. }));
        let phase = if init_blocked
            || outcomes.iter().any(|o| {
                matches!(
                    o,
                    Outcome::Waiting {
                        never_started: true,
                        ..
                    }
                )
            }) {
            "Pending"
        } else if all_terminated {
            if outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Terminated { exit_code: 0, .. }))
            {
                "Succeeded"
            } else {
                "Failed"
            }
        } else {
            "Running"
        };
        let unready: Vec<String> = statuses
            .iter()
            .filter(|s| !s.ready)
            .map(|s| s.name.clone())
            .collect();
        let containers_ready = unready.is_empty();

        let mut conds = vec![cond("PodScheduled", true, None, None)];
        conds.push(if init_blocked {
            cond(
                "Initialized",
                false,
                Some("ContainersNotInitialized"),
                Some(format!(
                    "containers with incomplete status: [{}]",
                    pending_init.join(" ")
                )),
            )
        } else {
            cond("Initialized", true, None, None)
        });
        let not_ready_reason = if phase == "Succeeded" || phase == "Failed" {
            "PodCompleted"
        } else {
            "ContainersNotReady"
        };
        for t in ["ContainersReady", "Ready"] {
            conds.push(if containers_ready && phase == "Running" {
                cond(t, true, None, None)
            } else {
                cond(
                    t,
                    false,
                    Some(not_ready_reason),
                    (not_ready_reason == "ContainersNotReady").then(|| {
                        format!("containers with unready status: [{}]", unready.join(" "))
                    }),
                )
            });
        }
        // Keep lastTransitionTime when the status did not change; keep foreign conditions.
        for c in &mut conds {
            let prev = current
                .conditions
                .iter()
                .flatten()
                .find(|p| p.type_ == c.type_);
            c.last_probe_time = None;
            c.last_transition_time = match prev {
                Some(p) if p.status == c.status => {
                    p.last_transition_time.clone().or_else(|| Some(now.clone()))
                }
                _ => Some(now.clone()),
            };
        }
        for c in current.conditions.iter().flatten() {
            if !OUR_CONDITIONS.contains(&c.type_.as_str()) {
                conds.push(c.clone());
            }
        }

        PodStatus {
            phase: Some(phase.into()),
            conditions: Some(conds),
            host_ip: Some(node.ip.to_string()),
            pod_ip: Some(ip.to_string()),
            pod_ips: Some(vec![PodIP { ip: ip.to_string() }]),
            start_time: current.start_time.clone().or(Some(now.clone())),
            init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
            container_statuses: Some(statuses),
            ..Default::default()
        }
    }
}
