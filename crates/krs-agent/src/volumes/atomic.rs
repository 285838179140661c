//! Atomic updates of a volume's files (upstream's AtomicWriter): the files live in a
//! timestamped directory, `..data` is a symlink to it, and each user-visible name is a symlink
//! through `..data`. An update writes a new directory and swaps `..data` with one rename, so a
//! reader sees either the old set of files or the new one, never a mix.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Relative path → (content, mode).
pub type Payload = BTreeMap<String, (Vec<u8>, u32)>;

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

fn valid(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty()
        && !p.is_absolute()
        && !rel.starts_with("..")
        && p.components().all(|c| matches!(c, Component::Normal(_)))
}

fn current(dir: &Path) -> Option<(PathBuf, Payload)> {
    let target = std::fs::read_link(dir.join(DATA)).ok()?;
    let data = dir.join(&target);
    let mut out = Payload::new();
    fn walk(base: &Path, d: &Path, out: &mut Payload) -> std::io::Result<()> {
        for e in std::fs::read_dir(d)? {
            let e = e?;
            let p = e.path();
            let ft = e.file_type()?;
            if ft.is_dir() {
                walk(base, &p, out)?;
            } else if let Ok(rel) = p.strip_prefix(base) {
                let mode = e.metadata()?.permissions().mode() & 0o7777;
                out.insert(rel.to_string_lossy().into_owned(), (std::fs::read(&p)?, mode));
            }
        }
        Ok(())
    }
    walk(&data, &data, &mut out).ok()?;
    Some((data, out))
}

/// Makes `dir` hold exactly `payload`. Returns whether anything changed. `owner_gid`, when
/// set, becomes the files' group (fsGroup).
pub fn write(dir: &Path, payload: &Payload, owner_gid: Option<u32>) -> std::io::Result<bool> {
    for rel in payload.keys() {
        if !valid(rel) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid file path {rel:?}")));
        }
    }
    std::fs::create_dir_all(dir)?;
    let old = current(dir);
    if let Some((_, old_payload)) = &old
        && old_payload == payload
    {
        return Ok(false);
    }
    let stamp = jiff::Timestamp::now().strftime("..%Y_%m_%d_%H_%M_%S.%f").to_string();
    let ts_dir = dir.join(&stamp);
    std::fs::create_dir(&ts_dir)?;
    for (rel, (content, mode)) in payload {
        let path = ts_dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))?;
        if let Some(gid) = owner_gid {
            std::os::unix::fs::chown(&path, None, Some(gid))?;
        }
    }
    if let Some(gid) = owner_gid {
        std::os::unix::fs::chown(&ts_dir, None, Some(gid))?;
    }
    std::fs::set_permissions(&ts_dir, std::fs::Permissions::from_mode(0o755))?;
    let tmp = dir.join(DATA_TMP);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&stamp, &tmp)?;
    std::fs::rename(&tmp, dir.join(DATA))?;
    // User-visible names: one symlink per top-level entry.
    let tops: std::collections::BTreeSet<String> =
        payload.keys().filter_map(|k| k.split('/').next().map(str::to_owned)).collect();
    for top in &tops {
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new(DATA).join(top), &link)?;
        }
    }
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") {
            continue;
        }
        if !tops.contains(&name) && e.file_type().is_ok_and(|t| t.is_symlink()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    if let Some((old_dir, _)) = old
        && old_dir != ts_dir
    {
        let _ = std::fs::remove_dir_all(old_dir);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_atomically_and_prunes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = dir.path().join("vol");
        let mut p = Payload::new();
        p.insert("a".into(), (b"1".to_vec(), 0o644));
        p.insert("sub/b".into(), (b"2".to_vec(), 0o600));
        assert!(write(&v, &p, None).expect("write"));
        assert_eq!(std::fs::read_to_string(v.join("a")).ok().as_deref(), Some("1"));
        assert_eq!(std::fs::read_to_string(v.join("sub/b")).ok().as_deref(), Some("2"));
        assert!(!write(&v, &p, None).expect("rewrite"), "an unchanged payload is not rewritten");
        let mut q = Payload::new();
        q.insert("a".into(), (b"updated".to_vec(), 0o644));
        assert!(write(&v, &q, None).expect("update"));
        assert_eq!(std::fs::read_to_string(v.join("a")).ok().as_deref(), Some("updated"));
        assert!(std::fs::symlink_metadata(v.join("sub")).is_err(), "names gone from the payload are removed");
        let stamps = std::fs::read_dir(&v)
            .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("..2")).count())
            .unwrap_or(0);
        assert_eq!(stamps, 1, "the old data directory is removed");
        let mut bad = Payload::new();
        bad.insert("../escape".into(), (vec![], 0o644));
        assert!(write(&v, &bad, None).is_err());
    }
}
