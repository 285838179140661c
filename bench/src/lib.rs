//! krs benchmarks: each binary under src/bin prints its figures and the ratios against its
//! reference. This library holds what several of them share: a minimal HTTPS client that
//! authenticates with the admin client certificate of a kubeconfig, process measurements from
//! /proc, and starting `krs server` plus summary statistics.

pub mod client;
pub mod proc;
pub mod util;
