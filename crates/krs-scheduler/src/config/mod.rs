//! `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1): read from a YAML or JSON
//! file, defaulted and validated as upstream does, then expanded into the plugin list of every
//! extension point of every profile.

mod defaults;
mod types;

use std::path::Path;

pub use defaults::{DEFAULT_SCHEDULER_NAME, default_plugins};
pub use types::*;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("decoding {path}: {message}")]
    Decode { path: String, message: String },
    #[error("invalid KubeSchedulerConfiguration: {0}")]
    Invalid(String),
    #[error("plugin {plugin}: invalid args: {message}")]
    PluginArgs { plugin: String, message: String },
    #[error("{0} does not exist")]
    UnknownPlugin(String),
}

const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
const KIND: &str = "KubeSchedulerConfiguration";

/// Reads a configuration file (YAML or JSON), checks its apiVersion and kind, defaults and
/// validates it.
pub fn load_config(path: impl AsRef<Path>) -> Result<KubeSchedulerConfiguration, ConfigError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
    parse_config(&text).map_err(|e| match e {
        ConfigError::Decode { message, .. } => ConfigError::Decode { path: shown, message },
        other => other,
    })
}

/// Parses configuration text (YAML, of which JSON is a subset).
pub fn parse_config(text: &str) -> Result<KubeSchedulerConfiguration, ConfigError> {
    let decode = |message: String| ConfigError::Decode { path: String::new(), message };
    let value: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| decode(e.to_string()))?;
    let api_version = value.get("apiVersion").and_then(|v| v.as_str()).unwrap_or_default();
    let kind = value.get("kind").and_then(|v| v.as_str()).unwrap_or_default();
    if api_version != API_VERSION || kind != KIND {
        return Err(decode(format!(
            "no kind \"{kind}\" is registered for version \"{api_version}\"; expected {KIND} in {API_VERSION}"
        )));
    }
    let mut config: KubeSchedulerConfiguration = serde_json::from_value(value).map_err(|e| decode(e.to_string()))?;
    config.set_defaults();
    config.validate()?;
    Ok(config)
}

impl KubeSchedulerConfiguration {
    /// Upstream's defaults (`SetDefaults_KubeSchedulerConfiguration`): one default-scheduler
    /// profile when none is given, backoff 1 s to 10 s, leader election on a Lease.
    pub fn set_defaults(&mut self) {
        if self.profiles.is_empty() {
            self.profiles.push(Profile { scheduler_name: Some(DEFAULT_SCHEDULER_NAME.into()), ..Default::default() });
        }
        for p in &mut self.profiles {
            if p.scheduler_name.as_deref().is_none_or(str::is_empty) {
                p.scheduler_name = Some(DEFAULT_SCHEDULER_NAME.into());
            }
        }
        self.parallelism.get_or_insert(16);
        self.pod_initial_backoff_seconds.get_or_insert(1);
        self.pod_max_backoff_seconds.get_or_insert(10);
        let le = self.leader_election.get_or_insert_with(LeaderElectionConfiguration::default);
        le.leader_elect.get_or_insert(true);
        le.lease_duration.get_or_insert_with(|| "15s".into());
        le.renew_deadline.get_or_insert_with(|| "10s".into());
        le.retry_period.get_or_insert_with(|| "2s".into());
        le.resource_lock.get_or_insert_with(|| "leases".into());
        le.resource_name.get_or_insert_with(|| "kube-scheduler".into());
        le.resource_namespace.get_or_insert_with(|| "kube-system".into());
    }

    /// Upstream's validation messages for what this scheduler can check without the plugins.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.parallelism.is_some_and(|p| p <= 0) {
            return invalid("parallelism: Invalid value: should be an integer value greater than zero".into());
        }
        if let Some(p) = self.percentage_of_nodes_to_score
            && !(0..=100).contains(&p)
        {
            return invalid(format!("percentageOfNodesToScore: Invalid value: {p}: not in valid range [0-100]"));
        }
        let (initial, max) =
            (self.pod_initial_backoff_seconds.unwrap_or(1), self.pod_max_backoff_seconds.unwrap_or(10));
        if initial <= 0 {
            return invalid("podInitialBackoffSeconds: Invalid value: must be greater than 0".into());
        }
        if max < initial {
            return invalid(
                "podMaxBackoffSeconds: Invalid value: must be greater than or equal to PodInitialBackoffSeconds".into(),
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, p) in self.profiles.iter().enumerate() {
            let name = p.scheduler_name.clone().unwrap_or_default();
            if !names.insert(name.clone()) {
                return invalid(format!("profiles[{i}].schedulerName: Duplicate value: \"{name}\""));
            }
            if let Some(pct) = p.percentage_of_nodes_to_score
                && !(0..=100).contains(&pct)
            {
                return invalid(format!(
                    "profiles[{i}].percentageOfNodesToScore: Invalid value: {pct}: not in valid range [0-100]"
                ));
            }
        }
        // All profiles share one queue, so they must sort it the same way.
        let sorts: Vec<(Vec<String>, bool)> = self
            .profiles
            .iter()
            .map(|p| {
                let e = p.expand();
                (
                    e.queue_sort.enabled.iter().map(|x| x.name.clone()).collect(),
                    e.multi_point.enabled.iter().any(|x| x.name == "PrioritySort"),
                )
            })
            .collect();
        if sorts.windows(2).any(|w| w[0] != w[1]) {
            return invalid("profiles[1].plugins.queueSort: Invalid value: must be the same for all profiles".into());
        }
        Ok(())
    }

    pub fn leader_elect(&self) -> bool {
        self.leader_election.as_ref().and_then(|l| l.leader_elect).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests;
