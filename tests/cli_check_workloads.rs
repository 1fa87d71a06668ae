//! `shakedown check --workload bank|counter|queue|total-queue|unique-ids|long-fork`
//! on JSON Lines and Jepsen EDN histories: verdicts, exit codes (0 valid,
//! 1 invalid, 2 unknown, 3 bad input), the evidence printed, and the
//! checker's entry in a run directory's results.json.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

fn shakedown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .output()
        .expect("run shakedown")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn file(dir: &tempfile::TempDir, name: &str, content: &str) -> String {
    let p: PathBuf = dir.path().join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(content.as_bytes())
        .unwrap();
    p.to_string_lossy().into_owned()
}

/// Checks `content` as `name` with `args`; returns (exit code, stdout, stderr).
fn check(name: &str, content: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, name, content);
    let mut all = vec!["check", path.as_str()];
    all.extend(args);
    let out = shakedown(&all);
    (out.status.code(), stdout(&out), stderr(&out))
}

const BANK_LOST_DEBIT: &str = r#"{"index":0,"type":"invoke","process":0,"f":"read","value":null}
{"index":1,"type":"ok","process":0,"f":"read","value":{"0":50,"1":50}}
{"index":2,"type":"invoke","process":1,"f":"transfer","value":{"from":0,"to":1,"amount":5}}
{"index":3,"type":"ok","process":1,"f":"transfer","value":{"from":0,"to":1,"amount":5}}
{"index":4,"type":"invoke","process":0,"f":"read","value":null}
{"index":5,"type":"ok","process":0,"f":"read","value":{"0":50,"1":55}}
"#;

