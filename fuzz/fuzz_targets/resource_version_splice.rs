//! Splicing metadata.resourceVersion into stored object bytes
//! (krs_apiserver::objbytes::with_resource_version) never panics on arbitrary bytes; on what
//! the store holds (serde_json's serialization of an object whose metadata, if any, is an
//! object without resourceVersion) the result is that object with the version added.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let rv = match data.get(..8) {
        Some(b) => i64::from_le_bytes(b.try_into().unwrap_or_default()),
        None => 1,
    };
    let json = data.get(8..).unwrap_or_default();
    let _ = krs_apiserver::objbytes::with_resource_version(json, rv);

    let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    match obj.get_mut("metadata") {
        None => {}
        Some(Value::Object(meta)) => {
            meta.remove("resourceVersion");
        }
        Some(_) => return,
    }
    let stored = serde_json::to_vec(&Value::Object(obj)).expect("serializable");
    let out = krs_apiserver::objbytes::with_resource_version(&stored, rv);
    let back: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!("splicing made invalid JSON ({e}):\n{}\n->\n{}", String::from_utf8_lossy(&stored), String::from_utf8_lossy(&out))
    });
    // What the store holds, read back: serde_json's float parsing may differ from `obj` in the
    // last bit, and splicing must not change the bytes it keeps.
    let Ok(Value::Object(mut want)) = serde_json::from_slice::<Value>(&stored) else {
        panic!("serde_json cannot read its own output: {}", String::from_utf8_lossy(&stored));
    };
    let meta = want.entry("metadata").or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(meta) = meta {
        meta.insert("resourceVersion".to_string(), Value::String(rv.to_string()));
    }
    assert_eq!(back, Value::Object(want), "stored: {}", String::from_utf8_lossy(&stored));
});
