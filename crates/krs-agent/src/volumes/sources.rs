//! The files of content volumes: configMap, secret, downwardAPI and projected sources (with
//! service account tokens from the TokenRequest API).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, ServiceAccount, Volume};
use kube::Api;
use kube::api::PostParams;
use parking_lot::Mutex;

use super::Inputs;
use super::atomic::Payload;
use crate::apicache::ApiCache;
use crate::downward;

const DEFAULT_MODE: i32 = 0o644;

fn mode(item: Option<i32>, default: Option<i32>) -> u32 {
    (item.or(default).unwrap_or(DEFAULT_MODE) & 0o777) as u32
}

/// Keys of a map as files: all of them, or the listed items (a missing listed key fails unless
/// the source is optional).
fn project(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&Vec<KeyToPath>>,
    default_mode: Option<i32>,
    optional: bool,
    what: &str,
    out: &mut Payload,
) -> Result<(), String> {
    match items {
        None => {
            for (k, v) in data {
                out.insert(k.clone(), (v.clone(), mode(None, default_mode)));
            }
        }
        Some(items) => {
            for item in items {
                match data.get(&item.key) {
                    Some(v) => {
                        out.insert(item.path.clone(), (v.clone(), mode(item.mode, default_mode)));
                    }
                    None if optional => {}
                    None => return Err(format!("configmap references non-existent config key: {} ({what})", item.key)),
                }
            }
        }
    }
    Ok(())
}

fn downward_files(
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    default_mode: Option<i32>,
    inputs: &Inputs<'_>,
    out: &mut Payload,
) -> Result<(), String> {
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            downward::field(pod, &f.field_path, inputs.addrs)?
        } else if let Some(r) = &item.resource_field_ref {
            let name = r.container_name.as_deref().unwrap_or_default();
            let c = pod
                .spec
                .as_ref()
                .and_then(|s| s.containers.iter().chain(s.init_containers.iter().flatten()).find(|c| c.name == name))
                .ok_or_else(|| format!("downwardAPI: container {name:?} not found"))?;
            downward::resource(c, &r.resource, r.divisor.as_ref(), inputs.allocatable)?
        } else {
            continue;
        };
        out.insert(item.path.clone(), (value.into_bytes(), mode(item.mode, default_mode)));
    }
    Ok(())
}

fn configmap_data(cm: &k8s_openapi::api::core::v1::ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> =
        cm.data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
    data.extend(cm.binary_data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())));
    data
}

fn secret_data(s: &k8s_openapi::api::core::v1::Secret) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> = s.data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect();
    data.extend(s.string_data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes())));
    data
}

/// The files of a content volume; `None` for an optional source that does not exist.
pub async fn payload(
    pod: &Pod,
    v: &Volume,
    cache: &ApiCache,
    tokens: &TokenCache,
    inputs: &Inputs<'_>,
) -> Result<Option<Payload>, String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut out = Payload::new();
    if let Some(src) = &v.config_map {
        let optional = src.optional == Some(true);
        match cache.configmap(ns, &src.name).await? {
            Some(cm) => {
                project(&configmap_data(&cm), src.items.as_ref(), src.default_mode, optional, &src.name, &mut out)?
            }
            None if optional => return Ok(None),
            None => {
                return Err(format!(
                    "MountVolume.SetUp failed for volume {:?} : configmap \"{}\" not found",
                    v.name, src.name
                ));
            }
        }
    } else if let Some(src) = &v.secret {
        let name = src.secret_name.clone().unwrap_or_default();
        let optional = src.optional == Some(true);
        match cache.secret(ns, &name).await? {
            Some(s) => project(&secret_data(&s), src.items.as_ref(), src.default_mode, optional, &name, &mut out)?,
            None if optional => return Ok(None),
            None => {
                return Err(format!("MountVolume.SetUp failed for volume {:?} : secret \"{name}\" not found", v.name));
            }
        }
    } else if let Some(src) = &v.downward_api {
        downward_files(pod, src.items.as_deref().unwrap_or_default(), src.default_mode, inputs, &mut out)?;
    } else if let Some(p) = &v.projected {
        for s in p.sources.iter().flatten() {
            if let Some(src) = &s.config_map {
                let optional = src.optional == Some(true);
                match cache.configmap(ns, &src.name).await? {
                    Some(cm) => project(
                        &configmap_data(&cm),
                        src.items.as_ref(),
                        p.default_mode,
                        optional,
                        &src.name,
                        &mut out,
                    )?,
                    None if optional => {}
                    None => {
                        return Err(format!(
                            "MountVolume.SetUp failed for volume {:?} : configmap \"{}\" not found",
                            v.name, src.name
                        ));
                    }
                }
            }
            if let Some(src) = &s.secret {
                let optional = src.optional == Some(true);
                match cache.secret(ns, &src.name).await? {
                    Some(sec) => {
                        project(&secret_data(&sec), src.items.as_ref(), p.default_mode, optional, &src.name, &mut out)?
                    }
                    None if optional => {}
                    None => {
                        return Err(format!(
                            "MountVolume.SetUp failed for volume {:?} : secret \"{}\" not found",
                            v.name, src.name
                        ));
                    }
                }
            }
            if let Some(src) = &s.downward_api {
                downward_files(pod, src.items.as_deref().unwrap_or_default(), p.default_mode, inputs, &mut out)?;
            }
            if let Some(t) = &s.service_account_token {
                let token = tokens.get(cache, pod, t.audience.as_deref(), t.expiration_seconds.unwrap_or(3600)).await?;
                // Tokens are private to the pod's user unless the pod widens it.
                out.insert(t.path.clone(), (token.into_bytes(), mode(None, p.default_mode.or(Some(0o600)))));
            }
            if let Some(b) = &s.cluster_trust_bundle
                && b.optional != Some(true)
            {
                return Err(format!("volume {:?}: clusterTrustBundle sources are not supported by krs", v.name));
            }
        }
    }
    Ok(Some(out))
}

