//! Field-level validation errors (`field.Error`, `field.ErrorList`).
//!
//! An API server reports validation failures as a list of these; each renders as
//! `<field>: <type>[: <value>][: <detail>]` exactly as upstream does, and becomes one cause of an
//! `Invalid` Status (see [`crate::status::new_invalid`]).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::Path;
use crate::gofmt;

/// Why a field is invalid (`field.ErrorType`); its [`as_str`](ErrorType::as_str) is also the
/// Status cause type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// A looked-up value was not found (`FieldValueNotFound`).
    NotFound,
    /// A required value is missing (`FieldValueRequired`).
    Required,
    /// A value that must be unique is repeated (`FieldValueDuplicate`).
    Duplicate,
    /// A malformed value (`FieldValueInvalid`).
    Invalid,
    /// An enumerated field has an unknown value (`FieldValueNotSupported`).
    NotSupported,
    /// A well-formed value not permitted here (`FieldValueForbidden`).
    Forbidden,
    /// A value is too long (`FieldValueTooLong`).
    TooLong,
    /// A list has too many items (`FieldValueTooMany`).
    TooMany,
    /// An error unrelated to user input (`InternalError`).
    Internal,
    /// A value does not have the schema's type (`FieldValueTypeInvalid`).
    TypeInvalid,
}

impl ErrorType {
    /// The machine-readable name, e.g. `FieldValueInvalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
            ErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The human-readable phrase that opens the error body, e.g. `Invalid value`.
    pub fn message(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid | ErrorType::TypeInvalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// The offending value of a [`FieldError`], kept in the form upstream prints it.
///
/// Upstream prints strings with `%q`, integers, floats and booleans with `%v`, and everything
/// else as its JSON encoding (`null` for nil); [`BadValue::Omitted`] prints nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum BadValue {
    /// No value is shown (upstream's `omitValue`).
    Omitted,
    /// A string, printed quoted: `"foo"`.
    String(String),
    /// An integer, printed as is.
    Int(i64),
    /// A float, printed as Go's `%v` prints it.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Any other value, already rendered as Go's `json.Marshal` renders it (`null`,
    /// `["a","b"]`, `{"k":1}`, or a JSON string for string-like named types such as UIDs).
    Json(String),
}

impl BadValue {
    /// The JSON rendering of any serializable value, as upstream prints structs, lists, maps,
    /// pointers and named string types.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> BadValue {
        let mut out = String::new();
        match serde_json::to_value(value) {
            Ok(v) => gofmt::json_value(&mut out, &v),
            Err(_) => out.push_str("null"),
        }
        BadValue::Json(out)
    }

    /// A JSON list of strings, as upstream prints a `[]string` value.
    pub fn string_list<S: AsRef<str>>(items: &[S]) -> BadValue {
        BadValue::Json(gofmt::json_string_list(items))
    }

    /// JSON `null`, as upstream prints a nil pointer or untyped nil.
    pub fn null() -> BadValue {
        BadValue::Json("null".into())
    }
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::Omitted => Ok(()),
            BadValue::String(s) => f.write_str(&gofmt::quote(s)),
            BadValue::Int(i) => write!(f, "{i}"),
            BadValue::Float(x) => f.write_str(&gofmt::format_float(*x)),
            BadValue::Bool(b) => write!(f, "{b}"),
            BadValue::Json(s) => f.write_str(s),
        }
    }
}

impl From<&str> for BadValue {
    fn from(s: &str) -> Self {
        BadValue::String(s.to_owned())
    }
}
impl From<String> for BadValue {
    fn from(s: String) -> Self {
        BadValue::String(s)
    }
}
impl From<&String> for BadValue {
    fn from(s: &String) -> Self {
        BadValue::String(s.clone())
    }
}
impl From<i64> for BadValue {
    fn from(i: i64) -> Self {
        BadValue::Int(i)
    }
}
impl From<i32> for BadValue {
    fn from(i: i32) -> Self {
        BadValue::Int(i64::from(i))
    }
}
impl From<u16> for BadValue {
    fn from(i: u16) -> Self {
        BadValue::Int(i64::from(i))
    }
}
impl From<f64> for BadValue {
    fn from(x: f64) -> Self {
        BadValue::Float(x)
    }
}
impl From<bool> for BadValue {
    fn from(b: bool) -> Self {
        BadValue::Bool(b)
    }
}

