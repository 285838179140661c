//! ImageLocality: prefers nodes that already have the pod's container images, weighted by the
//! image size and by how widely the image is spread (so one node does not attract everything).

use std::collections::HashMap;
use std::sync::Arc;

use crate::cache::Snapshot;
use crate::framework::types::normalized_image_name;
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, NodeSet, Plugin, PodInfo, PreScorePlugin, ScorePlugin, Status,
};

pub const NAME: &str = "ImageLocality";
const PRE_SCORE_STATE_KEY: &str = "PreScoreImageLocality";

const MB: i64 = 1024 * 1024;
/// Below this sum the score is 0 (`minThreshold`).
const MIN_THRESHOLD: i64 = 23 * MB;
/// Per container, above this the score is 100 (`maxContainerThreshold`).
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

pub struct ImageLocality;

/// The pod's images (normalized) with their spread over the nodes, and the container count.
#[derive(Clone)]
struct PreScoreState {
    images: Arc<Vec<(String, f64)>>,
    containers: usize,
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn node_local(&self) -> bool {
        true
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for ImageLocality {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _nodes: NodeSet<'_>, snapshot: &Snapshot) -> Status {
        let Some(spec) = pod.pod.spec.as_ref() else { return Status::skip() };
        let total = snapshot.num_nodes().max(1) as f64;
        let mut spread: HashMap<String, f64> = HashMap::new();
        let mut images = Vec::new();
        let containers: Vec<_> = spec.init_containers.iter().flatten().chain(spec.containers.iter()).collect();
        for c in &containers {
            let Some(image) = c.image.as_deref() else { continue };
            let name = normalized_image_name(image);
            let s = *spread
                .entry(name.clone())
                .or_insert_with(|| snapshot.image_num_nodes.get(&name).copied().unwrap_or(0) as f64 / total);
            images.push((name, s));
        }
        state.write(PRE_SCORE_STATE_KEY, PreScoreState { images: Arc::new(images), containers: containers.len() });
        Status::success()
    }
}

impl ScorePlugin for ImageLocality {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<PreScoreState>(PRE_SCORE_STATE_KEY) else {
            return Err(Status::error(format!("reading {PRE_SCORE_STATE_KEY} from cycleState: not found")));
        };
        if node.images.is_empty() || s.containers == 0 {
            return Ok(0);
        }
        let sum: i64 = s
            .images
            .iter()
            .filter_map(|(name, spread)| node.images.get(name).map(|i| (i.size as f64 * spread) as i64))
            .sum();
        Ok(calculate_priority(sum, s.containers))
    }
}

/// Maps the sum of scaled image sizes to 0..=100 between the thresholds (`calculatePriority`).
fn calculate_priority(sum: i64, containers: usize) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * containers as i64;
    let sum = sum.clamp(MIN_THRESHOLD, max.max(MIN_THRESHOLD));
    if max <= MIN_THRESHOLD {
        return 0;
    }
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{NodeBuilder, PodBuilder, score_nodes};

    #[test]
    fn nodes_with_big_images_score_higher() {
        let nodes = vec![
            NodeBuilder::new("has").image("registry/app:v1", 500 * MB).info(),
            NodeBuilder::new("small").image("registry/app:v1", 10 * MB).info(),
            NodeBuilder::new("none").info(),
        ];
        let pod = PodBuilder::new("p").image("registry/app:v1").info();
        let scores = score_nodes(&ImageLocality, &pod, &nodes);
        // The image is on 2 of 3 nodes: 500 MiB * 2/3 = 333 MiB; (333-23)/(1000-23)*100 = 31.
        assert_eq!(scores, vec![31, 0, 0]);
        assert_eq!(calculate_priority(2000 * MB, 1), 100);
    }

    #[test]
    fn image_names_default_to_latest() {
        let nodes = vec![NodeBuilder::new("n").image("nginx:latest", 800 * MB).info()];
        let pod = PodBuilder::new("p").image("nginx").info();
        assert!(score_nodes(&ImageLocality, &pod, &nodes)[0] > 0);
    }
}
