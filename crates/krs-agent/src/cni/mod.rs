//! The pod network: a bridge + host-local conflist on the node's pod CIDR (plus portmap for
//! hostPorts), written where containerd's CRI plugin reads it. Until it exists, the runtime
//! reports NetworkReady=false and the node is not Ready.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};

pub const CONFLIST_NAME: &str = "10-krs.conflist";

/// Where the agent keeps its CNI state.
pub fn conf_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cni").join("net.d")
}

/// The network name: unique per data dir, so agents sharing a machine (tests) don't share
/// libcni's result cache entries.
pub fn network_name(data_dir: &Path) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data_dir.as_os_str().as_encoded_bytes());
    let hex: String = digest.as_ref().iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("krs-{hex}")
}

/// The conflist for `pod_cidrs` (one per IP family).
pub fn conflist(name: &str, bridge: &str, pod_cidrs: &[String], ipam_dir: &Path) -> serde_json::Value {
    let ranges: Vec<_> = pod_cidrs.iter().map(|c| json!([{"subnet": c}])).collect();
    let routes: Vec<_> = pod_cidrs
        .iter()
        .map(|c| if c.contains(':') { json!({"dst": "::/0"}) } else { json!({"dst": "0.0.0.0/0"}) })
        .collect();
    json!({
        "cniVersion": "1.0.0",
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": ranges,
                    "routes": routes,
                    "dataDir": ipam_dir,
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    })
}

/// Writes the conflist for `pod_cidrs` if it differs from what is there. Returns whether it
/// changed.
pub fn ensure(data_dir: &Path, pod_cidrs: &[String]) -> Result<bool> {
    let dir = conf_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let ipam = data_dir.join("cni").join("networks");
    let body = conflist(&network_name(data_dir), "cni0", pod_cidrs, &ipam);
    let text = serde_json::to_string_pretty(&body).map_err(|e| Error::Config(e.to_string()))?;
    let path = dir.join(CONFLIST_NAME);
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    // Written aside then renamed: containerd watches the directory and must never read half a file.
    let tmp = dir.join(".krs.conflist.tmp");
    std::fs::write(&tmp, &text).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    tracing::info!(cidrs = ?pod_cidrs, "pod network configured");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_and_portmap() {
        let c = conflist("krs-x", "cni0", &["10.42.0.0/24".into()], Path::new("/d/ipam"));
        assert_eq!(c["plugins"][0]["type"], "bridge");
        assert_eq!(c["plugins"][0]["isGateway"], true);
        assert_eq!(c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"], "10.42.0.0/24");
        assert_eq!(c["plugins"][0]["ipam"]["dataDir"], "/d/ipam");
        assert_eq!(c["plugins"][1]["type"], "portmap");
    }

    #[test]
    fn ensure_writes_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(ensure(dir.path(), &["10.42.0.0/24".into()]).unwrap_or(false));
        assert!(!ensure(dir.path(), &["10.42.0.0/24".into()]).unwrap_or(true));
        assert!(ensure(dir.path(), &["10.42.1.0/24".into()]).unwrap_or(false));
        assert_ne!(network_name(Path::new("/a")), network_name(Path::new("/b")));
    }
}
