//! The core/v1 event strategy (upstream's `pkg/registry/core/event` and
//! `pkg/apis/core/validation/events.go`).
//!
//! Events written through core/v1 get only the legacy checks, for compatibility; events written
//! through events.k8s.io/v1 (stored as core/v1 events) also get the strict ones, see
//! [`crate::strategy::events`].

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use krs_apimachinery::validation::{
    BadValue, ErrorList, FIELD_IMMUTABLE_ERROR_MSG, Path, field, is_dns1123_subdomain, is_qualified_name,
    validate_path_segment_name,
};
use krs_kinds::Object;

use super::service::checks;
use crate::strategy::{FieldLabel, NameValidator, Strategy, typed};

const REPORTING_INSTANCE_LENGTH_LIMIT: usize = 128;
const ACTION_LENGTH_LIMIT: usize = 128;
const REASON_LENGTH_LIMIT: usize = 128;
const NOTE_LENGTH_LIMIT: usize = 1024;

/// The event strategy.
pub struct EventStrategy;

/// The event strategy.
pub static EVENT: EventStrategy = EventStrategy;

/// The field-selector fields of events (upstream's `ToSelectableFields`). Upstream's `source`
/// falls back to `reportingComponent` when `source.component` is empty.
pub(crate) static FIELD_LABELS: &[FieldLabel] = &[
    FieldLabel::string("involvedObject.kind"),
    FieldLabel::string("involvedObject.namespace"),
    FieldLabel::string("involvedObject.name"),
    FieldLabel::string("involvedObject.uid"),
    FieldLabel::string("involvedObject.apiVersion"),
    FieldLabel::string("involvedObject.resourceVersion"),
    FieldLabel::string("involvedObject.fieldPath"),
    FieldLabel::string("reason"),
    FieldLabel::string("reportingComponent"),
    FieldLabel::at("source", "source.component"),
    FieldLabel::string("type"),
];

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

/// The checks every event passes, whatever API version wrote it (`legacyValidateEvent`).
pub(crate) fn validate_legacy(event: &Event) -> ErrorList {
    let mut errs = ErrorList::new();
    let namespace = s(&event.metadata.namespace);
    let involved_ns = s(&event.involved_object.namespace);
    let ns_path = Path::new("involvedObject").child("namespace");
    let mismatch =
        |errs: &mut ErrorList| errs.push(field::invalid(&ns_path, involved_ns, "does not match event.namespace"));
    if event.event_time.is_none() {
        // Old-style events: the namespaces must agree ("default" for cluster-scoped objects).
        if involved_ns.is_empty() {
            if !namespace.is_empty() && namespace != "default" {
                mismatch(&mut errs);
            }
        } else if namespace != involved_ns {
            mismatch(&mut errs);
        }
    } else {
        if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
            mismatch(&mut errs);
        }
        let controller = s(&event.reporting_component);
        if controller.is_empty() {
            errs.push(field::required(&Path::new("reportingController"), ""));
        }
        for msg in is_qualified_name(controller) {
            errs.push(field::invalid(&Path::new("reportingController"), controller, msg));
        }
        let too_long = |errs: &mut ErrorList, name: &str, limit: usize| {
            errs.push(field::invalid(&Path::new(name), "", format!("can have at most {limit} characters")))
        };
        let instance = s(&event.reporting_instance);
        if instance.is_empty() {
            errs.push(field::required(&Path::new("reportingInstance"), ""));
        }
        if instance.len() > REPORTING_INSTANCE_LENGTH_LIMIT {
            too_long(&mut errs, "reportingInstance", REPORTING_INSTANCE_LENGTH_LIMIT);
        }
        let action = s(&event.action);
        if action.is_empty() {
            errs.push(field::required(&Path::new("action"), ""));
        }
        if action.len() > ACTION_LENGTH_LIMIT {
            too_long(&mut errs, "action", ACTION_LENGTH_LIMIT);
        }
        let reason = s(&event.reason);
        if reason.is_empty() {
            errs.push(field::required(&Path::new("reason"), ""));
        }
        if reason.len() > REASON_LENGTH_LIMIT {
            too_long(&mut errs, "reason", REASON_LENGTH_LIMIT);
        }
        if s(&event.message).len() > NOTE_LENGTH_LIMIT {
            too_long(&mut errs, "message", NOTE_LENGTH_LIMIT);
        }
    }
    errs.append(checks::each(namespace, &Path::new("namespace"), is_dns1123_subdomain(namespace)));
    errs
}

