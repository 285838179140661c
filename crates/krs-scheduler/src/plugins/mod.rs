//! The in-tree plugins (`plugins.NewInTreeRegistry`), one module each, and the construction of a
//! profile's `Framework` from its configuration (`frameworkruntime.NewFramework`).

pub mod default_binder;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources;
pub mod node_unschedulable;
pub mod node_volume_limits;
pub mod pod_topology_spread;
pub mod priority_sort;
pub mod scheduling_gates;
pub mod taint_toleration;
pub mod volume_binding;
pub mod volume_restrictions;
pub mod volume_zone;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::config::{ConfigError, ExtensionPoint, PluginEntry, Profile};
use crate::framework::{Framework, Handle, Plugin};

/// Plugins with their score weights.
type Weighted = Vec<(Arc<dyn Plugin>, i64)>;

/// Decodes a plugin's args; absent args give the defaults.
fn args<T: DeserializeOwned + Default>(plugin: &str, value: Option<&serde_json::Value>) -> Result<T, ConfigError> {
    let Some(v) = value else { return Ok(T::default()) };
    let mut v = v.clone();
    // Args may carry their own apiVersion and kind (`NodeResourcesFitArgs`); they are not fields.
    if let Some(o) = v.as_object_mut() {
        o.remove("apiVersion");
        o.remove("kind");
    }
    serde_json::from_value(v)
        .map_err(|e| ConfigError::PluginArgs { plugin: plugin.to_string(), message: e.to_string() })
}

/// Instantiates one in-tree plugin by name.
pub fn new_plugin(
    name: &str,
    a: Option<&serde_json::Value>,
    handle: &Arc<Handle>,
) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(match name {
        priority_sort::NAME => Arc::new(priority_sort::PrioritySort),
        scheduling_gates::NAME => Arc::new(scheduling_gates::SchedulingGates),
        node_unschedulable::NAME => Arc::new(node_unschedulable::NodeUnschedulable),
        node_name::NAME => Arc::new(node_name::NodeName),
        taint_toleration::NAME => Arc::new(taint_toleration::TaintToleration),
        node_affinity::NAME => Arc::new(node_affinity::NodeAffinity::new(args(name, a)?)),
        node_ports::NAME => Arc::new(node_ports::NodePorts),
        node_resources::FIT_NAME => Arc::new(node_resources::Fit::new(args(name, a)?)),
        node_resources::BALANCED_ALLOCATION_NAME => Arc::new(node_resources::BalancedAllocation::new(args(name, a)?)),
        image_locality::NAME => Arc::new(image_locality::ImageLocality),
        default_binder::NAME => Arc::new(default_binder::DefaultBinder::new(handle.client.clone())),
        pod_topology_spread::NAME => {
            Arc::new(pod_topology_spread::PodTopologySpread::new(args(name, a)?, handle.clone())?)
        }
        inter_pod_affinity::NAME => Arc::new(inter_pod_affinity::InterPodAffinity::new(args(name, a)?, handle.clone())),
        default_preemption::NAME => {
            Arc::new(default_preemption::DefaultPreemption::new(args(name, a)?, handle.clone()))
        }
        volume_binding::NAME => Arc::new(volume_binding::VolumeBinding::new(args(name, a)?, handle.clone())),
        volume_restrictions::NAME => Arc::new(volume_restrictions::VolumeRestrictions::new(handle.clone())),
        volume_zone::NAME => Arc::new(volume_zone::VolumeZone::new(handle.clone())),
        node_volume_limits::NAME => Arc::new(node_volume_limits::NodeVolumeLimits::new(handle.clone())),
        other => return Err(ConfigError::UnknownPlugin(format!("plugin \"{other}\""))),
    })
}

fn implements(p: &dyn Plugin, point: ExtensionPoint) -> bool {
    match point {
        ExtensionPoint::PreEnqueue => p.as_pre_enqueue().is_some(),
        ExtensionPoint::QueueSort => p.as_queue_sort().is_some(),
        ExtensionPoint::PreFilter => p.as_pre_filter().is_some(),
        ExtensionPoint::Filter => p.as_filter().is_some(),
        ExtensionPoint::PostFilter => p.as_post_filter().is_some(),
        ExtensionPoint::PreScore => p.as_pre_score().is_some(),
        ExtensionPoint::Score => p.as_score().is_some(),
        ExtensionPoint::Reserve => p.as_reserve().is_some(),
        ExtensionPoint::Permit => p.as_permit().is_some(),
        ExtensionPoint::PreBind => p.as_pre_bind().is_some(),
        ExtensionPoint::Bind => p.as_bind().is_some(),
        ExtensionPoint::PostBind => p.as_post_bind().is_some(),
    }
}

