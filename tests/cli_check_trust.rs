//! `shakedown check` never passes a history that tested nothing, reads every
//! client op whatever its process is called, and compares integers exactly
//! (issue "Trust, round two", items 2 and 3). Each case failed on the main
//! before: valid (exit 0), or the named clients dropped (unknown).

use std::process::{Command, Output};

fn check(name: &str, content: &str, extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let out: Output = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("check")
        .arg(&path)
        .args(extra)
        .output()
        .expect("run shakedown");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn ops(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn a_register_history_without_an_ok_read_is_unknown() {
    let cases = [
        // Only info ops.
        ops(&[
            r#"{"index":0,"type":"invoke","process":0,"f":"write","value":1}"#,
            r#"{"index":1,"type":"info","process":0,"f":"write","value":1}"#,
            r#"{"index":2,"type":"invoke","process":1,"f":"read","value":null}"#,
            r#"{"index":3,"type":"info","process":1,"f":"read","value":null}"#,
        ]),
        // Ops that never complete.
        ops(&[
            r#"{"index":0,"type":"invoke","process":0,"f":"write","value":1}"#,
            r#"{"index":1,"type":"invoke","process":1,"f":"read","value":null}"#,
        ]),
        // Acknowledged writes and nothing read back.
        ops(&[
            r#"{"index":0,"type":"invoke","process":0,"f":"write","value":1}"#,
            r#"{"index":1,"type":"ok","process":0,"f":"write","value":1}"#,
            r#"{"index":2,"type":"invoke","process":0,"f":"write","value":2}"#,
            r#"{"index":3,"type":"ok","process":0,"f":"write","value":2}"#,
        ]),
    ];
    for history in cases {
        let (code, text) = check("h.jsonl", &history, &[]);
        assert_eq!(code, Some(2), "{history}\n{text}");
        assert!(text.contains("unknown"), "{text}");
        assert!(
            text.contains("nothing observed") || text.contains("no client operation to check"),
            "{text}"
        );
    }
    // A set of adds only, checked with the set model: nothing observed.
    let adds = ops(&[
        r#"{"index":0,"type":"invoke","process":0,"f":"add","value":1}"#,
        r#"{"index":1,"type":"ok","process":0,"f":"add","value":1}"#,
    ]);
    let (code, text) = check("s.jsonl", &adds, &["--model", "set"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("nothing observed"), "{text}");
}

#[test]
fn one_ok_read_is_an_observation() {
    let history = ops(&[
        r#"{"index":0,"type":"invoke","process":0,"f":"write","value":1}"#,
        r#"{"index":1,"type":"info","process":0,"f":"write","value":1}"#,
        r#"{"index":2,"type":"invoke","process":1,"f":"read","value":null}"#,
        r#"{"index":3,"type":"ok","process":1,"f":"read","value":1}"#,
    ]);
    let (code, text) = check("h.jsonl", &history, &[]);
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_transactional_history_without_an_ok_read_is_unknown() {
    let cases = [
        // Nothing completed.
        ops(&[
            r#"{"index":0,"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["r","x",null]]}"#,
            r#"{"index":1,"type":"info","process":0,"f":"txn","value":[["append","x",1],["r","x",null]]}"#,
        ]),
        // Appends acknowledged, never read.
        ops(&[
            r#"{"index":0,"type":"invoke","process":0,"f":"txn","value":[["append","x",1]]}"#,
            r#"{"index":1,"type":"ok","process":0,"f":"txn","value":[["append","x",1]]}"#,
        ]),
    ];
    for history in cases {
        let (code, text) = check("t.jsonl", &history, &["--workload", "list-append"]);
        assert_eq!(code, Some(2), "{history}\n{text}");
        assert!(text.contains("nothing observed"), "{text}");
    }
    let writes = ops(&[
        r#"{"index":0,"type":"invoke","process":0,"f":"txn","value":[["w","x",1]]}"#,
        r#"{"index":1,"type":"ok","process":0,"f":"txn","value":[["w","x",1]]}"#,
    ]);
    let (code, text) = check("w.jsonl", &writes, &["--workload", "rw-register"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("nothing observed"), "{text}");
}

#[test]
fn clients_named_by_strings_or_keywords_are_checked() {
    // c2 reads 7, which nobody wrote: INVALID, not "no client operation".
    let jsonl = ops(&[
        r#"{"index":0,"type":"invoke","process":"c1","f":"write","value":1}"#,
        r#"{"index":1,"type":"ok","process":"c1","f":"write","value":1}"#,
        r#"{"index":2,"type":"invoke","process":"c2","f":"read","value":null}"#,
        r#"{"index":3,"type":"ok","process":"c2","f":"read","value":7}"#,
        r#"{"index":4,"type":"info","process":"nemesis","f":"start-partition","value":null}"#,
    ]);
    let (code, text) = check("n.jsonl", &jsonl, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("process c2 read -> 7"), "{text}");

    let edn = ops(&[
        "{:type :invoke, :f :write, :value 1, :process :c1, :index 0}",
        "{:type :ok, :f :write, :value 1, :process :c1, :index 1}",
        "{:type :info, :f :start, :value nil, :process :nemesis, :index 2}",
        "{:type :invoke, :f :read, :value nil, :process :c2, :index 3}",
        "{:type :ok, :f :read, :value 3, :process :c2, :index 4}",
    ]);
    let (code, text) = check("n.edn", &edn, &[]);
    assert_eq!(code, Some(1), "{text}");

    // A named client's txns are checked too: b reads element 2, which no
    // txn appended.
    let txns = ops(&[
        r#"{"index":0,"type":"invoke","process":"a","f":"txn","value":[["append","x",1]]}"#,
        r#"{"index":1,"type":"ok","process":"a","f":"txn","value":[["append","x",1]]}"#,
        r#"{"index":2,"type":"invoke","process":"b","f":"txn","value":[["r","x",null]]}"#,
        r#"{"index":3,"type":"ok","process":"b","f":"txn","value":[["r","x",[1,2]]]}"#,
    ]);
    let (code, text) = check("n.jsonl", &txns, &["--workload", "list-append"]);
    assert_eq!(code, Some(1), "{text}");
}

#[test]
fn integers_beyond_64_bits_are_refused_not_rounded() {
    // As floats, 2^64 + 1 and 2^64 are equal: the read would pass.
    for (written, read) in [
        ("18446744073709551617", "18446744073709551616"),
        ("9223372036854775809", "9223372036854775808"),
    ] {
        let history = ops(&[
            &format!(r#"{{"index":0,"type":"invoke","process":0,"f":"write","value":{written}}}"#),
            &format!(r#"{{"index":1,"type":"ok","process":0,"f":"write","value":{written}}}"#),
            r#"{"index":2,"type":"invoke","process":1,"f":"read","value":null}"#,
            &format!(r#"{{"index":3,"type":"ok","process":1,"f":"read","value":{read}}}"#),
        ]);
        let (code, text) = check("big.jsonl", &history, &[]);
        assert_eq!(code, Some(3), "{text}");
        assert!(text.contains("big.jsonl:1:"), "{text}");
        assert!(text.contains("64"), "{text}");
    }
}
