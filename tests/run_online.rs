//! Online checking on live runs (issue 26), against the toy database of
//! `examples/clients/` driven by its Python register client:
//!
//! - a copy of it that serves stale reads after 5 s
//!   (`tests/data/online/staledb.py`), run for 300 s with
//!   `--stop-on-invalid`: the run stops within a few seconds of the first
//!   stale read, INVALID, and results.json and the report say when the
//!   anomaly was seen and that the run stopped early;
//! - the correct database with `stop-on: invalid` in the test file: online
//!   and offline both VALID, the run goes its full length.
//!
//! Needs root (network namespaces, sshd). Clusters on1 (10.77.244.0) and
//! on2 (10.77.245.0).

use std::path::{Path, PathBuf};

mod common;
use common::{shakedown, text, ClusterGuard};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn test_file(
    dir: &Path,
    cluster: &str,
    subnet: &str,
    db: &Path,
    args: &str,
    extra: &str,
) -> PathBuf {
    let client = root().join("examples/clients/python/register.py");
    let yaml = format!(
        "name: {cluster}-online
target:
  name: process
  packages: [python3, netcat-openbsd]
  files: [{{from: {db}, to: /opt/shakedown-{cluster}/db.py}}]
  start: /usr/bin/python3 /opt/shakedown-{cluster}/db.py {{host}} 7800 {args}
  ready: nc -z {{host}} 7800
  ready-timeout: 10s
  client:
    command: [/usr/bin/python3, {client}]
cluster: {{local: 1, name: {cluster}, subnet: {subnet}}}
workload: {{name: register, keys: 3}}
concurrency: 3
rate: 100
recovery-time: 0s
nemesis: {{faults: []}}
{extra}",
        db = db.display(),
        client = client.display()
    );
    let path = dir.join("test.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn results_json(results: &Path) -> (PathBuf, serde_json::Value) {
    let dir = std::fs::canonicalize(results.join("latest")).unwrap();
    let s = std::fs::read_to_string(dir.join("results.json")).unwrap();
    (dir, serde_json::from_str(&s).unwrap())
}

/// The time of the last client op in the history, in seconds.
fn last_client_op_s(dir: &Path) -> f64 {
    std::fs::read_to_string(dir.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|op| op["process"].is_number())
        .filter_map(|op| op["time"].as_u64())
        .max()
        .unwrap() as f64
        / 1e9
}

#[test]
fn a_database_gone_stale_stops_the_run_at_its_first_stale_read() {
    require_root!();
    let _guard = ClusterGuard("on1");
    let dir = tempfile::tempdir().unwrap();
    let db = root().join("tests/data/online/staledb.py");
    let test = test_file(
        dir.path(),
        "on1",
        "10.77.244.0",
        &db,
        "5",
        "time-limit: 300s\n",
    );
    let results = dir.path().join("results");
    let started = std::time::Instant::now();
    let out = shakedown()
        .args([
            "run",
            test.to_str().unwrap(),
            "--stop-on-invalid",
            "--results",
        ])
        .arg(&results)
        .output()
        .unwrap();
    let took = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("INVALID"), "{stdout}");
    assert!(
        stdout.contains("stopped early: stop-on: invalid"),
        "{stdout}"
    );
    assert!(stderr.contains("first online anomaly at"), "{stderr}");
    // A 300 s test, stopped at the first stale read (5 s in): setup,
    // teardown and the check included, far less than its time limit.
    assert!(took.as_secs() < 120, "took {took:?}");

    let (run_dir, r) = results_json(&results);
    assert_eq!(r["valid"], "invalid", "{r:#}");
    assert!(
        r["stopped_early"]
            .as_str()
            .unwrap()
            .starts_with("stop-on: invalid"),
        "{r:#}"
    );
    let online = &r["online"];
    assert!(online["anomaly_count"].as_u64().unwrap() >= 1, "{online:#}");
    assert_eq!(online["anomalies"][0]["checker"], "linearizable");
    let first = &online["first"];
    let at = first["time_s"].as_f64().unwrap();
    // The database goes stale 5 s after it started, a little before the
    // clients did.
    assert!((2.0..30.0).contains(&at), "first anomaly at {at} s");
    assert!(
        first["text"].as_str().unwrap().starts_with("found at 00:"),
        "{first:#}"
    );
    assert!(
        first["text"].as_str().unwrap().contains("no fault active"),
        "{first:#}"
    );
    // Stopped within a few seconds of it.
    let last = last_client_op_s(&run_dir);
    assert!(
        last < at + 5.0,
        "last client op at {last} s, anomaly at {at} s"
    );
    // The offline check of the whole history finds it too.
    assert_eq!(r["checkers"][0]["valid"], "invalid");

    let report = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(
        report.contains("id=\"online-first\">found at 00:"),
        "report"
    );
    assert!(report.contains("id=\"stopped-early\""), "report");
}

