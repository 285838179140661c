//! API errors as `metav1.Status` objects (`k8s.io/apimachinery/pkg/api/errors`).
//!
//! Every failed API request answers with a Status whose `reason`, `code`, `message` and
//! `details` clients inspect: kubectl prints the message, client-go's `IsNotFound` reads the
//! reason, controllers retry on `retryAfterSeconds`. The `new_*` builders produce exactly the
//! Status upstream's builders produce; [`StatusError::to_json`] encodes it as the API server
//! sends it.

mod builders;
mod json;

pub use builders::{
    forbidden_message, forbidden_path_message, new_already_exists, new_apply_conflict, new_bad_request, new_conflict,
    new_forbidden, new_generate_name_conflict, new_generic_server_response, new_gone, new_internal_error, new_invalid,
    new_method_not_supported, new_not_acceptable, new_not_found, new_optimistic_lock_conflict,
    new_request_entity_too_large_error, new_resource_expired, new_server_timeout, new_server_timeout_for_kind,
    new_service_unavailable, new_timeout_error, new_too_many_requests, new_too_many_requests_error, new_unauthorized,
    new_unsupported_media_type, new_untyped_error,
};

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

/// The conflict detail of an update against a stale resourceVersion
/// (`storage.OptimisticLockErrorMsg`).
pub const OPTIMISTIC_LOCK_ERROR_MSG: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// The cause type marking a response that was not a Status from an API server.
pub const CAUSE_TYPE_UNEXPECTED_SERVER_RESPONSE: &str = "UnexpectedServerResponse";

/// A resource qualified by its API group (`schema.GroupResource`); prints as `deployments.apps`,
/// or just `configmaps` for the core group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupResource {
    /// The API group, empty for the core group.
    pub group: String,
    /// The plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// A group and resource.
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> GroupResource {
        GroupResource { group: group.into(), resource: resource.into() }
    }

    /// True when both parts are empty.
    pub fn is_empty(&self) -> bool {
        self.group.is_empty() && self.resource.is_empty()
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() { f.write_str(&self.resource) } else { write!(f, "{}.{}", self.resource, self.group) }
    }
}

/// A kind qualified by its API group (`schema.GroupKind`); prints as `Deployment.apps`, or
/// just `ConfigMap` for the core group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupKind {
    /// The API group, empty for the core group.
    pub group: String,
    /// The kind.
    pub kind: String,
}

impl GroupKind {
    /// A group and kind.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> GroupKind {
        GroupKind { group: group.into(), kind: kind.into() }
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() { f.write_str(&self.kind) } else { write!(f, "{}.{}", self.kind, self.group) }
    }
}

/// Why a request failed (`metav1.StatusReason`). Unrecognised reasons read as
/// [`StatusReason::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is upstream's reason of the same name.
pub enum StatusReason {
    Unknown,
    Unauthorized,
    Forbidden,
    NotFound,
    AlreadyExists,
    Conflict,
    Gone,
    Invalid,
    ServerTimeout,
    StoreReadError,
    Timeout,
    TooManyRequests,
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    InternalError,
    Expired,
    ServiceUnavailable,
}

impl StatusReason {
    const ALL: [StatusReason; 19] = [
        StatusReason::Unauthorized,
        StatusReason::Forbidden,
        StatusReason::NotFound,
        StatusReason::AlreadyExists,
        StatusReason::Conflict,
        StatusReason::Gone,
        StatusReason::Invalid,
        StatusReason::ServerTimeout,
        StatusReason::StoreReadError,
        StatusReason::Timeout,
        StatusReason::TooManyRequests,
        StatusReason::BadRequest,
        StatusReason::MethodNotAllowed,
        StatusReason::NotAcceptable,
        StatusReason::RequestEntityTooLarge,
        StatusReason::UnsupportedMediaType,
        StatusReason::InternalError,
        StatusReason::Expired,
        StatusReason::ServiceUnavailable,
    ];

