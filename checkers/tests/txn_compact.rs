//! The file path of the transactional checker (lines read straight into
//! compact txns, mostly by the fast line scanner, evidence read back from
//! the file) gives the result the in-memory path gives: same verdict, same
//! anomalies, same explanations, byte for byte in the result JSON.

#[path = "../examples/gen_txn_history.rs"]
#[allow(dead_code)]
mod gen;

use checkers::txn::{self, check_txns, Builder, Options, TxnResult, Workload};
use history::stream::TxnItem;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// A generated history in a temp file, removed on drop.
struct TempHistory(PathBuf);

impl TempHistory {
    fn new(name: &str, n: usize, stale: u64, registers: bool) -> TempHistory {
        let path = std::env::temp_dir().join(format!(
            "shakedown-txn-compact-{}-{name}.jsonl",
            std::process::id()
        ));
        let file = std::fs::File::create(&path).unwrap();
        gen::write_history(n, stale, 7, registers, std::io::BufWriter::new(file)).unwrap();
        TempHistory(path)
    }
}

impl Drop for TempHistory {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What `shakedown check --workload ...` does without `--out`.
fn check_file(path: &Path, opts: &Options) -> (TxnResult, usize) {
    let mut b = Builder::new(opts.workload == Workload::ListAppend);
    let mut fast = 0;
    let format = history::stream::for_each_txn_line(path, None, b.lists(), |item| {
        match item {
            TxnItem::Fast(line, raw) => {
                fast += 1;
                b.push_line(line, raw)?
            }
            TxnItem::Op(op) => b.push_owned(*op)?,
        }
        Ok(ControlFlow::Continue(()))
    })
    .unwrap();
    assert!(b.wrong_workload().is_none());
    let r = check_txns(b.finish(), opts, |positions| {
        history::stream::ops_at(path, format, positions).unwrap()
    });
    (r, fast)
}

/// The result as JSON, without the timings.
fn json(r: &TxnResult) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("elapsed_ms");
    m.remove("phase_ms");
    v
}

fn same_both_ways(h: &TempHistory, opts: &Options) -> TxnResult {
    let (compact, fast) = check_file(&h.0, opts);
    let history = history::read_file(&h.0, None).unwrap();
    assert_eq!(
        fast,
        history.len(),
        "every generated line takes the fast path"
    );
    let general = txn::check(&history, opts);
    assert_eq!(json(&compact), json(&general));
    compact
}

#[test]
fn an_invalid_list_append_history_is_explained_identically() {
    // Reads lag up to two appends behind: G-single, G2-item ... cycles.
    let h = TempHistory::new("stale", 3000, 3, false);
    let opts = Options {
        workload: Workload::ListAppend,
        ..Options::default()
    };
    let r = same_both_ways(&h, &opts);
    assert_eq!(r.valid, checkers::verdict::Validity::Invalid);
    assert!(
        r.anomaly_types.iter().any(|k| k.starts_with("G-single")),
        "{:?}",
        r.anomaly_types
    );
    assert!(r.anomalies.iter().all(|a| !a.explanation.is_empty()));
    // The evidence was read back from the file: every shown txn's ops.
    assert!(r
        .anomalies
        .iter()
        .flat_map(|a| &a.txns)
        .all(|t| t.ops.as_list().is_some()));
}

#[test]
fn a_valid_list_append_history_is_valid_both_ways() {
    let h = TempHistory::new("valid", 3000, 0, false);
    let opts = Options {
        workload: Workload::ListAppend,
        consistency: vec![txn::ConsistencyModel::StrictSerializable],
        ..Options::default()
    };
    let r = same_both_ways(&h, &opts);
    assert_eq!(r.valid, checkers::verdict::Validity::Valid);
    assert_eq!(r.txn_count, 3000);
}

#[test]
fn rw_register_histories_are_read_identically() {
    for (name, stale) in [("rw-valid", 0), ("rw-stale", 3)] {
        let h = TempHistory::new(name, 2000, stale, true);
        let opts = Options {
            workload: Workload::RwRegister,
            rw_assume: txn::RwAssume {
                linearizable_keys: true,
                ..Default::default()
            },
            ..Options::default()
        };
        let r = same_both_ways(&h, &opts);
        assert_eq!(r.txn_count, 2000, "{name}");
    }
}

/// Each violation of the invocation/completion protocol is refused by the
/// compact builder with the words `HistoryBuilder` uses.
#[test]
fn protocol_violations_are_worded_as_the_history_builder_words_them() {
    use history::{HistoryBuilder, Op, Value};
    let txn = || Value::List(vec![]);
    let cases: [Vec<Op>; 3] = [
        vec![Op::invoke(1, "txn", txn()), Op::invoke(1, "txn", txn())],
        vec![Op::ok(2, "txn", txn())],
        vec![Op::invoke(3, "txn", txn()), Op::ok(3, "read", txn())],
    ];
    for ops in cases {
        let ops: Vec<Op> = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| op.with_index(i as u64))
            .collect();
        let mut general = HistoryBuilder::new();
        let mut compact = Builder::new(true);
        let general_err = ops.iter().find_map(|op| general.push(op.clone()).err());
        let compact_err = ops.iter().find_map(|op| compact.push(op).err());
        assert!(general_err.is_some(), "{ops:?}");
        assert_eq!(compact_err, general_err);
    }
}
