//! The `shakedown` command line: parses arguments, wires the crates together
//! and maps verdicts to exit codes (0 valid, 1 invalid, 2 unknown, 3+ the
//! harness or its input failed). Each subcommand lives in `src/cmd/`.

mod cmd;

use clap::{CommandFactory, Parser, Subcommand};
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
    /// Serve an index of stored runs, campaign grids and files over HTTP
    /// (one results directory or several).
    Serve(cmd::serve::Args),
    /// Merge the results directories of many machines (CI shards) into one,
    /// with one summary per campaign.
    Merge(cmd::merge::Args),
    /// Disk faults on a node: a write-back FUSE mount that can drop unsynced
    /// writes (power loss), and file corruption. Run by the nemesis over
    /// SSH; see `shakedown diskfs --help`.
    #[command(subcommand, hide = true)]
    Diskfs(cmd::diskfs::Command),
    /// Print a shell completion script, e.g. `shakedown completions bash >
    /// /etc/bash_completion.d/shakedown`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `shakedown man | man -l -`; with a
    /// subcommand, that subcommand's page; `shakedown man shakedown-test`:
    /// the test and campaign files' reference (section 5).
    Man {
        /// A subcommand (`run`, `check`, ...), or `shakedown-test`.
        subcommand: Option<String>,
        /// With `shakedown-test`: the reference as Markdown (docs/test-file.md).
        #[arg(long)]
        markdown: bool,
    },
    /// Print the JSON Schema of test files or campaign files, for editors
    /// (`# yaml-language-server: $schema=...`) and validators.
    Schema {
        #[arg(value_enum)]
        file: SchemaFile,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SchemaFile {
    /// A test file (`shakedown run`).
    Test,
    /// A campaign file (`shakedown campaign`).
    Campaign,
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
        Command::Merge(args) => cmd::merge::run(args),
        Command::Diskfs(c) => cmd::diskfs::run(c),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "shakedown", &mut out);
            print_bytes(&out)
        }
        Command::Man {
            subcommand,
            markdown,
        } => match subcommand.as_deref() {
            Some(runner::reference::PAGE) => {
                let r = reference();
                print_bytes(
                    if markdown {
                        r.markdown()
                    } else {
                        r.roff(env!("CARGO_PKG_VERSION"))
                    }
                    .as_bytes(),
                )
            }
            _ if markdown => {
                eprintln!(
                    "error: --markdown is for `shakedown man {}` only",
                    runner::reference::PAGE
                );
                ExitCode::from(cmd::exit::ERROR)
            }
            other => man(other),
        },
        Command::Schema { file } => {
            let schema = match file {
                SchemaFile::Test => runner::test_file::TestFile::schema(),
                SchemaFile::Campaign => campaign::Campaign::schema(),
            };
            let text = serde_json::to_string_pretty(&schema).unwrap_or_default();
            print_bytes(format!("{text}\n").as_bytes())
        }
    }
}

/// The test and campaign files' reference, from their schemas.
fn reference() -> runner::reference::Reference {
    runner::reference::Reference::new(
        &runner::test_file::TestFile::schema(),
        &campaign::Campaign::schema(),
    )
}

/// The man page of shakedown, or of one of its subcommands.
fn man(subcommand: Option<&str>) -> ExitCode {
    let mut command = Cli::command();
    command.build(); // fills in the subcommands' names and versions
    let page = match subcommand {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            // Built: its display name is `shakedown-NAME`, the page's title.
            Some(sub) => sub.clone(),
            None => {
                let mut names: Vec<&str> =
                    command.get_subcommands().map(|c| c.get_name()).collect();
                names.push(runner::reference::PAGE);
                eprintln!(
                    "error: no subcommand {name:?} (one of: {})",
                    names.join(", ")
                );
                return ExitCode::from(cmd::exit::ERROR);
            }
        },
    };
    let mut out = Vec::new();
    let man =
        clap_mangen::Man::new(page).source(format!("shakedown {}", env!("CARGO_PKG_VERSION")));
    if let Err(e) = man.render(&mut out) {
        eprintln!("error: rendering the man page: {e}");
        return ExitCode::from(cmd::exit::ERROR);
    }
    print_bytes(&out)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(bytes);
    ExitCode::SUCCESS
}
