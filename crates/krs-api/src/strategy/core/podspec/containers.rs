//! Containers of a pod: regular, init (including sidecars) and ephemeral ones, with their
//! ports, environment, probes and lifecycle hooks (upstream `validateContainers`,
//! `validateInitContainers`, `validateEphemeralContainers`, `validateContainerCommon`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvFromSource, EnvVar, EphemeralContainer, ExecAction, GRPCAction, HTTPGetAction,
    Lifecycle, Probe, SleepAction, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::{
    ErrorList, Path, field, is_config_map_key, is_http_header_name, is_relaxed_env_var_name, is_valid_port_name,
    is_valid_port_num, name_is_dns_subdomain, validate_nonnegative_field,
};

use super::downward::{validate_container_resource_field_selector, validate_object_field_selector};
use super::resources::validate_container_resource_requirements;
use super::security::validate_security_context;
use super::volumes::{VolumeKind, validate_volume_devices, validate_volume_mounts};
use super::{dns1123_label, name_errors, s};

/// What the containers of one pod spec share during validation.
pub(crate) struct ContainerContext<'a> {
    pub volumes: &'a BTreeMap<String, VolumeKind>,
    pub pod_claim_names: &'a BTreeSet<String>,
    pub grace_period: Option<i64>,
    pub pod_restart_policy: &'a str,
    pub host_users: bool,
}

/// The regular containers (`validateContainers`).
pub(crate) fn validate_containers(containers: &[Container], ctx: &ContainerContext<'_>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if containers.is_empty() {
        errs.push(field::required(path, ""));
        return errs;
    }
    let mut names = BTreeSet::new();
    for (i, c) in containers.iter().enumerate() {
        let p = path.index(i);
        errs.append(validate_container_common(c, ctx, &p));
        if !names.insert(c.name.as_str()) {
            errs.push(field::duplicate(&p.child("name"), c.name.as_str()));
        }
        if let Some(lifecycle) = &c.lifecycle {
            errs.append(validate_lifecycle(lifecycle, ctx.grace_period, &p.child("lifecycle")));
        }
        errs.append(validate_liveness_probe(c.liveness_probe.as_ref(), ctx.grace_period, &p.child("livenessProbe")));
        errs.append(validate_readiness_probe(c.readiness_probe.as_ref(), ctx.grace_period, &p.child("readinessProbe")));
        errs.append(validate_startup_probe(c.startup_probe.as_ref(), ctx.grace_period, &p.child("startupProbe")));
        if c.restart_policy.is_some() {
            errs.push(field::forbidden(&p.child("restartPolicy"), "may not be set for non-init containers"));
        }
    }
    errs.append(check_host_port_conflicts(containers.iter(), path));
    errs
}

/// The init containers (`validateInitContainers`): restartable ones are sidecars and may have
/// probes and lifecycle hooks; the others may not.
pub(crate) fn validate_init_containers(
    containers: &[Container],
    regular: &[Container],
    ctx: &ContainerContext<'_>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names: BTreeSet<&str> = regular.iter().map(|c| c.name.as_str()).collect();
    for (i, c) in containers.iter().enumerate() {
        let p = path.index(i);
        errs.append(validate_container_common(c, ctx, &p));
        let mut restart_always = false;
        if let Some(policy) = &c.restart_policy {
            if policy != "Always" {
                errs.push(field::not_supported(&p.child("restartPolicy"), policy.as_str(), &["Always"]));
            }
            restart_always = policy == "Always";
        }
        if names.contains(c.name.as_str()) {
            errs.push(field::duplicate(&p.child("name"), c.name.as_str()));
        } else if !c.name.is_empty() {
            names.insert(c.name.as_str());
        }
        // Init containers run one at a time, so each is checked alone; upstream reports the
        // conflict as if the container were the first of the list.
        errs.append(check_host_port_conflicts(std::iter::once(c), path));
        if restart_always {
            if let Some(lifecycle) = &c.lifecycle {
                errs.append(validate_lifecycle(lifecycle, ctx.grace_period, &p.child("lifecycle")));
            }
            errs.append(validate_liveness_probe(
                c.liveness_probe.as_ref(),
                ctx.grace_period,
                &p.child("livenessProbe"),
            ));
            errs.append(validate_readiness_probe(
                c.readiness_probe.as_ref(),
                ctx.grace_period,
                &p.child("readinessProbe"),
            ));
            errs.append(validate_startup_probe(c.startup_probe.as_ref(), ctx.grace_period, &p.child("startupProbe")));
        } else {
            const MSG: &str = "may not be set for init containers without restartPolicy=Always";
            for (set, name) in [
                (c.lifecycle.is_some(), "lifecycle"),
                (c.liveness_probe.is_some(), "livenessProbe"),
                (c.readiness_probe.is_some(), "readinessProbe"),
                (c.startup_probe.is_some(), "startupProbe"),
            ] {
                if set {
                    errs.push(field::forbidden(&p.child(name), MSG));
                }
            }
        }
    }
    errs
}

