//! The events.k8s.io/v1 event strategy (upstream's `pkg/registry/core/event` for requests of
//! the events API). Its events are stored as core/v1 events; they pass the legacy checks of
//! every event plus the strict ones of the newer API (`ValidateEventCreate` and
//! `ValidateEventUpdate` with an events.k8s.io request version).

use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event;
use krs_apimachinery::validation::{ErrorList, name_is_dns_subdomain};
use krs_kinds::Object;

use crate::strategy::core::event::{FIELD_LABELS, validate_strict_create, validate_strict_update};
use crate::strategy::{FieldLabel, NameValidator, Strategy, typed};

/// The events.k8s.io/v1 event strategy.
pub struct EventsStrategy;

/// The events.k8s.io/v1 event strategy.
pub static EVENTS: EventsStrategy = EventsStrategy;

/// The object as a core/v1 event (the type upstream validates), whichever version it is.
fn as_core(obj: &dyn Object) -> Option<CoreEvent> {
    if let Some(e) = typed::<CoreEvent>(obj) {
        return Some(e.clone());
    }
    typed::<Event>(obj)?;
    let value = crate::conversion::convert(obj.to_value(), "", "v1").ok()?;
    serde_json::from_value(value).ok()
}

impl Strategy for EventsStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        as_core(obj).map(|e| validate_strict_create(&e)).unwrap_or_default()
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        match (as_core(new), as_core(old)) {
            (Some(new), Some(old)) => validate_strict_update(&new, &old),
            _ => ErrorList::new(),
        }
    }

    fn name_validator(&self) -> NameValidator {
        name_is_dns_subdomain
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn field_labels(&self) -> &'static [FieldLabel] {
        FIELD_LABELS
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EventSource, ObjectReference};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

    use super::*;

    fn event() -> Event {
        Event {
            metadata: ObjectMeta { name: Some("e".into()), namespace: Some("ns".into()), ..Default::default() },
            event_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
            reporting_controller: Some("example.com/ctl".into()),
            reporting_instance: Some("ctl-0".into()),
            action: Some("Sync".into()),
            reason: Some("Synced".into()),
            regarding: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            }),
            type_: Some("Normal".into()),
            ..Default::default()
        }
    }

    #[test]
    fn valid_events_api_event_passes() {
        assert!(EVENTS.validate(&event()).is_empty(), "{}", EVENTS.validate(&event()));
    }

    #[test]
    fn deprecated_fields_must_be_unset() {
        let mut e = event();
        e.deprecated_count = Some(2);
        e.deprecated_source = Some(EventSource { component: Some("kubelet".into()), host: None });
        e.type_ = Some("Info".into());
        assert_eq!(
            EVENTS.validate(&e).to_string(),
            r#"[type: Invalid value: "": has invalid value: Info, count: Invalid value: "": needs to be unset, source: Invalid value: "": needs to be unset]"#
        );
    }

    #[test]
    fn note_and_reason_are_immutable() {
        let old = event();
        let mut new = event();
        new.note = Some("changed".into());
        assert_eq!(
            EVENTS.validate_update(&new, &old).to_string(),
            r#"message: Invalid value: "changed": field is immutable"#
        );
    }
}
