//! The request parameters of the API's operations: path segments and query options.
//!
//! The operation of each verb takes the same query options on every resource (ListOptions,
//! CreateOptions, PatchOptions, DeleteOptions, the log and connect options of pods); the sets
//! below are in upstream's (alphabetical) order.

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
}

/// A non-body parameter.
#[derive(Clone, Debug)]
pub(crate) struct Parameter {
    pub name: &'static str,
    pub location: Location,
    /// The swagger primitive type: string, integer or boolean.
    pub kind: &'static str,
    pub description: String,
    pub required: bool,
}

/// The query options of a list (and of a watch through the list path).
pub(crate) const LIST: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];

/// The query options of a create or an update.
pub(crate) const WRITE: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];

/// The query options of a patch.
pub(crate) const PATCH: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];

/// The query options of a delete.
pub(crate) const DELETE: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
];

/// The query options of a deletecollection: a delete's and a list's but watching.
pub(crate) const DELETE_COLLECTION: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];

/// The query options of a pod's log.
pub(crate) const LOG: &[&str] = &[
    "container",
    "follow",
    "insecureSkipTLSVerifyBackend",
    "limitBytes",
    "previous",
    "sinceSeconds",
    "stream",
    "tailLines",
    "timestamps",
];

/// The query options of a connect subresource, by the kind of its options.
pub(crate) fn connect(options_kind: &str) -> &'static [&'static str] {
    match options_kind {
        "PodExecOptions" => &["command", "container", "stderr", "stdin", "stdout", "tty"],
        "PodAttachOptions" => &["container", "stderr", "stdin", "stdout", "tty"],
        "PodPortForwardOptions" => &["ports"],
        "PodProxyOptions" | "NodeProxyOptions" | "ServiceProxyOptions" => &["path"],
        _ => &[],
    }
}

/// The query parameters named by `names`.
pub(crate) fn queries(names: &[&'static str]) -> Vec<Parameter> {
    names.iter().map(|name| query(name)).collect()
}

/// `pretty`, which every path takes.
pub(crate) fn pretty() -> Parameter {
    query("pretty")
}

/// The `{name}` path segment of an object of `kind`.
pub(crate) fn name(kind: &str) -> Parameter {
    path("name", format!("name of the {kind}"))
}

/// The `{namespace}` path segment.
pub(crate) fn namespace() -> Parameter {
    path("namespace", "The namespace of the object.".to_string())
}

/// The `{path}` segment of a proxy subresource.
pub(crate) fn proxy_path() -> Parameter {
    path("path", "The path of the proxied request.".to_string())
}

fn path(name: &'static str, description: String) -> Parameter {
    Parameter { name, location: Location::Path, kind: "string", description, required: true }
}

fn query(name: &'static str) -> Parameter {
    let (kind, description) = describe(name);
    Parameter { name, location: Location::Query, kind, description: description.to_string(), required: false }
}

/// The type and description of a query option.
fn describe(name: &str) -> (&'static str, &'static str) {
    match name {
        "pretty" => ("string", "If 'true', the output is pretty printed."),
        "allowWatchBookmarks" => (
            "boolean",
            "Asks for watch events of type BOOKMARK, which the server sends at its discretion. Ignored unless watching.",
        ),
        "continue" => (
            "string",
            "The continue token of a previous chunk of a list, to read the next chunk of the same query. Expired tokens are refused with 410 Gone.",
        ),
        "fieldSelector" => ("string", "Restricts the objects by their fields. Defaults to everything."),
        "labelSelector" => ("string", "Restricts the objects by their labels. Defaults to everything."),
        "limit" => (
            "integer",
            "The most objects to return in one chunk; when more exist, the list's metadata holds a continue token for the next chunk.",
        ),
        "resourceVersion" => (
            "string",
            "Constrains the resource version the request is served at, as resourceVersionMatch says. Defaults to unset (the latest).",
        ),
        "resourceVersionMatch" => {
            ("string", "How resourceVersion applies to a list: Exact or NotOlderThan. Defaults to unset.")
        }
        "sendInitialEvents" => (
            "boolean",
            "With watch=true, starts the watch with an ADDED event per existing object, then a bookmark annotated k8s.io/initial-events-end.",
        ),
        "timeoutSeconds" => ("integer", "Ends the list or watch call after this many seconds, whatever its activity."),
        "watch" => (
            "boolean",
            "Watches the described objects: the response is a stream of their additions, changes and deletions.",
        ),
        "dryRun" => (
            "string",
            "When present, the changes are validated but not persisted. The only valid value is All: all dry run stages are processed.",
        ),
        "fieldManager" => (
            "string",
            "The name of the actor making the changes, at most 128 printable characters. Required for apply patches.",
        ),
        "fieldValidation" => (
            "string",
            "How the server handles unknown and duplicate fields of the request's object: Ignore drops them, Warn drops them with a warning per field, Strict refuses the request.",
        ),
        "force" => (
            "boolean",
            "Forces an apply patch: the requester takes over the fields other managers own. Must be unset for other patch types.",
        ),
        "gracePeriodSeconds" => (
            "integer",
            "Seconds before the object is deleted; zero deletes it immediately. Defaults to the kind's grace period.",
        ),
        "ignoreStoreReadErrorWithClusterBreakingPotential" => (
            "boolean",
            "Deletes an object that cannot be read from storage, skipping finalizers and preconditions. Unsafe: use only for corrupt objects.",
        ),
        "orphanDependents" => {
            ("boolean", "Deprecated, use propagationPolicy: whether the object's dependents are orphaned.")
        }
        "propagationPolicy" => (
            "string",
            "Whether and how the garbage collector deletes the object's dependents: Orphan, Background or Foreground.",
        ),
        "container" => ("string", "The container to use; defaults to the only container of the pod."),
        "follow" => ("boolean", "Streams the log as it grows."),
        "insecureSkipTLSVerifyBackend" => {
            ("boolean", "Skips the verification of the serving certificate of the kubelet the log is read from.")
        }
        "limitBytes" => ("integer", "The most bytes of log to return."),
        "previous" => ("boolean", "Returns the log of the container's previous, terminated instance."),
        "sinceSeconds" => ("integer", "Returns only the log of the last seconds."),
        "stream" => ("string", "The stream of the log: All, Stdout or Stderr. Defaults to All."),
        "tailLines" => ("integer", "Returns only the last lines of the log."),
        "timestamps" => ("boolean", "Prefixes every line of the log with its RFC3339 timestamp."),
        "command" => ("string", "The command to run, one argument per parameter."),
        "stderr" => ("boolean", "Connects the standard error of the command."),
        "stdin" => ("boolean", "Connects the standard input of the command."),
        "stdout" => ("boolean", "Connects the standard output of the command."),
        "tty" => ("boolean", "Allocates a terminal to the command."),
        "ports" => ("integer", "The ports to forward."),
        "path" => ("string", "The path of the proxied request."),
        _ => ("string", ""),
    }
}
