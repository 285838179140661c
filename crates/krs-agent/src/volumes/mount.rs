//! Mount points: tmpfs for memory-backed emptyDirs and for volumes holding secrets (never
//! written to disk), and their teardown.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The mount points at or under `root`, deepest first, from /proc/self/mountinfo.
pub fn mounts_under(root: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape)
        .map(PathBuf::from)
        .filter(|p| p.starts_with(root))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out.dedup();
    out
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `p` is the root of a mount. statx(2) says so directly (Linux 5.8+), which matters:
/// the pod workers ask on every resync, and mountinfo grows with every pod on the node (each
/// has its rootfs overlays, shm and network namespace), so reading it scaled with the node.
pub fn is_mount_point(p: &Path) -> bool {
    let Ok(c) = cstr(p) else { return false };
    // SAFETY: statx is plain data; all-zero is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and stx a writable statx buffer.
    let rc = unsafe { libc::statx(libc::AT_FDCWD, c.as_ptr(), libc::AT_SYMLINK_NOFOLLOW, 0, &mut stx) };
    let flag = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if rc == 0 && stx.stx_attributes_mask & flag != 0 {
        return stx.stx_attributes & flag != 0;
    }
    mounts_under(p).iter().any(|m| m == p)
}

fn cstr(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}

/// Mounts a tmpfs at `dir` (created if missing) unless one is there already.
pub fn tmpfs(dir: &Path, size_bytes: Option<u64>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if is_mount_point(dir) {
        return Ok(());
    }
    let mut opts = String::from("mode=0755");
    if let Some(size) = size_bytes.filter(|s| *s > 0) {
        opts.push_str(&format!(",size={size}"));
    }
    let target = cstr(dir)?;
    let opts = CString::new(opts).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            opts.as_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Unmounts everything at or under `root` (lazily, so busy mounts don't block teardown).
pub fn unmount_all(root: &Path) -> std::io::Result<()> {
    for m in mounts_under(root) {
        let target = cstr(&m)?;
        // SAFETY: target is a valid NUL-terminated path.
        let rc = unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINVAL) && e.raw_os_error() != Some(libc::ENOENT) {
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_unescaping() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert!(is_mount_point(Path::new("/proc")));
        assert!(!mounts_under(Path::new("/")).is_empty());
    }

    #[test]
    fn mount_points_agree_with_mountinfo() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("v");
        std::fs::create_dir(&d).unwrap();
        assert!(!is_mount_point(&d));
        assert!(!is_mount_point(&dir.path().join("missing")));
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        tmpfs(&d, Some(1 << 20)).unwrap();
        assert!(is_mount_point(&d));
        assert!(mounts_under(dir.path()).contains(&d));
        assert!(!is_mount_point(dir.path()));
        tmpfs(&d, None).unwrap();
        assert_eq!(mounts_under(dir.path()).len(), 1, "tmpfs mounts once");
        unmount_all(dir.path()).unwrap();
        assert!(!is_mount_point(&d));
    }
}
