//! The three history formats against the shared corpus, round trips
//! between them, and the errors malformed input gets.

use history::edn::{parse_value, EdnWriter};
use history::jsonl::JsonlWriter;
use history::{read_file, read_from, Error, Format, Op, OpType, ParseError, Process, Value};
use std::fs;
use std::path::{Path, PathBuf};

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(rel)
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(corpus(dir))
        .unwrap_or_else(|e| panic!("{}: {e}", corpus(dir).display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn parse_err(input: &[u8], format: Format) -> ParseError {
    match read_from(input, format) {
        Err(Error::Parse(e)) => e,
        Err(e) => panic!("expected a parse error, got {e}"),
        Ok(h) => panic!("expected a parse error, got {} ops", h.len()),
    }
}

fn edn_err(input: &str) -> String {
    parse_err(input.as_bytes(), Format::Edn).to_string()
}

// ---- corpus ---------------------------------------------------------------

#[test]
fn every_etcd_log_parses_with_one_op_per_jepsen_util_line() {
    let files = files_in("linearizability/etcd");
    assert_eq!(files.len(), 50);
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        let expected = text
            .lines()
            .filter(|l| l.contains("jepsen.util - "))
            .count();
        let (format, _) = history::open(&path, None).unwrap();
        assert_eq!(format, Format::JepsenLog, "{}", path.display());
        let h = read_file(&path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.len(), expected, "{}", path.display());
        for (i, op) in h.ops().iter().enumerate() {
            assert_eq!(op.index, i as u64);
            assert_eq!(op.time, None);
            assert!(matches!(op.process, Process::Client(_)));
            assert!(
                ["read", "write", "cas"].contains(&op.f.as_str()),
                "{}",
                op.f
            );
        }
    }
}

#[test]
fn etcd_log_fields_are_read_as_edn() {
    let h = read_file(&corpus("linearizability/etcd/etcd_000.log"), None).unwrap();
    let ops = h.ops();
    assert_eq!(ops[0], Op::invoke(0, "read", Value::Nil).with_index(0));
    assert_eq!(ops[2], Op::invoke(2, "write", 4).with_index(2));
    assert_eq!(ops[12], Op::ok(0, "read", 3).with_index(12));
    assert_eq!(ops[18], Op::invoke(2, "cas", vec![3, 0]).with_index(18));
    let info = ops.iter().find(|o| o.kind == OpType::Info).unwrap();
    assert_eq!(info.value, Value::Keyword("timed-out".into()));
    // Invocations and completions pair up.
    assert_eq!(h.partner(0), Some(6));
}

#[test]
fn every_kv_file_parses_with_one_op_per_line() {
    let files = files_in("linearizability/kv");
    assert_eq!(files.len(), 4);
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        let expected = text.lines().filter(|l| !l.trim().is_empty()).count();
        let (format, _) = history::open(&path, None).unwrap();
        assert_eq!(format, Format::Edn, "{}", path.display());
        let h = read_file(&path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.len(), expected, "{}", path.display());
        for op in h.ops() {
            assert!(matches!(op.key, Some(Value::Str(_))), "{op:?}");
            assert!(["get", "put", "append"].contains(&op.f.as_str()));
        }
    }
    let h = read_file(&corpus("linearizability/kv/c01-ok.txt"), None).unwrap();
    assert_eq!(
        h.ops()[0],
        Op::invoke(0, "append", "x 0 0 y")
            .with_key("0")
            .with_index(0)
    );
}

#[test]
fn elle_paper_example_parses_with_txn_f_and_synthetic_processes() {
    let h = read_file(&corpus("transactional/elle-paper-example.edn"), None).unwrap();
    assert_eq!(h.len(), 8);
    let ops = h.ops();
    for (i, op) in ops.iter().enumerate() {
        assert_eq!(op.index, i as u64);
        assert_eq!(op.f, "txn");
        let expect = if i % 2 == 0 {
            OpType::Invoke
        } else {
            OpType::Ok
        };
        assert_eq!(op.kind, expect);
        // Each invoke/ok pair shares one synthetic client process.
        assert_eq!(
            op.process,
            Process::Client(history::edn::SYNTHETIC_PROCESS_BASE + i as u64 / 2)
        );
    }
    assert_eq!(h.partner(2), Some(3));
    assert_eq!(h.calls().count(), 4);
    assert_eq!(
        ops[3].value,
        parse_value("[[:append 255 8] [:r 253 [1 3 4]]]").unwrap()
    );
}

