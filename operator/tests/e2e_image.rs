//! The image is what we test. scripts/build-image.sh builds the operator's OCI image layout in
//! target/dist without a container engine (scripts/test-all.sh runs it before `cargo test`);
//! these tests take that image, not the binary cargo built for the other tests:
//! * it is pushed to a registry on loopback (Debian's docker-registry) with skopeo, pulled back
//!   by digest, unpacked with umoci, and its own entrypoint runs from the unpacked root
//!   filesystem — chroot, read-only, as the image's user, no new privileges, with the flags,
//!   RBAC and in-cluster credentials the chart gives it — and converges an example to Ready;
//!   the chart rendered for that registry reference is accepted by the API server;
//! * building it again from the same sources gives the same digest;
//! * the crate, the chart (Chart.yaml and the packaged chart), the image and its SBOM agree on
//!   the version.
//!
//! A missing layout fails the tests (run scripts/build-image.sh); needs root (chroot, mounts).

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _, Result};
use exposure_crd::Exposure;
use exposure_e2e::{cluster, eventually, random_suffix, TestNamespace};
use kube::Api;
use serde_json::Value;
use support::*;
use tokio::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPOSITORY: &str = "exposure-operator";

/// Where scripts/build-image.sh puts the image, its SBOM and the packaged chart.
fn dist() -> PathBuf {
    repo_dir().join("target/dist")
}

/// A scratch directory under the test target dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Result<Scratch> {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("image-{name}-{}", random_suffix()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One image of an OCI layout: its manifest digest and config.
struct Image {
    digest: String,
    config: Value,
}

impl Image {
    fn label(&self, name: &str) -> Option<&str> {
        self.config["config"]["Labels"][name].as_str()
    }

    fn strings(&self, field: &str) -> Vec<String> {
        self.config["config"][field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }
}

/// The image tagged `tag` in the OCI layout `dir`.
fn read_layout(dir: &Path, tag: &str) -> Result<Image> {
    let blob = |digest: &str| -> Result<Value> {
        let (alg, hex) = digest.split_once(':').context("digest without algorithm")?;
        let path = dir.join("blobs").join(alg).join(hex);
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        Ok(serde_json::from_str(&text)?)
    };
    let index_path = dir.join("index.json");
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(&index_path)
            .with_context(|| format!("reading {}", index_path.display()))?,
    )?;
    let digest = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .and_then(|m| m["digest"].as_str())
        .with_context(|| format!("{} has no image tagged {tag}", dir.display()))?
        .to_string();
    let manifest = blob(&digest)?;
    let config = blob(
        manifest["config"]["digest"]
            .as_str()
            .context("manifest without config")?,
    )?;
    Ok(Image { digest, config })
}

/// The image scripts/build-image.sh built; a clear error when it has not run.
fn built_image() -> Result<Image> {
    let layout = dist().join("oci");
    if !layout.join("index.json").is_file() {
        bail!(
            "no image layout at {}: run scripts/build-image.sh first (scripts/test-all.sh does)",
            layout.display()
        );
    }
    read_layout(&layout, VERSION)
}

/// Runs a program (no stdin) and returns its stdout, or an error with its stderr.
async fn run(program: &str, args: &[&str]) -> Result<String> {
    run_command(Path::new(program), args).await
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    Ok(serde_json::from_str(&text)?)
}

