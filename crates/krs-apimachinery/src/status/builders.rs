//! The `new_*` builders: one per kind of API error, each producing upstream's Status.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

use super::{
    CAUSE_TYPE_UNEXPECTED_SERVER_RESPONSE, GroupKind, GroupResource, OPTIMISTIC_LOCK_ERROR_MSG, StatusError,
    StatusReason, details, failure, non_empty, retry_after,
};
use crate::gofmt;
use crate::validation::ErrorList;

/// 404 NotFound: `configmaps "x" not found` (`errors.NewNotFound`).
pub fn new_not_found(qualified_resource: &GroupResource, name: &str) -> StatusError {
    failure(
        404,
        StatusReason::NotFound,
        format!("{qualified_resource} {} not found", gofmt::quote(name)),
        Some(details(&qualified_resource.group, &qualified_resource.resource, name)),
    )
}

/// 409 AlreadyExists: `configmaps "x" already exists` (`errors.NewAlreadyExists`).
pub fn new_already_exists(qualified_resource: &GroupResource, name: &str) -> StatusError {
    failure(
        409,
        StatusReason::AlreadyExists,
        format!("{qualified_resource} {} already exists", gofmt::quote(name)),
        Some(details(&qualified_resource.group, &qualified_resource.resource, name)),
    )
}

/// 409 AlreadyExists when a generated name collided (`errors.NewGenerateNameConflict`).
pub fn new_generate_name_conflict(
    qualified_resource: &GroupResource,
    name: &str,
    retry_after_seconds: i32,
) -> StatusError {
    let mut d = details(&qualified_resource.group, &qualified_resource.resource, name);
    d.retry_after_seconds = retry_after(retry_after_seconds);
    failure(
        409,
        StatusReason::AlreadyExists,
        format!(
            "{qualified_resource} {} already exists, the server was not able to generate a unique name for the object",
            gofmt::quote(name)
        ),
        Some(d),
    )
}

/// 401 Unauthorized; an empty reason reads `not authorized` (`errors.NewUnauthorized`).
pub fn new_unauthorized(reason: &str) -> StatusError {
    let message = if reason.is_empty() { "not authorized" } else { reason };
    failure(401, StatusReason::Unauthorized, message.to_owned(), None)
}

/// 403 Forbidden (`errors.NewForbidden`): `configmaps "x" is forbidden: <reason>`, or
/// `configmaps is forbidden: <reason>` without a name, or `forbidden: <reason>` without a
/// resource. The authorizer's reason is usually built with [`forbidden_message`].
pub fn new_forbidden(qualified_resource: &GroupResource, name: &str, reason: impl fmt::Display) -> StatusError {
    let message = if qualified_resource.is_empty() {
        format!("forbidden: {reason}")
    } else if name.is_empty() {
        format!("{qualified_resource} is forbidden: {reason}")
    } else {
        format!("{qualified_resource} {} is forbidden: {reason}", gofmt::quote(name))
    };
    failure(
        403,
        StatusReason::Forbidden,
        message,
        Some(details(&qualified_resource.group, &qualified_resource.resource, name)),
    )
}

/// The reason text the API server's authorization filter gives a denied resource request:
/// `User "bob" cannot get resource "configmaps" in API group "" in the namespace "default"`
/// (or `at the cluster scope`); `subresource` is appended to the resource as `pods/log`; the
/// authorizer's own reason, if any, follows after `: `.
pub fn forbidden_message(
    user: &str,
    verb: &str,
    resource: &str,
    subresource: &str,
    api_group: &str,
    namespace: &str,
    authorizer_reason: &str,
) -> String {
    let resource = if subresource.is_empty() { resource.to_owned() } else { format!("{resource}/{subresource}") };
    let mut msg = if namespace.is_empty() {
        format!(
            "User {} cannot {verb} resource {} in API group {} at the cluster scope",
            gofmt::quote(user),
            gofmt::quote(&resource),
            gofmt::quote(api_group)
        )
    } else {
        format!(
            "User {} cannot {verb} resource {} in API group {} in the namespace {}",
            gofmt::quote(user),
            gofmt::quote(&resource),
            gofmt::quote(api_group),
            gofmt::quote(namespace)
        )
    };
    if !authorizer_reason.is_empty() {
        msg.push_str(": ");
        msg.push_str(authorizer_reason);
    }
    msg
}

