//! apps: deployments, replica sets, stateful sets, daemon sets, controller revisions.

use serde_json::{Value, json};

use super::helpers::{
    AGE, NAME, WIDE_CONTAINERS, WIDE_IMAGES, age, arr_at, col, containers, format_label_selector, format_labels,
    int_at, name, opt_bool, selector_string, str_at, wide,
};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "Deployment" => &DEPLOYMENT,
        "ReplicaSet" => &REPLICA_SET,
        "StatefulSet" => &STATEFUL_SET,
        "DaemonSet" => &DAEMON_SET,
        "ControllerRevision" => &CONTROLLER_REVISION,
        _ => return None,
    })
}

const SELECTOR_DOC: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";

fn template_containers(obj: &Value) -> (Value, Value) {
    containers(arr_at(obj, "/spec/template/spec/containers"))
}

pub struct DeploymentPrinter;
pub static DEPLOYMENT: DeploymentPrinter = DeploymentPrinter;

impl Printer for DeploymentPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Ready", "string", "Number of the pod with ready state"),
            col(
                "Up-to-date",
                "string",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            col(
                "Available",
                "string",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            WIDE_CONTAINERS,
            WIDE_IMAGES,
            wide("Selector", "string", SELECTOR_DOC),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let (names, images) = template_containers(obj);
        let ready = format!("{}/{}", int_at(obj, "/status/readyReplicas"), int_at(obj, "/spec/replicas"));
        vec![
            json!(name(obj)),
            json!(ready),
            json!(int_at(obj, "/status/updatedReplicas")),
            json!(int_at(obj, "/status/availableReplicas")),
            age(obj, ctx),
            names,
            images,
            json!(selector_string(obj.pointer("/spec/selector"))),
        ]
    }
}

pub struct ReplicaSetPrinter;
pub static REPLICA_SET: ReplicaSetPrinter = ReplicaSetPrinter;

impl Printer for ReplicaSetPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Desired", "integer", "Replicas is the number of desired replicas."),
            col("Current", "integer", "Replicas is the most recently observed number of replicas."),
            col("Ready", "integer", "The number of ready replicas for this replica set."),
            AGE,
            WIDE_CONTAINERS,
            WIDE_IMAGES,
            wide("Selector", "string", "Selector is a label query over pods that should match the replica count."),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let (names, images) = template_containers(obj);
        vec![
            json!(name(obj)),
            json!(int_at(obj, "/spec/replicas")),
            json!(int_at(obj, "/status/replicas")),
            json!(int_at(obj, "/status/readyReplicas")),
            age(obj, ctx),
            names,
            images,
            json!(format_label_selector(obj.pointer("/spec/selector"))),
        ]
    }
}

pub struct StatefulSetPrinter;
pub static STATEFUL_SET: StatefulSetPrinter = StatefulSetPrinter;

impl Printer for StatefulSetPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] =
            &[NAME, col("Ready", "string", "Number of the pod with ready state"), AGE, WIDE_CONTAINERS, WIDE_IMAGES];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let (names, images) = template_containers(obj);
        let ready = format!("{}/{}", int_at(obj, "/status/readyReplicas"), int_at(obj, "/spec/replicas"));
        vec![json!(name(obj)), json!(ready), age(obj, ctx), names, images]
    }
}

pub struct DaemonSetPrinter;
pub static DAEMON_SET: DaemonSetPrinter = DaemonSetPrinter;

impl Printer for DaemonSetPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Desired", "integer", "The total number of nodes that should be running the daemon pod."),
            col(
                "Current",
                "integer",
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
            ),
            col(
                "Ready",
                "integer",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            ),
            col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod."),
            col(
                "Available",
                "integer",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
            ),
            col(
                "Node Selector",
                "string",
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            AGE,
            WIDE_CONTAINERS,
            WIDE_IMAGES,
            wide("Selector", "string", "A label query over pods that are managed by the daemon set."),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let (names, images) = template_containers(obj);
        vec![
            json!(name(obj)),
            json!(int_at(obj, "/status/desiredNumberScheduled")),
            json!(int_at(obj, "/status/currentNumberScheduled")),
            json!(int_at(obj, "/status/numberReady")),
            json!(int_at(obj, "/status/updatedNumberScheduled")),
            json!(int_at(obj, "/status/numberAvailable")),
            json!(format_labels(obj, "/spec/template/spec/nodeSelector")),
            age(obj, ctx),
            names,
            images,
            json!(format_label_selector(obj.pointer("/spec/selector"))),
        ]
    }
}

pub struct ControllerRevisionPrinter;
pub static CONTROLLER_REVISION: ControllerRevisionPrinter = ControllerRevisionPrinter;

impl Printer for ControllerRevisionPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Controller", "string", "Controller of the object"),
            col("Revision", "string", "Revision indicates the revision of the state represented by Data."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let controller = arr_at(obj, "/metadata/ownerReferences")
            .iter()
            .find(|r| opt_bool(r, "/controller") == Some(true))
            .map_or_else(|| "<none>".to_owned(), controller_name);
        vec![json!(name(obj)), json!(controller), json!(int_at(obj, "/revision")), age(obj, ctx)]
    }
}

/// Upstream's `formatResourceName` of a controller reference: `kind.group/name` in lower
/// case (`kind/name` for the core group), or just the name when there is no kind.
fn controller_name(owner: &Value) -> String {
    let api_version = str_at(owner, "/apiVersion");
    // An apiVersion with one slash is group/version; without one, a core version. Upstream
    // fails the request on more slashes, which validation of owner references precludes;
    // such a group is ignored here.
    let group = match api_version.split_once('/') {
        Some((group, version)) if !version.contains('/') => group,
        _ => "",
    };
    let (kind, name) = (str_at(owner, "/kind"), str_at(owner, "/name"));
    match (group, kind) {
        ("", "") => name.to_owned(),
        ("", kind) => format!("{}/{name}", kind.to_lowercase()),
        (group, kind) => format!("{}/{name}", format!("{kind}.{group}").to_lowercase()),
    }
}
