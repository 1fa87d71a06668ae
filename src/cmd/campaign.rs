//! `shakedown campaign CAMPAIGN.yaml [--shard I/N] [--results DIR] [--junit FILE]`:
//! every cell of a test matrix (or one shard of them), each a normal run,
//! one summary. See the `campaign` crate for the file and the layout.
//!
//! Every cell's test file is read and checked before the first runs, so a
//! typo in the matrix stops the campaign before any node is touched. A
//! campaign run again skips the cells whose run is complete (resume); an
//! interrupted cell runs again.

use super::exit;
use super::run::{run_test, worse};
use crate::test_file::TestFile;
use campaign::record::{self, CellRecord};
use campaign::{Campaign, Cell};
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
    if let Some((i, n)) = shard {
        cells = campaign::shard(cells, i, n);
    }
    // Every cell's test file, read and checked now.
    let mut tests = Vec::with_capacity(cells.len());
    for cell in &cells {
        let path = c.test_path(&cell.test);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let test = TestFile::parse_in(&cell.text, &dir)
            .map_err(|e| format!("{}: cell {}: {e}", args.campaign.display(), cell.id))?;
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

    let started = Instant::now();
    let mut records = Vec::with_capacity(cells.len());
    let mut not_run = Vec::new();
    let mut stop: Option<String> = None;
    for (k, (cell, test)) in cells.iter().zip(&tests).enumerate() {
        if let Some(r) = done.get(&cell.id).filter(|r| r.complete()) {
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
            stop = Some("the campaign was interrupted".into());
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
        "not-run": not_run.iter().map(|(id, why)| serde_json::json!({"cell": id, "why": why})).collect::<Vec<_>>(),
    });
    let name = match shard {
        Some((i, n)) => format!("summary-{i}-of-{n}.json"),
        None => "summary.json".into(),
    };
    let bytes = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    results::rundir::write_atomic(&dir.join(&name), &bytes).map_err(|e| e.to_string())?;
    if let Some(junit) = &args.junit {
        std::fs::write(junit, campaign::junit::render(&c.name, &records))
            .map_err(|e| format!("{}: {e}", junit.display()))?;
    }
    if let Some(why) = &stop {
        eprintln!("shakedown: stopped: {why}; run the same command again to resume");
    }
    let mut code = records
        .iter()
        .fold(exit::VALID, |w, r| worse(w, r.exit_code));
    if !not_run.is_empty() {
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
    CellRecord {
        campaign: c.name.clone(),
        cell: cell.id.clone(),
        test: cell.test.display().to_string(),
        settings: cell.settings.iter().cloned().collect(),
        repeat: cell.repeat,
        verdict: match report.code {
            exit::VALID => "valid",
            exit::INVALID => "invalid",
            exit::UNKNOWN => "unknown",
            _ => "error",
        }
        .into(),
        exit_code: report.code,
        run_dir: report.run_dir.map(|d| d.display().to_string()),
        duration_s: started.elapsed().as_secs_f64(),
        interrupted: report.interrupted,
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
