//! The default plugins (`getDefaultPlugins`) and the merge of a profile's plugins with them
//! (`mergePlugins`).

use std::collections::HashSet;

use super::types::{PluginEntry, PluginSet, Plugins, Profile};

pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// The default profile: every default plugin enabled through multiPoint, with upstream's
/// order and score weights.
pub fn default_plugins() -> Plugins {
    let e = PluginEntry::new;
    Plugins {
        multi_point: PluginSet {
            enabled: vec![
                e("SchedulingGates", None),
                e("PrioritySort", None),
                e("NodeUnschedulable", None),
                e("NodeName", None),
                e("TaintToleration", Some(3)),
                e("NodeAffinity", Some(2)),
                e("NodePorts", None),
                e("NodeResourcesFit", Some(1)),
                e("VolumeRestrictions", None),
                e("NodeVolumeLimits", None),
                e("VolumeBinding", None),
                e("VolumeZone", None),
                e("PodTopologySpread", Some(2)),
                e("InterPodAffinity", Some(2)),
                e("DefaultPreemption", None),
                e("NodeResourcesBalancedAllocation", Some(1)),
                e("ImageLocality", Some(1)),
                e("DefaultBinder", None),
            ],
            disabled: vec![],
        },
        ..Default::default()
    }
}

/// Merges a custom plugin set into the defaults (`mergePluginSet`): disabled defaults (or "*")
/// are dropped, re-configured defaults keep their position, other custom plugins are appended.
fn merge_set(default: &PluginSet, custom: &PluginSet) -> PluginSet {
    let disabled: HashSet<&str> = custom.disabled.iter().map(|p| p.name.as_str()).collect();
    let mut replaced = HashSet::new();
    let mut enabled = Vec::new();
    if !disabled.contains("*") {
        for d in &default.enabled {
            if disabled.contains(d.name.as_str()) {
                continue;
            }
            match custom.enabled.iter().position(|c| c.name == d.name) {
                Some(i) => {
                    replaced.insert(i);
                    enabled.push(custom.enabled[i].clone());
                }
                None => enabled.push(d.clone()),
            }
        }
    }
    for (i, c) in custom.enabled.iter().enumerate() {
        if !replaced.contains(&i) {
            enabled.push(c.clone());
        }
    }
    PluginSet { enabled, disabled: custom.disabled.clone() }
}

impl Profile {
    /// The profile's plugins merged with the defaults.
    pub fn expand(&self) -> Plugins {
        let d = default_plugins();
        let c = self.plugins.clone().unwrap_or_default();
        Plugins {
            pre_enqueue: merge_set(&d.pre_enqueue, &c.pre_enqueue),
            queue_sort: merge_set(&d.queue_sort, &c.queue_sort),
            pre_filter: merge_set(&d.pre_filter, &c.pre_filter),
            filter: merge_set(&d.filter, &c.filter),
            post_filter: merge_set(&d.post_filter, &c.post_filter),
            pre_score: merge_set(&d.pre_score, &c.pre_score),
            score: merge_set(&d.score, &c.score),
            reserve: merge_set(&d.reserve, &c.reserve),
            permit: merge_set(&d.permit, &c.permit),
            pre_bind: merge_set(&d.pre_bind, &c.pre_bind),
            bind: merge_set(&d.bind, &c.bind),
            post_bind: merge_set(&d.post_bind, &c.post_bind),
            multi_point: merge_set(&d.multi_point, &c.multi_point),
        }
    }

    /// The args configured for a plugin.
    pub fn plugin_args(&self, name: &str) -> Option<&serde_json::Value> {
        self.plugin_config.iter().find(|c| c.name == name).and_then(|c| c.args.as_ref())
    }
}