/// [`forbidden_message`] for a non-resource request: `User "bob" cannot get path "/metrics"`.
pub fn forbidden_path_message(user: &str, verb: &str, path: &str, authorizer_reason: &str) -> String {
    let mut msg = format!("User {} cannot {verb} path {}", gofmt::quote(user), gofmt::quote(path));
    if !authorizer_reason.is_empty() {
        msg.push_str(": ");
        msg.push_str(authorizer_reason);
    }
    msg
}

/// 409 Conflict: `Operation cannot be fulfilled on configmaps "x": <err>` (`errors.NewConflict`).
pub fn new_conflict(qualified_resource: &GroupResource, name: &str, err: impl fmt::Display) -> StatusError {
    failure(
        409,
        StatusReason::Conflict,
        format!("Operation cannot be fulfilled on {qualified_resource} {}: {err}", gofmt::quote(name)),
        Some(details(&qualified_resource.group, &qualified_resource.resource, name)),
    )
}

/// The Conflict of an update with a stale resourceVersion: [`new_conflict`] with
/// [`OPTIMISTIC_LOCK_ERROR_MSG`].
pub fn new_optimistic_lock_conflict(qualified_resource: &GroupResource, name: &str) -> StatusError {
    new_conflict(qualified_resource, name, OPTIMISTIC_LOCK_ERROR_MSG)
}

/// 409 Conflict of a server-side apply, with one cause per conflicting field
/// (`errors.NewApplyConflict`).
pub fn new_apply_conflict(causes: Vec<StatusCause>, message: &str) -> StatusError {
    let d = StatusDetails { causes: (!causes.is_empty()).then_some(causes), ..Default::default() };
    failure(409, StatusReason::Conflict, message.to_owned(), Some(d))
}

/// 410 Gone (`errors.NewGone`, deprecated upstream in favour of [`new_resource_expired`]).
pub fn new_gone(message: &str) -> StatusError {
    failure(410, StatusReason::Gone, message.to_owned(), None)
}

/// 410 Expired: a resourceVersion too old to watch or list from (`errors.NewResourceExpired`).
pub fn new_resource_expired(message: &str) -> StatusError {
    failure(410, StatusReason::Expired, message.to_owned(), None)
}

/// 422 Invalid (`errors.NewInvalid`): `ConfigMap "x" is invalid: <errors>`, the field errors
/// aggregated as `[a, b]` when there are several, each one also a cause
/// (`reason` = its type, `message` = its body, `field` = its path).
///
/// ```
/// use krs_apimachinery::status::{new_invalid, GroupKind};
/// use krs_apimachinery::validation::{field, ErrorList, Path};
/// let errs = ErrorList::from(field::invalid(&Path::new("data").key("a b"), "a b", "bad key"));
/// let e = new_invalid(&GroupKind::new("", "ConfigMap"), "x", &errs);
/// assert_eq!(e.to_string(), r#"ConfigMap "x" is invalid: data[a b]: Invalid value: "a b": bad key"#);
/// assert_eq!(e.code(), 422);
/// ```
pub fn new_invalid(qualified_kind: &GroupKind, name: &str, errs: &ErrorList) -> StatusError {
    let causes: Vec<StatusCause> = errs
        .iter()
        .map(|e| StatusCause {
            reason: non_empty(e.error_type.as_str()),
            message: non_empty(&e.body()),
            field: non_empty(&e.field),
        })
        .collect();
    let message = match errs.to_aggregate() {
        Some(agg) => format!("{qualified_kind} {} is invalid: {agg}", gofmt::quote(name)),
        None => format!("{qualified_kind} {} is invalid", gofmt::quote(name)),
    };
    let mut d = details(&qualified_kind.group, &qualified_kind.kind, name);
    d.causes = (!causes.is_empty()).then_some(causes);
    failure(422, StatusReason::Invalid, message, Some(d))
}

