//! `shakedown run TEST.yaml`: reads the test file, applies the command
//! line's overrides, and runs it (`runner::run`) once or `--test-count`
//! times; `--replay` runs a stored run again (`super::replay`).

use super::exit;
use harness::run::signals;
use nemesis::schedule::FaultKind;
use runner::run::{apply_placement, run_test, worse, Placement, Report};
use runner::test_file::TestFile;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// The test file (YAML). With --replay: the file the run was made
    /// from, needed only when the stored copy has redacted secrets.
    #[arg(required_unless_present = "replay")]
    pub test: Option<PathBuf>,
    /// Run a stored run again: its test file, settings, seed and recorded
    /// fault schedule (same kinds, targets and offsets). Only where it
    /// runs may change (--cluster, --subnet, --nodes-file, --nodes).
    #[arg(long, value_name = "RUN_DIR")]
    pub replay: Option<PathBuf>,
    /// Run on the local cluster of this name instead of the test file's.
    #[arg(long, conflicts_with = "nodes_file")]
    pub cluster: Option<String>,
    /// The /24 of the local cluster (with --cluster; default 10.77.0.0).
    #[arg(long, requires = "cluster")]
    pub subnet: Option<std::net::Ipv4Addr>,
    /// Run on these machines instead of the test file's nodes or cluster
    /// (JSON with `ssh` and `nodes`, as `cluster up` writes).
    #[arg(long, conflicts_with = "nodes")]
    pub nodes_file: Option<PathBuf>,
    /// Length of the main phase (e.g. 60s, 5m).
    #[arg(long, value_parser = super::check::parse_duration)]
    pub time_limit: Option<Duration>,
    /// Number of concurrent clients.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Total ops/s over all clients.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Nodes in the local cluster (with `cluster: {local: N}`).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Faults to inject, comma-separated (partition,kill,pause,clock,packet),
    /// or `none`.
    #[arg(long, value_delimiter = ',')]
    pub nemesis: Option<Vec<String>>,
    /// Seed for the generator and the nemesis schedule.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Leave the database running (and its data) after the test.
    #[arg(long)]
    pub leave_db_running: bool,
    /// End the main phase at the first anomaly the online checkers find
    /// (as `stop-on: invalid` in the test file): faults are healed, final
    /// reads run, the database is torn down and the whole history is
    /// checked offline as usual; results.json says the run stopped early
    /// and why.
    #[arg(long)]
    pub stop_on_invalid: bool,
    /// Run the test this many times (the exit code is the worst verdict).
    #[arg(long, default_value_t = 1)]
    pub test_count: usize,
    /// Where run directories go (default: the test file's `results`, else ./results).
    #[arg(long)]
    pub results: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    if let Some(run_dir) = args.replay.clone() {
        return super::replay::run(args, &run_dir);
    }
    let Some(path) = &args.test else {
        eprintln!("error: no test file given");
        return ExitCode::from(exit::ERROR);
    };
    let (mut test, text) = match TestFile::load(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    if let Err(e) = apply_overrides(&mut test, &args) {
        eprintln!("error: {e}");
        return ExitCode::from(exit::ERROR);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let mut worst = exit::VALID;
    for i in 0..args.test_count.max(1) {
        if signals::received().count > 0 {
            break; // an interrupted series stops
        }
        if args.test_count > 1 {
            eprintln!("shakedown: run {} of {}", i + 1, args.test_count);
        }
        let seed = match test.seed {
            Some(s) => s.wrapping_add(i as u64),
            None => results::time::now_unix_ms() ^ (std::process::id() as u64) << 32,
        };
        let report = runtime.block_on(run_test(&test, &text, args.results.as_deref(), seed));
        print_report(&test, &report);
        let code = report.code;
        worst = worse(worst, code);
        if code == exit::ERROR {
            break;
        }
    }
    ExitCode::from(worst)
}

fn apply_overrides(test: &mut TestFile, args: &Args) -> Result<(), String> {
    if let Some(t) = args.time_limit {
        test.time_limit = t;
    }
    if let Some(c) = args.concurrency {
        test.concurrency = c;
    }
    if let Some(r) = args.rate {
        test.rate = Some(r);
    }
    apply_placement(test, &args.placement())?;
    if let Some(faults) = &args.nemesis {
        test.nemesis.faults = if faults.iter().any(|f| f == "none") {
            Vec::new()
        } else {
            faults
                .iter()
                .map(|f| {
                    serde_json::from_value::<FaultKind>(serde_json::Value::String(f.clone())).map_err(|_| {
                        format!("--nemesis {f:?}: expected partition, kill, pause, clock, packet or none")
                    })
                })
                .collect::<Result<_, _>>()?
        };
    }
    if let Some(s) = args.seed {
        test.seed = Some(s);
    }
    if args.stop_on_invalid {
        test.stop_on = Some(runner::test_file::StopOn::Invalid);
    }
    test.validate()
}

impl Args {
    /// Where the test runs instead of where its file says.
    pub fn placement(&self) -> Placement {
        Placement {
            cluster: self.cluster.clone(),
            subnet: self.subnet,
            nodes_file: self.nodes_file.clone(),
            nodes: self.nodes,
            leave_db_running: self.leave_db_running,
        }
    }
}

/// Prints how a run ended: its verdict line, then (when it ran) what each
/// checker checked and found, so a CI log reader need not open the report,
/// and where the report is.
pub fn print_report(test: &TestFile, report: &Report) {
    let Some(summary) = &report.summary else {
        return;
    };
    crate::outln!(
        "{}  {}  {} ops{}",
        test.name,
        summary.valid.name().to_uppercase(),
        report.ops,
        if report.interrupted {
            "  (interrupted)"
        } else {
            ""
        }
    );
    if !report.ran {
        return;
    }
    for c in &summary.checkers {
        for line in results::terminal_lines(c) {
            crate::outln!("{line}");
        }
    }
    if let Some(o) = &summary.online {
        crate::outln!(
            "  online: {} anomal{} in {} ops{}",
            o.anomaly_count,
            if o.anomaly_count == 1 { "y" } else { "ies" },
            o.ops,
            if o.behind > 0 {
                format!(" ({} read back from the history file)", o.behind)
            } else {
                String::new()
            }
        );
        if let Some(first) = &o.first {
            crate::outln!("    first {}", first.text);
        }
    }
    if let Some(why) = &summary.stopped_early {
        crate::outln!("  stopped early: {why}");
    }
    if let Some(dir) = &report.run_dir {
        crate::outln!("report: {}", dir.join("report.html").display());
        let anomalies: usize = summary.checkers.iter().map(|c| c.every_anomaly.len()).sum();
        if anomalies > 0 {
            crate::outln!(
                "every anomaly ({anomalies}, a line each): {}",
                dir.join(results::rundir::ANOMALIES_FILE).display()
            );
        }
    }
}