#[tokio::test]
async fn crate_chart_and_image_versions_agree() -> Result<()> {
    let chart_file = repo_dir().join("charts/exposure-operator/Chart.yaml");
    let chart: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&chart_file)?)?;
    ensure!(
        chart["version"].as_str() == Some(VERSION) && chart["appVersion"].as_str() == Some(VERSION),
        "Chart.yaml has version {:?} and appVersion {:?}, the crate {VERSION}",
        chart["version"],
        chart["appVersion"]
    );

    // The packaged chart carries the same versions.
    let package = dist().join(format!("exposure-operator-{VERSION}.tgz"));
    ensure!(
        package.is_file(),
        "no packaged chart {}: run scripts/build-image.sh",
        package.display()
    );
    let packaged = run(
        "tar",
        &[
            "-xzOf",
            package.to_str().context("path")?,
            "exposure-operator/Chart.yaml",
        ],
    )
    .await?;
    let packaged: serde_yaml::Value = serde_yaml::from_str(&packaged)?;
    assert_eq!(packaged["version"].as_str(), Some(VERSION));
    assert_eq!(packaged["appVersion"].as_str(), Some(VERSION));

    // The image: tagged with the version (read_layout fails otherwise), labelled with it.
    let image = built_image()?;
    assert_eq!(
        image.label("org.opencontainers.image.version"),
        Some(VERSION)
    );
    let digest_file = std::fs::read_to_string(dist().join("image-digest"))?;
    assert_eq!(digest_file.trim(), image.digest);

    // The SBOM describes this image at this version.
    let sbom = read_json(&dist().join(format!("exposure-operator-{VERSION}.cdx.json")))?;
    let component = &sbom["metadata"]["component"];
    assert_eq!(component["version"].as_str(), Some(VERSION));
    assert_eq!(
        component["hashes"][0]["content"].as_str(),
        image.digest.strip_prefix("sha256:")
    );
    let binary = format!("pkg:cargo/exposure-operator@{VERSION}");
    ensure!(
        sbom["components"]
            .as_array()
            .context("components")?
            .iter()
            .any(|c| c["purl"] == binary.as_str()),
        "the SBOM lists no {binary}"
    );

    // The chart's default image tag follows appVersion.
    let rendered = run_command(
        &helm_executable()?,
        &[
            "template",
            "v",
            repo_dir()
                .join("charts/exposure-operator")
                .to_str()
                .context("path")?,
            "--show-only",
            "templates/deployment.yaml",
        ],
    )
    .await?;
    let dep: serde_yaml::Value = serde_yaml::from_str(&rendered)?;
    let image_ref = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .context("image")?;
    ensure!(
        image_ref.ends_with(&format!("/exposure-operator:{VERSION}")),
        "default image {image_ref} does not follow appVersion {VERSION}"
    );
    Ok(())
}

#[tokio::test]
async fn the_image_build_is_reproducible() -> Result<()> {
    let built = built_image()?;
    let scratch = Scratch::new("repro")?;
    let script = repo_dir().join("scripts/build-image.sh");
    let mut digests = Vec::new();
    let mut sboms = Vec::new();
    for build in ["a", "b"] {
        let out = scratch.path().join(build);
        let out = out.to_str().context("path")?;
        run_command(&script, &["--out", out]).await?;
        digests.push(std::fs::read_to_string(format!("{out}/image-digest"))?);
        sboms.push(std::fs::read(format!(
            "{out}/exposure-operator-{VERSION}.cdx.json"
        ))?);
    }
    assert_eq!(digests[0], digests[1], "two builds, two digests");
    assert!(sboms[0] == sboms[1], "two builds, two SBOMs");
    ensure!(
        digests[0].trim() == built.digest,
        "target/dist holds {} but the sources now build {}: rerun scripts/build-image.sh",
        built.digest,
        digests[0].trim()
    );
    Ok(())
}

/// Debian's docker-registry (the reference registry) on 127.0.0.1, storage in a scratch dir.
async fn start_registry(scratch: &Path) -> Result<(tokio::process::Child, String)> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let config = scratch.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog: {{level: warn, accesslog: {{disabled: true}}}}\n\
             storage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: {addr}}}\n",
            scratch.join("registry").display()
        ),
    )?;
    let log = std::fs::File::create(scratch.join("registry.log"))?;
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting docker-registry (scripts/build-image.sh installs it)")?;
    eventually("the registry's /v2/", Duration::from_secs(30), || {
        let addr = addr.clone();
        async move {
            Ok(http_get(&addr, "/v2/")
                .await
                .ok()
                .filter(|(code, _)| *code == 200)
                .map(|_| ()))
        }
    })
    .await?;
    Ok((child, addr))
}

