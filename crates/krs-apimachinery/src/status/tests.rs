//! Upstream's errors_test.go cases and the API server's observable responses, as facts about
//! this port.

use super::*;
use crate::validation::{ErrorList, Path, field};

fn resource(r: &str) -> GroupResource {
    GroupResource::new("", r)
}

fn json(e: &StatusError) -> String {
    String::from_utf8(e.to_json()).unwrap_or_default()
}

// Upstream's TestErrorNew.
#[test]
fn predicates() {
    let err = new_already_exists(&resource("tests"), "1");
    assert!(err.is_already_exists());
    assert!(!err.is_conflict() && !err.is_not_found() && !err.is_invalid() && !err.is_bad_request());
    assert!(!err.is_forbidden() && !err.is_server_timeout() && !err.is_method_not_supported());
    assert!(new_conflict(&resource("tests"), "2", "message").is_conflict());
    assert!(new_not_found(&resource("tests"), "3").is_not_found());
    assert!(new_invalid(&GroupKind::new("", "Test"), "2", &ErrorList::new()).is_invalid());
    assert!(new_bad_request("reason").is_bad_request());
    assert!(new_forbidden(&resource("tests"), "2", "reason").is_forbidden());
    assert!(new_unauthorized("reason").is_unauthorized());
    assert!(new_server_timeout(&resource("tests"), "reason", 0).is_server_timeout());
    assert!(new_method_not_supported(&resource("foos"), "delete").is_method_not_supported());
    assert!(new_generate_name_conflict(&resource("tests"), "3", 1).is_already_exists());
    assert!(new_resource_expired("too old").is_resource_expired());
    assert!(new_gone("gone").is_gone());
    assert!(new_timeout_error("slow", 0).is_timeout());
    assert!(new_internal_error("boom").is_internal_error());
    assert!(new_service_unavailable("down").is_service_unavailable());
    assert!(new_too_many_requests_error("busy").is_too_many_requests());
    assert!(new_request_entity_too_large_error("big").is_request_entity_too_large());
    assert!(new_not_acceptable(&["application/json"]).is_not_acceptable());
    assert!(new_unsupported_media_type(&["application/json"]).is_unsupported_media_type());
    assert!(
        new_generic_server_response(500, "GET", &resource("tests"), "t", "x", 0, true).is_unexpected_server_error()
    );
}

// Upstream's SuggestsClientDelay cases.
#[test]
fn client_delay() {
    assert_eq!(new_generate_name_conflict(&resource("tests"), "3", 1).suggests_client_delay(), Some(1));
    assert_eq!(new_server_timeout(&resource("tests"), "doing something", 10).suggests_client_delay(), Some(10));
    assert_eq!(new_server_timeout(&resource("tests"), "doing something", 0).suggests_client_delay(), Some(0));
    assert_eq!(new_timeout_error("test reason", 10).suggests_client_delay(), Some(10));
    assert_eq!(new_too_many_requests("doing something", 10).suggests_client_delay(), Some(10));
    assert_eq!(new_too_many_requests("doing something", 1).suggests_client_delay(), Some(1));
    let generic = |code, retry| {
        new_generic_server_response(code, "GET", &resource("tests"), "test", "doing something", retry, true)
    };
    assert_eq!(generic(429, 10).suggests_client_delay(), Some(10));
    assert_eq!(generic(500, 10).suggests_client_delay(), Some(10));
    assert_eq!(generic(429, 0).suggests_client_delay(), None);
    assert_eq!(new_not_found(&resource("tests"), "x").suggests_client_delay(), None);
}

// Upstream's TestNewInvalid.
#[test]
fn invalid_messages_and_causes() {
    let p = Path::new("field[0].name");
    let cases = [
        (
            field::duplicate(&p, "bar"),
            "FieldValueDuplicate",
            r#"Kind "name" is invalid: field[0].name: Duplicate value: "bar""#,
        ),
        (
            field::invalid(&p, "bar", "detail"),
            "FieldValueInvalid",
            r#"Kind "name" is invalid: field[0].name: Invalid value: "bar": detail"#,
        ),
        (
            field::not_found(&p, "bar"),
            "FieldValueNotFound",
            r#"Kind "name" is invalid: field[0].name: Not found: "bar""#,
        ),
        (
            field::not_supported::<&str>(&p, "bar", &[]),
            "FieldValueNotSupported",
            r#"Kind "name" is invalid: field[0].name: Unsupported value: "bar""#,
        ),
        (field::required(&p, ""), "FieldValueRequired", r#"Kind "name" is invalid: field[0].name: Required value"#),
    ];
    for (err, cause_type, message) in cases {
        let body = err.body();
        let e = new_invalid(&GroupKind::new("", "Kind"), "name", &ErrorList::from(err));
        assert_eq!(e.message(), message);
        assert_eq!(e.code(), 422);
        assert_eq!(e.reason(), StatusReason::Invalid);
        let d = e.details().cloned().unwrap_or_default();
        assert_eq!(d.kind.as_deref(), Some("Kind"));
        assert_eq!(d.name.as_deref(), Some("name"));
        let causes = d.causes.unwrap_or_default();
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].reason.as_deref(), Some(cause_type));
        assert_eq!(causes[0].field.as_deref(), Some("field[0].name"));
        assert_eq!(causes[0].message.as_deref(), Some(body.as_str()));
    }
    let e = new_invalid(&GroupKind::new("", "Kind"), "name", &ErrorList::new());
    assert_eq!(e.message(), r#"Kind "name" is invalid"#);
    assert_eq!(e.details().and_then(|d| d.causes.as_ref()), None);
}

