//! The VolumeManager: a pod's volumes on the host, under `<pods dir>/<uid>/volumes/`.
//! emptyDir (disk or memory), configMap, secret, downwardAPI, projected (service account
//! tokens included), hostPath, and persistentVolumeClaims bound to hostPath or local volumes.
//! Content volumes are rewritten atomically at every sync, so updates reach running pods.

pub mod atomic;
pub mod mount;
mod sources;

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{HostPathVolumeSource, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use self::sources::TokenCache;
use crate::apicache::ApiCache;
use crate::downward::Addresses;
use crate::runtime::VolumeMount;

pub struct VolumeManager {
    pods_dir: PathBuf,
    cache: Arc<ApiCache>,
    tokens: TokenCache,
}

/// What volume content may depend on besides the pod.
pub struct Inputs<'a> {
    pub addrs: &'a Addresses,
    pub allocatable: &'a BTreeMap<String, Quantity>,
}

impl VolumeManager {
    pub fn new(pods_dir: PathBuf, cache: Arc<ApiCache>) -> VolumeManager {
        VolumeManager { pods_dir, cache, tokens: TokenCache::default() }
    }

    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.pods_dir.join(uid)
    }

    pub fn pods_dir(&self) -> &Path {
        &self.pods_dir
    }

    /// Sets up (or refreshes) every volume of the pod; returns where each is on the host.
    pub async fn setup(&self, pod: &Pod, inputs: &Inputs<'_>) -> Result<HashMap<String, VolumeMount>, String> {
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let dir = self.pod_dir(uid);
        let fs_group = pod
            .spec
            .as_ref()
            .and_then(|s| s.security_context.as_ref())
            .and_then(|s| s.fs_group)
            .and_then(|g| u32::try_from(g).ok());
        let mut out = HashMap::new();
        for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
            let plugin_dir = |plugin: &str| dir.join("volumes").join(plugin).join(&v.name);
            let io = |what: &str, e: std::io::Error| {
                format!("MountVolume.SetUp failed for volume {:?}: {what}: {e}", v.name)
            };
            let mount = if let Some(e) = &v.empty_dir {
                let path = plugin_dir("kubernetes.io~empty-dir");
                if e.medium.as_deref() == Some("Memory") {
                    let size = e.size_limit.as_ref().and_then(|q| crate::runtime::cri::resources::units(Some(q)));
                    mount::tmpfs(&path, size.map(|s| s.max(0) as u64)).map_err(|e| io("mounting tmpfs", e))?;
                } else {
                    std::fs::create_dir_all(&path).map_err(|e| io("creating the directory", e))?;
                }
                // emptyDirs are world-writable, as upstream's; fsGroup makes them group-owned.
                let mut mode = 0o777;
                if let Some(gid) = fs_group {
                    std::os::unix::fs::chown(&path, None, Some(gid)).map_err(|e| io("chown", e))?;
                    mode |= 0o2000;
                }
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(|e| io("chmod", e))?;
                VolumeMount { host_path: path, read_only: false, create_sub_paths: true }
            } else if let Some(h) = &v.host_path {
                let path = PathBuf::from(&h.path);
                host_path(h, &path).map_err(|e| format!("MountVolume.SetUp failed for volume {:?}: {e}", v.name))?;
                VolumeMount { host_path: path, read_only: false, create_sub_paths: true }
            } else if let Some(claim) = &v.persistent_volume_claim {
                let path = self.claim_path(ns, &claim.claim_name).await?;
                VolumeMount { host_path: path, read_only: claim.read_only == Some(true), create_sub_paths: true }
            } else {
                let (plugin, secret) = if v.secret.is_some() {
                    ("kubernetes.io~secret", true)
                } else if v.config_map.is_some() {
                    ("kubernetes.io~configmap", false)
                } else if v.downward_api.is_some() {
                    ("kubernetes.io~downward-api", false)
                } else if v.projected.is_some() {
                    ("kubernetes.io~projected", true)
                } else {
                    return Err(format!("volume {:?}: this volume type is not supported by krs", v.name));
                };
                let path = plugin_dir(plugin);
                let payload = sources::payload(pod, v, &self.cache, &self.tokens, inputs).await?;
                let Some(payload) = payload else {
                    // An optional source that is missing: an empty volume.
                    std::fs::create_dir_all(&path).map_err(|e| io("creating the directory", e))?;
                    out.insert(
                        v.name.clone(),
                        VolumeMount { host_path: path, read_only: true, create_sub_paths: false },
                    );
                    continue;
                };
                if secret {
                    // Secrets and tokens stay in memory.
                    mount::tmpfs(&path, None).map_err(|e| io("mounting tmpfs", e))?;
                }
                atomic::write(&path, &payload, fs_group).map_err(|e| io("writing files", e))?;
                VolumeMount { host_path: path, read_only: true, create_sub_paths: false }
            };
            out.insert(v.name.clone(), mount);
        }
        Ok(out)
    }

    async fn claim_path(&self, ns: &str, claim: &str) -> Result<PathBuf, String> {
        let pvc =
            self.cache.claim(ns, claim).await?.ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" not found"))?;
        let volume = pvc.spec.as_ref().and_then(|s| s.volume_name.clone()).filter(|v| !v.is_empty());
        let bound = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        let Some(volume) = volume.filter(|_| bound) else {
            return Err(format!("persistentvolumeclaim \"{claim}\" is not bound"));
        };
        let pv = self.cache.volume(&volume).await?.ok_or_else(|| format!("persistentvolume \"{volume}\" not found"))?;
        let spec = pv.spec.unwrap_or_default();
        if let Some(h) = spec.host_path {
            let path = PathBuf::from(&h.path);
            let src = HostPathVolumeSource { path: h.path.clone(), type_: h.type_.clone() };
            host_path(&src, &path)?;
            return Ok(path);
        }
        if let Some(l) = spec.local {
            let path = PathBuf::from(&l.path);
            if !path.exists() {
                return Err(format!("local volume path {} does not exist", l.path));
            }
            return Ok(path);
        }
        Err(format!("persistentvolume \"{volume}\" is neither a hostPath nor a local volume"))
    }

    /// Unmounts and removes a pod's directory.
    pub fn teardown(&self, uid: &str) -> Result<(), String> {
        let dir = self.pod_dir(uid);
        if !dir.exists() {
            return Ok(());
        }
        mount::unmount_all(&dir).map_err(|e| format!("unmounting volumes of pod {uid}: {e}"))?;
        std::fs::remove_dir_all(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
        self.tokens.forget_pod(uid);
        Ok(())
    }

    /// Pod directories on the host (by UID), for cleaning up after pods the agent no longer has.
    pub fn pod_dirs(&self) -> Vec<String> {
        std::fs::read_dir(&self.pods_dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }
}

/// Checks (or creates) a hostPath per its type.
fn host_path(h: &HostPathVolumeSource, path: &Path) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path);
    let ty = h.type_.as_deref().unwrap_or_default();
    let must = |ok: bool, what: &str| {
        if ok { Ok(()) } else { Err(format!("hostPath type check failed: {} is not a {what}", path.display())) }
    };
    match ty {
        "" => Ok(()),
        "DirectoryOrCreate" => {
            if meta.is_err() {
                std::fs::create_dir_all(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
                return Ok(());
            }
            must(meta.is_ok_and(|m| m.is_dir()), "directory")
        }
        "Directory" => must(meta.is_ok_and(|m| m.is_dir()), "directory"),
        "FileOrCreate" => {
            if meta.is_err() {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
                }
                std::fs::write(path, b"").map_err(|e| format!("creating {}: {e}", path.display()))?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).map_err(|e| e.to_string())?;
                return Ok(());
            }
            must(meta.is_ok_and(|m| m.is_file()), "file")
        }
        "File" => must(meta.is_ok_and(|m| m.is_file()), "file"),
        "Socket" => must(meta.is_ok_and(|m| m.file_type().is_socket()), "socket"),
        "CharDevice" => must(meta.is_ok_and(|m| m.file_type().is_char_device()), "character device"),
        "BlockDevice" => must(meta.is_ok_and(|m| m.file_type().is_block_device()), "block device"),
        other => Err(format!("unknown hostPath type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_path_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = |t: &str| HostPathVolumeSource { path: String::new(), type_: Some(t.into()) };
        let d = dir.path().join("made");
        assert!(host_path(&src("Directory"), &d).is_err());
        assert!(host_path(&src("DirectoryOrCreate"), &d).is_ok());
        assert!(d.is_dir());
        assert!(host_path(&src("Directory"), &d).is_ok());
        assert!(host_path(&src("File"), &d).is_err());
        let f = dir.path().join("x/file");
        assert!(host_path(&src("FileOrCreate"), &f).is_ok());
        assert!(host_path(&src("File"), &f).is_ok());
        assert!(host_path(&src("Socket"), &f).is_err());
        assert!(host_path(&src("Bogus"), &f).is_err());
    }
}
