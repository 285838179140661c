//! The core group, continued: nodes, namespaces, events, resource quotas, persistent volumes
//! and claims, component statuses.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::helpers::{
    AGE, NAME, age, arr_at, bool_at, col, deleting, int_at, name, opt_str, or, quantity, quantity_at, since, str_at,
    timestamp, translate_timestamp_since, wide,
};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "Node" => &NODE,
        "Namespace" => &NAMESPACE,
        "Event" => &EVENT,
        "ResourceQuota" => &RESOURCE_QUOTA,
        "PersistentVolume" => &PERSISTENT_VOLUME,
        "PersistentVolumeClaim" => &PERSISTENT_VOLUME_CLAIM,
        "ComponentStatus" => &COMPONENT_STATUS,
        _ => return None,
    })
}

pub struct NodePrinter;
pub static NODE: NodePrinter = NodePrinter;

impl Printer for NodePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Status", "string", "The status of the node"),
            col("Roles", "string", "The roles of the node"),
            AGE,
            col("Version", "string", "Kubelet Version reported by the node."),
            wide("Internal-IP", "string", "List of addresses reachable to the node."),
            wide("External-IP", "string", "List of addresses reachable to the node."),
            wide("OS-Image", "string", "OS Image reported by the node from /etc/os-release."),
            wide("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r'."),
            wide(
                "Container-Runtime",
                "string",
                "ContainerRuntime Version reported by the node through runtime remote API.",
            ),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // Only the Ready condition shows; the last one listed wins, as in upstream's map.
        let ready = arr_at(obj, "/status/conditions").iter().rev().find(|c| str_at(c, "/type") == "Ready");
        let mut status = vec![match ready {
            Some(c) if str_at(c, "/status") == "True" => "Ready",
            Some(_) => "NotReady",
            None => "Unknown",
        }];
        if bool_at(obj, "/spec/unschedulable") {
            status.push("SchedulingDisabled");
        }
        let info = |field: &str| or(str_at(obj, &format!("/status/nodeInfo/{field}")), "<unknown>");
        vec![
            json!(name(obj)),
            json!(status.join(",")),
            json!(or(&node_roles(obj), "<none>")),
            age(obj, ctx),
            json!(str_at(obj, "/status/nodeInfo/kubeletVersion")),
            json!(node_address(obj, "InternalIP")),
            json!(node_address(obj, "ExternalIP")),
            json!(info("osImage")),
            json!(info("kernelVersion")),
            json!(info("containerRuntimeVersion")),
        ]
    }
}

/// The roles from `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role`
/// label, sorted and joined by `,`.
fn node_roles(obj: &Value) -> String {
    let mut roles = BTreeSet::new();
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (key, value) in labels {
            let role = match key.strip_prefix("node-role.kubernetes.io/") {
                Some(role) => role,
                None if key == "kubernetes.io/role" => value.as_str().unwrap_or(""),
                None => "",
            };
            if !role.is_empty() {
                roles.insert(role.to_owned());
            }
        }
    }
    roles.into_iter().collect::<Vec<_>>().join(",")
}

/// The first address of a type, or `<none>`.
fn node_address(obj: &Value, kind: &str) -> String {
    arr_at(obj, "/status/addresses")
        .iter()
        .find(|a| str_at(a, "/type") == kind)
        .map_or_else(|| "<none>".to_owned(), |a| str_at(a, "/address").to_owned())
}

pub struct NamespacePrinter;
pub static NAMESPACE: NamespacePrinter = NamespacePrinter;

impl Printer for NamespacePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[NAME, col("Status", "string", "The status of the namespace"), AGE];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(str_at(obj, "/status/phase")), age(obj, ctx)]
    }
}

/// Events of core/v1 and of events.k8s.io/v1, whose fields have other names.
pub struct EventPrinter;
pub static EVENT: EventPrinter = EventPrinter;

/// The first field present of a core/v1 name and an events.k8s.io/v1 name.
fn either<'a>(obj: &'a Value, core: &str, events: &str) -> Option<&'a Value> {
    obj.pointer(core).filter(|v| !v.is_null()).or_else(|| obj.pointer(events).filter(|v| !v.is_null()))
}

