//! `shakedown run TEST.yaml`

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    eprintln!("shakedown run: not implemented yet");
    ExitCode::from(super::exit::ERROR)
}
