//! `shakedown check` as a user runs it: verdicts, exit codes (0 valid,
//! 1 invalid, 2 unknown, 3 bad input or usage), clear errors that name the
//! file, line and column, and no panics on bad input or a closed pipe.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn shakedown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .output()
        .expect("run shakedown")
}

fn corpus(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/linearizability")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(content)
        .unwrap();
    p
}

#[test]
fn valid_history_exits_0() {
    let out = shakedown(&["check", &corpus("etcd/etcd_002.log")]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("etcd_002.log  valid  154 ops"), "{stdout}");
}

#[test]
fn invalid_history_exits_1_and_explains() {
    let out = shakedown(&["check", &corpus("etcd/etcd_000.log")]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("INVALID"), "{stdout}");
    assert!(stdout.contains("cannot be linearized"), "{stdout}");
}

#[test]
fn several_files_print_a_summary_table() {
    let out = shakedown(&[
        "check",
        &corpus("etcd/etcd_000.log"),
        &corpus("etcd/etcd_002.log"),
        &corpus("kv/c01-ok.txt"),
        "--model",
        "cas-register",
    ]);
    // kv/c01-ok.txt uses get/put/append: not cas-register operations -> input error.
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("unsupported f \"append\""), "{stderr}");
    assert!(stdout.contains("| verdict"), "{stdout}");
    assert!(
        stdout.contains("INVALID") && stdout.contains("ERROR"),
        "{stdout}"
    );
}

