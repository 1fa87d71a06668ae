//! `shakedown check FILE...`: checks recorded histories and prints one line
//! per file, then a summary table (or, with `--json`, the full results).

pub mod memory;
pub mod simple;

use super::exit;
use checkers::linearizable::{self, LinResult, ModelKind, NilReads};
use checkers::txn::{self, ConsistencyModel, TxnResult};
use checkers::verdict::Validity;
use history::stream::TxnItem;
use history::{Format, Value};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// History files (shakedown JSON Lines, Jepsen EDN or jepsen.util
    /// logs), or run directories (their history is checked with the checker
    /// recorded in their results.json unless --model/--workload say otherwise).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The linearizability model: register, cas-register (default),
    /// key-value, multi-register, mutex, set, fifo-queue, unordered-queue.
    #[arg(long)]
    pub model: Option<ModelKind>,
    /// What a read that returned nil tells the register models: `strict`
    /// (default: the register was nil) or `any` (nothing: it matches every
    /// state, Knossos's rule; use it for Knossos and Jepsen histories).
    #[arg(long, value_name = "RULE")]
    pub nil_reads: Option<NilReads>,
    /// Jepsen `independent` histories: each value is a `[key value]` tuple;
    /// split it and check every key on its own.
    #[arg(long)]
    pub independent: bool,
    /// Also write a run directory (results.json, junit.xml, report.html,
    /// history.jsonl) to DIR; with several files, one under DIR per file.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Check a workload's history instead: transactions (Elle-style:
    /// list-append, rw-register), or bank, counter, queue (= total-queue),
    /// unique-ids, long-fork. `--model` then does not apply; `--initial`
    /// gives the bank's initial balances (a map) or the counter's value.
    #[arg(long)]
    pub workload: Option<simple::WorkloadArg>,
    /// Consistency models a transactional history must satisfy
    /// (comma-separated; default serializable, or for a run directory the
    /// models it was checked for): Elle's names, e.g. strict-serializable,
    /// serializable, snapshot-isolation, repeatable-read, read-atomic,
    /// update-atomic, monotonic-atomic-view, cursor-stability,
    /// read-committed, read-uncommitted, parallel-snapshot-isolation,
    /// update-serializable, strong-session-read-committed (all 25 are in
    /// the README), or Adya's (PL-2, PL-SI ...). Given for a history that
    /// is not transactional, it is an error.
    #[arg(long, value_delimiter = ',')]
    pub consistency: Vec<ConsistencyModel>,
    /// rw-register only: assume every key is linearizable
    /// (`linearizable-keys`) or sequentially consistent (`sequential-keys`),
    /// which lets the checker infer version orders.
    #[arg(long, value_delimiter = ',')]
    pub assume: Vec<Assumption>,
    /// Initial state of every key (`nil`, a JSON value, or a bare string).
    #[arg(long, default_value = "nil")]
    pub initial: String,
    /// Input format; `auto` looks at the content.
    #[arg(long, default_value = "auto")]
    pub format: FormatArg,
    /// Check the history as one object instead of one object per `key`.
    #[arg(long)]
    pub no_partition: bool,
    /// Give up with `unknown` after this long per file (e.g. 90s, 5m).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub time_limit: Duration,
    /// Memory to stay within (e.g. 512M, 4G): peak resident memory of the
    /// whole process. Linearizability: a history that would take more than
    /// half of it held whole is spilled to files under $TMPDIR (default
    /// /var/tmp) and checked key group by key group (same verdict and
    /// evidence); the search cache gets what the history leaves, and past
    /// that gives `unknown`. Transactions: a history whose check is
    /// estimated to need more gives `unknown` (with the estimate) while it
    /// is read. Whatever the checker, a guard watching resident memory
    /// ends the check with `unknown` (exit 2) just below the limit.
    #[arg(long, default_value = "4G", value_parser = parse_bytes)]
    pub memory_limit: usize,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the full results as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// What the memory guard needs to answer for the whole run when it stops
