//! Query parameters of API requests.

use krs_apimachinery::validation::{ErrorList, Path, field};
use krs_store::Revision;

use crate::errors::ApiError;

/// The decoded query string.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(query: Option<&str>) -> Query {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (percent_decode(k), percent_decode(v)),
                None => (percent_decode(p), String::new()),
            })
            .collect();
        Query { pairs }
    }

    /// The first value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter (e.g. `dryRun=All&dryRun=All`).
    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A boolean parameter: "true"/"1" are true, "false"/"0"/"" false.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some("true" | "1" | "True") => Ok(Some(true)),
            Some("false" | "0" | "" | "False") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!("invalid value for {key}: {other:?}"))),
        }
    }

    /// A non-negative integer parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}: must be an integer"))),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// How a read relates to a resourceVersion (upstream's `resourceVersionMatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RvMatch {
    /// Unset: rv "" is a consistent read, "0" any, N not older than N (for lists).
    Unset,
    NotOlderThan,
    Exact,
}

/// Parameters of list and watch requests.
#[derive(Clone, Debug)]
pub struct ListParams {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: usize,
    pub continue_token: Option<String>,
    /// Parsed resourceVersion; `None` when absent or empty.
    pub resource_version: Option<Revision>,
    pub rv_match: RvMatch,
    pub timeout_seconds: Option<i64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
}

impl ListParams {
    /// Reads and validates the parameters of a list (`watch` false) or watch request, with
    /// upstream's ListOptions validation (422 Invalid).
    pub fn from_query(q: &Query, watch: bool) -> Result<ListParams, ApiError> {
        let resource_version = parse_rv(q.get("resourceVersion"))?;
        let rv_given = !q.get("resourceVersion").unwrap_or("").is_empty();
        let match_text = q.get("resourceVersionMatch").unwrap_or("");
        let rv_match = match match_text {
            "" => RvMatch::Unset,
            "NotOlderThan" => RvMatch::NotOlderThan,
            "Exact" => RvMatch::Exact,
            _ => RvMatch::Unset,
        };
        let continue_token = q.get("continue").filter(|s| !s.is_empty()).map(str::to_string);
        let send_initial_events = q.flag("sendInitialEvents")?;
        let path = Path::new("resourceVersionMatch");
        let mut errors = ErrorList::new();
        if watch {
            if send_initial_events.is_some() && match_text != "NotOlderThan" {
                errors.push(field::forbidden(
                    &path,
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if !match_text.is_empty() {
                if send_initial_events.is_none() {
                    errors.push(field::forbidden(
                        &path,
                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                    ));
                }
                if match_text != "NotOlderThan" {
                    errors.push(field::not_supported(&path, match_text, &["NotOlderThan"]));
                }
                if continue_token.is_some() {
                    errors.push(field::forbidden(&path, "resourceVersionMatch is forbidden when continue is provided"));
                }
            }
        } else {
            if !match_text.is_empty() {
                if !rv_given {
                    errors.push(field::forbidden(
                        &path,
                        "resourceVersionMatch is forbidden unless resourceVersion is provided",
                    ));
                }
                if continue_token.is_some() {
                    errors.push(field::forbidden(&path, "resourceVersionMatch is forbidden when continue is provided"));
                }
                if match_text != "Exact" && match_text != "NotOlderThan" {
                    errors.push(field::not_supported(&path, match_text, &["Exact", "NotOlderThan", ""]));
                }
                if match_text == "Exact" && resource_version == Some(0) {
                    errors.push(field::forbidden(
                        &path,
                        "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
            }
            if send_initial_events.is_some() {
                errors
                    .push(field::forbidden(&Path::new("sendInitialEvents"), "sendInitialEvents is forbidden for list"));
            }
        }
        if !errors.is_empty() {
            return Err(options_invalid("ListOptions", &errors));
        }
        if continue_token.is_some() && rv_given && resource_version != Some(0) {
            return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
        }
        let limit = q.int("limit")?.unwrap_or(0).max(0) as usize;
        Ok(ListParams {
            label_selector: q.get("labelSelector").filter(|s| !s.is_empty()).map(str::to_string),
            field_selector: q.get("fieldSelector").filter(|s| !s.is_empty()).map(str::to_string),
            limit,
            continue_token,
            resource_version,
            rv_match,
            timeout_seconds: q.int("timeoutSeconds")?,
            allow_watch_bookmarks: q.flag("allowWatchBookmarks")?.unwrap_or(false),
            send_initial_events,
        })
    }
}

/// 422 Invalid for request options (`ListOptions.meta.k8s.io "" is invalid: ...`).
pub fn options_invalid(kind: &str, errors: &ErrorList) -> ApiError {
    krs_apimachinery::status::new_invalid(&krs_apimachinery::status::GroupKind::new("meta.k8s.io", kind), "", errors)
        .into()
}

/// Parses a resourceVersion: empty → None, else a non-negative integer.
pub fn parse_rv(rv: Option<&str>) -> Result<Option<Revision>, ApiError> {
    match rv {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(ApiError::bad_request(format!("invalid resource version: {v:?}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_percent_decoded() {
        let q = Query::parse(Some("labelSelector=app%3Dweb%2Ctier+in+%28a%29&limit=5&watch=1"));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert_eq!(q.int("limit").unwrap(), Some(5));
        assert_eq!(q.flag("watch").unwrap(), Some(true));
        assert_eq!(Query::parse(Some("a=%zz%4")).get("a"), Some("%zz%4"));
    }

    #[test]
    fn resource_version_match_needs_a_version() {
        let q = Query::parse(Some("resourceVersionMatch=Exact"));
        assert_eq!(ListParams::from_query(&q, false).unwrap_err().code(), 422);
        let q = Query::parse(Some("resourceVersionMatch=Exact&resourceVersion=0"));
        assert_eq!(ListParams::from_query(&q, false).unwrap_err().code(), 422);
        let q = Query::parse(Some("resourceVersionMatch=NotOlderThan&resourceVersion=10"));
        let p = ListParams::from_query(&q, false).unwrap();
        assert_eq!((p.rv_match, p.resource_version), (RvMatch::NotOlderThan, Some(10)));
        assert!(ListParams::from_query(&Query::parse(Some("resourceVersion=abc")), false).is_err());
    }

    #[test]
    fn watch_list_needs_not_older_than_and_list_forbids_initial_events() {
        let ok =
            Query::parse(Some("sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"));
        assert!(ListParams::from_query(&ok, true).is_ok());
        let missing = Query::parse(Some("sendInitialEvents=true&allowWatchBookmarks=true"));
        assert_eq!(ListParams::from_query(&missing, true).unwrap_err().code(), 422);
        let plain = Query::parse(Some("resourceVersionMatch=NotOlderThan&resourceVersion=1"));
        assert_eq!(ListParams::from_query(&plain, true).unwrap_err().code(), 422);
        assert_eq!(
            ListParams::from_query(&Query::parse(Some("sendInitialEvents=true")), false).unwrap_err().code(),
            422
        );
        let cont = Query::parse(Some("continue=abc&resourceVersion=5"));
        assert_eq!(ListParams::from_query(&cont, false).unwrap_err().code(), 400);
    }
}
