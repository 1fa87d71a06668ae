//! diskfs (work in progress)
pub mod cache;
mod rng;
