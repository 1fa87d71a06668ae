//! `shakedown merge` and `shakedown serve DIR DIR` over the results of two
//! shards, built by hand as a campaign writes them (records and run
//! directories; no cluster needed): the merge counts every cell once,
//! flags the flaky cell, exits with the worst verdict and writes one JUnit
//! file and a Markdown summary; `serve` shows the shards' grid with every
//! run linked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;

mod common;
use common::shakedown;

/// A campaign file (1 test x seeds 1, 2 x 2 repeats) and its test file.
fn campaign_file(dir: &Path) -> std::path::PathBuf {
    std::fs::write(
        dir.join("t.yaml"),
        "name: t\ntarget: etcd\ncluster: {local: 3, name: cg3, subnet: 10.77.106.0}\nworkload: {name: register}\n",
    )
    .unwrap();
    let c = dir.join("campaign.yaml");
    std::fs::write(
        &c,
        "name: nightly\ntests: [t.yaml]\nmatrix:\n  seed: [1, 2]\nrepeat: 2\n",
    )
    .unwrap();
    c
}

/// One run of a cell in a shard's results directory, stamped alike on
/// both shards (the directory tells them apart).
fn run(shard: &Path, seed: u32, repeat: u32, verdict: &str, stamp: &str) {
    let dir = shard.join("campaigns/nightly");
    let run = dir.join("runs/t").join(stamp);
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("history.jsonl"), format!("{seed} {repeat}\n")).unwrap();
    std::fs::write(run.join("report.html"), format!("seed {seed} #{repeat}")).unwrap();
    std::fs::create_dir_all(dir.join("cells")).unwrap();
    let cell = format!("t.yaml[seed={seed}]#{repeat}");
    let record = serde_json::json!({
        "campaign": "nightly", "cell": cell, "test": "t.yaml",
        "settings": {"seed": seed}, "repeat": repeat, "verdict": verdict,
        "exit-code": match verdict { "valid" => 0, "invalid" => 1, _ => 2 },
        "run-dir": format!("/runner/results/campaigns/nightly/runs/t/{stamp}"),
        "duration-s": 20.0, "interrupted": false
    });
    std::fs::write(
        dir.join("cells").join(format!("{seed}-{repeat}.json")),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
}

/// Shard 1: seed 1 #1 valid, seed 2 #1 valid. Shard 2: seed 1 #2 valid,
/// seed 2 #2 invalid (the flaky cell: seed 2).
fn shards(dir: &Path) {
    let (a, b) = (dir.join("shard-1"), dir.join("shard-2"));
    run(&a, 1, 1, "valid", "S1");
    run(&a, 2, 1, "valid", "S2");
    run(&b, 1, 2, "valid", "S1");
    run(&b, 2, 2, "invalid", "S2");
}

