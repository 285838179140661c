//! Fixtures shared by the integration tests. Each test binary uses a part of them.
#![allow(dead_code)]

pub mod catalog;
pub mod protobuf;
