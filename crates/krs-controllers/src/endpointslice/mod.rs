//! The EndpointSlice controller: for each Service with a selector, EndpointSlices of at most
//! --max-endpoints-per-slice endpoints per address type and port mapping (named ports resolve
//! per pod), with ready/serving/terminating conditions, zones, and hints from the Service's
//! trafficDistribution. Endpoints stay in the slice they are in while they exist, so a change
//! rewrites as few slices as possible.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{
    Endpoint, EndpointConditions, EndpointHints, EndpointPort, EndpointSlice, ForNode, ForZone,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};

use crate::Error;
use crate::controller_utils::pod::{controller_ref, is_not_found, is_pod_ready};
use crate::controller_utils::run_workers;
use crate::endpoints::{HEADLESS_LABEL, find_port, include_pod, is_headless, pod_handler, pod_hostname, pod_reference};
use crate::informer::{Event, Informer, key_of, split_key};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

mod tracker;

const NAME: &str = "endpointslice-controller";
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

struct Controller {
    client: kube::Client,
    services: Arc<Informer<Service>>,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    slices: Arc<Informer<EndpointSlice>>,
    max_per_slice: usize,
    tracker: Arc<tracker::Tracker>,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("endpoint_slice");
    let c = Arc::new(Controller {
        client: ctx.client.clone(),
        services: ctx.factory.informer::<Service>(),
        pods: ctx.factory.informer::<Pod>(),
        nodes: ctx.factory.informer::<Node>(),
        slices: ctx.factory.informer::<EndpointSlice>(),
        max_per_slice: ctx.options.max_endpoints_per_slice.max(1),
        tracker: Arc::default(),
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
        let tracker = c.tracker.clone();
        // Edited or deleted by someone else: reconcile the service again.
        c.slices.add_handler(move |e| {
            let (s, gone) = match e {
                Event::Added(s) | Event::Updated { new: s, .. } => (s, false),
                Event::Deleted(s) => (s, true),
            };
            let labels = s.metadata.labels.clone().unwrap_or_default();
            if labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY)
                && let Some(svc) = labels.get(SERVICE_NAME_LABEL)
            {
                let key = format!("{}/{svc}", s.metadata.namespace.clone().unwrap_or_default());
                if gone {
                    tracker.observed_deletion(&key, s.metadata.name.as_deref().unwrap_or_default());
                }
                q.add(key);
            }
        });
    }
    {
        let q = queue.clone();
        let services = c.services.clone();
        // A node's zone changed: every service's endpoints may carry it.
        c.nodes.add_handler(move |e| {
            if let Event::Updated { old, new } = e
                && old.metadata.labels.as_ref().and_then(|l| l.get(ZONE_LABEL))
                    != new.metadata.labels.as_ref().and_then(|l| l.get(ZONE_LABEL))
            {
                for s in services.list() {
                    q.add(key_of(s.as_ref()));
                }
            }
        });
    }
    let workers = ctx.options.concurrent_service_endpoint_syncs;
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

/// One group of slices: an address type and a port mapping.
type GroupKey = (String, String);

fn group_key(s: &EndpointSlice) -> GroupKey {
    (s.address_type.clone(), serde_json::to_string(&s.ports.clone().unwrap_or_default()).unwrap_or_default())
}

fn endpoint_key(e: &Endpoint) -> String {
    e.target_ref.as_ref().and_then(|r| r.uid.clone()).unwrap_or_else(|| e.addresses.join(","))
}

impl Controller {
    async fn sync(&self, key: &str) -> Result<(), Error> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or("default");
        let existing: Vec<Arc<EndpointSlice>> = self
            .slices
            .list_namespace(ns)
            .into_iter()
            .filter(|s| {
                let l = s.metadata.labels.clone().unwrap_or_default();
                l.get(SERVICE_NAME_LABEL).map(String::as_str) == Some(name)
                    && l.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY)
            })
            .collect();
        if self.tracker.stale(key, &existing) {
            // Our last writes are not in the cache yet: retried after a backoff.
            return Err(Error::StaleCache(format!("endpoint slices of service {key} not yet observed")));
        }
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), ns);
        let svc = self.services.get(Some(ns), name);
        let selector =
            svc.as_ref().and_then(|s| s.spec.as_ref()).and_then(|s| s.selector.clone()).filter(|s| !s.is_empty());
        let (Some(svc), Some(selector)) = (svc, selector) else {
            // No service, or not one we manage: its slices go (the garbage collector would
            // also remove them through their owner reference).
            for s in existing {
                delete(&api, &s).await?;
                self.tracker.deleted(key, s.metadata.name.as_deref().unwrap_or_default());
            }
            return Ok(());
        };
        let desired = self.desired(&svc, &selector, ns);
        let labels = slice_labels(&svc);
        // Existing slices by group, endpoints kept in place when still desired.
        let mut by_group: BTreeMap<GroupKey, Vec<EndpointSlice>> = BTreeMap::new();
        for s in &existing {
            by_group.entry(group_key(s)).or_default().push((**s).clone());
        }
        let mut writes: Vec<(Option<EndpointSlice>, EndpointSlice)> = Vec::new();
        let mut deletes: Vec<EndpointSlice> = Vec::new();
        let mut all_groups: Vec<GroupKey> = desired.keys().cloned().collect();
        all_groups.extend(by_group.keys().cloned());
        all_groups.sort();
        all_groups.dedup();
        let placeholder_needed = desired.is_empty();
        for g in all_groups {
            let (ports, mut wanted) = desired.get(&g).cloned().unwrap_or_default();
            let slices = by_group.remove(&g).unwrap_or_default();
            let mut placed: Vec<(EndpointSlice, Vec<Endpoint>)> = Vec::new();
            for s in slices {
                let mut keep = Vec::new();
                for e in s.endpoints.iter() {
                    if let Some(new) = wanted.remove(&endpoint_key(e)) {
                        keep.push(new);
                    }
                }
                placed.push((s, keep));
            }
            // Fill slices with room, then new ones.
            let mut rest: Vec<Endpoint> = wanted.into_values().collect();
            for (_, eps) in placed.iter_mut() {
                while eps.len() < self.max_per_slice
                    && let Some(e) = rest.pop()
                {
                    eps.push(e);
                }
            }
            while !rest.is_empty() {
                let take = rest.len().min(self.max_per_slice);
                let eps: Vec<Endpoint> = rest.drain(..take).collect();
                let s = EndpointSlice {
                    metadata: ObjectMeta {
                        generate_name: Some(format!("{name}-")),
                        namespace: Some(ns.into()),
                        owner_references: Some(vec![controller_ref(svc.as_ref())]),
                        ..Default::default()
                    },
                    address_type: g.0.clone(),
                    endpoints: Vec::new(),
                    ports: ports.clone(),
                };
                placed.push((s, eps));
            }
            for (mut s, mut eps) in placed {
                if eps.is_empty() && s.metadata.resource_version.is_some() {
                    deletes.push(s);
                    continue;
                }
                eps.sort_by_key(endpoint_key);
                let changed = s.endpoints != eps
                    || s.metadata.labels.as_ref() != Some(&labels)
                    || s.metadata.resource_version.is_none();
                if changed {
                    let old = s.metadata.resource_version.is_some().then(|| s.clone());
                    s.endpoints = eps;
                    s.metadata.labels = Some(labels.clone());
                    writes.push((old, s));
                }
            }
        }
        if placeholder_needed {
            // A service with a selector always has a slice, even an empty one.
            if let Some(keep) = deletes.pop() {
                let mut s = keep.clone();
                s.endpoints = Vec::new();
                s.ports = None;
                if s.metadata.labels.as_ref() != Some(&labels) || !keep.endpoints.is_empty() || keep.ports.is_some() {
                    s.metadata.labels = Some(labels.clone());
                    writes.push((Some(keep), s));
                }
            } else if existing.is_empty() {
                writes.push((
                    None,
                    EndpointSlice {
                        metadata: ObjectMeta {
                            generate_name: Some(format!("{name}-")),
                            namespace: Some(ns.into()),
                            owner_references: Some(vec![controller_ref(svc.as_ref())]),
                            labels: Some(labels.clone()),
                            ..Default::default()
                        },
                        address_type: address_types(&svc).first().cloned().unwrap_or_else(|| "IPv4".into()),
                        endpoints: Vec::new(),
                        ports: None,
                    },
                ));
            }
        }
        for (old, s) in writes {
            match old {
                Some(_) => {
                    let n = s.metadata.name.clone().unwrap_or_default();
                    let written = api.replace(&n, &PostParams::default(), &s).await?;
                    self.tracker.wrote(key, &written);
                }
                None => {
                    let written = api.create(&PostParams::default(), &s).await?;
                    self.tracker.wrote(key, &written);
                }
            }
        }
        for s in deletes {
            delete(&api, &s).await?;
            self.tracker.deleted(key, s.metadata.name.as_deref().unwrap_or_default());
        }
        Ok(())
    }

    /// The endpoints the service should have, by group, keyed by pod UID.
    fn desired(
        &self,
        svc: &Service,
        selector: &BTreeMap<String, String>,
        ns: &str,
    ) -> BTreeMap<GroupKey, DesiredGroup> {
        let spec = svc.spec.clone().unwrap_or_default();
        let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
        let traffic = spec.traffic_distribution.clone();
        let mut out: BTreeMap<GroupKey, DesiredGroup> = BTreeMap::new();
        let families = address_types(svc);
        for pod in self.pods.list_namespace(ns) {
            let labels = pod.metadata.labels.clone().unwrap_or_default();
            if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) || !include_pod(&pod, true) {
                continue;
            }
            let ports: Vec<EndpointPort> = spec
                .ports
                .iter()
                .flatten()
                .filter_map(|sp| {
                    find_port(&pod, sp).map(|port| EndpointPort {
                        name: Some(sp.name.clone().unwrap_or_default()),
                        port: Some(port),
                        protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                        app_protocol: sp.app_protocol.clone(),
                    })
                })
                .collect();
            let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
            let zone = node
                .as_deref()
                .and_then(|n| self.nodes.get(None, n))
                .and_then(|n| n.metadata.labels.as_ref()?.get(ZONE_LABEL).cloned());
            let terminating = pod.metadata.deletion_timestamp.is_some();
            let serving = publish_not_ready || is_pod_ready(&pod);
            let ips: Vec<String> = pod
                .status
                .as_ref()
                .and_then(|s| {
                    s.pod_ips
                        .as_ref()
                        .map(|ips| ips.iter().map(|i| i.ip.clone()).collect::<Vec<_>>())
                        .or_else(|| s.pod_ip.clone().map(|i| vec![i]))
                })
                .unwrap_or_default();
            for family in &families {
                let Some(ip) = ips.iter().find(|ip| (family == "IPv6") == ip.contains(':')) else { continue };
                let hints = match traffic.as_deref() {
                    Some("PreferClose" | "PreferSameZone") => zone
                        .clone()
                        .map(|z| EndpointHints { for_zones: Some(vec![ForZone { name: z }]), for_nodes: None }),
                    Some("PreferSameNode") => node.clone().map(|n| EndpointHints {
                        for_nodes: Some(vec![ForNode { name: n }]),
                        for_zones: zone.clone().map(|z| vec![ForZone { name: z }]),
                    }),
                    _ => None,
                };
                let e = Endpoint {
                    addresses: vec![ip.clone()],
                    conditions: Some(EndpointConditions {
                        ready: Some(serving && !terminating),
                        serving: Some(serving),
                        terminating: Some(terminating),
                    }),
                    hostname: pod_hostname(&pod, svc),
                    node_name: node.clone(),
                    zone: zone.clone(),
                    target_ref: Some(pod_reference(&pod)),
                    hints,
                    deprecated_topology: None,
                };
                let ports_opt = (!ports.is_empty()).then(|| ports.clone());
                let key =
                    (family.clone(), serde_json::to_string(&ports_opt.clone().unwrap_or_default()).unwrap_or_default());
                let entry = out.entry(key).or_insert_with(|| (ports_opt, BTreeMap::new()));
                entry.1.insert(endpoint_key(&e), e);
            }
        }
        // Hints are all or nothing: if any endpoint lacks a zone, none get zone hints.
        for (_, eps) in out.values_mut() {
            if eps.values().any(|e| e.hints.as_ref().is_some_and(|h| h.for_zones.is_some()) && e.zone.is_none())
                || eps.values().any(|e| e.zone.is_none() && traffic.is_some())
            {
                for e in eps.values_mut() {
                    e.hints = None;
                }
            }
        }
        out
    }
}

fn address_types(svc: &Service) -> Vec<String> {
    svc.spec
        .as_ref()
        .and_then(|s| s.ip_families.clone())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| vec!["IPv4".into()])
}

fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.into(), svc.metadata.name.clone().unwrap_or_default());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

async fn delete(api: &Api<EndpointSlice>, s: &EndpointSlice) -> Result<(), Error> {
    match api.delete(s.metadata.name.as_deref().unwrap_or_default(), &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The endpoints of one slice group: its ports and its endpoints keyed by pod UID.
type DesiredGroup = (Option<Vec<EndpointPort>>, BTreeMap<String, Endpoint>);
