//! `shakedown report RUN_DIR`

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A run directory (results/<test>/<timestamp>).
    pub run_dir: PathBuf,
}

pub fn run(_args: Args) -> ExitCode {
    eprintln!("shakedown report: not implemented yet");
    ExitCode::from(super::exit::ERROR)
}