/// The ephemeral containers (`validateEphemeralContainers`): debugging containers that may not
/// take part in the pod's lifecycle, ports or resources.
pub(crate) fn validate_ephemeral_containers(
    ephemeral: &[EphemeralContainer],
    containers: &[Container],
    init_containers: &[Container],
    ctx: &ContainerContext<'_>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if ephemeral.is_empty() {
        return errs;
    }
    let others: BTreeSet<&str> = containers.iter().chain(init_containers).map(|c| c.name.as_str()).collect();
    let mut all = others.clone();
    for (i, ec) in ephemeral.iter().enumerate() {
        let p = path.index(i);
        let c = ephemeral_as_container(ec);
        errs.append(validate_container_common(&c, ctx, &p));
        errs.append(validate_container_only_for_pod(&c, &p));
        if !all.insert(ec.name.as_str()) {
            errs.push(field::duplicate(&p.child("name"), ec.name.as_str()));
        }
        let target = s(&ec.target_container_name);
        if !target.is_empty() && !others.contains(target) {
            errs.push(field::not_found(&p.child("targetContainerName"), target));
        }
        const MSG: &str = "cannot be set for an Ephemeral Container";
        for (set, name) in [
            (ec.ports.is_some(), "ports"),
            (ec.resources.as_ref().is_some_and(|r| *r != Default::default()), "resources"),
            (ec.resize_policy.is_some(), "resizePolicy"),
            (ec.restart_policy.is_some(), "restartPolicy"),
            (ec.restart_policy_rules.is_some(), "restartPolicyRules"),
            (ec.liveness_probe.is_some(), "livenessProbe"),
            (ec.readiness_probe.is_some(), "readinessProbe"),
            (ec.startup_probe.is_some(), "startupProbe"),
            (ec.lifecycle.is_some(), "lifecycle"),
        ] {
            if set {
                errs.push(field::forbidden(&p.child(name), MSG));
            }
        }
        for (j, vm) in ec.volume_mounts.iter().flatten().enumerate() {
            let vm_path = p.child("volumeMounts").index(j);
            if !s(&vm.sub_path).is_empty() {
                errs.push(field::forbidden(&vm_path.child("subPath"), MSG));
            }
            if !s(&vm.sub_path_expr).is_empty() {
                errs.push(field::forbidden(&vm_path.child("subPathExpr"), MSG));
            }
        }
    }
    errs
}

