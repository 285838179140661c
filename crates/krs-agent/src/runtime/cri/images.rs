//! Image pulls through the CRI, honouring imagePullPolicy and imagePullSecrets, with back-off
//! (ErrImagePull, then ImagePullBackOff).

use std::time::{Duration, Instant};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Container;

use super::client::{CriClient, TIMEOUT, req};
use crate::backoff::{Backoff, go_duration};
use crate::events::{NORMAL, WARNING};
use crate::runtime::RegistryAuth;

/// The registry host of an image reference (Docker's normalisation: a first component with a
/// '.' or ':' or named localhost is a host, else Docker Hub).
pub fn registry_host(image: &str) -> String {
    let first = image.split('/').next().unwrap_or_default();
    if image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost") {
        first.to_owned()
    } else {
        "docker.io".to_owned()
    }
}

/// The host a docker config key names ("https://index.docker.io/v1/" → "docker.io").
pub fn normalize_registry_key(key: &str) -> String {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let host = k.split('/').next().unwrap_or_default();
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io".to_owned(),
        h => h.to_owned(),
    }
}

/// Whether the reference has an explicit tag or digest other than latest.
fn has_pinned_tag(image: &str) -> bool {
    if image.contains('@') {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag != "latest",
        None => false,
    }
}

/// The effective pull policy (the API defaults it the same way when unset).
pub fn pull_policy(c: &Container) -> &str {
    match c.image_pull_policy.as_deref() {
        Some(p @ ("Always" | "IfNotPresent" | "Never")) => p,
        _ if has_pinned_tag(c.image.as_deref().unwrap_or_default()) => "IfNotPresent",
        _ => "Always",
    }
}

pub struct ImageManager {
    client: CriClient,
    backoff: Backoff,
}

/// Why an image is not available: (waiting reason, message).
pub type PullError = (String, String);

impl ImageManager {
    pub fn new(client: CriClient) -> ImageManager {
        ImageManager { client, backoff: Backoff::new(Duration::from_secs(10), Duration::from_secs(300)) }
    }

    async fn present(&self, image: &str) -> Option<String> {
        let mut c = self.client.images.clone();
        let spec = cri::ImageSpec { image: image.to_owned(), ..Default::default() };
        let r =
            c.image_status(req(cri::ImageStatusRequest { image: Some(spec), verbose: false }, TIMEOUT)).await.ok()?;
        r.into_inner().image.map(|i| i.id)
    }

    /// Makes the container's image present and returns its ID.
    /// Makes sure the container's image is present, honouring its pull policy; `event` receives
    /// upstream's events about it (Pulling, Pulled, BackOff, Failed, ErrImageNeverPull).
    pub async fn ensure(
        &self,
        pod_uid: &str,
        c: &Container,
        auths: &[RegistryAuth],
        sandbox: &cri::PodSandboxConfig,
        event: &(dyn Fn(&'static str, &'static str, String) + Sync),
    ) -> Result<String, PullError> {
        let image = c.image.clone().unwrap_or_default();
        if image.is_empty() {
            return Err(("InvalidImageName".into(), "the container has no image".into()));
        }
        let policy = pull_policy(c);
        if policy != "Always"
            && let Some(id) = self.present(&image).await
        {
            event(NORMAL, "Pulled", format!("Container image \"{image}\" already present on machine"));
            return Ok(id);
        }
        if policy == "Never" {
            let message = format!("Container image \"{image}\" is not present with pull policy of Never");
            event(WARNING, "ErrImageNeverPull", message.clone());
            return Err(("ErrImageNeverPull".into(), message));
        }
        let key = format!("{pod_uid}/{image}");
        let now = Instant::now();
        if self.backoff.remaining_since_last(&key, now).is_some() {
            let message = format!("Back-off pulling image \"{image}\"");
            event(NORMAL, "BackOff", message.clone());
            return Err(("ImagePullBackOff".into(), message));
        }
        event(NORMAL, "Pulling", format!("Pulling image \"{image}\""));
        match self.pull(&image, auths, sandbox).await {
            Ok(id) => {
                self.backoff.reset(&key);
                let took = now.elapsed().as_secs_f64();
                event(NORMAL, "Pulled", format!("Successfully pulled image \"{image}\" in {took:.3}s"));
                Ok(id)
            }
            Err(message) => {
                self.backoff.next(&key, now);
                event(WARNING, "Failed", format!("Failed to pull image \"{image}\": {message}"));
                Err(("ErrImagePull".into(), message))
            }
        }
    }

    /// Pulls with each matching credential in turn (upstream does the same), else anonymously.
    async fn pull(
        &self,
        image: &str,
        auths: &[RegistryAuth],
        sandbox: &cri::PodSandboxConfig,
    ) -> Result<String, String> {
        let host = registry_host(image);
        let mut candidates: Vec<Option<cri::AuthConfig>> = auths
            .iter()
            .filter(|a| normalize_registry_key(&a.server) == host)
            .map(|a| {
                Some(cri::AuthConfig {
                    username: a.username.clone(),
                    password: a.password.clone(),
                    auth: a.auth.clone(),
                    // The host was matched above. containerd 1.6 parses a server address as a
                    // URL and refuses "host:port" without a scheme, so none is sent.
                    server_address: String::new(),
                    ..Default::default()
                })
            })
            .collect();
        candidates.push(None);
        let mut errors: Vec<String> = Vec::new();
        for auth in candidates {
            let mut c = self.client.images.clone();
            let request = cri::PullImageRequest {
                image: Some(cri::ImageSpec { image: image.to_owned(), ..Default::default() }),
                auth,
                sandbox_config: Some(sandbox.clone()),
            };
            match c.pull_image(req(request, Duration::from_secs(600))).await {
                Ok(r) => return Ok(r.into_inner().image_ref),
                Err(e) => {
                    let message = e.message().to_owned();
                    if !errors.contains(&message) {
                        errors.push(message);
                    }
                }
            }
        }
        // Every attempt's reason: with credentials first, then anonymously.
        Err(format!("failed to pull image \"{image}\": {}", errors.join("; ")))
    }
}

/// The message of a back-off, as upstream words it.
pub fn backoff_message(d: Duration, container: &str, pod: &str) -> String {
    format!("back-off {} restarting failed container={container} pod={pod}", go_duration(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        assert_eq!(registry_host("busybox"), "docker.io");
        assert_eq!(registry_host("library/busybox:1"), "docker.io");
        assert_eq!(registry_host("127.0.0.1:5000/busybox:1"), "127.0.0.1:5000");
        assert_eq!(registry_host("registry.k8s.io/pause:3.10"), "registry.k8s.io");
        assert_eq!(registry_host("localhost/x"), "localhost");
        assert_eq!(normalize_registry_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_registry_key("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn policies() {
        let c = |image: &str, policy: Option<&str>| Container {
            image: Some(image.into()),
            image_pull_policy: policy.map(Into::into),
            ..Default::default()
        };
        assert_eq!(pull_policy(&c("busybox", None)), "Always");
        assert_eq!(pull_policy(&c("busybox:latest", None)), "Always");
        assert_eq!(pull_policy(&c("busybox:1.36", None)), "IfNotPresent");
        assert_eq!(pull_policy(&c("127.0.0.1:5000/busybox", None)), "Always");
        assert_eq!(pull_policy(&c("x@sha256:abc", None)), "IfNotPresent");
        assert_eq!(pull_policy(&c("busybox", Some("Never"))), "Never");
    }
}
