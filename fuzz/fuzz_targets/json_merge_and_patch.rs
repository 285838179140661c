//! JSON patch (RFC 6902) and JSON merge patch (RFC 7386) on arbitrary documents, and the API
//! server's PATCH path (krs_apiserver::patch::apply_patch: the stored bytes with their
//! resourceVersion spliced in, the json/merge/strategic patch, then the typed decode of the
//! resource's kind) for every built-in resource. Never panics.
//!
//! Input: `[selector][len: u16 LE][document][patch]`. Selector bit 0x80 takes document and
//! patch as raw JSON bytes; otherwise both are generated from their bytes (common::Gen).

#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use common::Gen;
use krs_api::{Catalog, ResourceInfo};
use krs_apiserver::patch::{PatchType, apply_patch};
use krs_store::KeyValue;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn resources() -> &'static [Arc<ResourceInfo>] {
    static RESOURCES: OnceLock<Vec<Arc<ResourceInfo>>> = OnceLock::new();
    RESOURCES.get_or_init(|| Catalog::builtin().resources().filter(|r| r.codec.is_some()).cloned().collect())
}

/// A JSON patch of generated operations.
fn json_patch_ops(g: &mut Gen) -> Value {
    let n = g.below(5);
    let ops: Vec<Value> = (0..n)
        .map(|_| {
            let op = ["add", "remove", "replace", "move", "copy", "test", "bogus"][g.below(7)];
            let mut o = json!({"op": op, "path": g.pointer()});
            if g.bool() {
                o["from"] = Value::String(g.pointer());
            }
            if g.byte() % 4 != 0 {
                o["value"] = g.value(2);
            }
            o
        })
        .collect();
    Value::Array(ops)
}

fuzz_target!(|data: &[u8]| {
    let (selector, first, second) = common::split(data);
    let raw = selector & 0x80 != 0;
    let mode = selector & 0x3;

    // The document.
    let doc: Value = if raw {
        match serde_json::from_slice(first) {
            Ok(v) => v,
            Err(_) => return,
        }
    } else {
        Gen::new(first).object(0)
    };
    // The patch, as bytes.
    let patch: Vec<u8> = if raw {
        second.to_vec()
    } else {
        let mut g = Gen::new(second);
        let v = if mode == 0 { json_patch_ops(&mut g) } else { g.object(0) };
        serde_json::to_vec(&v).expect("serializable")
    };

    // The json-patch crate's operations on their own.
    match mode {
        0 => {
            if let Ok(p) = serde_json::from_slice::<json_patch::Patch>(&patch) {
                let mut d = doc.clone();
                let _ = json_patch::patch(&mut d, &p);
            }
        }
        _ => {
            if let Ok(p) = serde_json::from_slice::<Value>(&patch) {
                let mut d = doc.clone();
                json_patch::merge(&mut d, &p);
            }
        }
    }

    // The server's path, on a stored object of some built-in resource.
    let resources = resources();
    if resources.is_empty() {
        return;
    }
    let res = &resources[usize::from(selector >> 2 & 0x1f) * 7 % resources.len()];
    let mut stored = doc;
    if !raw && let Value::Object(m) = &mut stored {
        // Mostly objects of the resource's own kind, as the store holds them.
        m.insert("apiVersion".into(), Value::String(res.api_version()));
        m.insert("kind".into(), Value::String(res.kind.clone()));
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            meta.remove("resourceVersion");
        }
    }
    let kv = KeyValue {
        key: format!("/registry/{}/ns/name", res.resource),
        value: Bytes::from(serde_json::to_vec(&stored).expect("serializable")),
        create_revision: 1,
        mod_revision: 2,
        version: 1,
        lease: 0,
    };
    let patch_type = [PatchType::Json, PatchType::Merge, PatchType::Strategic, PatchType::Strategic][usize::from(mode)];
    let _ = apply_patch(res, &kv, patch_type, &patch);
});
