//! History checkers. Pure and synchronous: a checker takes a history (and
//! options) and returns a verdict with evidence; it does no I/O of its own.
//!
//! # Adding a checker
//!
//! A checker is a module with a `check(history, options) -> YourResult`
//! function and a result type that is plain data:
//!
//! 1. Derive `serde::Serialize` on the result: `results.json` keeps it
//!    verbatim under `checkers[].result`, for people and tools that want
//!    every detail.
//! 2. Implement [`CheckerResult`] for it, once. That is all the report,
//!    `junit.xml` and the timeline ever read:
//!    - `valid()`: the [`verdict::Validity`]. A history with no client
//!      operation is `Unknown`, never `Valid`; say why in `reason()`.
//!    - `blamed()`: the history indexes the verdict rests on, each with a
//!      few words ([`result::Blame`]); the report outlines them on the
//!      timeline and steps through them.
//!    - `summary()`: one to three short lines (the report's checker table
//!      joins them on one line; JUnit puts them first in the failure).
//!    - `section()`: the checker's part of the report, as
//!      [`result::Block`]s: paragraphs (`Block::text`, `Block::alert`),
//!      fact tiles (`Block::facts`), chips, value lists (`Block::values`),
//!      tables, and the two pictures (`Block::Linearizability`,
//!      `Block::Cycle`). The report draws every block the same way for
//!      every checker, so a new checker needs no change in `results`.
//!    - `elapsed_ms()`: how long it took, if measured (JUnit's `time`).
//! 3. Hand the result to `results::CheckerOutput::new(name, kind, &result)`
//!    (the `kind` names the checker for `shakedown check RUN_DIR`), or, in a
//!    workload, return it in a `workloads::Checked` variant whose
//!    `result()` arm returns it.
//!
//! `results` stores what the trait returned beside the result and renders
//! from that, so `shakedown report RUN_DIR` redraws a run from its
//! `results.json` alone, byte for byte. [`linearizable`] (its `findings`
//! module) and [`txn`] are worked examples; a result that is simplest to
//! state directly can be a [`result::Findings`].

pub mod bank;
pub mod counter;
pub mod linearizable;
pub mod long_fork;
pub mod online;
pub mod queue;
pub mod result;
pub mod txn;
pub mod unique_ids;
pub mod verdict;

pub use result::CheckerResult;