    /// The wire string; empty for `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusReason::Unknown => "",
            StatusReason::Unauthorized => "Unauthorized",
            StatusReason::Forbidden => "Forbidden",
            StatusReason::NotFound => "NotFound",
            StatusReason::AlreadyExists => "AlreadyExists",
            StatusReason::Conflict => "Conflict",
            StatusReason::Gone => "Gone",
            StatusReason::Invalid => "Invalid",
            StatusReason::ServerTimeout => "ServerTimeout",
            StatusReason::StoreReadError => "StorageReadError",
            StatusReason::Timeout => "Timeout",
            StatusReason::TooManyRequests => "TooManyRequests",
            StatusReason::BadRequest => "BadRequest",
            StatusReason::MethodNotAllowed => "MethodNotAllowed",
            StatusReason::NotAcceptable => "NotAcceptable",
            StatusReason::RequestEntityTooLarge => "RequestEntityTooLarge",
            StatusReason::UnsupportedMediaType => "UnsupportedMediaType",
            StatusReason::InternalError => "InternalError",
            StatusReason::Expired => "Expired",
            StatusReason::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The reason a wire string names.
    pub fn parse(s: &str) -> StatusReason {
        StatusReason::ALL.into_iter().find(|r| r.as_str() == s).unwrap_or(StatusReason::Unknown)
    }
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error carrying the Status an API server answers with (`errors.StatusError`).
///
/// ```
/// use krs_apimachinery::status::{new_not_found, GroupResource};
/// let e = new_not_found(&GroupResource::new("apps", "deployments"), "web");
/// assert_eq!(e.to_string(), r#"deployments.apps "web" not found"#);
/// assert_eq!(e.code(), 404);
/// assert!(e.is_not_found());
/// assert_eq!(
///     String::from_utf8(e.to_json()).unwrap(),
///     r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StatusError {
    status: Status,
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

pub(crate) fn details(group: &str, kind: &str, name: &str) -> StatusDetails {
    StatusDetails { group: non_empty(group), kind: non_empty(kind), name: non_empty(name), ..Default::default() }
}

fn failure(code: u16, reason: StatusReason, message: String, details: Option<StatusDetails>) -> StatusError {
    StatusError {
        status: Status {
            code: Some(i32::from(code)),
            details,
            message: non_empty(&message),
            reason: non_empty(reason.as_str()),
            status: Some("Failure".to_owned()),
            ..Default::default()
        },
    }
}

pub(crate) fn retry_after(seconds: i32) -> Option<i32> {
    (seconds != 0).then_some(seconds)
}

impl StatusError {
    /// Wraps a Status received from a server (`errors.FromObject`).
    pub fn from_status(status: Status) -> StatusError {
        StatusError { status }
    }

    /// The Status.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The Status, by value.
    pub fn into_status(self) -> Status {
        self.status
    }

    /// The HTTP status code (0 if unset).
    pub fn code(&self) -> i32 {
        self.status.code.unwrap_or(0)
    }

    /// The reason.
    pub fn reason(&self) -> StatusReason {
        StatusReason::parse(self.status.reason.as_deref().unwrap_or_default())
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        self.status.message.as_deref().unwrap_or_default()
    }

    /// The details, if any.
    pub fn details(&self) -> Option<&StatusDetails> {
        self.status.details.as_ref()
    }

    /// The JSON an API server sends for this error: `kind`, `apiVersion`, `metadata`,
    /// `status`, `message`, `reason`, `details`, `code`, in upstream's order, empty fields
    /// omitted. (Upstream's response encoder appends a newline after it.)
    pub fn to_json(&self) -> Vec<u8> {
        json::status_json(&self.status).into_bytes()
    }

    /// The first cause of the given type (`errors.StatusCause`).
    pub fn status_cause(&self, cause_type: &str) -> Option<&StatusCause> {
        self.details()?.causes.as_ref()?.iter().find(|c| c.reason.as_deref() == Some(cause_type))
    }

    /// Whether a cause of the given type is present (`errors.HasStatusCause`).
    pub fn has_status_cause(&self, cause_type: &str) -> bool {
        self.status_cause(cause_type).is_some()
    }

    /// True if the reason is `reason`, or the reason is not one upstream knows and the code is
    /// `code` (how upstream classifies errors from servers that set only a code).
    fn is(&self, reason: StatusReason, code: i32) -> bool {
        let r = self.reason();
        r == reason || (r == StatusReason::Unknown && self.code() == code)
    }

