//! Bearer-token authentication: service account tokens issued by this cluster. A token is
//! accepted while it verifies and while the service account (and the object it is bound to)
//! still exist with the uids the token names; results are reused for a few seconds.

use std::time::{Duration, Instant};

use super::App;
use crate::auth::UserInfo;
use crate::tokens::ServiceAccountClaims;

const CACHE_TTL: Duration = Duration::from_secs(10);

impl App {
    /// The user of an `Authorization: Bearer` header, if the token is valid.
    pub(super) async fn authenticate_bearer(&self, headers: &http::HeaderMap) -> Option<UserInfo> {
        let token = headers
            .get(http::header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())?;
        if let Some((user, at)) = self.bearer_cache.lock().get(token)
            && at.elapsed() < CACHE_TTL
        {
            return Some(user.clone());
        }
        let user = self.authenticate_token(token).await?;
        let mut cache = self.bearer_cache.lock();
        if cache.len() > 10_000 {
            cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        cache.insert(token.to_string(), (user.clone(), Instant::now()));
        Some(user)
    }

    /// Verifies a service account token and that what it names still exists (TokenReview
    /// answers with this too).
    pub async fn authenticate_token(&self, token: &str) -> Option<UserInfo> {
        let issuer = self.tokens.as_ref()?;
        let claims = issuer.verify(token, jiff::Timestamp::now().as_second()).ok()?;
        if !self.still_exists(&claims).await {
            issuer.forget(token);
            return None;
        }
        Some(claims.user())
    }

    async fn still_exists(&self, claims: &ServiceAccountClaims) -> bool {
        let uid_of = |key: String| async move {
            let (kv, _) = self.store.get(&key, None).await.ok()?;
            let v: serde_json::Value = serde_json::from_slice(&kv?.value).ok()?;
            v.pointer("/metadata/uid").and_then(|u| u.as_str()).map(str::to_string)
        };
        let sa = uid_of(format!("/registry/serviceaccounts/{}/{}", claims.namespace, claims.name)).await;
        if sa.as_deref() != Some(claims.uid.as_str()) {
            return false;
        }
        match &claims.bound {
            Some((kind, name, uid)) => {
                let key = match kind.as_str() {
                    "Pod" => format!("/registry/pods/{}/{name}", claims.namespace),
                    "Secret" => format!("/registry/secrets/{}/{name}", claims.namespace),
                    "Node" => format!("/registry/minions/{name}"),
                    _ => return false,
                };
                uid_of(key).await.as_deref() == Some(uid.as_str())
            }
            None => true,
        }
    }
}
