//! The `shakedown` command line: parses arguments, wires the crates together
//! and maps verdicts to exit codes (0 valid, 1 invalid, 2 unknown, 3+ the
//! harness or its input failed). Each subcommand lives in `src/cmd/`.

mod cmd;
mod test_file;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "shakedown",
    version,
    about = "Jepsen-style fault-injection testing: real SSH, real faults, fast checkers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check recorded histories (shakedown JSONL, Jepsen EDN, jepsen.util logs).
    Check(cmd::check::Args),
    /// Build, inspect or remove a local cluster of network-namespace nodes.
    #[command(subcommand)]
    Cluster(cmd::cluster::Command),
    /// Run a test file: set up the cluster and database, run clients under
    /// the nemesis, heal, check, and write a run directory.
    Run(cmd::run::Args),
    /// Run a campaign: every cell of a test matrix (or one shard), one summary.
    Campaign(cmd::campaign::Args),
    /// Apply one fault by hand and leave it active (see `heal`).
    Fault(cmd::fault::Args),
    /// Undo every fault shakedown left active (also after a controller crash).
    Heal(cmd::heal::Args),
    /// Regenerate report.html (and results.json, junit.xml) of a stored run.
    Report(cmd::report::Args),
    /// Serve an index of stored runs and their files over HTTP.
    Serve(cmd::serve::Args),
}

fn main() -> ExitCode {
    // clap exits with 2 on usage errors, which here means "unknown": usage
    // errors are input errors (3); --help and --version still exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { cmd::exit::ERROR } else { 0 });
        }
    };
    match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Cluster(c) => cmd::cluster::run(c),
        Command::Run(args) => cmd::run::run(args),
        Command::Campaign(args) => cmd::campaign::run(args),
        Command::Fault(args) => cmd::fault::run(args),
        Command::Heal(args) => cmd::heal::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    }
}