// ---- EDN shapes -----------------------------------------------------------

#[test]
fn edn_top_level_vector_tagged_ops_comments_and_discards() {
    let text = r#"; a Knossos-style file
[{:process 0, :type :invoke, :f :write, :value 1}
 #_{:ignored true}
 #jepsen.history.Op{:index 7, :time 10, :type :ok, :process 0, :f :write, :value 1}
 {:process :nemesis :type :info :f :start :value #{"n1" "n2"} :error nil :extra-field (1 2.5 \a)}
]
"#;
    let h = read_from(text.as_bytes(), Format::Edn).unwrap();
    let ops = h.ops();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0], Op::invoke(0, "write", 1).with_index(0));
    assert_eq!(ops[1], Op::ok(0, "write", 1).with_index(7).with_time(10));
    assert_eq!(ops[2].process, Process::nemesis());
    assert_eq!(ops[2].index, 2);
    assert_eq!(ops[2].value, Value::Set(vec!["n1".into(), "n2".into()]));
    assert_eq!(ops[2].error, Some(Value::Nil));
    assert_eq!(
        ops[2].extra,
        vec![(
            "extra-field".to_string(),
            Value::List(vec![
                1.into(),
                Value::Float(history::Float(2.5)),
                "a".into()
            ])
        )]
    );
}

