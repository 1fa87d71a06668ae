//! History checkers. Pure and synchronous: a checker takes a history (and
//! options) and returns a verdict with evidence; it does no I/O of its own.

pub mod linearizable;
pub mod txn;
pub mod verdict;
