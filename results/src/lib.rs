//! Run directories and what people read after a run: `results.json`,
//! `junit.xml`, the self-contained `report.html`, and the `serve` results
//! browser.
//!
//! # The run directory
//!
//! Every run (and every `shakedown check --out`) writes one directory:
//!
//! ```text
//! results/                       the results directory (`--results`, default ./results)
//!   latest -> <test>/<timestamp> symlink to the newest run
//!   <test>/                      the test's name, made filesystem-safe (safe_name)
//!     latest -> <timestamp>      symlink to the test's newest run
//!     <timestamp>/               20261122T053000.123Z (UTC start; sorts as text)
//!       test.yaml                the test file as run (with CLI overrides applied)
//!       run.json                 seed, effective settings, nodes: what `run --replay` reads
//!       history.jsonl            every op, one JSON object a line (the history crate's format)
//!       results.json             verdicts, checker results, stats, faults (SCHEMA.md)
//!       report.html              one self-contained page: open it from disk, no network
//!       junit.xml                one suite, one case per checker, for CI
//!       shakedown.log            the controller's log
//!       <node>/                  logs downloaded from each node (n1/, n2/ ...)
//! ```
//!
//! Only `history.jsonl` is needed to rebuild the rest: `shakedown report
//! RUN_DIR` ([`regenerate`]) rewrites `results.json`, `junit.xml` and
//! `report.html` from the history and the checker results stored in
//! `results.json`.
//!
//! # Writing a run
//!
//! ```no_run
//! # use results::{CheckerOutput, RunDir, RunInfo};
//! # let history = history::History::default();
//! # let lin = checkers::linearizable::check(&history, &checkers::linearizable::Options::new(checkers::linearizable::ModelKind::CasRegister)).unwrap();
//! let info = RunInfo { test: "etcd-register".into(), target: Some("etcd".into()), ..RunInfo::default() };
//! let run = RunDir::create("results".as_ref(), &info.test, results::time::now_unix_ms()).unwrap();
//! let summary = results::write_run(&run.path, &info, &history, vec![CheckerOutput::linearizable(&lin)]).unwrap();
//! println!("{}: {}", run.path.display(), summary.valid);
//! ```

pub mod grid;
pub mod junit;
pub mod redact;
pub mod report;
pub mod rundir;
pub mod serve;
pub mod stats;
pub mod summary;
pub mod time;

pub use rundir::{
    list_runs, read_summary, regenerate, write_history, write_results, write_run, Error, RunDir,
    RunEntry,
};
pub use summary::{terminal_lines, CheckerOutput, Fault, RunInfo, RunSummary, Verdict};
