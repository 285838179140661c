//! Security settings of pods and containers: security contexts, seccomp and AppArmor profiles,
//! sysctls and the OS-specific restrictions (upstream `ValidateSecurityContext`,
//! `validatePodSpecSecurityContext`, `validateLinux`, `validateWindows`).

use k8s_openapi::api::core::v1::{AppArmorProfile, PodSecurityContext, PodSpec, SeccompProfile, SecurityContext};
use krs_apimachinery::validation::{BadValue, ErrorList, Path, field, is_valid_group_id, is_valid_user_id};

use super::volumes::validate_local_descending_path;

/// A container's security context (`ValidateSecurityContext`). Privileged containers are
/// allowed: krs runs with upstream's `--allow-privileged=true`.
pub(crate) fn validate_security_context(sc: Option<&SecurityContext>, path: &Path, host_users: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(sc) = sc else {
        return errs;
    };
    if let Some(uid) = sc.run_as_user {
        for msg in is_valid_user_id(uid) {
            errs.push(field::invalid(&path.child("runAsUser"), uid, msg));
        }
    }
    if let Some(gid) = sc.run_as_group {
        for msg in is_valid_group_id(gid) {
            errs.push(field::invalid(&path.child("runAsGroup"), gid, msg));
        }
    }
    if let Some(proc_mount) = &sc.proc_mount {
        if !matches!(proc_mount.as_str(), "Default" | "Unmasked") {
            errs.push(field::not_supported(&path.child("procMount"), proc_mount.as_str(), &["Default", "Unmasked"]));
        }
        if host_users && proc_mount == "Unmasked" {
            errs.push(field::invalid(
                &path.child("procMount"),
                proc_mount.as_str(),
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    errs.append(validate_seccomp_profile_field(sc.seccomp_profile.as_ref(), &path.child("seccompProfile")));
    if sc.allow_privilege_escalation == Some(false) {
        if sc.privileged == Some(true) {
            errs.push(field::invalid(
                path,
                BadValue::json(sc),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let adds_sys_admin = sc
            .capabilities
            .as_ref()
            .and_then(|c| c.add.as_ref())
            .is_some_and(|add| add.iter().any(|cap| cap == "CAP_SYS_ADMIN"));
        if adds_sys_admin {
            errs.push(field::invalid(
                path,
                BadValue::json(sc),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    errs.append(validate_app_armor_profile(sc.app_armor_profile.as_ref(), &path.child("appArmorProfile")));
    errs
}

/// A pod's security context (`validatePodSpecSecurityContext`).
pub(crate) fn validate_pod_security_context(spec: &PodSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(sc) = &spec.security_context else {
        return errs;
    };
    if let Some(gid) = sc.fs_group {
        for msg in is_valid_group_id(gid) {
            errs.push(field::invalid(&path.child("fsGroup"), gid, msg));
        }
    }
    if let Some(uid) = sc.run_as_user {
        for msg in is_valid_user_id(uid) {
            errs.push(field::invalid(&path.child("runAsUser"), uid, msg));
        }
    }
    if let Some(gid) = sc.run_as_group {
        for msg in is_valid_group_id(gid) {
            errs.push(field::invalid(&path.child("runAsGroup"), gid, msg));
        }
    }
    for (i, gid) in sc.supplemental_groups.iter().flatten().enumerate() {
        for msg in is_valid_group_id(*gid) {
            errs.push(field::invalid(&path.child("supplementalGroups").index(i), *gid, msg));
        }
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(field::invalid(
            &path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    if sc.sysctls.as_ref().is_some_and(|s| !s.is_empty()) {
        errs.append(validate_sysctls(spec, sc, &path.child("sysctls")));
    }
    if let Some(policy) = &sc.fs_group_change_policy
        && !matches!(policy.as_str(), "Always" | "OnRootMismatch")
    {
        errs.push(field::not_supported(
            &path.child("fsGroupChangePolicy"),
            policy.as_str(),
            &["Always", "OnRootMismatch"],
        ));
    }
    errs.append(validate_seccomp_profile_field(sc.seccomp_profile.as_ref(), &path.child("seccompProfile")));
    errs.append(validate_app_armor_profile(sc.app_armor_profile.as_ref(), &path.child("appArmorProfile")));
    if let Some(policy) = &sc.supplemental_groups_policy
        && !matches!(policy.as_str(), "Merge" | "Strict")
    {
        errs.push(field::not_supported(&path.child("supplementalGroupsPolicy"), policy.as_str(), &["Merge", "Strict"]));
    }
    if let Some(policy) = &sc.se_linux_change_policy
        && !matches!(policy.as_str(), "MountOption" | "Recursive")
    {
        errs.push(field::not_supported(
            &path.child("seLinuxChangePolicy"),
            policy.as_str(),
            &["MountOption", "Recursive"],
        ));
    }
    errs
}

/// A sysctl name: dot- or slash-separated segments of `[a-z0-9]([-_a-z0-9]*[a-z0-9])?`, at
/// most 253 characters.
fn is_valid_sysctl_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split(['.', '/']).all(|seg| {
        let b = seg.as_bytes();
        !b.is_empty()
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_'))
    })
}

/// The namespace a sysctl belongs to, as the kubelet groups them (`utilsysctl.GetNamespace`).
fn sysctl_namespace(name: &str) -> Option<&'static str> {
    let name = name.replace('/', ".");
    if name.starts_with("net.") {
        return Some("net");
    }
    let ipc = [
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.shm_rmid_forced",
    ];
    if ipc.contains(&name.as_str()) || name.starts_with("fs.mqueue.") {
        return Some("ipc");
    }
    None
}

fn validate_sysctls(spec: &PodSpec, sc: &PodSecurityContext, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, sysctl) in sc.sysctls.iter().flatten().enumerate() {
        let name_path = path.index(i).child("name");
        if sysctl.name.is_empty() {
            errs.push(field::required(&name_path, ""));
        } else if !is_valid_sysctl_name(&sysctl.name) {
            errs.push(field::invalid(
                &name_path,
                sysctl.name.as_str(),
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if seen.contains(&sysctl.name) {
            errs.push(field::duplicate(&name_path, sysctl.name.as_str()));
        }
        match sysctl_namespace(&sysctl.name) {
            Some("net") if spec.host_network == Some(true) => errs.push(field::invalid(
                &name_path,
                sysctl.name.as_str(),
                "may not be specified when 'hostNetwork' is true",
            )),
            Some("ipc") if spec.host_ipc == Some(true) => errs.push(field::invalid(
                &name_path,
                sysctl.name.as_str(),
                "may not be specified when 'hostIPC' is true",
            )),
            _ => {}
        }
        seen.insert(sysctl.name.clone());
    }
    errs
}

/// A seccomp profile (`validateSeccompProfileField`).
fn validate_seccomp_profile_field(profile: Option<&SeccompProfile>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(profile) = profile else {
        return errs;
    };
    match profile.type_.as_str() {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(field::required(&path.child("type"), "type is required when seccompProfile is set")),
        other => {
            errs.push(field::not_supported(&path.child("type"), other, &["Localhost", "RuntimeDefault", "Unconfined"]))
        }
    }
    if profile.type_ == "Localhost" {
        match &profile.localhost_profile {
            None => errs
                .push(field::required(&path.child("localhostProfile"), "must be set when seccomp type is Localhost")),
            Some(p) => errs.append(validate_local_descending_path(p, &path.child("localhostProfile"))),
        }
    } else if profile.localhost_profile.is_some() {
        errs.push(field::invalid(
            &path.child("localhostProfile"),
            BadValue::json(profile),
            "can only be set when seccomp type is Localhost",
        ));
    }
    errs
}

/// An AppArmor profile (`ValidateAppArmorProfileField`).
fn validate_app_armor_profile(profile: Option<&AppArmorProfile>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(profile) = profile else {
        return errs;
    };
    match profile.type_.as_str() {
        "Localhost" => match &profile.localhost_profile {
            None => errs
                .push(field::required(&path.child("localhostProfile"), "must be set when AppArmor type is Localhost")),
            Some(p) => {
                if p.trim() != p {
                    errs.push(field::invalid(
                        &path.child("localhostProfile"),
                        p.as_str(),
                        "must not be padded with whitespace",
                    ));
                } else if p.is_empty() {
                    errs.push(field::required(
                        &path.child("localhostProfile"),
                        "must be set when AppArmor type is Localhost",
                    ));
                }
                if p.len() > 4095 {
                    errs.push(field::too_long(&path.child("localhostProfile"), 4095));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(p) = &profile.localhost_profile {
                errs.push(field::invalid(
                    &path.child("localhostProfile"),
                    p.as_str(),
                    "can only be set when AppArmor type is Localhost",
                ));
            }
        }
        "" => errs.push(field::required(&path.child("type"), "type is required when appArmorProfile is set")),
        other => {
            errs.push(field::not_supported(&path.child("type"), other, &["Localhost", "RuntimeDefault", "Unconfined"]))
        }
    }
    errs
}

/// A seccomp profile named in a deprecated annotation (`ValidateSeccompProfile`).
pub(crate) fn validate_seccomp_annotation(profile: &str, path: &Path) -> ErrorList {
    if matches!(profile, "runtime/default" | "docker/default" | "unconfined") {
        return ErrorList::new();
    }
    if let Some(local) = profile.strip_prefix("localhost/") {
        return validate_local_descending_path(local, path);
    }
    ErrorList::from(field::invalid(path, profile, "must be a valid seccomp profile"))
}

/// The restrictions of the pod's OS (`validateOS`, `validateLinux`, `validateWindows`).
pub(crate) fn validate_os(spec: &PodSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(os) = &spec.os else {
        return errs;
    };
    let os_path = path.child("os");
    if os.name.is_empty() {
        errs.push(field::required(&os_path.child("name"), "cannot be empty"));
        return errs;
    }
    match os.name.as_str() {
        "linux" => errs.append(validate_linux(spec, path)),
        "windows" => errs.append(validate_windows(spec, path)),
        other => errs.push(field::not_supported(&os_path, other, &["linux", "windows"])),
    }
    errs
}

fn validate_linux(spec: &PodSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.security_context.as_ref().is_some_and(|sc| sc.windows_options.is_some()) {
        errs.push(field::forbidden(
            &path.child("securityContext").child("windowsOptions"),
            "windows options cannot be set for a linux pod",
        ));
    }
    for (c, c_path) in containers_with_paths(spec, path) {
        if c.is_some_and(|sc| sc.windows_options.is_some()) {
            errs.push(field::forbidden(
                &c_path.child("securityContext").child("windowsOptions"),
                "windows options cannot be set for a linux pod",
            ));
        }
    }
    errs
}

fn validate_windows(spec: &PodSpec, path: &Path) -> ErrorList {
    const MSG: &str = "cannot be set for a windows pod";
    let mut errs = ErrorList::new();
    let sc_path = path.child("securityContext");
    if let Some(sc) = &spec.security_context {
        let checks: [(bool, Path); 8] = [
            (sc.app_armor_profile.is_some(), sc_path.child("appArmorProfile")),
            (sc.se_linux_options.is_some(), sc_path.child("seLinuxOptions")),
            (spec.host_users.is_some(), path.child("hostUsers")),
            (spec.host_pid == Some(true), path.child("hostPID")),
            (spec.host_ipc == Some(true), path.child("hostIPC")),
            (sc.seccomp_profile.is_some(), sc_path.child("seccompProfile")),
            (sc.fs_group.is_some(), sc_path.child("fsGroup")),
            (sc.fs_group_change_policy.is_some(), sc_path.child("fsGroupChangePolicy")),
        ];
        for (set, p) in checks {
            if set {
                errs.push(field::forbidden(&p, MSG));
            }
        }
        let more: [(bool, Path); 7] = [
            (sc.sysctls.as_ref().is_some_and(|s| !s.is_empty()), sc_path.child("sysctls")),
            (spec.share_process_namespace.is_some(), path.child("shareProcessNamespace")),
            (sc.run_as_user.is_some(), sc_path.child("runAsUser")),
            (sc.run_as_group.is_some(), sc_path.child("runAsGroup")),
            (sc.supplemental_groups.is_some(), sc_path.child("supplementalGroups")),
            (sc.supplemental_groups_policy.is_some(), sc_path.child("supplementalGroupsPolicy")),
            (sc.se_linux_change_policy.is_some(), sc_path.child("seLinuxChangePolicy")),
        ];
        for (set, p) in more {
            if set {
                errs.push(field::forbidden(&p, MSG));
            }
        }
    }
    for (sc, c_path) in containers_with_paths(spec, path) {
        let Some(sc) = sc else { continue };
        let p = c_path.child("securityContext");
        let checks: [(bool, &str); 10] = [
            (sc.app_armor_profile.is_some(), "appArmorProfile"),
            (sc.se_linux_options.is_some(), "seLinuxOptions"),
            (sc.seccomp_profile.is_some(), "seccompProfile"),
            (sc.capabilities.is_some(), "capabilities"),
            (sc.read_only_root_filesystem.is_some(), "readOnlyRootFilesystem"),
            (sc.privileged.is_some(), "privileged"),
            (sc.allow_privilege_escalation.is_some(), "allowPrivilegeEscalation"),
            (sc.proc_mount.is_some(), "procMount"),
            (sc.run_as_user.is_some(), "runAsUser"),
            (sc.run_as_group.is_some(), "runAsGroup"),
        ];
        for (set, name) in checks {
            if set {
                errs.push(field::forbidden(&p.child(name), MSG));
            }
        }
    }
    errs
}

/// The security context and path of every container (init, regular, ephemeral), in upstream's
/// visiting order.
fn containers_with_paths<'a>(spec: &'a PodSpec, path: &Path) -> Vec<(Option<&'a SecurityContext>, Path)> {
    let mut out = Vec::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        out.push((c.security_context.as_ref(), path.child("initContainers").index(i)));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        out.push((c.security_context.as_ref(), path.child("containers").index(i)));
    }
    for (i, c) in spec.ephemeral_containers.iter().flatten().enumerate() {
        out.push((c.security_context.as_ref(), path.child("ephemeralContainers").index(i)));
    }
    out
}

/// Whether the pod uses the host's user namespace (the default).
pub(crate) fn host_users(spec: &PodSpec) -> bool {
    spec.host_users.unwrap_or(true)
}

/// Host namespaces may not be combined with a user namespace (`validateHostUsers`).
pub(crate) fn validate_host_users(spec: &PodSpec, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if host_users(spec) {
        return errs;
    }
    let msg = "when `pod.Spec.HostUsers` is false";
    if spec.host_network == Some(true) {
        errs.push(field::forbidden(&path.child("hostNetwork"), msg));
    }
    if spec.host_pid == Some(true) {
        errs.push(field::forbidden(&path.child("HostPID"), msg));
    }
    if spec.host_ipc == Some(true) {
        errs.push(field::forbidden(&path.child("HostIPC"), msg));
    }
    errs
}

/// The mount propagation of a mount must be known and, when bidirectional, privileged
/// (`validateMountPropagation`).
pub(crate) fn validate_mount_propagation(propagation: &str, privileged: bool, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if !matches!(propagation, "Bidirectional" | "HostToContainer" | "None") {
        errs.push(field::not_supported(path, propagation, &["Bidirectional", "HostToContainer", "None"]));
    }
    if propagation == "Bidirectional" && !privileged {
        errs.push(field::forbidden(path, "Bidirectional mount propagation is available only to privileged containers"));
    }
    errs
}
