//! Histories from Elle's own test suite (`test/elle/list_append_test.clj`,
//! jepsen-io/elle), each with the anomaly names Elle reports and the models
//! Elle rules out (`:not`, the weakest ruled out), checked by shakedown.
//!
//! Elle's tests write txns in a short language: `ax1` appends 1 to x,
//! `ry12` reads y = [1 2], `rx` reads x = nil (the empty list); `pair`
//! gives an op an invocation just before it. Every op there is process 0
//! at time 0 unless the test says otherwise, so where Elle's test does not
//! ask for process or real-time order, neither do we (ours would order
//! every process-0 txn). Where a case asks Elle for some anomalies only
//! (`:anomalies [:G1]`), Elle filters the others out; shakedown always
//! reports everything it finds, so we assert Elle's names are among ours
//! and the models Elle's case rules out are ruled out.

use checkers::txn::{check, ConsistencyModel as M, Options, TxnResult, Workload};
use checkers::verdict::Validity;
use history::{History, Op, Value};

/// Elle's `op`: `"ax1ry12"` as micro-ops; `invoke` leaves reads' values
/// nil, as Elle's `pair` does.
fn mops(s: &str, invoke: bool) -> Value {
    let mut out: Vec<Value> = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(f) = chars.next() {
        let key = chars.next().expect("a key after the function").to_string();
        let mut digits = Vec::new();
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            digits.push(Value::from(d as i64));
            chars.next();
        }
        out.push(match f {
            'a' => {
                assert_eq!(digits.len(), 1, "one element per append in {s}");
                Value::List(vec!["append".into(), key.into(), digits[0].clone()])
            }
            'r' if invoke => Value::List(vec!["r".into(), key.into(), Value::Nil]),
            'r' => Value::List(vec!["r".into(), key.into(), Value::List(digits)]),
            _ => panic!("bad function {f} in {s}"),
        });
    }
    Value::List(out)
}

/// An op of the history: (process, type, txn), type `ok`, `fail`, `info`,
/// or `invoke`.
type Step<'a> = (u64, &'a str, &'a str);

/// A history of `steps`, each txn's micro-ops parsed by `parse` (the
/// list-append or the rw-register language).
fn build(steps: &[Step], parse: fn(&str, bool) -> Value) -> History {
    History::indexed(steps.iter().map(|&(p, ty, s)| match ty {
        "invoke" => Op::invoke(p, "txn", parse(s, true)),
        "ok" => Op::ok(p, "txn", parse(s, false)),
        "fail" => Op::fail(p, "txn", parse(s, false)),
        "info" => Op::info(p, "txn", parse(s, true)),
        _ => panic!("bad type {ty}"),
    }))
    .unwrap()
}

/// Completed ops, each given its invocation just before it (our
/// histories pair every completion with one; Elle's `op`s have none,
/// which with data edges only changes nothing).
fn with_invocations<'a>(steps: &[Step<'a>]) -> Vec<Step<'a>> {
    steps
        .iter()
        .flat_map(|&(p, ty, s)| [(p, "invoke", s), (p, ty, s)])
        .collect()
}

fn history(steps: &[Step]) -> History {
    build(steps, mops)
}

fn completed(steps: &[Step]) -> History {
    build(&with_invocations(steps), mops)
}

/// Elle's `op`s (all process 0, ok), or its `pair`s in order.
fn oks(txns: &[&str]) -> History {
    let steps: Vec<Step> = txns.iter().map(|&s| (0, "ok", s)).collect();
    completed(&steps)
}

fn pairs(txns: &[&str]) -> History {
    oks(txns)
}

fn check_with(h: &History, models: &[M], process: bool, realtime: bool) -> TxnResult {
    check(
        h,
        &Options {
            workload: Workload::ListAppend,
            consistency: models.to_vec(),
            process_order: process,
            realtime_order: realtime,
            ..Options::default()
        },
    )
}

/// Data edges only, as Elle's tests of single processes at time 0 are.
fn data(h: &History, models: &[M]) -> TxnResult {
    check_with(h, models, false, false)
}

