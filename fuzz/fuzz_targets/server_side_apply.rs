//! Server-side apply and managedFields bookkeeping (krs_api::fieldmanager::apply and update)
//! on arbitrary configurations against arbitrary live objects of a few kinds, with arbitrary
//! managedFields. Never panics, whatever it returns.
//!
//! Input: `[selector][len: u16 LE][live][config]`. Selector bit 0x80 takes live and config as
//! raw JSON bytes (a replayable form); otherwise both are generated (common::Gen), mostly as
//! objects of the chosen kind.

#![no_main]

mod common;

use common::Gen;
use krs_api::fieldmanager::{self, FieldSet, Path, Request};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const KINDS: &[(&str, &str)] = &[
    ("apps/v1", "Deployment"),
    ("v1", "Pod"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("batch/v1", "CronJob"),
    ("v1", "Node"),
    ("apps/v1", "StatefulSet"),
    // No schema: a custom resource, applied as a deduced (atomic-free) structure.
    ("example.com/v1", "Widget"),
];

const MANAGERS: &[&str] = &["kubectl", "kubectl-client-side-apply", "m", ""];
const SUBRESOURCES: &[&str] = &["", "", "status", "scale"];

fn as_kind(v: &mut Value, api_version: &str, kind: &str) {
    if let Value::Object(m) = v {
        m.insert("apiVersion".into(), Value::String(api_version.into()));
        m.insert("kind".into(), Value::String(kind.into()));
        let meta = m.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.entry("name").or_insert_with(|| Value::String("a".into()));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, first, second) = common::split(data);
    let raw = selector & 0x80 != 0;
    let (mut live, mut config) = if raw {
        let (Ok(l), Ok(c)) = (serde_json::from_slice::<Value>(first), serde_json::from_slice::<Value>(second)) else {
            return;
        };
        (l, c)
    } else {
        (Gen::new(first).object(0), Gen::new(second).object(0))
    };
    let mut g = Gen::new(second.get(second.len().saturating_sub(4)..).unwrap_or_default());
    let (api_version, kind) = KINDS[usize::from(selector & 0x7)];
    let manager = MANAGERS[g.below(MANAGERS.len())];
    let subresource = SUBRESOURCES[g.below(SUBRESOURCES.len())];
    let force = selector & 0x8 != 0;
    let create = selector & 0x10 != 0;
    if !raw {
        if selector & 0x20 == 0 {
            as_kind(&mut config, api_version, kind);
        }
        if selector & 0x40 == 0 {
            as_kind(&mut live, api_version, kind);
            if let Some(Value::Object(meta)) = live.get_mut("metadata") {
                meta.insert("uid".into(), Value::String("u".into()));
            }
        }
    }

    let status = FieldSet::from_paths(&[Path::fields(&["status"])]);
    let spec = FieldSet::from_paths(&[Path::fields(&["spec"]), Path::fields(&["metadata", "labels"])]);
    let reset_fields = match subresource {
        "status" => Some(&spec),
        "" if g.bool() => Some(&status),
        _ => None,
    };
    let req = Request { manager, subresource, api_version, kind, now: "2024-01-01T00:00:00Z", reset_fields };
    let live_ref = if create { None } else { Some(&live) };

    if let Ok(applied) = fieldmanager::apply(live_ref, &config, force, &req) {
        // Applying the same configuration to the result, and an update on top of it.
        let _ = fieldmanager::apply(Some(&applied), &config, force, &req);
        let mut updated = applied.clone();
        if let Value::Object(m) = &mut updated {
            m.insert("spec".into(), Value::Null);
        }
        let _ = fieldmanager::update(Some(&applied), &mut updated, &req);
    }
    let mut new = config.clone();
    let _ = fieldmanager::update(live_ref, &mut new, &req);
});
