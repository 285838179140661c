use super::*;
use crate::framework::Handle;
use crate::plugins::build_framework;

const CONFIG: &str = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
podMaxBackoffSeconds: 20
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  plugins:
    score:
      disabled:
      - name: NodeResourcesBalancedAllocation
      enabled:
      - name: NodeResourcesFit
        weight: 5
    multiPoint:
      disabled:
      - name: ImageLocality
  pluginConfig:
  - name: NodeResourcesFit
    args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeResourcesFitArgs
      scoringStrategy:
        type: MostAllocated
"#;

#[test]
fn profiles_plugins_weights_and_args() {
    let c = parse_config(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.profiles.len(), 2);
    assert_eq!(c.pod_initial_backoff_seconds, Some(1));
    assert_eq!(c.pod_max_backoff_seconds, Some(20));
    assert!(c.leader_elect());
    let handle = Handle::offline();
    let default = build_framework(&c.profiles[0], c.percentage_of_nodes_to_score, handle.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let names = |v: &[(std::sync::Arc<dyn crate::framework::Plugin>, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(p, w)| (p.name().to_string(), *w)).collect()
    };
    assert_eq!(
        names(&default.score),
        [
            ("TaintToleration", 3),
            ("NodeAffinity", 2),
            ("NodeResourcesFit", 1),
            ("VolumeBinding", 1),
            ("PodTopologySpread", 2),
            ("InterPodAffinity", 2),
            ("NodeResourcesBalancedAllocation", 1),
            ("ImageLocality", 1)
        ]
        .map(|(n, w)| (n.to_string(), w))
    );
    let filters: Vec<&str> = default.filter.iter().map(|p| p.name()).collect();
    assert_eq!(filters[..4], ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity"]);
    assert_eq!(default.percentage_of_nodes_to_score, Some(30));
    let packing = build_framework(&c.profiles[1], None, handle).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&packing.score),
        [
            ("NodeResourcesFit", 5),
            ("TaintToleration", 3),
            ("NodeAffinity", 2),
            ("VolumeBinding", 1),
            ("PodTopologySpread", 2),
            ("InterPodAffinity", 2)
        ]
        .map(|(n, w)| (n.to_string(), w))
    );
}

#[test]
fn invalid_configurations_are_refused() {
    let wrong_kind = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: Foo\n";
    assert!(matches!(parse_config(wrong_kind), Err(ConfigError::Decode { .. })));
    let unknown_field = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nbogus: 1\n";
    assert!(matches!(parse_config(unknown_field), Err(ConfigError::Decode { .. })));
    let dup = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: a\n- schedulerName: a\n";
    assert_eq!(
        parse_config(dup).err().map(|e| e.to_string()).as_deref(),
        Some("invalid KubeSchedulerConfiguration: profiles[1].schedulerName: Duplicate value: \"a\"")
    );
    let pct =
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npercentageOfNodesToScore: 101\n";
    assert!(matches!(parse_config(pct), Err(ConfigError::Invalid(_))));
    let unknown_plugin = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    filter:\n      enabled:\n      - name: Nope\n";
    let c = parse_config(unknown_plugin).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(build_framework(&c.profiles[0], None, Handle::offline()), Err(ConfigError::UnknownPlugin(_))));
    let bad_args = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- pluginConfig:\n  - name: PodTopologySpread\n    args:\n      defaultingType: Sometimes\n";
    let c = parse_config(bad_args).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(build_framework(&c.profiles[0], None, Handle::offline()), Err(ConfigError::PluginArgs { .. })));
}

#[test]
fn load_config_reads_a_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, CONFIG).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(load_config(&path).map(|c| c.profiles.len()).ok(), Some(2));
    assert!(matches!(load_config(dir.path().join("missing.yaml")), Err(ConfigError::Read { .. })));
}
