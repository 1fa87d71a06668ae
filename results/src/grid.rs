//! Campaigns seen from their results: the record each finished cell leaves
//! on disk, gathered from one results directory or many (the artifacts of
//! 20 CI shards, say), and arranged as a grid: one row per test, one
//! column per combination of matrix settings, one square per run (repeat)
//! coloured by its verdict.
//!
//! A campaign keeps, under `<results>/campaigns/<name>/`:
//!
//! ```text
//! cells/<cell>.json        one CellRecord per finished cell
//! runs/<test>/<timestamp>/ the cells' run directories
//! ```
//!
//! A **flaky** cell is a test × settings whose repeats disagree: among its
//! runs that ended with a verdict (valid, invalid, unknown) there are two
//! different verdicts. Runs the harness failed (`error`) or a signal cut
//! short are shown but do not make a cell flaky: they say nothing about
//! the database.
//!
//! A cell a campaign invocation did not run (its time budget ran out,
//! `--fail-fast`, a signal) is listed in that invocation's
//! `summary*.json`; unless some directory holds a record of it, it is
//! shown as a square of its own, `not-run`, so a grid of a campaign cut
//! short does not look whole.
//!
//! The records are read as written; a record's `run-dir` is the path on
//! the machine that ran it, so its run is found here by its last two
//! components (`<test>/<timestamp>`) under the campaign's own `runs/`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// How one cell's run ended: `campaigns/<name>/cells/<cell>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CellRecord {
    pub campaign: String,
    pub cell: String,
    pub test: String,
    pub settings: BTreeMap<String, Value>,
    pub repeat: u32,
    /// `valid`, `invalid`, `unknown`, or `error` (the harness failed).
    pub verdict: String,
    pub exit_code: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
    pub duration_s: f64,
    /// Stopped by a signal: run again on resume.
    #[serde(default)]
    pub interrupted: bool,
    /// What the run was of (`campaign::Cell::fingerprint`): a hash of the
    /// cell's test text, secrets out. A resumed campaign runs a cell again
    /// when it differs, or is absent (a record written before there were
    /// fingerprints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl CellRecord {
    /// A run that finished with a verdict: a resumed campaign skips it.
    pub fn complete(&self) -> bool {
        !self.interrupted && matches!(self.verdict.as_str(), "valid" | "invalid" | "unknown")
    }
}

/// Every readable record in a campaign directory, ordered by cell id
/// (unreadable files are skipped: their cells simply run again).
pub fn read_records(campaign_dir: &Path) -> Vec<CellRecord> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(campaign_dir.join("cells")) else {
        return out;
    };
    for e in entries.flatten() {
        if e.path().extension().is_some_and(|x| x == "json") {
            if let Ok(bytes) = fs::read(e.path()) {
                if let Ok(r) = serde_json::from_slice::<CellRecord>(&bytes) {
                    out.push(r);
                }
            }
        }
    }
    out.sort_by(|a, b| a.cell.cmp(&b.cell));
    out
}

/// A record and where it was found: the index of its results directory
/// among those served, and its campaign directory relative to it
/// (`campaigns/<name>`, `/`-separated).
#[derive(Clone, Debug)]
pub struct Found {
    pub root: usize,
    pub campaign_dir: String,
    pub record: CellRecord,
}

/// Every cell record under `<root>/campaigns/*/` of every root, and a
/// record of verdict [`NOT_RUN`] for each cell a summary lists as not run
/// that no directory holds a record of.
pub fn gather(roots: &[PathBuf]) -> Vec<Found> {
    let mut found = records_of(roots);
    let mut missing = not_run_of(roots);
    missing.retain(|m| {
        !found
            .iter()
            .any(|f| f.record.campaign == m.record.campaign && f.record.cell == m.record.cell)
    });
    missing.sort_by(|a, b| {
        (&a.record.campaign, &a.record.cell).cmp(&(&b.record.campaign, &b.record.cell))
    });
    missing
        .dedup_by(|a, b| a.record.campaign == b.record.campaign && a.record.cell == b.record.cell);
    found.extend(missing);
    found
}

