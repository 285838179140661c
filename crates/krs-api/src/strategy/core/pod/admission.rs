//! What two of upstream's default admission plugins add to a new pod: the ServiceAccount plugin
//! (default service account and its projected token volume), which the API server runs unless
//! `--disable-admission-plugins` names it ([`admit_service_account`]), and DefaultTolerationSeconds,
//! which the pod strategy applies to every new pod. The Priority plugin, which reads
//! PriorityClasses, is the API server's (`krs_apiserver::admission`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use k8s_openapi::api::core::v1::{
    ConfigMapProjection, DownwardAPIProjection, DownwardAPIVolumeFile, KeyToPath, ObjectFieldSelector, Pod, PodSpec,
    ProjectedVolumeSource, ServiceAccountTokenProjection, Toleration, Volume, VolumeMount, VolumeProjection,
};

use crate::strategy::core::podspec::s;

/// Where the service account token is mounted in every container.
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The prefix of the projected token volume's name.
const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";

/// The lifetime the plugin asks for: an hour plus seven seconds, which marks tokens whose
/// expiry the API server only warns about (`WarnOnlyBoundTokenExpirationSeconds`).
const TOKEN_EXPIRATION_SECONDS: i64 = 3607;

/// The annotation that marks a static pod mirrored by a kubelet.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Applies DefaultTolerationSeconds to a pod being created.
pub(crate) fn admit_new_pod(pod: &mut Pod) {
    admit_default_toleration_seconds(pod.spec.get_or_insert_with(Default::default));
}

/// The ServiceAccount plugin on a pod being created: the `default` service account, and unless
/// automounting is turned off, the token volume mounted into every container. Mirror pods are
/// left alone. The service account itself is not looked up: no controller creates them yet.
pub fn admit_service_account(pod: &mut Pod) {
    if pod.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION)) {
        return;
    }
    let spec = pod.spec.get_or_insert_with(Default::default);
    if s(&spec.service_account_name).is_empty() {
        spec.service_account_name = Some("default".to_owned());
    }
    crate::strategy::core::podspec::sync_deprecated_service_account(spec);
    if spec.automount_service_account_token == Some(false) {
        return;
    }
    let existing =
        spec.volumes.iter().flatten().find(|v| v.name.starts_with(TOKEN_VOLUME_PREFIX)).map(|v| v.name.clone());
    let volume_name = existing.clone().unwrap_or_else(|| format!("{TOKEN_VOLUME_PREFIX}{}", random_suffix()));
    let mount = VolumeMount {
        name: volume_name.clone(),
        read_only: Some(true),
        mount_path: TOKEN_MOUNT_PATH.to_owned(),
        ..Default::default()
    };
    let mut needs_volume = false;
    // Init containers first, as upstream does.
    for container in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
        let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
        // A mount at the token path already (the user's own) prevents mounting the token.
        if !mounts.iter().any(|m| m.mount_path == TOKEN_MOUNT_PATH) {
            mounts.push(mount.clone());
            needs_volume = true;
        }
    }
    if existing.is_none() && needs_volume {
        spec.volumes.get_or_insert_with(Vec::new).push(Volume {
            name: volume_name,
            projected: Some(token_volume_source()),
            ..Default::default()
        });
    }
}

/// The projected volume with the token, the cluster's CA bundle and the pod's namespace.
fn token_volume_source() -> ProjectedVolumeSource {
    ProjectedVolumeSource {
        default_mode: Some(0o644),
        sources: Some(vec![
            VolumeProjection {
                service_account_token: Some(ServiceAccountTokenProjection {
                    path: "token".to_owned(),
                    expiration_seconds: Some(TOKEN_EXPIRATION_SECONDS),
                    audience: None,
                }),
                ..Default::default()
            },
            VolumeProjection {
                config_map: Some(ConfigMapProjection {
                    name: "kube-root-ca.crt".to_owned(),
                    items: Some(vec![KeyToPath { key: "ca.crt".to_owned(), path: "ca.crt".to_owned(), mode: None }]),
                    optional: None,
                }),
                ..Default::default()
            },
            VolumeProjection {
                downward_api: Some(DownwardAPIProjection {
                    items: Some(vec![DownwardAPIVolumeFile {
                        path: "namespace".to_owned(),
                        field_ref: Some(ObjectFieldSelector {
                            api_version: Some("v1".to_owned()),
                            field_path: "metadata.namespace".to_owned(),
                        }),
                        ..Default::default()
                    }]),
                }),
                ..Default::default()
            },
        ]),
    }
}

/// Five characters of upstream's name generator alphabet (no vowels, no look-alikes).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default(),
    );
    let mut bits = hasher.finish();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(bits % ALPHABET.len() as u64) as usize];
            bits /= ALPHABET.len() as u64;
            char::from(c)
        })
        .collect()
}

/// DefaultTolerationSeconds: pods tolerate unreachable and not-ready nodes for five minutes
/// before being evicted, unless they say otherwise.
fn admit_default_toleration_seconds(spec: &mut PodSpec) {
    const KEYS: [&str; 2] = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    let tolerated: Vec<bool> = KEYS
        .iter()
        .map(|key| {
            tolerations.iter().any(|t| {
                let k = s(&t.key);
                let e = s(&t.effect);
                (k == *key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
            })
        })
        .collect();
    for (key, done) in KEYS.iter().zip(tolerated) {
        if !done {
            tolerations.push(Toleration {
                key: Some((*key).to_owned()),
                operator: Some("Exists".to_owned()),
                effect: Some("NoExecute".to_owned()),
                toleration_seconds: Some(300),
                value: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_suffix_uses_the_name_generator_alphabet() {
        let suffix = random_suffix();
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)));
    }
}
