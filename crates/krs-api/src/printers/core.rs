//! The core group (""): pod templates, replication controllers, services, endpoints, secrets,
//! config maps and service accounts here; pods in `pod.rs`; nodes, namespaces, events,
//! volumes, quotas and component statuses in `core_cluster.rs`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::core_cluster;
use super::helpers::{
    AGE, CONTAINERS_DOC, IMAGES_DOC, NAME, WIDE_CONTAINERS, WIDE_IMAGES, age, arr_at, col, containers, format_labels,
    int_at, len_at, name, str_at, wide,
};
use super::pod::POD;
use super::{Column, Context, Printer};

pub use super::core_cluster::EVENT;

/// The core printer of a kind; LimitRange (like unknown kinds) uses the default convertor.
pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "Pod" => &POD,
        "PodTemplate" => &POD_TEMPLATE,
        "ReplicationController" => &REPLICATION_CONTROLLER,
        "Service" => &SERVICE,
        "Endpoints" => &ENDPOINTS,
        "Secret" => &SECRET,
        "ConfigMap" => &CONFIG_MAP,
        "ServiceAccount" => &SERVICE_ACCOUNT,
        _ => return core_cluster::printer(kind),
    })
}

pub struct PodTemplatePrinter;
pub static POD_TEMPLATE: PodTemplatePrinter = PodTemplatePrinter;

impl Printer for PodTemplatePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Containers", "string", CONTAINERS_DOC),
            col("Images", "string", IMAGES_DOC),
            col("Pod Labels", "string", "The labels for the pod template."),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, _ctx: &Context) -> Vec<Value> {
        let (names, images) = containers(arr_at(obj, "/template/spec/containers"));
        vec![json!(name(obj)), names, images, json!(format_labels(obj, "/template/metadata/labels"))]
    }
}

pub struct ReplicationControllerPrinter;
pub static REPLICATION_CONTROLLER: ReplicationControllerPrinter = ReplicationControllerPrinter;

impl Printer for ReplicationControllerPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Desired", "integer", "Replicas is the number of desired replicas."),
            col("Current", "integer", "Replicas is the most recently observed number of replicas."),
            col("Ready", "integer", "The number of ready replicas for this replication controller."),
            AGE,
            WIDE_CONTAINERS,
            WIDE_IMAGES,
            wide("Selector", "string", "Selector is a label query over pods that should match the Replicas count."),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let (names, images) = containers(arr_at(obj, "/spec/template/spec/containers"));
        vec![
            json!(name(obj)),
            json!(int_at(obj, "/spec/replicas")),
            json!(int_at(obj, "/status/replicas")),
            json!(int_at(obj, "/status/readyReplicas")),
            age(obj, ctx),
            names,
            images,
            json!(format_labels(obj, "/spec/selector")),
        ]
    }
}

pub struct ServicePrinter;
pub static SERVICE: ServicePrinter = ServicePrinter;

impl Printer for ServicePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Type", "string", "type determines how the Service is exposed."),
            col("Cluster-IP", "string", "clusterIP is the IP address of the service."),
            col("External-IP", "string", "The external IP addresses of the service."),
            col("Port(s)", "string", "The list of ports that are exposed by this service."),
            AGE,
            wide(
                "Selector",
                "string",
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // Objects written before dual-stack may carry only clusterIP.
        let cluster_ip = arr_at(obj, "/spec/clusterIPs")
            .first()
            .and_then(Value::as_str)
            .or_else(|| Some(str_at(obj, "/spec/clusterIP")).filter(|ip| !ip.is_empty()))
            .unwrap_or("<none>");
        let ports = port_string(arr_at(obj, "/spec/ports"));
        vec![
            json!(name(obj)),
            json!(str_at(obj, "/spec/type")),
            json!(cluster_ip),
            json!(external_ip(obj)),
            json!(if ports.is_empty() { "<none>".to_owned() } else { ports }),
            age(obj, ctx),
            json!(format_labels(obj, "/spec/selector")),
        ]
    }
}

