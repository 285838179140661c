//! Pod Security Admission (upstream's `k8s.io/pod-security-admission`, the replacement for
//! PodSecurityPolicy): a namespace's `pod-security.kubernetes.io/enforce` and `warn` labels
//! choose a Pod Security Standard (privileged, baseline or restricted); pods that violate the
//! enforced level are forbidden, and pods and workload pod templates that violate the warned
//! level get a `Warning` header. Messages are upstream's, check by check.
//!
//! The checks are those of policy version 1.34 ("latest"); a namespace pinned to an older
//! `-version` is judged by them too (upstream keeps older variants of a few checks), and its
//! version appears in the messages as given. Namespaces with invalid labels are refused. Not
//! kept: audit annotations, exemptions, and the warnings upstream gives when a namespace's
//! enforce level is tightened over existing pods.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    ContainerPort, Lifecycle, Pod, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// A Pod Security Standard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    fn parse(s: &str) -> Option<Level> {
        match s {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// A level at a policy version, as a namespace label sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub level: Level,
    /// `latest` or `v1.N`.
    pub version: String,
}

impl Policy {
    /// `restricted:latest`, as the messages name a policy.
    pub fn name(&self) -> String {
        format!("{}:{}", self.level.as_str(), self.version)
    }
}

/// What a namespace's labels enforce and warn about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespacePolicy {
    pub enforce: Policy,
    pub warn: Policy,
}

const PREFIX: &str = "pod-security.kubernetes.io/";

fn valid_version(v: &str) -> bool {
    v == "latest"
        || v.strip_prefix("v1.").is_some_and(|n| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
        })
}

/// The policy of a namespace with these labels. An invalid enforce level fails closed
/// (restricted), an invalid warn level open (privileged), an invalid version is `latest`; with
/// no warn label, warn follows a valid stricter enforce label (and its version).
pub fn namespace_policy(labels: &BTreeMap<String, String>) -> NamespacePolicy {
    let label = |mode: &str| labels.get(&format!("{PREFIX}{mode}"));
    let version = |mode: &str| {
        label(&format!("{mode}-version")).filter(|v| valid_version(v)).cloned().unwrap_or_else(|| "latest".into())
    };
    let enforce_label = label("enforce");
    let enforce_level = match enforce_label {
        None => Level::Privileged,
        Some(l) => Level::parse(l).unwrap_or(Level::Restricted),
    };
    let enforce = Policy { level: enforce_level, version: version("enforce") };
    let warn = match label("warn") {
        Some(l) => Policy { level: Level::parse(l).unwrap_or(Level::Privileged), version: version("warn") },
        None => {
            let valid_enforce = enforce_label.and_then(|l| Level::parse(l)).is_some();
            if valid_enforce && enforce.level > Level::Privileged {
                let version = if label("warn-version").is_some() { version("warn") } else { enforce.version.clone() };
                Policy { level: enforce.level, version }
            } else {
                Policy { level: Level::Privileged, version: version("warn") }
            }
        }
    };
    NamespacePolicy { enforce, warn }
}

/// A container of any of the three lists, as the checks see it.
struct Container<'a> {
    name: &'a str,
    sc: Option<&'a SecurityContext>,
    ports: &'a [ContainerPort],
    probes: [Option<&'a Probe>; 3],
    lifecycle: Option<&'a Lifecycle>,
}

/// Init containers, containers, then ephemeral containers (upstream's visitContainers).
fn containers(spec: &PodSpec) -> Vec<Container<'_>> {
    let mut out = Vec::new();
    for c in spec.init_containers.iter().flatten().chain(spec.containers.iter()) {
        out.push(Container {
            name: &c.name,
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            probes: [c.liveness_probe.as_ref(), c.readiness_probe.as_ref(), c.startup_probe.as_ref()],
            lifecycle: c.lifecycle.as_ref(),
        });
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        out.push(Container {
            name: &c.name,
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            probes: [c.liveness_probe.as_ref(), c.readiness_probe.as_ref(), c.startup_probe.as_ref()],
            lifecycle: c.lifecycle.as_ref(),
        });
    }
    out
}

