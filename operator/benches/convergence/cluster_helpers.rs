//! Namespaces, StorageClasses, `kubectl apply` and the operator's process, for the phases.

use super::*;

pub(crate) async fn create_namespace(client: &Client, prefix: &str) -> Result<String> {
    let name = format!("{prefix}-{}", random_suffix());
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {BENCH_LABEL: "true"}}
    }))?;
    api.create(&PostParams::default(), &ns).await?;
    // Pods are refused until the namespace's default ServiceAccount exists.
    let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
    let started = Instant::now();
    while sa.get_opt("default").await?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("no default ServiceAccount in {name} after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(name)
}

/// Deletes namespaces and waits (bounded) until they are gone; returns the seconds it took.
pub(crate) async fn delete_namespaces(
    client: &Client,
    names: &[String],
    timeout: Duration,
) -> Result<f64> {
    let api: Api<Namespace> = Api::all(client.clone());
    let started = Instant::now();
    for name in names {
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    for name in names {
        while api.get_opt(name).await?.is_some() {
            if started.elapsed() > timeout {
                eprintln!("[bench] namespace {name} still terminating after {timeout:?}; going on");
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// `kubectl apply --server-side` of a file. `--validate=false` by default: with kubectl's
/// default (strict) each process downloads and parses the API server's OpenAPI v3 schema
/// before its first request, seconds of CPU that would count eight times in T_raw.
pub(crate) async fn kubectl_apply(
    cfg: &Config,
    kubeconfig: &Path,
    ns: &str,
    file: &Path,
    manager: &str,
) -> Result<()> {
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            manager,
        ])
        .arg(format!("--validate={}", cfg.kubectl_validate))
        .args(["--namespace", ns, "-f"])
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .await
        .context("running kubectl")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(20).collect();
        bail!(
            "kubectl apply -f {} failed ({}):\n{}",
            file.display(),
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// `exposure-operator run` for one namespace (release build, default flags but
/// `--concurrency`), and the seconds from spawning it to its first `/readyz` 200.
pub(crate) async fn start_operator(
    cfg: &Config,
    cluster: &Cluster,
    ns: &str,
    tag: &str,
) -> Result<(Operator, f64)> {
    let (op, ready, _) = start_operator_timed(cfg, cluster, ns, tag, None).await?;
    Ok((op, ready))
}

/// [`start_operator`], and with `reconciles: Some(n)` also the seconds from spawning it until
/// its `exposure_reconciles_total` reached n (None: not within the bound).
pub(crate) async fn start_operator_timed(
    cfg: &Config,
    cluster: &Cluster,
    ns: &str,
    tag: &str,
    reconciles: Option<usize>,
) -> Result<(Operator, f64, Option<f64>)> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let logs = cfg.out_dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let log = logs.join(format!("operator-{tag}.log"));
    let mut cmd = tokio::process::Command::new(&cfg.operator);
    cmd.args(["run", "--metrics-addr", &addr, "--namespace", ns])
        .args(["--concurrency", &cfg.concurrency.to_string()])
        .args(&cfg.operator_args)
        .env("KUBECONFIG", cluster.kubeconfig_path())
        .env("POD_NAME", format!("bench-{port}"));
    match &cfg.operator_log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    let started = Instant::now();
    // Operator::launch checks /readyz every 250 ms; these finer polls time the first 200 and
    // the reconciles.
    let poll_addr = addr.clone();
    let ready_poll = tokio::spawn(async move {
        loop {
            if let Ok((200, _)) = http_get(&poll_addr, "/readyz").await {
                return Instant::now();
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let bound = cfg.bound(60.0, 0.05, reconciles.unwrap_or(0));
    let poll_addr = addr.clone();
    let reconciles_poll = reconciles.map(|n| {
        tokio::spawn(async move {
            loop {
                if let Ok((200, text)) = http_get(&poll_addr, "/metrics").await {
                    if support::metric_sum(&text, "exposure_reconciles_total", None) >= n as f64 {
                        return Some(Instant::now());
                    }
                }
                if started.elapsed() > bound {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    });
    let op = Operator::launch(cmd, addr, log).await?;
    let ready = ready_poll.await?;
    let reconciled = match reconciles_poll {
        Some(task) => task.await?,
        None => None,
    };
    let since = |at: Instant| at.saturating_duration_since(started).as_secs_f64();
    Ok((op, since(ready), reconciled.map(since)))
}

pub(crate) async fn settle_writes(op: &Operator, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    let mut last = (f64::NAN, Instant::now());
    while started.elapsed() < timeout {
        let writes = op.writes(None).await?;
        if writes != last.0 {
            last = (writes, Instant::now());
        } else if last.1.elapsed() >= Duration::from_secs(3) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("[bench]   the operator still wrote after {timeout:?}; going on");
    Ok(())
}

/// A StorageClass of node-sim's simulated provisioner, for the storage pass.
pub(crate) async fn create_class(client: &Client) -> Result<String> {
    let name = format!("bench-sim-{}", random_suffix());
    let sc: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {BENCH_LABEL: "true"}},
        "provisioner": "exposure.dev/simulated",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }))?;
    Api::<StorageClass>::all(client.clone())
        .create(&PostParams::default(), &sc)
        .await?;
    Ok(name)
}

/// Deletes the class once its volumes are gone (bounded wait).
pub(crate) async fn delete_class(client: &Client, name: &str, timeout: Duration) -> Result<()> {
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let started = Instant::now();
    loop {
        let left = pvs
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|pv| {
                pv.spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.as_deref())
                    == Some(name)
            })
            .count();
        if left == 0 {
            break;
        }
        if started.elapsed() > timeout {
            eprintln!("[bench] {left} volumes of {name} left after {timeout:?}; deleting the class anyway");
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    match Api::<StorageClass>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn leftovers(client: &Client) -> Result<()> {
    let selector = ListParams::default().labels(&format!("{BENCH_LABEL}=true"));
    let names: Vec<String> = Api::<Namespace>::all(client.clone())
        .list(&selector)
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    if !names.is_empty() {
        eprintln!(
            "[bench] deleting {} namespaces an earlier run left",
            names.len()
        );
        delete_namespaces(client, &names, Duration::from_secs(600)).await?;
    }
    for sc in Api::<StorageClass>::all(client.clone())
        .list(&selector)
        .await?
        .items
    {
        if let Some(name) = sc.metadata.name {
            delete_class(client, &name, Duration::from_secs(120)).await?;
        }
    }
    Ok(())
}
