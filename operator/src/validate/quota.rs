//! `spec.quota`: the namespace's ResourceQuota and LimitRange.

use std::collections::BTreeMap;

use exposure_crd::LimitsSpec;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{is_qualified_name, Checker, QUALIFIED_NAME};
use crate::quantity::QuantityValue;

/// One field of `spec.quota.limits` (`min`, `defaultRequest`, …): each resource's parsed value
/// and the quantity as written.
type ParsedLimits<'a> = (&'a str, BTreeMap<&'a str, (QuantityValue, &'a Quantity)>);

impl Checker<'_> {
    pub(super) fn quota(&mut self) {
        let Some(quota) = &self.spec.quota else {
            return;
        };
        for (resource, quantity) in &quota.hard {
            let field = format!("spec.quota.hard[{resource}]");
            if !is_qualified_name(resource) {
                self.error(field, format!("{resource:?} is not a resource name: {QUALIFIED_NAME}, e.g. pods, requests.storage, count/deployments.apps"));
            } else {
                self.quantity(&field, quantity, false);
            }
        }
        if let Some(limits) = &quota.limits {
            self.limits(limits);
        }
    }

    /// Every quantity parses, and per resource min <= defaultRequest <= default <= max (the
    /// order the API server requires of a LimitRange).
    fn limits(&mut self, limits: &LimitsSpec) {
        let LimitsSpec {
            default,
            default_request,
            max,
            min,
        } = limits;
        let fields = [
            ("min", min),
            ("defaultRequest", default_request),
            ("default", default),
            ("max", max),
        ];
        let mut parsed: Vec<ParsedLimits<'_>> = Vec::new();
        for (name, map) in fields {
            let mut values = BTreeMap::new();
            for (resource, quantity) in map {
                let field = format!("spec.quota.limits.{name}[{resource}]");
                if !is_qualified_name(resource) {
                    self.error(
                        field,
                        format!("{resource:?} is not a resource name: {QUALIFIED_NAME}, e.g. cpu, memory"),
                    );
                } else if let Some(value) = self.quantity(&field, quantity, false) {
                    values.insert(resource.as_str(), (value, quantity));
                }
            }
            parsed.push((name, values));
        }
        for (i, (lower_name, lower)) in parsed.iter().enumerate() {
            for (upper_name, upper) in &parsed[i + 1..] {
                for (resource, (low, low_text)) in lower {
                    if let Some((high, high_text)) = upper.get(resource) {
                        if low > high {
                            self.error(
                                format!("spec.quota.limits.{lower_name}[{resource}]"),
                                format!(
                                    "{} must not exceed {upper_name} {}",
                                    low_text.0, high_text.0
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}
