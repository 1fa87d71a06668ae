//! `shakedown cluster up|down|status`

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Show the local cluster.
    Status,
}

pub fn run(_cmd: Command) -> ExitCode {
    ExitCode::from(super::exit::ERROR)
}