#[test]
fn edn_scalars() {
    let v = |s: &str| parse_value(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(v("nil"), Value::Nil);
    assert_eq!(v("true"), Value::Bool(true));
    assert_eq!(v("-12"), Value::Int(-12));
    assert_eq!(v("+7"), Value::Int(7));
    assert_eq!(v("12N"), Value::Int(12));
    assert_eq!(v("1.5"), Value::Float(history::Float(1.5)));
    assert_eq!(v("1.5M"), Value::Float(history::Float(1.5)));
    assert_eq!(v("1e3"), Value::Float(history::Float(1000.0)));
    assert_eq!(v("1/4"), Value::Float(history::Float(0.25)));
    assert_eq!(v("##Inf"), Value::Float(history::Float(f64::INFINITY)));
    assert_eq!(
        v(r#""a\"b\\c\n\t\r\u00e9\uD83D\uDE00""#),
        Value::Str("a\"b\\c\n\t\ré😀".into())
    );
    assert_eq!(v(r"\newline"), Value::Str("\n".into()));
    assert_eq!(v(r"\("), Value::Str("(".into()));
    assert_eq!(v(":foo/bar"), Value::Keyword("foo/bar".into()));
    assert_eq!(
        v("java.net.SocketException"),
        Value::Str("java.net.SocketException".into())
    );
    assert_eq!(
        v(r#"#inst "2020-01-01T00:00:00Z""#),
        Value::Str("2020-01-01T00:00:00Z".into())
    );
    assert_eq!(
        v("{:a 1, \"b\" [2 3] nil #{}}"),
        Value::Map(vec![
            (Value::Keyword("a".into()), 1.into()),
            ("b".into(), vec![2, 3].into()),
            (Value::Nil, Value::Set(vec![])),
        ])
    );
    assert_eq!(v("[1 #_ 2 3]"), vec![1, 3].into());
    assert!(parse_value("99999999999999999999N")
        .unwrap_err()
        .to_string()
        .contains("does not fit in 64 bits"));
}

// ---- round trips ------------------------------------------------------------

fn to_edn(ops: &[Op]) -> Vec<u8> {
    let mut w = EdnWriter::new(Vec::new());
    for op in ops {
        w.write(op).unwrap();
    }
    w.into_inner()
}

fn to_jsonl(ops: &[Op]) -> Vec<u8> {
    let mut w = JsonlWriter::new(Vec::new());
    for op in ops {
        w.write(op).unwrap();
    }
    w.into_inner()
}

#[test]
fn edn_writer_uses_jepsen_style() {
    let mut op = Op::invoke(3, "write", 4).with_time(123);
    op.extra
        .push(("odd name".into(), Value::Keyword("x".into())));
    let mut nem = Op::new(
        OpType::Info,
        Process::nemesis(),
        "start-partition",
        Value::Nil,
    );
    nem.index = 1;
    nem.node = Some("n1".into());
    let text = String::from_utf8(to_edn(&[op, nem])).unwrap();
    assert_eq!(
        text,
        "{:index 0, :time 123, :type :invoke, :process 3, :f :write, :value 4, \"odd name\" :x}\n\
         {:index 1, :type :info, :process :nemesis, :f :start-partition, :value nil, :node \"n1\"}\n"
    );
}

#[test]
fn edn_round_trips_through_ops() {
    for path in [
        corpus("linearizability/kv/c10-bad.txt"),
        corpus("transactional/elle-paper-example.edn"),
        corpus("linearizability/etcd/etcd_007.log"),
    ] {
        let ops = read_file(&path, None).unwrap().into_ops();
        let edn = to_edn(&ops);
        let again = read_from(&edn[..], Format::Edn).unwrap().into_ops();
        assert_eq!(ops, again, "{}", path.display());
        assert_eq!(to_edn(&again), edn);
    }
}

#[test]
fn jsonl_and_edn_convert_both_ways() {
    let ops = read_file(&corpus("linearizability/kv/c10-ok.txt"), None)
        .unwrap()
        .into_ops();
    // EDN -> JSONL -> EDN: keywords become strings in JSON, so compare the
    // normalized values.
    let from_json = read_from(&to_jsonl(&ops)[..], Format::Jsonl)
        .unwrap()
        .into_ops();
    assert_eq!(from_json.len(), ops.len());
    for (a, b) in ops.iter().zip(&from_json) {
        assert_eq!(a.value.normalized(), b.value.normalized());
        assert_eq!(
            (a.index, a.kind, &a.process, &a.f, &a.key),
            (b.index, b.kind, &b.process, &b.f, &b.key)
        );
    }
    // JSONL -> EDN -> JSONL is exact (JSON has no keywords to lose).
    let back = read_from(&to_edn(&from_json)[..], Format::Edn)
        .unwrap()
        .into_ops();
    assert_eq!(back, from_json);
    assert_eq!(to_jsonl(&back), to_jsonl(&from_json));
}

// ---- errors -------------------------------------------------------------------

#[test]
fn truncated_map_names_what_was_open() {
    let text =
        "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read,\n";
    assert_eq!(
        edn_err(text),
        "3:1: unterminated map opened at 2:1: expected `}` before the end of the input"
    );
    // Truncated inside a nested vector.
    assert_eq!(
        edn_err("{:process 0, :type :ok, :f :read, :value [1 2"),
        "1:46: unterminated vector opened at 1:42: expected `]` before the end of the input"
    );
    // A Knossos vector that never closes.
    assert_eq!(
        edn_err("[{:process 0, :type :invoke, :f :read, :value nil}\n"),
        "2:1: unterminated vector opened at 1:1: expected `]` before the end of the input"
    );
}

#[test]
fn bad_type_keyword() {
    assert_eq!(
        edn_err("{:process 0, :type :invoke, :f :read}\n{:process 0, :type \"ok\", :f :read}"),
        "2:20: expected a keyword for :type, found \"ok\""
    );
    assert_eq!(
        edn_err("{:process 0, :type :okay, :f :read}"),
        "1:20: expected :invoke, :ok, :fail or :info for :type, found :okay"
    );
    assert_eq!(
        edn_err("{:process 0, :f :read}"),
        "1:1: operation map has no :type: expected :type :invoke, :ok, :fail or :info"
    );
    assert_eq!(
        edn_err("{:process 0, :type :invoke, :value 3}"),
        "1:1: operation map has no :f: expected the operation's function, such as :f :read"
    );
    assert_eq!(
        edn_err("{:process -1, :type :invoke, :f :read}"),
        "1:11: expected a non-negative integer or a keyword such as :nemesis for :process, found -1"
    );
}

#[test]
fn unterminated_string() {
    assert_eq!(
        edn_err("{:process 0, :type :invoke, :f :put, :value \"abc}\n"),
        "2:1: unterminated string opened at 1:45: expected `\"` before the end of the input"
    );
}

#[test]
fn mismatched_and_stray_brackets() {
    assert_eq!(
        edn_err("{:process 0, :type :invoke, :f :put, :value [1 2}}"),
        "1:49: expected `]` to close the vector opened at 1:45, found `}`"
    );
    assert_eq!(
        edn_err("{:process 0, :type :invoke, :f :put, :value 1}\n]"),
        "2:1: unexpected `]`: no vector is open here"
    );
    assert_eq!(
        edn_err("{:process 0, :type :invoke, :f :put, :value}"),
        "1:44: expected a value for :value, found `}`"
    );
    assert_eq!(
        edn_err("42"),
        "1:1: expected an operation map {:type ...}, found 42"
    );
}

#[test]
fn garbage_line_in_the_middle_of_a_jsonl_file() {
    let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null}\n\
                garbage line\n\
                {\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":1}\n";
    let e = parse_err(text.as_bytes(), Format::Jsonl);
    assert_eq!((e.line, e.column), (2, 1));
    assert_eq!(e.message, "expected value");
}

#[test]
fn completion_without_invocation_names_its_line() {
    let text = "{:process 0, :type :invoke, :f :read, :value nil}\n\
                {:process 0, :type :ok, :f :read, :value 1}\n\
                \n\
                {:process 1, :type :ok, :f :write, :value 2}\n";
    assert_eq!(
        edn_err(text),
        "4: process 1 completes \"write\" (ok) without a pending invocation"
    );
    let log =
        "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nnoise\nINFO  jepsen.util - 2\t:ok\t:read\t1\n";
    assert_eq!(
        parse_err(log.as_bytes(), Format::JepsenLog).to_string(),
        "3: process 2 completes \"read\" (ok) without a pending invocation"
    );
    // The file name is added by read_file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.edn");
    fs::write(&path, text).unwrap();
    let msg = read_file(&path, None).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "{}:4: process 1 completes \"write\" (ok) without a pending invocation",
            path.display()
        )
    );
}

#[test]
fn invalid_utf8() {
    let mut text = b"{:process 0, :type :invoke, :f :put, :value \"ab".to_vec();
    text.extend_from_slice(&[0xff, b'"', b'}']);
    assert_eq!(
        parse_err(&text, Format::Edn).to_string(),
        "1:48: invalid UTF-8 in string"
    );
    // A truncated multi-byte character: é is c3 a9.
    let mut text = "{:process 0, :type :invoke, :f :put, :value \"é"
        .as_bytes()
        .to_vec();
    text.extend_from_slice(&[0xc3, b'"', b'}']);
    assert_eq!(
        parse_err(&text, Format::Edn).to_string(),
        "1:47: invalid UTF-8 in string"
    );
    let mut text = b"{:process 0, :type :invoke, :f :p".to_vec();
    text.extend_from_slice(&[0xfe, b'}']);
    assert_eq!(
        parse_err(&text, Format::Edn).to_string(),
        "1:32: invalid UTF-8"
    );
    let mut log = b"INFO  jepsen.util - 0\t:invoke\t:write\t\"".to_vec();
    log.extend_from_slice(&[0x80, b'"', b'\n']);
    assert_eq!(
        parse_err(&log, Format::JepsenLog).to_string(),
        "1:39: invalid UTF-8 in string"
    );
    let mut json = b"{\"type\":\"invoke\",\"process\":0,\"f\":\"".to_vec();
    json.extend_from_slice(&[0xff, b'"', b'}', b'\n']);
    let e = parse_err(&json, Format::Jsonl);
    assert_eq!(e.line, 1);
    assert!(e.message.contains("invalid unicode"), "{}", e.message);
}

#[test]
fn malformed_jepsen_util_lines() {
    let err = |s: &str| parse_err(s.as_bytes(), Format::JepsenLog).to_string();
    assert_eq!(
        err("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:invoke\n"),
        "2:30: expected f, found the end of the line: an operation line has a process, a type, f and a value after `jepsen.util`"
    );
    assert_eq!(
        err("INFO  jepsen.util - 0\t:invok\t:read\tnil\n"),
        "1:23: expected :invoke, :ok, :fail or :info, found :invok"
    );
    assert_eq!(
        err("INFO  jepsen.util - x0\t:invoke\t:read\tnil\n"),
        "1:21: expected a process number or :nemesis, found \"x0\""
    );
    assert_eq!(
        err("INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2\n"),
        "1:40: unterminated vector opened at 1:36: expected `]` before the end of the input"
    );
    let nemesis = "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\t:boom\n";
    let h = read_from(nemesis.as_bytes(), Format::JepsenLog).unwrap();
    assert_eq!(h.ops()[0].process, Process::nemesis());
    assert_eq!(h.ops()[0].error, Some(Value::Keyword("boom".into())));
}

/// The same four operations in every layout Jepsen and Maelstrom have
/// written, with tabs or with runs of spaces between the fields.
#[test]
fn jepsen_util_lines_of_current_jepsen_maelstrom_and_with_spaces() {
    let expected = [
        (OpType::Invoke, 0, "write", Value::Int(1), None),
        (OpType::Ok, 0, "write", Value::Int(1), None),
        (
            OpType::Invoke,
            1,
            "cas",
            parse_value("[1 2]").unwrap(),
            None,
        ),
        (
            OpType::Fail,
            1,
            "cas",
            parse_value("[1 2]").unwrap(),
            Some(parse_value("[11 \"not a leader\"]").unwrap()),
        ),
    ];
    let ops = [
        "0\t:invoke\t:write\t1",
        "0\t:ok\t:write\t1",
        "1\t:invoke\t:cas\t[1 2]",
        "1\t:fail\t:cas\t[1 2]\t[11 \"not a leader\"]",
    ];
    let layouts: [fn(&str) -> String; 5] = [
        // Jepsen before 0.2 (log4j).
        |op| format!("INFO  jepsen.util - {op}"),
        // Jepsen 0.2 and later, and Maelstrom.
        |op| format!("INFO [2024-01-06 15:00:19,037] jepsen worker 0 - jepsen.util {op}"),
        // Maelstrom's logback layout.
        |op| format!("2021-02-26 23:39:01,300{{GMT}}\tINFO\t[jepsen worker 1] jepsen.util: {op}"),
        // Tabs turned into runs of spaces.
        |op| format!("INFO  jepsen.util - {}", op.replace('\t', "   ")),
        |op| {
            format!(
                "2018-06-07 20:12:08,733{{GMT}}  INFO  [jepsen worker 5] jepsen.util: {}",
                op.replace('\t', "  ")
            )
        },
    ];
    for layout in layouts {
        let mut text = String::from(
            "INFO [2024-01-06 15:00:18,942] jepsen node n0 - jepsen.util Waiting for n0...\n",
        );
        for op in ops {
            text.push_str(&layout(op));
            text.push('\n');
        }
        let h =
            read_from(text.as_bytes(), Format::JepsenLog).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let got: Vec<_> = h
            .ops()
            .iter()
            .map(|o| {
                (
                    o.kind,
                    o.process.clone(),
                    o.f.as_str(),
                    o.value.clone(),
                    o.error.clone(),
                )
            })
            .collect();
        let want: Vec<_> = expected
            .iter()
            .map(|(k, p, f, v, e)| (*k, Process::Client(*p), *f, v.clone(), e.clone()))
            .collect();
        assert_eq!(got, want, "{text}");
        // Auto-detection finds the operation lines after the other output.
        let mut head = "INFO [2024-01-06 15:00:18,000] jepsen test runner - jepsen.cli Test options:\n {:concurrency 5,\n".to_string();
        head.push_str(&text);
        assert_eq!(
            Format::sniff(head.as_bytes()),
            Some(Format::JepsenLog),
            "{head}"
        );
    }
}

#[test]
fn an_error_jepsen_printed_as_text_is_kept_as_text() {
    let log = "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 3\t:info\t:read\tnil\tconnection refused: n1:2379\n";
    let h = read_from(log.as_bytes(), Format::JepsenLog).unwrap();
    assert_eq!(
        h.ops()[1].error,
        Some(Value::Str("connection refused: n1:2379".into()))
    );
}

#[test]
fn a_log_without_operation_lines_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("noise.log", "INFO [2024-01-06 15:00:19,030] jepsen test runner - jepsen.core Relative time begins now\nINFO hello\n"),
        ("empty.log", ""),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        let msg = read_file(&path, Some(Format::JepsenLog)).unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!("{}: no operation line found in ", path.display())),
            "{msg}"
        );
        assert!(msg.contains("expected jepsen.util lines like `INFO  jepsen.util - 3<TAB>:invoke"), "{msg}");
    }
    // Detected as a log by its first line, then refused the same way.
    let path = dir.path().join("noise.log");
    let msg = read_file(&path, None).unwrap_err().to_string();
    assert!(msg.contains("no operation line found in 2 lines"), "{msg}");
}

