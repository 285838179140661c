//! Errors at the HTTP edge: every failure becomes a metav1.Status with upstream's reason, code
//! and message, built by krs-apimachinery's status builders.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use krs_api::ResourceInfo;
use krs_apimachinery::status;
use krs_apimachinery::validation::ErrorList;
use krs_store::StoreError;

/// An error answered to the client as a Status.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: Box<Status>,
}

impl From<status::StatusError> for ApiError {
    fn from(err: status::StatusError) -> Self {
        ApiError { status: Box::new(err.into_status()) }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status.message.as_deref().unwrap_or(""))
    }
}

/// A qualified resource (`deployments.apps`) as upstream's errors name it.
fn gr(res: &ResourceInfo) -> status::GroupResource {
    status::GroupResource::new(&res.group, &res.resource)
}

impl ApiError {
    pub fn code(&self) -> u16 {
        self.status.code.unwrap_or(500) as u16
    }

    pub fn not_found(res: &ResourceInfo, name: &str) -> ApiError {
        status::new_not_found(&gr(res), name).into()
    }

    pub fn already_exists(res: &ResourceInfo, name: &str) -> ApiError {
        status::new_already_exists(&gr(res), name).into()
    }

    /// 409 for a stale resourceVersion.
    pub fn conflict_modified(res: &ResourceInfo, name: &str) -> ApiError {
        status::new_optimistic_lock_conflict(&gr(res), name).into()
    }

    pub fn conflict(res: &ResourceInfo, name: &str, reason: &str) -> ApiError {
        status::new_conflict(&gr(res), name, reason).into()
    }

    pub fn invalid(res: &ResourceInfo, name: &str, errors: &ErrorList) -> ApiError {
        status::new_invalid(&status::GroupKind::new(&res.group, &res.kind), name, errors).into()
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        status::new_bad_request(&message.into()).into()
    }

    /// 400 for invalid query parameters.
    pub fn invalid_params(message: String) -> ApiError {
        status::new_bad_request(&message).into()
    }

    pub fn unauthorized() -> ApiError {
        status::new_unauthorized("Unauthorized").into()
    }

    pub fn forbidden(res: Option<&ResourceInfo>, name: &str, reason: &str) -> ApiError {
        match res {
            Some(r) => status::new_forbidden(&gr(r), name, reason).into(),
            None => status::new_forbidden(&status::GroupResource::new("", ""), name, reason).into(),
        }
    }

    pub fn method_not_supported(res: &ResourceInfo, action: &str) -> ApiError {
        status::new_method_not_supported(&gr(res), action).into()
    }

    /// 404 for a path that names no resource.
    pub fn no_such_path() -> ApiError {
        let mut err = status::new_not_found(&status::GroupResource::new("", ""), "");
        err = status::StatusError::from_status(Status {
            message: Some("the server could not find the requested resource".into()),
            details: None,
            ..err.into_status()
        });
        err.into()
    }

    /// 410 for a resourceVersion older than the retained history.
    pub fn gone(message: impl Into<String>) -> ApiError {
        status::new_gone(&message.into()).into()
    }

    /// 410 Expired for a continue token past compaction.
    pub fn resource_expired(message: impl Into<String>) -> ApiError {
        status::new_resource_expired(&message.into()).into()
    }

    pub fn too_large() -> ApiError {
        status::new_request_entity_too_large_error("limit is 3145728").into()
    }

    pub fn unsupported_media_type(_content_type: &str) -> ApiError {
        status::new_unsupported_media_type(&[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ])
        .into()
    }

    pub fn not_acceptable() -> ApiError {
        status::new_not_acceptable(&["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"])
            .into()
    }

    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        status::new_internal_error(message).into()
    }

    pub fn timeout(message: impl Into<String>, retry_after_seconds: i32) -> ApiError {
        status::new_timeout_error(&message.into(), retry_after_seconds).into()
    }

    pub fn service_unavailable(message: impl Into<String>) -> ApiError {
        status::new_service_unavailable(&message.into()).into()
    }

    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: i32) -> ApiError {
        status::new_too_many_requests(&message.into(), retry_after_seconds).into()
    }

    /// A store failure on an object of `res` named `name`.
    pub fn from_store(err: StoreError, res: &ResourceInfo, name: &str) -> ApiError {
        match err {
            StoreError::AlreadyExists { .. } => ApiError::already_exists(res, name),
            StoreError::NotFound(_) => ApiError::not_found(res, name),
            StoreError::Conflict { .. } => ApiError::conflict_modified(res, name),
            StoreError::Compacted { .. } => {
                ApiError::resource_expired("The resourceVersion for the provided list is too old.")
            }
            StoreError::FutureRevision { .. } => ApiError::timeout("Too large resource version", 1),
            StoreError::ValueTooLarge { .. } => ApiError::too_large(),
            StoreError::Unavailable(m) => ApiError::service_unavailable(m),
            other => ApiError::internal(other),
        }
    }
}
