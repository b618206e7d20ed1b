use super::*;

fn volume(fields: &str) -> String {
    format!("{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi{fields}}}]\n")
}

#[test]
fn storage_names_and_mount_paths() {
    valid(&format!("{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi}}, {{name: logs, mountPath: /var/log, size: 1Gi}}]\n"));
    assert_eq!(
        errors(&format!("{APP}  storage: [{{name: Data, mountPath: data, size: 1Gi}}, {{name: logs, mountPath: \"/a:b\", size: 1Gi}}, {{name: logs, mountPath: /x/../y, size: 1Gi}}, {{name: more, mountPath: /x/../y, size: 1Gi}}]\n")),
        [
            format!("spec.storage[0].name: \"Data\" is not {DNS1123_LABEL}"),
            "spec.storage[0].mountPath: \"data\" must be an absolute path".to_string(),
            "spec.storage[1].mountPath: \"/a:b\" must not contain ':'".to_string(),
            "spec.storage[2].name: storage names must be unique: \"logs\" is already used by spec.storage[1]".to_string(),
            "spec.storage[2].mountPath: \"/x/../y\" must not contain '..'".to_string(),
            "spec.storage[3].mountPath: \"/x/../y\" must not contain '..'".to_string(),
            "spec.storage[3].mountPath: \"/x/../y\" is already used by spec.storage[2]".to_string(),
        ]
    );
}

#[test]
fn storage_size() {
    valid(&format!(
        "{APP}  storage: [{{name: data, mountPath: /data, size: 500M}}]\n"
    ));
    assert_eq!(
        errors(&format!("{APP}  storage: [{{name: a, mountPath: /a, size: \"0\"}}, {{name: b, mountPath: /b, size: 10GB}}, {{name: c, mountPath: /c, size: \"-1Gi\"}}]\n")),
        [
            "spec.storage[0].size: \"0\" must be greater than zero",
            "spec.storage[1].size: \"10GB\" is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)",
            "spec.storage[2].size: \"-1Gi\" must be greater than zero",
        ]
    );
}

#[test]
fn storage_access_modes() {
    valid(&volume(", accessModes: [ReadWriteOnce, ReadOnlyMany]"));
    valid(&volume(", accessModes: [ReadWriteOncePod]"));
    assert_eq!(
        errors(&volume(", accessModes: [ReadWriteOnce, ReadWriteOnce]")),
        ["spec.storage[0].accessModes[1]: ReadWriteOnce is already listed at accessModes[0]"]
    );
    assert_eq!(
        errors(&volume(", accessModes: [ReadWriteOncePod, ReadWriteOnce]")),
        ["spec.storage[0].accessModes[0]: ReadWriteOncePod cannot be combined with other access modes"]
    );
    let exposure = exposure_from(&format!(
        "{HEADER}spec:\n{}",
        volume(", accessModes: [ReadWriteOncePod]")
    ));
    assert_eq!(
        errors_for(&exposure, KubeVersion::new(1, 22)),
        Vec::<String>::new()
    );
    let found = validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 20))).expect_err("1.20");
    assert_eq!(
        found,
        [FieldError::unsupported(
            "spec.storage[0].accessModes[0]",
            "ReadWriteOncePod needs Kubernetes >= 1.22 (cluster is 1.20); use ReadWriteOnce"
        )]
    );
}

#[test]
fn storage_class_name() {
    valid(&volume(", storageClassName: fast-ssd"));
    valid(&volume(", storageClassName: \"\""));
    assert_eq!(
        errors(&volume(", storageClassName: Fast")),
        [format!(
            "spec.storage[0].storageClassName: \"Fast\" is not {DNS1123_SUBDOMAIN}"
        )]
    );
    assert_eq!(
        errors_on(
            25,
            &volume(", storageClassName: fast, glusterfs: {resturl: \"http://heketi:8080\"}")
        ),
        ["spec.storage[0].glusterfs: set either storageClassName or glusterfs, not both"]
    );
}

fn gluster(fields: &str) -> String {
    volume(&format!(
        ", glusterfs: {{resturl: \"http://heketi.storage:8080\"{fields}}}"
    ))
}

#[test]
fn glusterfs_needs_the_in_tree_provisioner() {
    assert_eq!(errors_on(25, &gluster("")), Vec::<String>::new());
    let exposure = exposure_from(&format!("{HEADER}spec:\n{}", gluster("")));
    let found = validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 27))).expect_err("1.27");
    assert_eq!(
        found,
        [FieldError::unsupported(
            "spec.storage[0].glusterfs",
            "the in-tree GlusterFS provisioner was removed in Kubernetes 1.26 (cluster is 1.27); use a CSI driver and set storageClassName"
        )]
    );
}

