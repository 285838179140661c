//! Apply conflicts and their rendering (structured-merge-diff's `merge.Conflicts` and the
//! field manager's `NewConflictError`).
//!
//! One conflict:
//! `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`.
//! Several, grouped by manager (managers sorted by identifier):
//! `Apply failed with 2 conflicts: conflicts with "m" using v1:\n- .data.a\n- .data.b`.

use std::fmt;

use super::managed::{ManagerId, Operation};
use super::path::Path;
use super::value;

/// One field another manager owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub(crate) manager: ManagerId,
    /// The field.
    pub path: Path,
}

/// A `details.causes` item of the 409 Status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictCause {
    /// `FieldManagerConflict`.
    pub reason: &'static str,
    /// `conflict with "<manager>" using <apiVersion>`.
    pub message: String,
    /// The path, e.g. `.spec.replicas`.
    pub field: String,
}

/// The conflicts of a failed apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

impl Conflict {
    /// The manager's name (`manager` of its managedFields entry).
    pub fn manager(&self) -> &str {
        &self.manager.manager
    }

    /// How upstream names the manager: `"name"`, plus `with subresource "s"` and, for
    /// updaters, `using <apiVersion>`.
    pub fn manager_description(&self) -> String {
        describe(&self.manager)
    }
}

fn describe(id: &ManagerId) -> String {
    let mut out = value::go_quote(&id.manager);
    if !id.subresource.is_empty() {
        out.push_str(" with subresource ");
        out.push_str(&value::go_quote(&id.subresource));
    }
    if id.operation == Operation::Update {
        out.push_str(" using ");
        out.push_str(&id.api_version);
    }
    out
}

impl Conflicts {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Status message.
    pub fn message(&self) -> String {
        if let [only] = self.0.as_slice() {
            return format!("Apply failed with 1 conflict: conflict with {}: {}", describe(&only.manager), only.path);
        }
        let mut groups: Vec<(String, &ManagerId, Vec<&Path>)> = Vec::new();
        for c in &self.0 {
            let key = c.manager.key();
            match groups.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, paths)) => paths.push(&c.path),
                None => groups.push((key, &c.manager, vec![&c.path])),
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        let mut lines = Vec::new();
        for (_, id, paths) in groups {
            lines.push(format!("conflicts with {}:", describe(id)));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!("Apply failed with {} conflicts: {}", self.0.len(), lines.join("\n"))
    }

    /// The Status `details.causes`, one per conflict.
    pub fn causes(&self) -> Vec<ConflictCause> {
        self.0
            .iter()
            .map(|c| ConflictCause {
                reason: "FieldManagerConflict",
                message: format!("conflict with {}", describe(&c.manager)),
                field: c.path.to_string(),
            })
            .collect()
    }
}

impl fmt::Display for Conflicts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}
