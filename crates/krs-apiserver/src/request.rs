//! What a request addresses, parsed from its method and path as upstream's
//! `RequestInfoFactory` does: API prefix, group, version, namespace, resource, name,
//! subresource and verb.

use http::Method;

/// A request for an API resource (or for discovery, or a non-resource path).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// True for `/api/...` and `/apis/...` paths that name a resource.
    pub is_resource_request: bool,
    /// `api` or `apis` (empty for non-resource paths).
    pub api_prefix: String,
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// Path segments after the subresource (proxy paths).
    pub parts_after: Vec<String>,
    /// get, list, watch, create, update, patch, delete, deletecollection, or for non-resource
    /// requests the lower-case HTTP method.
    pub verb: String,
    pub path: String,
}

/// Sub-paths of a namespace object that are its subresources rather than resources inside it.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

impl RequestInfo {
    /// Parses a request. `watch` is whether the query asks for a watch (`watch=true|1`).
    pub fn parse(method: &Method, path: &str, watch: bool) -> RequestInfo {
        let mut info =
            RequestInfo { path: path.to_string(), verb: method.as_str().to_ascii_lowercase(), ..Default::default() };
        let mut parts: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        if parts.is_empty() {
            return info;
        }
        match parts[0] {
            "api" if parts.len() >= 2 => {
                info.api_prefix = "api".into();
                info.version = parts[1].into();
                parts.drain(..2);
            }
            "apis" if parts.len() >= 3 => {
                info.api_prefix = "apis".into();
                info.group = parts[1].into();
                info.version = parts[2].into();
                parts.drain(..3);
            }
            // Discovery (/api, /apis, /apis/<group>) and everything else: non-resource requests.
            _ => return info,
        }
        if parts.is_empty() {
            return info;
        }
        info.is_resource_request = true;

        let mut legacy_watch = false;
        if parts[0] == "watch" {
            legacy_watch = true;
            parts.remove(0);
            if parts.is_empty() {
                info.is_resource_request = false;
                return info;
            }
        }

        if parts[0] == "namespaces" {
            if parts.len() > 1 {
                info.namespace = parts[1].into();
                // /namespaces/<ns>/<resource>... addresses a resource inside the namespace,
                // except /namespaces/<ns>/status and /finalize, which are the namespace's own.
                if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                    parts.drain(..2);
                }
            }
        } else {
            info.namespace.clear();
        }

        info.resource = parts[0].into();
        if let Some(name) = parts.get(1) {
            info.name = (*name).into();
        }
        if let Some(sub) = parts.get(2) {
            info.subresource = (*sub).into();
        }
        if parts.len() > 3 {
            info.parts_after = parts[3..].iter().map(|s| s.to_string()).collect();
        }
        // A namespace addressed by name: /api/v1/namespaces/<name> names the namespace object.
        if info.resource == "namespaces" && !info.namespace.is_empty() && info.name.is_empty() {
            info.name = info.namespace.clone();
        }
        if info.resource == "namespaces" {
            // A namespace is cluster-scoped; its name must not be taken for a namespace.
            info.namespace.clear();
        }

        info.verb = match *method {
            Method::GET | Method::HEAD => {
                if legacy_watch || watch {
                    "watch"
                } else if info.name.is_empty() {
                    "list"
                } else {
                    "get"
                }
            }
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => {
                if info.name.is_empty() {
                    "deletecollection"
                } else {
                    "delete"
                }
            }
            _ => "",
        }
        .to_string();
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, path: &str) -> RequestInfo {
        RequestInfo::parse(&method, path, false)
    }

    #[test]
    fn namespaced_resources() {
        let r = parse(Method::GET, "/api/v1/namespaces/default/pods/p1");
        assert_eq!(
            (
                r.group.as_str(),
                r.version.as_str(),
                r.namespace.as_str(),
                r.resource.as_str(),
                r.name.as_str(),
                r.verb.as_str()
            ),
            ("", "v1", "default", "pods", "p1", "get")
        );
        let r = parse(Method::GET, "/apis/apps/v1/namespaces/ns/deployments");
        assert_eq!((r.group.as_str(), r.resource.as_str(), r.verb.as_str()), ("apps", "deployments", "list"));
        let r = parse(Method::PUT, "/apis/apps/v1/namespaces/ns/deployments/d/scale");
        assert_eq!((r.name.as_str(), r.subresource.as_str(), r.verb.as_str()), ("d", "scale", "update"));
        let r = parse(Method::DELETE, "/api/v1/namespaces/ns/configmaps");
        assert_eq!(r.verb, "deletecollection");
    }

    #[test]
    fn namespaces_and_their_subresources() {
        let r = parse(Method::GET, "/api/v1/namespaces/kube-system");
        assert_eq!(
            (r.resource.as_str(), r.name.as_str(), r.namespace.as_str(), r.verb.as_str()),
            ("namespaces", "kube-system", "", "get")
        );
        let r = parse(Method::PUT, "/api/v1/namespaces/foo/finalize");
        assert_eq!((r.resource.as_str(), r.name.as_str(), r.subresource.as_str()), ("namespaces", "foo", "finalize"));
        let r = parse(Method::GET, "/api/v1/namespaces");
        assert_eq!((r.resource.as_str(), r.verb.as_str()), ("namespaces", "list"));
    }

    #[test]
    fn cluster_scoped_and_all_namespaces() {
        let r = parse(Method::GET, "/api/v1/nodes/n1/status");
        assert_eq!(
            (r.resource.as_str(), r.name.as_str(), r.subresource.as_str(), r.namespace.as_str()),
            ("nodes", "n1", "status", "")
        );
        let r = parse(Method::GET, "/api/v1/pods");
        assert_eq!((r.resource.as_str(), r.verb.as_str(), r.namespace.as_str()), ("pods", "list", ""));
    }

    #[test]
    fn watches_by_parameter_and_by_legacy_path() {
        let r = RequestInfo::parse(&Method::GET, "/api/v1/namespaces/ns/pods", true);
        assert_eq!(r.verb, "watch");
        let r = parse(Method::GET, "/api/v1/watch/namespaces/ns/pods/p");
        assert_eq!(
            (r.verb.as_str(), r.namespace.as_str(), r.resource.as_str(), r.name.as_str()),
            ("watch", "ns", "pods", "p")
        );
    }

    #[test]
    fn discovery_and_other_paths_are_not_resource_requests() {
        for p in ["/api", "/apis", "/apis/apps", "/version", "/healthz", "/api/v1", "/apis/apps/v1"] {
            assert!(!parse(Method::GET, p).is_resource_request, "{p}");
        }
        let r = parse(Method::GET, "/apis/apps/v1");
        assert_eq!((r.group.as_str(), r.version.as_str()), ("apps", "v1"));
    }

    #[test]
    fn proxy_paths_keep_the_rest() {
        let r = parse(Method::GET, "/api/v1/namespaces/ns/pods/p:8080/proxy/a/b");
        assert_eq!((r.subresource.as_str(), r.parts_after.clone()), ("proxy", vec!["a".to_string(), "b".to_string()]));
    }
}
