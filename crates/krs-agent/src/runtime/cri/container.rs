//! A container's CRI configuration: command, env, mounts, resources, security context,
//! labels and the annotations the agent reads back after a restart.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod, SeccompProfile};

use super::sandbox::{CONTAINER_NAME, MANAGED_BY, POD_NAME, POD_NAMESPACE, POD_UID};
use crate::runtime::{SyncContext, VolumeMount};

pub const HASH: &str = "io.kubernetes.container.hash";
pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
pub const TERMINATION_MESSAGE_PATH: &str = "io.kubernetes.container.terminationMessagePath";
pub const TERMINATION_MESSAGE_POLICY: &str = "io.kubernetes.container.terminationMessagePolicy";
pub const TERMINATION_GRACE: &str = "io.kubernetes.pod.terminationGracePeriod";
pub const PRE_STOP: &str = "io.kubernetes.container.preStopHandler";
/// Where the termination message file of this container instance is on the host.
pub const TERMINATION_HOST_PATH: &str = "io.krs.terminationMessageHostPath";
/// The image as the pod spec names it (status.image reports it).
pub const IMAGE: &str = "krs.io/image";

const DEFAULT_MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const DEFAULT_READONLY: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// A stable hash of the container spec: a changed spec (e.g. a new image) restarts it.
pub fn spec_hash(c: &Container) -> String {
    let bytes = serde_json::to_vec(c).unwrap_or_default();
    let d = ring::digest::digest(&ring::digest::SHA256, &bytes);
    d.as_ref().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Node-level settings of container creation.
pub struct Settings<'a> {
    pub seccomp_default: bool,
    pub memory_capacity: i64,
    pub seccomp_dir: &'a Path,
}

/// Expands `$(VAR)` references from `env` (upstream's expansion: `$$` is a literal `$`,
/// unknown references stay as written).
pub fn expand(input: &str, env: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.get(name) {
                        Some(v) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A subPath must stay inside its volume.
fn clean_sub_path(sub: &str) -> Result<PathBuf, String> {
    let p = Path::new(sub);
    if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("invalid subPath {sub:?}: must be a relative path without '..'"));
    }
    Ok(p.to_path_buf())
}

fn mounts(c: &Container, env: &HashMap<&str, &str>, ctx: &SyncContext) -> Result<Vec<cri::Mount>, String> {
    let mut out = Vec::new();
    for vm in c.volume_mounts.iter().flatten() {
        let Some(VolumeMount { host_path, read_only, create_sub_paths }) = ctx.volumes.get(&vm.name) else {
            return Err(format!("cannot find volume {:?} to mount into container {:?}", vm.name, c.name));
        };
        let sub = match (&vm.sub_path, &vm.sub_path_expr) {
            (Some(s), _) if !s.is_empty() => Some(s.clone()),
            (_, Some(e)) if !e.is_empty() => Some(expand(e, env)),
            _ => None,
        };
        let mut source = host_path.clone();
        if let Some(sub) = sub {
            source = source.join(clean_sub_path(&sub)?);
            if !source.exists() {
                if *create_sub_paths || !*read_only {
                    std::fs::create_dir_all(&source)
                        .map_err(|e| format!("creating subPath {}: {e}", source.display()))?;
                } else {
                    return Err(format!("subPath {sub:?} does not exist in volume {:?}", vm.name));
                }
            }
        }
        let propagation = match vm.mount_propagation.as_deref() {
            Some("HostToContainer") => cri::MountPropagation::PropagationHostToContainer,
            Some("Bidirectional") => cri::MountPropagation::PropagationBidirectional,
            _ => cri::MountPropagation::PropagationPrivate,
        };
        out.push(cri::Mount {
            container_path: vm.mount_path.clone(),
            host_path: source.to_string_lossy().into_owned(),
            readonly: vm.read_only == Some(true) || *read_only,
            propagation: propagation as i32,
            ..Default::default()
        });
    }
    if let Some(hosts) = &ctx.etc_hosts
        && !out.iter().any(|m| m.container_path == "/etc/hosts")
    {
        out.push(cri::Mount {
            container_path: "/etc/hosts".into(),
            host_path: hosts.to_string_lossy().into_owned(),
            ..Default::default()
        });
    }
    Ok(out)
}

fn seccomp(
    container: Option<&SeccompProfile>,
    pod: Option<&SeccompProfile>,
    privileged: bool,
    s: &Settings<'_>,
) -> cri::SecurityProfile {
    use cri::security_profile::ProfileType;
    let profile = |t: ProfileType, r: String| cri::SecurityProfile { profile_type: t as i32, localhost_ref: r };
    if privileged {
        return profile(ProfileType::Unconfined, String::new());
    }
    match container.or(pod) {
        Some(p) if p.type_ == "RuntimeDefault" => profile(ProfileType::RuntimeDefault, String::new()),
        Some(p) if p.type_ == "Localhost" => {
            let path = s.seccomp_dir.join(p.localhost_profile.as_deref().unwrap_or_default());
            profile(ProfileType::Localhost, path.to_string_lossy().into_owned())
        }
        Some(_) => profile(ProfileType::Unconfined, String::new()),
        None if s.seccomp_default => profile(ProfileType::RuntimeDefault, String::new()),
        None => profile(ProfileType::Unconfined, String::new()),
    }
}

