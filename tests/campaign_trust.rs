//! Campaigns, merge and JUnit never pass what failed, and never publish a
//! secret of the matrix or `set:` (issue 23, items 6 and 7), through the
//! real binary and without a cluster.
//!
//! Cells that must run do run, against a node nobody listens on
//! (127.0.0.1 port 1): SSH is refused at once, so each cell ends `error`
//! in well under a second and still leaves its record, the summary, the
//! table and the JUnit file a real campaign leaves. Where a test needs a
//! finished (valid or invalid) cell, it writes the records by hand as
//! `campaign` writes them, the way tests/campaign_merge.rs does.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::shakedown;

fn text(out: &Output) -> String {
    let (o, e) = common::text(out);
    format!("{o}\n{e}")
}

/// A test file whose only node refuses SSH: every cell of it ends `error`
/// at once, no cluster needed.
const TEST: &str = "name: t
target:
  name: process
  start: 'true'
  ready: 'true'
  client: {command: [/bin/cat]}
nodes: [{name: n1, host: 127.0.0.1, port: 1}]
ssh: {user: root, auth: {method: key, path: /nonexistent/key}}
workload: {name: register}
time-limit: 1s
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn campaign(dir: &Path, yaml: &str) -> PathBuf {
    write(dir, "t.yaml", TEST);
    write(dir, "c.yaml", yaml)
}

fn run_campaign(campaign: &Path, results: &Path, extra: &[&str]) -> Output {
    shakedown()
        .arg("campaign")
        .arg(campaign)
        .arg("--results")
        .arg(results)
        .args(extra)
        .output()
        .unwrap()
}

/// Every file under `dir` (not following links), with its bytes (lossy
/// text).
fn files(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        // `latest` links lead to files listed already.
        if e.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        if p.is_dir() {
            files(&p, out);
        } else {
            let bytes = std::fs::read(&p).unwrap_or_default();
            out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
}

fn records(campaign_dir: &Path) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = std::fs::read_dir(campaign_dir.join("cells"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|r| r["cell"].as_str().unwrap_or("").to_string());
    out
}

// ---------------------------------------------------------------- item 6

/// 130 settings of two values each make 2^130 cells: more than a u128
/// holds. The campaign is refused with the count it cannot make, naming
/// the file, instead of overflowing (a panic in debug builds, a wrapped
/// product and an allocation abort in release).
#[test]
fn a_matrix_whose_size_overflows_is_refused_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let mut yaml = String::from("name: huge\ntests: [t.yaml]\nmatrix:\n");
    for k in 0..130 {
        yaml.push_str(&format!("  target.client.env.K{k}: [a, b]\n"));
    }
    let c = campaign(tmp.path(), &yaml);
    let out = shakedown()
        .arg("campaign")
        .arg(&c)
        .arg("--list")
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    assert!(
        t.contains("c.yaml") && t.contains("more than 100000 cells"),
        "{t}"
    );
}

/// One cell's run in a shard's results directory, with its record, as a
/// campaign writes them.
fn shard_run(shard: &Path, seed: u32, verdict: &str, stamp: &str) -> serde_json::Value {
    let dir = shard.join("campaigns/nightly");
    let run = dir.join("runs/t").join(stamp);
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("history.jsonl"), format!("{stamp} {seed}\n")).unwrap();
    std::fs::write(run.join("report.html"), format!("{stamp} seed {seed}")).unwrap();
    std::fs::create_dir_all(dir.join("cells")).unwrap();
    let record = serde_json::json!({
        "campaign": "nightly", "cell": format!("t.yaml[seed={seed}]#1"), "test": "t.yaml",
        "settings": {"seed": seed}, "repeat": 1, "verdict": verdict,
        "exit-code": match verdict { "valid" => 0, "invalid" => 1, _ => 2 },
        "run-dir": format!("/runner/results/campaigns/nightly/runs/t/{stamp}"),
        "duration-s": 3.0, "interrupted": false
    });
    std::fs::write(
        dir.join("cells")
            .join(format!("t.yaml_seed={seed}_#1.json")),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    record
}