#[test]
fn merge_counts_every_cell_once_flags_the_flaky_one_and_exits_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    let campaign = campaign_file(tmp.path());
    shards(tmp.path());
    let (out, junit, md) = (
        tmp.path().join("merged"),
        tmp.path().join("junit.xml"),
        tmp.path().join("summary.md"),
    );
    let o = shakedown()
        .arg("merge")
        .arg(tmp.path().join("shard-1"))
        .arg(tmp.path().join("shard-2"))
        .arg("--out")
        .arg(&out)
        .arg("--campaign")
        .arg(&campaign)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("campaign nightly: 4 run(s), 1 flaky cell(s), 0 cell(s) not run"),
        "{stdout}"
    );
    let flaky_rows: Vec<&str> = stdout.lines().filter(|l| l.contains("FLAKY")).collect();
    assert_eq!(flaky_rows.len(), 1, "{stdout}");
    assert!(flaky_rows[0].contains("seed=2") && flaky_rows[0].contains("valid INVALID"));

    // summary.json: every cell once, each pointing at its run under
    // merged/ (the second shard's runs renamed apart from the first's).
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("campaigns/nightly/summary.json")).unwrap())
            .unwrap();
    let mut cells: Vec<&str> = summary["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cell"].as_str().unwrap())
        .collect();
    cells.sort();
    assert_eq!(
        cells,
        [
            "t.yaml[seed=1]#1",
            "t.yaml[seed=1]#2",
            "t.yaml[seed=2]#1",
            "t.yaml[seed=2]#2"
        ]
    );
    for c in summary["cells"].as_array().unwrap() {
        let run = Path::new(c["run-dir"].as_str().unwrap());
        assert!(run.starts_with(&out), "{run:?}");
        let seed = c["settings"]["seed"].as_u64().unwrap();
        let repeat = c["repeat"].as_u64().unwrap();
        assert_eq!(
            std::fs::read_to_string(run.join("report.html")).unwrap(),
            format!("seed {seed} #{repeat}")
        );
    }
    assert_eq!(summary["flaky"].as_array().unwrap().len(), 1);
    assert_eq!(summary["not-run"], serde_json::json!([]));

    let x = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(x.matches("<testcase ").count(), 4);
    assert_eq!(x.matches("<failure").count(), 1);
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("## Campaign nightly: INVALID"), "{md}");
    assert!(
        md.contains("Flaky cells") && md.contains("`seed=2`: invalid 1, valid 1"),
        "{md}"
    );

    // Into the same directory again: refused (its records would count as
    // this merge's), unless asked to add; adding the same shards changes
    // nothing.
    let again = |add: bool| {
        let mut c = shakedown();
        c.arg("merge")
            .arg(tmp.path().join("shard-1"))
            .arg(tmp.path().join("shard-2"))
            .arg("--out")
            .arg(&out)
            .arg("--campaign")
            .arg(&campaign);
        if add {
            c.arg("--add");
        }
        c.output().unwrap()
    };
    let o = again(false);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    let o = again(true);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains(": 0 file(s) copied"));

    // Without shard 2, the campaign file names its two cells not run.
    let o = shakedown()
        .arg("merge")
        .arg(tmp.path().join("shard-1"))
        .arg("--out")
        .arg(tmp.path().join("half"))
        .arg("--campaign")
        .arg(&campaign)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("2 cell(s) not run"), "{stdout}");
}

#[test]
fn serve_shows_the_grid_of_two_shard_directories() {
    let tmp = tempfile::tempdir().unwrap();
    shards(tmp.path());
    let mut child = shakedown()
        .arg("serve")
        .arg(tmp.path().join("shard-1"))
        .arg(tmp.path().join("shard-2"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let get = |target: &str| -> String {
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        buf
    };
    let page = get("/campaigns");
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert_eq!(page.matches("<a class=\"sq ").count(), 4, "{page}");
    assert_eq!(page.matches("class=\"cell flaky\"").count(), 1);
    for (k, stamp) in [(1, "S1"), (1, "S2"), (2, "S1"), (2, "S2")] {
        assert!(
            page.contains(&format!(
                "href=\"/dirs/{k}/campaigns/nightly/runs/t/{stamp}/report.html\""
            )),
            "{page}"
        );
    }
}

/// Without the campaign file, the cells a shard's summary lists as not run
/// (its time budget ran out) are still named, and the merge is no pass.
#[test]
fn merge_names_the_cells_a_shard_did_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("shard-1");
    run(&a, 1, 1, "valid", "S1");
    let missing: Vec<serde_json::Value> = [(1, 2), (2, 2)]
        .iter()
        .map(|(seed, repeat)| {
            serde_json::json!({
                "cell": format!("t.yaml[seed={seed}]#{repeat}"),
                "why": "the time budget ran out",
                "test": "t.yaml", "settings": {"seed": seed}, "repeat": repeat
            })
        })
        .collect();
    std::fs::write(
        a.join("campaigns/nightly/summary-1-of-2.json"),
        serde_json::json!({"campaign": "nightly", "shard": "1/2", "cells": [], "not-run": missing})
            .to_string(),
    )
    .unwrap();
    let o = shakedown()
        .arg("merge")
        .arg(&a)
        .arg("--out")
        .arg(tmp.path().join("merged"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("campaign nightly: 1 run(s), 0 flaky cell(s), 2 cell(s) not run"),
        "{stdout}"
    );
    assert!(stdout.contains("t.yaml[seed=2]#2") && stdout.contains("not run"));
}