fn security_context(pod: &Pod, c: &Container, s: &Settings<'_>) -> cri::LinuxContainerSecurityContext {
    let psc = pod.spec.as_ref().and_then(|p| p.security_context.clone()).unwrap_or_default();
    let csc = c.security_context.clone().unwrap_or_default();
    let privileged = csc.privileged == Some(true);
    let spec = pod.spec.as_ref();
    let pid = if spec.and_then(|s| s.host_pid) == Some(true) {
        cri::NamespaceMode::Node
    } else if spec.and_then(|s| s.share_process_namespace) == Some(true) {
        cri::NamespaceMode::Pod
    } else {
        cri::NamespaceMode::Container
    };
    let host_net = spec.and_then(|s| s.host_network) == Some(true);
    let host_ipc = spec.and_then(|s| s.host_ipc) == Some(true);
    let mut groups = psc.supplemental_groups.clone().unwrap_or_default();
    if let Some(g) = psc.fs_group {
        groups.push(g);
    }
    let unmasked = csc.proc_mount.as_deref() == Some("Unmasked");
    let (masked, readonly) = if privileged || unmasked {
        (Vec::new(), Vec::new())
    } else {
        (
            DEFAULT_MASKED.iter().map(|s| (*s).to_owned()).collect(),
            DEFAULT_READONLY.iter().map(|s| (*s).to_owned()).collect(),
        )
    };
    cri::LinuxContainerSecurityContext {
        capabilities: csc.capabilities.as_ref().map(|caps| cri::Capability {
            add_capabilities: caps.add.clone().unwrap_or_default(),
            drop_capabilities: caps.drop.clone().unwrap_or_default(),
            add_ambient_capabilities: Vec::new(),
        }),
        privileged,
        namespace_options: Some(cri::NamespaceOption {
            network: if host_net { cri::NamespaceMode::Node } else { cri::NamespaceMode::Pod } as i32,
            pid: pid as i32,
            ipc: if host_ipc { cri::NamespaceMode::Node } else { cri::NamespaceMode::Pod } as i32,
            ..Default::default()
        }),
        run_as_user: csc.run_as_user.or(psc.run_as_user).map(|value| cri::Int64Value { value }),
        run_as_group: csc.run_as_group.or(psc.run_as_group).map(|value| cri::Int64Value { value }),
        readonly_rootfs: csc.read_only_root_filesystem == Some(true),
        supplemental_groups: groups,
        no_new_privs: csc.allow_privilege_escalation == Some(false),
        masked_paths: masked,
        readonly_paths: readonly,
        seccomp: Some(seccomp(csc.seccomp_profile.as_ref(), psc.seccomp_profile.as_ref(), privileged, s)),
        ..Default::default()
    }
}

/// Creates the (empty, world-writable) file the container writes its termination message to.
pub fn termination_message_file(pod_dir: &Path, name: &str, attempt: u32) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = pod_dir.join("containers").join(name);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{attempt}-{:08x}", rand::random::<u32>()));
    std::fs::write(&path, b"")?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
    Ok(path)
}