fn merge(dirs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    shakedown()
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// The same cell run on two shards (a retried job, a shard given twice)
/// came out valid on one and invalid on the other. Whatever order the
/// shards are named in, the merge keeps both runs, calls the cell flaky
/// and exits invalid; before, it kept the first directory's run and
/// passed when the valid shard came first.
#[test]
fn merge_keeps_every_run_of_a_cell_and_flags_disagreement_whatever_the_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    shard_run(&a, 1, "valid", "S1");
    shard_run(&b, 1, "invalid", "S2");
    for (k, order) in [[&a, &b], [&b, &a]].iter().enumerate() {
        let out = tmp.path().join(format!("merged-{k}"));
        let junit = tmp.path().join(format!("junit-{k}.xml"));
        let o = merge(
            &[order[0].as_path(), order[1].as_path()],
            &out,
            &["--junit", junit.to_str().unwrap()],
        );
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "order {k}: {t}");
        assert!(
            t.contains("campaign nightly: 2 run(s), 1 flaky cell(s)"),
            "order {k}: {t}"
        );
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("campaigns/nightly/summary.json")).unwrap(),
        )
        .unwrap();
        let mut verdicts: Vec<&str> = summary["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["verdict"].as_str().unwrap())
            .collect();
        verdicts.sort();
        assert_eq!(verdicts, ["invalid", "valid"], "order {k}");
        // Each run still points at its own run directory.
        for c in summary["cells"].as_array().unwrap() {
            let run = Path::new(c["run-dir"].as_str().unwrap());
            let report = std::fs::read_to_string(run.join("report.html")).unwrap();
            let stamp = if c["verdict"] == "valid" { "S1" } else { "S2" };
            assert!(report.starts_with(stamp), "order {k}: {report}");
        }
        let x = std::fs::read_to_string(&junit).unwrap();
        assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
        assert_eq!(x.matches("<failure").count(), 1, "{x}");
    }
}

/// A shard's record of an invalid cell is cut short (an artifact upload
/// that stopped, a full disk): the merge takes that cell from the shard's
/// summary, which lists every cell it ran, and still exits invalid. A
/// record that is unreadable and in no summary makes the merge unknown at
/// best, naming the file; before, both were left out with a warning and
/// the merge passed.
#[test]
fn merge_trusts_the_summary_over_a_truncated_or_missing_record() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let valid = shard_run(&a, 1, "valid", "S1");
    let invalid = shard_run(&a, 2, "invalid", "S2");
    let dir = a.join("campaigns/nightly");
    std::fs::write(
        dir.join("summary.json"),
        serde_json::json!({"campaign": "nightly", "shard": null,
                           "cells": [valid, invalid], "not-run": []})
        .to_string(),
    )
    .unwrap();
    let cut = dir.join("cells/t.yaml_seed=2_#1.json");
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

    let o = merge(&[&a], &tmp.path().join("m1"), &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("campaign nightly: 2 run(s)"), "{t}");
    assert!(t.contains("from its summary"), "{t}");

    // The record gone altogether: the summary still has it.
    std::fs::remove_file(&cut).unwrap();
    let o = merge(&[&a], &tmp.path().join("m2"), &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("campaign nightly: 2 run(s)"), "{t}");

    // No summary, and a record cut short: that cell is unknown, not gone.
    let b = tmp.path().join("b");
    shard_run(&b, 1, "valid", "S1");
    shard_run(&b, 2, "invalid", "S2");
    let cut = b.join("campaigns/nightly/cells/t.yaml_seed=2_#1.json");
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let junit = tmp.path().join("junit.xml");
    let o = merge(
        &[&b],
        &tmp.path().join("m3"),
        &["--junit", junit.to_str().unwrap()],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("t.yaml_seed=2_#1.json"), "{t}");
    assert!(t.contains("unknown"), "{t}");
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(
        x.contains("<error") && x.contains("t.yaml_seed=2_#1.json"),
        "{x}"
    );
}

