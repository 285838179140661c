//! networking.k8s.io: ingresses, ingress classes, network policies, service CIDRs, IP
//! addresses.

use serde_json::{Value, json};

use super::core::load_balancer_ingress;
use super::helpers::{AGE, NAME, age, arr_at, col, format_label_selector, name, opt_str, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "Ingress" => &INGRESS,
        "IngressClass" => &INGRESS_CLASS,
        "NetworkPolicy" => &NETWORK_POLICY,
        "ServiceCIDR" => &SERVICE_CIDR,
        "IPAddress" => &IP_ADDRESS,
        _ => return None,
    })
}

pub struct IngressPrinter;
pub static INGRESS: IngressPrinter = IngressPrinter;

impl Printer for IngressPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "Class",
                "string",
                "The name of the IngressClass resource that should be used for additional configuration",
            ),
            col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
            col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
            col("Ports", "string", "Ports of TLS configurations that open"),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // Upstream offers plain HTTP always, and HTTPS when any TLS section exists.
        let ports = if arr_at(obj, "/spec/tls").is_empty() { "80" } else { "80, 443" };
        vec![
            json!(name(obj)),
            json!(opt_str(obj, "/spec/ingressClassName").unwrap_or("<none>")),
            json!(format_hosts(arr_at(obj, "/spec/rules"))),
            json!(load_balancer_ingress(obj, "/status/loadBalancer/ingress")),
            json!(ports),
            age(obj, ctx),
        ]
    }
}

/// Upstream's `formatHosts`: the hosts of the first three rules that name one, "+ N more..."
/// counting all further rules, `*` when no rule names a host.
fn format_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = str_at(rule, "/host");
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_owned();
    }
    let joined = list.join(",");
    if more { format!("{joined} + {} more...", rules.len() - MAX) } else { joined }
}

pub struct IngressClassPrinter;
pub static INGRESS_CLASS: IngressClassPrinter = IngressClassPrinter;

impl Printer for IngressClassPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Controller", "string", "Controller that is responsible for handling this class"),
            col("Parameters", "string", "A reference to a resource with additional parameters"),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // "Kind[.apiGroup]/name" of the parameters reference.
        let parameters = match obj.pointer("/spec/parameters") {
            Some(p) if p.is_object() => {
                let kind = match opt_str(p, "/apiGroup") {
                    Some(group) => format!("{}.{group}", str_at(p, "/kind")),
                    None => str_at(p, "/kind").to_owned(),
                };
                format!("{kind}/{}", str_at(p, "/name"))
            }
            _ => "<none>".to_owned(),
        };
        vec![json!(name(obj)), json!(str_at(obj, "/spec/controller")), json!(parameters), age(obj, ctx)]
    }
}

pub struct NetworkPolicyPrinter;
pub static NETWORK_POLICY: NetworkPolicyPrinter = NetworkPolicyPrinter;

impl Printer for NetworkPolicyPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] =
            &[NAME, col("Pod-Selector", "string", "Selects the pods to which this NetworkPolicy object applies."), AGE];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // The pod selector is not optional: an absent one is empty and selects every pod.
        let empty = json!({});
        let selector = obj.pointer("/spec/podSelector").filter(|s| !s.is_null()).unwrap_or(&empty);
        vec![json!(name(obj)), json!(format_label_selector(Some(selector))), age(obj, ctx)]
    }
}

pub struct ServiceCidrPrinter;
pub static SERVICE_CIDR: ServiceCidrPrinter = ServiceCidrPrinter;

impl Printer for ServiceCidrPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col(
                "CIDRs",
                "string",
                "CIDRs defines the IP blocks in CIDR notation from which to assign service cluster IPs.",
            ),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let cidrs: Vec<&str> = arr_at(obj, "/spec/cidrs").iter().filter_map(Value::as_str).collect();
        vec![json!(name(obj)), json!(cidrs.join(",")), age(obj, ctx)]
    }
}

pub struct IpAddressPrinter;
pub static IP_ADDRESS: IpAddressPrinter = IpAddressPrinter;

impl Printer for IpAddressPrinter {
    fn columns(&self) -> &'static [Column] {
        // Upstream declares no Age column for IP addresses but prints an age cell.
        const COLUMNS: &[Column] =
            &[NAME, col("ParentRef", "string", "ParentRef references the resource that an IPAddress is attached to.")];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        // "resource.group[/namespace]/name", lower-cased group resource.
        let parent = match obj.pointer("/spec/parentRef") {
            Some(p) if p.is_object() => {
                let (group, resource) = (str_at(p, "/group"), str_at(p, "/resource"));
                let mut s = if group.is_empty() {
                    resource.to_lowercase()
                } else {
                    format!("{resource}.{group}").to_lowercase()
                };
                if let Some(ns) = opt_str(p, "/namespace").filter(|ns| !ns.is_empty()) {
                    s.push('/');
                    s.push_str(ns);
                }
                s.push('/');
                s.push_str(str_at(p, "/name"));
                s
            }
            _ => "<none>".to_owned(),
        };
        vec![json!(name(obj)), json!(parent), age(obj, ctx)]
    }
}
