//! The pod's fields: image, replicas, env, resources, labels and annotations.

use std::collections::BTreeMap;

use exposure_crd::labels;
use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{parse_quantity, QuantityValue};

use super::{
    is_dns1123_subdomain, is_label_value, is_qualified_name, Checker, DNS1123_SUBDOMAIN,
    MAX_ANNOTATIONS_BYTES, QUALIFIED_NAME, QUANTITY_EXAMPLES,
};

impl Checker<'_> {
    /// The pod fields, in spec order up to `strategy`.
    pub(super) fn workload_fields(&mut self) {
        let spec = self.spec;
        const IMAGE_REQUIRED: &str =
            "required (unless visibility.type is ExternalName or spec.endpoints is set)";
        let image = spec.image.as_deref();
        if image.is_none() && self.no_workload_because.is_none() {
            self.error("spec.image", IMAGE_REQUIRED);
        }
        if self.workload_field("spec.image", image.is_some()) {
            let image = image.unwrap_or_default();
            if image.is_empty() {
                self.error("spec.image", IMAGE_REQUIRED);
            } else if image.chars().any(char::is_whitespace) {
                self.error(
                    "spec.image",
                    format!("{image:?} must not contain whitespace"),
                );
            }
        }
        if self.workload_field("spec.replicas", spec.replicas.is_some()) {
            self.at_least(
                "spec.replicas",
                spec.replicas.map(i64::from).unwrap_or_default(),
                0,
            );
            self.replicas_for_kind();
        }
        self.workload_field("spec.imagePullPolicy", spec.image_pull_policy.is_some());
        if self.workload_field("spec.imagePullSecrets", !spec.image_pull_secrets.is_empty()) {
            for (i, secret) in spec.image_pull_secrets.iter().enumerate() {
                self.name_check(
                    &format!("spec.imagePullSecrets[{i}]"),
                    secret,
                    is_dns1123_subdomain,
                    DNS1123_SUBDOMAIN,
                );
            }
        }
        self.workload_field("spec.command", !spec.command.is_empty());
        self.workload_field("spec.args", !spec.args.is_empty());
        if self.workload_field("spec.env", !spec.env.is_empty()) {
            for (i, env) in spec.env.iter().enumerate() {
                self.env_var(&format!("spec.env[{i}]"), env);
            }
        }
        if self.workload_field("spec.envFrom", !spec.env_from.is_empty()) {
            for (i, source) in spec.env_from.iter().enumerate() {
                let options = [
                    ("configMapRef", source.config_map_ref.is_some()),
                    ("secretRef", source.secret_ref.is_some()),
                ];
                self.exactly_one(&format!("spec.envFrom[{i}]"), &options);
            }
        }
        if self.workload_field("spec.resources", spec.resources.is_some()) {
            self.resources();
        }
        if let (true, Some(account)) = (
            self.workload_field(
                "spec.serviceAccountName",
                spec.service_account_name.is_some(),
            ),
            &spec.service_account_name,
        ) {
            self.name_check(
                "spec.serviceAccountName",
                account,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        if self.workload_field("spec.podLabels", !spec.pod_labels.is_empty()) {
            for (key, value) in &spec.pod_labels {
                let field = format!("spec.podLabels[{key}]");
                if key == labels::NAME {
                    self.error(
                        field,
                        "is set by the operator (it selects the pods) and cannot be overridden",
                    );
                } else if !is_qualified_name(key) {
                    self.error(field, format!("{key:?} is not {QUALIFIED_NAME}"));
                } else if !is_label_value(value) {
                    self.error(
                        field,
                        format!("{value:?} is not a label value (empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"),
                    );
                }
            }
        }
        if self.workload_field("spec.podAnnotations", !spec.pod_annotations.is_empty()) {
            self.annotations("spec.podAnnotations", &spec.pod_annotations);
        }
        if self.workload_field("spec.strategy", spec.strategy.is_some()) {
            self.strategy_for_kind();
        }
    }

    fn env_var(&mut self, field: &str, env: &EnvVar) {
        if env.name.is_empty() {
            self.error(format!("{field}.name"), "required");
        } else if env.name.contains('=') {
            self.error(
                format!("{field}.name"),
                format!("{:?} must not contain '='", env.name),
            );
        }
        if let Some(source) = &env.value_from {
            if env.value.as_deref().is_some_and(|v| !v.is_empty()) {
                self.error(
                    format!("{field}.valueFrom"),
                    "not allowed when value is set; use one of value or valueFrom",
                );
            }
            let options = [
                ("configMapKeyRef", source.config_map_key_ref.is_some()),
                ("fieldRef", source.field_ref.is_some()),
                ("resourceFieldRef", source.resource_field_ref.is_some()),
                ("secretKeyRef", source.secret_key_ref.is_some()),
            ];
            self.exactly_one(&format!("{field}.valueFrom"), &options);
        }
    }

    fn resources(&mut self) {
        let Some(resources) = &self.spec.resources else {
            return;
        };
        let limits = resources.limits.clone().unwrap_or_default();
        for (kind, values) in [
            ("limits", &resources.limits),
            ("requests", &resources.requests),
        ] {
            for (name, quantity) in values.iter().flatten() {
                let field = format!("spec.resources.{kind}[{name}]");
                let Some(value) = self.quantity(&field, quantity, false) else {
                    continue;
                };
                let limit = limits.get(name).and_then(|l| parse_quantity(&l.0));
                if kind == "requests" && limit.is_some_and(|limit| value > limit) {
                    let limit_text = limits.get(name).map(|l| l.0.as_str()).unwrap_or_default();
                    self.error(
                        field,
                        format!("{} must not exceed the limit {limit_text}", quantity.0),
                    );
                }
            }
        }
    }

    /// A quantity that must parse and not be negative (or, with `positive`, be above zero).
    pub(super) fn quantity(
        &mut self,
        field: &str,
        quantity: &Quantity,
        positive: bool,
    ) -> Option<QuantityValue> {
        let text = &quantity.0;
        let Some(value) = parse_quantity(text) else {
            self.error(field, format!("{text:?} {QUANTITY_EXAMPLES}"));
            return None;
        };
        if positive && !value.is_positive() {
            self.error(field, format!("{text:?} must be greater than zero"));
            return None;
        }
        if value.is_negative() {
            self.error(field, format!("{text:?} must not be negative"));
            return None;
        }
        Some(value)
    }

    pub(super) fn annotations(&mut self, field: &str, annotations: &BTreeMap<String, String>) {
        let mut total = 0;
        for (key, value) in annotations {
            total += key.len() + value.len();
            // Kubernetes checks annotation keys case-insensitively.
            if !is_qualified_name(&key.to_lowercase()) {
                self.error(
                    format!("{field}[{key}]"),
                    format!("{key:?} is not {QUALIFIED_NAME}"),
                );
            }
        }
        if total > MAX_ANNOTATIONS_BYTES {
            self.error(
                field,
                format!("total size {total} bytes exceeds the limit of {MAX_ANNOTATIONS_BYTES}"),
            );
        }
    }
}
