//! `shakedown check` agrees with Elle on the histories a user comparing it
//! with a Jepsen analysis meets first, and `check RUN_DIR --consistency M`
//! rechecks a stored run under M (issue 27).
//!
//! Two small histories are written in the shape of the MariaDB runs of
//! issue 27: at READ COMMITTED a txn that reads a key twice sees two
//! committed versions; at REPEATABLE READ with `innodb_snapshot_isolation=ON`
//! two txns each read both keys and write one (write skew). Two run
//! directories recorded from live MariaDB 10.11 (`tests/data/mariadb/`, by
//! the `mariadb` target: `shakedown run` of their `test.yaml`) are rechecked
//! too.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shakedown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .output()
        .expect("run shakedown")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &Path, name: &str, edn: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, edn).unwrap();
    p
}

/// `check` of `edn` as rw-register for `model`, writing run directory `run`.
fn check_into_run_dir(dir: &Path, edn: &str, model: &str, run: &Path) -> Output {
    let h = write(dir, "history.edn", edn);
    shakedown(&[
        "check",
        h.to_str().unwrap(),
        "--workload",
        "rw-register",
        "--consistency",
        model,
        "--out",
        run.to_str().unwrap(),
    ])
}

/// READ COMMITTED: process 0 reads x twice, between the commits of two
/// writers, and sees 1 then 2.
const READ_COMMITTED: &str = "\
{:index 0 :type :invoke :process 1 :f :txn :value [[:w :x 1]]}
{:index 1 :type :ok :process 1 :f :txn :value [[:w :x 1]]}
{:index 2 :type :invoke :process 0 :f :txn :value [[:r :x nil] [:r :x nil]]}
{:index 3 :type :invoke :process 2 :f :txn :value [[:w :x 2] [:w :y 1]]}
{:index 4 :type :ok :process 2 :f :txn :value [[:w :x 2] [:w :y 1]]}
{:index 5 :type :ok :process 0 :f :txn :value [[:r :x 1] [:r :x 2]]}
{:index 6 :type :invoke :process 1 :f :txn :value [[:r :y nil]]}
{:index 7 :type :ok :process 1 :f :txn :value [[:r :y 1]]}
";

/// REPEATABLE READ with snapshot isolation: write skew, G2-item.
const WRITE_SKEW: &str = "\
{:index 0 :type :invoke :process 0 :f :txn :value [[:r :x nil] [:r :y nil] [:w :x 1]]}
{:index 1 :type :invoke :process 1 :f :txn :value [[:r :x nil] [:r :y nil] [:w :y 2]]}
{:index 2 :type :ok :process 0 :f :txn :value [[:r :x nil] [:r :y nil] [:w :x 1]]}
{:index 3 :type :ok :process 1 :f :txn :value [[:r :x nil] [:r :y nil] [:w :y 2]]}
{:index 4 :type :invoke :process 0 :f :txn :value [[:r :x nil] [:r :y nil]]}
{:index 5 :type :ok :process 0 :f :txn :value [[:r :x 1] [:r :y 2]]}
";