/// An ephemeral container seen as a container, to share the common checks.
pub(crate) fn ephemeral_as_container(ec: &EphemeralContainer) -> Container {
    Container {
        args: ec.args.clone(),
        command: ec.command.clone(),
        env: ec.env.clone(),
        env_from: ec.env_from.clone(),
        image: ec.image.clone(),
        image_pull_policy: ec.image_pull_policy.clone(),
        lifecycle: ec.lifecycle.clone(),
        liveness_probe: ec.liveness_probe.clone(),
        name: ec.name.clone(),
        ports: ec.ports.clone(),
        readiness_probe: ec.readiness_probe.clone(),
        resize_policy: ec.resize_policy.clone(),
        resources: ec.resources.clone(),
        restart_policy: ec.restart_policy.clone(),
        restart_policy_rules: ec.restart_policy_rules.clone(),
        security_context: ec.security_context.clone(),
        startup_probe: ec.startup_probe.clone(),
        stdin: ec.stdin,
        stdin_once: ec.stdin_once,
        termination_message_path: ec.termination_message_path.clone(),
        termination_message_policy: ec.termination_message_policy.clone(),
        tty: ec.tty,
        volume_devices: ec.volume_devices.clone(),
        volume_mounts: ec.volume_mounts.clone(),
        working_dir: ec.working_dir.clone(),
    }
}

/// What every kind of container must satisfy (`validateContainerCommon`).
fn validate_container_common(c: &Container, ctx: &ContainerContext<'_>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let name_path = path.child("name");
    if c.name.is_empty() {
        errs.push(field::required(&name_path, ""));
    } else {
        errs.append(dns1123_label(&c.name, &name_path));
    }
    if s(&c.image).is_empty() {
        errs.push(field::required(&path.child("image"), ""));
    }
    let policy_path = path.child("terminationMessagePolicy");
    match s(&c.termination_message_policy) {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(field::required(&policy_path, "")),
        other => errs.push(field::not_supported(&policy_path, other, &["File", "FallbackToLogsOnError"])),
    }
    errs.append(validate_container_ports(c.ports.as_deref().unwrap_or_default(), &path.child("ports")));
    errs.append(validate_env(c.env.as_deref().unwrap_or_default(), &path.child("env")));
    errs.append(validate_env_from(c.env_from.as_deref().unwrap_or_default(), &path.child("envFrom")));
    errs.append(validate_volume_mounts(c, ctx.volumes, &path.child("volumeMounts")));
    errs.append(validate_volume_devices(c, ctx.volumes, &path.child("volumeDevices")));
    errs.append(validate_pull_policy(s(&c.image_pull_policy), &path.child("imagePullPolicy")));
    errs.append(validate_container_resource_requirements(
        c.resources.as_ref(),
        ctx.pod_claim_names,
        &path.child("resources"),
    ));
    errs.append(validate_resize_policy(c, ctx.pod_restart_policy, &path.child("resizePolicy")));
    errs.append(validate_security_context(c.security_context.as_ref(), &path.child("securityContext"), ctx.host_users));
    errs
}

/// What only containers of real pods must satisfy (`validateContainerOnlyForPod`): templates
/// keep accepting padded images for compatibility.
pub(crate) fn validate_container_only_for_pod(c: &Container, path: &Path) -> ErrorList {
    let image = s(&c.image);
    if image.trim() != image {
        ErrorList::from(field::invalid(&path.child("image"), image, "must not have leading or trailing whitespace"))
    } else {
        ErrorList::new()
    }
}

/// An image pull policy (`validatePullPolicy`).
pub(crate) fn validate_pull_policy(policy: &str, path: &Path) -> ErrorList {
    match policy {
        "Always" | "IfNotPresent" | "Never" => ErrorList::new(),
        "" => ErrorList::from(field::required(path, "")),
        other => ErrorList::from(field::not_supported(path, other, &["Always", "IfNotPresent", "Never"])),
    }
}

