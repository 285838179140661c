//! Container runtimes: `cri` (containerd through the CRI) and `sim` (simulated nodes).

pub mod sim;