#[test]
fn bank_jsonl_a_lost_debit_is_invalid_and_names_the_read() {
    let (code, out, err) = check(
        "bank.jsonl",
        BANK_LOST_DEBIT,
        &["--workload", "bank", "--initial", r#"{"0":50,"1":50}"#],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("INVALID"), "{out}");
    assert!(
        out.contains("2 accounts totalling 100 (as configured)"),
        "{out}"
    );
    assert!(
        out.contains("read at index 5 sums to 105 instead of 100"),
        "{out}"
    );
    // With a total of 105 configured, the first read is the wrong one.
    let (code, out, _) = check(
        "bank.jsonl",
        BANK_LOST_DEBIT,
        &["--workload", "bank", "--initial", r#"{"0":45,"1":60}"#],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("index 1 sums to 100 instead of 105"), "{out}");
}

#[test]
fn bank_jepsen_edn_needs_the_initial_total_to_be_valid() {
    let edn = r#"{:type :invoke, :f :transfer, :value {:from 0, :to 1, :amount 5}, :process 0, :time 1, :index 0}
{:type :invoke, :f :read, :value nil, :process 1, :time 2, :index 1}
{:type :ok, :f :read, :value {0 10, 1 10}, :process 1, :time 3, :index 2}
{:type :ok, :f :transfer, :value {:from 0, :to 1, :amount 5}, :process 0, :time 4, :index 3}
{:type :invoke, :f :read, :value nil, :process 1, :time 5, :index 4}
{:type :ok, :f :read, :value {0 5, 1 15}, :process 1, :time 6, :index 5}
"#;
    // Every read agrees, but nothing says it is the right total: unknown.
    let (code, out, err) = check("history.edn", edn, &["--workload", "bank"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("unknown  6 ops"), "{out}");
    assert!(out.contains("every read agrees on the total 20"), "{out}");
    // Given the initial balances (EDN), the same history is valid.
    let (code, out, err) = check(
        "history.edn",
        edn,
        &["--workload", "bank", "--initial", "{0 10, 1 10}"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("valid  6 ops"), "{out}");
}

#[test]
fn counter_edn_and_jsonl_reads_out_of_bounds_are_invalid() {
    let edn = r#"{:type :invoke, :f :add, :value 1, :process 0}
{:type :ok, :f :add, :value 1, :process 0}
{:type :invoke, :f :add, :value 2, :process 0}
{:type :ok, :f :add, :value 2, :process 0}
{:type :invoke, :f :read, :value nil, :process 1}
{:type :ok, :f :read, :value 1, :process 1}
"#;
    let (code, out, err) = check("counter.edn", edn, &["--workload", "counter"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("read at index 5 returned 1, but adds acknowledged before it began bring the counter to at least 3"),
        "{out}"
    );
    // With an initial value of -2 the read is within bounds.
    let (code, out, _) = check(
        "counter.edn",
        edn,
        &["--workload", "counter", "--initial=-2"],
    );
    assert_eq!(code, Some(0), "{out}");

    let jsonl = r#"{"index":0,"type":"invoke","process":0,"f":"add","value":1}
{"index":1,"type":"info","process":0,"f":"add","value":1}
{"index":2,"type":"invoke","process":1,"f":"read","value":null}
{"index":3,"type":"ok","process":1,"f":"read","value":1}
"#;
    let (code, out, _) = check("counter.jsonl", jsonl, &["--workload", "counter"]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn queue_and_total_queue_find_lost_and_duplicated_elements() {
    let edn = r#"{:type :invoke, :f :enqueue, :value 1, :process 0}
{:type :ok, :f :enqueue, :value 1, :process 0}
{:type :invoke, :f :enqueue, :value 2, :process 0}
{:type :ok, :f :enqueue, :value 2, :process 0}
{:type :invoke, :f :dequeue, :value nil, :process 1}
{:type :ok, :f :dequeue, :value 2, :process 1}
{:type :invoke, :f :drain, :value nil, :process 1}
{:type :ok, :f :drain, :value [2], :process 1}
"#;
    for name in ["queue", "total-queue"] {
        let (code, out, err) = check("queue.edn", edn, &["--workload", name]);
        assert_eq!(code, Some(1), "{out}{err}");
        assert!(
            out.contains("1 acknowledged enqueues never came out (lost), e.g. 1"),
            "{out}"
        );
        assert!(
            out.contains("(duplicated), e.g. 2 at indices [5, 7]"),
            "{out}"
        );
    }
    // Without a drain, a missing element may still be in the queue: unknown.
    let undrained: String = edn.lines().take(6).map(|l| format!("{l}\n")).collect();
    let (code, out, _) = check("queue.edn", &undrained, &["--workload", "queue"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not drained"), "{out}");
}

#[test]
fn unique_ids_duplicates_and_long_forks_are_invalid() {
    let ids = r#"{"index":0,"type":"invoke","process":0,"f":"generate","value":null}
{"index":1,"type":"ok","process":0,"f":"generate","value":"a"}
{"index":2,"type":"invoke","process":0,"f":"generate","value":null}
{"index":3,"type":"ok","process":0,"f":"generate","value":"a"}
"#;
    let (code, out, _) = check("ids.jsonl", ids, &["--workload", "unique-ids"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("1 ids were returned more than once"), "{out}");
    // --json: the checker's own result, with the operations it blames.
    let (code, out, _) = check("ids.jsonl", ids, &["--workload", "unique-ids", "--json"]);
    assert_eq!(code, Some(1), "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let w = &json[0]["workload"];
    assert_eq!(w["checker"], "unique-ids");
    assert_eq!(w["valid"], "invalid");
    assert_eq!(w["blamed"], serde_json::json!([3]));
    assert_eq!(w["duplicated"][0]["indices"], serde_json::json!([1, 3]));
    let (code, out, _) = check(
        "ids.jsonl",
        &ids.replace(
            r#""value":"a"}
{"index":2"#,
            r#""value":"b"}
{"index":2"#,
        ),
        &["--workload", "unique-ids"],
    );
    assert_eq!(code, Some(0), "{out}");

    let fork = r#"{:type :invoke, :f :txn, :value [[:w 0 1]], :process 0}
{:type :invoke, :f :txn, :value [[:w 1 1]], :process 1}
{:type :invoke, :f :txn, :value [[:r 0 nil] [:r 1 nil]], :process 2}
{:type :ok, :f :txn, :value [[:r 0 1] [:r 1 nil]], :process 2}
{:type :invoke, :f :txn, :value [[:r 1 nil] [:r 0 nil]], :process 3}
{:type :ok, :f :txn, :value [[:r 1 1] [:r 0 nil]], :process 3}
{:type :ok, :f :txn, :value [[:w 0 1]], :process 0}
{:type :ok, :f :txn, :value [[:w 1 1]], :process 1}
"#;
    let (code, out, _) = check("fork.edn", fork, &["--workload", "long-fork"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("opposite orders (long fork)"), "{out}");
}

#[test]
fn a_history_without_client_ops_is_unknown_for_every_workload() {
    let nemesis_only = r#"{"index":0,"type":"info","process":"nemesis","f":"start-partition","value":null}
{"index":1,"type":"info","process":"nemesis","f":"stop-partition","value":null}
"#;
    for name in [
        "bank",
        "counter",
        "queue",
        "total-queue",
        "unique-ids",
        "long-fork",
    ] {
        let (code, out, err) = check("nemesis.jsonl", nemesis_only, &["--workload", name]);
        assert_eq!(code, Some(2), "{name}: {out}{err}");
        assert!(out.contains("unknown"), "{name}: {out}");
    }
}

#[test]
fn bad_workload_names_and_initial_values_exit_3() {
    let (code, _, err) = check("b.jsonl", BANK_LOST_DEBIT, &["--workload", "banks"]);
    assert_eq!(code, Some(3));
    assert!(err.contains("unknown workload \"banks\""), "{err}");
    assert!(err.contains("long-fork"), "{err}");
    let (code, _, err) = check(
        "b.jsonl",
        BANK_LOST_DEBIT,
        &["--workload", "bank", "--initial", "5"],
    );
    assert_eq!(code, Some(3));
    assert!(
        err.contains("the bank expects a map of initial balances"),
        "{err}"
    );
    let (code, _, err) = check(
        "b.jsonl",
        BANK_LOST_DEBIT,
        &["--workload", "bank", "--initial", r#"{"0":"x"}"#],
    );
    assert_eq!(code, Some(3));
    assert!(err.contains("account \"0\" has balance \"x\""), "{err}");
    let (code, _, err) = check(
        "b.jsonl",
        BANK_LOST_DEBIT,
        &["--workload", "counter", "--initial", "[1]"],
    );
    assert_eq!(code, Some(3));
    assert!(err.contains("the counter expects an integer"), "{err}");
}

#[test]
fn out_writes_the_checker_into_results_json_and_a_recheck_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "bank.jsonl", BANK_LOST_DEBIT);
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    let out = shakedown(&[
        "check",
        &path,
        "--workload",
        "bank",
        "--initial",
        r#"{"0":50,"1":50}"#,
        "--out",
        run,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{run}/results.json")).unwrap())
            .unwrap();
    assert_eq!(results["valid"], "invalid");
    let c = &results["checkers"][0];
    assert_eq!(
        (c["name"].as_str(), c["kind"].as_str()),
        (Some("bank"), Some("bank"))
    );
    assert_eq!(c["result"]["blamed"], serde_json::json!([5]));
    assert_eq!(c["result"]["total"], 100);
    let junit = std::fs::read_to_string(format!("{run}/junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\""), "{junit}");
    let report = std::fs::read_to_string(format!("{run}/report.html")).unwrap();
    assert!(
        report.contains("sums to 105 instead of 100"),
        "no bank evidence in the report"
    );

    // The run directory is rechecked as a bank, with its accounts and total.
    let out = shakedown(&["check", run]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("totalling 100 (as configured)"),
        "{}",
        stdout(&out)
    );
}
