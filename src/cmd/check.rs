//! `shakedown check FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// History files (JSONL, EDN or jepsen.util log).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(_args: Args) -> ExitCode {
    ExitCode::from(super::exit::ERROR)
}
