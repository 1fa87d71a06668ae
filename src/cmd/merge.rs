//! `shakedown merge SHARD_DIR... --out DIR [--campaign FILE] [--junit FILE]
//! [--markdown FILE] [--add]`: the results directories of many machines (the
//! artifacts of CI shards) gathered into one (see `campaign::merge`), and
//! one answer for each campaign in it: a table of its cells (flaky ones
//! flagged), a `summary.json`, JUnit, a Markdown summary for CI pages, and
//! the exit code of the worst run.
//!
//! Cells a shard's summary lists as not run (time budget, `--fail-fast`, a
//! signal) are named as not run. With `--campaign`, the campaign file says
//! which cells there should be:
//! a cell no shard finished (a shard that died, a time budget) is named as
//! not run, and the answer is unknown at best. Merging nothing is never a
//! pass.

use super::exit;
use campaign::junit::Missing;
use campaign::record::{self, CellRecord};
use campaign::Campaign;
use results::grid::{self, Grid};
use runner::run::worse;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The results directories to merge (e.g. one per CI shard).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The directory to merge them into (created if need be); serve it
    /// with `shakedown serve DIR`.
    #[arg(long)]
    pub out: PathBuf,
    /// The campaign file: cells of it that no directory finished are
    /// reported as not run (exit 2 at best).
    #[arg(long)]
    pub campaign: Option<PathBuf>,
    /// Write one JUnit file, one testcase per run (needs a single campaign,
    /// or --campaign).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Append a Markdown summary to this file (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Add to an --out directory that is not empty (by default refused:
    /// yesterday's records there would count as today's cells).
    #[arg(long)]
    pub add: bool,
}

