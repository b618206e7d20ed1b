//! A heketi stand-in: the part of heketi's REST API that kube-controller-manager v1.20.2's
//! in-tree `kubernetes.io/glusterfs` provisioner uses to create and delete volumes, served on
//! `127.0.0.1:<free port>` by a tiny HTTP/1.1 server inside the test process.
//!
//! Calls made by the provisioner (pkg/volume/glusterfs/glusterfs.go and heketi's go-client):
//!
//! * `POST /volumes` → `202 Accepted`, `Location: /queue/<id>`; the client polls the queue URL
//!   and gets `303 See Other` → `GET /volumes/<id>` → `200` with the volume JSON.
//! * `GET /clusters/<id>` and `GET /nodes/<id>` → the storage addresses the provisioner writes
//!   into the `glusterfs-dynamic-<pvc-uid>` Endpoints (from 192.0.2.0/24; never contacted).
//! * `DELETE /volumes/<id>` → `202`, `Location: /queue/<id>` → `204 No Content`
//!   (`404 Id not found` for unknown volumes, which the provisioner accepts).
//! * Also `GET /hello`, `GET /clusters`, `GET /volumes`, `GET /nodes/<id>`.
//!
//! Every request is recorded ([`HeketiStandIn::requests`]); [`HeketiStandIn::set_fail`] makes
//! volume creation fail with a given message (the provisioner then emits `ProvisioningFailed`).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let heketi = exposure_e2e::heketi::HeketiStandIn::start().await?;
//! // StorageClass parameters: resturl = heketi.url(), restauthenabled = "false"
//! println!("{}", heketi.url());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The single gluster cluster the stand-in reports.
pub const CLUSTER_ID: &str = "c0ffee00000000000000000000000001";
/// Gluster nodes: (id, storage address). Addresses are from TEST-NET-1 and never contacted.
pub const NODES: [(&str, &str); 3] = [
    ("a0000000000000000000000000000001", "192.0.2.101"),
    ("a0000000000000000000000000000002", "192.0.2.102"),
    ("a0000000000000000000000000000003", "192.0.2.103"),
];

/// One HTTP request received by the stand-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path including any query string, e.g. `/volumes/<id>`.
    pub path: String,
    pub body: String,
}

/// A volume the stand-in currently holds.
#[derive(Clone, Debug)]
pub struct StandInVolume {
    pub id: String,
    pub name: String,
    pub size_gib: u64,
    /// The JSON body of the create request.
    pub request: Value,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    fail: Option<String>,
    volumes: BTreeMap<String, StandInVolume>,
    /// queue id -> where the finished operation points (`Some(path)` = 303, `None` = 204)
    queue: BTreeMap<String, Option<String>>,
}

/// Handle to a running stand-in; the server stops when the handle is dropped.
pub struct HeketiStandIn {
    url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

static IDS: AtomicU64 = AtomicU64::new(1);

fn new_id() -> String {
    let n = IDS.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{:016x}{:08x}{:08x}", t, std::process::id(), n as u32)
}

impl HeketiStandIn {
    /// Binds `127.0.0.1:0` and serves in a background task of the current tokio runtime.
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, st).await {
                        tracing::debug!("heketi stand-in connection: {e:#}");
                    }
                });
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            state,
            task,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (use as the StorageClass `resturl`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// All requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// `Some(message)`: `POST /volumes` answers `500` with `message` as the body;
    /// `None`: volume creation succeeds again.
    pub fn set_fail(&self, message: Option<&str>) {
        self.state.lock().unwrap().fail = message.map(str::to_string);
    }

    /// Volumes that exist right now (created and not yet deleted).
    pub fn volumes(&self) -> Vec<StandInVolume> {
        self.state
            .lock()
            .unwrap()
            .volumes
            .values()
            .cloned()
            .collect()
    }
}

impl Drop for HeketiStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
        body: format!("{body}\n"),
    }
}

fn json_resp(v: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("Content-Type", "application/json".into())],
        body: v.to_string(),
    }
}

fn redirect(status: u16, location: String) -> Response {
    Response {
        status,
        headers: vec![("Location", location)],
        body: String::new(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        303 => "See Other",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) -> Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        anyhow::ensure!(buf.len() < 1 << 20, "request headers too large");
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("/").to_string();
    let content_length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + content_length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body_end = (header_end + content_length).min(buf.len());
    let body = String::from_utf8_lossy(&buf[header_end..body_end]).to_string();

    let resp = handle(&state, &method, &path, &body);
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        resp.body.len(),
        resp.body
    ));
    stream.write_all(out.as_bytes()).await?;
    stream.flush().await?;
    stream.shutdown().await.ok();
    Ok(())
}

