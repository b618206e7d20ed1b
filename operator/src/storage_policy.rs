//! What a tenant may ask of the cluster-wide GlusterFS StorageClass. The class makes
//! kube-controller-manager call `resturl` and read `secretNamespace/secretName`, so without
//! limits an Exposure could make the control plane send requests anywhere (SSRF) or read
//! another namespace's Secret. Pure.

use std::net::IpAddr;

use exposure_crd::GlusterfsClass;

use crate::blocker::{BlockReason, Blocker};

/// The operator's storage-class policy (from flags / chart values).
#[derive(Clone, Debug, Default)]
pub struct StoragePolicy {
    pub storage_classes_enabled: bool,
    /// When non-empty, `resturl` must start with one of these (loopback included, if a prefix
    /// allows it).
    pub allowed_resturls: Vec<String>,
    pub allow_cross_namespace_secrets: bool,
}

/// Blockers for the `glusterfs` volumes of an Exposure in `namespace`.
pub fn storage_blockers<'a>(
    policy: &StoragePolicy,
    namespace: &str,
    volumes: impl IntoIterator<Item = (usize, &'a GlusterfsClass)>,
) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    for (i, gluster) in volumes {
        let field = format!("spec.storage[{i}].glusterfs");
        if !policy.storage_classes_enabled {
            blockers.push(Blocker {
                reason: BlockReason::StorageClassesDisabled,
                message: format!(
                    "{field}: this operator is installed with storageClasses.enabled=false and creates no StorageClasses; \
                     use storageClassName with a class your administrator provides"
                ),
            });
            continue;
        }
        if let Err(why) = check_resturl(&gluster.resturl, &policy.allowed_resturls) {
            blockers.push(Blocker {
                reason: BlockReason::StorageClassNotAllowed,
                message: format!("{field}.resturl: {why}"),
            });
        }
        if let Some(secret_ns) = gluster
            .secret_namespace
            .as_deref()
            .filter(|ns| *ns != namespace)
        {
            if !policy.allow_cross_namespace_secrets {
                blockers.push(Blocker {
                    reason: BlockReason::StorageClassNotAllowed,
                    message: format!(
                        "{field}.secretNamespace: {secret_ns} is not this Exposure's namespace ({namespace}); \
                         keep the heketi Secret in {namespace} or ask an administrator to start the operator \
                         with --gluster-allow-cross-namespace-secrets"
                    ),
                });
            }
        }
    }
    blockers
}

/// The `resturl` rule: with an allowlist, a prefix must match; without one, any http(s) URL
/// whose host is not loopback, link-local (cloud metadata lives there) or unspecified. User
/// info, percent-encoded hosts and numeric hosts that are not plain dotted quads are refused
/// in both cases: they would let a URL start with an allowed prefix yet reach another host, or
/// spell a refused address so that this check does not recognise it.
pub fn check_resturl(url: &str, allowed_prefixes: &[String]) -> Result<(), String> {
    let host = url_host(url)?;
    if !allowed_prefixes.is_empty() {
        return if allowed_prefixes.iter().any(|p| url.starts_with(p.as_str())) {
            Ok(())
        } else {
            Err(format!(
                "{url} is not covered by the operator's --gluster-allowed-resturl prefixes ({})",
                allowed_prefixes.join(", ")
            ))
        };
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return Err(format!(
            "{url} points at loopback ({host}); the control plane must not call itself"
        ));
    }
    match host.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(ip) if ip.is_loopback() => Err(format!("{url} points at loopback ({ip}); the control plane must not call itself")),
        Ok(ip) if ip.is_unspecified() => Err(format!("{url} points at the unspecified address {ip}")),
        Ok(ip) if is_link_local(ip) => Err(format!(
            "{url} points at link-local {ip} (169.254.0.0/16, fe80::/10: where cloud metadata services live)"
        )),
        Ok(_) => Ok(()),
        // `127.1`, `2130706433`, `0x7f.0.0.1`: resolvers may read these as IPv4 addresses.
        Err(_) if looks_numeric(&host) => Err(format!(
            "{url}: host {host} is neither a name nor a dotted-quad IPv4 address"
        )),
        Err(_) => Ok(()),
    }
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// A host whose last label is numeric (`127.1`, `0x7f`, `2130706433`): no DNS name ends in a
/// number, so it is an address in some spelling.
fn looks_numeric(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or_default();
    let hex = last.strip_prefix("0x").unwrap_or(last);
    !hex.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || (last.starts_with("0x") && hex.bytes().all(|b| b.is_ascii_hexdigit())))
}