/// Run once, the cell leaves a record; marked finished (as a run that
/// ended valid would leave it), the same command skips it. Changing the
/// test file, or the campaign's `set:`, makes it run again: the record
/// was of another test.
#[test]
fn resume_reruns_a_cell_whose_test_or_settings_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let c = campaign(
        tmp.path(),
        "name: resume\ntests: [t.yaml]\nset:\n  time-limit: 1s\n",
    );
    let results = tmp.path().join("results");
    let dir = results.join("campaigns/resume");
    let finish_the_record = || {
        let [r] = &records(&dir)[..] else {
            panic!("expected one record: {:?}", records(&dir))
        };
        let mut r = r.clone();
        r["verdict"] = "valid".into();
        r["exit-code"] = 0.into();
        let path = std::fs::read_dir(dir.join("cells"))
            .unwrap()
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "json"))
            .unwrap()
            .path();
        std::fs::write(path, serde_json::to_vec(&r).unwrap()).unwrap();
    };
    let o = run_campaign(&c, &results, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    finish_the_record();
    let o = run_campaign(&c, &results, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("done before (valid)"), "{t}");

    // The test file changed: the cell runs again.
    write(
        tmp.path(),
        "t.yaml",
        &TEST.replace(
            "workload: {name: register}",
            "workload: {name: register, keys: 7}",
        ),
    );
    let o = run_campaign(&c, &results, &[]);
    let t = text(&o);
    assert!(!t.contains("done before"), "{t}");
    assert!(t.contains("changed since its run"), "{t}");
    assert_eq!(
        o.status.code(),
        Some(3),
        "it ran (and failed to reach its node): {t}"
    );

    // Unchanged again: skipped; then the campaign's `set:` changes.
    finish_the_record();
    let o = run_campaign(&c, &results, &[]);
    assert!(text(&o).contains("done before (valid)"), "{}", text(&o));
    write(
        tmp.path(),
        "c.yaml",
        "name: resume\ntests: [t.yaml]\nset:\n  time-limit: 2s\n",
    );
    let o = run_campaign(&c, &results, &[]);
    let t = text(&o);
    assert!(!t.contains("done before"), "{t}");
    assert_eq!(o.status.code(), Some(3), "{t}");
}