fn validate_resize_policy(c: &Container, pod_restart_policy: &str, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen = BTreeSet::new();
    for (i, policy) in c.resize_policy.iter().flatten().enumerate() {
        if !seen.insert(policy.resource_name.as_str()) {
            errs.push(field::duplicate(&path.index(i), policy.resource_name.as_str()));
        }
        match policy.resource_name.as_str() {
            "cpu" | "memory" => {}
            "" => errs.push(field::required(path, "")),
            other => errs.push(field::not_supported(path, other, &["cpu", "memory"])),
        }
        match policy.restart_policy.as_str() {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(field::required(path, "")),
            other => errs.push(field::not_supported(path, other, &["NotRequired", "RestartContainer"])),
        }
        if pod_restart_policy == "Never" && policy.restart_policy != "NotRequired" {
            errs.push(field::invalid(
                path,
                policy.restart_policy.as_str(),
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
    }
    errs
}

/// The ports of one container (`validateContainerPorts`).
fn validate_container_ports(ports: &[ContainerPort], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = s(&port.name);
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.append(name_errors(msgs, name, &p.child("name")));
            } else if !names.insert(name) {
                errs.push(field::duplicate(&p.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(field::required(&p.child("containerPort"), ""));
        } else {
            for msg in is_valid_port_num(i64::from(port.container_port)) {
                errs.push(field::invalid(&p.child("containerPort"), port.container_port, msg));
            }
        }
        let host_port = port.host_port.unwrap_or(0);
        if host_port != 0 {
            for msg in is_valid_port_num(i64::from(host_port)) {
                errs.push(field::invalid(&p.child("hostPort"), host_port, msg));
            }
        }
        match s(&port.protocol) {
            "" => errs.push(field::required(&p.child("protocol"), "")),
            "TCP" | "UDP" | "SCTP" => {}
            other => errs.push(field::not_supported(&p.child("protocol"), other, &["SCTP", "TCP", "UDP"])),
        }
    }
    errs
}

/// Host ports may not collide across the given containers (`checkHostPortConflicts`).
fn check_host_port_conflicts<'a>(containers: impl Iterator<Item = &'a Container>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen = BTreeSet::new();
    for (ci, c) in containers.enumerate() {
        for (pi, port) in c.ports.iter().flatten().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let key = format!("{}/{}/{host_port}", s(&port.protocol), s(&port.host_ip));
            if seen.contains(&key) {
                errs.push(field::duplicate(&path.index(ci).child("ports").index(pi).child("hostPort"), key));
            } else {
                seen.insert(key);
            }
        }
    }
    errs
}

/// The pod fields an environment variable may show.
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Environment variables (`ValidateEnv`); 1.34 accepts the relaxed names.
fn validate_env(vars: &[EnvVar], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, var) in vars.iter().enumerate() {
        let p = path.index(i);
        if var.name.is_empty() {
            errs.push(field::required(&p.child("name"), ""));
        } else {
            errs.append(name_errors(is_relaxed_env_var_name(&var.name), &var.name, &p.child("name")));
        }
        errs.append(validate_env_var_value_from(var, &p.child("valueFrom")));
    }
    errs
}

