//! Every integration test of this crate, linked into one test binary: one link and one copy
//! of the dependencies instead of one per file (build time and disk on a 2-core machine).

#[macro_use]
mod common;

mod documents;
mod kubectl;
