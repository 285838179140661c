//! Format checks for names, labels, ports and keys (`k8s.io/apimachinery/pkg/util/validation`).
//!
//! Each `is_*` function returns the list of problems (empty when valid) in upstream's words. The
//! messages embed upstream's regular expressions verbatim, because users (and tests) read them;
//! the matching itself is done by hand-written scanners equivalent to those expressions.

use super::{ErrorList, Path, field};

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX_LENGTH: usize = 63;

const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
/// The longest label value.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
/// The longest DNS (RFC 1123) label.
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;

const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_UNDERSCORE_FMT: &str = "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_UNDERSCORE_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character";
/// The longest DNS (RFC 1123) subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
/// The longest DNS (RFC 1035) label.
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;

const WILDCARD_DNS1123_SUBDOMAIN_FMT: &str = "\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const WILDCARD_DNS1123_SUBDOMAIN_ERR_MSG: &str = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

const C_IDENTIFIER_FMT: &str = "[A-Za-z_][A-Za-z0-9_]*";
const C_IDENTIFIER_ERR_MSG: &str = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";

const PERCENT_FMT: &str = "[0-9]+%";
const PERCENT_ERR_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%'";

const HTTP_HEADER_NAME_FMT: &str = "[-A-Za-z0-9]+";
const HTTP_HEADER_NAME_ERR_MSG: &str = "a valid HTTP header must consist of alphanumeric characters or '-'";

const ENV_VAR_NAME_FMT: &str = "[-._a-zA-Z][-._a-zA-Z0-9]*";
const ENV_VAR_NAME_ERR_MSG: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";
const RELAXED_ENV_VAR_NAME_ERR_MSG: &str =
    "a valid environment variable name must consist only of printable ASCII characters other than '='";

const CONFIG_MAP_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_MAP_KEY_ERR_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

const HTTP_PATH_FMT: &str = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+";

/// `must be no more than N characters`.
pub fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// Upstream's explanation of a failed regular expression, with examples:
/// `<msg> (e.g. 'a' or 'b', regex used for validation is '<fmt>')`.
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push('\'');
        s.push_str(e);
        s.push_str("', ");
    }
    s.push_str("regex used for validation is '");
    s.push_str(fmt);
    s.push_str("')");
    s
}

/// `must be non-empty`.
pub fn empty_error() -> String {
    "must be non-empty".to_owned()
}

/// `must be between LO and HI, inclusive`.
pub fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// A non-empty run whose first and last bytes satisfy `edge` and inner bytes satisfy `inner`
/// (the shape `E(I*E)?` shared by most of upstream's expressions).
fn edged(s: &[u8], edge: fn(u8) -> bool, inner: fn(u8) -> bool) -> bool {
    match s {
        [] => false,
        [one] => edge(*one),
        [first, middle @ .., last] => edge(*first) && edge(*last) && middle.iter().all(|b| inner(*b)),
    }
}

fn matches_qualified_name(s: &str) -> bool {
    edged(s.as_bytes(), is_alnum, |b| is_alnum(b) || matches!(b, b'-' | b'_' | b'.'))
}

fn matches_dns1123_label(s: &str) -> bool {
    edged(s.as_bytes(), is_lower_alnum, |b| is_lower_alnum(b) || b == b'-')
}

fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(matches_dns1123_label)
}

fn matches_dns1123_label_with_underscore(s: &str) -> bool {
    let s = s.strip_prefix('_').unwrap_or(s);
    edged(s.as_bytes(), is_lower_alnum, |b| is_lower_alnum(b) || b == b'-' || b == b'_')
}

fn matches_dns1035_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b[0].is_ascii_lowercase() && matches_dns1123_label(s)
}

fn all_nonempty(s: &str, ok: fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(ok)
}