/// Elle's names for what we found (`G-single` is Elle's `G-single-item`).
fn elle_names(r: &TxnResult) -> Vec<String> {
    let mut v: Vec<String> = r
        .anomaly_types
        .iter()
        .map(|k| checkers::txn::elle_alias(k).unwrap_or_else(|| k.clone()))
        .collect();
    v.sort();
    v
}

fn weakest(r: &TxnResult) -> Vec<M> {
    let mut v = r.weakest_ruled_out();
    v.sort_by_key(|m| m.to_string());
    v
}

fn assert_found(r: &TxnResult, names: &[&str], not: &[M]) {
    let found = elle_names(r);
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(found, want, "{:#?}", r.anomalies);
    let mut not = not.to_vec();
    not.sort_by_key(|m| m.to_string());
    assert_eq!(weakest(r), not, "weakest ruled out, found {found:?}");
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn g0_write_cycle() {
    // x => t1, t2; but y => t2, t1.
    let h = oks(&["ax1ay1", "ax2ay2", "rx12ry21"]);
    assert_found(
        &data(&h, &[M::ReadUncommitted]),
        &["G0"],
        &[M::ReadUncommitted],
    );
}

#[test]
fn g1a_aborted_read() {
    let h = completed(&[(0, "fail", "ax1"), (0, "ok", "rx1")]);
    let r = data(&h, &[M::ReadCommitted]);
    assert_found(&r, &["G1a"], &[M::ReadCommitted]);
    // Read uncommitted allows it.
    assert_eq!(data(&h, &[M::ReadUncommitted]).valid, Validity::Valid);
}

#[test]
fn g1b_intermediate_read_is_also_g_single() {
    let h = pairs(&["ax1ax2", "rx1"]);
    let r = data(&h, &[M::StrictSerializable]);
    assert_found(&r, &["G-single-item", "G1b"], &[M::ReadCommitted]);
}

#[test]
fn g1c_circular_information_flow() {
    let h = oks(&["ax1ry1", "ax2ay1", "rx12ry1"]);
    let r = data(&h, &[M::ReadCommitted]);
    assert_found(&r, &["G1c"], &[M::ReadCommitted]);
}

#[test]
fn g_single_read_skew() {
    let h = oks(&["ax1ay1", "ax2ry", "rx12"]);
    let r = data(&h, &[M::Serializable]);
    assert_found(
        &r,
        &["G-single-item"],
        &[M::ConsistentView, M::RepeatableRead],
    );
    assert_eq!(data(&h, &[M::ReadCommitted]).valid, Validity::Valid);
}

#[test]
fn g2_anti_dependency_cycle() {
    let h = oks(&["ax1ry", "ay1rx"]);
    assert_eq!(data(&h, &[M::ReadCommitted]).valid, Validity::Valid);
    for m in [M::Serializable, M::RepeatableRead] {
        assert_found(&data(&h, &[m]), &["G2-item"], &[M::RepeatableRead]);
    }
    // Elle's repeatable-read-test: the same with the reads first.
    let h = oks(&["rxay1", "ryax1"]);
    assert_eq!(data(&h, &[M::ReadCommitted]).valid, Validity::Valid);
    assert_found(
        &data(&h, &[M::RepeatableRead]),
        &["G2-item"],
        &[M::RepeatableRead],
    );
}

/// T2 anti-depends on T1's append of 2 but starts after it ended.
#[test]
fn strong_si_violation_is_g_single_realtime() {
    let h = history(&[
        (0, "invoke", "ax1"),
        (0, "ok", "ax1"),
        (1, "invoke", "ax2"),
        (1, "ok", "ax2"),
        (2, "invoke", "rx"),
        (2, "ok", "rx1"),
        (3, "invoke", "rx"),
        (3, "ok", "rx12"),
    ]);
    assert_eq!(
        check_with(&h, &[M::Serializable], true, true).valid,
        Validity::Valid
    );
    let r = check_with(&h, &[M::StrictSerializable], true, true);
    assert_found(
        &r,
        &["G-single-item-realtime"],
        &[M::StrongSnapshotIsolation],
    );
}

/// The same, the stale reader in the appender's process.
#[test]
fn strong_session_si_violation_is_g_single_process() {
    let h = history(&[
        (0, "invoke", "ax1"),
        (0, "ok", "ax1"),
        (1, "invoke", "ax2"),
        (1, "ok", "ax2"),
        (1, "invoke", "rx"),
        (1, "ok", "rx1"),
        (2, "invoke", "rx"),
        (2, "ok", "rx12"),
    ]);
    assert_eq!(
        check_with(&h, &[M::Serializable], true, false).valid,
        Validity::Valid
    );
    let r = check_with(&h, &[M::StrongSessionSnapshotIsolation], true, false);
    assert_found(
        &r,
        &["G-single-item-process"],
        &[M::StrongSessionSnapshotIsolation],
    );
}

/// Elle issue 17 (Tsunaou): process order and two nonadjacent rw edges.
#[test]
fn g_nonadjacent_process() {
    let h = history(&[
        (0, "invoke", "rxrz"),
        (0, "ok", "rxrz1"),
        (1, "invoke", "ax1"),
        (1, "ok", "ax1"),
        (1, "invoke", "rz"),
        (1, "ok", "rz"),
        (2, "invoke", "az1"),
        (2, "ok", "az1"),
    ]);
    assert_eq!(
        check_with(&h, &[M::Serializable], true, false).valid,
        Validity::Valid
    );
    let r = check_with(&h, &[M::StrongSessionSnapshotIsolation], true, false);
    assert_found(
        &r,
        &["G-nonadjacent-item-process"],
        &[M::StrongSessionSnapshotIsolation],
    );
}

#[test]
fn contradictory_read_orders() {
    let h = oks(&["ax1ry1", "ax2", "ax3ay1", "rx13", "rx123"]);
    let r = data(&h, &[M::ReadCommitted]);
    assert_found(&r, &["G1c", "incompatible-order"], &[M::ReadCommitted]);
}

#[test]
fn dirty_update() {
    // Direct: the aborted append is overwritten by a committed one. The
    // read of it is also G1a, which Elle's case (asking for dirty-update
    // alone) filters out.
    let h = completed(&[(0, "fail", "ax1"), (1, "ok", "ax2"), (2, "ok", "rx12")]);
    let r = data(&h, &[M::ReadCommitted]);
    assert_found(&r, &["G1a", "dirty-update"], &[M::ReadCommitted]);
    // Indirect, through an append of unknown outcome.
    let h = completed(&[
        (0, "fail", "ax1"),
        (1, "info", "ax2"),
        (2, "ok", "ax3"),
        (3, "ok", "rx123"),
    ]);
    let r = data(&h, &[M::ReadCommitted]);
    assert!(
        elle_names(&r).contains(&"dirty-update".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert!(r.ruled_out.contains(&M::ReadCommitted));
}

#[test]
fn duplicated_elements_are_also_g1c() {
    let h = oks(&["ax1ry1", "ax2ay1", "rx121"]);
    let r = data(&h, &[M::ReadCommitted]);
    let names = elle_names(&r);
    for n in ["G1c", "duplicate-elements"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
    assert_eq!(weakest(&r), vec![M::ReadUncommitted]);
}

#[test]
fn internal_consistency_violation() {
    // T2 appended 3 and read x = [1 2 3 4]: not ending in its own append.
    // (Elle: "There's a G0 here too"; read uncommitted falls to it.)
    let h = oks(&["ax1ax2ax4", "ax3rx1234"]);
    let r = data(&h, &[M::Serializable]);
    let names = elle_names(&r);
    assert!(names.contains(&"internal".to_string()), "{names:?}");
    let internal = r.anomalies.iter().find(|a| a.kind == "internal").unwrap();
    assert_eq!(internal.form, Some("own-write-not-seen"));
    assert_eq!(weakest(&r), vec![M::ReadUncommitted], "{names:?}");
}

/// Elle's unobserved-write-test: a read that misses an append orders it
/// after the appends it shows.
#[test]
fn unobserved_writes_give_g_single_and_g0() {
    // (Elle's ops are all process 0; ours are concurrent, so one each.)
    let steps: Vec<Step> = vec![
        (0, "invoke", "ax1ay1"),
        (1, "invoke", "ax2ay2"),
        (2, "invoke", "ax3ay3"),
        (3, "invoke", "rx"),
        (4, "invoke", "ry"),
        (0, "ok", "ax1ay1"),
        (1, "ok", "ax2ay2"),
        (2, "ok", "ax3ay3"),
        (3, "ok", "rx12"),
        (4, "ok", "ry2"),
    ];
    let r = data(&history(&steps), &[M::Serializable]);
    assert_found(&r, &["G-single-item", "G0"], &[M::ReadUncommitted]);
}

#[test]
fn g_nonadjacent() {
    let h = pairs(&["ax1", "rx1ry", "ay1", "ry1rx"]);
    let r = data(&h, &[M::Serializable]);
    assert_found(
        &r,
        &["G-nonadjacent-item"],
        &[M::RepeatableRead, M::SnapshotIsolation],
    );
    // rw rw wr rw wr: two rw edges adjacent, so not G-nonadjacent; snapshot
    // isolation allows it.
    let h = pairs(&["rx5ay1", "ryaz2", "rzat3", "rt3au4", "ruax5"]);
    assert_eq!(data(&h, &[M::SnapshotIsolation]).valid, Validity::Valid);
}

#[test]
fn lost_update() {
    let h = pairs(&["ax0", "rx0ax1", "rx0ax2"]);
    let r = data(&h, &[M::Serializable]);
    // Elle's :not is #{:ROLA :cursor-stability}. shakedown has no ROLA;
    // of its models, update-atomic (whose direct-proscribed anomaly in
    // Elle's table is lost-update) is the weakest ruled out beside cursor
    // stability (README: deliberate differences).
    assert_found(
        &r,
        &["G2-item", "lost-update"],
        &[M::CursorStability, M::UpdateAtomic],
    );
    let lost = r
        .anomalies
        .iter()
        .find(|a| a.kind == "lost-update")
        .unwrap();
    assert_eq!(lost.txns.len(), 2);
    // One txn writing over its own read twice is not a lost update.
    let h = pairs(&["rxax1ax2", "rx12"]);
    assert_eq!(data(&h, &[M::Serializable]).valid, Validity::Valid);
}

/// Elle issue 21: t0 -wr-> t1 -process-> t2 -wr-> t0, not strong session
/// read committed.
#[test]
fn wr_process_cycle_is_g1c_process() {
    let h = history(&[
        (1, "invoke", "rxay1"),
        (1, "ok", "rx1ay1"),
        (2, "invoke", "ry"),
        (2, "ok", "ry1"),
        (2, "invoke", "ax1"),
        (2, "ok", "ax1"),
    ]);
    let r = check_with(&h, &[M::StrongSessionSnapshotIsolation], true, false);
    assert_found(&r, &["G1c-process"], &[M::StrongSessionReadCommitted]);
}

/// Elle's internal-cases-test and future reads.
#[test]
fn internal_cases_and_future_reads() {
    // Good: reads that extend with the txn's own appends.
    // (Nobody appended y's 5 and 6 or x's 1 and 2: those reads are garbage
    // reads, which Elle's internal-cases does not look for.)
    let h = oks(&["ry56ax3rx123ax4rx1234"]);
    let r = data(&h, &[M::Serializable]);
    assert!(
        !r.anomaly_types.contains(&"internal".to_string()),
        "{:?}",
        r.anomaly_types
    );
    // Read, append, read: stale, bad prefix, extension, short read.
    for txn in ["rx12ax3rx12", "rx12ax3rx023", "rx12ax3rx1234", "rx12ax3rx1"] {
        let r = data(&oks(&[txn]), &[M::Serializable]);
        assert!(
            r.anomaly_types.contains(&"internal".to_string()),
            "{txn}: {:?}",
            r.anomaly_types
        );
    }
    // Append, read: a read that does not end with the append.
    for txn in ["ax3rx1234", "ax3rx"] {
        let r = data(&oks(&[txn]), &[M::Serializable]);
        assert!(
            r.anomaly_types.contains(&"internal".to_string()),
            "{txn}: {:?}",
            r.anomaly_types
        );
    }
    // A read showing the txn's own later append: future-read.
    for txn in ["rx012ax1", "ax1rx01ax0ax3"] {
        let r = data(&pairs(&[txn]), &[M::Serializable]);
        assert!(
            r.anomaly_types.contains(&"future-read".to_string()),
            "{txn}: {:?}",
            r.anomaly_types
        );
    }
}

// ---- rw-register: Elle's rw_register_test.clj ------------------------------
//
// Its language: `wx1` sets x = 1, `rx1` reads x = 1, `rx_` reads nil.
// Elle's histories read values nobody wrote as if they were the initial
// state; shakedown calls such a read a garbage read, so where a case
// relies on that, a txn writing those values comes first.

use checkers::txn::RwAssume;

fn reg_mops(s: &str, invoke: bool) -> Value {
    let mut out: Vec<Value> = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    for c in chars.chunks(3) {
        let (f, key, v) = (c[0], c[1].to_string(), c[2]);
        let v = match v {
            '_' => Value::Nil,
            d => Value::from(d.to_digit(10).expect("a digit") as i64),
        };
        out.push(match f {
            'w' => Value::List(vec!["w".into(), key.into(), v]),
            'r' if invoke => Value::List(vec!["r".into(), key.into(), Value::Nil]),
            'r' => Value::List(vec!["r".into(), key.into(), v]),
            _ => panic!("bad function {f} in {s}"),
        });
    }
    Value::List(out)
}

fn reg_history(steps: &[Step]) -> History {
    build(steps, reg_mops)
}

fn reg_completed(steps: &[Step]) -> History {
    build(&with_invocations(steps), reg_mops)
}

fn reg(h: &History, models: &[M], assume: RwAssume, process: bool) -> TxnResult {
    check(
        h,
        &Options {
            workload: Workload::RwRegister,
            consistency: models.to_vec(),
            rw_assume: assume,
            process_order: process,
            realtime_order: false,
            ..Options::default()
        },
    )
}

const NO_ASSUMPTION: RwAssume = RwAssume {
    linearizable_keys: false,
    sequential_keys: false,
};

#[test]
fn register_internal_reads() {
    // Stale: read x = 1, wrote 2, read 1 again (own write not seen).
    let h = reg_completed(&[(0, "ok", "wx1"), (1, "ok", "rx1wx2rx1")]);
    let r = reg(&h, &[M::Serializable], NO_ASSUMPTION, false);
    assert!(
        elle_names(&r).contains(&"internal".to_string()),
        "{:?}",
        r.anomaly_types
    );
    // Good: every read shows the txn's own latest write.
    let h = reg_completed(&[(0, "ok", "wy2"), (1, "ok", "ry2wx2rx2wx1rx1")]);
    assert!(reg(&h, &[M::Serializable], NO_ASSUMPTION, false)
        .anomaly_types
        .is_empty());
    // Two reads of x, two versions, no write between: Elle's :not is
    // #{:read-atomic}.
    let h = reg_completed(&[(0, "ok", "wx1"), (1, "ok", "wx2"), (2, "ok", "rx1rx2")]);
    let r = reg(&h, &[M::Serializable], NO_ASSUMPTION, false);
    assert_found(&r, &["internal"], &[M::ReadAtomic]);
    assert_eq!(r.anomalies[0].form, Some("non-repeatable-read"));
}

#[test]
fn register_g1a_g1b_g1c() {
    // G1a: a read of a failed write.
    let h = reg_completed(&[(0, "ok", "rx2"), (1, "fail", "wx2")]);
    let r = reg(&h, &[M::ReadCommitted], NO_ASSUMPTION, false);
    assert!(
        elle_names(&r).contains(&"G1a".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert!(r.ruled_out.contains(&M::ReadCommitted) && r.ruled_out.contains(&M::ReadAtomic));
    // G1b: a read of an intermediate write.
    let h = reg_completed(&[(0, "ok", "wx1wx2"), (1, "ok", "rx1")]);
    let r = reg(&h, &[M::ReadCommitted], NO_ASSUMPTION, false);
    assert_found(&r, &["G1b"], &[M::ReadCommitted]);
    // G1c: each reads the other's write.
    let h = reg_completed(&[(0, "ok", "wx1ry1"), (1, "ok", "wy1rx1")]);
    assert_eq!(
        reg(&h, &[M::ReadUncommitted], NO_ASSUMPTION, false).valid,
        Validity::Valid
    );
    for m in [M::ReadCommitted, M::Serializable] {
        assert_found(
            &reg(&h, &[m], NO_ASSUMPTION, false),
            &["G1c"],
            &[M::ReadCommitted],
        );
    }
}

/// G0 needs a version order: with sequential keys, later reads of x = 2
/// and y = 2 (by the writers' processes) order the writes.
#[test]
fn register_g0_with_sequential_keys() {
    let h = reg_history(&[
        (0, "invoke", "wx1wy2"),
        (0, "ok", "wx1wy2"),
        (1, "invoke", "wx2wy1"),
        (1, "ok", "wx2wy1"),
        (0, "invoke", "rx_"),
        (0, "ok", "rx2"),
        (1, "invoke", "ry_"),
        (1, "ok", "ry2"),
    ]);
    let seq = RwAssume {
        linearizable_keys: false,
        sequential_keys: true,
    };
    let r = reg(&h, &[M::ReadUncommitted], seq, true);
    assert!(
        elle_names(&r).contains(&"G0".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert_eq!(weakest(&r), vec![M::ReadUncommitted]);
}

/// Nil precedes every written version: T1 read x = nil and y = 1, and T2
/// wrote y = 1 and x = 2. Elle calls it G-single (:not consistent-view);
/// shakedown's G-single is Elle's G-single-item, which also rules out
/// repeatable read (README: deliberate differences).
#[test]
fn register_initial_state_is_g_single() {
    let h = reg_history(&[
        (0, "invoke", "rx_ry_"),
        (1, "invoke", "wy1wx2"),
        (1, "ok", "wy1wx2"),
        (0, "ok", "rx_ry1"),
    ]);
    let r = reg(&h, &[M::Serializable], NO_ASSUMPTION, false);
    assert_found(
        &r,
        &["G-single-item"],
        &[M::ConsistentView, M::RepeatableRead],
    );
}

/// Write skew over linearizable keys (the initial values written first).
#[test]
fn register_g2_item_with_linearizable_keys() {
    let h = reg_history(&[
        (3, "invoke", "wx1wy1"),
        (3, "ok", "wx1wy1"),
        (0, "invoke", "rx_ry_"),
        (0, "ok", "rx1ry1"),
        (1, "invoke", "rx_wy2"),
        (2, "invoke", "ry_wx2"),
        (2, "ok", "ry1wx2"),
        (1, "ok", "rx1wy2"),
    ]);
    let lin = RwAssume {
        linearizable_keys: true,
        sequential_keys: false,
    };
    assert_eq!(
        reg(&h, &[M::ReadCommitted], lin, false).valid,
        Validity::Valid
    );
    let r = reg(&h, &[M::Serializable], lin, false);
    assert!(
        elle_names(&r).contains(&"G2-item".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert!(r.ruled_out.contains(&M::RepeatableRead));
}

/// A process writes 1, then 2, then reads 1: with sequential keys the
/// versions of x form a cycle.
#[test]
fn register_cyclic_versions() {
    let h = reg_completed(&[(0, "ok", "wx1"), (0, "ok", "wx2"), (0, "ok", "rx1")]);
    let seq = RwAssume {
        linearizable_keys: false,
        sequential_keys: true,
    };
    let r = reg(&h, &[M::Serializable], seq, true);
    assert!(
        elle_names(&r).contains(&"cyclic-versions".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert_eq!(weakest(&r), vec![M::ReadUncommitted]);
}

/// Two txns read x = 0 and both write x. Elle's :not is #{:ROLA
/// :cursor-stability} (see the list-append case).
#[test]
fn register_lost_update() {
    let h = reg_history(&[
        (2, "invoke", "wx0"),
        (2, "ok", "wx0"),
        (0, "invoke", "rx_wx1"),
        (0, "ok", "rx0wx1"),
        (1, "invoke", "rx_wx2"),
        (1, "ok", "rx0wx2"),
    ]);
    let r = reg(&h, &[M::Serializable], NO_ASSUMPTION, false);
    assert!(
        elle_names(&r).contains(&"lost-update".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert!(r.ruled_out.contains(&M::CursorStability));
}