fn validate_series(event: &Event) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(series) = &event.series {
        if series.count.unwrap_or(0) < 2 {
            errs.push(field::invalid(&Path::new("series.count"), "", "should be at least 2"));
        }
        if series.last_observed_time.is_none() {
            errs.push(field::required(&Path::new("series.lastObservedTime"), ""));
        }
    }
    errs
}

/// The strict checks of events created through events.k8s.io/v1 (`ValidateEventCreate`).
pub(crate) fn validate_strict_create(event: &Event) -> ErrorList {
    let mut errs = validate_legacy(event);
    errs.append(validate_series(event));
    if event.event_time.is_none() {
        errs.push(field::required(&Path::new("eventTime"), ""));
    }
    let ty = s(&event.type_);
    if ty != "Normal" && ty != "Warning" {
        errs.push(field::invalid(&Path::new("type"), "", format!("has invalid value: {ty}")));
    }
    let unset = |errs: &mut ErrorList, name: &str, set: bool| {
        if set {
            errs.push(field::invalid(&Path::new(name), "", "needs to be unset"));
        }
    };
    unset(&mut errs, "firstTimestamp", event.first_timestamp.is_some());
    unset(&mut errs, "lastTimestamp", event.last_timestamp.is_some());
    unset(&mut errs, "count", event.count.unwrap_or(0) != 0);
    let source = event.source.as_ref();
    unset(&mut errs, "source", source.is_some_and(|src| !s(&src.component).is_empty() || !s(&src.host).is_empty()));
    errs
}

/// An object reference as upstream shows its internal type: Go field names, all of them.
fn go_object_reference(r: Option<&ObjectReference>) -> BadValue {
    let Some(r) = r else {
        return BadValue::null();
    };
    checks::go_struct(&[
        ("Kind", checks::go_json(s(&r.kind))),
        ("Namespace", checks::go_json(s(&r.namespace))),
        ("Name", checks::go_json(s(&r.name))),
        ("UID", checks::go_json(s(&r.uid))),
        ("APIVersion", checks::go_json(s(&r.api_version))),
        ("ResourceVersion", checks::go_json(s(&r.resource_version))),
        ("FieldPath", checks::go_json(s(&r.field_path))),
    ])
}

