//! Publishes the operator's Events (events.k8s.io/v1). An event that happens again within
//! [`SERIES_WINDOW`] of its last occurrence updates the first one's `series` (count and last
//! time) instead of creating another object, as kube's `Recorder` does. Unlike the Recorder,
//! which keeps every Event it published, typed (about 2.5 KiB each), until its next publish
//! after six minutes, only a hash of each event and the name of its object are kept: creating
//! 3,000 Exposures no longer leaves 3,000 Events in memory.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::events::EventType;
use kube::{Api, Client};
use serde_json::json;

use crate::events::Event;

/// How long after its last occurrence an event still continues its series (kube's Recorder
/// uses the same six minutes).
pub const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);

/// Who publishes: `reportingController` and `reportingInstance`.
#[derive(Clone, Debug)]
pub struct Reporter {
    pub controller: String,
    pub instance: String,
}

pub struct Publisher {
    client: Client,
    reporter: Reporter,
    series: Mutex<Series>,
}

impl Publisher {
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            series: Mutex::default(),
        }
    }

    /// Publishes `event` about `regarding`: a new Event, or the next of its series.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = series_key(event, regarding);
        let next = self.lock().next(key, now);
        match next {
            Next::Create => {
                let created = k8s_event(event, regarding, &self.reporter, now);
                let namespace = created.metadata.namespace.clone().unwrap_or_default();
                let name = created.metadata.name.clone().unwrap_or_default();
                Api::<K8sEvent>::namespaced(self.client.clone(), &namespace)
                    .create(&PostParams::default(), &created)
                    .await?;
                self.lock().created(key, &namespace, &name, now);
            }
            Next::Repeat {
                namespace,
                name,
                count,
            } => {
                let series =
                    json!({"series": {"count": count, "lastObservedTime": MicroTime(now)}});
                Api::<K8sEvent>::namespaced(self.client.clone(), &namespace)
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                    .await?;
                self.lock().repeated(key, count, now);
            }
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Series> {
        // The map is plain data: usable after a panic elsewhere.
        self.series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The events published within the window, by [`series_key`].
#[derive(Default)]
pub struct Series {
    last: HashMap<u64, Occurrence>,
}

struct Occurrence {
    namespace: Box<str>,
    name: Box<str>,
    count: i32,
    at: Timestamp,
}

/// What publishing an event does.
#[derive(Debug, PartialEq)]
pub enum Next {
    Create,
    /// Its Event `namespace/name` gets `series.count` = `count`.
    Repeat {
        namespace: String,
        name: String,
        count: i32,
    },
}

impl Series {
    /// What publishing the event `key` at `now` does. Forgets the series that ended.
    pub fn next(&mut self, key: u64, now: Timestamp) -> Next {
        self.last.retain(|_, o| o.at + SERIES_WINDOW > now);
        match self.last.get(&key) {
            Some(o) => Next::Repeat {
                namespace: o.namespace.to_string(),
                name: o.name.to_string(),
                count: o.count.saturating_add(1),
            },
            None => Next::Create,
        }
    }

    /// The event `key` was created as `namespace/name`.
    pub fn created(&mut self, key: u64, namespace: &str, name: &str, now: Timestamp) {
        self.last.insert(
            key,
            Occurrence {
                namespace: namespace.into(),
                name: name.into(),
                count: 1,
                at: now,
            },
        );
    }

    /// The event `key` happened again, its series now at `count`.
    pub fn repeated(&mut self, key: u64, count: i32, now: Timestamp) {
        if let Some(o) = self.last.get_mut(&key) {
            o.count = count;
            o.at = now;
        }
    }
}

/// Events are the same when their type, reason, note, object and related object are.
fn series_key(event: &Event, regarding: &ObjectReference) -> u64 {
    let mut hasher = DefaultHasher::new();
    let reference = |r: &ObjectReference, h: &mut DefaultHasher| {
        (&r.api_version, &r.kind, &r.namespace, &r.name, &r.uid).hash(h)
    };
    matches!(event.type_, EventType::Warning).hash(&mut hasher);
    (&event.reason, &event.note).hash(&mut hasher);
    reference(regarding, &mut hasher);
    if let Some(related) = &event.secondary {
        reference(related, &mut hasher);
    }
    hasher.finish()
}

/// The Event object of a first occurrence (the fields kube's Recorder sets; `action` is the
/// reason).
pub fn k8s_event(
    event: &Event,
    regarding: &ObjectReference,
    reporter: &Reporter,
    now: Timestamp,
) -> K8sEvent {
    let object = regarding.name.as_deref().unwrap_or(&reporter.controller);
    K8sEvent {
        metadata: ObjectMeta {
            namespace: regarding.namespace.clone(),
            name: Some(format!("{object}.{:x}", now.as_nanosecond())),
            ..ObjectMeta::default()
        },
        action: Some(event.reason.clone()),
        reason: Some(event.reason.clone()),
        note: event.fitted_note(),
        event_time: Some(MicroTime(now)),
        regarding: Some(regarding.clone()),
        related: event.secondary.clone(),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(reporter.instance.clone()),
        type_: Some(
            match event.type_ {
                EventType::Normal => "Normal",
                EventType::Warning => "Warning",
            }
            .into(),
        ),
        ..K8sEvent::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::note;

    fn web() -> ObjectReference {
        ObjectReference {
            api_version: Some("exposure.dev/v1alpha1".into()),
            kind: Some("Exposure".into()),
            namespace: Some("shop".into()),
            name: Some("web".into()),
            uid: Some("u-1".into()),
            ..ObjectReference::default()
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("a valid time")
    }

    #[test]
    fn an_event_repeated_within_the_window_continues_its_series() {
        let stalled = series_key(&note(EventType::Warning, "Stalled", "x".into()), &web());
        let mut series = Series::default();
        assert_eq!(series.next(stalled, at(0)), Next::Create);
        series.created(stalled, "shop", "web.1", at(0));
        let again = series.next(stalled, at(60));
        assert_eq!(
            again,
            Next::Repeat {
                namespace: "shop".into(),
                name: "web.1".into(),
                count: 2
            }
        );
        series.repeated(stalled, 2, at(60));
        // The window runs from the last occurrence.
        assert!(matches!(
            series.next(stalled, at(400)),
            Next::Repeat { count: 3, .. }
        ));
        series.repeated(stalled, 3, at(400));
        // Six minutes after the last: a new Event, and the old series forgotten.
        assert_eq!(series.next(stalled, at(400 + 360)), Next::Create);
        assert!(series.last.is_empty());
    }

    #[test]
    fn events_differing_in_reason_note_or_object_are_separate() {
        let base = note(EventType::Warning, "Stalled", "x".into());
        let keys = [
            series_key(&base, &web()),
            series_key(&note(EventType::Normal, "Stalled", "x".into()), &web()),
            series_key(&note(EventType::Warning, "Blocked", "x".into()), &web()),
            series_key(&note(EventType::Warning, "Stalled", "y".into()), &web()),
            series_key(
                &base,
                &ObjectReference {
                    name: Some("api".into()),
                    ..web()
                },
            ),
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
    }

    #[test]
    fn the_event_object_names_its_object_reporter_and_type() {
        let reporter = Reporter {
            controller: "exposure-operator".into(),
            instance: "pod-1".into(),
        };
        let ev = k8s_event(
            &note(EventType::Warning, "Stalled", "spec.image: empty".into()),
            &web(),
            &reporter,
            at(0),
        );
        assert_eq!(ev.metadata.namespace.as_deref(), Some("shop"));
        assert!(ev
            .metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("web.")));
        assert_eq!(ev.type_.as_deref(), Some("Warning"));
        assert_eq!(ev.reason.as_deref(), Some("Stalled"));
        assert_eq!(ev.action.as_deref(), Some("Stalled"));
        assert_eq!(ev.note.as_deref(), Some("spec.image: empty"));
        assert_eq!(ev.regarding, Some(web()));
        assert_eq!(
            ev.reporting_controller.as_deref(),
            Some("exposure-operator")
        );
        assert_eq!(ev.reporting_instance.as_deref(), Some("pod-1"));
        assert_eq!(ev.series, None);
    }
}