    /// `errors.IsNotFound`.
    pub fn is_not_found(&self) -> bool {
        self.is(StatusReason::NotFound, 404)
    }
    /// `errors.IsAlreadyExists`.
    pub fn is_already_exists(&self) -> bool {
        self.reason() == StatusReason::AlreadyExists
    }
    /// `errors.IsConflict`.
    pub fn is_conflict(&self) -> bool {
        self.is(StatusReason::Conflict, 409)
    }
    /// `errors.IsInvalid`.
    pub fn is_invalid(&self) -> bool {
        self.is(StatusReason::Invalid, 422)
    }
    /// `errors.IsGone`.
    pub fn is_gone(&self) -> bool {
        self.is(StatusReason::Gone, 410)
    }
    /// `errors.IsResourceExpired`.
    pub fn is_resource_expired(&self) -> bool {
        self.reason() == StatusReason::Expired
    }
    /// `errors.IsNotAcceptable`.
    pub fn is_not_acceptable(&self) -> bool {
        self.is(StatusReason::NotAcceptable, 406)
    }
    /// `errors.IsUnsupportedMediaType`.
    pub fn is_unsupported_media_type(&self) -> bool {
        self.is(StatusReason::UnsupportedMediaType, 415)
    }
    /// `errors.IsMethodNotSupported`.
    pub fn is_method_not_supported(&self) -> bool {
        self.is(StatusReason::MethodNotAllowed, 405)
    }
    /// `errors.IsServiceUnavailable`.
    pub fn is_service_unavailable(&self) -> bool {
        self.is(StatusReason::ServiceUnavailable, 503)
    }
    /// `errors.IsBadRequest`.
    pub fn is_bad_request(&self) -> bool {
        self.is(StatusReason::BadRequest, 400)
    }
    /// `errors.IsUnauthorized`.
    pub fn is_unauthorized(&self) -> bool {
        self.is(StatusReason::Unauthorized, 401)
    }
    /// `errors.IsForbidden`.
    pub fn is_forbidden(&self) -> bool {
        self.is(StatusReason::Forbidden, 403)
    }
    /// `errors.IsTimeout`.
    pub fn is_timeout(&self) -> bool {
        self.is(StatusReason::Timeout, 504)
    }
    /// `errors.IsServerTimeout` (reason only: no code is specific to it).
    pub fn is_server_timeout(&self) -> bool {
        self.reason() == StatusReason::ServerTimeout
    }
    /// `errors.IsInternalError`.
    pub fn is_internal_error(&self) -> bool {
        self.is(StatusReason::InternalError, 500)
    }
    /// `errors.IsTooManyRequests`: the reason, or code 429 whatever the reason.
    pub fn is_too_many_requests(&self) -> bool {
        self.reason() == StatusReason::TooManyRequests || self.code() == 429
    }
    /// `errors.IsRequestEntityTooLargeError`: the reason, or code 413 whatever the reason.
    pub fn is_request_entity_too_large(&self) -> bool {
        self.reason() == StatusReason::RequestEntityTooLarge || self.code() == 413
    }
    /// `errors.IsStoreReadError`.
    pub fn is_store_read_error(&self) -> bool {
        self.reason() == StatusReason::StoreReadError
    }
    /// `errors.IsUnexpectedServerError`.
    pub fn is_unexpected_server_error(&self) -> bool {
        self.has_status_cause(CAUSE_TYPE_UNEXPECTED_SERVER_RESPONSE)
    }

    /// The delay, in seconds, the error asks clients to wait before retrying
    /// (`errors.SuggestsClientDelay`): always for ServerTimeout, otherwise when
    /// `retryAfterSeconds` is positive.
    pub fn suggests_client_delay(&self) -> Option<i32> {
        let d = self.details()?;
        let seconds = d.retry_after_seconds.unwrap_or(0);
        if self.reason() == StatusReason::ServerTimeout || seconds > 0 { Some(seconds) } else { None }
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for StatusError {}

#[cfg(test)]
mod tests;