/// One field-level validation error (`field.Error`).
///
/// `Display` renders `<field>: <body>`, e.g.
/// `metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// What kind of problem this is.
    pub error_type: ErrorType,
    /// The rendered field path.
    pub field: String,
    /// The offending value.
    pub bad_value: BadValue,
    /// Further explanation; may be empty.
    pub detail: String,
    /// Which validation produced the error (for tests that compare errors without messages);
    /// e.g. `format=ip-strict`. Never rendered.
    pub origin: String,
    /// Whether declarative validation also covers this error. Never rendered.
    pub covered_by_declarative: bool,
}

impl FieldError {
    fn build(error_type: ErrorType, path: &Path, bad_value: BadValue, detail: String) -> FieldError {
        FieldError {
            error_type,
            field: path.to_string(),
            bad_value,
            detail,
            origin: String::new(),
            covered_by_declarative: false,
        }
    }

    /// Sets the origin (`Error.WithOrigin`).
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<String>) -> FieldError {
        self.origin = origin.into();
        self
    }

    /// The message without the field name (`Error.ErrorBody`): the part a Status cause carries.
    pub fn body(&self) -> String {
        let mut s = match self.error_type {
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal => {
                self.error_type.message().to_owned()
            }
            _ if self.bad_value == BadValue::Omitted => self.error_type.message().to_owned(),
            _ => format!("{}: {}", self.error_type.message(), self.bad_value),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// A required value is missing (`field.Required`).
pub fn required(path: &Path, detail: impl Into<String>) -> FieldError {
    FieldError::build(ErrorType::Required, path, BadValue::String(String::new()), detail.into())
}

/// A malformed value (`field.Invalid`).
pub fn invalid(path: &Path, value: impl Into<BadValue>, detail: impl Into<String>) -> FieldError {
    FieldError::build(ErrorType::Invalid, path, value.into(), detail.into())
}

/// A value does not have the expected type (`field.TypeInvalid`).
pub fn type_invalid(path: &Path, value: impl Into<BadValue>, detail: impl Into<String>) -> FieldError {
    FieldError::build(ErrorType::TypeInvalid, path, value.into(), detail.into())
}

/// A looked-up value does not exist (`field.NotFound`).
pub fn not_found(path: &Path, value: impl Into<BadValue>) -> FieldError {
    FieldError::build(ErrorType::NotFound, path, value.into(), String::new())
}

/// A value that must be unique is repeated (`field.Duplicate`).
pub fn duplicate(path: &Path, value: impl Into<BadValue>) -> FieldError {
    FieldError::build(ErrorType::Duplicate, path, value.into(), String::new())
}

/// An enumerated field has an unknown value (`field.NotSupported`); the detail lists the
/// supported values, quoted, in the order given.
///
/// ```
/// use krs_apimachinery::validation::{field, Path};
/// let e = field::not_supported(&Path::new("spec").child("restartPolicy"), "x", &["Always", "Never", "OnFailure"]);
/// assert_eq!(e.to_string(), r#"spec.restartPolicy: Unsupported value: "x": supported values: "Always", "Never", "OnFailure""#);
/// ```
pub fn not_supported<S: AsRef<str>>(path: &Path, value: impl Into<BadValue>, valid_values: &[S]) -> FieldError {
    let detail = if valid_values.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = valid_values.iter().map(|v| gofmt::quote(v.as_ref())).collect();
        format!("supported values: {}", quoted.join(", "))
    };
    FieldError::build(ErrorType::NotSupported, path, value.into(), detail)
}

/// A well-formed value that is not permitted here (`field.Forbidden`).
pub fn forbidden(path: &Path, detail: impl Into<String>) -> FieldError {
    FieldError::build(ErrorType::Forbidden, path, BadValue::String(String::new()), detail.into())
}

/// A value is longer than `max_length` bytes (`field.TooLong`); a negative maximum is not shown.
pub fn too_long(path: &Path, max_length: i64) -> FieldError {
    let detail = if max_length >= 0 {
        let unit = if max_length == 1 { "byte" } else { "bytes" };
        format!("may not be more than {max_length} {unit}")
    } else {
        "value is too long".to_owned()
    };
    FieldError::build(ErrorType::TooLong, path, BadValue::String("<value omitted>".into()), detail)
}

/// A list has more than `max_quantity` items (`field.TooMany`); negative numbers are not shown.
pub fn too_many(path: &Path, actual_quantity: i64, max_quantity: i64) -> FieldError {
    let detail = if max_quantity >= 0 {
        let unit = if max_quantity == 1 { "item" } else { "items" };
        format!("must have at most {max_quantity} {unit}")
    } else {
        "has too many items".to_owned()
    };
    let actual = if actual_quantity >= 0 { BadValue::Int(actual_quantity) } else { BadValue::Omitted };
    FieldError::build(ErrorType::TooMany, path, actual, detail)
}

/// An error not caused by user input (`field.InternalError`).
pub fn internal_error(path: &Path, err: &dyn fmt::Display) -> FieldError {
    FieldError::build(ErrorType::Internal, path, BadValue::null(), err.to_string())
}

/// A list of field errors (`field.ErrorList`).
///
/// `Display` renders the aggregate message upstream puts into an Invalid Status: the single
/// message, or `[a, b]` for several distinct ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorList(pub Vec<FieldError>);

impl ErrorList {
    /// An empty list.
    pub fn new() -> ErrorList {
        ErrorList(Vec::new())
    }

    /// Appends one error.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// Appends all errors of another list.
    pub fn append(&mut self, other: ErrorList) {
        self.0.extend(other.0);
    }

    /// Sets the origin of every error (`ErrorList.WithOrigin`).
    #[must_use]
    pub fn with_origin(mut self, origin: &str) -> ErrorList {
        for e in &mut self.0 {
            e.origin = origin.to_owned();
        }
        self
    }

    /// The errors with duplicate messages removed, first occurrence kept (`ToAggregate`); `None`
    /// when the list is empty.
    pub fn to_aggregate(&self) -> Option<Aggregate> {
        if self.0.is_empty() {
            return None;
        }
        let mut seen = BTreeSet::new();
        let errors = self.0.iter().filter(|e| seen.insert(e.to_string())).cloned().collect();
        Some(Aggregate(errors))
    }

    /// Keeps the errors for which `keep` returns true (the inverse of upstream's `Filter`).
    #[must_use]
    pub fn retain(mut self, keep: impl Fn(&FieldError) -> bool) -> ErrorList {
        self.0.retain(|e| keep(e));
        self
    }
}

impl std::ops::Deref for ErrorList {
    type Target = Vec<FieldError>;
    fn deref(&self) -> &Vec<FieldError> {
        &self.0
    }
}

impl std::ops::DerefMut for ErrorList {
    fn deref_mut(&mut self) -> &mut Vec<FieldError> {
        &mut self.0
    }
}

impl From<Vec<FieldError>> for ErrorList {
    fn from(v: Vec<FieldError>) -> Self {
        ErrorList(v)
    }
}

impl From<FieldError> for ErrorList {
    fn from(e: FieldError) -> Self {
        ErrorList(vec![e])
    }
}

impl FromIterator<FieldError> for ErrorList {
    fn from_iter<I: IntoIterator<Item = FieldError>>(iter: I) -> Self {
        ErrorList(iter.into_iter().collect())
    }
}

impl Extend<FieldError> for ErrorList {
    fn extend<I: IntoIterator<Item = FieldError>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for ErrorList {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ErrorList {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ErrorList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_aggregate() {
            Some(agg) => agg.fmt(f),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ErrorList {}

/// A non-empty list of errors with distinct messages (`utilerrors.Aggregate`).
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate(Vec<FieldError>);

impl Aggregate {
    /// The errors, in order.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.0.as_slice() {
            return only.fmt(f);
        }
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            e.fmt(f)?;
        }
        f.write_str("]")
    }
}

impl std::error::Error for Aggregate {}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(error_type: ErrorType, bad_value: BadValue) -> FieldError {
        FieldError {
            error_type,
            field: "path.to.field".into(),
            bad_value,
            detail: "the details".into(),
            origin: "theOrigin".into(),
            covered_by_declarative: true,
        }
    }

    fn p() -> Path {
        Path::new("path.to.field")
    }

    // Upstream's TestErrorFormatting, case by case.
    #[test]
    fn error_formatting() {
        let s = |v: &str| BadValue::String(v.into());
        let cases: Vec<(FieldError, &str)> = vec![
            (raw(ErrorType::Required, s("the value")), "path.to.field: Required value: the details"),
            (required(&p(), "the details"), "path.to.field: Required value: the details"),
            (raw(ErrorType::Forbidden, s("the value")), "path.to.field: Forbidden: the details"),
            (forbidden(&p(), "the details"), "path.to.field: Forbidden: the details"),
            (raw(ErrorType::TooLong, s("the value")), "path.to.field: Too long: the details"),
            (too_long(&p(), 1), "path.to.field: Too long: may not be more than 1 byte"),
            (too_long(&p(), 2), "path.to.field: Too long: may not be more than 2 bytes"),
            (too_long(&p(), -1), "path.to.field: Too long: value is too long"),
            (raw(ErrorType::TooMany, s("the value")), r#"path.to.field: Too many: "the value": the details"#),
            (too_many(&p(), 2, 1), "path.to.field: Too many: 2: must have at most 1 item"),
            (too_many(&p(), 3, 2), "path.to.field: Too many: 3: must have at most 2 items"),
            (too_many(&p(), 2, -1), "path.to.field: Too many: 2: has too many items"),
            (too_many(&p(), -1, 1), "path.to.field: Too many: must have at most 1 item"),
            (raw(ErrorType::Internal, s("the value")), "path.to.field: Internal error: the details"),
            (internal_error(&p(), &"the error"), "path.to.field: Internal error: the error"),
            (raw(ErrorType::Invalid, s("the value")), r#"path.to.field: Invalid value: "the value": the details"#),
            (raw(ErrorType::Invalid, BadValue::Int(-42)), "path.to.field: Invalid value: -42: the details"),
            (raw(ErrorType::Invalid, BadValue::Bool(true)), "path.to.field: Invalid value: true: the details"),
            (
                raw(ErrorType::Invalid, BadValue::string_list(&["one", "two", "three"])),
                r#"path.to.field: Invalid value: ["one","two","three"]: the details"#,
            ),
            (raw(ErrorType::Invalid, BadValue::Omitted), "path.to.field: Invalid value: the details"),
            (raw(ErrorType::Invalid, BadValue::null()), "path.to.field: Invalid value: null: the details"),
            (invalid(&p(), "the value", "the details"), r#"path.to.field: Invalid value: "the value": the details"#),
            (raw(ErrorType::NotFound, s("the value")), r#"path.to.field: Not found: "the value": the details"#),
            (
                raw(ErrorType::NotSupported, s("the value")),
                r#"path.to.field: Unsupported value: "the value": the details"#,
            ),
            (
                not_supported(&p(), "the value", &["val1", "val2"]),
                r#"path.to.field: Unsupported value: "the value": supported values: "val1", "val2""#,
            ),
            (raw(ErrorType::Duplicate, s("the value")), r#"path.to.field: Duplicate value: "the value": the details"#),
            (duplicate(&p(), "the value"), r#"path.to.field: Duplicate value: "the value""#),
            (raw(ErrorType::TypeInvalid, s("the value")), r#"path.to.field: Invalid value: "the value": the details"#),
            (
                type_invalid(&p(), "the value", "the details"),
                r#"path.to.field: Invalid value: "the value": the details"#,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn struct_and_map_values_render_as_json() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct TinyStruct {
            string_field: String,
            int_field: i64,
            bool_field: bool,
        }
        let v = BadValue::json(&TinyStruct { string_field: "stringval".into(), int_field: 9376, bool_field: true });
        let rendered = raw(ErrorType::Invalid, v).to_string();
        // Member order follows the serializer; the content is upstream's.
        assert!(rendered.contains(r#""stringField":"stringval""#), "{rendered}");
        assert!(rendered.contains(r#""intField":9376"#), "{rendered}");
        let map: std::collections::BTreeMap<&str, i32> = [("one", 1), ("two", 2), ("three", 3)].into();
        assert_eq!(
            raw(ErrorType::Invalid, BadValue::json(&map)).to_string(),
            r#"path.to.field: Invalid value: {"one":1,"three":3,"two":2}: the details"#
        );
        assert_eq!(BadValue::json(&Option::<String>::None).to_string(), "null");
    }

    // Upstream's TestToAggregate: duplicates collapse, distinct messages are bracketed.
    #[test]
    fn aggregate() {
        assert!(ErrorList::new().to_aggregate().is_none());
        let one = invalid(&Path::new("f"), "v", "d");
        let list = ErrorList(vec![one.clone(), one.clone()]);
        let agg = list.to_aggregate().expect("non-empty");
        assert_eq!(agg.errors().len(), 1);
        assert_eq!(list.to_string(), r#"f: Invalid value: "v": d"#);
        let list = ErrorList(vec![one, internal_error(&Path::new(""), &"e")]);
        assert_eq!(list.to_aggregate().map(|a| a.errors().len()), Some(2));
        assert_eq!(list.to_string(), r#"[f: Invalid value: "v": d, []: Internal error: e]"#);
    }

    #[test]
    fn type_names() {
        assert_eq!(ErrorType::Invalid.as_str(), "FieldValueInvalid");
        assert_eq!(ErrorType::Internal.as_str(), "InternalError");
        assert_eq!(ErrorType::TypeInvalid.as_str(), "FieldValueTypeInvalid");
        let list = ErrorList(vec![invalid(&Path::new("a"), "x", ""), required(&Path::new("b"), "")]).with_origin("o");
        assert!(list.iter().all(|e| e.origin == "o"));
        assert_eq!(list.retain(|e| e.error_type == ErrorType::Required).len(), 1);
    }
}