/// The in-cluster view of the API server: (host, port) of the admin kubeconfig's server, and
/// its CA certificate (PEM).
fn api_server(kubeconfig: &Path) -> Result<(String, String, Vec<u8>)> {
    let kc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(kubeconfig)?)?;
    let cluster = &kc["clusters"][0]["cluster"];
    let server = cluster["server"].as_str().context("server")?;
    let (host, port) = server
        .strip_prefix("https://")
        .and_then(|s| s.trim_end_matches('/').rsplit_once(':'))
        .with_context(|| format!("server {server} is not https://host:port"))?;
    let ca = if let Some(file) = cluster["certificate-authority"].as_str() {
        std::fs::read(file)?
    } else {
        let data = cluster["certificate-authority-data"]
            .as_str()
            .context("no certificate-authority(-data)")?;
        let out = std::process::Command::new("base64")
            .arg("-d")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().map(|mut i| i.write_all(data.as_bytes()));
                c.wait_with_output()
            })?;
        out.stdout
    };
    Ok((host.to_string(), port.to_string(), ca))
}

/// Walks `dir`, returning every path (not following symlinks).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        out.push(entry.path());
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// What the image must (and must not) contain, and its SBOM's Debian packages match it.
fn check_root_filesystem(rootfs: &Path, image: &Image) -> Result<()> {
    let mut files = Vec::new();
    walk(rootfs, &mut files)?;
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        ensure!(
            !["sh", "bash", "dash", "busybox"].contains(&name),
            "a shell in the image: {}",
            f.display()
        );
    }
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd"))?;
    ensure!(
        passwd
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "/etc/passwd has no user 65532: {passwd}"
    );
    let bundle = std::fs::read_to_string(rootfs.join("etc/ssl/certs/ca-certificates.crt"))
        .context("the image has no CA bundle")?;
    let begins = bundle.matches("-----BEGIN CERTIFICATE-----").count();
    ensure!(
        begins > 0 && begins == bundle.matches("-----END CERTIFICATE-----").count(),
        "the CA bundle is not a list of PEM certificates"
    );
    ensure!(
        image
            .strings("Env")
            .contains(&"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".to_string()),
        "SSL_CERT_FILE not set: {:?}",
        image.strings("Env")
    );

    let sbom = read_json(&dist().join(format!("exposure-operator-{VERSION}.cdx.json")))?;
    let debs: Vec<&Value> = sbom["components"]
        .as_array()
        .context("components")?
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:deb/"))
        })
        .collect();
    let status_dir = rootfs.join("var/lib/dpkg/status.d");
    let mut in_image = Vec::new();
    for entry in std::fs::read_dir(&status_dir)? {
        let entry = entry?;
        let control = std::fs::read_to_string(entry.path())?;
        let field = |f: &str| {
            control
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{f}: ")))
                .unwrap_or_default()
                .to_string()
        };
        in_image.push((field("Package"), field("Version")));
    }
    in_image.sort();
    let mut in_sbom: Vec<(String, String)> = debs
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    in_sbom.sort();
    assert_eq!(in_image, in_sbom, "Debian packages: image vs SBOM");
    for c in debs {
        for p in c["properties"].as_array().into_iter().flatten() {
            let path = p["value"].as_str().unwrap_or_default();
            ensure!(
                std::fs::symlink_metadata(rootfs.join(path.trim_start_matches('/'))).is_ok(),
                "the SBOM names {path} from {}, the image lacks it",
                c["name"]
            );
        }
    }
    Ok(())
}

/// Mounts and runs the image's process: a private mount namespace; the unpacked root bound
/// onto itself read-only; /proc, a tmpfs /dev with null/zero/random/urandom and the
/// ServiceAccount directory mounted as a kubelet would; then, with exactly `env`, no new
/// privileges, chroot into it as `user` and exec `argv`.
const RUN_IN_ROOT: &str = r#"set -e
root=$1 secrets=$2
shift 2
mount --bind "$root" "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t tmpfs -o nosuid,mode=0755 tmpfs "$root/dev"
for d in null zero random urandom; do
  : >"$root/dev/$d"
  mount --bind "/dev/$d" "$root/dev/$d"
