//! The controllerrevision strategy: a revision holds data (required, immutable) and a
//! non-negative revision number (`ValidateControllerRevision`).

use k8s_openapi::api::apps::v1::ControllerRevision;
use krs_apimachinery::validation::{
    BadValue, ErrorList, FIELD_IMMUTABLE_ERROR_MSG, Path, field, validate_nonnegative_field,
};
use krs_kinds::Object;

use crate::strategy::core::podspec::semantic::semantically_equal;
use crate::strategy::{Strategy, typed};

/// The strategy of `controllerrevisions`.
pub struct ControllerRevisionStrategy;

/// The controllerrevision strategy instance the catalog refers to.
pub static CONTROLLER_REVISION: ControllerRevisionStrategy = ControllerRevisionStrategy;

impl Strategy for ControllerRevisionStrategy {
    fn validate(&self, obj: &dyn Object) -> ErrorList {
        let Some(rev) = typed::<ControllerRevision>(obj) else {
            return ErrorList::new();
        };
        let mut errs = ErrorList::new();
        if rev.data.is_none() {
            errs.push(field::required(&Path::new("data"), "data is mandatory"));
        }
        errs.append(validate_nonnegative_field(rev.revision, &Path::new("revision")));
        errs
    }

    fn validate_update(&self, new: &dyn Object, old: &dyn Object) -> ErrorList {
        let (Some(n), Some(o)) = (typed::<ControllerRevision>(new), typed::<ControllerRevision>(old)) else {
            return ErrorList::new();
        };
        let mut errs = self.validate(new);
        if !semantically_equal(&n.data, &o.data) {
            errs.push(field::invalid(&Path::new("data"), BadValue::json(&n.data), FIELD_IMMUTABLE_ERROR_MSG));
        }
        errs
    }
}
