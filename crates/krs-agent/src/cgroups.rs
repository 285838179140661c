//! Pod cgroups: runc creates them under the parent the sandbox names; the agent removes them
//! when the pod is gone (they are empty by then).

use std::path::Path;

/// Removes a pod's cgroup (`/kubepods/.../pod<uid>`) in every hierarchy (v1 controllers or
/// the v2 unified tree). Non-empty or missing cgroups are left alone.
pub fn remove_pod(parent: &str) {
    let root = Path::new("/sys/fs/cgroup");
    let rel = parent.trim_start_matches('/');
    if rel.is_empty() || !rel.starts_with("kubepods") {
        return;
    }
    let _ = std::fs::remove_dir(root.join(rel));
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let dir = e.path().join(rel);
        if dir.is_dir() {
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

/// Like [`remove_pod`], also removing the pod's (empty) container cgroups first.
pub fn remove_pod_tree(parent: &str) {
    let root = Path::new("/sys/fs/cgroup");
    let rel = parent.trim_start_matches('/');
    if rel.is_empty() || !rel.starts_with("kubepods") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let dir = e.path().join(rel);
        if let Ok(children) = std::fs::read_dir(&dir) {
            for c in children.flatten().filter(|c| c.path().is_dir()) {
                let _ = std::fs::remove_dir(c.path());
            }
        }
    }
    remove_pod(parent);
}
