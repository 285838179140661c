//! Service account tokens: bound JWTs issued through TokenRequest (serviceaccounts/token),
//! verified when a client presents one as a bearer token, and published for OIDC discovery
//! (`/.well-known/openid-configuration`, `/openid/v1/jwks`).
//!
//! Tokens are ES256 JWTs signed with the cluster's service account key (`pki/sa.key`, created
//! on first start). Their claims follow upstream's: issuer, subject
//! `system:serviceaccount:<ns>:<name>`, audiences, expiry, and the `kubernetes.io` claim naming
//! the namespace, the service account and the object the token is bound to. A token stops
//! working when it expires or when its service account (or bound pod or secret) is deleted or
//! replaced.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use parking_lot::Mutex;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
};
use serde_json::{Value, json};

use crate::auth::UserInfo;

/// The issuer and default audience of tokens, as upstream's default.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Clock skew tolerated on iat/nbf/exp.
const LEEWAY_SECONDS: i64 = 60;
/// How long a verified token's result is reused before checking again.
const CACHE_TTL: Duration = Duration::from_secs(10);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid service account key: {0}")]
    Key(String),
    #[error("signing failed")]
    Signing,
}

/// Why a token was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    Malformed,
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
}

/// The verified claims of a service account token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountClaims {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The object the token is bound to: (kind, name, uid).
    pub bound: Option<(String, String, String)>,
    pub audiences: Vec<String>,
    pub expires: i64,
}

impl ServiceAccountClaims {
    /// The user a token authenticates as (upstream's service account authenticator).
    pub fn user(&self) -> UserInfo {
        let mut user = UserInfo::authenticated(
            format!("system:serviceaccount:{}:{}", self.namespace, self.name),
            vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{}", self.namespace)],
        );
        user.uid = self.uid.clone();
        user
    }
}

/// Issues and verifies service account tokens.
pub struct TokenIssuer {
    key: EcdsaKeyPair,
    public: Vec<u8>,
    kid: String,
    pub issuer: String,
    /// Audiences the API server accepts.
    pub api_audiences: Vec<String>,
    verified: Mutex<HashMap<String, (ServiceAccountClaims, Instant)>>,
}

