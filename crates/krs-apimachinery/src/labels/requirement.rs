//! One requirement of a label selector: a key, an operator and values.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use crate::selection::Operator;
use crate::validation::{BadValue, ErrorList, Path, field, is_qualified_name, is_valid_label_value};

/// A set of labels a selector can be matched against (`labels.Labels`).
pub trait Labels {
    /// The value of `label`, if present.
    fn lookup(&self, label: &str) -> Option<&str>;

    /// Whether `label` is present.
    fn has(&self, label: &str) -> bool {
        self.lookup(label).is_some()
    }
}

impl Labels for BTreeMap<String, String> {
    fn lookup(&self, label: &str) -> Option<&str> {
        self.get(label).map(String::as_str)
    }
}

impl<S: BuildHasher> Labels for HashMap<String, String, S> {
    fn lookup(&self, label: &str) -> Option<&str> {
        self.get(label).map(String::as_str)
    }
}

impl<T: Labels + ?Sized> Labels for &T {
    fn lookup(&self, label: &str) -> Option<&str> {
        (**self).lookup(label)
    }
}

/// An object's possibly-absent labels (`metadata.labels` is optional): absent means none.
impl<T: Labels> Labels for Option<T> {
    fn lookup(&self, label: &str) -> Option<&str> {
        self.as_ref().and_then(|l| l.lookup(label))
    }
}

/// A key is a qualified name (`validateLabelKey`).
pub(crate) fn validate_label_key(key: &str, path: &Path) -> Option<crate::validation::FieldError> {
    let errs = is_qualified_name(key);
    (!errs.is_empty()).then(|| field::invalid(path, key, errs.join("; ")))
}

/// A value is a label value; the error is reported at `path[key]` (`validateLabelValue`).
fn validate_label_value(key: &str, value: &str, path: &Path) -> Option<crate::validation::FieldError> {
    let errs = is_valid_label_value(value);
    (!errs.is_empty()).then(|| field::invalid(&path.key(key), value, errs.join("; ")))
}

/// A requirement: `key`, an [`Operator`], and the values it relates the key to
/// (`labels.Requirement`). Build one with [`Requirement::new`], which validates it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// A validated requirement (`NewRequirement`):
    /// - the key is a qualified name;
    /// - `In`/`NotIn` need at least one value; `=`, `==`, `!=` exactly one; `Exists` and
    ///   `DoesNotExist` none; `Gt`/`Lt` exactly one, an integer;
    /// - every value is a valid label value (the empty string is one).
    ///
    /// All problems are returned together, with paths relative to the requirement (`key`,
    /// `values`, `values[0][key]`).
    ///
    /// ```
    /// use krs_apimachinery::labels::Requirement;
    /// use krs_apimachinery::selection::Operator;
    /// let r = Requirement::new("env", Operator::In, vec!["prod".into(), "dev".into()]).unwrap();
    /// assert_eq!(r.to_string(), "env in (dev,prod)");
    /// let err = Requirement::new("x", Operator::Equals, vec![]).unwrap_err();
    /// assert_eq!(err.to_string(), "values: Invalid value: []: exact-match compatibility requires one single value");
    /// ```
    pub fn new(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Result<Requirement, ErrorList> {
        Requirement::new_with_path(key, operator, values, &Path::default())
    }

    /// [`Requirement::new`], with error paths under `path` (`field.WithPath`).
    pub fn new_with_path(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
        path: &Path,
    ) -> Result<Requirement, ErrorList> {
        Requirement::build(key.into(), operator, values, path, false)
    }

    /// Validates and builds. `nil_values` renders an empty value list as JSON `null` in errors,
    /// as upstream does where it passes a nil slice (conversions from API objects).
    pub(crate) fn build(
        key: String,
        operator: Operator,
        values: Vec<String>,
        path: &Path,
        nil_values: bool,
    ) -> Result<Requirement, ErrorList> {
        let mut errs = ErrorList::new();
        if let Some(e) = validate_label_key(&key, &path.child("key")) {
            errs.push(e);
        }
        let value_path = path.child("values");
        let list = || {
            if nil_values && values.is_empty() { BadValue::null() } else { BadValue::string_list(&values) }
        };
        match operator {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errs.push(field::invalid(
                        &value_path,
                        list(),
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errs.push(field::invalid(
                        &value_path,
                        list(),
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(field::invalid(
                        &value_path,
                        list(),
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(field::invalid(
                        &value_path,
                        list(),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(field::invalid(
                            &value_path.index(i),
                            v,
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(e) = validate_label_value(&key, v, &value_path.index(i)) {
                errs.push(e);
            }
        }
        if errs.is_empty() { Ok(Requirement { key, operator, values }) } else { Err(errs) }
    }

    /// A requirement built without validation, for values known to be valid (e.g. from a
    /// validated object's labels).
    pub fn new_unchecked(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Requirement {
        Requirement { key: key.into(), operator, values }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, in the order given.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` satisfy the requirement (`Requirement.Matches`):
    /// - `In`, `=`, `==`: the key is present with one of the values;
    /// - `NotIn`, `!=`: the key is absent, or present with none of the values;
    /// - `Exists` / `DoesNotExist`: the key is present / absent;
    /// - `Gt` / `Lt`: the key is present, its value and the requirement's single value are
    ///   integers, and the label's is greater / less.
    pub fn matches(&self, labels: &impl Labels) -> bool {
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                labels.lookup(&self.key).is_some_and(|v| self.values.iter().any(|x| x == v))
            }
            Operator::NotIn | Operator::NotEquals => {
                labels.lookup(&self.key).is_none_or(|v| !self.values.iter().any(|x| x == v))
            }
            Operator::Exists => labels.has(&self.key),
            Operator::DoesNotExist => !labels.has(&self.key),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(Ok(label_value)) = labels.lookup(&self.key).map(str::parse::<i64>) else {
                    return false;
                };
                let [value] = self.values.as_slice() else {
                    return false;
                };
                let Ok(value) = value.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { label_value > value } else { label_value < value }
            }
        }
    }
}

/// Upstream's string form: `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`,
/// `key>v`, `key<v`, `key`, `!key`; several values print sorted.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (op, parens) = match self.operator {
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        if parens {
            f.write_str("(")?;
        }
        if let [only] = self.values.as_slice() {
            f.write_str(only)?;
        } else {
            let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            f.write_str(&sorted.join(","))?;
        }
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}
