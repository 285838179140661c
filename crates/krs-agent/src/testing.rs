//! Images for tests and benchmarks, built without a registry: an OCI image layout whose one
//! layer holds the host's static busybox (`/bin/busybox` from busybox-static) and its applet
//! links. `ctr images import` takes the layout as a tar; `skopeo` can push the layout to a
//! registry.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

/// The image every test container runs.
pub const BUSYBOX_IMAGE: &str = "krs.local/busybox:1";
/// The sandbox ("pause") image: a shell that sleeps until SIGTERM.
pub const PAUSE_IMAGE: &str = "krs.local/pause:1";

enum Entry {
    Dir(u32),
    File(Vec<u8>, u32),
    Symlink(String),
}

/// A minimal ustar writer.
fn tar(entries: &[(String, Entry)]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for (path, e) in entries {
        let mut h = [0u8; 512];
        let (name, prefix) = if path.len() <= 100 {
            (path.as_str(), "")
        } else {
            let cut = path[..path.len().min(155)].rfind('/').ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("path too long for ustar: {path}"))
            })?;
            (&path[cut + 1..], &path[..cut])
        };
        h[..name.len()].copy_from_slice(name.as_bytes());
        let (mode, size, flag, link) = match e {
            Entry::Dir(m) => (*m, 0, b'5', ""),
            Entry::File(data, m) => (*m, data.len(), b'0', ""),
            Entry::Symlink(t) => (0o777, 0, b'2', t.as_str()),
        };
        let octal = |field: &mut [u8], v: u64| {
            let s = format!("{:0width$o}\0", v, width = field.len() - 1);
            field.copy_from_slice(s.as_bytes());
        };
        octal(&mut h[100..108], u64::from(mode));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size as u64);
        octal(&mut h[136..148], 1_700_000_000);
        h[156] = flag;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        if let Entry::File(data, _) = e {
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
    }
    out.resize(out.len() + 1024, 0);
    Ok(out)
}

fn sha256(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The root file system of the busybox image.
fn busybox_rootfs() -> std::io::Result<Vec<(String, Entry)>> {
    let busybox = std::fs::read("/bin/busybox")?;
    let list = Command::new("/bin/busybox").arg("--list").output()?;
    let mut e = vec![("bin/".to_owned(), Entry::Dir(0o755)), ("bin/busybox".to_owned(), Entry::File(busybox, 0o755))];
    for applet in
        String::from_utf8_lossy(&list.stdout).lines().map(str::trim).filter(|a| !a.is_empty() && *a != "busybox")
    {
        e.push((format!("bin/{applet}"), Entry::Symlink("busybox".into())));
    }
    for d in ["dev/", "proc/", "sys/", "root/", "var/", "var/www/", "usr/", "usr/bin/", "etc/"] {
        e.push((d.to_owned(), Entry::Dir(0o755)));
    }
    e.push(("tmp/".to_owned(), Entry::Dir(0o1777)));
    e.push(("usr/bin/env".to_owned(), Entry::Symlink("/bin/busybox".into())));
    e.push((
        "etc/passwd".to_owned(),
        Entry::File(b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n".to_vec(), 0o644),
    ));
    e.push(("etc/group".to_owned(), Entry::File(b"root:x:0:\nnobody:x:65534:\n".to_vec(), 0o644)));
    e.push(("var/www/index.html".to_owned(), Entry::File(b"hello from krs\n".to_vec(), 0o644)));
    Ok(e)
}

/// An OCI layout directory and its tar, holding one image.
pub struct Layout {
    pub dir: PathBuf,
    pub archive: PathBuf,
    pub name: String,
}

/// Builds the busybox image `name` (e.g. `krs.local/busybox:1`) with default command `cmd`
/// under `dir`.
pub fn build_busybox(dir: &Path, name: &str, cmd: &[&str]) -> std::io::Result<Layout> {
    let layer = tar(&busybox_rootfs()?)?;
    let layer_digest = sha256(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cmd,
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
    }))?;
    let config_digest = sha256(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{layer_digest}"), "size": layer.len()}],
    }))?;
    let manifest_digest = sha256(&manifest);
    let tag = name.rsplit_once(':').map(|(_, t)| t).filter(|t| !t.contains('/')).unwrap_or("latest");
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag},
        }],
    }))?;
    let layout_dir = dir.join(sha256(name.as_bytes()).get(..12).unwrap_or("image"));
    let blobs = layout_dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let layout_file = br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec();
    let mut files = vec![
        ("oci-layout".to_owned(), Entry::File(layout_file.clone(), 0o644)),
        ("index.json".to_owned(), Entry::File(index.clone(), 0o644)),
        ("blobs/".to_owned(), Entry::Dir(0o755)),
        ("blobs/sha256/".to_owned(), Entry::Dir(0o755)),
    ];
    std::fs::write(layout_dir.join("oci-layout"), &layout_file)?;
    std::fs::write(layout_dir.join("index.json"), &index)?;
    for (digest, data) in [(&layer_digest, layer), (&config_digest, config), (&manifest_digest, manifest)] {
        std::fs::write(blobs.join(digest), &data)?;
        files.push((format!("blobs/sha256/{digest}"), Entry::File(data, 0o644)));
    }
    let archive = layout_dir.with_extension("tar");
    std::fs::File::create(&archive)?.write_all(&tar(&files)?)?;
    Ok(Layout { dir: layout_dir, archive, name: name.to_owned() })
}