/// A qualified name: an optional DNS subdomain prefix and `/`, then a name of at most 63
/// alphanumerics, `-`, `_`, `.` starting and ending alphanumeric (`IsQualifiedName`). Label
/// keys, annotation keys and finalizers are qualified names.
///
/// ```
/// use krs_apimachinery::validation::is_qualified_name;
/// assert!(is_qualified_name("example.com/MyName").is_empty());
/// assert_eq!(is_qualified_name("a/b/c").len(), 1);
/// ```
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {}", empty_error()));
            } else {
                errs.extend(is_dns1123_subdomain(prefix).into_iter().map(|m| format!("prefix part {m}")));
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {}", empty_error()));
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX_LENGTH)));
    }
    if !matches_qualified_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
        ));
    }
    errs
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.` starting and ending
/// alphanumeric (`IsValidLabelValue`).
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errs.push(regex_error(LABEL_VALUE_ERR_MSG, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errs
}

/// A DNS label (RFC 1123): at most 63 lower-case alphanumerics or `-`, starting and ending
/// alphanumeric (`IsDNS1123Label`).
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            // A valid subdomain that is not a label: given the length check, it has dots.
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(DNS1123_LABEL_ERR_MSG, DNS1123_LABEL_FMT, &["my-name", "123-abc"]));
        }
    }
    errs
}

/// A DNS subdomain (RFC 1123): dot-separated DNS labels, at most 253 characters
/// (`IsDNS1123Subdomain`). Most object names must be one.
///
/// ```
/// use krs_apimachinery::validation::is_dns1123_subdomain;
/// assert!(is_dns1123_subdomain("example.com").is_empty());
/// assert_eq!(
///     is_dns1123_subdomain("Foo"),
///     vec!["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string()]
/// );
/// ```
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(DNS1123_SUBDOMAIN_ERR_MSG, DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

/// A DNS subdomain whose labels may also contain `_` and start with one
/// (`IsDNS1123SubdomainWithUnderscore`).
pub fn is_dns1123_subdomain_with_underscore(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !value.split('.').all(matches_dns1123_label_with_underscore) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_UNDERSCORE_ERR_MSG,
            DNS1123_SUBDOMAIN_UNDERSCORE_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// A DNS label (RFC 1035): like an RFC 1123 label but starting with a letter
/// (`IsDNS1035Label`). Service names must be one.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1035_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errs.push(regex_error(DNS1035_LABEL_ERR_MSG, DNS1035_LABEL_FMT, &["my-name", "abc-123"]));
    }
    errs
}

/// A wildcard subdomain (RFC 1034 section 4.3.3): `*.` followed by a DNS subdomain
/// (`IsWildcardDNS1123Subdomain`).
pub fn is_wildcard_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !value.strip_prefix("*.").is_some_and(matches_dns1123_subdomain) {
        errs.push(regex_error(WILDCARD_DNS1123_SUBDOMAIN_ERR_MSG, WILDCARD_DNS1123_SUBDOMAIN_FMT, &["*.example.com"]));
    }
    errs
}

/// A C identifier (`IsCIdentifier`); the length is not checked.
pub fn is_c_identifier(value: &str) -> Vec<String> {
    let b = value.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if ok {
        Vec::new()
    } else {
        vec![regex_error(C_IDENTIFIER_ERR_MSG, C_IDENTIFIER_FMT, &["my_name", "MY_NAME", "MyName"])]
    }
}

/// A non-zero port number, 1 to 65535 (`IsValidPortNum`).
pub fn is_valid_port_num(port: i64) -> Vec<String> {
    is_in_range(port, 1, 65535)
}

/// A value within `[min, max]` (`IsInRange`).
pub fn is_in_range(value: i64, min: i64, max: i64) -> Vec<String> {
    if (min..=max).contains(&value) { Vec::new() } else { vec![inclusive_range_error(min, max)] }
}

/// A Unix group id, 0 to 2^31-1 (`IsValidGroupID`).
pub fn is_valid_group_id(gid: i64) -> Vec<String> {
    is_in_range(gid, 0, i64::from(i32::MAX))
}

/// A Unix user id, 0 to 2^31-1 (`IsValidUserID`).
pub fn is_valid_user_id(uid: i64) -> Vec<String> {
    is_in_range(uid, 0, i64::from(i32::MAX))
}

/// An IANA service name (`IsValidPortName`): at most 15 of `[-a-z0-9]`, at least one letter,
/// no leading, trailing or doubled hyphen.
pub fn is_valid_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    if !all_nonempty(port, |b| is_lower_alnum(b) || b == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned());
    }
    if !port.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_owned());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_owned());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_owned());
    }
    errs
}

/// A percentage: digits followed by `%` (`IsValidPercent`).
pub fn is_valid_percent(percent: &str) -> Vec<String> {
    let ok = percent.strip_suffix('%').is_some_and(|d| all_nonempty(d, |b| b.is_ascii_digit()));
    if ok { Vec::new() } else { vec![regex_error(PERCENT_ERR_MSG, PERCENT_FMT, &["1%", "93%"])] }
}

/// An HTTP header name: alphanumerics and `-` (`IsHTTPHeaderName`).
pub fn is_http_header_name(value: &str) -> Vec<String> {
    if all_nonempty(value, |b| b.is_ascii_alphanumeric() || b == b'-') {
        Vec::new()
    } else {
        vec![regex_error(HTTP_HEADER_NAME_ERR_MSG, HTTP_HEADER_NAME_FMT, &["X-Header-Name"])]
    }
}

