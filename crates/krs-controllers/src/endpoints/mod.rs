//! The Endpoints controller: one Endpoints object per Service with a selector, listing the
//! selected pods' addresses (ready, or not ready) per port set, named ports resolved per pod.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service, ServicePort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, PostParams};

use crate::Error;
use crate::controller_utils::pod::{is_not_found, is_pod_ready, phase};
use crate::controller_utils::run_workers;
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "endpoints-controller";
/// Upstream's maxCapacity: addresses past this are truncated.
const MAX_CAPACITY: usize = 1000;
const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The port a service port reaches on `pod`: a number, or a container port looked up by name
/// and protocol (upstream's FindPort).
pub fn find_port(pod: &Pod, sp: &ServicePort) -> Option<i32> {
    match sp.target_port.as_ref() {
        None => Some(sp.port),
        Some(IntOrString::Int(p)) => Some(*p),
        Some(IntOrString::String(name)) => {
            let proto = sp.protocol.as_deref().unwrap_or("TCP");
            let spec = pod.spec.as_ref()?;
            spec.containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
                .flat_map(|c| c.ports.iter().flatten())
                .find_map(|p| {
                    (p.name.as_deref() == Some(name.as_str()) && p.protocol.as_deref().unwrap_or("TCP") == proto)
                        .then_some(p.container_port)
                })
        }
    }
}

/// Whether `pod` belongs in the service's endpoints (ShouldPodBeInEndpoints).
pub fn include_pod(pod: &Pod, include_terminating: bool) -> bool {
    if matches!(phase(pod), "Succeeded" | "Failed") {
        return false;
    }
    if pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()).is_none_or(str::is_empty) {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The pod's hostname in the service's DNS, when it is a headless service's subdomain.
pub fn pod_hostname(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.clone()?;
    (spec.subdomain.as_deref() == svc.metadata.name.as_deref() && is_headless(svc)).then_some(hostname)
}

pub fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// The services in `pod`'s namespace whose selector matches it.
pub fn services_selecting(services: &Informer<Service>, pod: &Pod) -> Vec<String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    services
        .list_namespace(ns)
        .into_iter()
        .filter(|s| {
            s.spec
                .as_ref()
                .and_then(|sp| sp.selector.as_ref())
                .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
        })
        .map(|s| key_of(s.as_ref()))
        .collect()
}

/// Queues the services selecting a pod that changed (before and after the change).
pub fn pod_handler(services: Arc<Informer<Service>>, queue: WorkQueue) -> impl Fn(&Event<Pod>) + Send + Sync {
    move |e| match e {
        Event::Added(p) | Event::Deleted(p) => services_selecting(&services, p).into_iter().for_each(|k| queue.add(k)),
        Event::Updated { old, new } => {
            if old.metadata.resource_version == new.metadata.resource_version {
                return;
            }
            let mut keys = services_selecting(&services, new);
            if old.metadata.labels != new.metadata.labels {
                keys.extend(services_selecting(&services, old));
            }
            keys.into_iter().for_each(|k| queue.add(k));
        }
    }
}

struct Controller {
    client: kube::Client,
    services: Arc<Informer<Service>>,
    pods: Arc<Informer<Pod>>,
    endpoints: Arc<Informer<Endpoints>>,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("endpoint");
    let c = Arc::new(Controller {
        client: ctx.client.clone(),
        services: ctx.factory.informer::<Service>(),
        pods: ctx.factory.informer::<Pod>(),
        endpoints: ctx.factory.informer::<Endpoints>(),
    });
    {
        let q = queue.clone();
        c.services.add_handler(move |e| match e {
            Event::Added(s) | Event::Deleted(s) | Event::Updated { new: s, .. } => q.add(key_of(s.as_ref())),
        });
    }
    c.pods.add_handler(pod_handler(c.services.clone(), queue.clone()));
    {
        let q = queue.clone();
        let services = c.services.clone();
        // Someone edited or removed an Endpoints we manage: put it back.
        c.endpoints.add_handler(move |e| {
            if let Event::Deleted(ep) | Event::Updated { new: ep, .. } = e
                && services.get_key(&key_of(ep.as_ref())).is_some()
            {
                q.add(key_of(ep.as_ref()));
            }
        });
    }
    let workers = ctx.options.concurrent_endpoint_syncs;
    Started {
        queues: vec![queue.clone()],
        run: Box::new(move || {
            run_workers(
                NAME,
                queue,
                workers,
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.sync(&key).await })
                }),
            )
        }),
    }
}

