//! Pod status: generation from container states, and the StatusManager that writes it.

pub mod generate;
pub mod manager;
