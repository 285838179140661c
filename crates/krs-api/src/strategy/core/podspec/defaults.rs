//! Defaulting of pod specs, as upstream's `SetDefaults_PodSpec`, `SetDefaults_Container`,
//! `SetDefaults_Volume` (and the volume sources, probes and handlers below them) and the pod-only
//! `SetDefaults_Pod` apply when a request body is decoded.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EnvVar, HTTPGetAction, LifecycleHandler, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as OpenApiQuantity;
use krs_apimachinery::quantity::{Quantity, Scale};

/// The default termination grace period of a pod (`DefaultTerminationGracePeriodSeconds`).
pub(crate) const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

/// The file mode of secret, configMap, downwardAPI and projected volumes (0644).
const DEFAULT_VOLUME_MODE: i32 = 0o644;

/// Defaults of a pod spec wherever it appears (`SetDefaults_PodSpec` and the defaulters of
/// everything inside it: containers, volumes, probes).
pub fn set_defaults_pod_spec(spec: &mut PodSpec) {
    default_str(&mut spec.dns_policy, "ClusterFirst");
    default_str(&mut spec.restart_policy, "Always");
    if spec.security_context.is_none() {
        spec.security_context = Some(Default::default());
    }
    if spec.termination_grace_period_seconds.is_none() {
        spec.termination_grace_period_seconds = Some(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
    }
    default_str(&mut spec.scheduler_name, "default-scheduler");
    sync_deprecated_service_account(spec);
    for volume in spec.volumes.iter_mut().flatten() {
        set_defaults_volume(volume);
    }
    for container in spec.init_containers.iter_mut().flatten() {
        set_defaults_container(container);
    }
    for container in &mut spec.containers {
        set_defaults_container(container);
    }
    for ephemeral in spec.ephemeral_containers.iter_mut().flatten() {
        default_image_pull_policy(&mut ephemeral.image_pull_policy, ephemeral.image.as_deref());
        default_str(&mut ephemeral.termination_message_path, "/dev/termination-log");
        default_str(&mut ephemeral.termination_message_policy, "File");
        default_ports_and_env(&mut ephemeral.ports, &mut ephemeral.env);
        round_up_requirements(&mut ephemeral.resources);
    }
    if let Some(overhead) = &mut spec.overhead {
        round_up_resource_list(overhead);
    }
    if let Some(resources) = &mut spec.resources {
        round_up_requirements_lists(resources);
    }
}

/// Defaults of a pod template: its pod spec's defaults (a template gets no pod-only defaults).
pub fn set_defaults_pod_template_spec(template: &mut PodTemplateSpec) {
    set_defaults_pod_spec(template.spec.get_or_insert_with(Default::default));
}

/// The defaults only a Pod gets (`SetDefaults_Pod`), applied on top of
/// [`set_defaults_pod_spec`]: requests default to limits, service links are enabled, and with
/// host networking every container port is also a host port.
pub fn set_defaults_pod(spec: &mut PodSpec) {
    set_defaults_pod_spec(spec);
    for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_requests_to_limits(container);
    }
    if spec.enable_service_links.is_none() {
        spec.enable_service_links = Some(true);
    }
    if spec.host_network == Some(true) {
        for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            for port in container.ports.iter_mut().flatten() {
                if port.host_port.unwrap_or(0) == 0 {
                    port.host_port = Some(port.container_port);
                }
            }
        }
    }
}

/// Defaults of one container (`SetDefaults_Container` and what lies below it).
pub fn set_defaults_container(container: &mut Container) {
    default_image_pull_policy(&mut container.image_pull_policy, container.image.as_deref());
    default_str(&mut container.termination_message_path, "/dev/termination-log");
    default_str(&mut container.termination_message_policy, "File");
    default_ports_and_env(&mut container.ports, &mut container.env);
    round_up_requirements(&mut container.resources);
    for probe in [&mut container.liveness_probe, &mut container.readiness_probe, &mut container.startup_probe]
        .into_iter()
        .flatten()
    {
        set_defaults_probe(probe);
    }
    if let Some(lifecycle) = &mut container.lifecycle {
        for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop].into_iter().flatten() {
            set_defaults_lifecycle_handler(handler);
        }
    }
}

