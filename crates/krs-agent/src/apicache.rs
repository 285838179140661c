//! The API objects pods reference (ConfigMaps, Secrets, Services, claims), read through a
//! short-lived cache: a pod sync reads each object at most once a TTL, which bounds the agent's
//! requests (50 QPS) while updates still reach running pods within seconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service};
use kube::{Api, Client};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use crate::error::kube_not_found;
use crate::ratelimit::RateLimiter;

type Slot<K> = Mutex<HashMap<(String, String), (Instant, Option<Arc<K>>)>>;
/// Namespace → when listed, the services.
type ServiceSlot = Mutex<HashMap<String, (Instant, Arc<Vec<Service>>)>>;

pub struct ApiCache {
    client: Client,
    limiter: Arc<RateLimiter>,
    ttl: Duration,
    configmaps: Slot<ConfigMap>,
    secrets: Slot<Secret>,
    services: ServiceSlot,
}

impl ApiCache {
    pub fn new(client: Client, limiter: Arc<RateLimiter>, ttl: Duration) -> ApiCache {
        ApiCache {
            client,
            limiter,
            ttl,
            configmaps: Mutex::new(HashMap::new()),
            secrets: Mutex::new(HashMap::new()),
            services: Mutex::new(HashMap::new()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    async fn get<K>(&self, slot: &Slot<K>, ns: &str, name: &str) -> Result<Option<Arc<K>>, String>
    where
        K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + DeserializeOwned
            + Clone
            + std::fmt::Debug,
    {
        let key = (ns.to_owned(), name.to_owned());
        if let Some((at, v)) = slot.lock().get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(v.clone());
        }
        self.limiter.acquire().await;
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let value = match api.get(name).await {
            Ok(o) => Some(Arc::new(o)),
            Err(e) if kube_not_found(&e) => None,
            Err(e) => return Err(format!("reading {} {ns}/{name}: {e}", K::kind(&()))),
        };
        slot.lock().insert(key, (Instant::now(), value.clone()));
        Ok(value)
    }

    pub async fn configmap(&self, ns: &str, name: &str) -> Result<Option<Arc<ConfigMap>>, String> {
        self.get(&self.configmaps, ns, name).await
    }

    pub async fn secret(&self, ns: &str, name: &str) -> Result<Option<Arc<Secret>>, String> {
        self.get(&self.secrets, ns, name).await
    }

    /// The services of a namespace (for the pods' service environment variables).
    pub async fn services(&self, ns: &str) -> Result<Arc<Vec<Service>>, String> {
        if let Some((at, v)) = self.services.lock().get(ns)
            && at.elapsed() < self.ttl * 4
        {
            return Ok(v.clone());
        }
        self.limiter.acquire().await;
        let api: Api<Service> = Api::namespaced(self.client.clone(), ns);
        let list = api.list(&Default::default()).await.map_err(|e| format!("listing services in {ns}: {e}"))?;
        let v = Arc::new(list.items);
        self.services.lock().insert(ns.to_owned(), (Instant::now(), v.clone()));
        Ok(v)
    }

    pub async fn claim(&self, ns: &str, name: &str) -> Result<Option<PersistentVolumeClaim>, String> {
        self.limiter.acquire().await;
        match Api::<PersistentVolumeClaim>::namespaced(self.client.clone(), ns).get(name).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if kube_not_found(&e) => Ok(None),
            Err(e) => Err(format!("reading PersistentVolumeClaim {ns}/{name}: {e}")),
        }
    }

    pub async fn volume(&self, name: &str) -> Result<Option<PersistentVolume>, String> {
        self.limiter.acquire().await;
        match Api::<PersistentVolume>::all(self.client.clone()).get(name).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if kube_not_found(&e) => Ok(None),
            Err(e) => Err(format!("reading PersistentVolume {name}: {e}")),
        }
    }
}