fn validate_env_var_value_from(var: &EnvVar, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(from) = &var.value_from else {
        return errs;
    };
    let mut sources = 0;
    if let Some(field_ref) = &from.field_ref {
        sources += 1;
        errs.append(validate_object_field_selector(field_ref, ENV_FIELD_PATHS, &path.child("fieldRef")));
    }
    if let Some(resource_ref) = &from.resource_field_ref {
        sources += 1;
        errs.append(validate_container_resource_field_selector(resource_ref, &path.child("resourceFieldRef"), false));
    }
    if let Some(cm) = &from.config_map_key_ref {
        sources += 1;
        errs.append(validate_key_selector(&cm.name, &cm.key, &path.child("configMapKeyRef")));
    }
    if let Some(secret) = &from.secret_key_ref {
        sources += 1;
        errs.append(validate_key_selector(&secret.name, &secret.key, &path.child("secretKeyRef")));
    }
    if sources == 0 {
        errs.push(field::invalid(
            path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if !s(&var.value).is_empty() {
        errs.push(field::invalid(path, "", "may not be specified when `value` is not empty"));
    } else if sources > 1 {
        errs.push(field::invalid(path, "", "may not have more than one field specified at a time"));
    }
    errs
}

fn validate_key_selector(name: &str, key: &str, path: &Path) -> ErrorList {
    let mut errs = name_errors(name_is_dns_subdomain(name, false), name, &path.child("name"));
    if key.is_empty() {
        errs.push(field::required(&path.child("key"), ""));
    } else {
        errs.append(name_errors(is_config_map_key(key), key, &path.child("key")));
    }
    errs
}

fn validate_env_from(sources: &[EnvFromSource], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, source) in sources.iter().enumerate() {
        let p = path.index(i);
        let prefix = s(&source.prefix);
        if !prefix.is_empty() {
            errs.append(name_errors(is_relaxed_env_var_name(prefix), prefix, &p.child("prefix")));
        }
        let mut count = 0;
        if let Some(cm) = &source.config_map_ref {
            count += 1;
            errs.append(validate_env_source_name(&cm.name, &p.child("configMapRef")));
        }
        if let Some(secret) = &source.secret_ref {
            count += 1;
            errs.append(validate_env_source_name(&secret.name, &p.child("secretRef")));
        }
        if count == 0 {
            errs.push(field::invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
        } else if count > 1 {
            errs.push(field::invalid(path, "", "may not have more than one field specified at a time"));
        }
    }
    errs
}

fn validate_env_source_name(name: &str, path: &Path) -> ErrorList {
    if name.is_empty() {
        ErrorList::from(field::required(&path.child("name"), ""))
    } else {
        name_errors(name_is_dns_subdomain(name, true), name, &path.child("name"))
    }
}

fn validate_liveness_probe(probe: Option<&Probe>, grace: Option<i64>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(probe) = probe else { return errs };
    errs.append(validate_probe(probe, grace, path));
    let success = probe.success_threshold.unwrap_or(0);
    if success != 1 {
        errs.push(field::invalid(&path.child("successThreshold"), success, "must be 1"));
    }
    errs
}

fn validate_readiness_probe(probe: Option<&Probe>, grace: Option<i64>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(probe) = probe else { return errs };
    errs.append(validate_probe(probe, grace, path));
    if let Some(t) = probe.termination_grace_period_seconds {
        errs.push(field::invalid(
            &path.child("terminationGracePeriodSeconds"),
            t,
            "must not be set for readinessProbes",
        ));
    }
    errs
}

fn validate_startup_probe(probe: Option<&Probe>, grace: Option<i64>, path: &Path) -> ErrorList {
    validate_liveness_probe(probe, grace, path)
}

fn validate_probe(probe: &Probe, grace: Option<i64>, path: &Path) -> ErrorList {
    let mut errs = validate_handler(
        Handler {
            exec: probe.exec.as_ref(),
            http_get: probe.http_get.as_ref(),
            tcp_socket: probe.tcp_socket.as_ref(),
            grpc: probe.grpc.as_ref(),
            sleep: None,
        },
        grace,
        path,
    );
    for (value, name) in [
        (probe.initial_delay_seconds, "initialDelaySeconds"),
        (probe.timeout_seconds, "timeoutSeconds"),
        (probe.period_seconds, "periodSeconds"),
        (probe.success_threshold, "successThreshold"),
        (probe.failure_threshold, "failureThreshold"),
    ] {
        errs.append(validate_nonnegative_field(i64::from(value.unwrap_or(0)), &path.child(name)));
    }
    if let Some(t) = probe.termination_grace_period_seconds.filter(|t| *t <= 0) {
        errs.push(field::invalid(&path.child("terminationGracePeriodSeconds"), t, "must be greater than 0"));
    }
    errs
}

fn validate_lifecycle(lifecycle: &Lifecycle, grace: Option<i64>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (handler, name) in [(&lifecycle.post_start, "postStart"), (&lifecycle.pre_stop, "preStop")] {
        if let Some(h) = handler {
            errs.append(validate_handler(
                Handler {
                    exec: h.exec.as_ref(),
                    http_get: h.http_get.as_ref(),
                    tcp_socket: h.tcp_socket.as_ref(),
                    grpc: None,
                    sleep: h.sleep.as_ref(),
                },
                grace,
                &path.child(name),
            ));
        }
    }
    errs
}

/// The actions of a probe or lifecycle hook (upstream's `commonHandler`).
struct Handler<'a> {
    exec: Option<&'a ExecAction>,
    http_get: Option<&'a HTTPGetAction>,
    tcp_socket: Option<&'a TCPSocketAction>,
    grpc: Option<&'a GRPCAction>,
    sleep: Option<&'a SleepAction>,
}

/// Exactly one action, each valid (`validateHandler`).
fn validate_handler(h: Handler<'_>, grace: Option<i64>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut count = 0;
    let mut one = |present: bool, name: &str, errs: &mut ErrorList, check: &dyn Fn(&Path) -> ErrorList| {
        if !present {
            return;
        }
        if count > 0 {
            errs.push(field::forbidden(&path.child(name), "may not specify more than 1 handler type"));
        } else {
            count += 1;
            errs.append(check(&path.child(name)));
        }
    };
    one(h.exec.is_some(), "exec", &mut errs, &|p| {
        if h.exec.is_some_and(|e| e.command.as_ref().is_none_or(|c| c.is_empty())) {
            ErrorList::from(field::required(&p.child("command"), ""))
        } else {
            ErrorList::new()
        }
    });
    one(h.http_get.is_some(), "httpGet", &mut errs, &|p| {
        let mut e = ErrorList::new();
        let Some(http) = h.http_get else { return e };
        if s(&http.path).is_empty() {
            e.push(field::required(&p.child("path"), ""));
        }
        e.append(validate_port_num_or_name(&http.port, &p.child("port")));
        let scheme = s(&http.scheme);
        if !matches!(scheme, "HTTP" | "HTTPS") {
            e.push(field::not_supported(&p.child("scheme"), scheme, &["HTTP", "HTTPS"]));
        }
        for header in http.http_headers.iter().flatten() {
            e.append(name_errors(is_http_header_name(&header.name), &header.name, &p.child("httpHeaders")));
        }
        e
    });
    one(h.tcp_socket.is_some(), "tcpSocket", &mut errs, &|p| {
        h.tcp_socket.map(|t| validate_port_num_or_name(&t.port, &p.child("port"))).unwrap_or_default()
    });
    one(h.grpc.is_some(), "grpc", &mut errs, &|p| {
        h.grpc.map(|g| validate_port_num_or_name(&IntOrString::Int(g.port), &p.child("port"))).unwrap_or_default()
    });
    one(h.sleep.is_some(), "sleep", &mut errs, &|p| {
        let mut e = ErrorList::new();
        if let (Some(sleep), Some(grace)) = (h.sleep, grace)
            && (sleep.seconds < 0 || sleep.seconds > grace)
        {
            e.push(field::invalid(
                p,
                sleep.seconds,
                format!("must be non-negative and less than terminationGracePeriodSeconds ({grace})"),
            ));
        }
        e
    });
    if count == 0 {
        errs.push(field::required(path, "must specify a handler type"));
    }
    errs
}

/// A port number or an IANA service name (`ValidatePortNumOrName`).
pub(crate) fn validate_port_num_or_name(port: &IntOrString, path: &Path) -> ErrorList {
    match port {
        IntOrString::Int(n) => {
            is_valid_port_num(i64::from(*n)).into_iter().map(|msg| field::invalid(path, *n, msg)).collect()
        }
        IntOrString::String(name) => name_errors(is_valid_port_name(name), name, path),
    }
}
