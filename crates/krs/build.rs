//! Links the `krs` executable:
//!
//! - at a fixed address (not position-independent), as Go links upstream's binaries. A PIE of
//!   this size carries about 68,000 relative relocations: at every start the dynamic loader
//!   reads 1.6 MB of relocation records and writes 1.2 MB of pointer tables (`.data.rel.ro`),
//!   which then stay in the process's resident set as private copies. Linked fixed, those
//!   tables are final in the file and are paged in only where used.
//! - with the code `krs server` runs while it starts placed together in `.text`
//!   (`link/startup.order`, made by `link/startup-order.sh`; LLD, rustc's default linker on
//!   x86_64 Linux, reads it as a symbol ordering file). Start-up
//!   touches a few thousand functions spread over 64 MB of code; each first touch maps the
//!   64 kB around it (more when the page cache holds the file in large folios), which made up
//!   three quarters of an idle server's resident set. Grouped, they map a few megabytes.
//!   Functions missing from the list (renamed since it was made) are simply placed as usual.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/startup.order");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.contains("linux") {
        return;
    }
    println!("cargo:rustc-link-arg-bin=krs=-no-pie");
    let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("link/startup.order");
    let profile = std::env::var("PROFILE").unwrap_or_default();
    // KRS_LINK_ORDER=0 turns the ordering off (for a linker other than LLD).
    println!("cargo:rerun-if-env-changed=KRS_LINK_ORDER");
    let wanted = std::env::var("KRS_LINK_ORDER").as_deref() != Ok("0");
    if wanted && profile == "release" && target == "x86_64-unknown-linux-gnu" && order.exists() {
        println!("cargo:rustc-link-arg-bin=krs=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bin=krs=-Wl,--no-warn-symbol-ordering");
    }
}
