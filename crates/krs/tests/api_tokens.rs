//! Service account tokens: TokenRequest (serviceaccounts/token) issues bound JWTs that
//! authenticate as `system:serviceaccount:NS:NAME` while the service account exists;
//! TokenReview says who a token is; the issuer's discovery documents are served.

use crate::common;

use common::Kubectl;
use common::http::Api;
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    token_request_returns_token_and_expiration,
    token_request_shorter_than_ten_minutes_is_invalid,
    service_account_token_authenticates_as_service_account,
    garbage_bearer_token_is_unauthorized,
    token_review_names_service_account,
    token_of_deleted_service_account_is_refused,
    issuer_discovery_documents_are_served,
);

scenarios!(etcd, Etcd, V1_33:
    service_account_token_authenticates_as_service_account,
    token_of_deleted_service_account_is_refused,
);

/// The API server's audience (its issuer), which a token must name to authenticate to it.
const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

fn service_account(api: &Api) {
    api.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tok"}}))
        .expect(201);
    api.post(
        "/api/v1/namespaces/tok/serviceaccounts",
        &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
    )
    .expect(201);
}

fn token_request(seconds: i64, audiences: &[&str]) -> Value {
    json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": seconds, "audiences": audiences},
    })
}

/// A 10-minute token of tok/sa for the API server (and "vault").
fn token(api: &Api) -> String {
    let tr = api
        .post("/api/v1/namespaces/tok/serviceaccounts/sa/token", &token_request(600, &[API_AUDIENCE, "vault"]))
        .expect(201);
    tr["status"]["token"].as_str().unwrap_or_else(|| panic!("no token: {tr}")).to_string()
}

fn token_request_returns_token_and_expiration(k: &Kubectl) {
    let api = Api::new(k.cluster);
    service_account(&api);
    let before = now_seconds();
    let tr = api
        .post("/api/v1/namespaces/tok/serviceaccounts/sa/token", &token_request(600, &[API_AUDIENCE, "vault"]))
        .expect(201);
    assert_eq!((&tr["apiVersion"], &tr["kind"]), (&json!("authentication.k8s.io/v1"), &json!("TokenRequest")), "{tr}");
    assert_eq!(tr["spec"]["audiences"], json!([API_AUDIENCE, "vault"]), "{tr}");
    assert_eq!(tr["spec"]["expirationSeconds"], 600, "{tr}");
    let token = tr["status"]["token"].as_str().unwrap_or_default();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token:?}");
    let expires = tr["status"]["expirationTimestamp"].as_str().unwrap_or_default();
    let expires = parse_rfc3339(expires).unwrap_or_else(|| panic!("expirationTimestamp {expires:?}"));
    assert!(
        (before + 590..=now_seconds() + 610).contains(&expires),
        "expires at {expires}, asked at {before} for 600s"
    );
    // The claims name the service account and the audiences.
    let payload = jwt_payload(token);
    assert_eq!(payload["sub"], "system:serviceaccount:tok:sa", "{payload}");
    assert_eq!(payload["aud"], json!([API_AUDIENCE, "vault"]), "{payload}");
    assert_eq!(payload["kubernetes.io"]["serviceaccount"]["name"], "sa", "{payload}");
}

fn token_request_shorter_than_ten_minutes_is_invalid(k: &Kubectl) {
    let api = Api::new(k.cluster);
    service_account(&api);
    let status =
        api.post("/api/v1/namespaces/tok/serviceaccounts/sa/token", &token_request(599, &[API_AUDIENCE])).expect(422);
    assert_eq!(status["reason"], "Invalid", "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes"),
        "{status}"
    );
    // A missing service account is a 404.
    let status = api.post("/api/v1/namespaces/tok/serviceaccounts/nobody/token", &token_request(600, &[])).expect(404);
    assert_eq!(status["message"], "serviceaccounts \"nobody\" not found", "{status}");
}

fn service_account_token_authenticates_as_service_account(k: &Kubectl) {
    let api = Api::new(k.cluster);
    service_account(&api);
    let sa = api.with_bearer(&token(&api));
    // Authenticated (not 401) but, with only system:masters authorized, forbidden: the
    // message names the service account's user.
    let r = sa.get("/api/v1/namespaces/tok/configmaps");
    let status = r.expect(403);
    assert_eq!(status["reason"], "Forbidden", "{status}");
    assert_eq!(
        status["message"],
        "configmaps is forbidden: User \"system:serviceaccount:tok:sa\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"tok\""
    );
}

