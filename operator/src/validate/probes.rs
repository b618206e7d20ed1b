//! `spec.probes`: one handler each, timings, and what each kind of probe allows.

use exposure_crd::Probe;

use crate::cluster::Feature;

use super::Checker;

impl Checker<'_> {
    pub(super) fn probes(&mut self) {
        let Some(probes) = &self.spec.probes else {
            return;
        };
        if !self.workload_field("spec.probes", true) {
            return;
        }
        for (kind, probe) in [
            ("readiness", &probes.readiness),
            ("liveness", &probes.liveness),
            ("startup", &probes.startup),
        ] {
            if let Some(probe) = probe {
                self.probe(kind, probe);
            }
        }
    }

    fn probe(&mut self, kind: &str, probe: &Probe) {
        let field = format!("spec.probes.{kind}");
        let handlers = [
            ("httpGet", probe.http_get.is_some()),
            ("tcpSocket", probe.tcp_socket.is_some()),
            ("exec", probe.exec.is_some()),
            ("grpc", probe.grpc.is_some()),
        ];
        self.exactly_one(&field, &handlers);
        if let Some(http) = &probe.http_get {
            if let Some(path) = http.path.as_deref().filter(|p| !p.starts_with('/')) {
                self.error(
                    format!("{field}.httpGet.path"),
                    format!("{path:?} must start with \"/\""),
                );
            }
            self.probe_port(&format!("{field}.httpGet.port"), &http.port);
            for (i, header) in http.http_headers.iter().enumerate() {
                let header_field = format!("{field}.httpGet.httpHeaders[{i}].name");
                if header.name.is_empty() {
                    self.error(header_field, "required");
                } else if !header
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    self.error(
                        header_field,
                        format!(
                            "{:?} is not an HTTP header name (letters, digits and '-')",
                            header.name
                        ),
                    );
                }
            }
        }
        if let Some(tcp) = &probe.tcp_socket {
            self.probe_port(&format!("{field}.tcpSocket.port"), &tcp.port);
        }
        if probe
            .exec
            .as_ref()
            .is_some_and(|exec| exec.command.is_empty())
        {
            self.error(
                format!("{field}.exec.command"),
                "at least one element is required",
            );
        }
        if let Some(grpc) = &probe.grpc {
            self.feature(
                &format!("{field}.grpc"),
                Feature::GrpcProbe,
                "grpc probes",
                "use httpGet or tcpSocket, or exec with grpc_health_probe",
            );
            self.range(&format!("{field}.grpc.port"), grpc.port.into(), 1, 65535);
        }
        let minimums = [
            ("initialDelaySeconds", probe.initial_delay_seconds, 0),
            ("periodSeconds", probe.period_seconds, 1),
            ("timeoutSeconds", probe.timeout_seconds, 1),
            ("successThreshold", probe.success_threshold, 1),
            ("failureThreshold", probe.failure_threshold, 1),
        ];
        for (name, value, min) in minimums {
            if let Some(value) = value {
                self.at_least(&format!("{field}.{name}"), value.into(), min);
            }
        }
        if kind != "readiness" && probe.success_threshold.is_some_and(|n| n != 1) {
            let got = probe.success_threshold.unwrap_or_default();
            self.error(
                format!("{field}.successThreshold"),
                format!("must be 1 for {kind} probes (got {got})"),
            );
        }
        if let Some(seconds) = probe.termination_grace_period_seconds {
            let tgps_field = format!("{field}.terminationGracePeriodSeconds");
            if kind == "readiness" {
                self.error(
                    tgps_field,
                    "not allowed on readiness probes (only liveness and startup)",
                );
            } else {
                self.at_least(&tgps_field, seconds, 1);
                self.feature(
                    &tgps_field,
                    Feature::ProbeTerminationGracePeriod,
                    "probe-level terminationGracePeriodSeconds",
                    "remove it",
                );
            }
        }
    }
}