impl Printer for EventPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            col("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
            col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
            col(
                "Reason",
                "string",
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            col("Object", "string", "The object that this event is about."),
            wide("Subobject", "string", "The field of the object this event is about."),
            wide("Source", "string", "The component reporting this event."),
            col("Message", "string", "A human-readable description of the status of this operation."),
            wide("First Seen", "string", "The time at which the event was first recorded."),
            wide("Count", "string", "The number of times this event has occurred."),
            super::Column { priority: 1, ..NAME },
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let time = |core: &str, events: &str| either(obj, core, events).and_then(|v| v.as_str()?.parse().ok());
        let first = match time("/firstTimestamp", "/deprecatedFirstTimestamp") {
            Some(t) => translate_timestamp_since(Some(t), ctx),
            None => since(obj, "/eventTime", ctx),
        };
        let mut last = match time("/lastTimestamp", "/deprecatedLastTimestamp") {
            Some(t) => translate_timestamp_since(Some(t), ctx),
            None => first.clone(),
        };
        let mut count = either(obj, "/count", "/deprecatedCount").and_then(Value::as_i64).unwrap_or(0);
        if obj.get("series").is_some_and(Value::is_object) {
            last = translate_timestamp_since(timestamp(obj, "/series/lastObservedTime"), ctx);
            count = int_at(obj, "/series/count");
        } else if count == 0 {
            // Singleton events of the events.k8s.io API have no count.
            count = 1;
        }
        let involved = either(obj, "/involvedObject", "/regarding").unwrap_or(&Value::Null);
        let kind = str_at(involved, "/kind").to_lowercase();
        let target = match str_at(involved, "/name") {
            "" => kind,
            n => format!("{kind}/{n}"),
        };
        let source = either(obj, "/source", "/deprecatedSource").unwrap_or(&Value::Null);
        let component = or(str_at(source, "/component"), str_at(obj, "/reportingComponent"));
        let component = or(&component, str_at(obj, "/reportingController"));
        let host = or(str_at(source, "/host"), str_at(obj, "/reportingInstance"));
        let source = if host.is_empty() { component } else { format!("{component}, {host}") };
        let message = either(obj, "/message", "/note").and_then(Value::as_str).unwrap_or("");
        vec![
            json!(last),
            json!(str_at(obj, "/type")),
            json!(str_at(obj, "/reason")),
            json!(target),
            json!(str_at(involved, "/fieldPath")),
            json!(source),
            json!(message.trim()),
            json!(first),
            json!(count),
            json!(name(obj)),
        ]
    }
}

pub struct ResourceQuotaPrinter;
pub static RESOURCE_QUOTA: ResourceQuotaPrinter = ResourceQuotaPrinter;

impl Printer for ResourceQuotaPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            AGE,
            col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
            col(
                "Limit",
                "string",
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let mut requests = Vec::new();
        let mut limits = Vec::new();
        let used = obj.pointer("/status/used");
        if let Some(hard) = obj.pointer("/status/hard").and_then(Value::as_object) {
            // Upstream sorts the resource names.
            let mut hard: Vec<(&String, &Value)> = hard.iter().collect();
            hard.sort_by(|a, b| a.0.cmp(b.0));
            for (resource, hard) in hard {
                let used = used.and_then(|u| u.get(resource)).map_or_else(|| "0".to_owned(), quantity);
                let entry = format!("{resource}: {used}/{}", quantity(hard));
                let mut pieces = resource.split('.');
                let column = match (pieces.next(), pieces.next()) {
                    (Some("limits"), Some(_)) => &mut limits,
                    _ => &mut requests,
                };
                column.push(entry);
            }
        }
        vec![json!(name(obj)), age(obj, ctx), json!(requests.join(", ")), json!(limits.join(", "))]
    }
}