fn garbage_bearer_token_is_unauthorized(k: &Kubectl) {
    let api = Api::new(k.cluster);
    for token in ["garbage", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"] {
        let r = api.with_bearer(token).get("/api/v1/namespaces");
        let status = r.expect(401);
        assert_eq!(
            (&status["reason"], &status["message"]),
            (&json!("Unauthorized"), &json!("Unauthorized")),
            "{status}"
        );
    }
    // A token for another audience does not authenticate to the API server.
    service_account(&api);
    let tr = api.post("/api/v1/namespaces/tok/serviceaccounts/sa/token", &token_request(600, &["vault"])).expect(201);
    let vault_only = tr["status"]["token"].as_str().unwrap_or_default();
    api.with_bearer(vault_only).get("/api/v1/namespaces").expect(401);
}

fn token_review_names_service_account(k: &Kubectl) {
    let api = Api::new(k.cluster);
    service_account(&api);
    let token = token(&api);
    let review = |token: &str| {
        let tr = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}});
        api.post("/apis/authentication.k8s.io/v1/tokenreviews", &tr).expect(201)
    };
    let good = review(&token);
    assert_eq!(good["status"]["authenticated"], true, "{good}");
    assert_eq!(good["status"]["user"]["username"], "system:serviceaccount:tok:sa", "{good}");
    let groups = good["status"]["user"]["groups"].as_array().cloned().unwrap_or_default();
    for group in ["system:serviceaccounts", "system:serviceaccounts:tok", "system:authenticated"] {
        assert!(groups.contains(&json!(group)), "no group {group}: {good}");
    }
    let bad = review("garbage");
    assert_ne!(bad["status"]["authenticated"], true, "{bad}");
}

fn token_of_deleted_service_account_is_refused(k: &Kubectl) {
    let api = Api::new(k.cluster);
    service_account(&api);
    let sa = api.with_bearer(&token(&api));
    sa.get("/api/v1/namespaces/tok/configmaps").expect(403);
    api.delete("/api/v1/namespaces/tok/serviceaccounts/sa").expect(200);
    // Upstream caches successful authentications for up to 10 seconds.
    api.eventually("the token of a deleted service account to be refused", || {
        let r = sa.get("/api/v1/namespaces/tok/configmaps");
        assert!(r.status == 401 || r.status == 403, "{} -> {}: {}", r.what, r.status, r.text());
        (r.status == 401).then_some(())
    });
    // A new service account of the same name (another uid) does not revive the token.
    api.post(
        "/api/v1/namespaces/tok/serviceaccounts",
        &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
    )
    .expect(201);
    sa.get("/api/v1/namespaces/tok/configmaps").expect(401);
}

fn issuer_discovery_documents_are_served(k: &Kubectl) {
    let api = Api::new(k.cluster);
    let config = api.get("/.well-known/openid-configuration").expect(200);
    let issuer = config["issuer"].as_str().unwrap_or_default();
    assert_eq!(issuer, API_AUDIENCE, "{config}");
    assert_eq!(config["jwks_uri"], json!(format!("{issuer}/openid/v1/jwks")), "{config}");
    assert!(config["id_token_signing_alg_values_supported"].as_array().is_some_and(|a| !a.is_empty()), "{config}");
    let jwks = api.get("/openid/v1/jwks");
    let keys = jwks.expect(200);
    assert_eq!(jwks.header("content-type"), "application/jwk-set+json");
    let key = &keys["keys"][0];
    assert_eq!(key["use"], "sig", "{keys}");
    // Tokens name the key they are signed with.
    service_account(&api);
    let token = token(&api);
    let header = decode_segment(token.split('.').next().unwrap_or_default());
    assert_eq!(header["kid"], key["kid"], "token header {header}, keys {keys}");
    assert_eq!(header["alg"], key["alg"], "token header {header}, keys {keys}");
}

fn decode_segment(segment: &str) -> Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|e| panic!("JWT segment {segment:?}: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT segment {segment:?}: {e}"))
}

fn jwt_payload(token: &str) -> Value {
    decode_segment(token.split('.').nth(1).unwrap_or_default())
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Seconds since the epoch of a `YYYY-MM-DDTHH:MM:SSZ` timestamp.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let d: Vec<i64> = date.split('-').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let t: Vec<i64> = time.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let (y, m, day) = (d[0], d[1], d[2]);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2])
}