#[test]
fn read_committed_non_repeatable_read_is_internal_and_valid_for_read_committed() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("rc");
    let out = check_into_run_dir(dir.path(), READ_COMMITTED, "read-committed", &run);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    // Elle's name, the form spelled out, and what it rules out: not read
    // committed.
    assert!(t.contains("internal ×1 (non-repeatable-read)"), "{t}");
    assert!(!t.contains("INVALID"), "{t}");
    let results = std::fs::read_to_string(run.join("results.json")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&results).unwrap();
    let r = &j["checkers"][0]["result"];
    assert_eq!(r["anomaly_types"], serde_json::json!(["internal"]));
    assert_eq!(r["anomalies"][0]["form"], "non-repeatable-read");
    let ruled: Vec<&str> = r["ruled_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(!ruled.contains(&"read-committed"), "{ruled:?}");
    assert!(!ruled.contains(&"repeatable-read"), "{ruled:?}");
    assert!(ruled.contains(&"snapshot-isolation"), "{ruled:?}");
    assert!(ruled.contains(&"read-atomic"), "{ruled:?}");

    // The stored run, as recorded (read committed): valid.
    let again = shakedown(&["check", run.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    // Rechecked under other models: what is asked for is what is checked.
    for (model, code) in [
        ("snapshot-isolation", 1),
        ("serializable", 1),
        ("read-atomic", 1),
        ("repeatable-read", 0),
        ("monotonic-atomic-view", 0),
    ] {
        let out = shakedown(&["check", run.to_str().unwrap(), "--consistency", model]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(code), "{model}: {t}");
        assert!(t.contains(&format!("checked {model}")), "{model}: {t}");
    }
}

#[test]
fn repeatable_read_write_skew_is_valid_for_snapshot_isolation_through_the_run_dir() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("rr");
    // Recorded as checked for repeatable read: G2-item rules it out.
    let out = check_into_run_dir(dir.path(), WRITE_SKEW, "repeatable-read", &run);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("G2-item ×1"), "{t}");
    // `check RUN_DIR --consistency snapshot-isolation` checks that model,
    // not the recorded one.
    let out = shakedown(&[
        "check",
        run.to_str().unwrap(),
        "--consistency",
        "snapshot-isolation",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("checked snapshot-isolation"), "{t}");
    assert!(t.contains("checked snapshot-isolation: holds"), "{t}");
    assert!(
        t.contains("anomalies snapshot-isolation allows: G2-item ×1"),
        "{t}"
    );
    assert!(!t.contains("INVALID") && !t.contains("rules out"), "{t}");
    let out = shakedown(&["check", run.to_str().unwrap(), "--consistency", "PL-3"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Without --consistency: the recorded model.
    let out = shakedown(&["check", run.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("checked repeatable-read"), "{t}");
}

#[test]
fn checker_options_that_would_be_ignored_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let h = write(dir.path(), "rr.edn", WRITE_SKEW);
    let lin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/linearizability/etcd/etcd_000.log");
    // --consistency for a linearizability check.
    let out = shakedown(&[
        "check",
        lin.to_str().unwrap(),
        "--consistency",
        "serializable",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("--consistency applies to transactional"), "{t}");
    // --assume for list-append.
    let out = shakedown(&[
        "check",
        h.to_str().unwrap(),
        "--workload",
        "list-append",
        "--assume",
        "linearizable-keys",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("--assume applies to rw-register"), "{t}");
}

/// A run directory recorded from live MariaDB, copied so a recheck cannot
/// touch the original.
fn recorded_run(name: &str, into: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/mariadb")
        .join(name);
    let to = into.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for f in ["history.jsonl", "run.json", "results.json", "test.yaml"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    to
}

/// MariaDB READ COMMITTED, rw-register, recorded: txns that read a key
/// twice and saw two committed versions (Elle's `internal`, the
/// non-repeatable-read form). VALID for read-committed, INVALID for
/// serializable and for repeatable-read's stronger neighbours that forbid
/// internal inconsistency (read-atomic and up).
#[test]
fn recorded_mariadb_read_committed_is_valid_for_read_committed() {
    let dir = tempfile::tempdir().unwrap();
    let run = recorded_run("rc-rw-register", dir.path());
    let run = run.to_str().unwrap();
    let out = shakedown(&["check", run, "--consistency", "read-committed"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("internal"), "{t}");
    assert!(t.contains("non-repeatable-read"), "{t}");
    assert!(t.contains("checked read-committed: holds"), "{t}");
    let out = shakedown(&["check", run, "--consistency", "serializable"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = shakedown(&["check", run, "--consistency", "read-atomic"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// MariaDB REPEATABLE READ with `innodb_snapshot_isolation=ON`, list-append,
/// recorded: write skew (G2-item) only. VALID for snapshot-isolation,
/// INVALID for serializable.
#[test]
fn recorded_mariadb_repeatable_read_with_snapshot_isolation_is_valid_for_snapshot_isolation() {
    let dir = tempfile::tempdir().unwrap();
    let run = recorded_run("rr-si-list-append", dir.path());
    let run = run.to_str().unwrap();
    let out = shakedown(&["check", run, "--consistency", "snapshot-isolation"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("G2-item"), "{t}");
    assert!(t.contains("checked snapshot-isolation: holds"), "{t}");
    let out = shakedown(&["check", run, "--consistency", "serializable"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("G2-item"), "{t}");
}

/// `check --out` writes `anomalies.jsonl` beside results.json, a line per
/// anomaly counted (checker, kind, form, ops, key), as many as
/// results.json's counts; `report` leaves it; a check into the same
/// directory that finds none removes it.
#[test]
fn every_anomaly_is_listed_in_anomalies_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let run = recorded_run("rc-rw-register", dir.path());
    let h = run.join("history.jsonl");
    let out_dir = dir.path().join("out");
    let check = |model: &str| {
        shakedown(&[
            "check",
            h.to_str().unwrap(),
            "--workload",
            "rw-register",
            "--consistency",
            model,
            "--out",
            out_dir.to_str().unwrap(),
        ])
    };
    let out = check("serializable");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let path = out_dir.join("anomalies.jsonl");
    assert!(
        text(&out).contains(&format!(
            "every anomaly (6, a line each): {}",
            path.display()
        )),
        "{}",
        text(&out)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("results.json")).unwrap()).unwrap();
    let counts = &results["checkers"][0]["result"]["anomaly_counts"];
    let total: u64 = counts
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(lines.len() as u64, total, "{lines:?} vs {counts}");
    assert_eq!(counts["internal"], 6);
    for l in &lines {
        assert_eq!(l["checker"], "elle rw-register", "{l}");
        assert!(l["ops"].as_array().is_some_and(|o| !o.is_empty()), "{l}");
    }
    let internal = lines.iter().find(|l| l["kind"] == "internal").unwrap();
    assert_eq!(internal["form"], "non-repeatable-read", "{internal}");
    assert!(
        internal["key"].is_number() || internal["key"].is_string(),
        "{internal}"
    );
    // The op it names is a txn of the history at that index.
    let index = internal["ops"][0].as_u64().unwrap();
    let history = std::fs::read_to_string(&h).unwrap();
    let op: serde_json::Value = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|o| o["index"] == index)
        .unwrap();
    assert_eq!(op["f"], "txn", "{op}");
    // The report says where the rest are; `report` keeps the file.
    let before = std::fs::read(&path).unwrap();
    let out = shakedown(&["report", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Valid for read-committed: internal (non-repeatable reads) is still
    // counted and listed, though it rules nothing requested out.
    let out = check("read-committed");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(path.exists());
    // A history with no anomaly: no file left from before.
    let clean = write(
        dir.path(),
        "clean.edn",
        "{:index 0 :type :invoke :process 0 :f :txn :value [[:w :x 1]]}\n{:index 1 :type :ok :process 0 :f :txn :value [[:w :x 1]]}\n{:index 2 :type :invoke :process 1 :f :txn :value [[:r :x nil]]}\n{:index 3 :type :ok :process 1 :f :txn :value [[:r :x 1]]}\n",
    );
    let out = shakedown(&[
        "check",
        clean.to_str().unwrap(),
        "--workload",
        "rw-register",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!path.exists(), "a stale anomalies.jsonl was left");
}