#[test]
fn key_value_model_and_json_output() {
    let out = shakedown(&[
        "check",
        &corpus("kv/c10-bad.txt"),
        "--model",
        "key-value",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let r = &json[0];
    assert_eq!(r["valid"], "invalid");
    assert_eq!(r["linearizable"]["model"], "key-value");
    let failure = &r["linearizable"]["failures"][0];
    assert!(failure["op"]["index"].is_u64());
    assert!(failure["prefixes"][0]["steps"].is_array());
}

#[test]
fn exhausted_time_budget_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let h = checkers::linearizable::generate::CasRegisterGen {
        ops: 40_000,
        processes: 20,
        crash_rate: 0.2,
        values: 3,
        seed: 7,
        ..Default::default()
    }
    .history();
    let mut w = history::jsonl::JsonlWriter::new(Vec::new());
    for op in h.ops() {
        w.write(op).unwrap();
    }
    let p = temp_file(&dir, "hard.jsonl", &w.into_inner());
    let out = shakedown(&["check", p.to_str().unwrap(), "--time-limit", "0s"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("unknown") && stdout.contains("time limit"),
        "{stdout}"
    );
}

#[test]
fn truncated_and_garbled_files_exit_3_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::read(corpus("etcd/etcd_000.log")).unwrap();
    // Cut in the middle of the vector `[3 0]` on line 19.
    let cut = log.windows(5).position(|w| w == b"[3 0]").unwrap() + 2;
    let truncated = temp_file(&dir, "truncated.log", &log[..cut]);
    let garbled = temp_file(
        &dir,
        "garbled.jsonl",
        b"{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null}\n{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":}\n",
    );
    let binary = temp_file(&dir, "binary.edn", &[0x7b, 0x3a, 0xff, 0xfe, 0x00, 0x9c]);
    for (file, expect) in [
        (&truncated, "truncated.log:19:"),
        (&garbled, "garbled.jsonl:2:"),
        (&binary, "binary.edn:1:"),
    ] {
        let out = shakedown(&["check", file.to_str().unwrap()]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{file:?}: {stdout}{stderr}");
        assert!(
            stderr.contains(expect),
            "{file:?}: expected {expect:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn missing_file_and_usage_errors_exit_3() {
    let out = shakedown(&["check", "/nonexistent/history.jsonl"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains("/nonexistent/history.jsonl"), "{stderr}");
    let out = shakedown(&["check", &corpus("etcd/etcd_000.log"), "--model", "btree"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains("unknown model \"btree\""), "{stderr}");
    let out = shakedown(&["check", &corpus("etcd/etcd_000.log"), "--initial", "[1 2"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn closed_stdout_does_not_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args([
            "check",
            &corpus("etcd/etcd_000.log"),
            &corpus("etcd/etcd_001.log"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -0`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn transactional_workload_reports_anomalies_and_models() {
    let elle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/transactional/elle-paper-example.edn");
    let elle = elle.to_str().unwrap();
    let out = shakedown(&["check", elle, "--workload", "list-append"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("anomalies: G-single"), "{stdout}");
    assert!(
        stdout.contains("so no serial order") || stdout.contains("a cycle"),
        "{stdout}"
    );
    // A model G-single does not rule out: read committed.
    let out = shakedown(&[
        "check",
        elle,
        "--workload",
        "list-append",
        "--consistency",
        "read-committed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).0);
    let out = shakedown(&[
        "check",
        elle,
        "--workload",
        "list-append",
        "--consistency",
        "bogus",
    ]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn out_writes_a_run_directory_that_check_can_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = shakedown(&[
        "check",
        &corpus("etcd/etcd_000.log"),
        "--out",
        run.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("report: "), "{stdout}");
    for f in ["history.jsonl", "results.json", "junit.xml", "report.html"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["valid"], "invalid");
    // Re-checking the run directory uses the stored checker and agrees.
    let again = shakedown(&["check", run.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).0.contains("INVALID  170 ops"),
        "{}",
        text(&again).0
    );
}

#[test]
fn a_transactional_run_directory_is_rechecked_transactionally() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("elle");
    let elle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/transactional/elle-paper-example.edn");
    let out = shakedown(&[
        "check",
        elle.to_str().unwrap(),
        "--workload",
        "list-append",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let again = shakedown(&["check", run.to_str().unwrap()]);
    let (stdout, _) = text(&again);
    assert_eq!(again.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("anomalies: G-single"), "{stdout}");
    // A directory that is not a run directory is an input error.
    let empty = shakedown(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(empty.status.code(), Some(3));
    assert!(
        text(&empty).1.contains("without history.jsonl"),
        "{}",
        text(&empty).1
    );
}

#[test]
fn transactions_read_straight_into_compact_form_get_the_same_verdict_and_evidence() {
    // A JSON Lines list-append history with a G-single: the elle example
    // converted by --out.
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("elle");
    let elle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/transactional/elle-paper-example.edn");
    let la = ["--workload", "list-append", "--json"];
    let out = shakedown(
        &[
            &[
                "check",
                elle.to_str().unwrap(),
                "--out",
                run.to_str().unwrap(),
            ][..],
            &la,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let jsonl = run.join("history.jsonl");
    let jsonl = jsonl.to_str().unwrap();
    // Without --out the history is never held as general ops; with it,
    // it is. Same verdict, same anomalies, same explanations.
    let compact = shakedown(&[&["check", jsonl][..], &la].concat());
    let general = shakedown(
        &[
            &[
                "check",
                jsonl,
                "--out",
                dir.path().join("again").to_str().unwrap(),
            ][..],
            &la,
        ]
        .concat(),
    );
    assert_eq!(compact.status.code(), Some(1));
    assert_eq!(general.status.code(), Some(1));
    let parse = |o: &Output| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()[0].clone()
    };
    let (c, g) = (parse(&compact), parse(&general));
    assert_eq!(c["valid"], "invalid");
    assert_eq!(c["ops"], g["ops"]);
    for field in [
        "anomaly_counts",
        "anomalies",
        "ruled_out",
        "txn_count",
        "graph",
    ] {
        assert_eq!(
            c["transactional"][field], g["transactional"][field],
            "{field}"
        );
    }
    let text = c["transactional"]["anomalies"][0]["explanation"]
        .as_str()
        .unwrap();
    assert!(text.contains("form a cycle"), "{text}");
    // The evidence was fetched back from the file: the txns' micro-ops.
    assert!(c["transactional"]["anomalies"][0]["txns"][0]["ops"].is_array());
}

#[test]
fn a_history_past_the_memory_limit_is_unknown_not_an_abort() {
    let elle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/transactional/elle-paper-example.edn");
    let out = shakedown(&[
        "check",
        elle.to_str().unwrap(),
        "--workload",
        "list-append",
        "--memory-limit",
        "100",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("unknown"), "{stdout}");
    assert!(stdout.contains("memory limit"), "{stdout}");
}

/// A linearizability history too large for the memory limit is checked
/// key group by key group from spill files: the same verdict and the same
/// evidence as held whole, and the output says how it was read.
#[test]
fn a_history_too_large_to_hold_is_checked_by_key_groups_with_the_same_evidence() {
    let dir = tempfile::tempdir().unwrap();
    // 60,000 registers, each written then read by its own process; the
    // read of k117 returns a value never written. (Large enough to spill
    // under a limit the process itself fits in: the --memory-limit guard
    // answers unknown past the limit, and reading in parallel holds ~50 MB
    // of chunks in flight whatever the history.)
    let mut lines = String::new();
    for k in 0..60_000 {
        let read = if k == 117 { 2 } else { 1 };
        for (kind, f, value) in [
            ("invoke", "write", "1".to_string()),
            ("ok", "write", "1".to_string()),
            ("invoke", "read", "null".to_string()),
            ("ok", "read", read.to_string()),
        ] {
            lines.push_str(&format!(
                "{{\"type\":\"{kind}\",\"process\":{k},\"f\":\"{f}\",\"key\":\"k{k}\",\"value\":{value}}}\n"
            ));
        }
    }
    let file = temp_file(&dir, "registers.jsonl", lines.as_bytes());
    let spill = tempfile::tempdir().unwrap();
    let check = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
            .arg("check")
            .arg(&file)
            .args(["--json"])
            .args(extra)
            .env("TMPDIR", spill.path())
            .output()
            .expect("run shakedown");
        assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        json[0].clone()
    };
    let whole = check(&[]);
    // 17 MB of history held would take ~70 MB: more than half of 128 MB.
    let grouped = check(&["--memory-limit", "128M"]);
    assert!(whole["linearizable"]["spilled"].is_null());
    let spilled = &grouped["linearizable"]["spilled"];
    assert!(spilled["groups"].as_u64().unwrap() > 1, "{spilled}");
    assert_eq!(grouped["valid"], "invalid");
    assert_eq!(grouped["ops"], 240_000);
    for field in ["failures", "calls"] {
        assert_eq!(
            grouped["linearizable"][field], whole["linearizable"][field],
            "{field}"
        );
    }
    // The groups after the one that proved the history invalid are not
    // read: their partitions are not counted.
    let partitions = grouped["linearizable"]["partitions"].as_u64().unwrap();
    assert!(partitions <= 60_000, "{partitions}");
    let failure = &grouped["linearizable"]["failures"][0];
    assert_eq!(failure["key"], "k117");
    assert_eq!(failure["op"]["index"], 117 * 4 + 2);
    let left: Vec<_> = std::fs::read_dir(spill.path()).unwrap().collect();
    assert!(left.is_empty(), "spill files left behind: {left:?}");

    // The table says so too.
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("check")
        .arg(&file)
        .args(["--memory-limit", "128M"])
        .env("TMPDIR", spill.path())
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert!(stdout.contains("key groups"), "{stdout}");
}

// ---- no false pass ------------------------------------------------------------

/// A history that tested nothing is `unknown` (exit 2) with the reason,
/// whichever checker reads it; never `valid`.
#[test]
fn empty_and_nemesis_only_histories_are_unknown_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let edn = temp_file(&dir, "empty.edn", b"[]\n");
    let jsonl = temp_file(&dir, "empty.jsonl", b"");
    let nemesis = temp_file(
        &dir,
        "nemesis.jsonl",
        b"{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"start-partition\",\"value\":null}\n",
    );
    for (file, extra) in [
        (&edn, &[][..]),
        (&jsonl, &[][..]),
        (&jsonl, &["--format", "jsonl"][..]),
        (&nemesis, &[][..]),
        (&edn, &["--workload", "list-append"][..]),
        (&nemesis, &["--workload", "rw-register"][..]),
    ] {
        let mut args = vec!["check", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = shakedown(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stdout.contains("  unknown  "), "{args:?}: {stdout}");
        assert!(
            stdout.contains("no client operation in the history"),
            "{args:?}: {stdout}"
        );
    }
}

#[test]
fn a_log_without_operation_lines_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = temp_file(
        &dir,
        "jepsen.log",
        b"INFO [2024-01-06 15:00:18,942] jepsen node n0 - maelstrom.db Setting up n0\n\
          INFO [2024-01-06 15:00:19,030] jepsen test runner - jepsen.core Relative time begins now\n",
    );
    let out = shakedown(&["check", log.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: no operation line found in 2 lines; expected jepsen.util lines like",
            log.display()
        )),
        "{stderr}"
    );
}

/// etcd_002 (valid, 154 ops) and etcd_000 (invalid) rewritten in the
/// layouts of current Jepsen, Maelstrom, and with spaces for tabs: the
/// same verdicts as the originals.
#[test]
fn current_jepsen_and_maelstrom_logs_and_spaces_for_tabs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    type Layout = fn(&str) -> String;
    let layouts: [(&str, Layout); 3] = [
        ("jepsen", |fields| {
            format!("INFO [2024-01-06 15:00:19,037] jepsen worker 0 - jepsen.util {fields}")
        }),
        ("maelstrom", |fields| {
            format!("2021-02-26 23:39:01,300{{GMT}}\tINFO\t[jepsen worker 1] jepsen.util: {fields}")
        }),
        ("spaces", |fields| {
            format!("INFO  jepsen.util - {}", fields.replace('\t', "  "))
        }),
    ];
    for (source, verdict, code) in [
        ("etcd_002", "valid  154 ops", 0),
        ("etcd_000", "INVALID", 1),
    ] {
        let original = std::fs::read_to_string(corpus(&format!("etcd/{source}.log"))).unwrap();
        for (name, layout) in layouts {
            let mut log = String::from(
                "INFO [2024-01-06 15:00:18,000] jepsen test runner - jepsen.cli Test options:\n",
            );
            for line in original.lines() {
                let fields = line.split_once("jepsen.util - ").unwrap().1;
                log.push_str(&layout(fields));
                log.push('\n');
            }
            let file = temp_file(&dir, &format!("{source}-{name}.log"), log.as_bytes());
            let out = shakedown(&["check", file.to_str().unwrap()]);
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(code), "{name}: {stdout}{stderr}");
            assert!(stdout.contains(verdict), "{name}: {stdout}");
        }
    }
}

/// Checking one workload's history as the other is refused with the
/// reason (exit 3), not judged.
#[test]
fn the_wrong_transactional_workload_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let elle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/transactional/elle-paper-example.edn");
    let register = temp_file(
        &dir,
        "rw.jsonl",
        b"{\"type\":\"invoke\",\"process\":0,\"f\":\"txn\",\"value\":[[\"w\",3,1]]}\n\
          {\"type\":\"ok\",\"process\":0,\"f\":\"txn\",\"value\":[[\"w\",3,1]]}\n",
    );
    let single = corpus("etcd/etcd_002.log");
    for (file, workload, reason) in [
        (
            elle.to_str().unwrap(),
            "rw-register",
            "is not an rw-register op (r/w): is this a list-append history?",
        ),
        (
            register.to_str().unwrap(),
            "list-append",
            "txn micro-op [w 3 1] is not a list-append op (append/r): is this an rw-register history?",
        ),
        (
            &single,
            "list-append",
            "none of the 77 client operations is a transaction (f = txn; found f = read, write, cas): is this a single-object (linearizability) history?",
        ),
    ] {
        let out = shakedown(&["check", file, "--workload", workload]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{file}: {stdout}{stderr}");
        assert!(stdout.contains("  ERROR  "), "{stdout}");
        assert!(stderr.contains(reason), "{file}: {stderr}");
    }
}

// ---- bounded reading ----------------------------------------------------------

/// /dev/zero never ends: each reader must stop on its own, with the line
/// (and for garbage, the column) of the problem.
#[test]
fn dev_zero_fails_fast_in_every_format() {
    for (format, expect) in [
        ("jsonl", "/dev/zero:1:1: expected value"),
        ("edn", "/dev/zero:1:1: unexpected byte 0x00"),
        (
            "jepsen-log",
            "/dev/zero:1:67108865: line longer than 64 MiB",
        ),
        ("auto", "/dev/zero:1:1: cannot tell the format"),
    ] {
        let out = shakedown(&["check", "--format", format, "/dev/zero"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{format}: {stdout}{stderr}");
        assert!(stderr.contains(expect), "{format}: {stderr}");
    }
}

/// The transactional file path reads in parallel chunks: its lines are
/// bounded too, and garbage fails at once.
#[test]
fn dev_zero_fails_fast_through_the_transactional_file_path() {
    let out = shakedown(&[
        "check",
        "--format",
        "jsonl",
        "--workload",
        "list-append",
        "/dev/zero",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("/dev/zero:1:1: expected value"), "{stderr}");
}

/// A 1.4 GB one-line file whose third byte is already wrong fails at
/// 1:3 without reading on (it would otherwise hit the 64 MiB line limit
/// first). The file is sparse: nothing is written to disk.
#[test]
fn a_huge_garbage_line_fails_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "huge.jsonl", b"[1x");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1_400_000_000)
        .unwrap();
    let out = shakedown(&["check", "--format", "jsonl", path.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("{}:1:3: expected `,` or `]`", path.display())),
        "{stderr}"
    );

    // Through a pipe, count what it read before giving up: far less than
    // the line, and less than the 64 MiB limit.
    let mut child = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["check", "--format", "jsonl", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 16];
        let mut written = stdin.write(b"[1x").unwrap_or(0);
        while written < 1_400_000_000 {
            match stdin.write(&chunk) {
                Ok(n) => written += n,
                Err(_) => break, // the reader is gone
            }
        }
        written
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("/dev/stdin:1:3: expected `,` or `]`"),
        "{stderr}"
    );
    assert!(
        written < 16 << 20,
        "{written} bytes were written before it failed"
    );
}

/// A line that looks plausible but never ends stops at the documented
/// 64 MiB limit.
#[test]
fn a_line_longer_than_64_mib_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(
        &dir,
        "long.jsonl",
        b"{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":4}\n\
          {\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":\"",
    );
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..65 {
        file.write_all(&chunk).unwrap();
    }
    drop(file);
    // Both file readers: ops (linearizability) and transactions; the long
    // line is the last one, with no newline to cut it at.
    for extra in [&[][..], &["--workload", "list-append"][..]] {
        let mut args = vec!["check", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = shakedown(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!(
                "{}:2:67108865: line longer than 64 MiB: expected one operation per line",
                path.display()
            )),
            "{extra:?}: {stderr}"
        );
    }
}

// ---- explanations -------------------------------------------------------------

#[test]
fn the_explanation_says_what_the_blamed_read_returned_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let history = temp_file(
        &dir,
        "stale.jsonl",
        b"{\"type\":\"invoke\",\"process\":3,\"f\":\"write\",\"value\":4,\"key\":11,\"node\":\"n2\"}\n\
          {\"type\":\"ok\",\"process\":3,\"f\":\"write\",\"value\":4,\"key\":11,\"node\":\"n2\"}\n\
          {\"type\":\"invoke\",\"process\":10,\"f\":\"read\",\"value\":null,\"key\":11,\"node\":\"n1\"}\n\
          {\"type\":\"ok\",\"process\":10,\"f\":\"read\",\"value\":null,\"key\":11,\"node\":\"n1\"}\n",
    );
    let out = shakedown(&["check", history.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "key 11: process 10 read key 11 -> nil from n1 (index 2) cannot be linearized"
        ),
        "{stdout}"
    );
}
