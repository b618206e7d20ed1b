//! `spec.quota`: the namespace's ResourceQuota.

use super::{is_qualified_name, Checker, QUALIFIED_NAME};

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
    }
}