const POINTS: [ExtensionPoint; 12] = [
    ExtensionPoint::PreEnqueue,
    ExtensionPoint::QueueSort,
    ExtensionPoint::PreFilter,
    ExtensionPoint::Filter,
    ExtensionPoint::PostFilter,
    ExtensionPoint::PreScore,
    ExtensionPoint::Score,
    ExtensionPoint::Reserve,
    ExtensionPoint::Permit,
    ExtensionPoint::PreBind,
    ExtensionPoint::Bind,
    ExtensionPoint::PostBind,
];

/// Builds a profile's framework: instantiates each enabled plugin once, then lists it at every
/// point it implements (`expandMultiPointPlugins`): plugins configured at the point itself that
/// override a multiPoint plugin first, then the other multiPoint plugins, then the rest.
pub fn build_framework(
    profile: &Profile,
    global_percentage: Option<i32>,
    handle: Arc<Handle>,
) -> Result<Framework, ConfigError> {
    let plugins = profile.expand();
    let mut instances: HashMap<String, Arc<dyn Plugin>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let all_entries =
        plugins.multi_point.enabled.iter().chain(POINTS.iter().flat_map(|p| plugins.point(*p).enabled.iter()));
    for e in all_entries {
        if !instances.contains_key(&e.name) {
            instances.insert(e.name.clone(), new_plugin(&e.name, profile.plugin_args(&e.name), &handle)?);
            order.push(e.name.clone());
        }
    }
    let mut per_point: HashMap<ExtensionPoint, Weighted> = HashMap::new();
    for point in POINTS {
        let set = plugins.point(point);
        let disabled: HashSet<&str> = set.disabled.iter().map(|p| p.name.as_str()).collect();
        let specific: Vec<&PluginEntry> = set.enabled.iter().collect();
        let mut overrides: Vec<&PluginEntry> = Vec::new();
        let mut multi: Vec<&PluginEntry> = Vec::new();
        if !disabled.contains("*") {
            for e in &plugins.multi_point.enabled {
                let Some(p) = instances.get(&e.name) else { continue };
                if !implements(p.as_ref(), point) || disabled.contains(e.name.as_str()) {
                    continue;
                }
                if let Some(s) = specific.iter().find(|s| s.name == e.name) {
                    overrides.push(s);
                    continue;
                }
                if multi.iter().any(|m| m.name == e.name) {
                    return Err(ConfigError::Invalid(format!("plugin {:?} already registered as {:?}", e.name, point)));
                }
                multi.push(e);
            }
        }
        let mut list: Vec<(Arc<dyn Plugin>, i64)> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for e in overrides.into_iter().chain(multi).chain(specific.iter().copied()) {
            if !seen.insert(e.name.as_str()) {
                continue;
            }
            let Some(p) = instances.get(&e.name) else { continue };
            if !implements(p.as_ref(), point) {
                return Err(ConfigError::Invalid(format!("plugin {:?} does not extend {point:?} plugin", e.name)));
            }
            // A score weight from multiPoint applies unless the Score point sets its own.
            let weight = e
                .weight
                .or_else(|| plugins.multi_point.enabled.iter().find(|m| m.name == e.name).and_then(|m| m.weight))
                .filter(|w| *w != 0)
                .unwrap_or(1);
            list.push((p.clone(), i64::from(weight)));
        }
        per_point.insert(point, list);
    }
    let score = per_point.remove(&ExtensionPoint::Score).unwrap_or_default();
    let mut take = |p: ExtensionPoint| -> Vec<Arc<dyn Plugin>> {
        per_point.remove(&p).unwrap_or_default().into_iter().map(|(p, _)| p).collect()
    };
    let queue_sort = take(ExtensionPoint::QueueSort);
    if queue_sort.len() > 1 {
        return Err(ConfigError::Invalid("only one queue sort plugin can be enabled".into()));
    }
    let fw = Framework {
        profile_name: profile.scheduler_name.clone().unwrap_or_default(),
        percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score.or(global_percentage),
        pre_enqueue: take(ExtensionPoint::PreEnqueue),
        queue_sort: queue_sort.into_iter().next(),
        pre_filter: take(ExtensionPoint::PreFilter),
        filter: take(ExtensionPoint::Filter),
        post_filter: take(ExtensionPoint::PostFilter),
        pre_score: take(ExtensionPoint::PreScore),
        score,
        reserve: take(ExtensionPoint::Reserve),
        permit: take(ExtensionPoint::Permit),
        pre_bind: take(ExtensionPoint::PreBind),
        bind: take(ExtensionPoint::Bind),
        post_bind: take(ExtensionPoint::PostBind),
        all: order.iter().filter_map(|n| instances.get(n).cloned()).collect(),
        handle,
    };
    if fw.bind.is_empty() {
        return Err(ConfigError::Invalid("at least one bind plugin is needed".into()));
    }
    if fw.queue_sort.is_none() {
        return Err(ConfigError::Invalid("one queue sort plugin required for profile".into()));
    }
    Ok(fw)
}
