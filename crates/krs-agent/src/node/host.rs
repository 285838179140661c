//! What the host is: capacity (CPU, memory, ephemeral storage, hugepages), identity (machine
//! ID, boot ID, kernel, OS image) and its address. Upstream reads these through cAdvisor; the
//! same files are read here.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;

/// The host's resources, in bytes or CPUs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capacity {
    pub cpus: u64,
    pub memory_bytes: u64,
    pub ephemeral_storage_bytes: u64,
    /// Hugepage size in bytes → total bytes of configured pages of that size.
    pub hugepages: BTreeMap<u64, u64>,
}

/// The host's identity, for `status.nodeInfo`.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub machine_id: String,
    pub system_uuid: String,
    pub boot_id: String,
    pub kernel_version: String,
    pub os_image: String,
}

pub fn capacity(storage_dir: &Path) -> Capacity {
    let cpus = std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1);
    let memory_bytes =
        std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| meminfo_field(&s, "MemTotal")).unwrap_or(0);
    Capacity {
        cpus,
        memory_bytes,
        ephemeral_storage_bytes: fs_stats(storage_dir).map(|s| s.capacity).unwrap_or(0),
        hugepages: hugepages(Path::new("/sys/kernel/mm/hugepages")),
    }
}

/// A field of /proc/meminfo, in bytes (the file says kB).
pub fn meminfo_field(meminfo: &str, name: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        let mut words = rest.split_whitespace();
        let value: u64 = words.next()?.parse().ok()?;
        Some(match words.next() {
            Some("kB") => value * 1024,
            _ => value,
        })
    })
}

/// Configured hugepages by page size, from `hugepages-<size>kB/nr_hugepages`.
fn hugepages(dir: &Path) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(kb) = name.strip_prefix("hugepages-").and_then(|s| s.strip_suffix("kB")) else { continue };
        let Ok(kb) = kb.parse::<u64>() else { continue };
        let count = std::fs::read_to_string(entry.path().join("nr_hugepages"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        out.insert(kb * 1024, count * kb * 1024);
    }
    out
}

/// The Kubernetes resource name of a hugepage size: `hugepages-2Mi`, `hugepages-1Gi`.
pub fn hugepage_resource(page_bytes: u64) -> String {
    format!("hugepages-{}", quantity_bytes(page_bytes))
}

/// Bytes as a canonical binary-suffixed quantity where exact (`2Mi`, `1Gi`), else plain bytes.
pub fn quantity_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 5] =
        [("Pi", 1 << 50), ("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)];
    if bytes == 0 {
        return "0".into();
    }
    for (suffix, unit) in UNITS {
        if bytes.is_multiple_of(unit) {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

/// A file system's size and free space for unprivileged users.
#[derive(Clone, Copy, Debug)]
pub struct FsStats {
    pub capacity: u64,
    pub available: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

pub fn fs_stats(path: &Path) -> Option<FsStats> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frsize = st.f_frsize as u64;
    Some(FsStats {
        capacity: st.f_blocks as u64 * frsize,
        available: st.f_bavail as u64 * frsize,
        inodes: st.f_files as u64,
        inodes_free: st.f_ffree as u64,
    })
}

pub fn identity() -> Identity {
    let read = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_owned()).unwrap_or_default();
    let machine_id = read("/etc/machine-id");
    let mut system_uuid = read("/sys/class/dmi/id/product_uuid").to_lowercase();
    if system_uuid.is_empty() {
        system_uuid = machine_id.clone();
    }
    Identity {
        machine_id,
        system_uuid,
        boot_id: read("/proc/sys/kernel/random/boot_id"),
        kernel_version: read("/proc/sys/kernel/osrelease"),
        os_image: os_image(&std::fs::read_to_string("/etc/os-release").unwrap_or_default()),
    }
}

/// PRETTY_NAME of os-release, as upstream reports it ("Debian GNU/Linux 12 (bookworm)").
pub fn os_image(os_release: &str) -> String {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| "Linux".into())
}

/// The host's address toward the rest of the network: the source address of the default route
/// (no packet is sent), else loopback.
pub fn default_ip() -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        Ok(s.local_addr()?.ip())
    };
    probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The host name, lowercased, as upstream's default node name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates within it on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).to_lowercase()
}

/// The number of process IDs the kernel allows and how many are in use.
pub fn pid_usage() -> Option<(u64, u64)> {
    let max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max").ok()?.trim().parse().ok()?;
    // /proc/loadavg's fourth field is "running/total" tasks.
    let load = std::fs::read_to_string("/proc/loadavg").ok()?;
    let total: u64 = load.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok()?;
    Some((max, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_parsing() {
        let s = "MemTotal:       24568124 kB\nMemFree:         1000 kB\nHugePages_Total:       0\n";
        assert_eq!(meminfo_field(s, "MemTotal"), Some(24568124 * 1024));
        assert_eq!(meminfo_field(s, "MemFree"), Some(1000 * 1024));
        assert_eq!(meminfo_field(s, "HugePages_Total"), Some(0));
        assert_eq!(meminfo_field(s, "Missing"), None);
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity_bytes(2 << 20), "2Mi");
        assert_eq!(quantity_bytes(1 << 30), "1Gi");
        assert_eq!(quantity_bytes(1536), "1536");
        assert_eq!(quantity_bytes(3 << 10), "3Ki");
        assert_eq!(hugepage_resource(2 << 20), "hugepages-2Mi");
    }

    #[test]
    fn os_release() {
        let s = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n";
        assert_eq!(os_image(s), "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(os_image(""), "Linux");
    }

    #[test]
    fn host_facts_are_plausible() {
        let c = capacity(Path::new("/"));
        assert!(c.cpus >= 1);
        assert!(c.memory_bytes > 64 << 20);
        assert!(c.ephemeral_storage_bytes > 0);
        assert!(pid_usage().is_some_and(|(max, used)| max > 0 && used > 0 && used <= max));
    }
}