#[test]
fn invalid_with_several_errors() {
    let errs = ErrorList(vec![
        field::required(&Path::new("metadata").child("name"), ""),
        field::invalid(&Path::new("data").key("a b"), "a b", "bad"),
        field::required(&Path::new("metadata").child("name"), ""),
    ]);
    let e = new_invalid(&GroupKind::new("apps", "Deployment"), "web", &errs);
    assert_eq!(
        e.message(),
        r#"Deployment.apps "web" is invalid: [metadata.name: Required value, data[a b]: Invalid value: "a b": bad]"#
    );
    // Causes keep every error; the message drops repeats.
    assert_eq!(e.details().and_then(|d| d.causes.as_ref()).map(Vec::len), Some(3));
    assert_eq!(
        json(&e),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Deployment.apps \"web\" is invalid: [metadata.name: Required value, data[a b]: Invalid value: \"a b\": bad]","reason":"Invalid","details":{"name":"web","group":"apps","kind":"Deployment","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"metadata.name"},{"reason":"FieldValueInvalid","message":"Invalid value: \"a b\": bad","field":"data[a b]"},{"reason":"FieldValueRequired","message":"Required value","field":"metadata.name"}]},"code":422}"#
    );
}

#[test]
fn messages() {
    let cm = resource("configmaps");
    let deploy = GroupResource::new("apps", "deployments");
    assert_eq!(new_not_found(&cm, "x").message(), r#"configmaps "x" not found"#);
    assert_eq!(new_not_found(&deploy, "x").message(), r#"deployments.apps "x" not found"#);
    assert_eq!(new_already_exists(&cm, "x").message(), r#"configmaps "x" already exists"#);
    assert_eq!(
        new_generate_name_conflict(&cm, "x-abc", 1).message(),
        r#"configmaps "x-abc" already exists, the server was not able to generate a unique name for the object"#
    );
    assert_eq!(
        new_optimistic_lock_conflict(&cm, "x").message(),
        r#"Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again"#
    );
    assert_eq!(
        new_conflict(&deploy, "x", "boom").message(),
        r#"Operation cannot be fulfilled on deployments.apps "x": boom"#
    );
    let reason = forbidden_message("bob", "get", "configmaps", "", "", "default", "");
    assert_eq!(reason, r#"User "bob" cannot get resource "configmaps" in API group "" in the namespace "default""#);
    assert_eq!(
        new_forbidden(&cm, "x", &reason).message(),
        r#"configmaps "x" is forbidden: User "bob" cannot get resource "configmaps" in API group "" in the namespace "default""#
    );
    assert_eq!(
        new_forbidden(
            &GroupResource::new("apps", "deployments"),
            "",
            forbidden_message("bob", "list", "deployments", "scale", "apps", "", "no RBAC policy matched")
        )
        .message(),
        r#"deployments.apps is forbidden: User "bob" cannot list resource "deployments/scale" in API group "apps" at the cluster scope: no RBAC policy matched"#
    );
    assert_eq!(
        new_forbidden(&GroupResource::default(), "", forbidden_path_message("bob", "get", "/metrics", "")).message(),
        r#"forbidden: User "bob" cannot get path "/metrics""#
    );
    assert_eq!(new_unauthorized("").message(), "not authorized");
    assert_eq!(
        new_method_not_supported(&resource("bindings"), "get").message(),
        r#"get is not supported on resources of kind "bindings""#
    );
    assert_eq!(
        new_server_timeout(&cm, "get", 2).message(),
        "The get operation against configmaps could not be completed at this time, please try again."
    );
    assert_eq!(new_internal_error("etcd down").message(), "Internal error occurred: etcd down");
    assert_eq!(
        new_timeout_error("request did not complete within 60s", 0).message(),
        "Timeout: request did not complete within 60s"
    );
    assert_eq!(new_too_many_requests_error("slow down").message(), "Too many requests: slow down");
    assert_eq!(
        new_request_entity_too_large_error("limit is 3145728").message(),
        "Request entity too large: limit is 3145728"
    );
    assert_eq!(
        new_not_acceptable(&["application/json", "application/yaml"]).message(),
        "only the following media types are accepted: application/json, application/yaml"
    );
    assert_eq!(
        new_unsupported_media_type(&["application/json"]).message(),
        "the body of the request was in an unknown format - accepted media types include: application/json"
    );
    assert_eq!(new_generic_server_response(409, "POST", &cm, "x", "", 0, false).reason(), StatusReason::AlreadyExists);
    assert_eq!(
        new_generic_server_response(409, "PUT", &cm, "x", "", 0, false).message(),
        "the server reported a conflict (put configmaps x)"
    );
    assert_eq!(
        new_generic_server_response(502, "GET", &cm, "", "bad gateway", 0, false).message(),
        r#"an error on the server ("bad gateway") has prevented the request from succeeding (get configmaps)"#
    );
    assert_eq!(
        new_generic_server_response(418, "GET", &GroupResource::default(), "", "", 0, false).message(),
        "the server responded with the status code 418 but did not return more information"
    );
}

#[test]
fn codes_and_wire_form() {
    let cases = [
        (new_not_found(&resource("configmaps"), "x"), 404, "NotFound"),
        (new_already_exists(&resource("configmaps"), "x"), 409, "AlreadyExists"),
        (new_optimistic_lock_conflict(&resource("configmaps"), "x"), 409, "Conflict"),
        (new_invalid(&GroupKind::default(), "x", &ErrorList::new()), 422, "Invalid"),
        (new_bad_request("x"), 400, "BadRequest"),
        (new_unauthorized("x"), 401, "Unauthorized"),
        (new_forbidden(&resource("configmaps"), "x", "y"), 403, "Forbidden"),
        (new_gone("x"), 410, "Gone"),
        (new_resource_expired("x"), 410, "Expired"),
        (new_method_not_supported(&resource("configmaps"), "x"), 405, "MethodNotAllowed"),
        (new_too_many_requests("x", 1), 429, "TooManyRequests"),
        (new_request_entity_too_large_error("x"), 413, "RequestEntityTooLarge"),
        (new_unsupported_media_type(&["a"]), 415, "UnsupportedMediaType"),
        (new_not_acceptable(&["a"]), 406, "NotAcceptable"),
        (new_timeout_error("x", 0), 504, "Timeout"),
        (new_internal_error("x"), 500, "InternalError"),
        (new_service_unavailable("x"), 503, "ServiceUnavailable"),
        (new_server_timeout(&resource("configmaps"), "get", 0), 500, "ServerTimeout"),
    ];
    for (e, code, reason) in cases {
        assert_eq!(e.code(), code, "{reason}");
        assert_eq!(e.reason().as_str(), reason);
        assert_eq!(e.status().status.as_deref(), Some("Failure"));
        let v: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap_or_default();
        assert_eq!(v["kind"], "Status");
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["code"], code);
        assert_eq!(v["reason"], reason);
        // The k8s-openapi serialization carries the same content.
        let ours: serde_json::Value = serde_json::to_value(e.status()).unwrap_or_default();
        assert_eq!(ours, v);
    }
    assert_eq!(
        json(&new_too_many_requests("slow down", 3)),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"slow down","reason":"TooManyRequests","details":{"retryAfterSeconds":3},"code":429}"#
    );
    assert_eq!(
        json(&new_timeout_error("x", 0)),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: x","reason":"Timeout","details":{},"code":504}"#
    );
    assert_eq!(
        json(&new_internal_error("a <b>")),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: a \u003cb\u003e","reason":"InternalError","details":{"causes":[{"message":"a \u003cb\u003e"}]},"code":500}"#
    );
    assert_eq!(
        json(&new_resource_expired("too old resource version: 1 (2)")),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (2)","reason":"Expired","code":410}"#
    );
}

#[test]
fn classification_by_code_when_reason_unknown() {
    let with = |reason: &str, code: i32| {
        StatusError::from_status(Status { reason: non_empty(reason), code: Some(code), ..Default::default() })
    };
    assert!(with("", 404).is_not_found());
    assert!(with("SomethingNew", 404).is_not_found());
    assert!(!with("Conflict", 404).is_not_found());
    assert!(with("", 409).is_conflict());
    assert!(!with("", 409).is_already_exists());
    assert!(with("NotFound", 429).is_too_many_requests());
    assert!(with("NotFound", 413).is_request_entity_too_large());
    assert!(!with("", 500).is_server_timeout());
    assert_eq!(StatusReason::parse("StorageReadError"), StatusReason::StoreReadError);
    assert_eq!(StatusReason::parse("nope"), StatusReason::Unknown);
    assert_eq!(GroupKind::new("apps", "Deployment").to_string(), "Deployment.apps");
    assert_eq!(new_bad_request("bad").to_string(), "bad");
}