/// The strict update checks of events.k8s.io/v1: everything but the series is immutable
/// (`ValidateEventUpdate`).
pub(crate) fn validate_strict_update(new: &Event, old: &Event) -> ErrorList {
    let mut errs = validate_legacy(new);
    if new.series != old.series {
        errs.append(validate_series(new));
    }
    let source = |e: &Event| e.source.clone().unwrap_or_default();
    if new.involved_object != old.involved_object {
        errs.push(field::invalid(
            &Path::new("involvedObject"),
            go_object_reference(Some(&new.involved_object)),
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    errs.append(checks::immutable(s(&new.reason), s(&old.reason), &Path::new("reason")));
    errs.append(checks::immutable(s(&new.message), s(&old.message), &Path::new("message")));
    if source(new) != source(old) {
        let src = source(new);
        let shown = checks::go_struct(&[
            ("Component", checks::go_json(s(&src.component))),
            ("Host", checks::go_json(s(&src.host))),
        ]);
        errs.push(field::invalid(&Path::new("source"), shown, FIELD_IMMUTABLE_ERROR_MSG));
    }
    errs.append(checks::immutable(&new.first_timestamp, &old.first_timestamp, &Path::new("firstTimestamp")));
    errs.append(checks::immutable(&new.last_timestamp, &old.last_timestamp, &Path::new("lastTimestamp")));
    errs.append(checks::immutable(&new.count.unwrap_or(0), &old.count.unwrap_or(0), &Path::new("count")));
    errs.append(checks::immutable(s(&new.reason), s(&old.reason), &Path::new("reason")));
    errs.append(checks::immutable(s(&new.type_), s(&old.type_), &Path::new("type")));
    errs.append(checks::immutable(&new.event_time, &old.event_time, &Path::new("eventTime")));
    errs.append(checks::immutable(s(&new.action), s(&old.action), &Path::new("action")));
    if new.related != old.related {
        errs.push(field::invalid(
            &Path::new("related"),
            go_object_reference(new.related.as_ref()),
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    errs.append(checks::immutable(
        s(&new.reporting_component),
        s(&old.reporting_component),
        &Path::new("reportingController"),
    ));
    errs.append(checks::immutable(
        s(&new.reporting_instance),
        s(&old.reporting_instance),
        &Path::new("reportingInstance"),
    ));
    errs
}

impl Strategy for EventStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        typed::<Event>(obj).map(validate_legacy).unwrap_or_default()
    }

    fn name_validator(&self) -> NameValidator {
        // Upstream checks core/v1 event names only as path segments.
        validate_path_segment_name
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
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

    use super::*;

    fn event(ns: &str, involved_ns: &str) -> Event {
        Event {
            metadata: ObjectMeta { name: Some("e".into()), namespace: Some(ns.into()), ..Default::default() },
            involved_object: ObjectReference { namespace: Some(involved_ns.into()), ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn involved_object_namespace_must_match() {
        assert_eq!(
            EVENT.validate(&event("a", "b")).to_string(),
            r#"involvedObject.namespace: Invalid value: "b": does not match event.namespace"#
        );
        assert!(EVENT.validate(&event("default", "")).is_empty());
        assert!(EVENT.validate(&event("a", "a")).is_empty());
    }

    #[test]
    fn new_style_events_need_reporting_fields() {
        let mut e = event("a", "a");
        e.event_time = Some(MicroTime(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        // Like upstream, an empty controller is also not a qualified name.
        let errs = EVENT.validate(&e).to_string();
        assert!(
            errs.starts_with(r#"[reportingController: Required value, reportingController: Invalid value: "": name part must be non-empty"#),
            "{errs}"
        );
        assert!(
            errs.ends_with("reportingInstance: Required value, action: Required value, reason: Required value]"),
            "{errs}"
        );
        e.reporting_component = Some("example.com/ctl".into());
        e.reporting_instance = Some("ctl-1".into());
        e.action = Some("Scale".into());
        e.reason = Some("Scaled".into());
        assert!(EVENT.validate(&e).is_empty());
        e.reporting_component = Some("bad controller".into());
        assert!(
            EVENT
                .validate(&e)
                .to_string()
                .starts_with(r#"reportingController: Invalid value: "bad controller": name part must consist of"#)
        );
    }

    #[test]
    fn strict_validation_requires_event_time_and_type() {
        let e = event("a", "a");
        assert_eq!(
            validate_strict_create(&e).to_string(),
            r#"[eventTime: Required value, type: Invalid value: "": has invalid value: ]"#
        );
    }

    #[test]
    fn field_labels_include_involved_object_and_source() {
        let names: Vec<_> = EVENT.field_labels().iter().map(|f| f.name).collect();
        assert!(names.contains(&"involvedObject.name"));
        assert!(names.contains(&"source"));
        let obj = serde_json::json!({"source": {"component": "kubelet"}});
        let source = EVENT.field_labels().iter().find(|f| f.name == "source").unwrap();
        assert_eq!(source.value_in(&obj), "kubelet");
    }
}