/// the process: the reports so far and the file being checked.
struct Progress {
    json: bool,
    limit: usize,
    /// The file being checked, since when.
    current: Option<(PathBuf, Instant)>,
    reports: Vec<FileReport>,
}

/// Called by the memory guard (on its thread) when resident memory comes
/// near `--memory-limit`: the file being checked is `unknown`, with the
/// reason; everything is printed as a normal end would print it, and the
/// process exits with the combined code (2 unless an earlier file was
/// invalid or an error). Once every file is checked (no current file) it
/// does nothing: the results are being printed.
fn memory_exceeded(progress: &Mutex<Progress>, rss: usize) {
    let mut p = progress.lock().unwrap_or_else(PoisonError::into_inner);
    let Some((file, since)) = p.current.clone() else {
        return;
    };
    let reason = format!(
        "stopped at the memory limit: resident memory reached {} of --memory-limit {} (the guard stops just below it), so checking this history needs more: raise --memory-limit",
        memory::human_bytes(rss),
        memory::human_bytes(p.limit)
    );
    let mut report = FileReport::empty(&file);
    report.valid = Some(Validity::Unknown);
    report.reason = Some(reason);
    report.seconds = since.elapsed().as_secs_f64();
    if !p.json {
        print_line(&report);
    }
    p.reports.push(report);
    if p.json {
        match serde_json::to_string_pretty(&p.reports) {
            Ok(s) => crate::outln!("{s}"),
            Err(e) => eprintln!("error: cannot encode results as JSON: {e}"),
        }
    } else if p.reports.len() > 1 {
        print_summary(&p.reports);
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    std::process::exit(exit_code(&p.reports).into())
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Assumption {
    LinearizableKeys,
    SequentialKeys,
}

#[derive(Clone, Copy)]
pub enum FormatArg {
    Auto,
    Known(Format),
}

impl std::str::FromStr for FormatArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(FormatArg::Auto),
            other => other.parse().map(FormatArg::Known),
        }
    }
}

impl FormatArg {
    fn format(self) -> Option<Format> {
        match self {
            FormatArg::Auto => None,
            FormatArg::Known(f) => Some(f),
        }
    }
}

/// `90`, `90s`, `1.5m`, `500ms`, `2h`, `1e3s`, at most a week: one
/// parser for every duration (harness::config), so none can panic.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    harness::config::parse_duration(s)
}

pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let upper = s.trim().to_ascii_uppercase();
    let upper = upper.trim_end_matches("IB").trim_end_matches('B');
    let (num, shift) = match upper.chars().last() {
        Some('K') => (&upper[..upper.len() - 1], 10),
        Some('M') => (&upper[..upper.len() - 1], 20),
        Some('G') => (&upper[..upper.len() - 1], 30),
        Some('T') => (&upper[..upper.len() - 1], 40),
        _ => (upper, 0),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected a size such as 512M or 4G"))?;
    Ok((n * (1u64 << shift) as f64) as usize)
}

/// Any JSON value, or else an EDN value (`nil`, `0`, `"x"`, `#{1 2}`).
/// JSON first: `{"x":0}` also reads as EDN, wrongly (`:0` is a keyword there).
fn parse_initial(s: &str) -> Result<Value, String> {
    serde_json::from_str(s)
        .or_else(|_| history::edn::parse_value(s))
        .map_err(|e| format!("--initial {s:?}: expected a JSON or EDN value: {e}"))
}

/// The result for one file, as `--json` prints it.
#[derive(Serialize)]
struct FileReport {
    file: PathBuf,
    valid: Option<Validity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Why the verdict is unknown when no checker result says it: the
    /// memory guard stopped the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    ops: usize,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    linearizable: Option<LinResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transactional: Option<TxnResult>,
    /// Bank, counter, queue, unique-ids or long-fork.
    #[serde(skip_serializing_if = "Option::is_none")]
    workload: Option<workloads::Checked>,
}

/// Which checker a file goes through.
enum Checker {
    Linearizable(linearizable::Options),
    Transactional(txn::Options),
    Simple(simple::WorkloadArg, simple::Initial),
}