/// Load-balancer ingress points (IP, else hostname), deduplicated and sorted, joined by `,`.
/// The server prints wide, so the list is never elided.
pub(super) fn load_balancer_ingress(obj: &Value, ptr: &str) -> String {
    let points: BTreeSet<&str> = arr_at(obj, ptr)
        .iter()
        .filter_map(|i| match (str_at(i, "/ip"), str_at(i, "/hostname")) {
            ("", "") => None,
            ("", host) => Some(host),
            (ip, _) => Some(ip),
        })
        .collect();
    points.into_iter().collect::<Vec<_>>().join(",")
}

/// Upstream's `getServiceExternalIP`.
fn external_ip(obj: &Value) -> String {
    let external: Vec<&str> = arr_at(obj, "/spec/externalIPs").iter().filter_map(Value::as_str).collect();
    match str_at(obj, "/spec/type") {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_owned()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(obj, "/status/loadBalancer/ingress");
            if !external.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() { Vec::new() } else { lb.split(',').collect() };
                all.extend(external);
                return all.join(",");
            }
            if lb.is_empty() { "<pending>".to_owned() } else { lb }
        }
        "ExternalName" => str_at(obj, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    }
}

/// Upstream's `makePortString`: "port/protocol", or "port:nodePort/protocol", joined by `,`.
fn port_string(ports: &[Value]) -> String {
    let pieces: Vec<String> = ports
        .iter()
        .map(|p| {
            let (port, protocol) = (int_at(p, "/port"), str_at(p, "/protocol"));
            match int_at(p, "/nodePort") {
                n if n > 0 => format!("{port}:{n}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    pieces.join(",")
}

pub struct EndpointsPrinter;
pub static ENDPOINTS: EndpointsPrinter = EndpointsPrinter;

impl Printer for EndpointsPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] =
            &[NAME, col("Endpoints", "string", "The set of all endpoints is the union of all subsets."), AGE];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(format_endpoints(obj)), age(obj, ctx)]
    }
}

/// Upstream's `formatEndpoints` (all ports): up to three addresses, `ip:port` for subsets
/// with ports, and "+ N more..." for the rest.
fn format_endpoints(obj: &Value) -> String {
    const MAX: usize = 3;
    let subsets = arr_at(obj, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_owned();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for subset in subsets {
        let addresses = arr_at(subset, "/addresses");
        let ports = arr_at(subset, "/ports");
        // Headless services may have no ports: list bare addresses.
        let port_numbers: Vec<Option<i64>> =
            if ports.is_empty() { vec![None] } else { ports.iter().map(|p| Some(int_at(p, "/port"))).collect() };
        for port in port_numbers {
            count += addresses.len();
            for address in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                let ip = str_at(address, "/ip");
                list.push(match port {
                    None => ip.to_owned(),
                    Some(port) if ip.contains(':') => format!("[{ip}]:{port}"),
                    Some(port) => format!("{ip}:{port}"),
                });
            }
        }
    }
    let joined = list.join(",");
    if more { format!("{joined} + {} more...", count - MAX) } else { joined }
}

pub struct SecretPrinter;
pub static SECRET: SecretPrinter = SecretPrinter;

impl Printer for SecretPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Type", "string", "Used to facilitate programmatic handling of secret data."),
            col("Data", "string", "The number of entries of the secret's data."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(str_at(obj, "/type")), json!(len_at(obj, "/data")), age(obj, ctx)]
    }
}

pub struct ConfigMapPrinter;
pub static CONFIG_MAP: ConfigMapPrinter = ConfigMapPrinter;

impl Printer for ConfigMapPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[NAME, col("Data", "string", "The number of entries of data and binaryData."), AGE];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let entries = len_at(obj, "/data") + len_at(obj, "/binaryData");
        vec![json!(name(obj)), json!(entries), age(obj, ctx)]
    }
}

pub struct ServiceAccountPrinter;
pub static SERVICE_ACCOUNT: ServiceAccountPrinter = ServiceAccountPrinter;

impl Printer for ServiceAccountPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] =
            &[NAME, col("Secrets", "string", "The number of secrets the service account lists."), AGE];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(len_at(obj, "/secrets")), age(obj, ctx)]
    }
}