#[test]
fn a_correct_database_is_valid_online_and_offline() {
    require_root!();
    let _guard = ClusterGuard("on2");
    let dir = tempfile::tempdir().unwrap();
    let db = root().join("examples/clients/toydb.py");
    let test = test_file(
        dir.path(),
        "on2",
        "10.77.245.0",
        &db,
        "",
        "time-limit: 8s\nstop-on: invalid\n",
    );
    let results = dir.path().join("results");
    let out = shakedown()
        .args(["run", test.to_str().unwrap(), "--results"])
        .arg(&results)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("VALID"), "{stdout}");
    assert!(stdout.contains("online: 0 anomalies in"), "{stdout}");
    let (run_dir, r) = results_json(&results);
    assert_eq!(r["valid"], "valid");
    assert!(r.get("stopped_early").is_none(), "{r:#}");
    let online = &r["online"];
    assert_eq!(online["anomaly_count"], 0, "{online:#}");
    assert!(online.get("first").is_none());
    // Every op recorded was checked online.
    let ops = std::fs::read_to_string(run_dir.join("history.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(online["ops"].as_u64().unwrap() as usize, ops, "{online:#}");
    // It ran its full length.
    assert!(last_client_op_s(&run_dir) > 7.0);
}

/// Jepsen's Redis finding, watched online: the primary cut off from its
/// replicas and Sentinels longer than a failover (cluster on3), the set
/// workload reading during the run. The offline check finds the lost
/// writes after the final reads; the online checkers see the first read
/// that misses an acknowledged add while the run goes, and results.json
/// records when, among the faults.
#[test]
fn redis_under_a_primary_partition_loses_writes_and_the_first_online_anomaly_is_timed() {
    require_root!();
    let _guard = ClusterGuard("on3");
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: redis-set-online
cluster: {local: 3, name: on3, subnet: 10.77.246.0}
seed: 5
target: redis
workload: {name: set, reads: 1}
concurrency: 6
rate: 150
time-limit: 30s
recovery-time: 12s
op-timeout: 5s
nemesis:
  faults: [partition]
  interval: 12
  partition: {modes: [primaries]}
";
    let test = dir.path().join("test.yaml");
    std::fs::write(&test, yaml).unwrap();
    let results = dir.path().join("results");
    let out = shakedown()
        .args(["run", test.to_str().unwrap(), "--results"])
        .arg(&results)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let (run_dir, r) = results_json(&results);
    let set = &r["checkers"][0]["result"];
    assert_eq!(set["valid"], "invalid", "{set:#}");
    assert!(
        set["lost_count"].as_u64().unwrap() > 0,
        "lost writes: {set:#}"
    );
    let online = &r["online"];
    eprintln!("online: {online:#}");
    assert!(online["anomaly_count"].as_u64().unwrap() > 0, "{online:#}");
    let first = &online["first"];
    let at = first["time_s"].as_f64().unwrap();
    // The first partition is what made it: no anomaly before it began.
    let partition = r["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "partition")
        .expect("a partition");
    let began = partition["start_time_ns"].as_f64().unwrap() / 1e9;
    assert!(at >= began, "anomaly at {at} s, partition at {began} s");
    assert!(
        first["text"].as_str().unwrap().starts_with("found at 00:"),
        "{first:#}"
    );
    let report = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(report.contains("id=\"online-first\">found at 00:"));
}

/// `campaign --stop-on-invalid` (cluster on4): each cell's run ends at
/// its first online anomaly, as `run --stop-on-invalid` does.
#[test]
fn a_campaign_with_stop_on_invalid_stops_each_run_at_its_first_anomaly() {
    require_root!();
    let _guard = ClusterGuard("on4");
    let dir = tempfile::tempdir().unwrap();
    let db = root().join("tests/data/online/staledb.py");
    test_file(
        dir.path(),
        "on4",
        "10.77.247.0",
        &db,
        "3",
        "time-limit: 300s\n",
    );
    std::fs::write(
        dir.path().join("campaign.yaml"),
        "name: stale\ntests: [test.yaml]\nmatrix:\n  seed: [1]\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let started = std::time::Instant::now();
    let out = shakedown()
        .arg("campaign")
        .arg(dir.path().join("campaign.yaml"))
        .arg("--stop-on-invalid")
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(started.elapsed().as_secs() < 120, "{:?}", started.elapsed());
    let (_, r) = results_json(&results.join("campaigns/stale/runs/on4-online"));
    assert_eq!(r["valid"], "invalid");
    assert!(
        r["stopped_early"]
            .as_str()
            .unwrap()
            .starts_with("stop-on: invalid"),
        "{r:#}"
    );
}