pub fn run(args: Args) -> ExitCode {
    if let Err(e) = linearizability_flags_apply(&args) {
        eprintln!("error: {e}");
        return ExitCode::from(exit::ERROR);
    }
    let initial = match parse_initial(&args.initial) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let simple_initial = match simple::Initial::new(args.workload, &args.initial, &initial) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let progress = Arc::new(Mutex::new(Progress {
        json: args.json,
        limit: args.memory_limit,
        current: None,
        reports: Vec::with_capacity(args.files.len()),
    }));
    let shared = Arc::clone(&progress);
    memory::start(
        args.memory_limit,
        Box::new(move |rss| memory_exceeded(&shared, rss)),
    );
    let lock = || progress.lock().unwrap_or_else(PoisonError::into_inner);
    for file in &args.files {
        lock().current = Some((file.clone(), Instant::now()));
        let resolved = Input::resolve(file).and_then(|input| {
            let checker = input.checker(&args, &initial, &simple_initial)?;
            Ok((input, checker))
        });
        let (input, checker) = match resolved {
            Ok(r) => r,
            Err(e) => {
                let report = FileReport::error(file, e);
                if !args.json {
                    print_line(&report);
                }
                lock().reports.push(report);
                continue;
            }
        };
        // Without --out (which writes the history) transactions need not
        // be held as general ops: read them straight into compact form.
        let (report, history) = match &checker {
            Checker::Transactional(opts) if args.out.is_none() => {
                let f = args.format.format();
                let report = check_txn_file(&input.history, f, opts, args.memory_limit);
                (report, None)
            }
            // Without --out the ops need not be kept: a history too large
            // to hold whole is checked key group by key group, spilled to
            // files (same verdict, same evidence).
            Checker::Linearizable(opts) if args.out.is_none() => {
                let f = args.format.format();
                (check_lin_file(&input.history, f, opts), None)
            }
            _ => check_file(&input.history, args.format.format(), &checker),
        };
        if !args.json {
            print_line(&report);
        }
        if let (Some(out), Some(history)) = (&args.out, &history) {
            let dir = if args.files.len() == 1 {
                out.clone()
            } else {
                out.join(results::rundir::safe_name(&input.name))
            };
            match write_run_dir(&dir, &input, history, &report) {
                Ok(()) if !args.json => {
                    crate::outln!("  report: {}", dir.join("report.html").display());
                    let anomalies = dir.join(results::rundir::ANOMALIES_FILE);
                    if let Some(n) = report.transactional.as_ref().map(|t| t.every_anomaly.len()) {
                        if n > 0 {
                            crate::outln!(
                                "  every anomaly ({n}, a line each): {}",
                                anomalies.display()
                            );
                        }
                    }
                }
                Ok(()) => {}
                Err(e) => eprintln!("error: {e}"),
            }
        }
        lock().reports.push(report);
    }
    // Checking is over: the guard no longer answers for a file.
    let reports = {
        let mut p = lock();
        p.current = None;
        std::mem::take(&mut p.reports)
    };
    if args.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(s) => crate::outln!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode results as JSON: {e}");
                return ExitCode::from(exit::ERROR);
            }
        }
    } else if reports.len() > 1 {
        print_summary(&reports);
    }
    ExitCode::from(exit_code(&reports))
}

/// `--nil-reads` and `--independent` change how linearizability models
/// read a history: given where they cannot, they would be ignored silently.
fn linearizability_flags_apply(args: &Args) -> Result<(), String> {
    if args.workload.is_some() && (args.nil_reads.is_some() || args.independent) {
        return Err(
            "--nil-reads and --independent apply to linearizability models, not to --workload"
                .into(),
        );
    }
    match args.model {
        Some(m) if args.nil_reads.is_some() && !m.has_nil_rule() => Err(format!(
            "--nil-reads applies to the register, cas-register and multi-register models, not to {}",
            m.name()
        )),
        _ => Ok(()),
    }
}

