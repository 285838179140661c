//! Every integration test of this crate, linked into one test binary: one link and one copy
//! of the dependencies instead of one per file (build time and disk on a 2-core machine).

mod kubectl;
mod roundtrip;
mod wire;