#[test]
fn an_empty_file_is_an_empty_history_not_a_valid_one() {
    // The checkers turn "no client operation" into `unknown`; the reader
    // only must not invent ops or fail on a legitimately empty history.
    let dir = tempfile::tempdir().unwrap();
    for (name, text, format) in [
        ("empty.jsonl", "", None),
        ("empty.jsonl", "", Some(Format::Jsonl)),
        ("empty.edn", "[]\n", None),
        ("blank.edn", "\n\n", Some(Format::Edn)),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        let h = read_file(&path, format).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(h.is_empty(), "{name}");
    }
}

// ---- bounded reading ---------------------------------------------------------

/// An input that never ends: `start`, then `fill` forever.
fn endless(start: &'static [u8], fill: u8) -> impl std::io::Read {
    std::io::Read::chain(start, std::io::repeat(fill))
}

#[test]
fn endless_garbage_fails_at_its_first_bad_byte() {
    // JSON: `[1x` is wrong at column 3, whatever follows.
    let e = parse_err_from(endless(b"[1x", b'a'), Format::Jsonl);
    assert_eq!((e.line, e.column), (1, 3), "{e}");
    let e = parse_err_from(endless(b"", 0), Format::Jsonl);
    assert_eq!((e.line, e.column), (1, 1), "{e}");
    // EDN: a control byte belongs in no token.
    let e = parse_err_from(endless(b"", 0), Format::Edn);
    assert_eq!(e.to_string(), "1:1: unexpected byte 0x00");
    let e = parse_err_from(endless(b"{:type :invoke, :f :read ", 1), Format::Edn);
    assert_eq!(e.to_string(), "1:26: unexpected byte 0x01");
}

