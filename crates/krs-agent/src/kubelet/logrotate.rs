//! Container log rotation (upstream's ContainerLogManager): a running container's log that
//! outgrew containerLogMaxSize is renamed with a timestamp suffix, the runtime reopens the
//! file, and only containerLogMaxFiles files (the live one included) are kept.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::Kubelet;
use crate::runtime::ContainerState;
use crate::runtime::cri::sandbox::log_directory;

const CHECK_EVERY: Duration = Duration::from_secs(10);

/// Rotates `path` if it is larger than `max_size`; returns whether it did. Old rotated files
/// beyond `max_files - 1` are removed (oldest first).
pub fn rotate_if_needed(path: &Path, max_size: u64, max_files: u32) -> std::io::Result<bool> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if len <= max_size {
        return Ok(false);
    }
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S%.6f").to_string();
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(format!(".{stamp}"));
    std::fs::rename(path, &rotated)?;
    prune(path, max_files)?;
    Ok(true)
}

fn prune(path: &Path, max_files: u32) -> std::io::Result<()> {
    let mut rotated = crate::server::logs::files(path);
    rotated.retain(|p| p != path);
    let keep = max_files.saturating_sub(1) as usize;
    if rotated.len() > keep {
        for old in &rotated[..rotated.len() - keep] {
            std::fs::remove_file(old)?;
        }
    }
    Ok(())
}

pub async fn run(kubelet: Arc<Kubelet>) {
    let max_size = kubelet.options().container_log_max_size;
    let max_files = kubelet.options().container_log_max_files.max(2);
    if max_size == 0 {
        return;
    }
    let mut tick = tokio::time::interval(CHECK_EVERY);
    loop {
        tick.tick().await;
        for pod in kubelet.pods() {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let Ok(status) = kubelet.runtime().pod_status(&uid).await else { continue };
            let dir = log_directory(kubelet.log_root(), &pod);
            for c in status.containers.iter().filter(|c| c.state == ContainerState::Running) {
                let path = dir.join(&c.name).join(format!("{}.log", c.attempt));
                match rotate_if_needed(&path, max_size, max_files) {
                    Ok(true) => {
                        if let Err(e) = kubelet.runtime().reopen_log(&c.id).await {
                            tracing::warn!(container = %c.id, error = %e, "reopening a rotated log");
                        }
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(path = %path.display(), error = %e, "rotating a container log"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_keeps_max_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("0.log");
        std::fs::write(&log, "small").expect("write");
        assert!(!rotate_if_needed(&log, 100, 3).expect("check"));
        for i in 0..4 {
            std::fs::write(&log, "x".repeat(200)).expect("write");
            assert!(rotate_if_needed(&log, 100, 3).expect("rotate"), "rotation {i}");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let files = crate::server::logs::files(&log);
        // The live file (absent until the runtime reopens it) plus max_files - 1 rotated.
        assert_eq!(files.len(), 3, "{files:?}");
        assert!(!rotate_if_needed(&dir.path().join("missing.log"), 1, 3).expect("missing"));
    }
}