/// 400 BadRequest (`errors.NewBadRequest`).
pub fn new_bad_request(reason: &str) -> StatusError {
    failure(400, StatusReason::BadRequest, reason.to_owned(), None)
}

/// What upstream's `ErrorToAPIStatus` makes of an error that carries no status: 500 with no
/// reason and the error's text as the message (kubectl prints "Error from server: ...").
pub fn new_untyped_error(message: &str) -> StatusError {
    failure(500, StatusReason::Unknown, message.to_owned(), None)
}

/// 429 TooManyRequests with a retry delay (`errors.NewTooManyRequests`).
pub fn new_too_many_requests(message: &str, retry_after_seconds: i32) -> StatusError {
    let d = StatusDetails { retry_after_seconds: retry_after(retry_after_seconds), ..Default::default() };
    failure(429, StatusReason::TooManyRequests, message.to_owned(), Some(d))
}

/// 429 TooManyRequests: `Too many requests: <message>` (`errors.NewTooManyRequestsError`).
pub fn new_too_many_requests_error(message: &str) -> StatusError {
    failure(429, StatusReason::TooManyRequests, format!("Too many requests: {message}"), None)
}

/// 503 ServiceUnavailable (`errors.NewServiceUnavailable`).
pub fn new_service_unavailable(reason: &str) -> StatusError {
    failure(503, StatusReason::ServiceUnavailable, reason.to_owned(), None)
}

/// 405 MethodNotAllowed: `delete is not supported on resources of kind "bindings"`
/// (`errors.NewMethodNotSupported`).
pub fn new_method_not_supported(qualified_resource: &GroupResource, action: &str) -> StatusError {
    failure(
        405,
        StatusReason::MethodNotAllowed,
        format!("{action} is not supported on resources of kind {}", gofmt::quote(&qualified_resource.to_string())),
        Some(details(&qualified_resource.group, &qualified_resource.resource, "")),
    )
}

/// 500 ServerTimeout: a transient failure the client should retry (`errors.NewServerTimeout`).
pub fn new_server_timeout(
    qualified_resource: &GroupResource,
    operation: &str,
    retry_after_seconds: i32,
) -> StatusError {
    let mut d = details(&qualified_resource.group, &qualified_resource.resource, operation);
    d.retry_after_seconds = retry_after(retry_after_seconds);
    failure(
        500,
        StatusReason::ServerTimeout,
        format!(
            "The {operation} operation against {qualified_resource} could not be completed at this time, please try again."
        ),
        Some(d),
    )
}

/// [`new_server_timeout`] naming a kind instead of a resource (`errors.NewServerTimeoutForKind`).
pub fn new_server_timeout_for_kind(
    qualified_kind: &GroupKind,
    operation: &str,
    retry_after_seconds: i32,
) -> StatusError {
    let gr = GroupResource::new(qualified_kind.group.clone(), qualified_kind.kind.clone());
    new_server_timeout(&gr, operation, retry_after_seconds)
}

/// 500 InternalError: `Internal error occurred: <err>`, the error also as a cause
/// (`errors.NewInternalError`).
pub fn new_internal_error(err: impl fmt::Display) -> StatusError {
    let text = err.to_string();
    let d = StatusDetails {
        causes: Some(vec![StatusCause { message: non_empty(&text), ..Default::default() }]),
        ..Default::default()
    };
    failure(500, StatusReason::InternalError, format!("Internal error occurred: {text}"), Some(d))
}

/// 504 Timeout: `Timeout: <message>`; the operation may still complete
/// (`errors.NewTimeoutError`).
pub fn new_timeout_error(message: &str, retry_after_seconds: i32) -> StatusError {
    let d = StatusDetails { retry_after_seconds: retry_after(retry_after_seconds), ..Default::default() };
    failure(504, StatusReason::Timeout, format!("Timeout: {message}"), Some(d))
}

