//! rbac.authorization.k8s.io: role bindings and cluster role bindings. Roles and cluster
//! roles use the default convertor upstream.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, name, str_at, wide};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "RoleBinding" => &ROLE_BINDING,
        "ClusterRoleBinding" => &CLUSTER_ROLE_BINDING,
        _ => return None,
    })
}

pub struct RoleBindingPrinter;
pub static ROLE_BINDING: RoleBindingPrinter = RoleBindingPrinter;

pub struct ClusterRoleBindingPrinter;
pub static CLUSTER_ROLE_BINDING: ClusterRoleBindingPrinter = ClusterRoleBindingPrinter;

const ROLE_REF_DOC: &str =
    "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.";

impl Printer for RoleBindingPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Role", "string", ROLE_REF_DOC),
            AGE,
            wide("Users", "string", "Users in the roleBinding"),
            wide("Groups", "string", "Groups in the roleBinding"),
            wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        binding_cells(obj, ctx)
    }
}

impl Printer for ClusterRoleBindingPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Role", "string", "RoleRef can only reference a ClusterRole in the global namespace."),
            AGE,
            wide("Users", "string", "Users in the clusterRoleBinding"),
            wide("Groups", "string", "Groups in the clusterRoleBinding"),
            wide("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding"),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        binding_cells(obj, ctx)
    }
}

/// "Kind/name" of the role, then the users, groups and service accounts
/// (`namespace/name`) among the subjects, each joined by ", "; other subject kinds are not
/// shown.
fn binding_cells(obj: &Value, ctx: &Context) -> Vec<Value> {
    let role = format!("{}/{}", str_at(obj, "/roleRef/kind"), str_at(obj, "/roleRef/name"));
    let (mut users, mut groups, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in arr_at(obj, "/subjects") {
        let name = str_at(subject, "/name");
        match str_at(subject, "/kind") {
            "User" => users.push(name.to_owned()),
            "Group" => groups.push(name.to_owned()),
            "ServiceAccount" => accounts.push(format!("{}/{name}", str_at(subject, "/namespace"))),
            _ => {}
        }
    }
    vec![
        json!(name(obj)),
        json!(role),
        age(obj, ctx),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(accounts.join(", ")),
    ]
}
