use super::*;
use crate::testing::PodBuilder;

#[test]
fn pod_resource_metrics_of_kep_1748() {
    let m = Metrics::default();
    let pod = PodBuilder::new("web")
        .req(&[("cpu", "250m"), ("memory", "64Mi")])
        .limits(&[("cpu", "1")])
        .node_name("n1")
        .priority(5)
        .info();
    m.set_pod(pod);
    let sidecar = PodBuilder::new("side")
        .req(&[("cpu", "100m")])
        .init_container(&[("cpu", "200m")], true)
        .pod_level_req(&[("memory", "1Gi")])
        .info();
    m.set_pod(sidecar);
    let out = m.render_resources();
    assert!(out.contains("# TYPE kube_pod_resource_request gauge"));
    assert!(out.contains(
        "kube_pod_resource_request{namespace=\"default\",node=\"n1\",pod=\"web\",priority=\"5\",resource=\"cpu\",scheduler=\"default-scheduler\",unit=\"cores\"} 0.25"
    ));
    assert!(out.contains("kube_pod_resource_request{namespace=\"default\",node=\"n1\",pod=\"web\",priority=\"5\",resource=\"memory\",scheduler=\"default-scheduler\",unit=\"bytes\"} 67108864"));
    assert!(out.contains("kube_pod_resource_limit{namespace=\"default\",node=\"n1\",pod=\"web\",priority=\"5\",resource=\"cpu\",scheduler=\"default-scheduler\",unit=\"cores\"} 1"));
    // Sidecar counted with the app container; pod-level memory applies.
    assert!(
        out.contains("pod=\"side\",priority=\"\",resource=\"cpu\",scheduler=\"default-scheduler\",unit=\"cores\"} 0.3")
    );
    assert!(out.contains(
        "pod=\"side\",priority=\"\",resource=\"memory\",scheduler=\"default-scheduler\",unit=\"bytes\"} 1073741824"
    ));
    m.remove_pod("uid-web");
    assert!(!m.render_resources().contains("pod=\"web\""));
}

#[test]
fn scheduler_metrics_render() {
    let m = Metrics::default();
    m.set_pending(3, 2, 1, 4);
    m.observe_attempt("scheduled", "default-scheduler", Duration::from_millis(3));
    m.observe_scheduled(2, Duration::from_millis(40));
    let out = m.render();
    assert!(out.contains("scheduler_pending_pods{queue=\"active\"} 3"));
    assert!(out.contains("scheduler_pending_pods{queue=\"gated\"} 4"));
    assert!(out.contains("scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"} 1"));
    assert!(out.contains("scheduler_scheduling_attempt_duration_seconds_bucket{profile=\"default-scheduler\",result=\"scheduled\",le=\"0.004\"} 1"));
    assert!(out.contains("scheduler_pod_scheduling_sli_duration_seconds_count{attempts=\"2\"} 1"));
    assert_eq!(m.scheduled_pods(), 1);
}