/// 413 RequestEntityTooLarge: `Request entity too large: <message>`
/// (`errors.NewRequestEntityTooLargeError`).
pub fn new_request_entity_too_large_error(message: &str) -> StatusError {
    failure(413, StatusReason::RequestEntityTooLarge, format!("Request entity too large: {message}"), None)
}

/// 406 NotAcceptable from content negotiation: `only the following media types are accepted:
/// <types>` (the API server's `NewNotAcceptableError`).
pub fn new_not_acceptable(accepted: &[&str]) -> StatusError {
    failure(
        406,
        StatusReason::NotAcceptable,
        format!("only the following media types are accepted: {}", accepted.join(", ")),
        None,
    )
}

/// 415 UnsupportedMediaType from content negotiation: `the body of the request was in an
/// unknown format - accepted media types include: <types>` (the API server's
/// `NewUnsupportedMediaTypeError`).
pub fn new_unsupported_media_type(accepted: &[&str]) -> StatusError {
    failure(
        415,
        StatusReason::UnsupportedMediaType,
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            accepted.join(", ")
        ),
        None,
    )
}

/// A Status for a server response that carried none: reason and message chosen from the HTTP
/// code, the verb and resource appended (`errors.NewGenericServerResponse`).
#[allow(clippy::too_many_arguments)] // Mirrors upstream's signature.
pub fn new_generic_server_response(
    code: u16,
    verb: &str,
    qualified_resource: &GroupResource,
    name: &str,
    server_message: &str,
    retry_after_seconds: i32,
    is_unexpected_response: bool,
) -> StatusError {
    let (reason, mut message) = match code {
        409 => (
            if verb == "POST" { StatusReason::AlreadyExists } else { StatusReason::Conflict },
            "the server reported a conflict".to_owned(),
        ),
        404 => (StatusReason::NotFound, "the server could not find the requested resource".to_owned()),
        400 => (StatusReason::BadRequest, "the server rejected our request for an unknown reason".to_owned()),
        401 => (StatusReason::Unauthorized, "the server has asked for the client to provide credentials".to_owned()),
        403 => (StatusReason::Forbidden, server_message.to_owned()),
        406 => (
            StatusReason::NotAcceptable,
            if server_message.is_empty() || server_message == "unknown" {
                "the server was unable to respond with a content type that the client supports".to_owned()
            } else {
                server_message.to_owned()
            },
        ),
        415 => (StatusReason::UnsupportedMediaType, server_message.to_owned()),
        405 => (
            StatusReason::MethodNotAllowed,
            "the server does not allow this method on the requested resource".to_owned(),
        ),
        422 => (StatusReason::Invalid, "the server rejected our request due to an error in our request".to_owned()),
        503 => (StatusReason::ServiceUnavailable, "the server is currently unable to handle the request".to_owned()),
        504 => (
            StatusReason::Timeout,
            "the server was unable to return a response in the time allotted, but may still be processing the request"
                .to_owned(),
        ),
        429 => (
            StatusReason::TooManyRequests,
            "the server has received too many requests and has asked us to try again later".to_owned(),
        ),
        c if c >= 500 => (
            StatusReason::InternalError,
            format!(
                "an error on the server ({}) has prevented the request from succeeding",
                gofmt::quote(server_message)
            ),
        ),
        c => (
            StatusReason::Unknown,
            format!("the server responded with the status code {c} but did not return more information"),
        ),
    };
    if !qualified_resource.is_empty() {
        if name.is_empty() {
            message = format!("{message} ({} {qualified_resource})", verb.to_lowercase());
        } else {
            message = format!("{message} ({} {qualified_resource} {name})", verb.to_lowercase());
        }
    }
    let mut d = details(&qualified_resource.group, &qualified_resource.resource, name);
    if is_unexpected_response {
        d.causes = Some(vec![StatusCause {
            reason: Some(CAUSE_TYPE_UNEXPECTED_SERVER_RESPONSE.to_owned()),
            message: non_empty(server_message),
            field: None,
        }]);
    }
    d.retry_after_seconds = retry_after(retry_after_seconds);
    failure(code, reason, message, Some(d))
}