/// The host of an `http://` or `https://` URL: lowercased, without a trailing dot, IPv6
/// brackets removed.
fn url_host(url: &str) -> Result<String, String> {
    let not_url = || format!("{url:?} is not an http(s) URL with a host");
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(not_url)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "{url} carries user info (user@host); give credentials with restuser and secretName"
        ));
    }
    if authority.contains('%') || authority.contains('\\') {
        return Err(format!("{url}: escapes are not allowed in the host"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err(not_url());
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deny(url: &str) -> String {
        check_resturl(url, &[]).unwrap_err()
    }

    #[test]
    fn ordinary_urls_pass() {
        assert_eq!(
            check_resturl("http://heketi.storage.svc.cluster.local:8080", &[]),
            Ok(())
        );
        assert_eq!(check_resturl("https://203.0.113.9", &[]), Ok(()));
    }

    #[test]
    fn loopback_is_refused() {
        assert!(deny("http://127.0.0.1:8080").contains("loopback (127.0.0.1)"));
        assert!(deny("http://localhost:8080").contains("loopback"));
        assert!(deny("http://[::1]:8080").contains("loopback (::1)"));
        assert!(deny("http://127.0.0.2/").contains("loopback (127.0.0.2)"));
        assert!(deny("http://LOCALHOST.:8080").contains("loopback (localhost)"));
        assert!(deny("http://[::ffff:127.0.0.1]:8080").contains("loopback (127.0.0.1)"));
    }

    #[test]
    fn metadata_and_link_local_are_refused() {
        assert!(
            deny("http://169.254.169.254/latest/meta-data").contains("link-local 169.254.169.254")
        );
        assert!(deny("http://[fe80::1]:80").contains("link-local fe80::1"));
        assert!(deny("http://[::ffff:169.254.169.254]/").contains("link-local 169.254.169.254"));
    }

    #[test]
    fn unspecified_is_refused() {
        assert!(deny("http://0.0.0.0:9").contains("unspecified address 0.0.0.0"));
        assert!(deny("http://[::]:9").contains("unspecified"));
    }

    #[test]
    fn other_spellings_of_addresses_are_refused() {
        for url in [
            "http://127.1:8080",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0/",
        ] {
            assert!(
                deny(url).contains("is neither a name nor a dotted-quad IPv4 address"),
                "{url}"
            );
        }
        assert!(deny("http://%31%32%37.0.0.1/").contains("escapes are not allowed"));
        assert_eq!(check_resturl("http://heketi-2.storage:8080", &[]), Ok(()));
    }

    #[test]
    fn user_info_is_refused_even_behind_an_allowed_prefix() {
        assert!(deny("http://user@heketi.example.com/").contains("carries user info"));
        let allow = vec!["http://127.0.0.1:".to_string()];
        let err = check_resturl("http://127.0.0.1:@169.254.169.254/", &allow).unwrap_err();
        assert!(err.contains("carries user info"), "{err}");
    }

    #[test]
    fn not_a_url_is_refused() {
        assert!(deny("ftp://x").contains("not an http(s) URL"));
        assert!(deny("http://").contains("not an http(s) URL"));
    }

    #[test]
    fn allowlist_decides_alone() {
        let allow = vec!["http://127.0.0.1:".to_string()];
        assert_eq!(check_resturl("http://127.0.0.1:8080", &allow), Ok(()));
        let err = check_resturl("http://heketi.example.com", &allow).unwrap_err();
        assert!(err.contains("not covered by the operator's --gluster-allowed-resturl prefixes (http://127.0.0.1:)"), "{err}");
    }

    #[test]
    fn secrets_stay_in_the_namespace() {
        let g = GlusterfsClass {
            resturl: "http://heketi.example.com".into(),
            secret_namespace: Some("kube-system".into()),
            ..Default::default()
        };
        let policy = StoragePolicy {
            storage_classes_enabled: true,
            ..Default::default()
        };
        let b = storage_blockers(&policy, "shop", [(0, &g)]);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].reason, BlockReason::StorageClassNotAllowed);
        assert!(b[0].message.starts_with("spec.storage[0].glusterfs.secretNamespace: kube-system is not this Exposure's namespace (shop)"));
        let allow = StoragePolicy {
            allow_cross_namespace_secrets: true,
            ..policy
        };
        assert!(storage_blockers(&allow, "shop", [(0, &g)]).is_empty());
    }

    #[test]
    fn disabled_storage_classes_block_glusterfs() {
        let g = GlusterfsClass {
            resturl: "http://heketi.example.com".into(),
            ..Default::default()
        };
        let b = storage_blockers(&StoragePolicy::default(), "shop", [(2, &g)]);
        assert_eq!(b[0].reason, BlockReason::StorageClassesDisabled);
        assert!(b[0].message.starts_with("spec.storage[2].glusterfs: this operator is installed with storageClasses.enabled=false"));
    }
}
