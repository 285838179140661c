//! Field manager names: the `fieldManager` query parameter, or upstream's default from the
//! User-Agent, and the parameter's validation.

use krs_apimachinery::validation::field::required;
use krs_apimachinery::validation::{self, ErrorList, FIELD_MANAGER_MAX_LENGTH, Path};

/// The manager of a write: `field_manager` when given, else the User-Agent up to its first
/// `/` without unprintable characters, cut to 128 bytes (`kubectl/v1.34.0 (linux/amd64)`
/// → `kubectl`; upstream's `managerOrUserAgent`). An empty result is recorded as `unknown`.
pub fn manager_or_user_agent(field_manager: &str, user_agent: &str) -> String {
    if !field_manager.is_empty() {
        return field_manager.to_owned();
    }
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    let max = FIELD_MANAGER_MAX_LENGTH as usize;
    for c in prefix.chars() {
        if !is_print(c) {
            continue;
        }
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// Go's `unicode.IsPrint`, as the `fieldManager` validation checks it.
fn is_print(c: char) -> bool {
    let mut buf = [0u8; 4];
    validation::validate_field_manager(c.encode_utf8(&mut buf), &Path::new("c")).is_empty()
}

/// The `fieldManager` parameter's checks (`ValidateFieldManager`, plus `ValidatePatchOptions`'
/// "is required for apply patch" when `apply`): at most 128 bytes of printable characters.
pub fn validate_field_manager(field_manager: &str, apply: bool) -> ErrorList {
    let path = Path::new("fieldManager");
    let mut errs = ErrorList::new();
    if apply && field_manager.is_empty() {
        errs.push(required(&path, "is required for apply patch"));
    }
    errs.append(validation::validate_field_manager(field_manager, &path));
    errs
}
