//! Errors, with the JSON path of the field at fault.

use std::fmt;

/// What went wrong, without where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    #[error("not a Kubernetes protobuf body: it does not start with the k8s\\0 magic")]
    MissingMagic,
    #[error("unexpected end of data")]
    Truncated,
    #[error("varint longer than 10 bytes")]
    VarintOverflow,
    #[error("invalid field number 0")]
    InvalidFieldNumber,
    #[error("wrong wire type {found} (expected {expected})")]
    WrongWireType { found: u8, expected: &'static str },
    #[error("unsupported wire type {0}")]
    UnsupportedWireType(u8),
    #[error("no protobuf message is known for apiVersion {api_version:?}, kind {kind:?}")]
    UnknownKind { api_version: String, kind: String },
    #[error("object has no apiVersion and kind")]
    MissingTypeMeta,
    #[error("unsupported content encoding {0:?}")]
    UnsupportedContentEncoding(String),
    #[error("unsupported content type {0:?} inside the protobuf envelope")]
    UnsupportedContentType(String),
    #[error("expected {expected}, found {found}")]
    WrongJsonType { expected: &'static str, found: &'static str },
    #[error("{value} is out of range for {ty}")]
    OutOfRange { value: String, ty: &'static str },
    #[error("invalid base64 data")]
    InvalidBase64,
    #[error("invalid time {0:?}: expected RFC 3339 (2006-01-02T15:04:05Z)")]
    InvalidTime(String),
    #[error("time out of range (seconds {0} since the epoch)")]
    TimeOutOfRange(i64),
    #[error("invalid duration {0:?}")]
    InvalidDuration(String),
    #[error("invalid IntOrString type {0}")]
    InvalidIntOrStringType(i64),
    #[error("floating-point value is not finite")]
    NonFiniteFloat,
    #[error("invalid embedded JSON: {0}")]
    InvalidJson(String),
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    #[error("decoded object would be too large")]
    TooLarge,
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathSegment {
    Field(&'static str),
    Index(usize),
    Key(String),
}

/// A transcoding error: what went wrong, and at which field
/// (e.g. `spec.template.spec.containers[0].ports[1].containerPort: expected integer, found string`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{kind}", PathPrefix(&self.path))]
pub struct ProtoError {
    /// Innermost segment first: segments are appended while the error travels outwards.
    path: Vec<PathSegment>,
    kind: ErrorKind,
}

impl ProtoError {
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The JSON path of the field at fault, e.g. `spec.containers[0].image` ("" for the object).
    pub fn path(&self) -> String {
        format_path(&self.path)
    }

    pub(crate) fn at_field(mut self, name: &'static str) -> Self {
        // Inlined fields have no JSON name and no segment of their own.
        if !name.is_empty() {
            self.path.push(PathSegment::Field(name));
        }
        self
    }

    pub(crate) fn at_index(mut self, index: usize) -> Self {
        self.path.push(PathSegment::Index(index));
        self
    }

    pub(crate) fn at_key(mut self, key: &str) -> Self {
        self.path.push(PathSegment::Key(key.to_owned()));
        self
    }
}

impl From<ErrorKind> for ProtoError {
    fn from(kind: ErrorKind) -> Self {
        ProtoError { path: Vec::new(), kind }
    }
}

struct PathPrefix<'a>(&'a [PathSegment]);

impl fmt::Display for PathPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, "{}: ", format_path(self.0))
    }
}

/// Renders innermost-first segments as `a.b[0].c[key]`.
fn format_path(path: &[PathSegment]) -> String {
    let mut s = String::new();
    for (i, seg) in path.iter().rev().enumerate() {
        match seg {
            PathSegment::Field(name) => {
                if i > 0 {
                    s.push('.');
                }
                s.push_str(name);
            }
            PathSegment::Index(n) => {
                s.push('[');
                s.push_str(&n.to_string());
                s.push(']');
            }
            PathSegment::Key(k) => {
                s.push('[');
                s.push_str(k);
                s.push(']');
            }
        }
    }
    s
}

/// The JSON type name of a value, for error messages.
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

pub(crate) fn wrong_type(expected: &'static str, found: &serde_json::Value) -> ProtoError {
    ErrorKind::WrongJsonType { expected, found: json_type(found) }.into()
}