/// The cells listed as not run in the `summary*.json` of every campaign
/// directory, as records of verdict [`NOT_RUN`] (entries written before
/// summaries named their test and settings are left out: they cannot be
/// placed).
fn not_run_of(roots: &[PathBuf]) -> Vec<Found> {
    #[derive(Deserialize)]
    struct Summary {
        campaign: String,
        #[serde(default, rename = "not-run")]
        not_run: Vec<Missing>,
    }
    #[derive(Deserialize)]
    struct Missing {
        cell: String,
        test: Option<String>,
        settings: Option<BTreeMap<String, Value>>,
        repeat: Option<u32>,
    }
    let mut out = Vec::new();
    for (k, root) in roots.iter().enumerate() {
        let Ok(dirs) = fs::read_dir(root.join("campaigns")) else {
            continue;
        };
        for d in dirs.flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            let Ok(files) = fs::read_dir(d.path()) else {
                continue;
            };
            for f in files.flatten() {
                let file = f.file_name().to_string_lossy().into_owned();
                if !(file.starts_with("summary") && file.ends_with(".json")) {
                    continue;
                }
                let Some(summary) = fs::read(f.path())
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Summary>(&b).ok())
                else {
                    continue;
                };
                for m in summary.not_run {
                    let (Some(test), Some(settings), Some(repeat)) = (m.test, m.settings, m.repeat)
                    else {
                        continue;
                    };
                    out.push(Found {
                        root: k,
                        campaign_dir: format!("campaigns/{name}"),
                        record: CellRecord {
                            campaign: summary.campaign.clone(),
                            cell: m.cell,
                            test,
                            settings,
                            repeat,
                            verdict: NOT_RUN.into(),
                            exit_code: 2,
                            run_dir: None,
                            duration_s: 0.0,
                            interrupted: false,
                            fingerprint: None,
                        },
                    });
                }
            }
        }
    }
    out
}

/// Every cell record under `<root>/campaigns/*/` of every root.
fn records_of(roots: &[PathBuf]) -> Vec<Found> {
    let mut out = Vec::new();
    for (k, root) in roots.iter().enumerate() {
        let Ok(dirs) = fs::read_dir(root.join("campaigns")) else {
            continue;
        };
        let mut dirs: Vec<_> = dirs
            .flatten()
            .filter(|d| d.file_type().is_ok_and(|t| t.is_dir()))
            .collect();
        dirs.sort_by_key(|d| d.file_name());
        for d in dirs {
            let name = d.file_name().to_string_lossy().into_owned();
            for record in read_records(&d.path()) {
                out.push(Found {
                    root: k,
                    campaign_dir: format!("campaigns/{name}"),
                    record,
                });
            }
        }
    }
    out
}

/// One campaign's grid.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Grid {
    pub campaign: String,
    /// Column labels: a cell's matrix settings, `key=value` joined by
    /// `, ` (empty for a campaign without a matrix).
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    /// The flaky cells, in grid order.
    pub flaky: Vec<Flaky>,
    /// Runs by verdict (`valid`, `invalid`, `unknown`, `error`, `interrupted`).
    pub totals: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub test: String,
    /// One entry per column: that cell's runs (empty when it has none).
    pub cells: Vec<Vec<Square>>,
}

/// One run of a cell.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Square {
    /// The cell id (`test.yaml[seed=1]#2`).
    pub cell: String,
    pub repeat: u32,
    /// `valid`, `invalid`, `unknown` or `error`.
    pub verdict: String,
    pub interrupted: bool,
    pub duration_s: f64,
    /// Which results directory the record came from (0-based).
    pub root: usize,
    /// The run directory relative to that results directory, when it is
    /// there.
    pub run: Option<String>,
}

