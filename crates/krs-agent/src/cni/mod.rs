//! The pod network: a bridge + host-local conflist on the node's pod CIDR (plus portmap for
//! hostPorts), written where containerd's CRI plugin reads it, and one masquerade chain for pod
//! egress. Until the conflist exists, the runtime reports NetworkReady=false and the node is
//! not Ready.

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
                "ipMasq": false,
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

/// The nat chain that masquerades pod traffic leaving the pod network.
pub const EGRESS_CHAIN: &str = "KRS-POD-EGRESS";

/// The iptables-restore input for the egress chain: per pod CIDR, traffic to the pod network
/// or to multicast is left alone and everything else is masqueraded.
pub fn egress_rules(pod_cidrs: &[String], v6: bool) -> String {
    let multicast = if v6 { "ff00::/8" } else { "224.0.0.0/4" };
    let mut out = format!("*nat\n:{EGRESS_CHAIN} - [0:0]\n");
    for c in pod_cidrs.iter().filter(|c| c.contains(':') == v6) {
        out.push_str(&format!("-A {EGRESS_CHAIN} -s {c} -d {c} -j RETURN\n"));
        out.push_str(&format!("-A {EGRESS_CHAIN} -s {c} -d {multicast} -j RETURN\n"));
        out.push_str(&format!("-A {EGRESS_CHAIN} -s {c} -j MASQUERADE\n"));
    }
    out.push_str("COMMIT\n");
    out
}

/// Pod egress NAT, set once per node rather than per pod: the bridge plugin's `ipMasq` runs
/// iptables about fifteen times per pod start and stop, which on a small node costs more CPU
/// than the rest of the pod's network set-up. Applies the rules only when `pod_cidrs` changed
/// since the last successful call (iptables-restore replaces the chain's contents whole).
pub fn ensure_egress(pod_cidrs: &[String]) -> Result<()> {
    // Keyed by network namespace too: tests run several nodes in one process, each in a
    // namespace of its own.
    static APPLIED: parking_lot::Mutex<Vec<(PathBuf, Vec<String>)>> = parking_lot::Mutex::new(Vec::new());
    let netns = std::fs::read_link("/proc/thread-self/ns/net").unwrap_or_default();
    let mut applied = APPLIED.lock();
    if applied.iter().any(|(ns, c)| *ns == netns && c.as_slice() == pod_cidrs) {
        return Ok(());
    }
    for v6 in [false, true] {
        if !pod_cidrs.iter().any(|c| c.contains(':') == v6) {
            continue;
        }
        let (tables, restore) = if v6 { ("ip6tables", "ip6tables-restore") } else { ("iptables", "iptables-restore") };
        run_with_input(restore, &["-w", "--noflush"], &egress_rules(pod_cidrs, v6))?;
        let jump =
            ["-w", "-t", "nat", "POSTROUTING", "-m", "comment", "--comment", "krs pod egress", "-j", EGRESS_CHAIN];
        let mut check = jump.to_vec();
        check.insert(3, "-C");
        if run_with_input(tables, &check, "").is_err() {
            let mut append = jump.to_vec();
            append.insert(3, "-A");
            run_with_input(tables, &append, "")?;
        }
    }
    tracing::info!(cidrs = ?pod_cidrs, "pod egress masquerade configured");
    applied.retain(|(ns, _)| *ns != netns);
    applied.push((netns, pod_cidrs.to_vec()));
    Ok(())
}

fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("running {program}"), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(|e| Error::io(format!("writing to {program}"), e))?;
    }
    let out = child.wait_with_output().map_err(|e| Error::io(format!("running {program}"), e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Config(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())))
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
    fn egress_rules_per_family() {
        let cidrs = ["10.42.0.0/24".to_string(), "fd00:42::/64".to_string()];
        let v4 = egress_rules(&cidrs, false);
        assert!(v4.starts_with("*nat\n:KRS-POD-EGRESS - [0:0]\n"), "{v4}");
        assert!(v4.contains("-A KRS-POD-EGRESS -s 10.42.0.0/24 -d 10.42.0.0/24 -j RETURN\n"), "{v4}");
        assert!(v4.contains("-A KRS-POD-EGRESS -s 10.42.0.0/24 -d 224.0.0.0/4 -j RETURN\n"), "{v4}");
        assert!(v4.contains("-A KRS-POD-EGRESS -s 10.42.0.0/24 -j MASQUERADE\nCOMMIT\n"), "{v4}");
        assert!(!v4.contains("fd00"), "{v4}");
        let v6 = egress_rules(&cidrs, true);
        assert!(v6.contains("-A KRS-POD-EGRESS -s fd00:42::/64 -d ff00::/8 -j RETURN\n"), "{v6}");
        assert!(!v6.contains("10.42"), "{v6}");
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