fn volume_json(v: &StandInVolume) -> Value {
    let hosts: Vec<&str> = NODES.iter().map(|(_, ip)| *ip).collect();
    let mut durability = v.request.get("durability").cloned().unwrap_or(json!({}));
    if durability.get("type").is_none() {
        durability = json!({ "type": "replicate", "replicate": { "replica": 3 } });
    }
    json!({
        "size": v.size_gib,
        "name": v.name,
        "durability": durability,
        "gid": v.request.get("gid").cloned().unwrap_or(json!(0)),
        "glustervolumeoptions": v.request.get("glustervolumeoptions").cloned().unwrap_or(json!([])),
        "snapshot": v.request.get("snapshot").cloned().unwrap_or(json!({ "enable": false, "factor": 1 })),
        "id": v.id,
        "cluster": CLUSTER_ID,
        "mount": { "glusterfs": {
            "hosts": hosts,
            "device": format!("{}:{}", hosts[0], v.name),
            "options": { "backup-volfile-servers": hosts[1..].join(",") },
        }},
        "blockinfo": {},
        "bricks": [],
    })
}

fn handle(state: &Mutex<State>, method: &str, path: &str, body: &str) -> Response {
    let mut st = state.lock().unwrap();
    st.requests.push(RecordedRequest {
        method: method.to_string(),
        path: path.to_string(),
        body: body.to_string(),
    });
    let clean = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = clean.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["hello"]) => text(200, "Hello from Heketi"),
        ("GET", ["clusters"]) => json_resp(json!({ "clusters": [CLUSTER_ID] })),
        ("GET", ["clusters", id]) if *id == CLUSTER_ID => {
            let vols: Vec<&String> = st.volumes.keys().collect();
            json_resp(json!({
                "id": CLUSTER_ID,
                "nodes": NODES.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
                "volumes": vols, "block": true, "file": true, "blockvolumes": [],
            }))
        }
        ("GET", ["nodes", id]) => match NODES.iter().enumerate().find(|(_, (nid, _))| nid == id) {
            Some((i, (nid, ip))) => json_resp(json!({
                "zone": 1,
                "hostnames": { "manage": [format!("gluster-{}.sim", i + 1)], "storage": [ip] },
                "cluster": CLUSTER_ID, "id": nid, "state": "online", "devices": [],
            })),
            None => text(404, "Id not found"),
        },
        ("GET", ["volumes"]) => {
            json_resp(json!({ "volumes": st.volumes.keys().collect::<Vec<_>>() }))
        }
        ("POST", ["volumes"]) => {
            if let Some(msg) = st.fail.clone() {
                return text(500, &msg);
            }
            let request: Value = match serde_json::from_str(body) {
                Ok(v) => v,
                Err(e) => return text(400, &format!("invalid volume create request: {e}")),
            };
            let id = new_id();
            let name = request
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("vol_{id}"));
            let size_gib = request.get("size").and_then(Value::as_u64).unwrap_or(1);
            st.volumes.insert(
                id.clone(),
                StandInVolume {
                    id: id.clone(),
                    name,
                    size_gib,
                    request,
                },
            );
            let q = new_id();
            st.queue.insert(q.clone(), Some(format!("/volumes/{id}")));
            redirect(202, format!("/queue/{q}"))
        }
        ("GET", ["volumes", id]) => match st.volumes.get(*id) {
            Some(v) => json_resp(volume_json(v)),
            None => text(404, "Id not found"),
        },
        ("DELETE", ["volumes", id]) => {
            if st.volumes.remove(*id).is_none() {
                return text(404, "Id not found");
            }
            let q = new_id();
            st.queue.insert(q.clone(), None);
            redirect(202, format!("/queue/{q}"))
        }
        ("GET", ["queue", q]) => match st.queue.remove(*q) {
            Some(Some(location)) => redirect(303, location),
            Some(None) => Response {
                status: 204,
                headers: vec![],
                body: String::new(),
            },
            None => text(404, "Id not found"),
        },
        (_, ["volumes" | "clusters" | "nodes" | "queue" | "hello", ..]) => {
            text(405, "Method not allowed")
        }
        _ => text(404, "Not found"),
    }
}