impl Square {
    /// The class a square is drawn with: its verdict, `interrupted`,
    /// `not-run`, or `error` (the harness failed).
    pub fn class(&self) -> &str {
        if self.interrupted {
            "interrupted"
        } else {
            match self.verdict.as_str() {
                v @ ("valid" | "invalid" | "unknown" | NOT_RUN) => v,
                _ => "error",
            }
        }
    }
}

/// The verdict of a cell listed as not run in a campaign's summary.
pub const NOT_RUN: &str = "not-run";

/// A test × settings whose repeats disagree.
#[derive(Clone, Debug, Serialize)]
pub struct Flaky {
    pub test: String,
    pub settings: String,
    /// Verdict -> how many runs had it (complete runs only).
    pub verdicts: BTreeMap<String, usize>,
}

/// A column label: `key=value, key=value` (values as compact JSON).
pub fn settings_label(settings: &BTreeMap<String, Value>) -> String {
    settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Orders settings so that `seed=2` comes before `seed=10`: key by key,
/// numbers by value, anything else by its JSON text.
fn compare_settings(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Ordering {
    for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
        let o = ka.cmp(kb).then_with(|| match (va.as_f64(), vb.as_f64()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => va.to_string().cmp(&vb.to_string()),
        });
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// The grids of every campaign among the records, by campaign name.
/// `run_exists(root, rel)` says whether a run directory is there to link to.
pub fn grids(found: Vec<Found>, run_exists: impl Fn(usize, &str) -> bool) -> Vec<Grid> {
    let mut by_campaign: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for f in found {
        by_campaign
            .entry(f.record.campaign.clone())
            .or_default()
            .push(f);
    }
    by_campaign
        .into_iter()
        .map(|(name, found)| grid(name, found, &run_exists))
        .collect()
}

fn grid(campaign: String, found: Vec<Found>, run_exists: &impl Fn(usize, &str) -> bool) -> Grid {
    // Columns: the distinct settings, in value order.
    let mut settings: Vec<BTreeMap<String, Value>> = Vec::new();
    for f in &found {
        if !settings.contains(&f.record.settings) {
            settings.push(f.record.settings.clone());
        }
    }
    settings.sort_by(compare_settings);
    let columns: Vec<String> = settings.iter().map(settings_label).collect();

    let mut rows: BTreeMap<String, Vec<Vec<Square>>> = BTreeMap::new();
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    for f in found {
        let r = f.record;
        let column = settings
            .iter()
            .position(|s| *s == r.settings)
            .expect("every record's settings are a column");
        let run = r
            .run_dir
            .as_deref()
            .and_then(|d| run_path(&f.campaign_dir, d))
            .filter(|rel| run_exists(f.root, rel));
        let square = Square {
            cell: r.cell,
            repeat: r.repeat,
            verdict: r.verdict,
            interrupted: r.interrupted,
            duration_s: r.duration_s,
            root: f.root,
            run,
        };
        *totals.entry(square.class().to_string()).or_default() += 1;
        rows.entry(r.test)
            .or_insert_with(|| vec![Vec::new(); columns.len()])[column]
            .push(square);
    }
    let mut flaky = Vec::new();
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(test, mut cells)| {
            for (column, squares) in cells.iter_mut().enumerate() {
                squares.sort_by(|a, b| a.repeat.cmp(&b.repeat).then(a.root.cmp(&b.root)));
                let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
                // Only runs that ended with a verdict say anything about
                // the database.
                for s in squares.iter() {
                    if matches!(s.class(), "valid" | "invalid" | "unknown") {
                        *verdicts.entry(s.verdict.clone()).or_default() += 1;
                    }
                }
                if verdicts.len() > 1 {
                    flaky.push(Flaky {
                        test: test.clone(),
                        settings: columns[column].clone(),
                        verdicts,
                    });
                }
            }
            Row { test, cells }
        })
        .collect();
    Grid {
        campaign,
        columns,
        rows,
        flaky,
        totals,
    }
}

/// Where a record's run directory is under its results directory:
/// `<campaign dir>/runs/<test>/<timestamp>` from the last two components
/// of the path it was written with (on whatever machine). `None` for a
/// path without two plain components.
fn run_path(campaign_dir: &str, run_dir: &str) -> Option<String> {
    let mut parts = run_dir
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".");
    let stamp = parts.next_back()?;
    let test = parts.next_back()?;
    if [test, stamp].contains(&"..") {
        return None;
    }
    Some(format!("{campaign_dir}/runs/{test}/{stamp}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(test: &str, seed: i64, repeat: u32, verdict: &str) -> CellRecord {
        CellRecord {
            campaign: "nightly".into(),
            cell: format!("{test}[seed={seed}]#{repeat}"),
            test: test.into(),
            settings: BTreeMap::from([("seed".to_string(), json!(seed))]),
            repeat,
            verdict: verdict.into(),
            exit_code: 0,
            run_dir: Some(format!(
                "/home/runner/results/campaigns/nightly/runs/{test}/T{seed}-{repeat}"
            )),
            duration_s: 1.0,
            interrupted: false,
            fingerprint: None,
        }
    }

    fn found(root: usize, r: CellRecord) -> Found {
        Found {
            root,
            campaign_dir: "campaigns/nightly".into(),
            record: r,
        }
    }

    #[test]
    fn rows_are_tests_columns_are_settings_squares_are_repeats() {
        // Two shards' records of 2 tests x seeds {2, 10} x 2 repeats, in
        // no particular order; one cell's repeats disagree.
        let mut f = Vec::new();
        for (k, (test, seed, repeat, verdict)) in [
            ("b.yaml", 10, 2, "valid"),
            ("a.yaml", 2, 1, "valid"),
            ("a.yaml", 10, 1, "valid"),
            ("b.yaml", 2, 2, "unknown"),
            ("a.yaml", 2, 2, "valid"),
            ("b.yaml", 2, 1, "invalid"),
            ("a.yaml", 10, 2, "valid"),
            ("b.yaml", 10, 1, "valid"),
        ]
        .into_iter()
        .enumerate()
        {
            f.push(found(k % 2, record(test, seed, repeat, verdict)));
        }
        let g = grids(f, |_, rel| !rel.ends_with("T10-2"));
        assert_eq!(g.len(), 1);
        let g = &g[0];
        assert_eq!(g.campaign, "nightly");
        // 2 before 10: by value, not by text.
        assert_eq!(g.columns, vec!["seed=2", "seed=10"]);
        assert_eq!(
            g.rows.iter().map(|r| r.test.as_str()).collect::<Vec<_>>(),
            vec!["a.yaml", "b.yaml"]
        );
        for row in &g.rows {
            for squares in &row.cells {
                assert_eq!(
                    squares.iter().map(|s| s.repeat).collect::<Vec<_>>(),
                    vec![1, 2],
                    "one square per repeat, in order"
                );
            }
        }
        let b2 = &g.rows[1].cells[0];
        assert_eq!(b2[0].class(), "invalid");
        assert_eq!(b2[1].class(), "unknown");
        // The run is found under this campaign's runs/, whatever the
        // machine's path; a run that is not there is not linked.
        assert_eq!(
            b2[0].run.as_deref(),
            Some("campaigns/nightly/runs/b.yaml/T2-1")
        );
        assert_eq!(g.rows[0].cells[1][1].run, None);
        // Exactly one flaky cell: b.yaml with seed=2 (invalid once, unknown once).
        assert_eq!(g.flaky.len(), 1, "{:?}", g.flaky);
        assert_eq!(g.flaky[0].test, "b.yaml");
        assert_eq!(g.flaky[0].settings, "seed=2");
        assert_eq!(
            g.flaky[0].verdicts,
            BTreeMap::from([("invalid".to_string(), 1), ("unknown".to_string(), 1)])
        );
        assert_eq!(
            g.totals,
            BTreeMap::from([
                ("invalid".to_string(), 1),
                ("unknown".to_string(), 1),
                ("valid".to_string(), 6)
            ])
        );
    }

    #[test]
    fn harness_errors_and_interrupted_runs_do_not_make_a_cell_flaky() {
        let mut interrupted = record("a.yaml", 1, 2, "unknown");
        interrupted.interrupted = true;
        let f = vec![
            found(0, record("a.yaml", 1, 1, "valid")),
            found(0, interrupted),
            found(1, record("a.yaml", 1, 3, "error")),
            found(1, record("a.yaml", 1, 4, "valid")),
        ];
        let g = &grids(f, |_, _| true)[0];
        let classes: Vec<&str> = g.rows[0].cells[0].iter().map(Square::class).collect();
        assert_eq!(classes, vec!["valid", "interrupted", "error", "valid"]);
        assert!(g.flaky.is_empty(), "{:?}", g.flaky);
    }

    #[test]
    fn campaigns_are_kept_apart_and_a_run_path_never_climbs() {
        let mut other = record("a.yaml", 1, 1, "invalid");
        other.campaign = "weekly".into();
        let g = grids(
            vec![found(0, record("a.yaml", 1, 1, "valid")), found(0, other)],
            |_, _| true,
        );
        assert_eq!(
            g.iter().map(|g| g.campaign.as_str()).collect::<Vec<_>>(),
            vec!["nightly", "weekly"]
        );
        assert!(g.iter().all(|g| g.flaky.is_empty()));
        assert_eq!(run_path("c", "x/../.."), None);
        assert_eq!(run_path("c", "stamp"), None);
        assert_eq!(run_path("c", "C:\\r\\t\\s").as_deref(), Some("c/runs/t/s"));
    }

    #[test]
    fn cells_a_summary_lists_as_not_run_are_squares_unless_some_directory_ran_them() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let not_run = |cell: &str, seed: i64| {
            json!({"cell": cell, "why": "the time budget ran out", "test": "a.yaml",
                   "settings": {"seed": seed}, "repeat": 1})
        };
        for (root, shard, missing) in [
            // Shard 1 ran seed 1 and ran out of time for seed 2.
            (&a, "1-of-2", vec![not_run("a.yaml[seed=2]#1", 2)]),
            // Shard 2 ran nothing: seeds 2 and 3 not run, and an entry
            // written before summaries named their settings.
            (
                &b,
                "2-of-2",
                vec![
                    not_run("a.yaml[seed=2]#1", 2),
                    not_run("a.yaml[seed=3]#1", 3),
                    json!({"cell": "old#1", "why": "x"}),
                ],
            ),
        ] {
            let dir = root.join("campaigns/nightly");
            fs::create_dir_all(dir.join("cells")).unwrap();
            fs::write(
                dir.join(format!("summary-{shard}.json")),
                json!({"campaign": "nightly", "not-run": missing}).to_string(),
            )
            .unwrap();
        }
        fs::write(
            a.join("campaigns/nightly/cells/1.json"),
            serde_json::to_vec(&record("a.yaml", 1, 1, "valid")).unwrap(),
        )
        .unwrap();
        // Seed 3 was run after all, by a later invocation on shard 1.
        fs::write(
            a.join("campaigns/nightly/cells/3.json"),
            serde_json::to_vec(&record("a.yaml", 3, 1, "valid")).unwrap(),
        )
        .unwrap();
        let g = &grids(gather(&[a, b]), |_, _| true)[0];
        let squares: Vec<(String, &str)> = g.rows[0]
            .cells
            .iter()
            .flatten()
            .map(|s| (s.cell.clone(), s.class()))
            .collect();
        assert_eq!(
            squares,
            vec![
                ("a.yaml[seed=1]#1".to_string(), "valid"),
                ("a.yaml[seed=2]#1".to_string(), NOT_RUN),
                ("a.yaml[seed=3]#1".to_string(), "valid"),
            ],
            "seed 2 once, as not run; seed 3 as run"
        );
        assert_eq!(g.totals[NOT_RUN], 1);
        assert!(g.flaky.is_empty());
    }
}
