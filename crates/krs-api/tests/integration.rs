//! Every integration test of this crate, linked into one test binary: one link and one copy
//! of the dependencies instead of one per file (build time and disk on a 2-core machine).

#[macro_use]
mod fieldmanager_common;
#[macro_use]
mod merge_common;

mod fieldmanager_apply;
mod fieldmanager_fieldsv1;
mod fieldmanager_lists;
mod fieldmanager_migration;
mod fieldmanager_scale;
mod fieldmanager_update;
mod merge_directives;
mod merge_fuzz;
mod merge_kubectl;
mod merge_table;
mod merge_upstream_raw;
mod merge_upstream_sorted;
