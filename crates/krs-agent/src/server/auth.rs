//! Authorization of kubelet API requests by SubjectAccessReview (upstream's webhook mode):
//! "can this user <verb> nodes/<subresource> of this node". Answers are cached (allowed for
//! 5 minutes, denied for 30 seconds, as upstream's defaults).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::PostParams;
use kube::{Api, Client};
use parking_lot::Mutex;

use super::Caller;

/// User, groups, verb, subresource.
type Attributes = (String, Vec<String>, String, String);

pub struct Authorizer {
    client: Client,
    node: String,
    cache: Mutex<HashMap<Attributes, (bool, Instant)>>,
}

const ALLOWED_TTL: Duration = Duration::from_secs(300);
const DENIED_TTL: Duration = Duration::from_secs(30);

impl Authorizer {
    pub fn new(client: Client, node: String) -> Authorizer {
        Authorizer { client, node, cache: Mutex::new(HashMap::new()) }
    }

    pub async fn allowed(&self, caller: &Caller, verb: &str, subresource: &str) -> bool {
        // Cluster admins may do anything; asking the API would only say so.
        if caller.groups.iter().any(|g| g == "system:masters") {
            return true;
        }
        let key = (caller.user.clone(), caller.groups.clone(), verb.to_owned(), subresource.to_owned());
        if let Some((allowed, at)) = self.cache.lock().get(&key).copied() {
            let ttl = if allowed { ALLOWED_TTL } else { DENIED_TTL };
            if at.elapsed() < ttl {
                return allowed;
            }
        }
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(caller.user.clone()),
                groups: Some(caller.groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_owned()),
                    resource: Some("nodes".into()),
                    subresource: Some(subresource.to_owned()),
                    name: Some(self.node.clone()),
                    version: Some("v1".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let allowed = match api.create(&PostParams::default(), &review).await {
            Ok(r) => r.status.is_some_and(|s| s.allowed),
            Err(e) => {
                tracing::warn!(error = %e, user = %caller.user, "SubjectAccessReview failed; denying");
                return false;
            }
        };
        self.cache.lock().insert(key, (allowed, Instant::now()));
        allowed
    }
}
