//! History checkers. Pure and synchronous: a checker takes a history (and
//! options) and returns a verdict with evidence; it does no I/O of its own.

pub mod bank;
pub mod counter;
pub mod linearizable;
pub mod long_fork;
pub mod queue;
pub mod txn;
pub mod unique_ids;
pub mod verdict;
