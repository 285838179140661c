//! Strategic merge patch (krs-api's engine) on (kind, original, patch) built from the input
//! along the kind's schema; never panics, whatever it returns. See
//! krs_api::merge::fuzz_strategic_merge_patch for the input format.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    krs_api::merge::fuzz_strategic_merge_patch(data);
});
