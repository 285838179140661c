//! Leader election on a coordination.k8s.io/v1 Lease (`leaderelection.LeaderElector`): acquire
//! when the lease is free or its holder stopped renewing for a lease duration (as observed on
//! the local clock), renew every retry period, give up leadership when renewals fail for the
//! renew deadline, release the lease on shutdown.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

/// Lease timing (`LeaderElectionConfig`).
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl LeaseConfig {
    pub fn new(identity: String) -> LeaseConfig {
        LeaseConfig {
            namespace: "kube-system".into(),
            name: "kube-scheduler".into(),
            identity,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The last lease record seen and when (local clock), to judge expiry without trusting
    /// the holder's clock.
    observed: Option<(Option<String>, Option<MicroTime>, Instant)>,
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

impl LeaderElector {
    pub fn new(client: kube::Client, config: LeaseConfig) -> LeaderElector {
        LeaderElector { api: Api::namespaced(client, &config.namespace), config, observed: None }
    }

    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// Retries until the lease is ours.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %format!("{}/{}", self.config.namespace, self.config.name), "successfully acquired lease");
                    return;
                }
                Ok(false) => {}
                Err(e) => tracing::debug!(error = %e, "acquiring lease"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews until a renewal has not succeeded for the renew deadline; returns then (leadership lost).
    pub async fn renew_until_lost(&mut self) {
        let mut last_success = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_success = Instant::now(),
                Ok(false) => return,
                Err(e) => tracing::debug!(error = %e, "renewing lease"),
            }
            if last_success.elapsed() > self.config.renew_deadline {
                return;
            }
        }
    }

    /// Gives the lease up so another scheduler can take over at once (`ReleaseOnCancel`).
    pub async fn release(&mut self) {
        let Ok(mut lease) = self.api.get(&self.config.name).await else { return };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        spec.acquire_time = Some(now());
        let _ = self.api.replace(&self.config.name, &PostParams::default(), &lease).await;
    }

    /// One round (`tryAcquireOrRenew`): Ok(true) when we hold the lease afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let duration_secs = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(15);
        let lease = match self.api.get_opt(&self.config.name).await? {
            Some(l) => l,
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.config.identity.clone()),
                        lease_duration_seconds: Some(duration_secs),
                        acquire_time: Some(now()),
                        renew_time: Some(now()),
                        lease_transitions: Some(0),
                        ..Default::default()
                    }),
                };
                return match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                };
            }
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let record = (holder.clone(), spec.renew_time.clone());
        let observed_at = match &self.observed {
            Some((h, r, at)) if (h, r) == (&record.0, &record.1) => *at,
            _ => Instant::now(),
        };
        self.observed = Some((record.0.clone(), record.1.clone(), observed_at));
        let ours = holder.as_deref() == Some(self.config.identity.as_str());
        let held_duration = spec
            .lease_duration_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(self.config.lease_duration);
        if !ours && holder.is_some() && observed_at.elapsed() < held_duration {
            return Ok(false);
        }
        let mut updated = lease.clone();
        let s = updated.spec.get_or_insert_with(LeaseSpec::default);
        if !ours {
            s.acquire_time = Some(now());
            s.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + i32::from(holder.is_some()));
        }
        s.holder_identity = Some(self.config.identity.clone());
        s.lease_duration_seconds = Some(duration_secs);
        s.renew_time = Some(now());
        match self.api.replace(&self.config.name, &PostParams::default(), &updated).await {
            Ok(l) => {
                let spec = l.spec.unwrap_or_default();
                self.observed = Some((spec.holder_identity, spec.renew_time, Instant::now()));
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }
}