impl Controller {
    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or("default");
        let api: Api<Endpoints> = Api::namespaced(self.client.clone(), ns);
        let Some(svc) = self.services.get(Some(ns), name) else {
            return match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e) => Ok(()),
                Err(e) => Err(e.into()),
            };
        };
        let spec = svc.spec.clone().unwrap_or_default();
        let Some(selector) = spec.selector.clone().filter(|s| !s.is_empty()) else { return Ok(()) };
        if spec.type_.as_deref() == Some("ExternalName") {
            return Ok(());
        }
        let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
        // Subsets keyed by their port list, so pods with the same ports share one.
        let mut subsets: BTreeMap<String, SubsetParts> = BTreeMap::new();
        let mut total = 0usize;
        let mut pods: Vec<Arc<Pod>> = self
            .pods
            .list_namespace(ns)
            .into_iter()
            .filter(|p| {
                let labels = p.metadata.labels.clone().unwrap_or_default();
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .collect();
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for pod in pods.iter().filter(|p| include_pod(p, publish_not_ready)) {
            let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default();
            let addr = EndpointAddress {
                ip,
                hostname: pod_hostname(pod, &svc),
                node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                target_ref: Some(pod_reference(pod)),
            };
            let ready = publish_not_ready || is_pod_ready(pod);
            let ports: Vec<EndpointPort> = spec
                .ports
                .iter()
                .flatten()
                .filter_map(|sp| {
                    find_port(pod, sp).map(|port| EndpointPort {
                        name: sp.name.clone(),
                        port,
                        protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                        app_protocol: sp.app_protocol.clone(),
                    })
                })
                .collect();
            if spec.ports.as_ref().is_some_and(|p| !p.is_empty()) && ports.is_empty() {
                continue;
            }
            total += 1;
            if total > MAX_CAPACITY {
                continue;
            }
            let key = serde_json::to_string(&ports).unwrap_or_default();
            let entry = subsets.entry(key).or_insert_with(|| (ports, Vec::new(), Vec::new()));
            if ready { entry.1.push(addr) } else { entry.2.push(addr) }
        }
        let subsets: Vec<EndpointSubset> = subsets
            .into_values()
            .map(|(ports, ready, not_ready)| EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then_some(ports),
            })
            .collect();
        let mut labels = svc.metadata.labels.clone().unwrap_or_default();
        if is_headless(&svc) {
            labels.insert(HEADLESS_LABEL.into(), String::new());
        } else {
            labels.remove(HEADLESS_LABEL);
        }
        let over = total > MAX_CAPACITY;
        let existing = self.endpoints.get(Some(ns), name);
        let subsets = (!subsets.is_empty()).then_some(subsets);
        if let Some(ep) = &existing {
            let annotated = ep.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(OVER_CAPACITY));
            if ep.subsets == subsets && ep.metadata.labels.clone().unwrap_or_default() == labels && annotated == over {
                return Ok(());
            }
        }
        let mut ep = existing.map(|e| (*e).clone()).unwrap_or_else(|| Endpoints {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), ..Default::default() },
            subsets: None,
        });
        ep.subsets = subsets;
        ep.metadata.labels = Some(labels);
        let annotations = ep.metadata.annotations.get_or_insert_with(BTreeMap::new);
        if over {
            annotations.insert(OVER_CAPACITY.into(), "truncated".into());
        } else {
            annotations.remove(OVER_CAPACITY);
        }
        let r = if ep.metadata.resource_version.is_some() {
            api.replace(name, &PostParams::default(), &ep).await
        } else {
            api.create(&PostParams::default(), &ep).await
        };
        match r {
            Ok(_) => Ok(()),
            // Our cache lags: retry with fresh data.
            Err(e) => Err(e.into()),
        }
    }
}

/// One subset being built: its ports, ready addresses and not-ready addresses.
type SubsetParts = (Vec<EndpointPort>, Vec<EndpointAddress>, Vec<EndpointAddress>);
