//! `metadata`: the Exposure's own name and namespace.

use exposure_crd::Exposure;

use super::{
    is_dns1035_label, is_dns1123_label, Checker, DNS1035_LABEL, DNS1123_LABEL, MAX_NAME_LENGTH,
};

impl Checker<'_> {
    pub(super) fn metadata(&mut self, exposure: &Exposure) {
        match exposure.metadata.name.as_deref() {
            None | Some("") => self.error("metadata.name", "required"),
            Some(name) if !is_dns1035_label(name) => self.error("metadata.name", format!("{name:?} is not {DNS1035_LABEL}")),
            Some(name) if name.len() > MAX_NAME_LENGTH => self.error(
                "metadata.name",
                format!(
                    "{name:?} is {} characters; at most {MAX_NAME_LENGTH} are allowed (so that <name>-headless fits in 63)",
                    name.len()
                ),
            ),
            Some(_) => {}
        }
        if let Some(namespace) = exposure.metadata.namespace.as_deref() {
            self.name_check(
                "metadata.namespace",
                namespace,
                is_dns1123_label,
                DNS1123_LABEL,
            );
        }
    }
}
