//! The shape of an object, written straight from its serde serialization (a typed object needs
//! no JSON tree built; a `serde_json::Value` has one too): every field and map key in
//! serialization order, each scalar's JSON type and whether it is that type's zero value, lists
//! (and the top-level `apiVersion` and `kind`) as their JSON text. Two values of one type with
//! equal shapes have equal JSON trees but for the scalars outside lists, which differ at most in
//! value, never in type or zero-ness. The field manager remembers what a create records by this
//! shape (`krs_api::fieldmanager`).
//!
//! The encoding is prefix-free: names and list texts are length-prefixed, maps are bracketed.

use serde::ser::{self, Serialize};

/// Serialization to a shape can only fail when a value refuses to serialize.
#[derive(Debug)]
pub struct ShapeError(String);

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

impl ser::Error for ShapeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ShapeError(msg.to_string())
    }
}

/// Appends the shape of `value` to `out`.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), ShapeError> {
    value.serialize(Shape { out, top: true })
}

fn text(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

/// `value`'s JSON text, length-prefixed.
fn json_text<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), ShapeError> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut *out, value).map_err(|e| ShapeError(e.to_string()))?;
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// A value whose content matters, not only its shape: its JSON text.
fn verbatim<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), ShapeError> {
    out.push(b'=');
    json_text(out, value)
}

struct Shape<'a> {
    out: &'a mut Vec<u8>,
    /// The object itself (not one of its fields): its apiVersion and kind count verbatim.
    top: bool,
}

impl Shape<'_> {
    fn int(self, negative: bool, zero: bool) -> Result<(), ShapeError> {
        self.out.push(if negative { b'i' } else { b'u' });
        self.out.push(u8::from(zero));
        Ok(())
    }
}

/// A list: its JSON text (in braces with the variant's name for a tuple variant).
struct List<'a> {
    out: &'a mut Vec<u8>,
    at: usize,
    first: bool,
    variant: bool,
}

impl<'a> List<'a> {
    fn start(out: &'a mut Vec<u8>, variant: bool) -> List<'a> {
        out.push(b'=');
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        out.push(b'[');
        List { out, at, first: true, variant }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ShapeError> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        serde_json::to_writer(&mut *self.out, value).map_err(|e| ShapeError(e.to_string()))
    }

    fn finish(self) -> Result<(), ShapeError> {
        self.out.push(b']');
        let len = (self.out.len() - self.at - 4) as u32;
        self.out[self.at..self.at + 4].copy_from_slice(&len.to_le_bytes());
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

/// A map or struct: its entries' names and shapes (in braces with the variant's name for a
/// struct variant).
struct Map<'a> {
    out: &'a mut Vec<u8>,
    top: bool,
    variant: bool,
    /// The key just written is the object's apiVersion or kind (maps name keys apart from values).
    kind_key: bool,
}

impl Map<'_> {
    fn finish(self) -> Result<(), ShapeError> {
        self.out.extend_from_slice(if self.variant { b"}}" } else { b"}" });
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), ShapeError> {
        text(self.out, name.as_bytes());
        self.kind_key = self.top && (name == "apiVersion" || name == "kind");
        self.value(value)
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ShapeError> {
        if self.kind_key { verbatim(self.out, value) } else { value.serialize(Shape { out: self.out, top: false }) }
    }
}

impl<'a> ser::Serializer for Shape<'a> {
    type Ok = ();
    type Error = ShapeError;
    type SerializeSeq = List<'a>;
    type SerializeTuple = List<'a>;
    type SerializeTupleStruct = List<'a>;
    type SerializeTupleVariant = List<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Map<'a>;
    type SerializeStructVariant = Map<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), ShapeError> {
        self.out.push(if v { b'T' } else { b'F' });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), ShapeError> {
        self.int(v < 0, v == 0)
    }
    fn serialize_i16(self, v: i16) -> Result<(), ShapeError> {
        self.int(v < 0, v == 0)
    }
    fn serialize_i32(self, v: i32) -> Result<(), ShapeError> {
        self.int(v < 0, v == 0)
    }
    fn serialize_i64(self, v: i64) -> Result<(), ShapeError> {
        self.int(v < 0, v == 0)
    }
    fn serialize_i128(self, v: i128) -> Result<(), ShapeError> {
        self.int(v < 0, v == 0)
    }
    fn serialize_u8(self, v: u8) -> Result<(), ShapeError> {
        self.int(false, v == 0)
    }
    fn serialize_u16(self, v: u16) -> Result<(), ShapeError> {
        self.int(false, v == 0)
    }
    fn serialize_u32(self, v: u32) -> Result<(), ShapeError> {
        self.int(false, v == 0)
    }
    fn serialize_u64(self, v: u64) -> Result<(), ShapeError> {
        self.int(false, v == 0)
    }
    fn serialize_u128(self, v: u128) -> Result<(), ShapeError> {
        self.int(false, v == 0)
    }
    fn serialize_f32(self, v: f32) -> Result<(), ShapeError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), ShapeError> {
        // JSON has no NaN or infinity: serde_json writes them as null.
        if v.is_finite() {
            self.out.push(b'f');
            self.out.push(u8::from(v == 0.0));
        } else {
            self.out.push(b'n');
        }
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), ShapeError> {
        self.out.push(b's');
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), ShapeError> {
        self.out.push(if v.is_empty() { b'e' } else { b's' });
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), ShapeError> {
        verbatim(self.out, v)
    }
    fn serialize_none(self) -> Result<(), ShapeError> {
        self.out.push(b'n');
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ShapeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ShapeError> {
        self.out.push(b'n');
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ShapeError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), ShapeError> {
        // A string in JSON, and its value matters as much as any enum's.
        verbatim(self.out, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), ShapeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), ShapeError> {
        self.out.push(b'{');
        text(self.out, variant.as_bytes());
        value.serialize(Shape { out: &mut *self.out, top: false })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<List<'a>, ShapeError> {
        Ok(List::start(self.out, false))
    }
    fn serialize_tuple(self, _: usize) -> Result<List<'a>, ShapeError> {
        Ok(List::start(self.out, false))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<List<'a>, ShapeError> {
        Ok(List::start(self.out, false))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<List<'a>, ShapeError> {
        self.out.push(b'{');
        text(self.out, variant.as_bytes());
        Ok(List::start(self.out, true))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>, ShapeError> {
        self.out.push(b'{');
        Ok(Map { out: self.out, top: self.top, variant: false, kind_key: false })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Map<'a>, ShapeError> {
        self.out.push(b'{');
        Ok(Map { out: self.out, top: self.top, variant: false, kind_key: false })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Map<'a>, ShapeError> {
        self.out.push(b'{');
        text(self.out, variant.as_bytes());
        self.out.push(b'{');
        Ok(Map { out: self.out, top: false, variant: true, kind_key: false })
    }
}

/// The serde traits of lists and maps: lists take elements, maps named fields or keys and values.
macro_rules! compound {
    ($ty:ident: $($trait:ident::$method:ident),+) => {$(
        impl ser::$trait for $ty<'_> {
            type Ok = ();
            type Error = ShapeError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ShapeError> {
                self.element(value)
            }
            fn end(self) -> Result<(), ShapeError> {
                self.finish()
            }
        }
    )+};
    ($ty:ident: $($trait:ident),+ with names) => {$(
        impl ser::$trait for $ty<'_> {
            type Ok = ();
            type Error = ShapeError;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<(), ShapeError> {
                self.field(name, value)
            }
            fn end(self) -> Result<(), ShapeError> {
                self.finish()
            }
        }
    )+};
}

