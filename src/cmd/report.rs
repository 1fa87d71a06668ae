//! `shakedown report RUN_DIR`: rebuilds `report.html`, `results.json` and
//! `junit.xml` of a stored run from its `history.jsonl` and the checker
//! results kept in `results.json`. Exits with the run's verdict.

use super::exit;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A run directory (results/<test>/<timestamp>), or `results/latest`.
    pub run_dir: PathBuf,
}

pub fn run(args: Args) -> ExitCode {
    match results::regenerate(&args.run_dir) {
        Ok(summary) => {
            println!(
                "{}  {}  {} ops",
                args.run_dir.join(results::rundir::REPORT_FILE).display(),
                summary.valid,
                summary.ops.ops
            );
            for c in &summary.checkers {
                for line in results::terminal_lines(c) {
                    println!("{line}");
                }
            }
            ExitCode::from(exit::of(summary.valid))
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}
