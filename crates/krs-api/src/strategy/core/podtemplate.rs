//! The podtemplate strategy (upstream `pkg/registry/core/podtemplate/strategy.go`): a stored
//! pod template, defaulted and validated like any template; its generation counts template
//! changes.

use k8s_openapi::api::core::v1::PodTemplate;
use krs_apimachinery::validation::{ErrorList, Path};
use krs_kinds::Object;

use super::podspec::semantic::semantically_equal;
use super::podspec::{
    drop_disabled_pod_spec_fields, set_defaults_pod_template_spec, validate_pod_template_spec,
    warnings_for_pod_template,
};
use crate::strategy::{Strategy, typed, typed_mut};

/// The strategy of `podtemplates`.
pub struct PodTemplateStrategy;

/// The podtemplate strategy instance the catalog refers to.
pub static POD_TEMPLATE: PodTemplateStrategy = PodTemplateStrategy;

impl Strategy for PodTemplateStrategy {
    fn default(&self, obj: &mut dyn Object) {
        if let Some(t) = typed_mut::<PodTemplate>(obj) {
            set_defaults_pod_template_spec(t.template.get_or_insert_with(Default::default));
        }
    }

    fn prepare_for_create(&self, obj: &mut dyn Object) {
        if let Some(t) = typed_mut::<PodTemplate>(obj) {
            // The catalog does not track generation for this kind (it has no spec); the
            // strategy counts template changes itself, as upstream's does.
            t.metadata.generation = Some(1);
            if let Some(spec) = t.template.as_mut().and_then(|t| t.spec.as_mut()) {
                drop_disabled_pod_spec_fields(spec, None);
            }
        }
    }

    fn prepare_for_update(&self, new: &mut dyn Object, old: &dyn Object) {
        let Some(old) = typed::<PodTemplate>(old).cloned() else {
            return;
        };
        let Some(new) = typed_mut::<PodTemplate>(new) else {
            return;
        };
        let old_spec = old.template.as_ref().and_then(|t| t.spec.as_ref());
        if let Some(spec) = new.template.as_mut().and_then(|t| t.spec.as_mut()) {
            drop_disabled_pod_spec_fields(spec, old_spec);
        }
        if !semantically_equal(&new.template, &old.template) {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(0) + 1);
        }
    }

    fn validate(&self, obj: &dyn Object) -> ErrorList {
        let Some(t) = typed::<PodTemplate>(obj) else {
            return ErrorList::new();
        };
        validate_pod_template_spec(&t.template.clone().unwrap_or_default(), &Path::new("template"))
    }

    fn warnings_on_create(&self, obj: &dyn Object) -> Vec<String> {
        typed::<PodTemplate>(obj)
            .map(|t| warnings_for_pod_template(&t.template.clone().unwrap_or_default(), &Path::new("template")))
            .unwrap_or_default()
    }

    fn warnings_on_update(&self, new: &dyn Object, old: &dyn Object) -> Vec<String> {
        match (typed::<PodTemplate>(new), typed::<PodTemplate>(old)) {
            (Some(new), Some(old)) if new.metadata.generation != old.metadata.generation => {
                self.warnings_on_create(new)
            }
            _ => Vec::new(),
        }
    }
}