compound!(List: SerializeSeq::serialize_element, SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field, SerializeTupleVariant::serialize_field);
compound!(Map: SerializeStruct, SerializeStructVariant with names);

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = ShapeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ShapeError> {
        // Map keys are strings in JSON: their JSON text names them.
        let at = self.out.len();
        json_text(self.out, key)?;
        let name = &self.out[at + 4..];
        self.kind_key = self.top && (name == b"\"apiVersion\"" || name == b"\"kind\"");
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ShapeError> {
        self.value(value)
    }
    fn end(self) -> Result<(), ShapeError> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn shape<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        write(v, &mut out).expect("shape");
        out
    }

    fn pod(name: &str, image: &str, priority: Option<i32>) -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), image: Some(image.into()), ..Default::default() }],
                priority,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn scalars_count_by_type_and_zero_ness_lists_and_the_kind_verbatim() {
        // Another name (a non-empty string) and another non-zero priority: the same shape.
        assert_eq!(shape(&pod("a", "x", Some(5))), shape(&pod("bb", "x", Some(9))));
        // Zero, negative and absent priorities are other shapes.
        let base = shape(&pod("a", "x", Some(5)));
        for other in [pod("a", "x", Some(0)), pod("a", "x", Some(-1)), pod("a", "x", None), pod("", "x", Some(5))] {
            assert_ne!(shape(&other), base, "{other:?}");
        }
        // A list's content is part of the shape.
        assert_ne!(shape(&pod("a", "y", Some(5))), base);
        // So are apiVersion and kind, verbatim.
        let text = String::from_utf8_lossy(&base).into_owned();
        assert!(text.contains("\"v1\"") && text.contains("\"Pod\""), "{text}");
        assert!(text.contains("\"image\":\"x\""), "{text}");
    }

    #[test]
    fn map_keys_are_part_of_the_shape() {
        use std::collections::BTreeMap;
        let a = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let b = BTreeMap::from([("app".to_string(), "db".to_string())]);
        let c = BTreeMap::from([("tier".to_string(), "web".to_string())]);
        assert_eq!(shape(&a), shape(&b));
        assert_ne!(shape(&a), shape(&c));
        let two = BTreeMap::from([("app".to_string(), "web".to_string()), ("b".to_string(), String::new())]);
        assert_ne!(shape(&two), shape(&a));
    }

    #[test]
    fn a_json_tree_has_a_shape_too() {
        use serde_json::json;
        let pod =
            |api: &str, kind: &str, inner: &str| json!({"apiVersion": api, "kind": kind, "spec": {"kind": inner}});
        assert_eq!(shape(&pod("v1", "Pod", "a")), shape(&pod("v1", "Pod", "b")), "only the object's own kind counts");
        assert_ne!(shape(&pod("v1", "Pod", "a")), shape(&pod("v2", "Pod", "a")));
        assert_ne!(shape(&pod("v1", "Pod", "a")), shape(&pod("v1", "Node", "a")));
        assert_ne!(shape(&json!({"a": 1})), shape(&json!({"a": 0})));
        assert_ne!(shape(&json!({"a": 1})), shape(&json!({"a": -1})));
        assert_ne!(shape(&json!({"a": 1})), shape(&json!({"a": 1.5})));
        assert_eq!(shape(&json!({"a": [1, {"b": 2}]})), shape(&json!({"a": [1, {"b": 2}]})));
        assert_ne!(shape(&json!({"a": [1, {"b": 2}]})), shape(&json!({"a": [1, {"b": 3}]})));
    }
}
