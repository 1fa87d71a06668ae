//! Gathering the results directories of many machines into one: the
//! artifacts of CI shards, the volumes of Kubernetes pods
//! (`shakedown merge OUT DIR...`).
//!
//! Every file of every DIR is copied into OUT, except symlinks (the
//! `latest` links point into each machine's own tree, and a link could
//! lead anywhere). When two directories hold the same path:
//!
//! - the same bytes: copied once (merging a directory twice is harmless);
//! - a run directory (`<test>/<stamp>/`, or a campaign's
//!   `campaigns/<c>/runs/<test>/<stamp>/`) holding another run (another
//!   history): the later one gets a fresh stamp, `<stamp>-m<k>`, and the
//!   records of its campaign follow it;
//! - a cell record (`campaigns/<c>/cells/<cell>.json`): a complete run
//!   beats an incomplete one (interrupted, or the harness failed); two
//!   complete ones are both kept (`<cell>.run-2.json` beside the first),
//!   with a warning (a cell run twice: a shard retried, or given twice),
//!   so a disagreement makes the cell flaky whatever the order of the
//!   directories;
//! - a record missing or cut short: the directory's `summary*.json`
//!   lists every cell its invocation ran, and the cell is taken from
//!   there; a record no summary lists either is named in
//!   [`Outcome::unreadable`] (its cell is unknown);
//! - any other file with other bytes: the later is kept beside it as
//!   `<name>.from-<k>`, with a warning.
//!
//! Every merged record's `run-dir` is rewritten to where its run now is
//! under OUT, so `serve OUT`, the grid and the JUnit links work there.

use crate::record::CellRecord;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What a merge did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files copied (not counting those already there, byte for byte).
    pub copied: usize,
    /// Cell records written or kept.
    pub records: usize,
    /// Whatever a person should know: kept duplicates, renamed runs.
    pub warnings: Vec<String>,
    /// Cell records that could not be read and that no summary lists:
    /// (campaign, file). Their cells are unknown, not absent.
    pub unreadable: Vec<(String, PathBuf)>,
}

/// Copies every directory of `dirs` into `out` (created if need be).
/// `out` must be none of `dirs`, nor inside one, nor hold one.
pub fn merge(out: &Path, dirs: &[PathBuf]) -> Result<Outcome, String> {
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let canon_out = out
        .canonicalize()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    for d in dirs {
        let c = d
            .canonicalize()
            .ok()
            .filter(|c| c.is_dir())
            .ok_or_else(|| format!("{}: no such results directory", d.display()))?;
        if canon_out.starts_with(&c) || c.starts_with(&canon_out) {
            return Err(format!(
                "{}: the merged directory {} must be outside it (and it outside that)",
                d.display(),
                out.display()
            ));
        }
    }
    let mut o = Outcome::default();
    for (k, dir) in dirs.iter().enumerate() {
        let mut m = Merger {
            src: dir,
            out,
            k: k + 1,
            renamed: HashMap::new(),
            o: &mut o,
        };
        m.tree(Path::new(""))?;
        m.records()?;
    }
    Ok(o)
}

struct Merger<'a> {
    src: &'a Path,
    out: &'a Path,
    /// 1-based number of `src` among the directories merged.
    k: usize,
    /// Campaign run directories renamed: (campaign dir, test, stamp) -> new stamp.
    renamed: HashMap<(String, String, String), String>,
    o: &'a mut Outcome,
}

