//! Control plane and run loop: remote nodes over SSH (russh), the local namespace cluster, the generator, scheduler and run loop.

pub mod config;
pub mod control;
pub mod run;