/// The deprecated `serviceAccount` field mirrors `serviceAccountName`, as upstream's conversion
/// keeps them: the name falls back to the deprecated field, which then repeats the name.
pub fn sync_deprecated_service_account(spec: &mut PodSpec) {
    if spec.service_account_name.as_deref().unwrap_or_default().is_empty()
        && let Some(deprecated) = spec.service_account.clone().filter(|s| !s.is_empty())
    {
        spec.service_account_name = Some(deprecated);
    }
    spec.service_account = spec.service_account_name.clone().filter(|name| !name.is_empty());
}

fn default_ports_and_env(
    ports: &mut Option<Vec<k8s_openapi::api::core::v1::ContainerPort>>,
    env: &mut Option<Vec<EnvVar>>,
) {
    for port in ports.iter_mut().flatten() {
        default_str(&mut port.protocol, "TCP");
    }
    for var in env.iter_mut().flatten() {
        if let Some(field_ref) = var.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            default_str(&mut field_ref.api_version, "v1");
        }
    }
}

fn round_up_requirements(resources: &mut Option<ResourceRequirements>) {
    if let Some(resources) = resources {
        round_up_requirements_lists(resources);
    }
}

fn round_up_requirements_lists(resources: &mut ResourceRequirements) {
    for list in [&mut resources.limits, &mut resources.requests].into_iter().flatten() {
        round_up_resource_list(list);
    }
}

/// Rounds every quantity of a resource list up to milli precision and writes it in upstream's
/// string form (`SetDefaults_ResourceList`). Unparsable quantities are left for validation.
pub fn round_up_resource_list(list: &mut BTreeMap<String, OpenApiQuantity>) {
    for value in list.values_mut() {
        if let Ok(mut q) = Quantity::try_from(&*value) {
            q.round_up(Scale::MILLI);
            *value = OpenApiQuantity::from(&q);
        }
    }
}

fn default_requests_to_limits(container: &mut Container) {
    let Some(resources) = &mut container.resources else {
        return;
    };
    let Some(limits) = &resources.limits else {
        return;
    };
    let requests = resources.requests.get_or_insert_with(BTreeMap::new);
    for (name, value) in limits {
        requests.entry(name.clone()).or_insert_with(|| value.clone());
    }
}

fn set_defaults_probe(probe: &mut Probe) {
    default_zero(&mut probe.timeout_seconds, 1);
    default_zero(&mut probe.period_seconds, 10);
    default_zero(&mut probe.success_threshold, 1);
    default_zero(&mut probe.failure_threshold, 3);
    if let Some(http) = &mut probe.http_get {
        set_defaults_http_get(http);
    }
    if let Some(grpc) = &mut probe.grpc {
        // The service is declared `+default=""`, so it is always present.
        grpc.service.get_or_insert_with(String::new);
    }
}

fn set_defaults_lifecycle_handler(handler: &mut LifecycleHandler) {
    if let Some(http) = &mut handler.http_get {
        set_defaults_http_get(http);
    }
}

fn set_defaults_http_get(http: &mut HTTPGetAction) {
    default_str(&mut http.path, "/");
    default_str(&mut http.scheme, "HTTP");
}

