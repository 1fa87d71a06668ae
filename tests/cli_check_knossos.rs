//! `shakedown check` on histories written for Knossos: `--nil-reads any`
//! (and the output naming the rule), `--model multi-register`, and
//! `--independent` for Jepsen's `[key value]` tuples.

use std::path::Path;
use std::process::{Command, Output};

fn shakedown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .output()
        .expect("run shakedown")
}

fn knossos(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/linearizability/knossos")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn knossos_histories_get_knossos_verdicts_and_the_rule_is_named() {
    let good = knossos("good-memstress3-1.edn");
    let bad = knossos("bad-cas-failure.edn");
    let out = shakedown(&["check", &good, "--initial", "0", "--nil-reads", "any"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("good-memstress3-1.edn  valid"), "{text}");
    assert!(
        text.contains(
            "model cas-register, nil reads any (a nil read matches any state, as in Knossos)"
        ),
        "{text}"
    );
    let out = shakedown(&["check", &bad, "--initial", "0", "--nil-reads", "any"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("INVALID") && text.contains("process 70 read"),
        "{text}"
    );
    // Today's rule by default, and said so: the good history fails under it.
    let out = shakedown(&["check", &good, "--initial", "0"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("nil reads strict"), "{text}");
    // --json names the rule too.
    let out = shakedown(&[
        "check",
        &good,
        "--initial",
        "0",
        "--nil-reads",
        "any",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json[0]["linearizable"]["nil_reads"], "any");
    assert_eq!(json[0]["valid"], "valid");
}

#[test]
fn bad_nil_reads_rule_is_a_usage_error() {
    let out = shakedown(&[
        "check",
        &knossos("bad-cas-failure.edn"),
        "--nil-reads",
        "maybe",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected strict or any"), "{err}");
    // Where the rule cannot apply, it is refused rather than ignored.
    for args in [
        &["--model", "set", "--nil-reads", "any"][..],
        &["--workload", "list-append", "--nil-reads", "any"],
        &["--workload", "list-append", "--independent"],
    ] {
        let path = knossos("bad-cas-failure.edn");
        let out = shakedown(&[&["check", path.as_str()][..], args].concat());
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--nil-reads"), "{args:?}: {err}");
    }
}

#[test]
fn multi_register_and_independent_histories() {
    let dir = tempfile::tempdir().unwrap();
    let multi = dir.path().join("multi.edn");
    std::fs::write(
        &multi,
        "[{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]]}
 {:process 1, :type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]]}
 {:process 1, :type :ok, :f :txn, :value [[:read :x 1] [:read :y 0]]}
 {:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]]}]",
    )
    .unwrap();
    let m = multi.to_string_lossy();
    let args = ["--model", "multi-register", "--initial", r#"{"x":0,"y":0}"#];
    let out = shakedown(&[&["check", m.as_ref()][..], &args].concat());
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("model multi-register"), "{text}");
    assert!(text.contains("process 1 txn"), "{text}");

    // The JSON initial map is read as JSON (as EDN, `:0` would be a keyword):
    // a read of the initial values is valid.
    let initial_read = dir.path().join("initial.edn");
    std::fs::write(
        &initial_read,
        "[{:process 1, :type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]]}
 {:process 1, :type :ok, :f :txn, :value [[:read :x 0] [:read :y 0]]}]",
    )
    .unwrap();
    let r = initial_read.to_string_lossy();
    let out = shakedown(&[&["check", r.as_ref()][..], &args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let indep = dir.path().join("independent.edn");
    std::fs::write(
        &indep,
        "[{:process 0, :type :invoke, :f :write, :value [1 3]}
 {:process 0, :type :ok, :f :write, :value [1 3]}
 {:process 1, :type :invoke, :f :read, :value [1 nil]}
 {:process 1, :type :ok, :f :read, :value [1 3]}
 {:process 1, :type :invoke, :f :read, :value [2 nil]}
 {:process 1, :type :ok, :f :read, :value [2 0]}]",
    )
    .unwrap();
    let i = indep.to_string_lossy();
    let out = shakedown(&["check", &i, "--independent", "--initial", "0", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json[0]["linearizable"]["partitions"], 2);
    assert_eq!(json[0]["linearizable"]["independent"], true);
    // Without --independent the tuples are not register values.
    let out = shakedown(&["check", &i, "--initial", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}
