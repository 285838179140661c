//! Finding or creating the new ReplicaSet, proportional scaling, cleanup of old revisions and
//! the status (upstream's deployment sync.go).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use super::Controller;
use super::util::{self, *};
use crate::Error;
use crate::controller_utils::pod::{controller_ref, is_not_found};
use crate::events::{NORMAL, WARNING};

impl Controller {
    /// The index in `sets` of the ReplicaSet running the deployment's template, syncing its
    /// revision annotations; creates it when `create` (getNewReplicaSet).
    pub(super) async fn new_replicaset(
        &self,
        d: &mut Deployment,
        sets: &mut Vec<ReplicaSet>,
        create: bool,
    ) -> Result<Option<usize>, Error> {
        let template = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        let mut order: Vec<usize> = (0..sets.len()).collect();
        order.sort_by(|a, b| by_creation(&sets[*a], &sets[*b]));
        let existing = order.into_iter().find(|i| {
            sets[*i].spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| equal_ignore_hash(t, &template))
        });
        let old_max = sets
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != existing)
            .map(|(_, rs)| revision(rs))
            .max()
            .unwrap_or(0);
        let new_revision = old_max + 1;
        let min_ready = d.spec.as_ref().and_then(|s| s.min_ready_seconds);

        if let Some(i) = existing {
            let mut copy = sets[i].clone();
            let annotations_changed = set_new_rs_annotations(d, &mut copy, new_revision, true);
            let spec = copy.spec.get_or_insert_with(Default::default);
            let min_ready_changed = spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0);
            if annotations_changed || min_ready_changed {
                spec.min_ready_seconds = min_ready;
                sets[i] = self.replace_rs(&copy).await?;
            }
            let rev = util::annotation(&sets[i], REVISION).unwrap_or_default().to_string();
            self.set_revision(d, &rev).await?;
            let mut status = d.status.clone().unwrap_or_default();
            if progress_deadline(d).is_some() && condition(&status, PROGRESSING).is_none() {
                let msg = format!("Found new replica set {:?}", sets[i].metadata.name.clone().unwrap_or_default());
                set_condition(&mut status, new_condition(PROGRESSING, "True", "FoundNewReplicaSet", msg));
                self.update_status(d, &status).await?;
                d.status = Some(status);
            }
            return Ok(Some(i));
        }
        if !create {
            return Ok(None);
        }

        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = compute_hash(&template, collision_count);
        let mut rs_template: PodTemplateSpec = template.clone();
        let meta = rs_template.metadata.get_or_insert_with(Default::default);
        meta.labels.get_or_insert_with(BTreeMap::new).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        selector.match_labels.get_or_insert_with(BTreeMap::new).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let name = format!("{}-{hash}", d.metadata.name.clone().unwrap_or_default());
        let mut new_rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: d.metadata.namespace.clone(),
                owner_references: Some(vec![controller_ref(d)]),
                labels: meta.labels.clone(),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: min_ready,
                selector,
                template: Some(rs_template),
            }),
            status: None,
        };
        let new_replicas = {
            let all: Vec<&ReplicaSet> = sets.iter().chain(std::iter::once(&new_rs)).collect();
            new_rs_new_replicas(d, &all, &new_rs)
        };
        if let Some(spec) = new_rs.spec.as_mut() {
            spec.replicas = Some(new_replicas);
        }
        set_new_rs_annotations(d, &mut new_rs, new_revision, false);
        let api: Api<ReplicaSet> =
            Api::namespaced(self.client.clone(), d.metadata.namespace.as_deref().unwrap_or("default"));
        let (created, already_existed) = match api.create(&PostParams::default(), &new_rs).await {
            Ok(rs) => (rs, false),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Ours from an earlier sync whose create we did not observe yet, or a hash
                // collision with a ReplicaSet of another template.
                let existing = api.get(&name).await?;
                let ours = existing
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|r| r.controller == Some(true) && Some(&r.uid) == d.metadata.uid.as_ref());
                let same = existing
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| equal_ignore_hash(t, &template));
                if ours && same {
                    (existing, true)
                } else {
                    let mut status = d.status.clone().unwrap_or_default();
                    status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
                    self.update_status(d, &status).await?;
                    return Err(Error::Invalid(format!("hash collision for ReplicaSet {name}; collisionCount raised")));
                }
            }
            Err(e) => {
                let msg = format!(
                    "Failed to create new replica set {name:?}: {}",
                    crate::controller_utils::pod::api_error_message(&e)
                );
                if progress_deadline(d).is_some() {
                    let mut status = d.status.clone().unwrap_or_default();
                    set_condition(
                        &mut status,
                        new_condition(PROGRESSING, "False", "ReplicaSetCreateError", msg.clone()),
                    );
                    let _ = self.update_status(d, &status).await;
                }
                self.recorder.event(d, WARNING, "ReplicaSetCreateError", msg);
                return Err(e.into());
            }
        };
        if !already_existed && new_replicas > 0 {
            self.recorder.event(
                d,
                NORMAL,
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {new_replicas}"),
            );
        }
        self.set_revision(d, &new_revision.to_string()).await?;
        if !already_existed && progress_deadline(d).is_some() {
            let mut status = d.status.clone().unwrap_or_default();
            set_condition(
                &mut status,
                new_condition(PROGRESSING, "True", "NewReplicaSetCreated", format!("Created new replica set {name:?}")),
            );
            self.update_status(d, &status).await?;
            d.status = Some(status);
        }
        sets.push(created);
        Ok(Some(sets.len() - 1))
    }

    pub(super) async fn replace_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, Error> {
        let api: Api<ReplicaSet> =
            Api::namespaced(self.client.clone(), rs.metadata.namespace.as_deref().unwrap_or("default"));
        Ok(api.replace(rs.metadata.name.as_deref().unwrap_or_default(), &PostParams::default(), rs).await?)
    }

    /// Scales sets[i] to `new_scale` (and refreshes its replica annotations), recording
    /// ScalingReplicaSet; returns whether it scaled.
    pub(super) async fn scale_rs(
        &self,
        d: &Deployment,
        sets: &mut [ReplicaSet],
        i: usize,
        new_scale: i32,
    ) -> Result<bool, Error> {
        let old = rs_replicas(&sets[i]);
        if old == new_scale {
            return Ok(false);
        }
        let op = if old < new_scale { "up" } else { "down" };
        self.scale_rs_op(d, sets, i, new_scale, op).await
    }

    async fn scale_rs_op(
        &self,
        d: &Deployment,
        sets: &mut [ReplicaSet],
        i: usize,
        new_scale: i32,
        op: &str,
    ) -> Result<bool, Error> {
        let old = rs_replicas(&sets[i]);
        let (want, max) = (replicas(d), replicas(d) + max_surge(d));
        let size_changed = old != new_scale;
        if !size_changed && !replicas_annotations_need_update(&sets[i], want, max) {
            return Ok(false);
        }
        let mut copy = sets[i].clone();
        copy.spec.get_or_insert_with(Default::default).replicas = Some(new_scale);
        set_replicas_annotations(&mut copy, want, max);
        sets[i] = self.replace_rs(&copy).await?;
        if size_changed {
            let name = sets[i].metadata.name.clone().unwrap_or_default();
            self.recorder.event(
                d,
                NORMAL,
                "ScalingReplicaSet",
                format!("Scaled {op} replica set {name} from {old} to {new_scale}"),
            );
        }
        Ok(size_changed)
    }

    /// Whether the only change is the replica count: some active ReplicaSet's desired-replicas
    /// annotation differs from the deployment's replicas.
    pub(super) async fn is_scaling_event(&self, d: &mut Deployment, sets: &mut Vec<ReplicaSet>) -> Result<bool, Error> {
        self.new_replicaset(d, sets, false).await?;
        let want = replicas(d);
        Ok(sets.iter().filter(|r| is_active(r)).any(|r| desired_annotation(r).is_some_and(|x| x != want)))
    }

    /// A scaling event or a paused deployment: scale proportionally, no rollout (sync).
    pub(super) async fn sync_scale(&self, d: &mut Deployment, sets: &mut Vec<ReplicaSet>) -> Result<(), Error> {
        let new = self.new_replicaset(d, sets, false).await?;
        self.scale(d, sets, new).await?;
        if paused(d) {
            self.cleanup(d, sets, new).await?;
        }
        self.sync_status(d, sets, new).await
    }

    /// Proportional scaling (upstream's scale): spreads a replica change over the active
    /// ReplicaSets in proportion to their size, so a scale in mid-rollout keeps its ratio.
    pub(super) async fn scale(&self, d: &Deployment, sets: &mut [ReplicaSet], new: Option<usize>) -> Result<(), Error> {
        let want = replicas(d);
        let active: Vec<usize> = (0..sets.len()).filter(|i| is_active(&sets[*i])).collect();
        let active_or_latest = match active.len() {
            0 => new.or_else(|| {
                let mut olds: Vec<usize> = (0..sets.len()).filter(|i| Some(*i) != new).collect();
                olds.sort_by(|a, b| by_creation(&sets[*a], &sets[*b]));
                olds.last().copied()
            }),
            1 => Some(active[0]),
            _ => None,
        };
        if let Some(i) = active_or_latest {
            if rs_replicas(&sets[i]) != want {
                self.scale_rs(d, sets, i, want).await?;
            }
            return Ok(());
        }
        if let Some(n) = new
            && is_saturated(d, &sets[n])
        {
            for i in active.into_iter().filter(|i| *i != n) {
                self.scale_rs(d, sets, i, 0).await?;
            }
            return Ok(());
        }
        if !is_rolling_update(d) {
            return Ok(());
        }
        let all_replicas: i32 = active.iter().map(|i| rs_replicas(&sets[*i])).sum();
        let allowed = if want > 0 { want + max_surge(d) } else { 0 };
        let to_add = allowed - all_replicas;
        let mut order = active.clone();
        let op = match to_add.cmp(&0) {
            Ordering::Greater => {
                // Largest first, newer first among equals (ReplicaSetsBySizeNewer).
                order.sort_by(|a, b| {
                    rs_replicas(&sets[*b]).cmp(&rs_replicas(&sets[*a])).then_with(|| by_creation(&sets[*b], &sets[*a]))
                });
                "up"
            }
            Ordering::Less => {
                order.sort_by(|a, b| {
                    rs_replicas(&sets[*b]).cmp(&rs_replicas(&sets[*a])).then_with(|| by_creation(&sets[*a], &sets[*b]))
                });
                "down"
            }
            Ordering::Equal => return Ok(()),
        };
        let mut added = 0;
        let mut sizes: HashMap<usize, i32> = HashMap::new();
        for &i in &order {
            let p = proportion(&sets[i], d, to_add, added);
            sizes.insert(i, rs_replicas(&sets[i]) + p);
            added += p;
        }
        if to_add != added
            && let Some(first) = order.first()
        {
            let v = sizes.entry(*first).or_default();
            *v = (*v + to_add - added).max(0);
        }
        for &i in &order {
            let size = sizes.get(&i).copied().unwrap_or(0);
            self.scale_rs_op(d, sets, i, size, op).await?;
        }
        Ok(())
    }

    /// Deletes the oldest fully scaled-down ReplicaSets past revisionHistoryLimit.
    pub(super) async fn cleanup(&self, d: &Deployment, sets: &[ReplicaSet], new: Option<usize>) -> Result<(), Error> {
        let Some(limit) = d.spec.as_ref().and_then(|s| s.revision_history_limit) else { return Ok(()) };
        let mut old: Vec<&ReplicaSet> = sets
            .iter()
            .enumerate()
            .filter(|(i, r)| Some(*i) != new && r.metadata.deletion_timestamp.is_none())
            .map(|(_, r)| r)
            .collect();
        let diff = old.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return Ok(());
        }
        old.sort_by(|a, b| revision(a).cmp(&revision(b)).then_with(|| by_creation(a, b)));
        let api: Api<ReplicaSet> =
            Api::namespaced(self.client.clone(), d.metadata.namespace.as_deref().unwrap_or("default"));
        for rs in old.into_iter().take(usize::try_from(diff).unwrap_or(0)) {
            let status = rs.status.clone().unwrap_or_default();
            if status.replicas != 0 || rs_replicas(rs) != 0 || rs.metadata.generation > status.observed_generation {
                continue;
            }
            let dp = DeleteParams {
                preconditions: Some(Preconditions { uid: rs.metadata.uid.clone(), resource_version: None }),
                ..Default::default()
            };
            match api.delete(rs.metadata.name.as_deref().unwrap_or_default(), &dp).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The status from the ReplicaSets (calculateStatus), with the Available condition.
    pub(super) fn calculate_status(&self, d: &Deployment, sets: &[ReplicaSet], new: Option<usize>) -> DeploymentStatus {
        let all: Vec<&ReplicaSet> = sets.iter().collect();
        let available = sum_available(&all);
        let total = sum_spec(&all);
        let mut status = DeploymentStatus {
            observed_generation: d.metadata.generation,
            replicas: Some(sum_status(&all)),
            updated_replicas: Some(new.map(|n| rs_status(&sets[n]).0).unwrap_or(0)),
            ready_replicas: Some(sum_ready(&all)),
            available_replicas: Some(available),
            unavailable_replicas: Some((total - available).max(0)),
            collision_count: d.status.as_ref().and_then(|s| s.collision_count),
            conditions: d.status.as_ref().and_then(|s| s.conditions.clone()),
            terminating_replicas: None,
        };
        if available >= replicas(d) - max_unavailable(d) {
            set_condition(
                &mut status,
                new_condition(
                    AVAILABLE,
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.".into(),
                ),
            );
        } else {
            set_condition(
                &mut status,
                new_condition(
                    AVAILABLE,
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.".into(),
                ),
            );
        }
        status
    }

    pub(super) async fn sync_status(
        &self,
        d: &Deployment,
        sets: &[ReplicaSet],
        new: Option<usize>,
    ) -> Result<(), Error> {
        let status = self.calculate_status(d, sets, new);
        if d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        self.update_status(d, &status).await
    }

    /// Adds or removes the DeploymentPaused/DeploymentResumed Progressing condition.
    pub(super) async fn check_paused_conditions(&self, d: &mut Deployment) -> Result<(), Error> {
        if progress_deadline(d).is_none() {
            return Ok(());
        }
        let mut status = d.status.clone().unwrap_or_default();
        let reason = condition(&status, PROGRESSING).and_then(|c| c.reason.clone());
        if reason.as_deref() == Some(TIMED_OUT) {
            return Ok(());
        }
        let paused_cond = reason.as_deref() == Some(PAUSED);
        if paused(d) && !paused_cond {
            set_condition(&mut status, new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused".into()));
        } else if !paused(d) && paused_cond {
            set_condition(&mut status, new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed".into()));
        } else {
            return Ok(());
        }
        self.update_status(d, &status).await?;
        d.status = Some(status);
        Ok(())
    }
}

/// The new ReplicaSet's size for this step of the rollout (NewRSNewReplicas).
pub(super) fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new_rs: &ReplicaSet) -> i32 {
    let want = replicas(d);
    if !is_rolling_update(d) {
        return want;
    }
    let current = sum_spec(all);
    let max_total = want + max_surge(d);
    let new_replicas = rs_replicas(new_rs);
    if current >= max_total {
        return new_replicas;
    }
    new_replicas + (max_total - current).min(want - new_replicas)
}

/// The new ReplicaSet runs every replica, all available (IsSaturated).
fn is_saturated(d: &Deployment, rs: &ReplicaSet) -> bool {
    let want = replicas(d);
    rs_replicas(rs) == want && desired_annotation(rs) == Some(want) && rs_status(rs).2 == want
}

/// This ReplicaSet's share of a replica change (GetProportion).
fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
}

fn fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    let want = replicas(d);
    if want == 0 {
        return -rs_replicas(rs);
    }
    let deployment_replicas = want + max_surge(d);
    let annotated =
        max_replicas_annotation(rs).unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if annotated == 0 {
        return 0;
    }
    let size = f64::from(rs_replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
    size.round() as i32 - rs_replicas(rs)
}