/// Pod UID, audience, lifetime.
type TokenKey = (String, String, i64);

/// Service account tokens bound to pods, refreshed at 80% of their lifetime (or after 24 h).
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<TokenKey, (String, Instant)>>,
}

impl TokenCache {
    async fn get(
        &self,
        cache: &ApiCache,
        pod: &Pod,
        audience: Option<&str>,
        expiration: i64,
    ) -> Result<String, String> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let audience = audience.unwrap_or_default().to_owned();
        let key = (uid.clone(), audience.clone(), expiration);
        if let Some((token, refresh_at)) = self.tokens.lock().get(&key)
            && Instant::now() < *refresh_at
        {
            return Ok(token.clone());
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let sa = pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).unwrap_or_else(|| "default".into());
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: if audience.is_empty() { Vec::new() } else { vec![audience.clone()] },
                expiration_seconds: Some(expiration),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: pod.metadata.name.clone(),
                    uid: Some(uid.clone()),
                }),
            },
            ..Default::default()
        };
        cache.limiter().acquire().await;
        let api: Api<ServiceAccount> = Api::namespaced(cache.client().clone(), ns);
        let response = api
            .create_token_request(&sa, &PostParams::default(), &request)
            .await
            .map_err(|e| format!("failed to fetch token for service account {ns}/{sa}: {e}"))?;
        let token =
            response.status.map(|s| s.token).filter(|t| !t.is_empty()).ok_or("the TokenRequest returned no token")?;
        let lifetime = Duration::from_secs(expiration.max(600) as u64);
        let refresh = (lifetime * 4 / 5).min(Duration::from_secs(24 * 3600));
        self.tokens.lock().insert(key, (token.clone(), Instant::now() + refresh));
        Ok(token)
    }

    pub fn forget_pod(&self, uid: &str) {
        self.tokens.lock().retain(|(u, _, _), _| u != uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_modes() {
        let data = BTreeMap::from([("a".to_owned(), b"1".to_vec()), ("b".to_owned(), b"2".to_vec())]);
        let mut out = Payload::new();
        project(&data, None, Some(0o400), false, "cm", &mut out).expect("all keys");
        assert_eq!(out.get("a"), Some(&(b"1".to_vec(), 0o400)));
        let mut out = Payload::new();
        let items = vec![KeyToPath { key: "b".into(), path: "dir/b.txt".into(), mode: Some(0o600) }];
        project(&data, Some(&items), None, false, "cm", &mut out).expect("items");
        assert_eq!(out.len(), 1);
        assert_eq!(out.get("dir/b.txt"), Some(&(b"2".to_vec(), 0o600)));
        let missing = vec![KeyToPath { key: "zz".into(), path: "zz".into(), mode: None }];
        assert!(project(&data, Some(&missing), None, false, "cm", &mut Payload::new()).is_err());
        assert!(project(&data, Some(&missing), None, true, "cm", &mut Payload::new()).is_ok());
    }
}
