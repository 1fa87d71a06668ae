//! `shakedown diskfs mount|ctl|corrupt|survey|snapshot`: disk faults on a
//! node.
//! `mount` runs the write-back FUSE file system in the foreground (the
//! nemesis starts it with setsid over SSH and talks to it with `ctl`);
//! `corrupt` and `snapshot` damage files. The logic is in the `diskfs`
//! crate; this only parses and prints.

use super::exit;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Mount a write-back view of --backing that keeps unsynced writes in memory
    /// (foreground; stops on `ctl unmount` or SIGTERM/SIGINT/SIGHUP, after
    /// writing back and fsyncing every file). Needs root, /dev/fuse and
    /// fusermount3.
    Mount {
        /// The directory holding the real files.
        #[arg(long)]
        backing: PathBuf,
        /// An existing empty directory to mount on.
        #[arg(long = "mount")]
        mountpoint: PathBuf,
        /// The control socket to create (see `ctl`).
        #[arg(long)]
        control: PathBuf,
        /// Dirty bytes held in memory before the oldest are written back
        /// (without fsync, as the kernel would under memory pressure).
        #[arg(long, default_value_t = diskfs::DEFAULT_CACHE_LIMIT)]
        cache_limit: u64,
    },
    /// Send one command to a mounted diskfs and print its JSON reply (exit
    /// 0 iff it says ok). `stats`: dirty files and bytes; `flush`: write
    /// back and fsync every file; `drop`: forget every unsynced write and
    /// size change, as a power failure would; `unmount`: flush, unmount,
    /// exit.
    Ctl {
        #[arg(long)]
        control: PathBuf,
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(diskfs::COMMANDS))]
        cmd: String,
    },
    /// Corrupt files (bit flips, a cut tail, or chunks rolled back to a
    /// snapshot) and print a JSON report of what changed. Writes are
    /// fsync'ed.
    Corrupt {
        /// The directory the globs are relative to.
        #[arg(long)]
        dir: PathBuf,
        /// Globs of files (`*`, `?`, `**`), relative to --dir.
        #[arg(long, num_args = 1.., required = true)]
        files: Vec<String>,
        /// bitflip: each bit flips with probability P; truncate: cut a tail
        /// of 1..=min(size, 1 MiB) bytes; rollback: restore chunks from the
        /// snapshot.
        #[arg(long, value_parser = ["bitflip", "truncate", "rollback"])]
        mode: String,
        /// Per bit (bitflip, default 1e-6), per file (truncate, default 1)
        /// or per 1 MiB chunk (rollback, default 1).
        #[arg(long)]
        probability: Option<f64>,
        /// The same seed and files make the same damage.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where the snapshots are (default:
        /// /tmp/shakedown-diskfs/snapshots/<absolute --dir>).
        #[arg(long)]
        snapshots: Option<PathBuf>,
    },
    /// Count the regular files under --dir each glob matches, and show the
    /// first few files there (JSON; the run checks the corrupt fault's
    /// globs with this before its clients start).
    Survey {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, num_args = 1.., required = true)]
        files: Vec<String>,
    },
    /// Copy files aside, for a later `corrupt --mode rollback`.
    Snapshot {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, num_args = 1.., required = true)]
        files: Vec<String>,
        #[arg(long)]
        snapshots: Option<PathBuf>,
    },
}

pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Mount {
            backing,
            mountpoint,
            control,
            cache_limit,
        } => {
            // The daemon's log goes to stderr (the nemesis redirects it to a
            // file on the node).
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("SHAKEDOWN_LOG")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .try_init();
            let opts = diskfs::ServeOptions {
                backing,
                mountpoint,
                control,
                cache_limit,
            };
            match diskfs::serve(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(exit::ERROR)
                }
            }
        }
        Command::Ctl { control, cmd } => match diskfs::request(&control, &cmd) {
            Ok(reply) => {
                crate::outln!("{reply}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Corrupt {
            dir,
            files,
            mode,
            probability,
            seed,
            snapshots,
        } => {
            let res = mode.parse().and_then(|mode| {
                diskfs::corrupt::corrupt(&diskfs::corrupt::Options {
                    dir,
                    files,
                    mode,
                    probability,
                    seed,
                    snapshots,
                    chunk_size: diskfs::corrupt::DEFAULT_CHUNK_SIZE,
                })
            });
            print_report(res)
        }
        Command::Survey { dir, files } => match diskfs::glob::survey(&dir, &files) {
            Ok(s) => {
                crate::outln!("{}", serde_json::to_string(&s).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Snapshot {
            dir,
            files,
            snapshots,
        } => print_report(diskfs::corrupt::snapshot(
            &dir,
            &files,
            snapshots.as_deref(),
        )),
    }
}

fn print_report(res: Result<diskfs::corrupt::Report, diskfs::Error>) -> ExitCode {
    match res {
        Ok(r) => {
            crate::outln!("{}", serde_json::to_string(&r).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// Errors are JSON on stdout too, so a caller parsing stdout always gets
/// a reply; the message also goes to stderr for a person.
fn fail(e: &diskfs::Error) -> ExitCode {
    crate::outln!("{}", serde_json::json!({"ok": false, "error": e.message()}));
    eprintln!("error: {e}");
    ExitCode::from(exit::ERROR)
}