impl Merger<'_> {
    /// Copies `src/rel` (a directory) into `out/rel`.
    fn tree(&mut self, rel: &Path) -> Result<(), String> {
        let from = self.src.join(rel);
        let mut entries: Vec<_> = fs::read_dir(&from)
            .map_err(|e| format!("{}: {e}", from.display()))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let child = rel.join(e.file_name());
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_symlink() {
                continue;
            }
            if kind.is_file() {
                self.file(&child)?;
                continue;
            }
            if !kind.is_dir() {
                continue;
            }
            let parts = parts(&child);
            match parts.as_slice() {
                // Records are merged one by one, after the runs they name.
                ["campaigns", _, "cells"] => {}
                ["campaigns", c, "runs", test, stamp] => {
                    let key = (
                        format!("campaigns/{c}"),
                        test.to_string(),
                        stamp.to_string(),
                    );
                    if let Some(new) = self.run_dir(&child)? {
                        self.renamed.insert(key, new);
                    }
                }
                [top, _] if *top != "campaigns" => {
                    self.run_dir(&child)?;
                }
                _ => self.tree(&child)?,
            }
        }
        Ok(())
    }

    /// Copies a run directory; when `out` holds another run of that name,
    /// to a fresh name, which it returns.
    fn run_dir(&mut self, rel: &Path) -> Result<Option<String>, String> {
        let dest = self.out.join(rel);
        if !dest.exists() || same_run(&self.src.join(rel), &dest) {
            self.tree(rel)?;
            return Ok(None);
        }
        let stamp = rel
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A fresh name, or the one this run got when merged before.
        let mut n = self.k;
        let new = loop {
            let name = format!("{stamp}-m{n}");
            let there = dest.with_file_name(&name);
            if !there.exists() {
                copy_dir(&self.src.join(rel), &there, &mut self.o.copied)?;
                break name;
            }
            if same_run(&self.src.join(rel), &there) {
                return Ok(Some(name));
            }
            n += 1;
        };
        self.o.warnings.push(format!(
            "{}: another run of the same name is already merged; this one is {}",
            self.src.join(rel).display(),
            rel.with_file_name(&new).display()
        ));
        Ok(Some(new))
    }

    fn file(&mut self, rel: &Path) -> Result<(), String> {
        let from = self.src.join(rel);
        let mut dest = self.out.join(rel);
        if dest.exists() {
            if same_bytes(&from, &dest) {
                return Ok(());
            }
            let name = format!(
                "{}.from-{}",
                dest.file_name().unwrap_or_default().to_string_lossy(),
                self.k
            );
            dest.set_file_name(name);
            if same_bytes(&from, &dest) {
                return Ok(());
            }
            self.o.warnings.push(format!(
                "{}: {} differs; kept beside it as {}",
                from.display(),
                rel.display(),
                dest.display()
            ));
        }
        copy_file(&from, &dest)?;
        self.o.copied += 1;
        Ok(())
    }

    /// Merges the cell records of every campaign in `src`. A record that
    /// is missing or cannot be read (cut short on its way here) is taken
    /// from the directory's summaries, which list every cell their
    /// invocation ran; one that is in no summary either is
    /// [`Outcome::unreadable`].
    fn records(&mut self) -> Result<(), String> {
        let Ok(campaigns) = fs::read_dir(self.src.join("campaigns")) else {
            return Ok(());
        };
        let mut campaigns: Vec<_> = campaigns.flatten().collect();
        campaigns.sort_by_key(|c| c.file_name());
        for c in campaigns {
            let name = c.file_name().to_string_lossy().into_owned();
            let campaign_dir = format!("campaigns/{name}");
            let mut readable: Vec<(PathBuf, CellRecord)> = Vec::new();
            let mut unreadable: Vec<PathBuf> = Vec::new();
            if let Ok(cells) = fs::read_dir(c.path().join("cells")) {
                let mut cells: Vec<PathBuf> = cells.flatten().map(|e| e.path()).collect();
                cells.sort();
                for path in cells {
                    if path.extension().is_none_or(|x| x != "json") {
                        continue;
                    }
                    match fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<CellRecord>(&b).ok())
                    {
                        Some(r) => readable.push((path, r)),
                        None => unreadable.push(path),
                    }
                }
            }
            for (summary, r) in summary_records(&c.path()) {
                if readable.iter().any(|(_, x)| x.cell == r.cell) {
                    continue;
                }
                let file = c
                    .path()
                    .join("cells")
                    .join(format!("{}.json", crate::slug(&r.cell)));
                self.o.warnings.push(format!(
                    "{}: missing or cut short; cell {} ({}) taken from its summary {}",
                    file.display(),
                    r.cell,
                    r.verdict,
                    summary.display()
                ));
                unreadable.retain(|u| *u != file);
                readable.push((file, r));
            }
            let campaign = readable
                .first()
                .map_or_else(|| name.clone(), |(_, r)| r.campaign.clone());
            for path in unreadable {
                self.o.warnings.push(format!(
                    "{}: not a cell record, and no summary lists its cell: that cell is unknown",
                    path.display()
                ));
                self.o.unreadable.push((campaign.clone(), path));
            }
            for (path, mut record) in readable {
                self.relocate(&campaign_dir, &mut record);
                let cells = self.out.join(&campaign_dir).join("cells");
                self.record(&path, &cells, record)?;
            }
        }
        Ok(())
    }

    /// Points a record's `run-dir` at its run under `out`.
    fn relocate(&self, campaign_dir: &str, r: &mut CellRecord) {
        let Some(old) = &r.run_dir else { return };
        let mut parts = old.rsplit(['/', '\\']).filter(|p| !p.is_empty());
        let (Some(stamp), Some(test)) = (parts.next(), parts.next()) else {
            return;
        };
        let key = (
            campaign_dir.to_string(),
            test.to_string(),
            stamp.to_string(),
        );
        let stamp = self.renamed.get(&key).map_or(stamp, String::as_str);
        let here = self
            .out
            .join(campaign_dir)
            .join("runs")
            .join(test)
            .join(stamp);
        if here.is_dir() {
            r.run_dir = Some(here.display().to_string());
        }
    }

    /// Adds a run of a cell to `cells`. Every complete run of a cell is
    /// kept, whichever directory it came from and in whatever order they
    /// come: two shards that ran one cell and disagree make it flaky, not
    /// the first one's verdict. An incomplete run (interrupted, or the
    /// harness failed) says nothing about the database: it is kept only
    /// while the cell has no complete run, and a complete one replaces it.
    fn record(&mut self, from: &Path, cells: &Path, r: CellRecord) -> Result<(), String> {
        let slug = crate::slug(&r.cell);
        let existing = runs_of(cells, &slug, &r.cell);
        if existing.iter().any(|(_, old)| *old == r) {
            return Ok(());
        }
        if !r.complete() && existing.iter().any(|(_, old)| old.complete()) {
            return Ok(());
        }
        if r.complete() {
            for (path, old) in &existing {
                if !old.complete() {
                    fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
                }
            }
            let others: Vec<&str> = existing
                .iter()
                .filter(|(_, old)| old.complete())
                .map(|(_, old)| old.verdict.as_str())
                .collect();
            if !others.is_empty() {
                self.o.warnings.push(format!(
                    "{}: cell {} was run more than once ({} here, {} merged before); every run is kept",
                    from.display(),
                    r.cell,
                    r.verdict,
                    others.join(", ")
                ));
            }
        }
        // The first run of a cell under its own name, the others beside it.
        let mut dest = cells.join(format!("{slug}.json"));
        let mut n = 2;
        while dest.exists() {
            dest = cells.join(format!("{slug}.run-{n}.json"));
            n += 1;
        }
        fs::create_dir_all(cells).map_err(|e| format!("{}: {e}", cells.display()))?;
        let json = serde_json::to_vec_pretty(&r).map_err(|e| e.to_string())?;
        results::rundir::write_atomic(&dest, &json).map_err(|e| e.to_string())?;
        self.o.records += 1;
        Ok(())
    }
}

