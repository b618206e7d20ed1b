//! Which child kinds the API server serves, by discovery: the version rules (`cluster.rs`)
//! say which API version the operator builds for, discovery says whether the cluster really
//! has it (an API group may be switched off, and `--assume-kubernetes-version` may claim an
//! older cluster than the real one). A kind it does not serve gets an empty cache, never a
//! watch that fails forever and holds every reconcile back.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;
use kube::Client;

use crate::build::ChildKind;

/// The resources the API server serves in `api_version` (`group/version`); none when it does
/// not know the group version (404).
async fn group_resources(
    client: &Client,
    api_version: &str,
) -> Result<Vec<APIResource>, kube::Error> {
    match client.list_api_group_resources(api_version).await {
        Ok(list) => Ok(list.resources),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

/// One discovery request: does the API server serve `plural` in `api_version`
/// (`group/version`)? A failed request counts as no (and is logged).
pub async fn resource_served(client: &Client, api_version: &str, plural: &str) -> bool {
    match group_resources(client, api_version).await {
        Ok(resources) => resources.iter().any(|r| r.name == plural),
        Err(error) => {
            tracing::warn!(%error, %api_version, "discovery failed; assuming it is not served");
            false
        }
    }
}

/// The child kinds of a named API group that the API server serves (core `v1` kinds are
/// always served; the Gateway API is looked after by `gateway_api`).
pub async fn served_kinds(client: &Client) -> HashSet<ChildKind> {
    let mut by_version: BTreeMap<&'static str, Vec<ChildKind>> = BTreeMap::new();
    for kind in ChildKind::ALL {
        by_version.entry(kind.api_version()).or_default().push(kind);
    }
    let mut served = HashSet::new();
    for (api_version, kinds) in by_version {
        if !api_version.contains('/') || kinds.contains(&ChildKind::HTTPRoute) {
            served.extend(kinds);
            continue;
        }
        let resources = match group_resources(client, api_version).await {
            Ok(resources) => resources,
            Err(error) => {
                // Unknown: assume served, as before discovery was asked (a watch that fails
                // logs and retries).
                tracing::warn!(%error, %api_version, "discovery failed; assuming it is served");
                served.extend(kinds);
                continue;
            }
        };
        served.extend(kinds.into_iter().filter(|kind| {
            let plural = kind.api_resource().plural;
            resources.iter().any(|r| r.name == plural)
        }));
    }
    served
}