fn has_chdir_prefix(value: &str) -> Vec<String> {
    match value {
        "." => vec!["must not be '.'".to_owned()],
        ".." => vec!["must not be '..'".to_owned()],
        v if v.starts_with("..") => vec!["must not start with '..'".to_owned()],
        _ => Vec::new(),
    }
}

/// An environment variable name (`IsEnvVarName`).
pub fn is_env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let word = |b: u8| b.is_ascii_alphabetic() || matches!(b, b'-' | b'.' | b'_');
    let b = value.as_bytes();
    if b.is_empty() || !word(b[0]) || !b.iter().all(|c| word(*c) || c.is_ascii_digit()) {
        errs.push(regex_error(ENV_VAR_NAME_ERR_MSG, ENV_VAR_NAME_FMT, &["my.env-name", "MY_ENV.NAME", "MyEnvName1"]));
    }
    errs.extend(has_chdir_prefix(value));
    errs
}

/// An environment variable name under relaxed rules: printable ASCII except `=`
/// (`IsRelaxedEnvVarName`).
pub fn is_relaxed_env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.is_empty() {
        errs.push(format!("environment variable name {}", empty_error()));
    }
    if value.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        errs.push(RELAXED_ENV_VAR_NAME_ERR_MSG.to_owned());
    }
    errs
}

/// A ConfigMap or Secret key: at most 253 of alphanumerics, `-`, `_`, `.`, and not `.`, `..`
/// or starting with `..` (`IsConfigMapKey`).
pub fn is_config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !all_nonempty(value, |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')) {
        errs.push(regex_error(CONFIG_MAP_KEY_ERR_MSG, CONFIG_MAP_KEY_FMT, &["key.name", "KEY_NAME", "key-name"]));
    }
    errs.extend(has_chdir_prefix(value));
    errs
}

/// A fully qualified name with at least three dot-separated segments and no trailing dot
/// (`IsFullyQualifiedName`, deprecated upstream in favour of
/// [`is_fully_qualified_domain_name`]).
pub fn is_fully_qualified_name(path: &Path, name: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if name.is_empty() {
        errs.push(field::required(path, ""));
        return errs;
    }
    let msgs = is_dns1123_subdomain(name);
    if !msgs.is_empty() {
        errs.push(field::invalid(path, name, msgs.join(",")));
        return errs;
    }
    if name.split('.').count() < 3 {
        errs.push(field::invalid(path, name, "should be a domain with at least three segments separated by dots"));
    }
    errs
}

/// A fully qualified domain name with at least two segments; a trailing dot is allowed
/// (`IsFullyQualifiedDomainName`).
pub fn is_fully_qualified_domain_name(path: &Path, name: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if name.is_empty() {
        errs.push(field::required(path, ""));
        return errs;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let msgs = is_dns1123_subdomain(name);
    if !msgs.is_empty() {
        errs.push(field::invalid(path, name, msgs.join(",")));
        return errs;
    }
    if name.split('.').count() < 2 {
        errs.push(field::invalid(path, name, "should be a domain with at least two segments separated by dots"));
        return errs;
    }
    for label in name.split('.') {
        let msgs = is_dns1123_label(label);
        if !msgs.is_empty() {
            errs.push(field::invalid(path, label, msgs.join(",")));
            return errs;
        }
    }
    errs
}

/// A DNS subdomain, `/`, and an HTTP path (RFC 3986 characters), e.g. `acme.io/foo`
/// (`IsDomainPrefixedPath`).
pub fn is_domain_prefixed_path(path: &Path, dp_path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if dp_path.is_empty() {
        errs.push(field::required(path, ""));
        return errs;
    }
    let (host, http_path) = match dp_path.split_once('/') {
        Some((h, p)) if !h.is_empty() && !p.is_empty() => (h, p),
        _ => {
            errs.push(field::invalid(path, dp_path, "must be a domain-prefixed path (such as \"acme.io/foo\")"));
            return errs;
        }
    };
    for msg in is_dns1123_subdomain(host) {
        errs.push(field::invalid(path, host, msg));
    }
    let path_char = |b: u8| b.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:".contains(&b);
    if !all_nonempty(http_path, path_char) {
        errs.push(field::invalid(path, http_path, regex_error("Invalid path", HTTP_PATH_FMT, &[])));
    }
    errs
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
