//! Label and field selectors of list and watch requests, as a cache [`Filter`].

use krs_api::ResourceInfo;
use krs_api::strategy::FieldLabel;
use krs_apimachinery::{fields, labels};

use crate::cacher::{CachedObject, Filter};
use crate::errors::ApiError;

/// The selectors of one request.
pub struct SelectorFilter {
    labels: labels::Selector,
    fields: fields::Selector,
    field_labels: &'static [FieldLabel],
}

impl SelectorFilter {
    /// Parses the selectors, refusing field selectors on fields the resource doesn't support
    /// (upstream's "field label not supported").
    pub fn new(
        res: &ResourceInfo,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<SelectorFilter, ApiError> {
        let labels = match label_selector {
            Some(s) => labels::Selector::parse(s)
                .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?,
            None => labels::Selector::everything(),
        };
        let fields = match field_selector {
            Some(s) => fields::Selector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => fields::Selector::everything(),
        };
        let field_labels = res.strategy.field_labels();
        for r in fields.requirements() {
            let supported = r.field == "metadata.name"
                || (r.field == "metadata.namespace" && res.namespaced)
                || field_labels.iter().any(|f| f.name == r.field);
            if !supported {
                // Kinds with field labels of their own have a conversion function that names the
                // field; the others use upstream's default conversion and its message.
                let err = if field_labels.is_empty() {
                    fields::FieldLabelError::NotKnown(r.field.clone())
                } else {
                    fields::FieldLabelError::NotSupported(r.field.clone())
                };
                return Err(ApiError::bad_request(err.to_string()));
            }
        }
        Ok(SelectorFilter { labels, fields, field_labels })
    }

    /// True when the filter takes every object.
    pub fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

struct ObjectFields<'a> {
    obj: &'a CachedObject,
    names: &'static [FieldLabel],
}

impl fields::Fields for ObjectFields<'_> {
    fn field_value(&self, field: &str) -> Option<&str> {
        match field {
            "metadata.name" => Some(&self.obj.name),
            "metadata.namespace" => Some(&self.obj.namespace),
            _ => {
                let i = self.names.iter().position(|f| f.name == field)?;
                self.obj.fields.get(i).map(String::as_str)
            }
        }
    }
}

impl Filter for SelectorFilter {
    fn matches(&self, obj: &CachedObject) -> bool {
        self.labels.matches(&obj.labels) && self.fields.matches(&ObjectFields { obj, names: self.field_labels })
    }
}
