//! The Node: host facts, the object the agent registers, and its status loop.

pub mod host;
pub mod manager;
pub mod object;