/// The CRI config of `c` for its `attempt`-th run, with `image_ref` (the pulled image's ID).
pub fn config(
    pod: &Pod,
    c: &Container,
    attempt: u32,
    image_ref: &str,
    env: &[(String, String)],
    ctx: &SyncContext,
    s: &Settings<'_>,
) -> Result<cri::ContainerConfig, String> {
    let env_map: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut mounts = mounts(c, &env_map, ctx)?;
    let message_path = c.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into());
    let mut annotations = HashMap::from([
        (HASH.to_owned(), spec_hash(c)),
        (RESTART_COUNT.to_owned(), attempt.to_string()),
        (IMAGE.to_owned(), c.image.clone().unwrap_or_default()),
        (TERMINATION_MESSAGE_PATH.to_owned(), message_path.clone()),
        (TERMINATION_MESSAGE_POLICY.to_owned(), c.termination_message_policy.clone().unwrap_or_else(|| "File".into())),
        (
            TERMINATION_GRACE.to_owned(),
            pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30).to_string(),
        ),
    ]);
    if let Some(pre_stop) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref())
        && let Ok(json) = serde_json::to_string(pre_stop)
    {
        annotations.insert(PRE_STOP.to_owned(), json);
    }
    if !message_path.is_empty() && !mounts.iter().any(|m| m.container_path == message_path) {
        let host = termination_message_file(&ctx.pod_dir, &c.name, attempt)
            .map_err(|e| format!("creating the termination message file: {e}"))?;
        annotations.insert(TERMINATION_HOST_PATH.to_owned(), host.to_string_lossy().into_owned());
        mounts.push(cri::Mount {
            container_path: message_path,
            host_path: host.to_string_lossy().into_owned(),
            ..Default::default()
        });
    }
    let m = &pod.metadata;
    let labels = HashMap::from([
        (POD_NAME.to_owned(), m.name.clone().unwrap_or_default()),
        (POD_NAMESPACE.to_owned(), m.namespace.clone().unwrap_or_default()),
        (POD_UID.to_owned(), m.uid.clone().unwrap_or_default()),
        (CONTAINER_NAME.to_owned(), c.name.clone()),
        (MANAGED_BY.to_owned(), "krs".to_owned()),
    ]);
    let command = c.command.iter().flatten().map(|a| expand(a, &env_map)).collect();
    let args = c.args.iter().flatten().map(|a| expand(a, &env_map)).collect();
    Ok(cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata { name: c.name.clone(), attempt }),
        image: Some(cri::ImageSpec {
            image: image_ref.to_owned(),
            user_specified_image: c.image.clone().unwrap_or_default(),
            ..Default::default()
        }),
        command,
        args,
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs: env.iter().map(|(k, v)| cri::KeyValue { key: k.clone(), value: v.clone() }).collect(),
        mounts,
        labels,
        annotations,
        log_path: format!("{}/{attempt}.log", c.name),
        stdin: c.stdin == Some(true),
        stdin_once: c.stdin_once == Some(true),
        tty: c.tty == Some(true),
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(super::resources::linux_resources(pod, c, s.memory_capacity)),
            security_context: Some(security_context(pod, c, s)),
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        let env = HashMap::from([("A", "1"), ("B", "two")]);
        assert_eq!(expand("x$(A)y$(B)", &env), "x1ytwo");
        assert_eq!(expand("$(C) $$(A) $", &env), "$(C) $(A) $");
        assert_eq!(expand("$(A", &env), "$(A");
    }

    #[test]
    fn container_config() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {
                "securityContext": {"runAsUser": 1000, "fsGroup": 3000},
                "containers": [{
                    "name": "c", "image": "busybox", "command": ["sh", "-c"], "args": ["echo $(GREETING)"],
                    "workingDir": "/w",
                    "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": "sub"}],
                    "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}, "readOnlyRootFilesystem": true,
                                        "allowPrivilegeEscalation": false, "runAsGroup": 2000},
                    "resources": {"limits": {"memory": "32Mi"}}
                }]
            }
        }))
        .expect("pod");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ctx = SyncContext { pod_dir: dir.path().to_path_buf(), ..Default::default() };
        ctx.volumes.insert(
            "data".into(),
            VolumeMount { host_path: dir.path().join("vol"), read_only: false, create_sub_paths: true },
        );
        ctx.etc_hosts = Some(dir.path().join("etc-hosts"));
        let c = pod.spec.as_ref().map(|s| s.containers[0].clone()).unwrap_or_default();
        let s = Settings { seccomp_default: true, memory_capacity: 1 << 30, seccomp_dir: Path::new("/seccomp") };
        let env = vec![("GREETING".to_owned(), "hi".to_owned())];
        let cfg = config(&pod, &c, 2, "sha256:abc", &env, &ctx, &s).expect("config");
        assert_eq!(cfg.args, vec!["echo hi"]);
        assert_eq!(cfg.log_path, "c/2.log");
        assert_eq!(cfg.image.as_ref().map(|i| i.image.as_str()), Some("sha256:abc"));
        let paths: Vec<_> = cfg.mounts.iter().map(|m| m.container_path.as_str()).collect();
        assert_eq!(paths, ["/data", "/etc/hosts", "/dev/termination-log"]);
        assert!(dir.path().join("vol/sub").is_dir(), "subPath created");
        let sc = cfg.linux.as_ref().and_then(|l| l.security_context.clone()).unwrap_or_default();
        assert_eq!(sc.run_as_user.map(|v| v.value), Some(1000));
        assert_eq!(sc.run_as_group.map(|v| v.value), Some(2000));
        assert_eq!(sc.supplemental_groups, vec![3000]);
        assert!(sc.readonly_rootfs && sc.no_new_privs);
        assert_eq!(sc.capabilities.map(|c| c.add_capabilities), Some(vec!["NET_ADMIN".to_owned()]));
        assert_eq!(sc.seccomp.map(|p| p.profile_type), Some(cri::security_profile::ProfileType::RuntimeDefault as i32));
        assert!(sc.masked_paths.iter().any(|p| p == "/proc/kcore"));
        let res = cfg.linux.and_then(|l| l.resources).unwrap_or_default();
        assert_eq!(res.memory_limit_in_bytes, 32 << 20);
        assert!(cfg.annotations.contains_key(TERMINATION_HOST_PATH));
        // A subPath may not escape its volume.
        let mut bad = c.clone();
        if let Some(m) = bad.volume_mounts.as_mut().and_then(|v| v.first_mut()) {
            m.sub_path = Some("../../etc".into());
        }
        assert!(config(&pod, &bad, 0, "i", &env, &ctx, &s).is_err());
    }
}
