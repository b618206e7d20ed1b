//! The events the operator publishes about an Exposure, as data. Pure: decide says which,
//! the executor publishes those of the steps that happened.

use exposure_crd::{condition, ExposureStatus};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::events::EventType;

use crate::build::ChildKind;

/// One event about the Exposure, as data (`controller::event_series` publishes it).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub type_: EventType,
    pub reason: String,
    pub note: Option<String>,
    /// The child the event is about, if any.
    pub secondary: Option<ObjectReference>,
}

impl Event {
    /// The note as published: cut to the API server's limit.
    pub fn fitted_note(&self) -> Option<String> {
        self.note.as_deref().map(fit_note)
    }
}

/// The API server refuses an Event whose note is over 1024 bytes (events.k8s.io/v1), and a
/// note can quote a user's value (a 400 kB image name): cut at a character boundary, marked.
pub const MAX_NOTE_BYTES: usize = 1024;

fn fit_note(note: &str) -> String {
    if note.len() <= MAX_NOTE_BYTES {
        return note.to_string();
    }
    const MARK: &str = "…";
    let mut end = MAX_NOTE_BYTES - MARK.len();
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &note[..end])
}

pub fn note(type_: EventType, reason: &str, message: String) -> Event {
    Event {
        type_,
        reason: reason.to_string(),
        note: Some(message),
        secondary: None,
    }
}

/// A Normal event about one child (`related`): events about different children must not be
/// folded into one series by the recorder.
pub fn about_child(
    reason: &str,
    message: String,
    kind: ChildKind,
    namespace: &str,
    name: &str,
) -> Event {
    let mut ev = note(EventType::Normal, reason, message);
    ev.secondary = Some(child_reference(kind, namespace, name));
    ev
}

/// The child an event is about.
pub fn child_reference(kind: ChildKind, namespace: &str, name: &str) -> ObjectReference {
    let ar = kind.api_resource();
    ObjectReference {
        api_version: Some(ar.api_version),
        kind: Some(ar.kind),
        name: Some(name.to_string()),
        namespace: kind.namespaced().then(|| namespace.to_string()),
        ..Default::default()
    }
}

/// What one reconcile applied, as at most two Events: `Created Deployment web, Service web,
/// Ingress web` and `Updated Service web`. One Event per meaningful change, naming every child,
/// instead of one per child: creating an Exposure's children costs one write, not one per
/// child. An Event about a single child names it as its related object too.
pub fn applied(
    created: &[(ChildKind, String)],
    updated: &[(ChildKind, String)],
    namespace: &str,
) -> Vec<Event> {
    [("Created", created), ("Updated", updated)]
        .into_iter()
        .filter(|(_, children)| !children.is_empty())
        .map(|(verb, children)| {
            let listed: Vec<String> = children
                .iter()
                .map(|(kind, name)| format!("{} {name}", kind.as_str()))
                .collect();
            let message = format!("{verb} {}", listed.join(", "));
            match children {
                [(kind, name)] => about_child(verb, message, *kind, namespace, name),
                _ => note(EventType::Normal, verb, message),
            }
        })
        .collect()
}

/// A Warning when the Exposure becomes Stalled or its stall reason changes (not on every
/// reconcile: no event spam).
pub fn stall_event(old: Option<&ExposureStatus>, new: &ExposureStatus) -> Option<Event> {
    let stalled = |s: &ExposureStatus| -> Option<Condition> {
        s.conditions
            .iter()
            .find(|c| c.type_ == condition::STALLED && c.status == "True")
            .cloned()
    };
    let now = stalled(new)?;
    let before = old.and_then(stalled);
    (before.as_ref().map(|c| (&c.reason, &c.message)) != Some((&now.reason, &now.message)))
        .then(|| note(EventType::Warning, &now.reason, now.message.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconcile_that_creates_every_child_records_one_event() {
        let created = [
            (ChildKind::Deployment, "web".to_string()),
            (ChildKind::Service, "web".to_string()),
            (ChildKind::Service, "web-headless".to_string()),
        ];
        let events = applied(&created, &[], "shop");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "Created");
        assert_eq!(
            events[0].note.as_deref(),
            Some("Created Deployment web, Service web, Service web-headless")
        );
        assert_eq!(events[0].secondary, None);

        let updated = [(ChildKind::Service, "web".to_string())];
        let events = applied(&[], &updated, "shop");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].note.as_deref(), Some("Updated Service web"));
        assert_eq!(
            events[0].secondary.as_ref().and_then(|r| r.name.as_deref()),
            Some("web")
        );
        assert!(applied(&[], &[], "shop").is_empty());
    }

    #[test]
    fn a_note_over_the_api_limit_is_cut_at_a_character_boundary() {
        let short = note(EventType::Warning, "Stalled", "spec.image: too long".into());
        assert_eq!(short.fitted_note().as_deref(), Some("spec.image: too long"));
        // Three-byte characters: 1024 is not a boundary of this text.
        let long = note(EventType::Warning, "Stalled", "€".repeat(2000));
        let kept = long.fitted_note().unwrap_or_default();
        assert!(kept.len() <= MAX_NOTE_BYTES, "{} bytes", kept.len());
        assert!(kept.len() > MAX_NOTE_BYTES - 6, "{} bytes", kept.len());
        assert!(kept.ends_with('…'));
        assert!(kept.trim_end_matches('…').chars().all(|c| c == '€'));
    }
}
