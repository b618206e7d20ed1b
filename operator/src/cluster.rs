//! What the operator knows about the cluster it talks to: its version, and from that which
//! API fields it may build, and whether it serves the Gateway API (HTTPRoute v1, from
//! discovery: CRDs, not a version). Read at start (`run`; the Gateway API again while it is
//! missing, see `controller::gateway_api`) or given on the command line (`render
//! --kubernetes-version`); validate and build take it as input.

use std::fmt;
use std::str::FromStr;

/// A Kubernetes minor version, e.g. 1.20.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

impl KubeVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// The newest version this operator knows (the default when none is given).
    pub const NEWEST: KubeVersion = KubeVersion::new(1, 35);

    /// From the API server's `/version` (`major: "1"`, `minor: "20+"`).
    pub fn from_server(major: &str, minor: &str) -> Option<Self> {
        let digits = |s: &str| -> Option<u32> {
            let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
            d.parse().ok()
        };
        Some(Self::new(digits(major)?, digits(minor)?))
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for KubeVersion {
    type Err = String;
    /// Accepts `1.20`, `v1.20`, `1.20.2`, `v1.20.2+k3s1`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let major = parts.next().unwrap_or_default();
        let minor = parts.next().unwrap_or_default();
        Self::from_server(major, minor)
            .filter(|_| !major.is_empty() && !minor.is_empty())
            .ok_or_else(|| format!("{s:?} is not a Kubernetes version like 1.20 or v1.20.2"))
    }
}

/// API features whose availability depends on the cluster version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// `grpc` probe handler (GA-enabled by default since 1.24).
    GrpcProbe,
    /// `terminationGracePeriodSeconds` on probes (on by default since 1.25).
    ProbeTerminationGracePeriod,
    /// Service `loadBalancerClass` (GA 1.24).
    LoadBalancerClass,
    /// The in-tree `kubernetes.io/glusterfs` provisioner (removed in 1.26).
    InTreeGlusterfs,
    /// `discovery.k8s.io/v1` EndpointSlices (GA 1.21); v1 Endpoints are deprecated from 1.33
    /// (every request to them draws a warning), so the operator writes slices where it can.
    EndpointSlice,
    /// CEL validation rules in CRDs (`x-kubernetes-validations`, on by default since 1.25).
    CrdValidationRules,
    /// `policy/v1` PodDisruptionBudgets (GA 1.21; `v1beta1` before).
    PodDisruptionBudgetV1,
    /// `autoscaling/v2` HorizontalPodAutoscalers (GA 1.23; `v2beta2` before).
    AutoscalingV2,
    /// StatefulSet `persistentVolumeClaimRetentionPolicy` (beta, on by default since 1.27;
    /// before, the field is dropped and per-pod claims are always retained).
    StatefulSetClaimRetention,
}

impl Feature {
    /// First version that has the feature on by default.
    pub fn since(self) -> Option<KubeVersion> {
        match self {
            Self::GrpcProbe | Self::LoadBalancerClass => Some(KubeVersion::new(1, 24)),
            Self::ProbeTerminationGracePeriod => Some(KubeVersion::new(1, 25)),
            Self::EndpointSlice => Some(KubeVersion::new(1, 21)),
            Self::CrdValidationRules => Some(KubeVersion::new(1, 25)),
            Self::PodDisruptionBudgetV1 => Some(KubeVersion::new(1, 21)),
            Self::AutoscalingV2 => Some(KubeVersion::new(1, 23)),
            Self::StatefulSetClaimRetention => Some(KubeVersion::new(1, 27)),
            Self::InTreeGlusterfs => None,
        }
    }

    /// First version that no longer has the feature.
    pub fn removed_in(self) -> Option<KubeVersion> {
        match self {
            Self::InTreeGlusterfs => Some(KubeVersion::new(1, 26)),
            _ => None,
        }
    }
}

/// Facts about the target cluster that validate and build depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterInfo {
    pub version: KubeVersion,
    /// Whether `gateway.networking.k8s.io/v1` HTTPRoutes are served (the Gateway API CRDs are
    /// installed). Assumed for `render`.
    pub gateway_api: bool,
}

impl Default for ClusterInfo {
    fn default() -> Self {
        Self::new(KubeVersion::NEWEST)
    }
}

impl ClusterInfo {
    pub fn new(version: KubeVersion) -> Self {
        Self {
            version,
            gateway_api: true,
        }
    }

    /// The same cluster, serving the Gateway API or not.
    pub fn with_gateway_api(self, served: bool) -> Self {
        Self {
            gateway_api: served,
            ..self
        }
    }

    /// The Exposure CRD this cluster takes (its CEL rules only where they are enforced).
    pub fn crd(
        &self,
    ) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition
    {
        exposure_crd::crd_for(self.supports(Feature::CrdValidationRules))
    }

    pub fn supports(&self, feature: Feature) -> bool {
        feature.since().is_none_or(|v| self.version >= v)
            && feature.removed_in().is_none_or(|v| self.version < v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!("1.20".parse(), Ok(KubeVersion::new(1, 20)));
        assert_eq!("v1.20.2".parse(), Ok(KubeVersion::new(1, 20)));
        assert_eq!(
            KubeVersion::from_server("1", "20+"),
            Some(KubeVersion::new(1, 20))
        );
        assert!("twenty".parse::<KubeVersion>().is_err());
        assert!("1".parse::<KubeVersion>().is_err());
    }

    #[test]
    fn features_follow_the_version() {
        let old = ClusterInfo::new(KubeVersion::new(1, 20));
        let new = ClusterInfo::new(KubeVersion::new(1, 26));
        assert!(!old.supports(Feature::GrpcProbe));
        assert!(new.supports(Feature::GrpcProbe));
        assert!(old.supports(Feature::InTreeGlusterfs));
        assert!(!new.supports(Feature::InTreeGlusterfs));
        assert!(ClusterInfo::new(KubeVersion::new(1, 25)).supports(Feature::InTreeGlusterfs));
    }
}
