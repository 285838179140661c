//! storage.k8s.io: storage classes, volume attributes classes, CSI drivers and nodes, volume
//! attachments. CSIStorageCapacity uses the default convertor upstream, although a printer
//! for it exists.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, bool_at, col, len_at, name, opt_bool, opt_str, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "StorageClass" => &STORAGE_CLASS,
        "VolumeAttributesClass" => &VOLUME_ATTRIBUTES_CLASS,
        "CSIDriver" => &CSI_DRIVER,
        "CSINode" => &CSI_NODE,
        "VolumeAttachment" => &VOLUME_ATTACHMENT,
        _ => return None,
    })
}

/// Whether an annotation is "true".
fn annotated(obj: &Value, key: &str) -> bool {
    obj.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str) == Some("true")
}

pub struct StorageClassPrinter;
pub static STORAGE_CLASS: StorageClassPrinter = StorageClassPrinter;

impl Printer for StorageClassPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Provisioner", "string", "provisioner indicates the type of the provisioner."),
            col(
                "ReclaimPolicy",
                "string",
                "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
            ),
            col(
                "VolumeBindingMode",
                "string",
                "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
            ),
            col(
                "AllowVolumeExpansion",
                "string",
                "allowVolumeExpansion shows whether the storage class allow volume expand.",
            ),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let default = annotated(obj, "storageclass.kubernetes.io/is-default-class")
            || annotated(obj, "storageclass.beta.kubernetes.io/is-default-class");
        let shown = if default { format!("{} (default)", name(obj)) } else { name(obj).to_owned() };
        vec![
            json!(shown),
            json!(str_at(obj, "/provisioner")),
            json!(opt_str(obj, "/reclaimPolicy").unwrap_or("Delete")),
            json!(opt_str(obj, "/volumeBindingMode").unwrap_or("Immediate")),
            json!(bool_at(obj, "/allowVolumeExpansion")),
            age(obj, ctx),
        ]
    }
}

pub struct VolumeAttributesClassPrinter;
pub static VOLUME_ATTRIBUTES_CLASS: VolumeAttributesClassPrinter = VolumeAttributesClassPrinter;

impl Printer for VolumeAttributesClassPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] =
            &[NAME, col("DriverName", "string", "Name of the CSI driver that handles this class."), AGE];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let default = annotated(obj, "volumeattributesclass.kubernetes.io/is-default-class");
        let shown = if default { format!("{} (default)", name(obj)) } else { name(obj).to_owned() };
        vec![json!(shown), json!(str_at(obj, "/driverName")), age(obj, ctx)]
    }
}

pub struct CsiDriverPrinter;
pub static CSI_DRIVER: CsiDriverPrinter = CsiDriverPrinter;

impl Printer for CsiDriverPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "AttachRequired",
                "boolean",
                "attachRequired indicates this CSI volume driver requires an attach operation.",
            ),
            col(
                "PodInfoOnMount",
                "boolean",
                "podInfoOnMount indicates this CSI volume driver requires additional pod information during mount operations.",
            ),
            col(
                "StorageCapacity",
                "boolean",
                "storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity that the driver deployment will report.",
            ),
            col(
                "TokenRequests",
                "string",
                "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for to do necessary authentication.",
            ),
            col(
                "RequiresRepublish",
                "boolean",
                "requiresRepublish indicates the CSI driver wants NodePublishVolume being periodically called to reflect any possible change in the mounted volume.",
            ),
            col(
                "Modes",
                "string",
                "volumeLifecycleModes defines what kind of volumes this CSI volume driver supports.",
            ),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let modes: Vec<&str> = arr_at(obj, "/spec/volumeLifecycleModes").iter().filter_map(Value::as_str).collect();
        // A present (even empty) list of token requests prints its audiences.
        let token_requests = match obj.pointer("/spec/tokenRequests").and_then(Value::as_array) {
            Some(list) => list.iter().map(|t| str_at(t, "/audience")).collect::<Vec<_>>().join(","),
            None => "<unset>".to_owned(),
        };
        vec![
            json!(name(obj)),
            json!(opt_bool(obj, "/spec/attachRequired").unwrap_or(true)),
            json!(bool_at(obj, "/spec/podInfoOnMount")),
            json!(bool_at(obj, "/spec/storageCapacity")),
            json!(token_requests),
            json!(bool_at(obj, "/spec/requiresRepublish")),
            json!(if modes.is_empty() { "<none>".to_owned() } else { modes.join(",") }),
            age(obj, ctx),
        ]
    }
}

pub struct CsiNodePrinter;
pub static CSI_NODE: CsiNodePrinter = CsiNodePrinter;

impl Printer for CsiNodePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(len_at(obj, "/spec/drivers")), age(obj, ctx)]
    }
}

pub struct VolumeAttachmentPrinter;
pub static VOLUME_ATTACHMENT: VolumeAttachmentPrinter = VolumeAttachmentPrinter;

impl Printer for VolumeAttachmentPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            // Upstream gives the Attacher column the name format too.
            Column {
                name: "Attacher",
                kind: "string",
                format: "name",
                description: "attacher indicates the name of the volume driver that MUST handle this request.",
                priority: 0,
            },
            col("PV", "string", "persistentVolumeName represents the name of the persistent volume to attach."),
            col("Node", "string", "nodeName represents the node that the volume should be attached to."),
            col("Attached", "boolean", "attached indicates the volume is successfully attached."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![
            json!(name(obj)),
            json!(str_at(obj, "/spec/attacher")),
            json!(str_at(obj, "/spec/source/persistentVolumeName")),
            json!(str_at(obj, "/spec/nodeName")),
            json!(bool_at(obj, "/status/attached")),
            age(obj, ctx),
        ]
    }
}
