//! Small helpers the benchmark binaries share: settings from the environment, the krs binary
//! to run, starting a control-plane-only `krs server`, and summary statistics.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A numeric setting from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The krs binary: `KRS_BIN`, else `krs` next to the running benchmark.
pub fn krs_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("KRS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().map(|d| d.join("krs")).unwrap_or_else(|| PathBuf::from("krs"))
}

/// Starts `krs server` on `dir` (API server only, an ephemeral port on loopback) and returns
/// the child and its admin kubeconfig once it serves. Panics if it cannot start: a benchmark
/// has nothing to measure then.
pub fn start_server(dir: &Path) -> (Child, PathBuf) {
    let bin = krs_binary();
    let mut cmd = Command::new(&bin);
    cmd.arg("server").arg("--data-dir").arg(dir).args(["--secure-port", "0", "--bind-address", "127.0.0.1"]);
    cmd.args(["--no-agent", "--no-scheduler", "--no-controller-manager"]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("stdout");
    let kubeconfig = admin_kubeconfig(stdout).expect("krs server exited during start-up");
    (child, kubeconfig)
}

/// Reads a starting `krs server`'s stdout up to the line naming the admin kubeconfig (None if
/// the server exits first), then keeps draining it so the server never blocks on a full pipe.
pub fn admin_kubeconfig(stdout: std::process::ChildStdout) -> Option<PathBuf> {
    let mut lines = BufReader::new(stdout).lines();
    let kubeconfig = loop {
        let line = lines.next()?.ok()?;
        if let Some(p) = line.strip_prefix("krs: admin kubeconfig: ") {
            break PathBuf::from(p.trim());
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Some(kubeconfig)
}

/// The `p`th percentile (nearest rank) of ascending `sorted`; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

/// Bytes as MiB; NaN when unknown.
pub fn mib(b: Option<u64>) -> f64 {
    b.map(|b| b as f64 / (1 << 20) as f64).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[3.0], 1.0), 3.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
