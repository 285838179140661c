//! Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection
//! package does it: acquire when the lease is free or expired, renew every retry period, and
//! give up leadership when a renewal has not succeeded within the renew deadline.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};

use crate::metrics::registry;

#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// kube-controller-manager's defaults (--leader-elect-* flags).
    pub fn controller_manager(identity: String) -> LeaderElectionConfig {
        LeaderElectionConfig {
            namespace: "kube-system".into(),
            name: "kube-controller-manager".into(),
            identity,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    /// The lease as last observed, and when (by our clock: holders' clocks may differ, so
    /// expiry is judged from when we saw the renew time change, as client-go does).
    observed: Option<(Lease, Instant)>,
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaderElectionConfig) -> LeaderElector {
        LeaderElector { api: Api::namespaced(client, &config.namespace), config, observed: None }
    }

    /// Waits until this process holds the lease.
    pub async fn acquire(&mut self) {
        registry().set_leader(&self.config.name, false);
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.config.name, identity = %self.config.identity, "acquired lease");
                    registry().set_leader(&self.config.name, true);
                    return;
                }
                Ok(false) => {}
                Err(e) => tracing::debug!(error = %e, "cannot acquire lease"),
            }
            tokio::time::sleep(jitter(self.config.retry_period)).await;
        }
    }

    /// Renews the lease every retry period; returns when leadership is lost (no successful
    /// renewal within the renew deadline, or another holder took the lease).
    pub async fn hold(&mut self) {
        let mut last_renew = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renew = Instant::now(),
                Ok(false) => break,
                Err(e) => tracing::warn!(error = %e, "cannot renew lease"),
            }
            if last_renew.elapsed() > self.config.renew_deadline {
                break;
            }
        }
        registry().set_leader(&self.config.name, false);
        tracing::error!(lease = %self.config.name, "leader election lost");
    }

    /// Gives the lease up on shutdown so a successor need not wait for it to expire.
    pub async fn release(&mut self) {
        let Some((mut lease, _)) = self.observed.take() else { return };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(&self.config.identity) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        let name = self.config.name.clone();
        if let Err(e) = self.api.replace(&name, &PostParams::default(), &lease).await {
            tracing::debug!(error = %e, "cannot release lease");
        }
        registry().set_leader(&self.config.name, false);
    }

    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let secs = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let current = self.api.get_opt(&self.config.name).await?;
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.config.identity.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            let created = self.api.create(&PostParams::default(), &lease).await?;
            self.observed = Some((created, Instant::now()));
            return Ok(true);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let ours = holder.as_deref() == Some(self.config.identity.as_str());
        // Note when the record last changed, by our clock.
        let changed = match &self.observed {
            Some((prev, _)) => {
                prev.spec.as_ref().map(|s| (&s.holder_identity, &s.renew_time))
                    != Some((&spec.holder_identity, &spec.renew_time))
            }
            None => true,
        };
        if changed {
            self.observed = Some((lease.clone(), Instant::now()));
        }
        if !ours && let Some(_holder) = holder {
            let duration =
                Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(15).max(1)).unwrap_or(15));
            let seen = self.observed.as_ref().map(|(_, at)| *at).unwrap_or_else(Instant::now);
            if seen.elapsed() < duration {
                return Ok(false);
            }
        }
        let mut new_spec = spec.clone();
        if !ours {
            new_spec.acquire_time = Some(now.clone());
            new_spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        new_spec.holder_identity = Some(self.config.identity.clone());
        new_spec.lease_duration_seconds = Some(secs);
        new_spec.renew_time = Some(now);
        lease.spec = Some(new_spec);
        let name = self.config.name.clone();
        // Optimistic concurrency on the resourceVersion read above: of two candidates only one wins.
        match self.api.replace(&name, &PostParams::default(), &lease).await {
            Ok(updated) => {
                self.observed = Some((updated, Instant::now()));
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// client-go's JitterFactor 1.2 for the acquire retry.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(1.0 + rand::random::<f64>() * 1.2)
}
