//! Property tests: any value and any op written as EDN read back equal,
//! and ops survive JSONL -> EDN -> JSONL.

use history::edn::{parse_value, write_op, EdnWriter};
use history::op::KNOWN_FIELDS;
use history::{read_from, Float, Format, Op, OpType, Process, Value};
use proptest::prelude::*;

fn keyword_name() -> impl Strategy<Value = String> {
    "[a-z*!?<>=_][a-z0-9*+!?<>=_.-]{0,6}(/[a-z][a-z0-9-]{0,4})?"
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("NaN payloads do not round-trip", |x| !x.is_nan())
            .prop_map(|x| Value::Float(Float(x))),
        any::<String>().prop_map(Value::Str),
        keyword_name().prop_map(Value::Keyword),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
        ]
    })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![keyword_name(), any::<String>()]
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop::sample::select(vec![OpType::Invoke, OpType::Ok, OpType::Fail, OpType::Info]);
    let process = prop_oneof![
        (0..i64::MAX as u64).prop_map(Process::Client),
        name().prop_map(Process::Named),
    ];
    let extra = prop::collection::vec(
        (
            name().prop_filter("own fields", |n| !KNOWN_FIELDS.contains(&n.as_str())),
            value(),
        ),
        0..3,
    );
    (
        (
            0..i64::MAX as u64,
            prop::option::of(0..i64::MAX as u64),
            kind,
            process,
        ),
        (
            name(),
            value(),
            prop::option::of(value()),
            prop::option::of(any::<String>()),
        ),
        (prop::option::of(value()), extra),
    )
        .prop_map(
            |((index, time, kind, process), (f, value, key, node), (error, extra))| Op {
                index,
                time,
                kind,
                process,
                f,
                value,
                key,
                node,
                error,
                extra,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn values_round_trip_through_edn(v in value()) {
        let text = v.to_string();
        let back = parse_value(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, v);
    }

    #[test]
    fn ops_round_trip_through_edn(op in op()) {
        let mut text = String::new();
        write_op(&mut text, &op).unwrap();
        // Named processes with nemesis-like names are standalone events;
        // client ops here are single, so pairing may reject them: read the
        // op stream, not a history.
        let mut ops = history::reader(text.as_bytes(), Format::Edn);
        let back = ops.next().unwrap().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert!(ops.next().is_none());
        prop_assert_eq!(back, op);
    }

    #[test]
    fn jsonl_ops_survive_edn(ops in prop::collection::vec(op(), 0..8)) {
        // JSON has no keywords or sets: normalise through JSONL first.
        let mut json = history::jsonl::JsonlWriter::new(Vec::new());
        for op in &ops {
            json.write(op).unwrap();
        }
        let json = json.into_inner();
        let from_json: Vec<Op> = history::reader(&json[..], Format::Jsonl)
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut edn = EdnWriter::new(Vec::new());
        for op in &from_json {
            edn.write(op).unwrap();
        }
        let edn = edn.into_inner();
        let back: Vec<Op> = history::reader(&edn[..], Format::Edn)
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, from_json);
    }
}

#[test]
fn jepsen_0_3_files_are_detected_as_edn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.edn");
    std::fs::write(
        &path,
        "#jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 0, :f :read, :value nil}\n\
         #jepsen.history.Op{:index 1, :time 9, :type :ok, :process 0, :f :read, :value 1}\n",
    )
    .unwrap();
    let h = history::read_file(&path, None).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h.ops()[1], Op::ok(0, "read", 1).with_index(1).with_time(9));
    let _ = read_from(&b""[..], Format::Edn).unwrap();
}