done
mount --bind "$secrets" "$root/var/run/secrets/kubernetes.io/serviceaccount"
mount -o remount,bind,ro "$root/var/run/secrets/kubernetes.io/serviceaccount"
mount -o remount,bind,ro "$root"
exec "$@"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_from_the_registry_runs_its_entrypoint_to_ready() -> Result<()> {
    let built = built_image()?;
    let scratch = Scratch::new("run")?;
    let dir = scratch.path();

    // Push to the loopback registry, read it back there, pull it by digest.
    let (_registry, registry) = start_registry(dir).await?;
    let layout = format!("oci:{}:{VERSION}", dist().join("oci").display());
    let tagged = format!("docker://{registry}/{REPOSITORY}:{VERSION}");
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &layout,
            &tagged,
        ],
    )
    .await?;
    let inspected: Value =
        serde_json::from_str(&run("skopeo", &["inspect", "--tls-verify=false", &tagged]).await?)?;
    assert_eq!(
        inspected["Digest"].as_str(),
        Some(built.digest.as_str()),
        "the registry serves another digest"
    );
    let pulled_dir = dir.join("pulled");
    let pulled = format!("oci:{}:{VERSION}", pulled_dir.display());
    let by_digest = format!("{registry}/{REPOSITORY}@{}", built.digest);
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            &format!("docker://{by_digest}"),
            &pulled,
        ],
    )
    .await?;
    let image = read_layout(&pulled_dir, VERSION)?;
    assert_eq!(image.digest, built.digest, "pulled by digest, got another");
    assert_eq!(image.strings("Cmd"), ["run"]);
    assert_eq!(image.config["config"]["User"].as_str(), Some("65532:65532"));
    for label in [
        "org.opencontainers.image.version",
        "org.opencontainers.image.revision",
        "org.opencontainers.image.source",
        "org.opencontainers.image.licenses",
    ] {
        ensure!(
            image.label(label).is_some_and(|v| !v.is_empty()),
            "label {label} missing"
        );
    }

    // Unpack what was pulled.
    let bundle = dir.join("bundle");
    run(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:{VERSION}", pulled_dir.display()),
            bundle.to_str().context("path")?,
        ],
    )
    .await?;
    let rootfs = bundle.join("rootfs");
    check_root_filesystem(&rootfs, &image)?;

    // The chart's RBAC (namespaced to the test namespace), its ServiceAccount's token.
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "image").await?;
    let watch = format!("watchNamespaces={{{}}}", ns.name());
    let rbac = install_rbac(&cluster, std::slice::from_ref(&watch)).await?;
    wait_authorized(&rbac, ns.name()).await?;
    let sa_kubeconfig: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&rbac.kubeconfig)?)?;
    let token = sa_kubeconfig["users"][0]["user"]["token"]
        .as_str()
        .context("token")?;

    // The chart rendered for the registry reference by digest: its Deployment is accepted by
    // the API server, and gives the container's arguments and environment.
    let metrics_port = free_port()?;
    let chart = repo_dir().join("charts/exposure-operator");
    let rendered = run_command(
        &helm_executable()?,
        &[
            "template",
            "image-e2e",
            chart.to_str().context("path")?,
            "--namespace",
            rbac.release_ns.name(),
            "--show-only",
            "templates/deployment.yaml",
            "--set",
            &format!("image.repository={registry}/{REPOSITORY}"),
            "--set",
            &format!("image.digest={}", built.digest),
            "--set",
            &watch,
            "--set",
            &format!("metrics.port={metrics_port}"),
        ],
    )
    .await?;
    let deployment: Value = serde_yaml::from_str(&rendered)?;
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"].as_str(), Some(by_digest.as_str()));
    cluster
        .kubectl(
            &[
                "apply",
                "--dry-run=server",
                "-n",
                rbac.release_ns.name(),
                "-f",
                "-",
            ],
            Some(&rendered),
        )
        .await
        .context("the API server rejects the chart's Deployment")?;
    let chart_args: Vec<String> = container["args"]
        .as_array()
        .context("args")?
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let pod_name = format!("image-e2e-{}", random_suffix());
    let mut env: Vec<String> = image.strings("Env");
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().context("env name")?;
        let value = match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            Some("metadata.name") => pod_name.clone(),
            Some("metadata.namespace") => rbac.release_ns.name().to_string(),
            Some(other) => bail!("the chart sets {name} from {other}, unknown to this test"),
            None => e["value"].as_str().unwrap_or_default().to_string(),
        };
        env.push(format!("{name}={value}"));
    }
    let (host, port, ca) = api_server(cluster.kubeconfig_path())?;
    env.push(format!("KUBERNETES_SERVICE_HOST={host}"));
    env.push(format!("KUBERNETES_SERVICE_PORT={port}"));
    env.push("RUST_LOG=info".into());

    // What the kubelet mounts, and the mount points a runtime creates.
    let secrets = dir.join("serviceaccount");
    std::fs::create_dir_all(&secrets)?;
    std::fs::write(secrets.join("token"), token)?;
    std::fs::write(secrets.join("ca.crt"), ca)?;
    std::fs::write(secrets.join("namespace"), rbac.release_ns.name())?;
    for d in [
        "proc",
        "dev",
        "var/run/secrets/kubernetes.io/serviceaccount",
    ] {
        std::fs::create_dir_all(rootfs.join(d))?;
    }

    // ENTRYPOINT + the chart's args (they replace CMD), as the image's user.
    let user = image.config["config"]["User"]
        .as_str()
        .context("User")?
        .to_string();
    let group = user.split(':').nth(1).unwrap_or(&user).to_string();
    // The chart runs the image's user on a read-only root, as this test does.
    let security = &container["securityContext"];
    assert_eq!(
        format!("{}:{}", security["runAsUser"], security["runAsGroup"]),
        user,
        "the chart's runAsUser:runAsGroup vs the image's USER"
    );
    assert_eq!(security["readOnlyRootFilesystem"], true);
    let rootfs_arg = rootfs.to_str().context("path")?;
    let mut cmd = Command::new("unshare");
    cmd.env_clear()
        .args(["--mount", "--propagation", "private", "/bin/sh", "-c"])
        .args([RUN_IN_ROOT, "run-in-root", rootfs_arg])
        .arg(&secrets)
        .args(["/usr/bin/env", "-i"])
        .args(&env)
        .args([
            "/usr/bin/setpriv",
            "--no-new-privs",
            "/usr/sbin/chroot",
            &format!("--userspec={user}"),
            &format!("--groups={group}"),
            rootfs_arg,
        ])
        .args(image.strings("Entrypoint"))
        .args(&chart_args);
    let log = dir.join("operator.log");
    let op = Operator::launch(cmd, format!("127.0.0.1:{metrics_port}"), log).await?;

    // The process is the image's user, unprivileged, on a read-only root.
    let pid = op.pid().context("operator pid")?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |f: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(f))
            .map(|v| v.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(field("Uid:"), ["65532"; 4], "{status}");
    assert_eq!(field("Gid:"), ["65532"; 4], "{status}");
    assert_eq!(field("CapEff:"), ["0000000000000000"], "{status}");
    assert_eq!(field("NoNewPrivs:"), ["1"], "{status}");
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    let root_options = mountinfo
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(4) == Some(&"/"))
        .and_then(|f| f.get(5).map(|o| o.to_string()))
        .context("no / in the operator's mountinfo")?;
    ensure!(
        root_options.split(',').any(|o| o == "ro"),
        "the root is not read-only: {root_options}"
    );

    // It converges an example.
    let exposures: Api<Exposure> = ns.api();
    let doc = example("clusterip-tomcat.yaml")?
        .into_iter()
        .next()
        .context("example")?;
    let applied = apply_exposure(&exposures, &doc).await?;
    let name = applied.metadata.name.clone().context("name")?;
    wait_ready(&op, &exposures, &name).await?;
    let metrics = op.metrics().await?;
    ensure!(
        metrics.contains("exposure_"),
        "no operator metrics:\n{metrics}"
    );

    ns.cleanup().await?;
    let logs = op.logs();
    let exit = op.stop().await?;
    ensure!(exit.success(), "the operator exited {exit}:\n{logs}");
    rbac.cleanup().await
}
