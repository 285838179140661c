//! Query parameters of API requests.

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
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter (e.g. `dryRun=All&dryRun=All`).
    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter: "true"/"1" are true, "false"/"0"/"" false.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some("true" | "1" | "True") => Ok(Some(true)),
            Some("false" | "0" | "" | "False") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid value for {key}: {other:?}"
            ))),
        }
    }

    /// A non-negative integer parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value for {key}: {v:?}: must be an integer"
                ))
            }),
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
    pub fn from_query(q: &Query) -> Result<ListParams, ApiError> {
        let resource_version = parse_rv(q.get("resourceVersion"))?;
        let rv_match = match q.get("resourceVersionMatch") {
            None | Some("") => RvMatch::Unset,
            Some("NotOlderThan") => RvMatch::NotOlderThan,
            Some("Exact") => RvMatch::Exact,
            Some(other) => {
                return Err(ApiError::invalid_params(format!(
                    "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
                )));
            }
        };
        if rv_match != RvMatch::Unset && q.get("resourceVersion").unwrap_or("").is_empty() {
            return Err(ApiError::invalid_params(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
            ));
        }
        let limit = q.int("limit")?.unwrap_or(0).max(0) as usize;
        Ok(ListParams {
            label_selector: q
                .get("labelSelector")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            field_selector: q
                .get("fieldSelector")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            limit,
            continue_token: q
                .get("continue")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            resource_version,
            rv_match,
            timeout_seconds: q.int("timeoutSeconds")?,
            allow_watch_bookmarks: q.flag("allowWatchBookmarks")?.unwrap_or(false),
            send_initial_events: q.flag("sendInitialEvents")?,
        })
    }
}

/// Parses a resourceVersion: empty → None, else a non-negative integer.
pub fn parse_rv(rv: Option<&str>) -> Result<Option<Revision>, ApiError> {
    match rv {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(ApiError::bad_request(format!(
                "invalid resource version: {v:?}"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_percent_decoded() {
        let q = Query::parse(Some(
            "labelSelector=app%3Dweb%2Ctier+in+%28a%29&limit=5&watch=1",
        ));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert_eq!(q.int("limit").unwrap(), Some(5));
        assert_eq!(q.flag("watch").unwrap(), Some(true));
        assert_eq!(Query::parse(Some("a=%zz%4")).get("a"), Some("%zz%4"));
    }

    #[test]
    fn resource_version_match_needs_a_version() {
        let q = Query::parse(Some("resourceVersionMatch=Exact"));
        assert!(ListParams::from_query(&q).is_err());
        let q = Query::parse(Some("resourceVersionMatch=NotOlderThan&resourceVersion=10"));
        let p = ListParams::from_query(&q).unwrap();
        assert_eq!(
            (p.rv_match, p.resource_version),
            (RvMatch::NotOlderThan, Some(10))
        );
        assert!(ListParams::from_query(&Query::parse(Some("resourceVersion=abc"))).is_err());
    }
}
