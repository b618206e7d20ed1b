//! `spec.storage`: volumes, access modes, and GlusterFS classes.

use exposure_crd::{AccessMode, GlusterfsClass, StorageSpec};

use crate::cluster::Feature;

use super::{
    is_dns1123_label, is_dns1123_subdomain, Checker, Seen, DNS1123_LABEL, DNS1123_SUBDOMAIN,
    READ_WRITE_ONCE_POD_SINCE,
};

impl Checker<'_> {
    pub(super) fn storage(&mut self) {
        let spec = self.spec;
        if !self.workload_field("spec.storage", !spec.storage.is_empty()) {
            return;
        }
        let (mut names, mut mount_paths, mut class_names) = (Seen::new(), Seen::new(), Seen::new());
        for (i, volume) in spec.storage.iter().enumerate() {
            let field = format!("spec.storage[{i}]");
            self.name_check(
                &format!("{field}.name"),
                &volume.name,
                is_dns1123_label,
                DNS1123_LABEL,
            );
            if let Some(first) = names.previous(volume.name.as_str(), i) {
                self.error(
                    format!("{field}.name"),
                    format!(
                        "storage names must be unique: {:?} is already used by spec.storage[{first}]",
                        volume.name
                    ),
                );
            }
            self.mount_path(&field, volume);
            if let Some(first) = mount_paths.previous(volume.mount_path.as_str(), i) {
                self.error(
                    format!("{field}.mountPath"),
                    format!(
                        "{:?} is already used by spec.storage[{first}]",
                        volume.mount_path
                    ),
                );
            }
            self.quantity(&format!("{field}.size"), &volume.size, true);
            self.access_modes(&field, &volume.access_modes);
            if let Some(class) = volume
                .storage_class_name
                .as_deref()
                .filter(|c| !c.is_empty())
            {
                if !is_dns1123_subdomain(class) {
                    self.error(
                        format!("{field}.storageClassName"),
                        format!("{class:?} is not {DNS1123_SUBDOMAIN}"),
                    );
                }
            }
            if let Some(glusterfs) = &volume.glusterfs {
                if volume.storage_class_name.is_some() {
                    self.error(
                        format!("{field}.glusterfs"),
                        "set either storageClassName or glusterfs, not both",
                    );
                }
                self.glusterfs(&format!("{field}.glusterfs"), glusterfs);
                if let Some(class) = glusterfs.class_name.as_deref() {
                    if let Some(first) = class_names.previous(class, i) {
                        self.error(
                            format!("{field}.glusterfs.className"),
                            format!("{class:?} is already used by spec.storage[{first}]"),
                        );
                    }
                }
            }
        }
    }

    fn mount_path(&mut self, field: &str, volume: &StorageSpec) {
        let path = volume.mount_path.as_str();
        let problem = if !path.starts_with('/') {
            Some("must be an absolute path")
        } else if path.contains(':') {
            Some("must not contain ':'")
        } else if path.split('/').any(|part| part == "..") {
            Some("must not contain '..'")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.error(format!("{field}.mountPath"), format!("{path:?} {problem}"));
        }
    }

    fn access_modes(&mut self, field: &str, modes: &[AccessMode]) {
        let mut seen = Seen::new();
        for (i, mode) in modes.iter().enumerate() {
            let mode_field = format!("{field}.accessModes[{i}]");
            if let Some(first) = seen.previous(*mode, i) {
                self.error(
                    mode_field,
                    format!(
                        "{} is already listed at accessModes[{first}]",
                        mode.as_str()
                    ),
                );
            } else if *mode == AccessMode::ReadWriteOncePod {
                if modes.len() > 1 {
                    self.error(
                        mode_field.clone(),
                        "ReadWriteOncePod cannot be combined with other access modes",
                    );
                }
                let cluster = self.cluster.version;
                if cluster < READ_WRITE_ONCE_POD_SINCE {
                    self.unsupported(
                        mode_field,
                        format!("ReadWriteOncePod needs Kubernetes >= {READ_WRITE_ONCE_POD_SINCE} (cluster is {cluster}); use ReadWriteOnce"),
                    );
                }
            }
        }
    }

    fn glusterfs(&mut self, field: &str, class: &GlusterfsClass) {
        self.feature(
            field,
            Feature::InTreeGlusterfs,
            "the in-tree GlusterFS provisioner",
            "use a CSI driver and set storageClassName",
        );
        if !is_http_url(&class.resturl) {
            self.error(
                format!("{field}.resturl"),
                format!(
                    "{:?} is not an http(s) URL with a host (e.g. http://heketi.storage:8080)",
                    class.resturl
                ),
            );
        }
        if class.restauthenabled == Some(true) {
            for (name, value) in [
                ("restuser", &class.restuser),
                ("secretName", &class.secret_name),
            ] {
                if value.as_deref().is_none_or(str::is_empty) {
                    self.error(
                        format!("{field}.{name}"),
                        "required when restauthenabled is true",
                    );
                }
            }
        }
        if let Some(secret) = class.secret_name.as_deref().filter(|s| !s.is_empty()) {
            self.name_check(
                &format!("{field}.secretName"),
                secret,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        if let Some(namespace) = class.secret_namespace.as_deref() {
            self.name_check(
                &format!("{field}.secretNamespace"),
                namespace,
                is_dns1123_label,
                DNS1123_LABEL,
            );
        }
        if let Some(volume_type) = class
            .volumetype
            .as_deref()
            .filter(|v| !is_gluster_volume_type(v))
        {
            self.error(
                format!("{field}.volumetype"),
                format!("{volume_type:?} is not a volume type: use none, replicate:<replicas> or disperse:<data>:<redundancy>"),
            );
        }
        const GID_MIN: i64 = 2000;
        const GID_MAX: i64 = 2147483647;
        for (name, value) in [("gidMin", class.gid_min), ("gidMax", class.gid_max)] {
            if let Some(value) = value {
                self.range(&format!("{field}.{name}"), value, GID_MIN, GID_MAX);
            }
        }
        if let (Some(min), Some(max)) = (class.gid_min, class.gid_max) {
            if min > max {
                self.error(
                    format!("{field}.gidMax"),
                    format!("must not be less than gidMin ({max} < {min})"),
                );
            }
        }
        if let Some(name) = class.class_name.as_deref() {
            self.name_check(
                &format!("{field}.className"),
                name,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
    }
}

/// `http(s)://host[:port][/path]` with a non-empty host and a valid port.
fn is_http_url(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
    else {
        return false;
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host_port)| host_port);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return false;
        };
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        (inside, after.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    host_ok && port_ok
}

/// heketi volume types: `none`, `replicate:<n>`, `disperse:<data>:<redundancy>`.
fn is_gluster_volume_type(text: &str) -> bool {
    let positive = |n: &str| !n.starts_with('+') && n.parse::<u32>().is_ok_and(|n| n >= 1);
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["none"] => true,
        ["replicate", replicas] => positive(replicas),
        ["disperse", data, redundancy] => positive(data) && positive(redundancy),
        _ => false,
    }
}
