//! core/v1 `Event` ⇄ events.k8s.io/v1 `Event` (upstream's `pkg/apis/events/v1/conversion.go`):
//! the same object under newer names. `involvedObject` is `regarding`, `message` is `note`,
//! `reportingComponent` is `reportingController`, and the fields events.k8s.io/v1 deprecates
//! (`source`, `firstTimestamp`, `lastTimestamp`, `count`) are its `deprecated…` fields.

use serde_json::{Map, Value};

use super::carry;

/// Fields with the same name in both versions.
const SHARED: &[&str] =
    &["metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related", "type"];

/// (core/v1 name, events.k8s.io/v1 name) of the renamed fields.
const RENAMED: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

pub(super) fn core_to_events(core: &Value) -> Value {
    let mut out = Map::new();
    for f in SHARED {
        carry(core, &mut out, f, f);
    }
    for (from, to) in RENAMED {
        carry(core, &mut out, from, to);
    }
    Value::Object(out)
}

pub(super) fn events_to_core(event: &Value) -> Value {
    let mut out = Map::new();
    for f in SHARED {
        carry(event, &mut out, f, f);
    }
    for (to, from) in RENAMED {
        carry(event, &mut out, from, to);
    }
    // involvedObject is required in core/v1.
    out.entry("involvedObject").or_insert_with(|| Value::Object(Map::new()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::convert;

    #[test]
    fn event_round_trips_between_core_and_events_api() {
        let core = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"},
            "reason": "Started",
            "message": "Started container web",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "lastTimestamp": "2024-01-01T00:01:00Z",
            "count": 3,
            "type": "Normal",
            "eventTime": null,
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1",
        });
        let ev = convert(core.clone(), "events.k8s.io", "v1").unwrap();
        assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
        assert_eq!(ev["regarding"]["name"], "web");
        assert_eq!(ev["note"], "Started container web");
        assert_eq!(ev["deprecatedSource"]["component"], "kubelet");
        assert_eq!(ev["deprecatedFirstTimestamp"], "2024-01-01T00:00:00Z");
        assert_eq!(ev["deprecatedLastTimestamp"], "2024-01-01T00:01:00Z");
        assert_eq!(ev["deprecatedCount"], 3);
        assert_eq!(ev["reportingController"], "kubelet");
        assert!(ev.get("involvedObject").is_none() && ev.get("message").is_none());

        let back = convert(ev, "", "v1").unwrap();
        let mut expected = core;
        expected.as_object_mut().unwrap().remove("eventTime");
        assert_eq!(back, expected);
    }

    #[test]
    fn new_style_event_converts_to_core() {
        let ev = json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "e", "namespace": "ns"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:00:05.000000Z"},
            "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-0",
            "action": "Reconcile",
            "reason": "Synced",
            "regarding": {"kind": "Deployment", "name": "d", "namespace": "ns"},
            "note": "ok",
            "type": "Normal",
        });
        let core = convert(ev.clone(), "", "v1").unwrap();
        assert_eq!(core["involvedObject"]["kind"], "Deployment");
        assert_eq!(core["message"], "ok");
        assert_eq!(core["reportingComponent"], "example.com/ctl");
        assert_eq!(core["series"]["count"], 2);
        assert_eq!(convert(core, "events.k8s.io", "v1").unwrap(), ev);
    }
}
