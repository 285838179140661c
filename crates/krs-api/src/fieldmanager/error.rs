//! Errors of the field manager, with upstream's messages where clients see them.

use std::fmt;

use super::conflict::Conflicts;

/// A FieldsV1 value that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldsV1Error {
    /// The value (or a value under a key) is not a JSON object.
    NotAnObject,
    /// A key that is not a valid path element.
    BadPathElement { key: String, reason: String },
}

impl fmt::Display for FieldsV1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldsV1Error::NotAnObject => f.write_str("FieldsV1 must be a JSON object"),
            FieldsV1Error::BadPathElement { key, reason } => {
                write!(f, "parsing key as path element: {key}: {reason}")
            }
        }
    }
}

impl std::error::Error for FieldsV1Error {}

/// Why managedFields could not be computed ([`super::update`], [`super::scale`]). Upstream
/// only logs such failures ("[SHOULD NOT HAPPEN] failed to update managedFields") and keeps
/// the previous managedFields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldManagerError {
    /// `metadata.managedFields` of the live object is malformed.
    DecodeManagedFields(String),
    /// An object is not a JSON object.
    InvalidObject(String),
}

impl fmt::Display for FieldManagerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldManagerError::DecodeManagedFields(m) => {
                write!(f, "failed to decode managed fields: {m}")
            }
            FieldManagerError::InvalidObject(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for FieldManagerError {}

/// Why a server-side apply failed. [`ApplyError::http_status`] gives upstream's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyError {
    /// Fields the configuration changes are owned by other managers: 409 Conflict, reason
    /// `Conflict`, with [`Conflicts::message`] and one `FieldManagerConflict` cause per field
    /// ([`Conflicts::causes`]).
    Conflicts(Conflicts),
    /// A malformed request (wrong apiVersion or kind, managedFields in the configuration,
    /// a configuration that is not an object): 400 BadRequest with this message.
    BadRequest(String),
    /// The configuration does not fit the schema (unknown fields, duplicate keys, wrong
    /// types): upstream answers 500 with this message ("failed to create typed patch object
    /// (ns/name; apps/v1, Kind=Deployment): ...").
    Invalid(String),
    /// The live object's managedFields cannot be decoded: 500.
    Internal(String),
}

impl ApplyError {
    /// The HTTP status upstream answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ApplyError::Conflicts(_) => 409,
            ApplyError::BadRequest(_) => 400,
            ApplyError::Invalid(_) | ApplyError::Internal(_) => 500,
        }
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Conflicts(c) => f.write_str(&c.message()),
            ApplyError::BadRequest(m) | ApplyError::Invalid(m) | ApplyError::Internal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ApplyError {}
