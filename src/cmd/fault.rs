//! `shakedown fault partition|kill|pause|clock|packet ...`

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    eprintln!("shakedown fault: not implemented yet");
    ExitCode::from(super::exit::ERROR)
}
