//! A fuzzing entry point: arbitrary bytes become (kind, original, patch), and applying the
//! patch must never panic, whatever it returns.
//!
//! Input that is a JSON object `{"apiVersion", "kind", "original", "patch"}` is taken as it
//! is (handy for replaying a case). Anything else drives a generator that builds both
//! documents along the kind's schema, so that random bytes reach real fields, merge keys and
//! every directive rather than stopping at unknown keys.

use serde_json::{Map, Value};

use super::metadata::{self, Field, TypeKind, TypeRef};
use super::strategic::strategic_merge_patch;

/// Applies a patch built from `data`; never panics.
pub fn fuzz_strategic_merge_patch(data: &[u8]) {
    if let Some((schema, original, patch)) = replay(data) {
        let _ = strategic_merge_patch(&original, &patch, schema);
        return;
    }
    let mut g = Gen { data, at: 0 };
    let kinds: Vec<_> = metadata::kinds().collect();
    if kinds.is_empty() {
        return;
    }
    let pick = usize::from(g.byte()) << 8 | usize::from(g.byte());
    let (_, _, kind) = kinds[pick % kinds.len()];
    let schema = kind.as_type();
    let original = g.value(Some(schema), 0);
    let patch = g.value(Some(schema), 0);
    let _ = strategic_merge_patch(&original, &patch, schema);
}

fn replay(data: &[u8]) -> Option<(TypeRef, Value, Value)> {
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(data) else {
        return None;
    };
    let api_version = doc.get("apiVersion")?.as_str()?.to_string();
    let kind = doc.get("kind")?.as_str()?.to_string();
    let schema = metadata::lookup(&api_version, &kind)?;
    Some((schema, doc.remove("original")?, doc.remove("patch")?))
}

/// Reads bytes as choices; past the end every choice is 0, which always leads to a leaf, so
/// generation terminates.
struct Gen<'a> {
    data: &'a [u8],
    at: usize,
}

const MAX_DEPTH: usize = 6;

const WORDS: [&str; 8] = ["a", "b", "c", "delete", "replace", "merge", "", "name"];

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn word(&mut self) -> String {
        WORDS[usize::from(self.byte()) % WORDS.len()].to_string()
    }

    fn scalar(&mut self) -> Value {
        match self.byte() % 6 {
            0 => Value::Null,
            1 => Value::Bool(self.byte() & 1 == 1),
            2 => Value::from(i64::from(self.byte() % 4)),
            3 => Value::from(f64::from(self.byte()) / 2.0),
            _ => Value::String(self.word()),
        }
    }

    /// A value that usually fits `ty`, sometimes does not.
    fn value(&mut self, ty: Option<TypeRef>, depth: usize) -> Value {
        if depth >= MAX_DEPTH {
            return self.scalar();
        }
        let wild = self.byte().is_multiple_of(8);
        match ty.map(TypeRef::kind) {
            Some(TypeKind::Struct(s)) if !wild => {
                let fields: Vec<Field> = s.fields().collect();
                self.object(&fields, depth)
            }
            Some(TypeKind::Map(v)) if !wild => {
                let mut m = Map::new();
                for _ in 0..self.byte() % 3 {
                    let k = self.word();
                    let v = self.value(Some(v), depth + 1);
                    m.insert(k, v);
                }
                Value::Object(m)
            }
            Some(TypeKind::List(e)) if !wild => self.list(Some(e), depth),
            Some(TypeKind::Scalar(_)) if !wild => self.scalar(),
            _ => match self.byte() % 3 {
                0 => self.object(&[], depth),
                1 => self.list(None, depth),
                _ => self.scalar(),
            },
        }
    }

    fn list(&mut self, element: Option<TypeRef>, depth: usize) -> Value {
        let n = self.byte() % 4;
        Value::Array((0..n).map(|_| self.value(element, depth + 1)).collect())
    }

    fn object(&mut self, fields: &[Field], depth: usize) -> Value {
        let mut m = Map::new();
        for _ in 0..self.byte() % 5 {
            let choice = self.byte();
            let field = (!fields.is_empty()).then(|| fields[usize::from(self.byte()) % fields.len()]);
            match (choice % 10, field) {
                (0, _) => {
                    let d = self.word();
                    m.insert("$patch".to_string(), Value::String(d));
                }
                (1, _) => {
                    let keys: Vec<Value> = (0..self.byte() % 3)
                        .map(|_| match field {
                            Some(f) if self.byte() & 1 == 0 => f.json_name().into(),
                            _ => self.scalar(),
                        })
                        .collect();
                    m.insert("$retainKeys".to_string(), Value::Array(keys));
                }
                (2, Some(f)) => {
                    let order = self.order_list(f, depth);
                    m.insert(format!("$setElementOrder/{}", f.json_name()), order);
                }
                (3, Some(f)) => {
                    let v = self.value(Some(f.ty()), depth + 1);
                    m.insert(format!("$deleteFromPrimitiveList/{}", f.json_name()), v);
                }
                (4, Some(f)) => {
                    // An item that names the list's merge key, with or without a directive.
                    let item = self.keyed_item(f, depth);
                    m.insert(f.json_name().to_string(), Value::Array(vec![item]));
                }
                (_, Some(f)) => {
                    let v = self.value(Some(f.ty()), depth + 1);
                    m.insert(f.json_name().to_string(), v);
                }
                (_, None) => {
                    let k = self.word();
                    let v = self.value(None, depth + 1);
                    m.insert(k, v);
                }
            }
        }
        Value::Object(m)
    }

    fn keyed_item(&mut self, f: Field, depth: usize) -> Value {
        let mut item = match self.value(f.ty().element(), depth + 1) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if let Some(k) = f.patch_merge_key() {
            item.insert(k.to_string(), Value::String(self.word()));
        }
        if self.byte().is_multiple_of(3) {
            item.insert("$patch".to_string(), Value::String(self.word()));
        }
        Value::Object(item)
    }

    fn order_list(&mut self, f: Field, depth: usize) -> Value {
        let n = self.byte() % 4;
        let items = (0..n)
            .map(|_| match f.patch_merge_key() {
                Some(k) => {
                    let mut m = Map::new();
                    m.insert(k.to_string(), Value::String(self.word()));
                    Value::Object(m)
                }
                None => self.value(f.ty().element(), depth + 1),
            })
            .collect();
        Value::Array(items)
    }
}
