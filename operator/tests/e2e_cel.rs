//! e2e: the CRD's CEL rules on the API server. On a cluster with CRD validation rules
//! (Kubernetes >= 1.25) each spec of `cel_cases` is refused by a server-side apply with the
//! operator's own message at the rule's field; on an older cluster the same CRD installs (the
//! rules are dropped) and the specs are accepted, for the operator to report as InvalidSpec
//! (`e2e_invalid`).

mod cel_cases;
mod support;

use anyhow::{ensure, Result};
use cel_cases::{exposure_yaml, CASES};
use exposure_crd::cel::RULES;
use exposure_crd::Exposure;
use exposure_e2e::{cluster, TestNamespace};
use exposure_operator::cluster::KubeVersion;
use kube::api::{Patch, PatchParams};
use kube::Api;
use support::*;

const CEL_SINCE: KubeVersion = KubeVersion::new(1, 25);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_gives_the_operators_message_for_each_rule() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let version = server_version(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "cel").await?;
    let api: Api<Exposure> = ns.api();
    let params = PatchParams::apply(TEST_MANAGER).dry_run();
    let mut failures = Vec::new();
    for case in CASES {
        let value: serde_json::Value =
            serde_yaml::from_str(&exposure_yaml(case, "web", ns.name()))?;
        let result = api.patch("web", &params, &Patch::Apply(&value)).await;
        let rule = RULES
            .iter()
            .find(|r| r.name == case.rule)
            .ok_or_else(|| anyhow::anyhow!("no rule {}", case.rule))?;
        match (version >= CEL_SINCE, result) {
            (true, Err(kube::Error::Api(status))) => {
                let at = rule
                    .at
                    .iter()
                    .map(|at| format!("{at}{}", rule.field_path.unwrap_or("")).replace("[]", "[0]"))
                    .find(|at| status.message.contains(&format!("{at}: ")));
                if status.code != 422 || !status.message.contains(case.message) || at.is_none() {
                    failures.push(format!(
                        "{} ({}): {} {}",
                        case.rule, case.field, status.code, status.message
                    ));
                }
            }
            (true, other) => failures.push(format!("{}: not refused: {other:?}", case.rule)),
            (false, Ok(_)) => {}
            (false, Err(e)) => failures.push(format!("{}: refused by {version}: {e}", case.rule)),
        }
    }
    ensure!(
        failures.is_empty(),
        "on Kubernetes {version}:\n{}",
        failures.join("\n")
    );
    ns.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_passes_the_rules() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "cel-ok").await?;
    let api: Api<Exposure> = ns.api();
    let params = PatchParams::apply(TEST_MANAGER).dry_run();
    let mut count = 0;
    for entry in std::fs::read_dir(repo_dir().join("examples"))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        for doc in example(&file)? {
            let mut value: serde_json::Value = serde_yaml::from_str(&doc)?;
            if value["kind"] != "Exposure" {
                continue;
            }
            value["metadata"]["namespace"] = ns.name().into();
            let name = value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            api.patch(&name, &params, &Patch::Apply(&value))
                .await
                .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            count += 1;
        }
    }
    ensure!(count >= 10, "only {count} example Exposures found");
    ns.cleanup().await
}