fn parse_err_from(input: impl std::io::Read, format: Format) -> ParseError {
    match read_from(input, format) {
        Err(Error::Parse(e)) => e,
        Err(e) => panic!("expected a parse error, got {e}"),
        Ok(h) => panic!("expected a parse error, got {} ops", h.len()),
    }
}

#[test]
fn a_line_or_op_over_the_limit_is_an_error_not_unbounded_memory() {
    use history::{collect, edn::EdnReader, jepsen_log::LogReader, jsonl::JsonlReader};
    use std::io::BufReader;
    let err = |r: Result<history::History, Error>| match r {
        Err(Error::Parse(e)) => e.to_string(),
        other => panic!("expected a parse error, got {other:?}"),
    };
    // A plausible start that never ends: only the limit stops it.
    let json = endless(
        b"{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":\"",
        b'a',
    );
    assert_eq!(
        err(collect(JsonlReader::new(BufReader::new(json)).max_line(100_000))),
        "1:100001: line longer than 100000 bytes: expected one operation per line (is this a history file?)"
    );
    let log = endless(b"INFO  jepsen.util - 0\t:invoke\t:write\t\"", b'a');
    assert!(err(collect(
        LogReader::new(BufReader::new(log)).max_line(1 << 20)
    ))
    .starts_with("1:1048577: line longer than 1 MiB"),);
    // Other log output is skipped without being kept, but not forever.
    let noise = endless(b"INFO ", b'x');
    assert!(err(collect(
        LogReader::new(BufReader::new(noise)).max_line(1 << 20)
    ))
    .starts_with("1:1048577: line longer than 1 MiB"));
    let edn = endless(b"{:process 0, :type :invoke, :f :write, :value \"", b'a');
    let msg = err(collect(EdnReader::new(BufReader::new(edn)).max_op(1 << 20)));
    assert!(
        msg.starts_with("1:")
            && msg.contains("operation longer than 1 MiB: expected one operation map per line"),
        "{msg}"
    );
    // Within the limit, a long line is fine.
    let mut line = b"{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":\"".to_vec();
    line.extend(std::iter::repeat_n(b'a', 500_000));
    line.extend_from_slice(b"\"}\n");
    let h = collect(JsonlReader::new(&line[..]).max_line(600_000)).unwrap();
    assert_eq!(h.ops()[0].value.as_str().map(str::len), Some(500_000));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "(", "{", "#{"] {
        let text = format!(
            "{{:process 0, :type :invoke, :f :read, :value {}}}",
            open.repeat(100_000)
        );
        let e = edn_err(&text);
        assert!(e.contains("nested more than 256 deep"), "{e}");
    }
    let text = format!("[{}", "[".repeat(100_000));
    assert!(edn_err(&text).contains("nested more than 256 deep"));
    // Within the limit it parses.
    let text = format!(
        "{{:process 0, :type :invoke, :f :read, :value {}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    read_from(text.as_bytes(), Format::Edn).unwrap();
}
