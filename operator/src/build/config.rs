//! The configuration hash: a digest of the data of every ConfigMap and Secret the pods mount
//! (`spec.config`), put on the pod template, so that a change of that data rolls the pods.
//!
//! Digests are SHA-256 over the keys and values in key order. The caches hold the digest
//! instead of the data (see `controller`): Secret values never stay in the operator's memory,
//! and a large ConfigMap costs a few bytes.

use std::collections::BTreeMap;

use exposure_crd::ExposureSpec;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use sha2::{Digest, Sha256};

/// Pod-template annotation with the hash of the referenced configuration data.
pub const CONFIG_HASH: &str = "exposure.dev/config-hash";

/// A ConfigMap or Secret of the Exposure's namespace that `spec.config` mounts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigSource {
    ConfigMap(String),
    Secret(String),
}

impl ConfigSource {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ConfigMap(_) => "ConfigMap",
            Self::Secret(_) => "Secret",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::ConfigMap(name) | Self::Secret(name) => name,
        }
    }
}

/// Every ConfigMap and Secret `spec.config` mounts, each once, in spec order.
pub fn config_sources(spec: &ExposureSpec) -> Vec<ConfigSource> {
    let mut sources: Vec<ConfigSource> = Vec::new();
    for entry in &spec.config {
        let source = match (&entry.config_map, &entry.secret) {
            (Some(name), _) => ConfigSource::ConfigMap(name.clone()),
            (None, Some(name)) => ConfigSource::Secret(name.clone()),
            (None, None) => continue,
        };
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    sources
}

/// What the operator sees of the referenced configuration now: a digest per source it may
/// read (`None`: the object does not exist). Sources it may not read (Secrets, unless allowed)
/// are absent and do not roll the pods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigDigests(pub BTreeMap<ConfigSource, Option<String>>);

impl ConfigDigests {
    /// The pod-template hash; none when no readable source is mounted (the template then
    /// renders exactly as without `config`).
    pub fn hash(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut hasher = Sha256::new();
        for (source, digest) in &self.0 {
            hasher.update(source.kind());
            hasher.update([0]);
            hasher.update(source.name());
            hasher.update([0]);
            hasher.update(digest.as_deref().unwrap_or("absent"));
            hasher.update([0]);
        }
        Some(hex(&hasher.finalize())[..16].to_owned())
    }

    /// The sources that do not exist.
    pub fn missing(&self) -> Vec<&ConfigSource> {
        self.0
            .iter()
            .filter(|(_, digest)| digest.is_none())
            .map(|(source, _)| source)
            .collect()
    }
}

/// Digest of a ConfigMap's `data` and `binaryData`.
pub fn config_map_digest(config_map: &ConfigMap) -> String {
    let text = config_map.data.iter().flatten();
    let binary = config_map.binary_data.iter().flatten();
    digest(
        text.map(|(k, v)| (k.as_str(), v.as_bytes()))
            .chain(binary.map(|(k, v)| (k.as_str(), v.0.as_slice()))),
    )
}

/// Digest of a Secret's `data` (and `stringData`, which a Secret read back never has).
pub fn secret_digest(secret: &Secret) -> String {
    let data = secret.data.iter().flatten();
    let strings = secret.string_data.iter().flatten();
    digest(
        data.map(|(k, v)| (k.as_str(), v.0.as_slice()))
            .chain(strings.map(|(k, v)| (k.as_str(), v.as_bytes()))),
    )
}

fn digest<'a>(entries: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let sorted: BTreeMap<&str, &[u8]> = entries.collect();
    let mut hasher = Sha256::new();
    for (key, value) in sorted {
        hasher.update((key.len() as u64).to_be_bytes());
        hasher.update(key);
        hasher.update((value.len() as u64).to_be_bytes());
        hasher.update(value);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn config_map(pairs: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ConfigMap::default()
        }
    }

    #[test]
    fn the_digest_follows_the_data_not_its_order_or_metadata() {
        let a = config_map(&[("a", "1"), ("b", "2")]);
        let mut b = config_map(&[("b", "2"), ("a", "1")]);
        b.metadata.labels = Some(BTreeMap::from([("x".to_owned(), "y".to_owned())]));
        assert_eq!(config_map_digest(&a), config_map_digest(&b));
        assert_ne!(
            config_map_digest(&a),
            config_map_digest(&config_map(&[("a", "1"), ("b", "3")]))
        );
        // Key/value boundaries count: "ab"+"c" is not "a"+"bc".
        assert_ne!(
            config_map_digest(&config_map(&[("ab", "c")])),
            config_map_digest(&config_map(&[("a", "bc")]))
        );
    }

    #[test]
    fn secret_values_are_hashed_as_bytes() {
        let secret = |value: &[u8]| Secret {
            data: Some(BTreeMap::from([(
                "password".to_owned(),
                ByteString(value.to_vec()),
            )])),
            ..Secret::default()
        };
        assert_eq!(secret_digest(&secret(b"x")), secret_digest(&secret(b"x")));
        assert_ne!(secret_digest(&secret(b"x")), secret_digest(&secret(b"y")));
        assert_eq!(secret_digest(&secret(b"x")).len(), 64);
    }

    #[test]
    fn the_hash_covers_every_readable_source_and_absence() {
        assert_eq!(ConfigDigests::default().hash(), None);
        let with = |digest: Option<&str>| {
            ConfigDigests(BTreeMap::from([(
                ConfigSource::ConfigMap("app".into()),
                digest.map(str::to_owned),
            )]))
        };
        let present = with(Some("d1"));
        assert_eq!(present.hash().map(|h| h.len()), Some(16));
        assert_ne!(present.hash(), with(Some("d2")).hash());
        assert_ne!(present.hash(), with(None).hash());
        assert_eq!(with(None).missing().len(), 1);
        assert!(present.missing().is_empty());
    }

    #[test]
    fn sources_are_listed_once_in_spec_order() {
        let spec: ExposureSpec = serde_json::from_value(serde_json::json!({
            "config": [
                {"name": "a", "mountPath": "/a", "configMap": "app"},
                {"name": "b", "mountPath": "/b", "secret": "creds"},
                {"name": "c", "mountPath": "/c", "configMap": "app", "items": [{"key": "k", "path": "p"}]},
                {"name": "d", "mountPath": "/d", "emptyDir": {}},
            ]
        }))
        .expect("a spec");
        assert_eq!(
            config_sources(&spec),
            vec![
                ConfigSource::ConfigMap("app".into()),
                ConfigSource::Secret("creds".into())
            ]
        );
    }
}
