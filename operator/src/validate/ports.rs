//! `spec.ports`: names, numbers, node ports, and references to them by name.

use exposure_crd::VisibilityType;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{is_port_name, only_with, Checker, Seen};

impl Checker<'_> {
    pub(super) fn ports(&mut self) {
        let spec = self.spec;
        let visibility = spec.visibility.type_;
        if spec.ports.is_empty() && visibility != VisibilityType::ExternalName {
            self.error(
                "spec.ports",
                format!("at least one port is required for visibility.type {} (the Service needs a port)", visibility.as_str()),
            );
        }
        let workload = self.no_workload_because.is_none();
        let (mut names, mut container_ports, mut service_ports, mut node_ports) =
            (Seen::new(), Seen::new(), Seen::new(), Seen::new());
        for (i, port) in spec.ports.iter().enumerate() {
            let field = format!("spec.ports[{i}]");
            let protocol = port.protocol.as_str();
            match port.name.as_deref() {
                None if spec.ports.len() > 1 => self.error(format!("{field}.name"), "required when more than one port is declared"),
                None => {}
                Some(name) if !is_port_name(name) => self.error(
                    format!("{field}.name"),
                    format!("{name:?} is not a port name (at most 15 lowercase letters, digits and '-', with at least one letter, starting and ending with a letter or digit, no \"--\")"),
                ),
                Some(name) => {
                    if let Some(first) = names.previous(name, i) {
                        self.error(format!("{field}.name"), format!("port names must be unique: {name:?} is already used by spec.ports[{first}]"));
                    }
                }
            }
            self.range(
                &format!("{field}.containerPort"),
                port.container_port.into(),
                1,
                65535,
            );
            if workload {
                if let Some(first) =
                    container_ports.previous((port.container_port, port.protocol), i)
                {
                    self.error(
                        format!("{field}.containerPort"),
                        format!(
                            "{}/{protocol} is already used by spec.ports[{first}]",
                            port.container_port
                        ),
                    );
                }
            }
            if let Some(number) = port.port {
                self.range(&format!("{field}.port"), number.into(), 1, 65535);
            }
            if let Some(first) = service_ports.previous((port.service_port(), port.protocol), i) {
                let which = if port.port.is_some() {
                    "port"
                } else {
                    "containerPort"
                };
                self.error(
                    format!("{field}.{which}"),
                    format!(
                        "{}/{protocol} is already used by spec.ports[{first}]",
                        port.service_port()
                    ),
                );
            }
            if let Some(node_port) = port.node_port {
                let node_field = format!("{field}.nodePort");
                if !visibility.has_node_ports() {
                    self.error(
                        node_field,
                        only_with("visibility.type NodePort or LoadBalancer", visibility),
                    );
                } else if !(30000..=32767).contains(&node_port) {
                    self.error(node_field, format!("{node_port} is outside 30000-32767"));
                } else if let Some(first) = node_ports.previous((node_port, port.protocol), i) {
                    self.error(
                        node_field,
                        format!("{node_port}/{protocol} is already used by spec.ports[{first}]"),
                    );
                }
            }
        }
    }

    /// A reference to a declared port by name.
    pub(super) fn port_name_ref(&mut self, field: &str, name: &str) {
        if !self.ports.names.contains(&name) {
            let declared = self.ports.names_list();
            self.error(
                field,
                format!("{name:?} is not a declared port name ({declared})"),
            );
        }
    }

    pub(super) fn probe_port(&mut self, field: &str, port: &IntOrString) {
        match port {
            IntOrString::Int(number) => self.range(field, (*number).into(), 1, 65535),
            IntOrString::String(name) => self.port_name_ref(field, name),
        }
    }
}