/// `"a", "b"` (nothing for no items).
fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{}\"", s.as_ref())).collect();
    quoted.join(", ")
}

fn pluralize<'a>(singular: &'a str, plural: &'a str, n: usize) -> &'a str {
    if n == 1 { singular } else { plural }
}

/// `container "a"` or `containers "a", "b"`.
fn containers_phrase(names: &[&str]) -> String {
    format!("{} {}", pluralize("container", "containers", names.len()), join_quote(names))
}

/// `pod and containers "a", "b"`: who set a bad value.
fn setters(pod: bool, names: &[&str]) -> String {
    let mut parts = Vec::new();
    if pod {
        parts.push("pod".to_string());
    }
    if !names.is_empty() {
        parts.push(containers_phrase(names));
    }
    parts.join(" and ")
}

fn sorted<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(|s| s.as_ref().to_string()).collect::<BTreeSet<_>>().into_iter().collect()
}

/// One failed check: its reason and detail.
type Violation = (String, String);

fn violation(reason: impl Into<String>, detail: impl Into<String>) -> Option<Violation> {
    Some((reason.into(), detail.into()))
}

/// The names of the containers for which `bad` holds, in visiting order.
fn named<'a>(cs: &[Container<'a>], bad: impl Fn(&Container<'a>) -> bool) -> Vec<&'a str> {
    cs.iter().filter(|c| bad(c)).map(|c| c.name).collect()
}

/// The containers with bad values (`bad` gives a container's), in visiting order, and all of
/// their bad values, sorted and distinct.
fn with_bad_values<'a>(
    cs: &[Container<'a>],
    bad: impl Fn(&Container<'a>) -> Vec<String>,
) -> (Vec<&'a str>, Vec<String>) {
    let mut names = Vec::new();
    let mut values = BTreeSet::new();
    for c in cs {
        let found = bad(c);
        if !found.is_empty() {
            names.push(c.name);
            values.extend(found);
        }
    }
    (names, values.into_iter().collect())
}

/// A violation naming `names` (`container "a"` ...) in its detail, none without names.
fn of_containers(names: &[&str], reason: &str, detail: impl FnOnce(String) -> String) -> Option<Violation> {
    (!names.is_empty()).then(|| (reason.to_string(), detail(containers_phrase(names))))
}

fn is_windows(spec: &PodSpec) -> bool {
    spec.os.as_ref().is_some_and(|os| os.name == "windows")
}

fn app_armor(meta: &ObjectMeta, spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    let ok_type = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let pod_sc = spec.security_context.as_ref();
    let mut types = BTreeSet::new();
    let pod_bad = pod_sc.and_then(|s| s.app_armor_profile.as_ref()).filter(|p| !ok_type(&p.type_));
    if let Some(p) = pod_bad {
        types.insert(p.type_.clone());
    }
    let mut names = Vec::new();
    for c in cs {
        if let Some(p) = c.sc.and_then(|s| s.app_armor_profile.as_ref()).filter(|p| !ok_type(&p.type_)) {
            types.insert(p.type_.clone());
            names.push(c.name);
        }
    }
    let annotations: Vec<String> = sorted(meta.annotations.iter().flatten().filter_map(|(k, v)| {
        let bad = k.starts_with("container.apparmor.security.beta.kubernetes.io/")
            && !(v.is_empty() || v == "runtime/default" || v.starts_with("localhost/"));
        bad.then(|| format!("{k}={v:?}"))
    }));
    let mut values: Vec<String> = types.into_iter().collect();
    values.extend(annotations.iter().cloned());
    if values.is_empty() {
        return None;
    }
    let mut who = setters(pod_bad.is_some(), &names);
    if !annotations.is_empty() {
        let a = pluralize("annotation", "annotations", annotations.len());
        who = if who.is_empty() { a.to_string() } else { format!("{who} and {a}") };
    }
    violation(
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", values.len()),
        format!("{who} must not set AppArmor profile type to {}", join_quote(&values)),
    )
}

const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn added(c: &Container<'_>) -> Vec<String> {
    c.sc.and_then(|s| s.capabilities.as_ref()).and_then(|caps| caps.add.clone()).unwrap_or_default()
}

fn capabilities_baseline(cs: &[Container<'_>]) -> Option<Violation> {
    let (names, caps) = with_bad_values(cs, |c| {
        added(c).into_iter().filter(|a| !BASELINE_CAPABILITIES.contains(&a.as_str())).collect()
    });
    of_containers(&names, "non-default capabilities", |who| {
        format!("{who} must not include {} in securityContext.capabilities.add", join_quote(&caps))
    })
}

fn host_namespaces(spec: &PodSpec) -> Option<Violation> {
    let set: Vec<&str> =
        [(spec.host_network, "hostNetwork=true"), (spec.host_pid, "hostPID=true"), (spec.host_ipc, "hostIPC=true")]
            .into_iter()
            .filter(|(v, _)| *v == Some(true))
            .map(|(_, s)| s)
            .collect();
    (!set.is_empty()).then(|| ("host namespaces".to_string(), set.join(", ")))
}

fn host_path_volumes(spec: &PodSpec) -> Option<Violation> {
    let names: Vec<&str> =
        spec.volumes.iter().flatten().filter(|v| v.host_path.is_some()).map(|v| v.name.as_str()).collect();
    if names.is_empty() {
        return None;
    }
    violation("hostPath volumes", format!("{} {}", pluralize("volume", "volumes", names.len()), join_quote(&names)))
}

fn host_ports(cs: &[Container<'_>]) -> Option<Violation> {
    // Sorted as strings, as upstream sorts them.
    let (names, ports) = with_bad_values(cs, |c| {
        c.ports.iter().filter_map(|p| p.host_port).filter(|p| *p != 0).map(|p| p.to_string()).collect()
    });
    of_containers(&names, "hostPort", |who| {
        format!(
            "{who} {} {} {}",
            pluralize("uses", "use", names.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        )
    })
}

fn host_probes_and_lifecycle(cs: &[Container<'_>]) -> Option<Violation> {
    let mut names = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for c in cs {
        let mut found = Vec::new();
        for p in c.probes.iter().flatten() {
            found.extend(p.http_get.as_ref().and_then(|h| h.host.clone()));
            found.extend(p.tcp_socket.as_ref().and_then(|t| t.host.clone()));
        }
        let handlers = c.lifecycle.iter().flat_map(|l| [l.post_start.as_ref(), l.pre_stop.as_ref()]).flatten();
        for h in handlers {
            found.extend(h.http_get.as_ref().and_then(|g| g.host.clone()));
            found.extend(h.tcp_socket.as_ref().and_then(|t| t.host.clone()));
        }
        found.retain(|h| !h.is_empty());
        if !found.is_empty() {
            names.insert(c.name);
            hosts.extend(found);
        }
    }
    if names.is_empty() {
        return None;
    }
    let names: Vec<&str> = names.into_iter().collect();
    let hosts: Vec<String> = hosts.into_iter().collect();
    violation(
        "probe or lifecycle host",
        format!(
            "{} {} probe or lifecycle {} {}",
            containers_phrase(&names),
            pluralize("uses", "use", names.len()),
            pluralize("host", "hosts", hosts.len()),
            join_quote(&hosts)
        ),
    )
}

fn privileged(cs: &[Container<'_>]) -> Option<Violation> {
    let names = named(cs, |c| c.sc.and_then(|s| s.privileged) == Some(true));
    of_containers(&names, "privileged", |who| format!("{who} must not set securityContext.privileged=true"))
}

fn proc_mount(cs: &[Container<'_>]) -> Option<Violation> {
    let (names, values) = with_bad_values(cs, |c| {
        c.sc.and_then(|s| s.proc_mount.clone()).filter(|m| m != "Default").into_iter().collect()
    });
    of_containers(&names, "procMount", |who| {
        format!("{who} must not set securityContext.procMount to {}", join_quote(&values))
    })
}

fn se_linux_options(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    const TYPES: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
    let (mut types, mut user, mut role) = (BTreeSet::new(), false, false);
    let mut judge = |o: Option<&k8s_openapi::api::core::v1::SELinuxOptions>| {
        let Some(o) = o else { return false };
        let mut bad = false;
        if let Some(t) = o.type_.as_deref().filter(|t| !TYPES.contains(t)) {
            types.insert(t.to_string());
            bad = true;
        }
        if o.user.as_deref().is_some_and(|u| !u.is_empty()) {
            user = true;
            bad = true;
        }
        if o.role.as_deref().is_some_and(|r| !r.is_empty()) {
            role = true;
            bad = true;
        }
        bad
    };
    let pod = judge(spec.security_context.as_ref().and_then(|s| s.se_linux_options.as_ref()));
    let names: Vec<&str> =
        cs.iter().filter(|c| judge(c.sc.and_then(|s| s.se_linux_options.as_ref()))).map(|c| c.name).collect();
    if !pod && names.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !types.is_empty() {
        let types: Vec<String> = types.into_iter().collect();
        data.push(format!("{} {}", pluralize("type", "types", types.len()), join_quote(&types)));
    }
    if user {
        data.push("user may not be set".to_string());
    }
    if role {
        data.push("role may not be set".to_string());
    }
    violation(
        "seLinuxOptions",
        format!("{} set forbidden securityContext.seLinuxOptions: {}", setters(pod, &names), data.join("; ")),
    )
}

fn seccomp_ok(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

fn pod_seccomp(spec: &PodSpec) -> Option<&str> {
    spec.security_context.as_ref().and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str())
}

fn container_seccomp<'a>(c: &Container<'a>) -> Option<&'a str> {
    c.sc.and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str())
}

/// Explicitly set bad seccomp types: whether the pod set one, the containers, the values.
fn bad_seccomp<'a>(spec: &'a PodSpec, cs: &[Container<'a>]) -> (bool, Vec<&'a str>, Vec<String>) {
    let mut values = BTreeSet::new();
    let pod = pod_seccomp(spec).filter(|t| !seccomp_ok(t));
    values.extend(pod.map(str::to_string));
    let mut names = Vec::new();
    for c in cs {
        if let Some(t) = container_seccomp(c).filter(|t| !seccomp_ok(t)) {
            names.push(c.name);
            values.insert(t.to_string());
        }
    }
    (pod.is_some(), names, values.into_iter().collect())
}

fn seccomp_baseline(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    let (pod, names, values) = bad_seccomp(spec, cs);
    if values.is_empty() {
        return None;
    }
    violation(
        "seccompProfile",
        format!("{} must not set securityContext.seccompProfile.type to {}", setters(pod, &names), join_quote(&values)),
    )
}

const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];

fn sysctls(spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> = spec
        .security_context
        .as_ref()
        .and_then(|s| s.sysctls.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| !SAFE_SYSCTLS.contains(n))
        .collect();
    (!bad.is_empty()).then(|| ("forbidden sysctls".to_string(), bad.join(", ")))
}

fn windows_host_process(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    let pod = spec.security_context.as_ref().and_then(|s| s.windows_options.as_ref()).and_then(|w| w.host_process)
        == Some(true);
    let names = named(cs, |c| c.sc.and_then(|s| s.windows_options.as_ref()).and_then(|w| w.host_process) == Some(true));
    if !pod && names.is_empty() {
        return None;
    }
    violation(
        "hostProcess",
        format!("{} must not set securityContext.windowsOptions.hostProcess=true", setters(pod, &names)),
    )
}

fn allow_privilege_escalation(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    let names = named(cs, |c| c.sc.and_then(|s| s.allow_privilege_escalation) != Some(false));
    of_containers(&names, "allowPrivilegeEscalation != false", |who| {
        format!("{who} must set securityContext.allowPrivilegeEscalation=false")
    })
}

fn capabilities_restricted(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    let missing_drop = named(cs, |c| {
        let drop = c.sc.and_then(|s| s.capabilities.as_ref()).and_then(|cap| cap.drop.as_ref());
        !drop.is_some_and(|d| d.iter().any(|x| x == "ALL"))
    });
    let (bad_add, caps) = with_bad_values(cs, |c| added(c).into_iter().filter(|a| a != "NET_BIND_SERVICE").collect());
    let mut parts = Vec::new();
    if !missing_drop.is_empty() {
        parts
            .push(format!("{} must set securityContext.capabilities.drop=[\"ALL\"]", containers_phrase(&missing_drop)));
    }
    if !bad_add.is_empty() {
        parts.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad_add),
            join_quote(&caps)
        ));
    }
    (!parts.is_empty()).then(|| ("unrestricted capabilities".to_string(), parts.join("; ")))
}

const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

const RESTRICTED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(spec: &PodSpec) -> Option<Violation> {
    let mut names = Vec::new();
    let mut types = BTreeSet::new();
    for v in spec.volumes.iter().flatten() {
        // The source is the one field besides the name.
        let json = serde_json::to_value(v).unwrap_or_default();
        let source = json.as_object().and_then(|o| o.keys().find(|k| *k != "name").cloned());
        if source.as_deref().is_some_and(|s| ALLOWED_VOLUMES.contains(&s)) {
            continue;
        }
        names.push(v.name.as_str());
        types.insert(source.filter(|s| RESTRICTED_VOLUMES.contains(&s.as_str())).unwrap_or_else(|| "unknown".into()));
    }
    if names.is_empty() {
        return None;
    }
    let types: Vec<String> = types.into_iter().collect();
    violation(
        "restricted volume types",
        format!(
            "{} {} {} restricted volume {} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names),
            pluralize("uses", "use", names.len()),
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ),
    )
}

fn run_as_non_root(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    let pod = spec.security_context.as_ref().and_then(|s| s.run_as_non_root);
    let explicit = named(cs, |c| c.sc.and_then(|s| s.run_as_non_root) == Some(false));
    if pod == Some(false) || !explicit.is_empty() {
        return violation(
            "runAsNonRoot != true",
            format!("{} must not set securityContext.runAsNonRoot=false", setters(pod == Some(false), &explicit)),
        );
    }
    if pod == Some(true) {
        return None;
    }
    let implicit = named(cs, |c| c.sc.and_then(|s| s.run_as_non_root).is_none());
    of_containers(&implicit, "runAsNonRoot != true", |who| {
        format!("pod or {who} must set securityContext.runAsNonRoot=true")
    })
}

fn run_as_user(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    let pod = spec.security_context.as_ref().and_then(|s: &PodSecurityContext| s.run_as_user) == Some(0);
    let names = named(cs, |c| c.sc.and_then(|s| s.run_as_user) == Some(0));
    if !pod && names.is_empty() {
        return None;
    }
    violation("runAsUser=0", format!("{} must not set runAsUser=0", setters(pod, &names)))
}

fn seccomp_restricted(spec: &PodSpec, cs: &[Container<'_>]) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    let (pod, names, values) = bad_seccomp(spec, cs);
    if !values.is_empty() {
        return violation(
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters(pod, &names),
                join_quote(&values)
            ),
        );
    }
    if pod_seccomp(spec).is_some_and(seccomp_ok) {
        return None;
    }
    let unset = named(cs, |c| container_seccomp(c).is_none());
    of_containers(&unset, "seccompProfile", |who| {
        format!("pod or {who} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"")
    })
}

/// The checks a pod (its metadata and spec) fails at `level`, in upstream's order: the
/// baseline checks by ID, then the restricted ones (which replace three baseline checks).
pub fn check(level: Level, meta: &ObjectMeta, spec: &PodSpec) -> Vec<Violation> {
    if level == Level::Privileged {
        return Vec::new();
    }
    let restricted = level == Level::Restricted;
    let cs = containers(spec);
    let mut out = vec![
        app_armor(meta, spec, &cs),
        (!restricted).then(|| capabilities_baseline(&cs)).flatten(),
        host_namespaces(spec),
        (!restricted).then(|| host_path_volumes(spec)).flatten(),
        host_ports(&cs),
        host_probes_and_lifecycle(&cs),
        privileged(&cs),
        proc_mount(&cs),
        se_linux_options(spec, &cs),
        (!restricted).then(|| seccomp_baseline(spec, &cs)).flatten(),
        sysctls(spec),
        windows_host_process(spec, &cs),
    ];
    if restricted {
        out.extend([
            allow_privilege_escalation(spec, &cs),
            capabilities_restricted(spec, &cs),
            restricted_volumes(spec),
            run_as_non_root(spec, &cs),
            run_as_user(spec, &cs),
            seccomp_restricted(spec, &cs),
        ]);
    }
    out.into_iter().flatten().collect()
}

/// `reason (detail), reason (detail)`.
pub fn describe(violations: &[Violation]) -> String {
    let parts: Vec<String> =
        violations.iter().map(|(r, d)| if d.is_empty() { r.clone() } else { format!("{r} ({d})") }).collect();
    parts.join(", ")
}

/// Whether a pod update needs judging (upstream's significant changes): containers or init
/// containers added or removed, an image changed, or an ephemeral container added or changed.
pub fn significant_update(new: &PodSpec, old: &PodSpec) -> bool {
    let images = |cs: &[k8s_openapi::api::core::v1::Container]| -> Vec<Option<String>> {
        cs.iter().map(|c| c.image.clone()).collect()
    };
    let init = |s: &PodSpec| images(s.init_containers.as_deref().unwrap_or_default());
    if images(&new.containers) != images(&old.containers) || init(new) != init(old) {
        return true;
    }
    let old_ephemeral: BTreeMap<&str, Option<&String>> =
        old.ephemeral_containers.iter().flatten().map(|c| (c.name.as_str(), c.image.as_ref())).collect();
    new.ephemeral_containers
        .iter()
        .flatten()
        .any(|c| old_ephemeral.get(c.name.as_str()).is_none_or(|image| *image != c.image.as_ref()))
}

/// The pod template inside a workload's JSON, for the kinds upstream judges (warn only).
pub fn template_of(group: &str, resource: &str, json: &serde_json::Value) -> Option<PodTemplateSpec> {
    let pointer = match (group, resource) {
        ("", "podtemplates") => "/template",
        ("", "replicationcontrollers")
        | ("apps", "replicasets" | "deployments" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => "/spec/template",
        ("batch", "cronjobs") => "/spec/jobTemplate/spec/template",
        _ => return None,
    };
    serde_json::from_value(json.pointer(pointer)?.clone()).ok()
}

/// The errors of a namespace's Pod Security labels, as upstream reports them.
pub fn label_errors(labels: &BTreeMap<String, String>) -> krs_apimachinery::validation::ErrorList {
    use krs_apimachinery::validation::{ErrorList, Path, field};
    let mut errors = ErrorList::new();
    for mode in ["enforce", "audit", "warn"] {
        let path = |key: &str| Path::new("metadata").child("labels").key(key);
        let level_key = format!("{PREFIX}{mode}");
        if let Some(v) = labels.get(&level_key).filter(|v| Level::parse(v).is_none()) {
            errors.push(field::invalid(
                &path(&level_key),
                v.as_str(),
                "must be one of privileged, baseline, restricted",
            ));
        }
        let version_key = format!("{PREFIX}{mode}-version");
        if let Some(v) = labels.get(&version_key).filter(|v| !valid_version(v)) {
            errors.push(field::invalid(&path(&version_key), v.as_str(), "must be \"latest\" or \"v1.x\""));
        }
    }
    errors
}

fn labels_of(obj: &dyn krs_kinds::Object) -> BTreeMap<String, String> {
    obj.meta().labels.clone().unwrap_or_default()
}

/// The PodSecurity plugin on a create (`old` is `None`) or update of `obj` in `namespace`: a
/// pod violating the enforced level is forbidden; a pod or workload template violating the
/// warned level adds a warning. Namespaces without the labels cost one cached read.
pub async fn admit(
    app: &crate::handler::App,
    res: &krs_api::ResourceInfo,
    ctx: &mut crate::registry::WriteContext,
    namespace: &str,
    obj: &dyn krs_kinds::Object,
    old: Option<&dyn krs_kinds::Object>,
) -> Result<(), crate::errors::ApiError> {
    let pods = res.group.is_empty() && res.resource == "pods";
    if res.group.is_empty() && res.resource == "namespaces" {
        // Invalid labels are refused on create, and on update when they are new.
        let errors = label_errors(&labels_of(obj));
        let before = old.map(|o| label_errors(&labels_of(o)));
        if !errors.is_empty() && before.as_ref() != Some(&errors) {
            let name = obj.meta().name.clone().unwrap_or_default();
            return Err(crate::errors::ApiError::invalid(res, &name, &errors));
        }
        return Ok(());
    }
    if !res.namespaced || !(pods || is_workload(res)) {
        return Ok(());
    }
    let Some(ns) = crate::admission::namespace_entry(app, namespace).await? else { return Ok(()) };
    let labels = ns.labels();
    if !labels.keys().any(|k| k.starts_with(PREFIX)) {
        return Ok(());
    }
    let policy = namespace_policy(labels);
    let name = obj.meta().name.clone().unwrap_or_default();
    if pods {
        let Some((meta, spec)) = krs_kinds::downcast_ref::<Pod>(obj).and_then(pod_parts) else { return Ok(()) };
        let old_spec = old.and_then(|o| krs_kinds::downcast_ref::<Pod>(o)).and_then(|p| p.spec.as_ref());
        if old_spec.is_some_and(|o| !significant_update(spec, o)) {
            return Ok(());
        }
        let enforced = check(policy.enforce.level, meta, spec);
        if !enforced.is_empty() {
            let message = format!("violates PodSecurity \"{}\": {}", policy.enforce.name(), describe(&enforced));
            return Err(crate::errors::ApiError::forbidden(Some(res), &name, &message));
        }
        let warned = check(policy.warn.level, meta, spec);
        if !warned.is_empty() {
            ctx.warnings.push(format!("would violate PodSecurity \"{}\": {}", policy.warn.name(), describe(&warned)));
        }
        return Ok(());
    }
    if policy.warn.level == Level::Privileged {
        return Ok(());
    }
    let value = serde_json::from_slice::<serde_json::Value>(&obj.to_json()).unwrap_or_default();
    if let Some(template) = template_of(&res.group, &res.resource, &value) {
        let meta = template.metadata.unwrap_or_default();
        let spec = template.spec.unwrap_or_default();
        let warned = check(policy.warn.level, &meta, &spec);
        if !warned.is_empty() {
            ctx.warnings.push(format!("would violate PodSecurity \"{}\": {}", policy.warn.name(), describe(&warned)));
        }
    }
    Ok(())
}

/// The kinds whose pod templates PodSecurity judges.
fn is_workload(res: &krs_api::ResourceInfo) -> bool {
    matches!(
        (res.group.as_str(), res.resource.as_str()),
        ("", "podtemplates" | "replicationcontrollers")
            | ("apps", "replicasets" | "deployments" | "statefulsets" | "daemonsets")
            | ("batch", "jobs" | "cronjobs")
    )
}

/// The pod's metadata and spec.
fn pod_parts(pod: &Pod) -> Option<(&ObjectMeta, &PodSpec)> {
    Some((&pod.metadata, pod.spec.as_ref()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(v).expect("spec")
    }

    fn labels(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string())).collect()
    }

    #[test]
    fn namespace_labels_choose_the_policies() {
        let p = namespace_policy(&labels(&[("enforce", "baseline"), ("enforce-version", "v1.30")]));
        assert_eq!(p.enforce.name(), "baseline:v1.30");
        assert_eq!(p.warn.name(), "baseline:v1.30", "warn follows a stricter enforce");
        let p = namespace_policy(&labels(&[("enforce", "bogus"), ("warn", "bogus"), ("warn-version", "1.2")]));
        assert_eq!((p.enforce.name(), p.warn.name()), ("restricted:latest".into(), "privileged:latest".into()));
        let p = namespace_policy(&labels(&[("warn", "restricted")]));
        assert_eq!((p.enforce.level, p.warn.name()), (Level::Privileged, "restricted:latest".into()));
        assert_eq!(namespace_policy(&BTreeMap::new()).enforce.level, Level::Privileged);
    }

    #[test]
    fn a_bare_pod_fails_restricted_with_upstreams_message() {
        let s = spec(json!({"containers": [{"name": "c", "image": "nginx"}]}));
        assert_eq!(check(Level::Baseline, &ObjectMeta::default(), &s), vec![]);
        assert_eq!(
            describe(&check(Level::Restricted, &ObjectMeta::default(), &s)),
            "allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
             unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
             runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
             seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        );
        let compliant = spec(json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]}));
        assert_eq!(check(Level::Restricted, &ObjectMeta::default(), &compliant), vec![]);
    }

    #[test]
    fn baseline_checks_name_containers_values_and_volumes() {
        let s = spec(json!({
            "hostNetwork": true, "hostPID": true,
            "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_rmem", "value": "1"}]},
            "initContainers": [{"name": "i", "image": "x", "securityContext": {"privileged": true}}],
            "containers": [
                {"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 10000}],
                 "securityContext": {"capabilities": {"add": ["SYS_ADMIN", "CHOWN", "NET_ADMIN"]}, "procMount": "Unmasked"}},
                {"name": "b", "image": "x", "securityContext": {"privileged": true, "seccompProfile": {"type": "Unconfined"}},
                 "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}, {"name": "tmp", "emptyDir": {}}]}));
        let v = check(Level::Baseline, &ObjectMeta::default(), &s);
        assert_eq!(
            describe(&v),
            "non-default capabilities (container \"a\" must not include \"NET_ADMIN\", \"SYS_ADMIN\" in securityContext.capabilities.add), \
             host namespaces (hostNetwork=true, hostPID=true), \
             hostPath volumes (volume \"root\"), \
             hostPort (container \"a\" uses hostPorts 10000, 8080), \
             probe or lifecycle host (container \"b\" uses probe or lifecycle host \"10.0.0.1\"), \
             privileged (containers \"i\", \"b\" must not set securityContext.privileged=true), \
             procMount (container \"a\" must not set securityContext.procMount to \"Unmasked\"), \
             seccompProfile (container \"b\" must not set securityContext.seccompProfile.type to \"Unconfined\"), \
             forbidden sysctls (kernel.msgmax)"
        );
        let r = check(Level::Restricted, &ObjectMeta::default(), &s);
        let reasons: Vec<&str> = r.iter().map(|(r, _)| r.as_str()).collect();
        assert!(reasons.contains(&"restricted volume types"), "{reasons:?}");
        assert!(!reasons.contains(&"hostPath volumes") && !reasons.contains(&"non-default capabilities"));
        assert!(
            describe(&r).contains("restricted volume types (volume \"root\" uses restricted volume type \"hostPath\")")
        );
    }

    #[test]
    fn only_significant_updates_are_judged() {
        let old = spec(json!({"containers": [{"name": "c", "image": "a"}]}));
        let same = spec(json!({"containers": [{"name": "c", "image": "a"}], "activeDeadlineSeconds": 5}));
        let image = spec(json!({"containers": [{"name": "c", "image": "b"}]}));
        let debug = spec(json!({"containers": [{"name": "c", "image": "a"}],
            "ephemeralContainers": [{"name": "d", "image": "busybox"}]}));
        assert!(!significant_update(&same, &old));
        assert!(significant_update(&image, &old));
        assert!(significant_update(&debug, &old));
    }
}