/// Upstream's `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, joined by `,`.
fn access_modes(obj: &Value, ptr: &str) -> String {
    let modes: Vec<&str> = arr_at(obj, ptr).iter().filter_map(Value::as_str).collect();
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .iter()
        .filter(|(mode, _)| modes.contains(mode))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

/// The beta storage-class annotation, which takes precedence over storageClassName.
fn class_annotation(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/annotations").and_then(|a| a.get("volume.beta.kubernetes.io/storage-class")?.as_str())
}

/// The phase, or Terminating while the object is being deleted.
fn volume_phase(obj: &Value) -> &str {
    if deleting(obj) { "Terminating" } else { str_at(obj, "/status/phase") }
}

pub struct PersistentVolumePrinter;
pub static PERSISTENT_VOLUME: PersistentVolumePrinter = PersistentVolumePrinter;

impl Printer for PersistentVolumePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Capacity", "string", "capacity is the description of the persistent volume's resources and capacity."),
            col("Access Modes", "string", "accessModes contains all ways the volume can be mounted."),
            col(
                "Reclaim Policy",
                "string",
                "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
            ),
            col(
                "Status",
                "string",
                "phase indicates if a volume is available, bound to a claim, or released by a claim.",
            ),
            col(
                "Claim",
                "string",
                "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
            ),
            col("StorageClass", "string", "StorageClass of the pv"),
            col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
            col(
                "Reason",
                "string",
                "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
            ),
            AGE,
            wide(
                "VolumeMode",
                "string",
                "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
            ),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let claim = match obj.pointer("/spec/claimRef") {
            Some(r) if r.is_object() => {
                format!("{}/{}", str_at(r, "/namespace"), str_at(r, "/name"))
            }
            _ => String::new(),
        };
        let class = class_annotation(obj).unwrap_or_else(|| str_at(obj, "/spec/storageClassName"));
        vec![
            json!(name(obj)),
            json!(quantity_at(obj, "/spec/capacity/storage", "0")),
            json!(access_modes(obj, "/spec/accessModes")),
            json!(str_at(obj, "/spec/persistentVolumeReclaimPolicy")),
            json!(volume_phase(obj)),
            json!(claim),
            json!(class),
            json!(opt_str(obj, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
            json!(str_at(obj, "/status/reason")),
            age(obj, ctx),
            json!(opt_str(obj, "/spec/volumeMode").unwrap_or("<unset>")),
        ]
    }
}

pub struct PersistentVolumeClaimPrinter;
pub static PERSISTENT_VOLUME_CLAIM: PersistentVolumeClaimPrinter = PersistentVolumeClaimPrinter;

impl Printer for PersistentVolumeClaimPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
            col("Volume", "string", "volumeName is the binding reference to the PersistentVolume backing this claim."),
            col("Capacity", "string", "capacity represents the actual resources of the underlying volume."),
            col(
                "Access Modes",
                "string",
                "accessModes contains the actual access modes the volume backing the PVC has.",
            ),
            col("StorageClass", "string", "StorageClass of the pvc"),
            col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
            AGE,
            wide("VolumeMode", "string", "volumeMode defines what type of volume is required by the claim."),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let volume = str_at(obj, "/spec/volumeName");
        // Capacity and access modes are those of the bound volume.
        let (capacity, modes) = if volume.is_empty() {
            (String::new(), String::new())
        } else {
            (quantity_at(obj, "/status/capacity/storage", "0"), access_modes(obj, "/status/accessModes"))
        };
        let class = class_annotation(obj).or_else(|| opt_str(obj, "/spec/storageClassName")).unwrap_or("");
        vec![
            json!(name(obj)),
            json!(volume_phase(obj)),
            json!(volume),
            json!(capacity),
            json!(modes),
            json!(class),
            json!(opt_str(obj, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
            age(obj, ctx),
            json!(opt_str(obj, "/spec/volumeMode").unwrap_or("<unset>")),
        ]
    }
}

pub struct ComponentStatusPrinter;
pub static COMPONENT_STATUS: ComponentStatusPrinter = ComponentStatusPrinter;

impl Printer for ComponentStatusPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Status", "string", "Status of the component conditions"),
            col("Message", "string", "Message of the component conditions"),
            col("Error", "string", "Error of the component conditions"),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, _ctx: &Context) -> Vec<Value> {
        let healthy = arr_at(obj, "/conditions").iter().find(|c| str_at(c, "/type") == "Healthy");
        let (status, message, error) = match healthy {
            Some(c) => (
                if str_at(c, "/status") == "True" { "Healthy" } else { "Unhealthy" },
                str_at(c, "/message"),
                str_at(c, "/error"),
            ),
            None => ("Unknown", "", ""),
        };
        vec![json!(name(obj)), json!(status), json!(message), json!(error)]
    }
}
