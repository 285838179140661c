//! Media types: decoding request bodies (JSON, YAML, protobuf) and choosing the response
//! encoding from the Accept header (JSON, YAML, protobuf; Table and PartialObjectMetadata
//! views; aggregated discovery).

use bytes::Bytes;

pub const JSON: &str = "application/json";
pub const YAML: &str = "application/yaml";
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
pub const PROTOBUF_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch";
pub const JSON_PATCH: &str = "application/json-patch+json";
pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// A media type with its parameters, from a Content-Type or one entry of an Accept header.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaType {
    /// `type/subtype`, lower-cased.
    pub essence: String,
    pub params: Vec<(String, String)>,
    pub q: f32,
}

impl MediaType {
    pub fn parse(s: &str) -> Option<MediaType> {
        let mut parts = s.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        if essence.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        let mut q = 1.0;
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string());
            if k == "q" {
                q = v.parse().unwrap_or(0.0);
            } else {
                params.push((k, v));
            }
        }
        Some(MediaType { essence, params, q })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Parses an Accept header into its entries, most preferred first (stable for equal q).
    pub fn parse_accept(header: &str) -> Vec<MediaType> {
        let mut types: Vec<MediaType> = header.split(',').filter_map(MediaType::parse).filter(|m| m.q > 0.0).collect();
        types.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
        types
    }

    fn matches(&self, essence: &str) -> bool {
        self.essence == essence
            || self.essence == "*/*"
            || (self.essence.ends_with("/*") && essence.starts_with(&self.essence[..self.essence.len() - 1]))
    }
}

/// The serialization of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Protobuf,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Yaml => YAML,
            Format::Protobuf => PROTOBUF,
        }
    }
}

/// What the client wants back for an object or list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Object,
    /// meta.k8s.io Table (server-side printing).
    Table,
    /// meta.k8s.io PartialObjectMetadata(List).
    Metadata,
}

/// The outcome of content negotiation for an object, list or watch response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub format: Format,
    pub view: View,
}

/// Negotiates the response for resource requests. `None` means nothing acceptable (406).
pub fn negotiate(accept: Option<&str>, watch: bool) -> Option<Negotiated> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Negotiated { format: Format::Json, view: View::Object });
    };
    for m in MediaType::parse_accept(accept) {
        let view = match m.param("as") {
            None => View::Object,
            Some("Table") if m.param("g") == Some("meta.k8s.io") && matches!(m.param("v"), Some("v1" | "v1beta1")) => {
                View::Table
            }
            Some("PartialObjectMetadata" | "PartialObjectMetadataList")
                if m.param("g") == Some("meta.k8s.io") && matches!(m.param("v"), Some("v1" | "v1beta1")) =>
            {
                View::Metadata
            }
            // An unknown `as=` (an aggregated discovery type sent to a resource, say): skip.
            Some(_) => continue,
        };
        if watch && view == View::Table {
            // Tables are served for watches too (kubectl get -w), in JSON.
        }
        let format = if m.matches(JSON) || m.essence == "application/json;stream=watch" {
            Format::Json
        } else if m.essence == PROTOBUF && view != View::Table {
            Format::Protobuf
        } else if m.essence == YAML && !watch {
            Format::Yaml
        } else {
            continue;
        };
        return Some(Negotiated { format, view });
    }
    None
}

/// Which discovery document a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryFormat {
    Legacy,
    /// apidiscovery.k8s.io APIGroupDiscoveryList, in version v2 or v2beta1.
    Aggregated {
        v2: bool,
    },
}

/// Negotiates discovery: aggregated (v2, v2beta1) when asked for first, else legacy JSON.
pub fn negotiate_discovery(accept: Option<&str>) -> DiscoveryFormat {
    for m in MediaType::parse_accept(accept.unwrap_or("")) {
        if m.param("as") == Some("APIGroupDiscoveryList") && m.param("g") == Some("apidiscovery.k8s.io") {
            match m.param("v") {
                Some("v2") => return DiscoveryFormat::Aggregated { v2: true },
                Some("v2beta1") => return DiscoveryFormat::Aggregated { v2: false },
                _ => continue,
            }
        }
        if m.param("as").is_none() && (m.matches(JSON) || m.essence == PROTOBUF) {
            return DiscoveryFormat::Legacy;
        }
    }
    DiscoveryFormat::Legacy
}

/// A request body format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Yaml,
    Protobuf,
}

impl BodyFormat {
    /// The body format of a Content-Type for create/update; `None` is unsupported (415).
    pub fn from_content_type(content_type: Option<&str>) -> Option<BodyFormat> {
        let Some(ct) = content_type else {
            return Some(BodyFormat::Json);
        };
        let m = MediaType::parse(ct)?;
        match m.essence.as_str() {
            JSON => Some(BodyFormat::Json),
            YAML | "application/x-yaml" | "text/yaml" => Some(BodyFormat::Yaml),
            PROTOBUF => Some(BodyFormat::Protobuf),
            _ => None,
        }
    }
}

/// Why a body could not be decoded (answered with 400 BadRequest).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Json(String),
    #[error("error converting YAML to JSON: {0}")]
    Yaml(String),
    #[error("{0}")]
    Protobuf(String),
}

/// Decodes a request body of any supported format into a JSON value.
pub fn decode_value(body: &Bytes, format: BodyFormat) -> Result<serde_json::Value, DecodeError> {
    match format {
        BodyFormat::Json => serde_json::from_slice(body).map_err(|e| DecodeError::Json(json_error(&e))),
        BodyFormat::Yaml => yaml_to_json(body),
        BodyFormat::Protobuf => krs_proto::decode_object(body).map_err(|e| DecodeError::Protobuf(e.to_string())),
    }
}

/// Parses YAML (one document) into a JSON value.
pub fn yaml_to_json(body: &[u8]) -> Result<serde_json::Value, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|e| DecodeError::Yaml(e.to_string()))?;
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| DecodeError::Yaml(e.to_string()))
}

/// A JSON syntax or type error as upstream words it, with the position.
pub fn json_error(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("json: {e}")
        }
        _ => format!("json: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_asks_for_tables_first() {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(accept), false), Some(Negotiated { format: Format::Json, view: View::Table }));
    }

    #[test]
    fn client_go_asks_for_protobuf_first() {
        let n = negotiate(Some("application/vnd.kubernetes.protobuf, */*"), false).unwrap();
        assert_eq!(n.format, Format::Protobuf);
        let n =
            negotiate(Some("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json"), false)
                .unwrap();
        assert_eq!(n, Negotiated { format: Format::Json, view: View::Object });
    }

    #[test]
    fn no_accept_means_json_and_nonsense_means_none() {
        assert_eq!(negotiate(None, false).unwrap().format, Format::Json);
        assert_eq!(negotiate(Some("text/html"), false), None);
        assert_eq!(negotiate(Some("application/yaml"), false).unwrap().format, Format::Yaml);
    }

    #[test]
    fn discovery_prefers_aggregated_when_asked() {
        let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(negotiate_discovery(Some(v2)), DiscoveryFormat::Aggregated { v2: true });
        let v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(negotiate_discovery(Some(v2beta1)), DiscoveryFormat::Aggregated { v2: false });
        assert_eq!(negotiate_discovery(Some("application/json")), DiscoveryFormat::Legacy);
    }

    #[test]
    fn yaml_bodies_become_json() {
        let v = yaml_to_json(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: '1'\n").unwrap();
        assert_eq!(v["data"]["k"], "1");
        assert!(yaml_to_json(b"a: [1, 2").is_err());
    }
}