impl TokenIssuer {
    /// From a PKCS#8 (DER) P-256 key.
    pub fn new(pkcs8: &[u8], issuer: &str, api_audiences: Vec<String>) -> Result<TokenIssuer, TokenError> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
            .map_err(|e| TokenError::Key(e.to_string()))?;
        let public = key.public_key().as_ref().to_vec();
        // Upstream's key id: a hash of the public key, so that rotating keys changes it.
        let digest = ring::digest::digest(&ring::digest::SHA256, &public);
        let kid = b64(digest.as_ref());
        Ok(TokenIssuer {
            key,
            public,
            kid,
            issuer: issuer.to_string(),
            api_audiences,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Signs a token for a service account, bound to an object when given, valid for
    /// `expiration_seconds` from `now` (unix seconds).
    pub fn issue(&self, claims: &ServiceAccountClaims, now: i64) -> Result<String, TokenError> {
        let mut k8s = json!({
            "namespace": claims.namespace,
            "serviceaccount": {"name": claims.name, "uid": claims.uid},
        });
        if let Some((kind, name, uid)) = &claims.bound {
            k8s[kind.to_ascii_lowercase()] = json!({"name": name, "uid": uid});
        }
        let payload = json!({
            "aud": claims.audiences,
            "exp": claims.expires,
            "iat": now,
            "nbf": now,
            "iss": self.issuer,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": k8s,
            "sub": format!("system:serviceaccount:{}:{}", claims.namespace, claims.name),
        });
        let header = json!({"alg": "ES256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(&header).unwrap_or_default()),
            b64(&serde_json::to_vec(&payload).unwrap_or_default())
        );
        let sig = self.key.sign(&SystemRandom::new(), signing_input.as_bytes()).map_err(|_| TokenError::Signing)?;
        Ok(format!("{signing_input}.{}", b64(sig.as_ref())))
    }

    /// Checks a token's signature and claims (not whether its service account still exists).
    pub fn verify(&self, token: &str, now: i64) -> Result<ServiceAccountClaims, Invalid> {
        if let Some((claims, at)) = self.verified.lock().get(token)
            && at.elapsed() < CACHE_TTL
            && claims.expires + LEEWAY_SECONDS > now
        {
            return Ok(claims.clone());
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(Invalid::Malformed);
        };
        let header: Value = unb64(h).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(Invalid::Malformed)?;
        if header["alg"] != "ES256" {
            return Err(Invalid::Signature);
        }
        let sig = unb64(s).ok_or(Invalid::Malformed)?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(signing_input.as_bytes(), &sig)
            .map_err(|_| Invalid::Signature)?;
        let payload: Value = unb64(p).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(Invalid::Malformed)?;
        if payload["iss"] != self.issuer {
            return Err(Invalid::Issuer);
        }
        let exp = payload["exp"].as_i64().ok_or(Invalid::Malformed)?;
        if exp + LEEWAY_SECONDS <= now {
            return Err(Invalid::Expired);
        }
        if payload["nbf"].as_i64().is_some_and(|nbf| nbf - LEEWAY_SECONDS > now) {
            return Err(Invalid::NotYetValid);
        }
        let audiences: Vec<String> = match &payload["aud"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        if !audiences.iter().any(|a| self.api_audiences.contains(a)) {
            return Err(Invalid::Audience);
        }
        let k8s = &payload["kubernetes.io"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let bound = ["pod", "secret", "node"].iter().find_map(|kind| {
            let o = k8s.get(*kind)?;
            let mut k = kind.to_string();
            k[..1].make_ascii_uppercase();
            Some((k, text(&o["name"]), text(&o["uid"])))
        });
        let claims = ServiceAccountClaims {
            namespace: text(&k8s["namespace"]),
            name: text(&k8s["serviceaccount"]["name"]),
            uid: text(&k8s["serviceaccount"]["uid"]),
            bound,
            audiences,
            expires: exp,
        };
        if claims.namespace.is_empty() || claims.name.is_empty() {
            return Err(Invalid::Malformed);
        }
        let mut cache = self.verified.lock();
        if cache.len() > 10_000 {
            cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        cache.insert(token.to_string(), (claims.clone(), Instant::now()));
        Ok(claims)
    }

    /// Forgets cached verifications (after a service account or bound object is deleted).
    pub fn forget(&self, token: &str) {
        self.verified.lock().remove(token);
    }

    /// The JSON Web Key Set of the issuer's public key.
    pub fn jwks(&self) -> Value {
        // An uncompressed P-256 point: 0x04 || x (32) || y (32).
        let (x, y) =
            if self.public.len() == 65 { (&self.public[1..33], &self.public[33..65]) } else { (&[][..], &[][..]) };
        json!({"keys": [{"use": "sig", "kty": "EC", "kid": self.kid, "crv": "P-256", "alg": "ES256", "x": b64(x), "y": b64(y)}]})
    }

    /// The OIDC discovery document (KEP 1393).
    pub fn openid_configuration(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/openid/v1/jwks", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        TokenIssuer::new(&key.serialize_der(), DEFAULT_ISSUER, vec![DEFAULT_ISSUER.into()]).unwrap()
    }

    fn claims(expires: i64) -> ServiceAccountClaims {
        ServiceAccountClaims {
            namespace: "default".into(),
            name: "builder".into(),
            uid: "u-1".into(),
            bound: Some(("Pod".into(), "p".into(), "pu".into())),
            audiences: vec![DEFAULT_ISSUER.into()],
            expires,
        }
    }

    #[test]
    fn issued_tokens_verify_and_name_their_service_account() {
        let i = issuer();
        let token = i.issue(&claims(2_000), 1_000).unwrap();
        let c = i.verify(&token, 1_500).unwrap();
        assert_eq!(c, claims(2_000));
        assert_eq!(c.user().name, "system:serviceaccount:default:builder");
        assert!(c.user().in_group("system:serviceaccounts:default"));
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let i = issuer();
        let token = i.issue(&claims(2_000), 1_000).unwrap();
        assert_eq!(i.verify(&token, 3_000), Err(Invalid::Expired));
        let mut forged = token.clone();
        forged.replace_range(token.len() - 4.., "AAAA");
        assert_eq!(i.verify(&forged, 1_500), Err(Invalid::Signature));
        assert_eq!(issuer().verify(&token, 1_500), Err(Invalid::Signature));
        let mut other_audience = claims(2_000);
        other_audience.audiences = vec!["vault".into()];
        let t = i.issue(&other_audience, 1_000).unwrap();
        assert_eq!(i.verify(&t, 1_500), Err(Invalid::Audience));
        assert_eq!(i.verify("a.b", 1_500), Err(Invalid::Malformed));
    }

    #[test]
    fn jwks_publishes_the_public_key() {
        let i = issuer();
        let jwks = i.jwks();
        assert_eq!(jwks["keys"][0]["crv"], "P-256");
        assert_eq!(unb64(jwks["keys"][0]["x"].as_str().unwrap()).unwrap().len(), 32);
    }
}