/// One input: a history file, or a stored run directory.
struct Input {
    /// A name for the run directory written by `--out`.
    name: String,
    history: PathBuf,
    /// The run's stored results, which say how it was checked.
    stored: Option<results::RunSummary>,
}

impl Input {
    fn resolve(path: &Path) -> Result<Input, String> {
        if path.is_dir() {
            let history = results::rundir::history_path(path).ok_or_else(|| {
                format!(
                    "{}: a directory without history.jsonl: expected a history file or a run directory",
                    path.display()
                )
            })?;
            let stored = results::read_summary(path).ok();
            let name = stored
                .as_ref()
                .map_or_else(|| stem(path), |s| s.test.clone());
            Ok(Input {
                name,
                history,
                stored,
            })
        } else {
            Ok(Input {
                name: stem(path),
                history: path.to_path_buf(),
                stored: None,
            })
        }
    }

    /// The checker the flags ask for, or else the one the stored run used.
    /// Flags the checker would ignore are an error: what the user asks
    /// for is what is checked (`--consistency` for a stored run rechecks
    /// it under those models, not the recorded ones).
    fn checker(
        &self,
        args: &Args,
        initial: &Value,
        simple_initial: &simple::Initial,
    ) -> Result<Checker, String> {
        let stored = |kind: &str| {
            self.stored
                .as_ref()
                .and_then(|s| s.checkers.iter().find(|c| c.kind == kind))
                .map(|c| &c.result)
        };
        let mut workload = args.workload;
        let mut consistency = args.consistency.clone();
        let mut model = args.model;
        let mut nil_reads = args.nil_reads;
        if model.is_none() && workload.is_none() {
            let stored_checkers = self.stored.iter().flat_map(|s| &s.checkers);
            if let Some(w) = stored_checkers
                .filter_map(|c| simple::WorkloadArg::from_kind(&c.kind))
                .next()
            {
                workload = Some(w);
            } else if let Some(r) = stored("txn") {
                workload = r["workload"].as_str().and_then(|w| w.parse().ok());
                let models: Vec<ConsistencyModel> = r["consistency"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str()?.parse().ok())
                    .collect();
                if !models.is_empty() && consistency.is_empty() {
                    consistency = models;
                }
            } else if let Some(r) = stored("linearizable") {
                model = r["model"].as_str().and_then(|m| m.parse().ok());
                nil_reads = nil_reads.or(r["nil_reads"].as_str().and_then(|m| m.parse().ok()));
            }
        }
        let txn_workload = match workload {
            Some(simple::WorkloadArg::Txn(w)) => Some(w),
            _ => None,
        };
        let checked = || match (workload, model) {
            (Some(w), _) => format!("the {} workload", w.name()),
            (None, Some(m)) => format!("the {} model", m.name()),
            (None, None) => "linearizability (no --workload given)".to_string(),
        };
        if txn_workload.is_none() && !args.consistency.is_empty() {
            return Err(format!(
                "--consistency applies to transactional histories (--workload list-append or rw-register), but {} is checked for {}",
                self.history.display(),
                checked()
            ));
        }
        if txn_workload != Some(txn::Workload::RwRegister) && !args.assume.is_empty() {
            return Err(format!(
                "--assume applies to rw-register histories, but {} is checked for {}",
                self.history.display(),
                checked()
            ));
        }
        if consistency.is_empty() {
            consistency = vec![ConsistencyModel::Serializable];
        }
        Ok(match workload {
            None => Checker::Linearizable(linearizable::Options {
                model: model.unwrap_or(ModelKind::CasRegister),
                initial: initial.clone(),
                partition_by_key: !args.no_partition,
                nil_reads: nil_reads.unwrap_or_default(),
                independent: args.independent,
                time_limit: Some(args.time_limit),
                memory_limit: args.memory_limit,
                threads: args.threads,
            }),
            Some(simple::WorkloadArg::Txn(workload)) => Checker::Transactional(txn::Options {
                workload,
                consistency,
                rw_assume: txn::RwAssume {
                    linearizable_keys: args.assume.contains(&Assumption::LinearizableKeys),
                    sequential_keys: args.assume.contains(&Assumption::SequentialKeys),
                },
                ..Default::default()
            }),
            Some(w) => Checker::Simple(w, simple_initial.or_stored(stored("bank"))),
        })
    }
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "history".to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

fn write_run_dir(
    dir: &Path,
    input: &Input,
    history: &history::History,
    report: &FileReport,
) -> Result<(), String> {
    let info = results::RunInfo {
        test: input.name.clone(),
        source: Some(input.history.display().to_string()),
        ..Default::default()
    };
    let mut outputs = Vec::new();
    if let Some(lin) = &report.linearizable {
        outputs.push(results::CheckerOutput::linearizable(lin));
    }
    if let Some(t) = &report.transactional {
        let name = match t.workload {
            txn::Workload::ListAppend => "elle list-append",
            txn::Workload::RwRegister => "elle rw-register",
        };
        outputs.push(results::CheckerOutput::txn(name, t));
    }
    if let Some(c) = &report.workload {
        outputs.push(simple::output(c, "elle"));
    }
    if let Some(e) = &report.error {
        outputs.push(results::CheckerOutput::error("check", "error", e));
    }
    // A history written by shakedown itself is copied; others are converted.
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    results::write_run(dir, &info, history, outputs)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Checks transactions read straight from the file into the checker's
/// compact form (the ops are not kept); the ops the evidence shows are read
/// again. Reading stops with `unknown` as soon as the check of what was
/// read is estimated to need more than `memory_limit` at its peak
/// ([`txn::Txns::peak_estimate`]): stopping then, rather than when the
/// graph is built, is what keeps the process within the limit.
fn check_txn_file(
    file: &Path,
    format: Option<Format>,
    opts: &txn::Options,
    memory_limit: usize,
) -> FileReport {
    let started = Instant::now();
    let mut report = FileReport::empty(file);
    let mut b = txn::Builder::new(opts.workload == txn::Workload::ListAppend);
    let mut over = None;
    let read = history::stream::for_each_txn_line(file, format, b.lists(), |item| {
        match item {
            TxnItem::Fast(line, raw) => b.push_line(line, raw)?,
            TxnItem::Op(op) => b.push_owned(*op)?,
        }
        if b.ops() % 4096 == 0 {
            let needs = b.peak_estimate();
            if needs > memory_limit {
                over = Some(needs);
                return Ok(std::ops::ControlFlow::Break(()));
            }
        }
        Ok(std::ops::ControlFlow::Continue(()))
    });
    report.ops = b.ops();
    let (txns, mops) = (b.txns(), b.mops());
    let too_big = |needs: usize, whole: bool| {
        txn::TxnResult::unknown(
            opts,
            txn_memory_reason(file, needs, memory_limit, txns, mops, report.ops, whole),
        )
    };
    let r = match read {
        Err(e) => {
            report.error = Some(e.to_string());
            report.seconds = started.elapsed().as_secs_f64();
            return report;
        }
        Ok(_) if over.is_some() => too_big(over.unwrap_or_default(), false),
        Ok(_) if b.wrong_workload().is_some() => {
            // The other workload's history would be misread: refuse it.
            let why = b.wrong_workload().unwrap_or_default();
            report.error = Some(format!("{}: {why}", file.display()));
            report.seconds = started.elapsed().as_secs_f64();
            return report;
        }
        Ok(format) => {
            let read_ms = started.elapsed().as_millis() as u64;
            let t = b.finish();
            // Txns left open at the end add their micro-ops only now.
            let needs = t.peak_estimate();
            if needs > memory_limit {
                too_big(needs, true)
            } else {
                let mut r = txn::check_txns(t, opts, |positions| {
                    history::stream::ops_at(file, format, positions).unwrap_or_default()
                });
                r.phase_ms.insert("read", read_ms);
                r.elapsed_ms = started.elapsed().as_millis() as u64;
                r
            }
        }
    };
    report.valid = Some(r.valid);
    report.transactional = Some(r);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Why a transactional history was not checked: what its check needs, by
/// the estimate, against the limit. `whole`: the file was read to its end;
/// else reading stopped after `ops` ops, and what the whole file would
/// need is extrapolated from the length of its first lines.
fn txn_memory_reason(
    file: &Path,
    needs: usize,
    limit: usize,
    txns: usize,
    mops: usize,
    ops: usize,
    whole: bool,
) -> String {
    let gb = memory::human_bytes;
    if whole {
        return format!(
            "the history needs about {} of memory to check ({txns} txns, {mops} micro-ops), more than the memory limit (--memory-limit {})",
            gb(needs),
            gb(limit)
        );
    }
    let whole_file = file_ops_estimate(file)
        .filter(|&total| total > ops as u64)
        .map(|total| {
            // The process's own share does not grow with the history.
            let fixed = txn::txns::PEAK_FIXED.min(needs);
            let per_op = (needs - fixed) as f64 / ops.max(1) as f64;
            let scaled = fixed as f64 + per_op * total as f64;
            format!(
                "; the whole file (about {total} ops) would need about {}",
                gb(scaled as usize)
            )
        })
        .unwrap_or_default();
    format!(
        "the history needs more than the memory limit (--memory-limit {}) to check: reading stopped at op {ops}, where the {txns} txns and {mops} micro-ops read so far already need about {}{whole_file}",
        gb(limit),
        gb(needs)
    )
}

/// About how many ops (lines) `file` holds, from the lines in four 1 MB
/// windows spread over it (a history's first lines are shorter than the
/// rest: its reads grow): only for the wording of a reason, never for a
/// verdict.
fn file_ops_estimate(file: &Path) -> Option<u64> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    const WINDOW: u64 = 1 << 20;
    let len = std::fs::metadata(file).ok()?.len();
    let mut f = std::fs::File::open(file).ok()?;
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut buf = Vec::with_capacity(WINDOW as usize);
    for i in 0..4 {
        f.seek(SeekFrom::Start(len.saturating_sub(WINDOW) * i / 3))
            .ok()?;
        buf.clear();
        (&mut f).take(WINDOW).read_to_end(&mut buf).ok()?;
        lines += buf.iter().filter(|&&c| c == b'\n').count() as u64;
        bytes += buf.len() as u64;
    }
    (lines > 0).then(|| (len as f64 * lines as f64 / bytes as f64) as u64)
}

fn check_lin_file(file: &Path, format: Option<Format>, opts: &linearizable::Options) -> FileReport {
    let started = Instant::now();
    let mut report = FileReport::empty(file);
    let spill_dir = linearizable::spill::default_dir();
    match linearizable::spill::check_file(file, format, opts, &spill_dir) {
        Ok(checked) => {
            report.ops = checked.ops as usize;
            report.valid = Some(checked.result.valid);
            report.linearizable = Some(checked.result);
        }
        Err(e) => report.error = Some(e),
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

fn check_file(
    file: &Path,
    format: Option<Format>,
    checker: &Checker,
) -> (FileReport, Option<history::History>) {
    let started = Instant::now();
    let mut kept = None;
    let mut report = FileReport::empty(file);
    match history::read_file(file, format) {
        Err(e) => report.error = Some(e.to_string()),
        Ok(h) => {
            report.ops = h.len();
            match checker {
                Checker::Linearizable(opts) => match linearizable::check(&h, opts) {
                    Ok(r) => {
                        report.valid = Some(r.valid);
                        report.linearizable = Some(r);
                    }
                    Err(e) => report.error = Some(format!("{}: {e}", file.display())),
                },
                Checker::Transactional(opts) => {
                    // The other workload's history would be misread: refuse it.
                    if let Some(why) = txn::wrong_workload(&h, opts.workload) {
                        report.error = Some(format!("{}: {why}", file.display()));
                    } else {
                        let r = txn::check(&h, opts);
                        report.valid = Some(r.valid);
                        report.transactional = Some(r);
                    }
                }
                Checker::Simple(workload, initial) => {
                    let c = simple::check(&h, *workload, initial);
                    report.valid = c.as_ref().map(|c| c.valid());
                    report.workload = c;
                }
            }
            kept = Some(h);
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    (report, kept)
}

impl FileReport {
    fn empty(file: &Path) -> FileReport {
        FileReport {
            file: file.to_path_buf(),
            valid: None,
            error: None,
            reason: None,
            ops: 0,
            seconds: 0.0,
            linearizable: None,
            transactional: None,
            workload: None,
        }
    }

    fn error(file: &Path, error: String) -> FileReport {
        FileReport {
            error: Some(error),
            ..FileReport::empty(file)
        }
    }
}

fn verdict_word(r: &FileReport) -> &'static str {
    match r.valid {
        Some(Validity::Valid) => "valid",
        Some(Validity::Invalid) => "INVALID",
        Some(Validity::Unknown) => "unknown",
        None => "ERROR",
    }
}

fn print_line(r: &FileReport) {
    crate::outln!(
        "{}  {}  {} ops  {}",
        r.file.display(),
        verdict_word(r),
        r.ops,
        human_time(r.seconds)
    );
    if let Some(e) = &r.error {
        eprintln!("  error: {e}");
    }
    if let Some(reason) = &r.reason {
        crate::outln!("  {reason}");
    }
    if let Some(lin) = &r.linearizable {
        let mut rules = format!("  model {}", lin.model.name());
        if lin.model.has_nil_rule() {
            let rule = lin.nil_reads;
            rules.push_str(&format!(
                ", nil reads {} ({})",
                rule.name(),
                rule.describe()
            ));
        }
        if lin.independent {
            rules.push_str(", split from [key value] tuples");
        }
        crate::outln!("{rules}");
        if let Some(s) = &lin.spilled {
            crate::outln!(
                "  too large to hold under --memory-limit: read once ({}) into {} key groups ({} MB on disk, largest {} MB), {} of them checked",
                human_time(s.spill_ms as f64 / 1e3),
                s.groups,
                s.bytes >> 20,
                s.largest >> 20,
                s.checked
            );
        }
        if let Some(reason) = &lin.reason {
            crate::outln!("  {reason}");
        }
        for f in lin.failures.iter().take(3) {
            match &f.key {
                Some(k) => crate::outln!("  key {k}: {}", f.explanation),
                None => crate::outln!("  {}", f.explanation),
            }
        }
    }
    if let Some(t) = &r.transactional {
        use checkers::result::CheckerResult;
        if let Some(reason) = &t.reason {
            crate::outln!("  {reason}");
        }
        // What was checked, the anomalies with counts, the models ruled
        // out; then one example per kind.
        for line in t.summary() {
            crate::outln!("  {line}");
        }
        for w in &t.warnings {
            crate::outln!("  warning: {w}");
        }
        for line in t.examples() {
            crate::outln!("  {line}");
        }
    }
    if let Some(c) = &r.workload {
        let (name, lines) = simple::summary(c);
        for line in lines.iter().take(4) {
            crate::outln!("  {name}: {line}");
        }
    }
}

fn human_time(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

fn print_summary(reports: &[FileReport]) {
    #[derive(tabled::Tabled)]
    struct Row {
        verdict: &'static str,
        files: usize,
        ops: usize,
        time: String,
    }
    let rows: Vec<Row> = ["valid", "INVALID", "unknown", "ERROR"]
        .into_iter()
        .filter_map(|word| {
            let group: Vec<&FileReport> =
                reports.iter().filter(|r| verdict_word(r) == word).collect();
            (!group.is_empty()).then(|| Row {
                verdict: word,
                files: group.len(),
                ops: group.iter().map(|r| r.ops).sum(),
                time: human_time(group.iter().map(|r| r.seconds).sum()),
            })
        })
        .collect();
    crate::outln!("\n{}", tabled::Table::new(rows));
}

fn exit_code(reports: &[FileReport]) -> u8 {
    if reports.iter().any(|r| r.error.is_some()) {
        return exit::ERROR;
    }
    let verdicts = reports.iter().filter_map(|r| r.valid);
    exit::of(verdicts.fold(Validity::Valid, Validity::combine))
}