/// Imports an image archive into containerd's CRI namespace with `ctr`.
pub fn import(socket: &Path, archive: &Path) -> std::io::Result<()> {
    let out = Command::new("ctr")
        .arg("--address")
        .arg(socket)
        .args(["-n", "k8s.io", "images", "import"])
        .arg(archive)
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!("ctr images import: {}", String::from_utf8_lossy(&out.stderr))));
    }
    Ok(())
}

/// The busybox image and the pause image, imported into the containerd at `socket`.
pub fn import_test_images(socket: &Path, work: &Path) -> std::io::Result<()> {
    let busybox = build_busybox(work, BUSYBOX_IMAGE, &["sh"])?;
    import(socket, &busybox.archive)?;
    let pause = build_busybox(
        work,
        PAUSE_IMAGE,
        &["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"],
    )?;
    import(socket, &pause.archive)?;
    Ok(())
}

/// Removes everything a containerd under `dir` (socket `socket`) ran, for tests and
/// benchmarks: every sandbox through the CRI (while containerd still runs), then leftover
/// shims (by PID: their command line names the socket), mounts under `dir`, and libcni's cache
/// entries of the agent's network. Call it before stopping containerd, and again after.
pub async fn remove_all_pods(socket: &Path) {
    let Ok(mut c) = crate::runtime::cri::client::CriClient::connect(socket).await else { return };
    let Ok(list) = c.runtime.list_pod_sandbox(k8s_cri::v1::ListPodSandboxRequest { filter: None }).await else {
        return;
    };
    for s in list.into_inner().items {
        let id = s.id.clone();
        let stop = k8s_cri::v1::StopPodSandboxRequest { pod_sandbox_id: id.clone() };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), c.runtime.stop_pod_sandbox(stop)).await;
        let remove = k8s_cri::v1::RemovePodSandboxRequest { pod_sandbox_id: id };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), c.runtime.remove_pod_sandbox(remove)).await;
        if let Some(uid) = s.labels.get(crate::runtime::cri::sandbox::POD_UID) {
            for qos in ["/kubepods", "/kubepods/burstable", "/kubepods/besteffort"] {
                crate::cgroups::remove_pod_tree(&format!("{qos}/pod{uid}"));
            }
        }
    }
}

/// The synchronous half of the cleanup (after containerd stopped): shims, mounts, CNI cache.
pub fn remove_leftovers(dir: &Path, socket: &Path) {
    let needle = socket.to_string_lossy().into_owned();
    let me = std::process::id() as i32;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for pid in entries.flatten().filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok()) {
            if pid == me {
                continue;
            }
            let mentions = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(&needle))
                .unwrap_or(false);
            if mentions {
                // SAFETY: kill(2) on a shim of this containerd (its command line names our socket).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let _ = crate::volumes::mount::unmount_all(dir);
    let network = crate::cni::network_name(dir);
    if let Ok(entries) = std::fs::read_dir("/var/lib/cni/results") {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&format!("{network}-")) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ustar_headers_round_trip_through_tar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entries = vec![
            ("d/".to_owned(), Entry::Dir(0o755)),
            ("d/f".to_owned(), Entry::File(b"hello".to_vec(), 0o644)),
            ("d/l".to_owned(), Entry::Symlink("f".into())),
        ];
        let archive = dir.path().join("a.tar");
        std::fs::write(&archive, tar(&entries).expect("tar")).expect("write");
        let out = Command::new("tar").arg("-tvf").arg(&archive).output().expect("tar -t");
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(listing.contains("d/f") && listing.contains("d/l -> f"), "{listing}");
    }
}
