//! `shakedown campaign CAMPAIGN.yaml [--shard I/N] [--results DIR] [--junit FILE]`:
//! every cell of a test matrix (or one shard of them), each a normal run,
//! one summary. See the `campaign` crate for the file and the layout.
//!
//! Every cell's test file is read and checked before the first runs, so a
//! typo in the matrix stops the campaign before any node is touched. A
//! campaign run again skips the cells whose run is complete (resume); an
//! interrupted cell runs again, and so does a cell whose record has
//! another fingerprint (its test file or settings changed since). A shard
//! with no cell, or a time budget that lets none start, writes its
//! summary and exits 2: nothing tested is no pass.
//!
//! Signals: Ctrl-C, SIGTERM or SIGHUP during a cell interrupt that cell's
//! run the way they interrupt `shakedown run` (clients stop, faults heal,
//! the database is torn down); its record says `interrupted` and the
//! campaign starts no further cell, writes its summary and exits 2 (1 if
//! a finished cell was invalid). A second signal quits at once (130).

use super::exit;
use campaign::record::{self, CellRecord};
use campaign::{Campaign, Cell};
use harness::run::signals;
use runner::run::{run_test, worse};
use runner::test_file::TestFile;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The campaign file (YAML).
    pub campaign: PathBuf,
    /// Run shard I of N (1-based), a fixed, balanced share of the cells:
    /// `--shard 2/4`. For Kubernetes Indexed Jobs: `$((JOB_COMPLETION_INDEX + 1))/N`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Results directory (default ./results); the campaign keeps its cells
    /// under `<results>/campaigns/<name>/`.
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Also write a JUnit file, one testcase per run.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Start no new cell after this long (e.g. 2h); cells not run make the
    /// campaign unknown, and a later invocation resumes them.
    #[arg(long, value_parser = harness::config::parse_duration)]
    pub time_budget: Option<Duration>,
    /// Stop after the first cell that is not valid.
    #[arg(long)]
    pub fail_fast: bool,
    /// End each run's main phase at the first anomaly its online checkers
    /// find (`stop-on: invalid` in every cell's test).
    #[arg(long)]
    pub stop_on_invalid: bool,
    /// Print the cells (of this shard) and exit.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: Args) -> ExitCode {
    match campaign(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn campaign(args: &Args) -> Result<u8, String> {
    let c = Campaign::load(&args.campaign)?;
    let mut cells = c.cells()?;
    let shard = args
        .shard
        .as_deref()
        .map(campaign::parse_shard)
        .transpose()?;
    let total = cells.len();
    if let Some((i, n)) = shard {
        cells = campaign::shard(cells, i, n);
    }
    // Every cell's test file, read and checked now.
    let mut tests = Vec::with_capacity(cells.len());
    for cell in &cells {
        let path = c.test_path(&cell.test);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // The error may quote the cell's text, which holds its secrets.
        let mut test = TestFile::parse_in(&cell.text, &dir).map_err(|e| {
            format!(
                "{}: cell {}: {}",
                args.campaign.display(),
                cell.id,
                results::redact::scrub(&e, &cell.secrets)
            )
        })?;
        if args.stop_on_invalid {
            test.stop_on = Some(runner::test_file::StopOn::Invalid);
        }
        tests.push(test);
    }
    if args.list {
        for cell in &cells {
            crate::outln!("{}", cell.id);
        }
        return Ok(exit::VALID);
    }
    let results = args
        .results
        .clone()
        .unwrap_or_else(|| PathBuf::from("results"));
    let dir = record::campaign_dir(&results, &c.name);
    let runs = dir.join("runs");
    let done = record::load_all(&dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    eprintln!(
        "shakedown: campaign {} — {} cell(s){}; results in {}",
        c.name,
        cells.len(),
        shard.map_or(String::new(), |(i, n)| format!(" (shard {i}/{n})")),
        dir.display()
    );

    // Signals are counted from here on, so one that comes between two
    // cells (or before the first) stops the campaign cleanly too.
    if let Err(e) = signals::install() {
        eprintln!("warning: cannot watch for signals: {e}");
    }
    let started = Instant::now();
    let mut records = Vec::with_capacity(cells.len());
    let mut not_run = Vec::new();
    let mut stop: Option<String> = None;
    let mut not_run_why: Option<String> = None;
    if cells.is_empty() {
        // More shards than cells: this one has nothing to test, which is
        // no pass (a CI matrix of the wrong size would go green).
        let (i, n) = shard.unwrap_or((1, 1));
        let why =
            format!("shard {i}/{n} holds no cell (the campaign has {total}): nothing was tested");
        eprintln!("shakedown: {why}");
        not_run_why = Some(why);
    }
    for (k, (cell, test)) in cells.iter().zip(&tests).enumerate() {
        if let Some(r) = done.get(&cell.id).filter(|r| r.complete()) {
            // A record of another test (the test file, `set` or the
            // matrix changed since) is no run of this one.
            if r.fingerprint.as_deref() == Some(cell.fingerprint.as_str()) {
                eprintln!(
                    "shakedown: [{}/{}] {}: done before ({})",
                    k + 1,
                    cells.len(),
                    cell.id,
                    r.verdict
                );
                records.push(r.clone());
                continue;
            }
            eprintln!(
                "shakedown: [{}/{}] {}: {} since its run ({}); running it again",
                k + 1,
                cells.len(),
                cell.id,
                if r.fingerprint.is_some() {
                    "its test file or settings changed"
                } else {
                    "its record says not what it ran (written before records did), so it may have changed"
                },
                r.verdict
            );
        }
        if stop.is_none() && signals::received().count > 0 {
            // A signal between two cells: the next one does not start.
            stop = Some(format!(
                "the campaign was interrupted by {}",
                signals::received().last
            ));
        }
        if let Some(why) = &stop {
            not_run.push((cell.id.clone(), why.clone()));
            continue;
        }
        if args.time_budget.is_some_and(|b| started.elapsed() >= b) {
            stop = Some("the time budget ran out".to_string());
            not_run.push((cell.id.clone(), "the time budget ran out".into()));
            continue;
        }
        eprintln!("shakedown: [{}/{}] {}", k + 1, cells.len(), cell.id);
        let record = run_cell(&runtime, &c, cell, test, &runs);
        record::save(&dir, &record)?;
        if record.interrupted {
            stop = Some(format!(
                "the campaign was interrupted by {}",
                signals::received().last
            ));
        } else if args.fail_fast && record.verdict != "valid" {
            stop = Some(format!("--fail-fast: {} was {}", cell.id, record.verdict));
        }
        records.push(record);
    }

    print_table(&records, &not_run);
    let summary = serde_json::json!({
        "campaign": c.name,
        "shard": shard.map(|(i, n)| format!("{i}/{n}")),
        "cells": records,
        // With its test and settings, so the grid can show where it is missing.
        "not-run": not_run.iter().map(|(id, why)| {
            let cell = cells.iter().find(|c| &c.id == id);
            serde_json::json!({
                "cell": id,
                "why": why,
                "test": cell.map(|c| c.test.display().to_string()),
                "settings": cell.map(|c| c.settings.iter().cloned().collect::<serde_json::Map<_, _>>()),
                "repeat": cell.map(|c| c.repeat),
            })
        }).collect::<Vec<_>>(),
    });
    let name = match shard {
        Some((i, n)) => format!("summary-{i}-of-{n}.json"),
        None => "summary.json".into(),
    };
    let bytes = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    // No cell may have run (a zero time budget, an empty shard): the
    // directory may not be there yet.
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    results::rundir::write_atomic(&dir.join(&name), &bytes).map_err(|e| e.to_string())?;
    if let Some(junit) = &args.junit {
        let mut missing: Vec<campaign::junit::Missing> = not_run
            .iter()
            .map(|(id, why)| {
                let test = cells
                    .iter()
                    .find(|c| &c.id == id)
                    .map(|c| c.test.display().to_string())
                    .unwrap_or_default();
                campaign::junit::Missing::not_run(id, &test, why)
            })
            .collect();
        if let Some(why) = &not_run_why {
            missing.push(campaign::junit::Missing {
                cell: "no cell".into(),
                test: String::new(),
                message: "no cell".into(),
                why: why.clone(),
            });
        }
        std::fs::write(junit, campaign::junit::render(&c.name, &records, &missing))
            .map_err(|e| format!("{}: {e}", junit.display()))?;
    }
    if let Some(why) = &stop {
        eprintln!("shakedown: stopped: {why}; run the same command again to resume");
    }
    eprintln!(
        "shakedown: the grid of every run: shakedown serve {} (then /campaigns)",
        results.display()
    );
    let mut code = records
        .iter()
        .fold(exit::VALID, |w, r| worse(w, r.exit_code));
    if !not_run.is_empty() || cells.is_empty() {
        code = worse(code, exit::UNKNOWN);
    }
    Ok(code)
}

fn run_cell(
    runtime: &tokio::runtime::Runtime,
    c: &Campaign,
    cell: &Cell,
    test: &TestFile,
    runs: &Path,
) -> CellRecord {
    let seed = test
        .seed
        .unwrap_or_else(|| results::time::now_unix_ms() ^ (std::process::id() as u64) << 32);
    let started = Instant::now();
    let report = runtime.block_on(run_test(test, &cell.text, Some(runs), seed));
    super::run::print_report(test, &report);
    // A signal during the cell interrupts it, wherever it came, even if
    // the run ended some other way (a harness error while it was being
    // stopped, say): the cell is unknown (or invalid, if the part that
    // ran was), not a failure, and runs again on resume.
    let interrupted = report.interrupted || signals::received().count > 0;
    let code = if interrupted && report.code != exit::INVALID {
        exit::UNKNOWN
    } else {
        report.code
    };
    CellRecord {
        campaign: c.name.clone(),
        cell: cell.id.clone(),
        test: cell.test.display().to_string(),
        settings: cell.settings.iter().cloned().collect(),
        repeat: cell.repeat,
        verdict: match code {
            exit::VALID => "valid",
            exit::INVALID => "invalid",
            exit::UNKNOWN => "unknown",
            _ => "error",
        }
        .into(),
        exit_code: code,
        run_dir: report.run_dir.map(|d| d.display().to_string()),
        duration_s: started.elapsed().as_secs_f64(),
        interrupted,
        fingerprint: Some(cell.fingerprint.clone()),
    }
}

fn print_table(records: &[CellRecord], not_run: &[(String, String)]) {
    #[derive(tabled::Tabled)]
    struct Row {
        cell: String,
        verdict: String,
        time: String,
        report: String,
    }
    let mut rows: Vec<Row> = records
        .iter()
        .map(|r| Row {
            cell: r.cell.clone(),
            verdict: match r.verdict.as_str() {
                "valid" => "valid".into(),
                v => v.to_uppercase(),
            },
            time: format!("{:.0} s", r.duration_s),
            report: r
                .run_dir
                .as_deref()
                .map(|d| format!("{d}/report.html"))
                .unwrap_or_default(),
        })
        .collect();
    rows.extend(not_run.iter().map(|(id, why)| Row {
        cell: id.clone(),
        verdict: "not run".into(),
        time: String::new(),
        report: why.clone(),
    }));
    crate::outln!("{}", tabled::Table::new(rows));
}
