//! coordination.k8s.io: leases and lease candidates.

use serde_json::{Value, json};

use super::helpers::{AGE, NAME, age, col, name, str_at};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "Lease" => &LEASE,
        "LeaseCandidate" => &LEASE_CANDIDATE,
        _ => return None,
    })
}

pub struct LeasePrinter;
pub static LEASE: LeasePrinter = LeasePrinter;

impl Printer for LeasePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Holder", "string", "holderIdentity contains the identity of the holder of a current lease."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![json!(name(obj)), json!(str_at(obj, "/spec/holderIdentity")), age(obj, ctx)]
    }
}

pub struct LeaseCandidatePrinter;
pub static LEASE_CANDIDATE: LeaseCandidatePrinter = LeaseCandidatePrinter;

impl Printer for LeaseCandidatePrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("LeaseName", "string", "LeaseName is the name of the lease for which this candidate is contending."),
            col("BinaryVersion", "string", "BinaryVersion is the binary version."),
            col("EmulationVersion", "string", "EmulationVersion is the emulation version."),
            AGE,
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        vec![
            json!(name(obj)),
            json!(str_at(obj, "/spec/leaseName")),
            json!(str_at(obj, "/spec/binaryVersion")),
            json!(str_at(obj, "/spec/emulationVersion")),
            age(obj, ctx),
        ]
    }
}