fn set_defaults_volume(volume: &mut Volume) {
    if !has_volume_source(volume) {
        volume.empty_dir = Some(Default::default());
    }
    if let Some(host_path) = &mut volume.host_path {
        host_path.type_.get_or_insert_with(String::new);
    }
    if let Some(secret) = &mut volume.secret {
        secret.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(config_map) = &mut volume.config_map {
        config_map.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(downward) = &mut volume.downward_api {
        downward.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        for item in downward.items.iter_mut().flatten() {
            if let Some(field_ref) = &mut item.field_ref {
                default_str(&mut field_ref.api_version, "v1");
            }
        }
    }
    if let Some(projected) = &mut volume.projected {
        projected.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        for source in projected.sources.iter_mut().flatten() {
            if let Some(downward) = &mut source.downward_api {
                for item in downward.items.iter_mut().flatten() {
                    if let Some(field_ref) = &mut item.field_ref {
                        default_str(&mut field_ref.api_version, "v1");
                    }
                }
            }
            if let Some(token) = &mut source.service_account_token {
                token.expiration_seconds.get_or_insert(3600);
            }
        }
    }
    if let Some(iscsi) = &mut volume.iscsi {
        default_str(&mut iscsi.iscsi_interface, "default");
    }
    if let Some(rbd) = &mut volume.rbd {
        default_str(&mut rbd.pool, "rbd");
        default_str(&mut rbd.user, "admin");
        default_str(&mut rbd.keyring, "/etc/ceph/keyring");
    }
    if let Some(azure) = &mut volume.azure_disk {
        default_str(&mut azure.caching_mode, "ReadWrite");
        default_str(&mut azure.kind, "Shared");
        default_str(&mut azure.fs_type, "ext4");
        azure.read_only.get_or_insert(false);
    }
    if let Some(scale_io) = &mut volume.scale_io {
        default_str(&mut scale_io.storage_mode, "ThinProvisioned");
        default_str(&mut scale_io.fs_type, "xfs");
    }
    if let Some(image) = &mut volume.image
        && image.pull_policy.as_deref().unwrap_or_default().is_empty()
    {
        image.pull_policy = Some(pull_policy_for(image.reference.as_deref()).to_owned());
    }
    if let Some(spec) = volume.ephemeral.as_mut().and_then(|e| e.volume_claim_template.as_mut()).map(|t| &mut t.spec) {
        default_str(&mut spec.volume_mode, "Filesystem");
        if let Some(resources) = &mut spec.resources {
            for list in [&mut resources.limits, &mut resources.requests].into_iter().flatten() {
                round_up_resource_list(list);
            }
        }
    }
}

/// Whether any volume source is set (upstream's `AllPtrFieldsNil` on the source, inverted).
pub(crate) fn has_volume_source(v: &Volume) -> bool {
    volume_source_count(v) > 0
}

fn volume_source_count(v: &Volume) -> usize {
    [
        v.aws_elastic_block_store.is_some(),
        v.azure_disk.is_some(),
        v.azure_file.is_some(),
        v.cephfs.is_some(),
        v.cinder.is_some(),
        v.config_map.is_some(),
        v.csi.is_some(),
        v.downward_api.is_some(),
        v.empty_dir.is_some(),
        v.ephemeral.is_some(),
        v.fc.is_some(),
        v.flex_volume.is_some(),
        v.flocker.is_some(),
        v.gce_persistent_disk.is_some(),
        v.git_repo.is_some(),
        v.glusterfs.is_some(),
        v.host_path.is_some(),
        v.image.is_some(),
        v.iscsi.is_some(),
        v.nfs.is_some(),
        v.persistent_volume_claim.is_some(),
        v.photon_persistent_disk.is_some(),
        v.portworx_volume.is_some(),
        v.projected.is_some(),
        v.quobyte.is_some(),
        v.rbd.is_some(),
        v.scale_io.is_some(),
        v.secret.is_some(),
        v.storageos.is_some(),
        v.vsphere_volume.is_some(),
    ]
    .into_iter()
    .filter(|set| *set)
    .count()
}

fn default_image_pull_policy(policy: &mut Option<String>, image: Option<&str>) {
    if policy.as_deref().unwrap_or_default().is_empty() {
        *policy = Some(pull_policy_for(image).to_owned());
    }
}

/// `Always` for an image whose tag is `latest` (explicitly or because it has neither tag nor
/// digest), else `IfNotPresent`; an image reference that does not parse gets `IfNotPresent`.
fn pull_policy_for(image: Option<&str>) -> &'static str {
    if image_tag(image.unwrap_or_default()).as_deref() == Some("latest") { "Always" } else { "IfNotPresent" }
}

/// The tag of an image reference as upstream's `parsers.ParseImageName` finds it: `latest`
/// when there is neither tag nor digest, `None` when the reference is malformed.
fn image_tag(image: &str) -> Option<String> {
    let (name_and_tag, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if digest.is_some_and(|d| !d.contains(':')) {
        return None;
    }
    let last_slash = name_and_tag.rfind('/');
    let (name, tag) = match name_and_tag.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
            (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
        }
        _ => (name_and_tag, None),
    };
    if !is_valid_repository(name) {
        return None;
    }
    match tag {
        Some(tag) if is_valid_tag(tag) => Some(tag.to_owned()),
        Some(_) => None,
        None if digest.is_none() => Some("latest".to_owned()),
        None => Some(String::new()),
    }
}

fn is_valid_repository(name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut parts = name.split('/').peekable();
    let first = parts.peek().copied().unwrap_or_default();
    let has_domain = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let components: Vec<&str> = if has_domain { parts.skip(1).collect() } else { parts.collect() };
    if components.is_empty() {
        return false;
    }
    components.iter().all(|c| {
        !c.is_empty()
            && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
            && c.as_bytes()[0].is_ascii_alphanumeric()
            && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
    })
}

fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.as_bytes()[0] == b'_')
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Clears fields of alpha features that are off in 1.34 (upstream's `DropDisabledPodFields`),
/// unless the stored object already uses them.
pub fn drop_disabled_pod_spec_fields(spec: &mut PodSpec, old: Option<&PodSpec>) {
    let old_uses = |f: &dyn Fn(&PodSpec) -> bool| old.is_some_and(f);
    if !old_uses(&|o| o.hostname_override.is_some()) {
        spec.hostname_override = None;
    }
    if !old_uses(&|o| all_containers(o).any(|c| c.restart_policy_rules.is_some())) {
        for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            c.restart_policy_rules = None;
        }
    }
    if !old_uses(&|o| {
        all_containers(o)
            .flat_map(|c| c.env.iter().flatten())
            .any(|e| e.value_from.as_ref().is_some_and(|v| v.file_key_ref.is_some()))
    }) {
        for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            for e in c.env.iter_mut().flatten() {
                if let Some(v) = &mut e.value_from {
                    v.file_key_ref = None;
                }
            }
        }
    }
    let uses_stop_signal =
        |o: &PodSpec| all_containers(o).any(|c| c.lifecycle.as_ref().is_some_and(|l| l.stop_signal.is_some()));
    if !old_uses(&uses_stop_signal) {
        for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            if let Some(lifecycle) = &mut c.lifecycle {
                lifecycle.stop_signal = None;
            }
        }
    }
    if !old_uses(&|o| o.volumes.iter().flatten().any(|v| v.image.is_some())) {
        for v in spec.volumes.iter_mut().flatten() {
            v.image = None;
        }
    }
    let projection_used = |o: &PodSpec, f: fn(&k8s_openapi::api::core::v1::VolumeProjection) -> bool| {
        o.volumes.iter().flatten().filter_map(|v| v.projected.as_ref()).flat_map(|p| p.sources.iter().flatten()).any(f)
    };
    let keep_bundles = old_uses(&|o| projection_used(o, |p| p.cluster_trust_bundle.is_some()));
    let keep_certificates = old_uses(&|o| projection_used(o, |p| p.pod_certificate.is_some()));
    for projected in spec.volumes.iter_mut().flatten().filter_map(|v| v.projected.as_mut()) {
        for source in projected.sources.iter_mut().flatten() {
            if !keep_bundles {
                source.cluster_trust_bundle = None;
            }
            if !keep_certificates {
                source.pod_certificate = None;
            }
        }
    }
}