/// `--time-budget 0` starts no cell: the summary is written (every cell
/// in it as not run), the JUnit file names every cell as an error, and
/// the campaign exits 2. Before, the summary could not be written (the
/// campaign directory did not exist yet) and the campaign failed with 3.
#[test]
fn a_zero_time_budget_writes_its_summary_and_junit_errors_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let c = campaign(
        tmp.path(),
        "name: budget\ntests: [t.yaml]\nmatrix:\n  seed: [1, 2]\n",
    );
    let results = tmp.path().join("results");
    let junit = tmp.path().join("junit.xml");
    let o = run_campaign(
        &c,
        &results,
        &["--time-budget", "0s", "--junit", junit.to_str().unwrap()],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(results.join("campaigns/budget/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["cells"], serde_json::json!([]));
    assert_eq!(summary["not-run"].as_array().unwrap().len(), 2);
    let x = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
    assert_eq!(x.matches("<error message=\"not run\"").count(), 2, "{x}");
    assert!(x.contains("errors=\"2\""), "{x}");
}

/// A shard with no cell (more shards than cells) is no pass: its empty
/// summary and a JUnit error saying so are written, and it exits 2.
#[test]
fn an_empty_shard_writes_its_empty_summary_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let c = campaign(
        tmp.path(),
        "name: few\ntests: [t.yaml]\nmatrix:\n  seed: [1, 2]\n",
    );
    let results = tmp.path().join("results");
    let junit = tmp.path().join("junit.xml");
    let o = run_campaign(
        &c,
        &results,
        &["--shard", "3/3", "--junit", junit.to_str().unwrap()],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("shard 3/3 holds no cell"), "{t}");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(results.join("campaigns/few/summary-3-of-3.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["cells"], serde_json::json!([]));
    assert_eq!(summary["shard"], "3/3");
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("<error") && x.contains("no cell"), "{x}");
}

/// Merged JUnit names every cell that did not pass: the cells a shard's
/// summary lists as not run, a cell of the campaign file no shard ran, and
/// an interrupted run (even one whose record says valid: a record is a
/// file anyone can write, and an interrupted run proved nothing).
#[test]
fn merged_junit_carries_not_run_and_interrupted_cells_as_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let mut r = shard_run(&a, 1, "valid", "S1");
    r["interrupted"] = true.into();
    std::fs::write(
        a.join("campaigns/nightly/cells/t.yaml_seed=1_#1.json"),
        serde_json::to_vec(&r).unwrap(),
    )
    .unwrap();
    std::fs::write(
        a.join("campaigns/nightly/summary.json"),
        serde_json::json!({"campaign": "nightly", "shard": null, "cells": [r],
            "not-run": [{"cell": "t.yaml[seed=2]#1", "why": "the time budget ran out",
                         "test": "t.yaml", "settings": {"seed": 2}, "repeat": 1}]})
        .to_string(),
    )
    .unwrap();
    let junit = tmp.path().join("junit.xml");
    let o = merge(
        &[&a],
        &tmp.path().join("m"),
        &["--junit", junit.to_str().unwrap()],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    let x = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
    assert_eq!(x.matches("<error").count(), 2, "{x}");
    assert!(x.contains("name=\"t.yaml[seed=2]#1\""), "{x}");
    assert!(x.contains("message=\"not run\""), "{x}");
    assert!(x.contains("message=\"interrupted\""), "{x}");

    // With the campaign file: a cell nobody ran at all is named too.
    write(tmp.path(), "t.yaml", TEST);
    let cf = write(
        tmp.path(),
        "c.yaml",
        "name: nightly\ntests: [t.yaml]\nmatrix:\n  seed: [1, 2, 3]\n",
    );
    let o = merge(
        &[&a],
        &tmp.path().join("m2"),
        &[
            "--junit",
            junit.to_str().unwrap(),
            "--campaign",
            cf.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let x = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(x.matches("<testcase ").count(), 3, "{x}");
    assert_eq!(x.matches("<error").count(), 3, "{x}");
    assert!(x.contains("name=\"t.yaml[seed=3]#1\""), "{x}");
}

// ---------------------------------------------------------------- item 7

const SECRETS: [&str; 5] = [
    "hunter2-a",
    "hunter2-b",
    "url-secret",
    "auth-secret",
    "set-pwd",
];

/// Secrets in the matrix (a `*_PASS` variable taking two values) and in
/// `set:` (a URL with credentials, `*_AUTH`, `*_PWD`) appear nowhere
/// shakedown writes: not on stdout or stderr (`--list`, the progress
/// lines, the table), not in the summary, the records or their file
/// names, the JUnit file, nor in what `merge` prints and writes (the grid
/// it draws from the records). The two matrix values stay two cells.
#[test]
fn secrets_of_the_matrix_and_set_are_redacted_everywhere_they_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let c = campaign(
        tmp.path(),
        "name: secrets
tests: [t.yaml]
matrix:
  seed: [1]
  target.client.env.DB_PASS: [hunter2-a, hunter2-b]
set:
  target.client.env.DATABASE_URL: 'postgres://admin:url-secret@db.example:5432/app'
  target.client.env.REDIS_AUTH: auth-secret
  target.client.env.PG_PWD: set-pwd
",
    );
    let leaks = |what: &str, s: &str| {
        for secret in SECRETS {
            assert!(!s.contains(secret), "{what} holds {secret}:\n{s}");
        }
    };
    let o = shakedown()
        .arg("campaign")
        .arg(&c)
        .arg("--list")
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    leaks("--list", &t);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2, "{t}");

    let results = tmp.path().join("results");
    let junit = tmp.path().join("junit.xml");
    let o = run_campaign(&c, &results, &["--junit", junit.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    leaks("the campaign's output", &t);
    assert!(t.contains("<redacted"), "{t}");
    let recs = records(&results.join("campaigns/secrets"));
    assert_eq!(recs.len(), 2, "two cells, two records");
    assert_ne!(recs[0]["cell"], recs[1]["cell"]);
    leaks("junit", &std::fs::read_to_string(&junit).unwrap());
    let mut all = Vec::new();
    files(&results, &mut all);
    assert!(all.len() >= 3, "{all:?}");
    for (path, body) in &all {
        leaks(&path.display().to_string(), &path.display().to_string());
        leaks(&path.display().to_string(), body);
    }

    // The merge's table (drawn from the grid), summary and JUnit.
    let merged = tmp.path().join("merged");
    let o = merge(
        &[&results],
        &merged,
        &[
            "--junit",
            junit.to_str().unwrap(),
            "--campaign",
            c.to_str().unwrap(),
        ],
    );
    let t = text(&o);
    leaks("merge's output", &t);
    leaks("merged junit", &std::fs::read_to_string(&junit).unwrap());
    let mut all = Vec::new();
    files(&merged, &mut all);
    for (path, body) in &all {
        leaks(&path.display().to_string(), body);
    }
}

/// A cell whose test file does not read names the cell and the error, but
/// neither the cell's id nor the error's excerpt of the test text shows a
/// secret of the matrix or `set:`.
#[test]
fn a_bad_cell_is_reported_without_its_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    for yaml in [
        "name: bad\ntests: [t.yaml]\nset:\n  target.client.env.DB_PASSWORD: set-pwd\n  target.client.bogus: 1\n",
        // A list where a string belongs: the cell is refused, its id shown.
        "name: bad\ntests: [t.yaml]\nmatrix:\n  target.client.env.DB_PASSWORD: [[set-pwd, other]]\n",
    ] {
        let c = campaign(tmp.path(), yaml);
        let o = shakedown()
            .arg("campaign")
            .arg(&c)
            .arg("--list")
            .output()
            .unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(3), "{t}");
        assert!(t.contains("c.yaml: cell t.yaml["), "{t}");
        assert!(!t.contains("set-pwd"), "{t}");
    }
}

/// The same secrets through a cell that really runs (a one-node local
/// cluster, `tc7` on 10.77.227.0/24; needs root): nothing in its run
/// directory (test.yaml, run.json, results, report, logs, the clients'
/// stderr) holds one, and the stored test file says `<redacted>` where
/// they were (a URL keeps all but its password).
#[test]
fn no_secret_of_a_campaign_reaches_a_run_directory() {
    if !harness::control::local::is_root() {
        eprintln!("skipped: needs root (a local cluster)");
        return;
    }
    let _guard = common::ClusterGuard("tc7");
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "t.yaml",
        "name: tcsecret
target:
  name: process
  start: 'touch {data}/up; exec sleep 1000'
  ready: 'test -f {data}/up'
  client: {command: [/bin/cat]}
cluster: {local: 1, name: tc7, subnet: 10.77.227.0}
workload: {name: register}
concurrency: 1
rate: 5
time-limit: 1s
recovery-time: 0s
",
    );
    let c = write(
        tmp.path(),
        "c.yaml",
        "name: runsecret
tests: [t.yaml]
matrix:
  target.client.env.DB_PASS: [hunter2-a]
set:
  target.client.env.DATABASE_URL: 'postgres://admin:url-secret@db.example/app'
  target.client.env.REDIS_AUTH: auth-secret
",
    );
    let results = tmp.path().join("results");
    let o = run_campaign(&c, &results, &[]);
    let t = text(&o);
    // /bin/cat is no client: nothing succeeds, the cell is unknown.
    assert_eq!(o.status.code(), Some(2), "{t}");
    let mut all = Vec::new();
    files(&results, &mut all);
    let stored: Vec<&(PathBuf, String)> = all
        .iter()
        .filter(|(p, _)| p.ends_with("test.yaml"))
        .collect();
    assert_eq!(stored.len(), 1, "one run, one stored test file: {all:?}");
    let yaml = &stored[0].1;
    assert!(
        yaml.contains("\"DATABASE_URL\": \"postgres://admin:<redacted>@db.example/app\"")
            && yaml.contains("\"DB_PASS\": \"<redacted>\"")
            && yaml.contains("\"REDIS_AUTH\": \"<redacted>\""),
        "{yaml}"
    );
    for secret in ["hunter2-a", "url-secret", "auth-secret"] {
        assert!(!t.contains(secret), "the output holds {secret}: {t}");
        for (path, body) in &all {
            assert!(!body.contains(secret), "{} holds {secret}", path.display());
        }
    }
}
