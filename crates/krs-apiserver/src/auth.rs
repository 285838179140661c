//! Authentication results and authorization.
//!
//! Authentication happens per connection (x509 client certificates, see `serve`). Authorization
//! follows upstream's request attributes (user, verb, group, resource, subresource, namespace,
//! name). Until RBAC is built, the only authorizer is upstream's "system:masters" rule: members
//! of that group may do everything, nobody else anything.

use std::fmt;

/// Who is making a request (upstream's `user.Info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

pub const SYSTEM_MASTERS: &str = "system:masters";
pub const SYSTEM_AUTHENTICATED: &str = "system:authenticated";

impl UserInfo {
    /// An authenticated user: upstream adds `system:authenticated` to every authenticated
    /// user's groups.
    pub fn authenticated(name: String, mut groups: Vec<String>) -> UserInfo {
        if !groups.iter().any(|g| g == SYSTEM_AUTHENTICATED) {
            groups.push(SYSTEM_AUTHENTICATED.to_string());
        }
        UserInfo { name, uid: String::new(), groups }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// What a request does, in authorization terms (upstream's `authorizer.Attributes`).
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// For non-resource requests (`/version`, `/healthz`...).
    pub path: &'a str,
    pub resource_request: bool,
}

/// An authorizer's answer; `Deny` carries the reason shown to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(String),
}

/// Decides whether a user may do something.
pub trait Authorizer: Send + Sync {
    fn authorize(&self, user: &UserInfo, attrs: &Attributes<'_>) -> Decision;
}

/// Allows members of system:masters, denies everyone else.
pub struct MastersOnly;

impl Authorizer for MastersOnly {
    fn authorize(&self, user: &UserInfo, _attrs: &Attributes<'_>) -> Decision {
        if user.in_group(SYSTEM_MASTERS) { Decision::Allow } else { Decision::Deny(String::new()) }
    }
}

/// Upstream's forbidden message: `User "bob" cannot list resource "pods" in API group "" in the
/// namespace "default"`.
pub struct ForbiddenMessage<'a>(pub &'a UserInfo, pub &'a Attributes<'a>);

impl fmt::Display for ForbiddenMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (user, a) = (self.0, self.1);
        if !a.resource_request {
            return write!(f, "User \"{}\" cannot {} path \"{}\"", user.name, a.verb, a.path);
        }
        let resource =
            if a.subresource.is_empty() { a.resource.to_string() } else { format!("{}/{}", a.resource, a.subresource) };
        write!(f, "User \"{}\" cannot {} resource \"{}\" in API group \"{}\"", user.name, a.verb, resource, a.group)?;
        if a.namespace.is_empty() {
            write!(f, " at the cluster scope")
        } else {
            write!(f, " in the namespace \"{}\"", a.namespace)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(verb: &'a str, ns: &'a str) -> Attributes<'a> {
        Attributes {
            verb,
            group: "",
            resource: "pods",
            subresource: "",
            namespace: ns,
            name: "",
            path: "/api/v1/pods",
            resource_request: true,
        }
    }

    #[test]
    fn only_system_masters_may_act_until_rbac_exists() {
        let admin = UserInfo::authenticated("admin".into(), vec![SYSTEM_MASTERS.into()]);
        let bob = UserInfo::authenticated("bob".into(), vec![]);
        assert_eq!(MastersOnly.authorize(&admin, &attrs("list", "")), Decision::Allow);
        assert!(matches!(MastersOnly.authorize(&bob, &attrs("list", "")), Decision::Deny(_)));
        assert!(bob.in_group(SYSTEM_AUTHENTICATED));
    }

    #[test]
    fn forbidden_message_matches_upstream() {
        let bob = UserInfo::authenticated("bob".into(), vec![]);
        assert_eq!(
            ForbiddenMessage(&bob, &attrs("list", "default")).to_string(),
            "User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        assert_eq!(
            ForbiddenMessage(&bob, &attrs("list", "")).to_string(),
            "User \"bob\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
        );
    }
}