pub fn run(args: Args) -> ExitCode {
    match merge(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// One campaign's cells after the merge.
struct Merged {
    name: String,
    records: Vec<CellRecord>,
    /// Cells with no run: listed as not run by a shard's summary, or of
    /// the campaign file with no complete record.
    not_run: Vec<Missing>,
    /// Record files that could not be read, of cells no summary lists:
    /// unknown, never absent.
    unknown: Vec<Missing>,
}

impl Merged {
    fn new(name: &str) -> Merged {
        Merged {
            name: name.to_string(),
            records: Vec::new(),
            not_run: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// Every cell without a run, for JUnit (a cell with only an
    /// incomplete run is that run's error already).
    fn missing(&self) -> Vec<Missing> {
        self.not_run
            .iter()
            .filter(|c| !self.records.iter().any(|r| r.cell == c.cell))
            .chain(&self.unknown)
            .cloned()
            .collect()
    }
}

fn merge(args: &Args) -> Result<u8, String> {
    // The campaign file first: a typo stops before anything is copied.
    let expected = match &args.campaign {
        Some(path) => {
            let c = Campaign::load(path)?;
            let cells = c.cells()?;
            Some((c.name, cells))
        }
        None => None,
    };
    let not_empty = std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some());
    if not_empty && !args.add {
        return Err(format!(
            "--out {}: not empty; merge into a fresh directory, or pass --add to add to what it holds",
            args.out.display()
        ));
    }
    let outcome = campaign::merge::merge(&args.out, &args.dirs)?;
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "shakedown: merged {} director{} into {}: {} file(s) copied, {} cell record(s)",
        args.dirs.len(),
        if args.dirs.len() == 1 { "y" } else { "ies" },
        args.out.display(),
        outcome.copied,
        outcome.records
    );

    let mut campaigns: Vec<Merged> = Vec::new();
    for found in grid::gather(std::slice::from_ref(&args.out)) {
        let r = found.record;
        let k = position(&mut campaigns, &r.campaign);
        // A cell a shard's summary lists as not run (and no shard ran).
        if r.verdict == grid::NOT_RUN {
            campaigns[k].not_run.push(Missing::not_run(
                &r.cell,
                &r.test,
                "a shard's summary lists it as not run, and no merged directory holds a run of it",
            ));
        } else {
            campaigns[k].records.push(r);
        }
    }
    for (name, file) in &outcome.unreadable {
        let k = position(&mut campaigns, name);
        let shown = file.display().to_string();
        campaigns[k].unknown.push(Missing {
            cell: file
                .file_name()
                .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned()),
            test: String::new(),
            message: "unknown".into(),
            why: format!(
                "{shown}: a cell record that cannot be read, and no summary lists its cell"
            ),
        });
    }
    if let Some((name, cells)) = &expected {
        campaigns.retain(|m| &m.name == name);
        if campaigns.is_empty() {
            campaigns.push(Merged::new(name));
        }
        let m = &mut campaigns[0];
        m.not_run = cells
            .iter()
            .filter(|cell| !m.records.iter().any(|r| r.cell == cell.id && r.complete()))
            .map(|cell| {
                Missing::not_run(
                    &cell.id,
                    &cell.test.display().to_string(),
                    "no merged directory holds a complete run of it",
                )
            })
            .collect();
    }
    if campaigns.is_empty() {
        eprintln!(
            "shakedown: no campaign cell records in {}: nothing was tested",
            args.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(exit::UNKNOWN);
    }

    let grids = grid::grids(grid::gather(std::slice::from_ref(&args.out)), |_, rel| {
        args.out.join(rel).is_dir()
    });
    let mut code = exit::VALID;
    let mut markdown = String::new();
    for m in &campaigns {
        let g = grids.iter().find(|g| g.campaign == m.name);
        print_campaign(m, g);
        markdown.push_str(&markdown_of(m, g));
        write_summary(args, m, g)?;
        code = worse(code, verdict_code(m));
    }
    if let Some(junit) = &args.junit {
        let [m] = &campaigns[..] else {
            return Err(format!(
                "--junit: {} holds {} campaigns; name one with --campaign FILE",
                args.out.display(),
                campaigns.len()
            ));
        };
        std::fs::write(
            junit,
            campaign::junit::render(&m.name, &m.records, &m.missing()),
        )
        .map_err(|e| format!("{}: {e}", junit.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(markdown.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(code)
}

/// The worst run of a campaign; an interrupted run or a cell not run is
/// unknown at best, and so is a campaign with no run at all.
fn verdict_code(m: &Merged) -> u8 {
    let mut code = m.records.iter().fold(exit::VALID, |w, r| {
        let c = if r.interrupted {
            worse(r.exit_code, exit::UNKNOWN)
        } else {
            r.exit_code
        };
        worse(w, c)
    });
    if !m.not_run.is_empty() || !m.unknown.is_empty() || m.records.is_empty() {
        code = worse(code, exit::UNKNOWN);
    }
    code
}

/// The index of campaign `name` among `campaigns`, added if need be.
fn position(campaigns: &mut Vec<Merged>, name: &str) -> usize {
    match campaigns.iter().position(|m| m.name == name) {
        Some(k) => k,
        None => {
            campaigns.push(Merged::new(name));
            campaigns.len() - 1
        }
    }
}

fn flaky_count(g: Option<&Grid>) -> usize {
    g.map_or(0, |g| g.flaky.len())
}

fn print_campaign(m: &Merged, g: Option<&Grid>) {
    #[derive(tabled::Tabled)]
    struct Row {
        test: String,
        settings: String,
        runs: String,
        flaky: String,
    }
    let mut rows = Vec::new();
    if let Some(g) = g {
        for row in &g.rows {
            for (column, squares) in row.cells.iter().enumerate() {
                if squares.is_empty() {
                    continue;
                }
                let flaky = g
                    .flaky
                    .iter()
                    .any(|f| f.test == row.test && f.settings == g.columns[column]);
                rows.push(Row {
                    test: row.test.clone(),
                    settings: g.columns[column].clone(),
                    runs: squares
                        .iter()
                        .map(|s| match s.class() {
                            "valid" => "valid".to_string(),
                            c => c.to_uppercase(),
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                    flaky: if flaky { "FLAKY".into() } else { String::new() },
                });
            }
        }
    }
    rows.extend(m.not_run.iter().map(|c| Row {
        test: c.cell.clone(),
        settings: String::new(),
        runs: "not run".into(),
        flaky: String::new(),
    }));
    rows.extend(m.unknown.iter().map(|c| Row {
        test: c.why.clone(),
        settings: String::new(),
        runs: "UNKNOWN".into(),
        flaky: String::new(),
    }));
    crate::outln!(
        "campaign {}: {} run(s), {} flaky cell(s), {} cell(s) not run{}",
        m.name,
        m.records.len(),
        flaky_count(g),
        m.not_run.len(),
        if m.unknown.is_empty() {
            String::new()
        } else {
            format!(", {} unreadable record(s): unknown", m.unknown.len())
        }
    );
    crate::outln!("{}", tabled::Table::new(rows));
}

fn markdown_of(m: &Merged, g: Option<&Grid>) -> String {
    let verdict = match verdict_code(m) {
        exit::VALID => "valid",
        exit::INVALID => "INVALID",
        exit::UNKNOWN => "unknown",
        _ => "harness error",
    };
    let mut s = format!(
        "## Campaign {}: {verdict}\n\n{} run(s)",
        md(&m.name),
        m.records.len()
    );
    if let Some(g) = g {
        for (v, n) in &g.totals {
            s.push_str(&format!(", {n} {v}"));
        }
    }
    s.push_str(&format!(
        "; {} flaky cell(s); {} cell(s) not run.\n\n",
        flaky_count(g),
        m.not_run.len()
    ));
    let bad: Vec<&CellRecord> = m
        .records
        .iter()
        .filter(|r| r.verdict != "valid" || r.interrupted)
        .collect();
    if !bad.is_empty() {
        s.push_str("| cell | verdict | run directory |\n| --- | --- | --- |\n");
        for r in bad {
            s.push_str(&format!(
                "| {} | {}{} | {} |\n",
                md(&r.cell),
                r.verdict,
                if r.interrupted { " (interrupted)" } else { "" },
                md(r.run_dir.as_deref().unwrap_or("")),
            ));
        }
        s.push('\n');
    }
    if let Some(g) = g.filter(|g| !g.flaky.is_empty()) {
        s.push_str("Flaky cells (repeats disagree):\n\n");
        for f in &g.flaky {
            let counts: Vec<String> = f.verdicts.iter().map(|(v, n)| format!("{v} {n}")).collect();
            s.push_str(&format!(
                "- {} `{}`: {}\n",
                md(&f.test),
                f.settings.replace('`', "'"),
                counts.join(", ")
            ));
        }
        s.push('\n');
    }
    if !m.not_run.is_empty() {
        s.push_str("Not run:\n\n");
        for c in &m.not_run {
            s.push_str(&format!("- {}\n", md(&c.cell)));
        }
        s.push('\n');
    }
    if !m.unknown.is_empty() {
        s.push_str("Unknown (unreadable records):\n\n");
        for c in &m.unknown {
            s.push_str(&format!("- {}\n", md(&c.why)));
        }
        s.push('\n');
    }
    s
}

/// Text safe in a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// `campaigns/<name>/summary.json` of the merged directory: every cell
/// once, the flaky ones, and the cells not run.
fn write_summary(args: &Args, m: &Merged, g: Option<&Grid>) -> Result<(), String> {
    let dir = record::campaign_dir(&args.out, &m.name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let summary = serde_json::json!({
        "campaign": m.name,
        "shard": null,
        "merged-from": args.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        "cells": m.records,
        "flaky": g.map(|g| &g.flaky),
        "not-run": m.not_run.iter().map(|c| serde_json::json!({"cell": c.cell, "why": c.why})).collect::<Vec<_>>(),
        "unknown": m.unknown.iter().map(|c| serde_json::json!({"record": c.cell, "why": c.why})).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    results::rundir::write_atomic(&dir.join("summary.json"), &bytes).map_err(|e| e.to_string())
}