#[test]
fn glusterfs_resturl() {
    for url in [
        "https://heketi",
        "http://10.0.0.1:8080/",
        "http://user@[2001:db8::1]:8080",
    ] {
        assert_eq!(
            errors_on(20, &volume(&format!(", glusterfs: {{resturl: {url:?}}}"))),
            Vec::<String>::new(),
            "{url}"
        );
    }
    for url in [
        "heketi:8080",
        "ftp://heketi",
        "http://",
        "http://:8080",
        "http://heketi:port",
        "http://heketi:0",
        "http://he ketti",
    ] {
        assert_eq!(
            errors_on(20, &volume(&format!(", glusterfs: {{resturl: {url:?}}}"))),
            [format!("spec.storage[0].glusterfs.resturl: {url:?} is not an http(s) URL with a host (e.g. http://heketi.storage:8080)")],
        );
    }
}

#[test]
fn glusterfs_auth_and_secret() {
    assert_eq!(errors_on(20, &gluster(", restauthenabled: true, restuser: admin, secretName: heketi-key, secretNamespace: storage")), Vec::<String>::new());
    assert_eq!(
        errors_on(
            20,
            &gluster(", restauthenabled: true, secretName: Heketi, secretNamespace: st.orage")
        ),
        [
            "spec.storage[0].glusterfs.restuser: required when restauthenabled is true".to_string(),
            format!("spec.storage[0].glusterfs.secretName: \"Heketi\" is not {DNS1123_SUBDOMAIN}"),
            format!(
                "spec.storage[0].glusterfs.secretNamespace: \"st.orage\" is not {DNS1123_LABEL}"
            ),
        ]
    );
}

#[test]
fn glusterfs_volume_type() {
    for volume_type in ["none", "replicate:3", "disperse:4:2"] {
        assert_eq!(
            errors_on(20, &gluster(&format!(", volumetype: {volume_type:?}"))),
            Vec::<String>::new()
        );
    }
    for volume_type in [
        "replicate",
        "replicate:0",
        "disperse:4",
        "mirror:2",
        "replicate:+1",
    ] {
        assert_eq!(
            errors_on(20, &gluster(&format!(", volumetype: {volume_type:?}"))),
            [format!("spec.storage[0].glusterfs.volumetype: {volume_type:?} is not a volume type: use none, replicate:<replicas> or disperse:<data>:<redundancy>")]
        );
    }
}

#[test]
fn glusterfs_gid_range() {
    assert_eq!(
        errors_on(20, &gluster(", gidMin: 2000, gidMax: 2147483647")),
        Vec::<String>::new()
    );
    assert_eq!(
        errors_on(20, &gluster(", gidMin: 1999, gidMax: 2147483648")),
        [
            "spec.storage[0].glusterfs.gidMin: 1999 is outside 2000-2147483647",
            "spec.storage[0].glusterfs.gidMax: 2147483648 is outside 2000-2147483647",
        ]
    );
    assert_eq!(
        errors_on(20, &gluster(", gidMin: 5000, gidMax: 4000")),
        ["spec.storage[0].glusterfs.gidMax: must not be less than gidMin (4000 < 5000)"]
    );
}

#[test]
fn glusterfs_class_names() {
    let two = |a: &str, b: &str| {
        format!("{APP}  storage:\n  - {{name: a, mountPath: /a, size: 1Gi, glusterfs: {{resturl: \"http://h\", className: {a}}}}}\n  - {{name: b, mountPath: /b, size: 1Gi, glusterfs: {{resturl: \"http://h\", className: {b}}}}}\n")
    };
    assert_eq!(
        errors_on(20, &two("gluster-a", "gluster-b")),
        Vec::<String>::new()
    );
    assert_eq!(
        errors_on(20, &two("same", "same")),
        ["spec.storage[1].glusterfs.className: \"same\" is already used by spec.storage[0]"]
    );
    assert_eq!(
        errors_on(20, &two("Gluster", "b")),
        [format!(
            "spec.storage[0].glusterfs.className: \"Gluster\" is not {DNS1123_SUBDOMAIN}"
        )]
    );
}

#[test]
fn quota() {
    valid(&format!("{APP}  quota: {{hard: {{pods: \"3\", requests.storage: 10Gi, count/deployments.apps: \"2\", requests.nvidia.com/gpu: \"1\"}}}}\n"));
    assert_eq!(
        errors(&format!("{APP}  quota: {{hard: {{\"bad key\": \"1\", pods: \"-1\", services: many}}}}\n")),
        [
            format!("spec.quota.hard[bad key]: \"bad key\" is not a resource name: {QUALIFIED_NAME}, e.g. pods, requests.storage, count/deployments.apps"),
            "spec.quota.hard[pods]: \"-1\" must not be negative".to_string(),
            "spec.quota.hard[services]: \"many\" is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)".to_string(),
        ]
    );
}