/// The records of cell `cell` already in `cells`: `<slug>.json` and
/// `<slug>.run-<n>.json`.
fn runs_of(cells: &Path, slug: &str, cell: &str) -> Vec<(PathBuf, CellRecord)> {
    let Ok(entries) = fs::read_dir(cells) else {
        return Vec::new();
    };
    let base = format!("{slug}.json");
    let more = format!("{slug}.run-");
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name == base || (name.starts_with(&more) && name.ends_with(".json"))
        })
        .filter_map(|e| {
            let r = serde_json::from_slice::<CellRecord>(&fs::read(e.path()).ok()?).ok()?;
            (r.cell == cell).then(|| (e.path(), r))
        })
        .collect()
}

/// The cells listed as run in a campaign directory's `summary*.json`
/// files, each with the summary it came from.
fn summary_records(campaign_dir: &Path) -> Vec<(PathBuf, CellRecord)> {
    #[derive(serde::Deserialize)]
    struct Summary {
        #[serde(default)]
        cells: Vec<CellRecord>,
    }
    let Ok(entries) = fs::read_dir(campaign_dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .is_some_and(|n| n.starts_with("summary") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    let mut out: Vec<(PathBuf, CellRecord)> = Vec::new();
    for f in files {
        let Some(s) = fs::read(&f)
            .ok()
            .and_then(|b| serde_json::from_slice::<Summary>(&b).ok())
        else {
            continue;
        };
        for r in s.cells {
            if !out.iter().any(|(_, x)| *x == r) {
                out.push((f.clone(), r));
            }
        }
    }
    out
}

fn parts(rel: &Path) -> Vec<&str> {
    rel.iter().filter_map(|s| s.to_str()).collect()
}

/// Two run directories hold the same run: the same history (or, without
/// one, the same results.json).
fn same_run(a: &Path, b: &Path) -> bool {
    for f in [results::rundir::HISTORY_FILE, results::rundir::RESULTS_FILE] {
        if let (Ok(x), Ok(y)) = (fs::read(a.join(f)), fs::read(b.join(f))) {
            return x == y;
        }
    }
    false
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) if x.len() == y.len() => {
            matches!((fs::read(a), fs::read(b)), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(p) = to.parent() {
        fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Copies a directory's files and subdirectories (not its symlinks).
fn copy_dir(from: &Path, to: &Path, copied: &mut usize) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for e in fs::read_dir(from)
        .map_err(|e| format!("{}: {e}", from.display()))?
        .flatten()
    {
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()), copied)?;
        } else if kind.is_file() {
            copy_file(&e.path(), &to.join(e.file_name()))?;
            *copied += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A shard's results directory: one campaign run of `cell` with a
    /// history of `history`, stamped `stamp`, and its record.
    fn shard(dir: &Path, cell: &str, stamp: &str, history: &str, verdict: &str) {
        let run = dir.join("campaigns/nightly/runs/t").join(stamp);
        fs::create_dir_all(&run).unwrap();
        fs::write(run.join("history.jsonl"), history).unwrap();
        fs::write(run.join("report.html"), "<html>").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(stamp, dir.join("campaigns/nightly/runs/t/latest")).unwrap();
        let r = CellRecord {
            campaign: "nightly".into(),
            cell: cell.into(),
            test: "t.yaml".into(),
            settings: [("seed".to_string(), json!(1))].into(),
            repeat: 1,
            verdict: verdict.into(),
            exit_code: 0,
            run_dir: Some(format!(
                "/runner/{}",
                run.strip_prefix(dir).unwrap().display()
            )),
            duration_s: 1.0,
            interrupted: false,
            fingerprint: None,
        };
        crate::record::save(&dir.join("campaigns/nightly"), &r).unwrap();
        fs::write(dir.join("junit.xml"), format!("<x>{cell}</x>")).unwrap();
    }

    #[test]
    fn shards_merge_into_one_directory_whose_records_point_at_their_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, out) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("out"),
        );
        shard(&a, "t.yaml[seed=1]#1", "S1", "h1", "valid");
        // The other shard ran another cell in the same millisecond.
        shard(&b, "t.yaml[seed=2]#1", "S1", "h2", "invalid");
        let o = merge(&out, &[a.clone(), b.clone()]).unwrap();
        assert_eq!(o.records, 2);
        let records = crate::record::load_all(&out.join("campaigns/nightly"));
        assert_eq!(records.len(), 2);
        let run = |cell: &str| PathBuf::from(records[cell].run_dir.clone().unwrap());
        assert_eq!(
            run("t.yaml[seed=1]#1"),
            out.join("campaigns/nightly/runs/t/S1")
        );
        assert_eq!(
            run("t.yaml[seed=2]#1"),
            out.join("campaigns/nightly/runs/t/S1-m2")
        );
        assert_eq!(
            fs::read_to_string(run("t.yaml[seed=2]#1").join("history.jsonl")).unwrap(),
            "h2"
        );
        // No symlink copied; the differing junit.xml kept beside the first.
        assert!(!out.join("campaigns/nightly/runs/t/latest").exists());
        assert!(out.join("junit.xml.from-2").is_file());
        assert_eq!(o.warnings.len(), 2, "{:?}", o.warnings);

        // Merging again changes nothing.
        let again = merge(&out, &[a, b]).unwrap();
        assert_eq!(again.copied, 0, "{:?}", again.warnings);
        assert_eq!(
            crate::record::load_all(&out.join("campaigns/nightly")).len(),
            2
        );
    }

    #[test]
    fn a_complete_record_beats_an_interrupted_one_and_the_output_cannot_be_an_input() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, out) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("out"),
        );
        shard(&a, "c#1", "S1", "h1", "error");
        shard(&b, "c#1", "S2", "h2", "valid");
        merge(&out, &[a.clone(), b]).unwrap();
        let records = crate::record::load_all(&out.join("campaigns/nightly"));
        assert_eq!(records["c#1"].verdict, "valid");
        let e = merge(&a.join("campaigns"), std::slice::from_ref(&a)).unwrap_err();
        assert!(e.contains("outside"), "{e}");
        let e = merge(&out, &[tmp.path().join("nope")]).unwrap_err();
        assert!(e.contains("nope"), "{e}");
    }
}
