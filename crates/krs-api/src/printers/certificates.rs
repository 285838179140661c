//! certificates.k8s.io: certificate signing requests and cluster trust bundles.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, arr_at, col, human_duration, name, opt_int, or, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "CertificateSigningRequest" => &CERTIFICATE_SIGNING_REQUEST,
        "ClusterTrustBundle" => &CLUSTER_TRUST_BUNDLE,
        _ => return None,
    })
}

pub struct CertificateSigningRequestPrinter;
pub static CERTIFICATE_SIGNING_REQUEST: CertificateSigningRequestPrinter = CertificateSigningRequestPrinter;

impl Printer for CertificateSigningRequestPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            AGE,
            col("SignerName", "string", "Requested signer for the request."),
            col("Requestor", "string", "The user that created the request."),
            col("RequestedDuration", "string", "The requested duration of validity of the issued certificate."),
            col("Condition", "string", "Conditions applied to the request."),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let duration = opt_int(obj, "/spec/expirationSeconds")
            .map_or_else(|| "<none>".to_owned(), |s| human_duration(i128::from(s) * 1_000_000_000));
        vec![
            json!(name(obj)),
            age(obj, ctx),
            json!(or(str_at(obj, "/spec/signerName"), "<none>")),
            json!(str_at(obj, "/spec/username")),
            json!(duration),
            json!(csr_status(obj)),
        ]
    }
}

/// Denied, else Approved, else Pending; then ",Failed" and ",Issued" when they apply.
fn csr_status(obj: &Value) -> String {
    let has = |kind: &str| arr_at(obj, "/status/conditions").iter().any(|c| str_at(c, "/type") == kind);
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_owned();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !str_at(obj, "/status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    status
}

pub struct ClusterTrustBundlePrinter;
pub static CLUSTER_TRUST_BUNDLE: ClusterTrustBundlePrinter = ClusterTrustBundlePrinter;

impl Printer for ClusterTrustBundlePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] =
            &[NAME, col("SignerName", "string", "signerName indicates the associated signer, if any.")];
        COLUMNS
    }
    fn cells(&self, obj: &Value, _ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(or(str_at(obj, "/spec/signerName"), "<none>"))]
    }
}