fn all_containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.containers.iter().chain(spec.init_containers.iter().flatten())
}

fn default_str(value: &mut Option<String>, default: &str) {
    if value.as_deref().unwrap_or_default().is_empty() {
        *value = Some(default.to_owned());
    }
}

fn default_zero(value: &mut Option<i32>, default: i32) {
    if value.unwrap_or(0) == 0 {
        *value = Some(default);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_as_upstream_parses_them() {
        assert_eq!(image_tag("nginx").as_deref(), Some("latest"));
        assert_eq!(image_tag("nginx:latest").as_deref(), Some("latest"));
        assert_eq!(image_tag("nginx:1.27").as_deref(), Some("1.27"));
        assert_eq!(image_tag("registry.k8s.io:5000/pause:3.9").as_deref(), Some("3.9"));
        assert_eq!(image_tag("localhost:5000/app").as_deref(), Some("latest"));
        assert_eq!(image_tag("nginx@sha256:abc").as_deref(), Some(""));
        assert_eq!(image_tag("Nginx"), None);
        assert_eq!(image_tag(""), None);
    }

    #[test]
    fn pull_policy_is_always_only_for_latest() {
        assert_eq!(pull_policy_for(Some("nginx")), "Always");
        assert_eq!(pull_policy_for(Some("nginx:latest")), "Always");
        assert_eq!(pull_policy_for(Some("nginx:1.27")), "IfNotPresent");
        assert_eq!(pull_policy_for(Some("nginx@sha256:abc")), "IfNotPresent");
        assert_eq!(pull_policy_for(None), "IfNotPresent");
    }
}
