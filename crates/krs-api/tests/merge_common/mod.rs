//! Shared helpers of the strategic merge patch tests.

#![allow(dead_code)]

use krs_api::merge::{MergeError, TypeRef, lookup, strategic_merge_patch};
use serde_json::Value;

/// Where a ported upstream case is rooted: upstream's test type (MergeItem) mapped onto a
/// real type with the same patch metadata.
#[derive(Clone, Copy, Debug)]
pub enum Root {
    /// ObjectMeta: ownerReferences (merge by uid), finalizers (merge scalars), managedFields
    /// (atomic), labels.
    Meta,
    /// PodSpec: containers / initContainers (merge by name; ports by containerPort and
    /// volumeMounts by mountPath inside), tolerations (atomic), nodeSelector, volumes
    /// (merge,retainKeys by name).
    Spec,
    /// ServiceSpec: externalIPs (atomic scalars), selector.
    Svc,
    /// Pod: metadata (an object without merge strategy holding all of the above).
    Pod,
}

pub enum Expect {
    Result(&'static str),
    /// A substring of the error message.
    Error(&'static str),
}

pub struct Case {
    pub description: &'static str,
    pub root: Root,
    pub original: &'static str,
    pub patch: &'static str,
    pub expected: Expect,
}

pub fn kind(api_version: &str, kind: &str) -> TypeRef {
    lookup(api_version, kind).unwrap_or_else(|| panic!("no table entry for {api_version} {kind}"))
}

pub fn field_type(t: TypeRef, path: &[&str]) -> TypeRef {
    path.iter().fold(t, |t, name| t.field(name).unwrap_or_else(|| panic!("no field {name} in {t:?}")).ty())
}

pub fn root_type(root: Root) -> TypeRef {
    let pod = kind("v1", "Pod");
    match root {
        Root::Meta => field_type(pod, &["metadata"]),
        Root::Spec => field_type(pod, &["spec"]),
        Root::Svc => field_type(kind("v1", "Service"), &["spec"]),
        Root::Pod => pod,
    }
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("bad test JSON {s}: {e}"))
}

/// Applies every case; returns a description of each failure.
pub fn run(cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cases {
        let got = strategic_merge_patch(&parse(c.original), &parse(c.patch), root_type(c.root));
        match (&c.expected, got) {
            (Expect::Result(want), Ok(got)) if got == parse(want) => {}
            (Expect::Error(want), Err(e)) if e.to_string().contains(want) => {}
            (Expect::Result(want), got) => failures.push(format!(
                "{}:\n  original {}\n  patch    {}\n  want     {want}\n  got      {}",
                c.description,
                c.original,
                c.patch,
                show(&got)
            )),
            (Expect::Error(want), got) => {
                failures.push(format!("{}: want an error containing {want:?}, got {}", c.description, show(&got)))
            }
        }
    }
    failures
}

fn show(r: &Result<Value, MergeError>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// Applies `patch` to `original` for the type of (`api_version`, `kind`).
pub fn apply(api_version: &str, kind_name: &str, original: &Value, patch: &Value) -> Value {
    strategic_merge_patch(original, patch, kind(api_version, kind_name))
        .unwrap_or_else(|e| panic!("patch failed: {e}\noriginal {original}\npatch {patch}"))
}

/// The error applying `patch` to `original` for the type of (`api_version`, `kind`).
pub fn apply_err(api_version: &str, kind_name: &str, original: &Value, patch: &Value) -> MergeError {
    match strategic_merge_patch(original, patch, kind(api_version, kind_name)) {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e,
    }
}
