//! One hand-built history per anomaly class: the class found, the txns in
//! the cycle and the models ruled out; and weird-but-legal histories that
//! must produce no anomaly.

use checkers::txn::{check, ConsistencyModel as M, Options, RwAssume, TxnResult, Workload};
use checkers::verdict::Validity;
use history::{History, Op, Value};

/// A history from (type, process, micro-ops as JSON) triples; types are
/// `i` invoke, `o` ok, `f` fail, `?` info. Ops are indexed 0, 1, 2 ...
fn hist(ops: &[(char, u64, &str)]) -> History {
    History::indexed(ops.iter().map(|&(ty, p, json)| {
        let v: Value = serde_json::from_str(json).unwrap();
        match ty {
            'i' => Op::invoke(p, "txn", v),
            'o' => Op::ok(p, "txn", v),
            'f' => Op::fail(p, "txn", v),
            '?' => Op::info(p, "txn", v),
            _ => panic!("bad op type {ty}"),
        }
    }))
    .unwrap()
}

fn la(h: &History, models: &[M]) -> TxnResult {
    check(
        h,
        &Options {
            workload: Workload::ListAppend,
            consistency: models.to_vec(),
            ..Options::default()
        },
    )
}

fn reg(h: &History, assume: RwAssume) -> TxnResult {
    check(
        h,
        &Options {
            workload: Workload::RwRegister,
            rw_assume: assume,
            ..Options::default()
        },
    )
}

/// The anomaly of `kind`: its txn names, sorted.
fn txns_of(r: &TxnResult, kind: &str) -> Vec<String> {
    let a = r
        .anomalies
        .iter()
        .find(|a| a.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}\n{:#?}", r.anomaly_types, r.anomalies));
    let mut names: Vec<String> = a.txns.iter().map(|t| t.name.clone()).collect();
    names.sort();
    names
}

fn explanation(r: &TxnResult, kind: &str) -> String {
    r.anomalies
        .iter()
        .find(|a| a.kind == kind)
        .unwrap()
        .explanation
        .clone()
}

const ALL_SIX: [M; 6] = [
    M::StrictSerializable,
    M::Serializable,
    M::SnapshotIsolation,
    M::RepeatableRead,
    M::ReadCommitted,
    M::ReadUncommitted,
];

/// Which of the six classic models the result rules out.
fn six(r: &TxnResult) -> Vec<M> {
    ALL_SIX
        .into_iter()
        .filter(|m| r.ruled_out.contains(m))
        .collect()
}

#[test]
fn g0_write_cycle() {
    // T1 and T2 both append to x and y; the final read shows x: T1 then T2,
    // y: T2 then T1.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('i', 1, r#"[["append","x",2],["append","y",2]]"#),
        ('o', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('o', 1, r#"[["append","x",2],["append","y",2]]"#),
        ('i', 2, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 2, r#"[["r","x",[1,2]],["r","y",[2,1]]]"#),
    ]);
    let r = la(&h, &[M::ReadUncommitted]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G0"]);
    assert_eq!(txns_of(&r, "G0"), vec!["T2", "T3"]);
    assert_eq!(six(&r), ALL_SIX.to_vec());
    let e = explanation(&r, "G0");
    assert!(e.contains("(ww)") && e.contains("G0"), "{e}");
}

#[test]
fn g1c_circular_information_flow() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["r","y",null]]"#),
        ('i', 1, r#"[["append","y",1],["r","x",null]]"#),
        ('o', 0, r#"[["append","x",1],["r","y",[1]]]"#),
        ('o', 1, r#"[["append","y",1],["r","x",[1]]]"#),
    ]);
    let r = la(&h, &[M::ReadCommitted]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G1c"]);
    assert_eq!(txns_of(&r, "G1c"), vec!["T2", "T3"]);
    assert_eq!(six(&r), &ALL_SIX[..5]);
    // Read uncommitted allows it.
    assert_eq!(la(&h, &[M::ReadUncommitted]).valid, Validity::Valid);
}

#[test]
fn g_single_read_skew() {
    // T3 sees T2's append to y but not its append to x.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('i', 1, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('o', 1, r#"[["r","x",[]],["r","y",[1]]]"#),
    ]);
    let r = la(&h, &[M::SnapshotIsolation]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G-single"]);
    assert_eq!(txns_of(&r, "G-single"), vec!["T2", "T3"]);
    assert_eq!(
        six(&r),
        vec![
            M::StrictSerializable,
            M::Serializable,
            M::SnapshotIsolation,
            M::RepeatableRead
        ]
    );
    let e = explanation(&r, "G-single");
    assert!(
        e.contains("T3 read x = [], which does not include 1"),
        "{e}"
    );
    assert!(e.contains("(rw)") && e.contains("(wr)"), "{e}");
    // Read committed allows read skew.
    assert_eq!(la(&h, &[M::ReadCommitted]).valid, Validity::Valid);
}

#[test]
fn lost_update_in_list_append_is_g_single() {
    // Both read x = [] and append; the final read orders T1's 1 first, so T2
    // read a version before T1's write (rw) but comes after it (ww).
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["append","x",1]]"#),
        ('i', 1, r#"[["r","x",null],["append","x",2]]"#),
        ('o', 0, r#"[["r","x",[]],["append","x",1]]"#),
        ('o', 1, r#"[["r","x",[]],["append","x",2]]"#),
        ('i', 2, r#"[["r","x",null]]"#),
        ('o', 2, r#"[["r","x",[1,2]]]"#),
    ]);
    let r = la(&h, &[M::SnapshotIsolation]);
    assert_eq!(r.valid, Validity::Invalid);
    assert!(
        r.anomaly_types.contains(&"G-single".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert_eq!(txns_of(&r, "G-single"), vec!["T2", "T3"]);
}

#[test]
fn g_nonadjacent() {
    // T1 -rw-> T2 -wr-> T3 -rw-> T4 -wr-> T1: two rw edges, not adjacent.
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["r","w",null]]"#),
        ('i', 1, r#"[["append","x",1],["append","y",1]]"#),
        ('i', 2, r#"[["r","y",null],["r","z",null]]"#),
        ('i', 3, r#"[["append","z",1],["append","w",1]]"#),
        ('o', 0, r#"[["r","x",[]],["r","w",[1]]]"#),
        ('o', 1, r#"[["append","x",1],["append","y",1]]"#),
        ('o', 2, r#"[["r","y",[1]],["r","z",[]]]"#),
        ('o', 3, r#"[["append","z",1],["append","w",1]]"#),
    ]);
    let r = la(&h, &[M::SnapshotIsolation]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G-nonadjacent"]);
    assert_eq!(txns_of(&r, "G-nonadjacent"), vec!["T4", "T5", "T6", "T7"]);
    let a = r
        .anomalies
        .iter()
        .find(|a| a.kind == "G-nonadjacent")
        .unwrap();
    let kinds: Vec<&str> = a.cycle.iter().map(|s| s.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "rw").count(), 2);
    assert_eq!(
        six(&r),
        vec![
            M::StrictSerializable,
            M::Serializable,
            M::SnapshotIsolation,
            M::RepeatableRead
        ]
    );
}

#[test]
fn g2_item_write_skew_is_allowed_by_snapshot_isolation() {
    // Each reads both keys empty and appends to one: write skew.
    let h = hist(&[
        (
            'i',
            0,
            r#"[["r","x",null],["r","y",null],["append","x",1]]"#,
        ),
        (
            'i',
            1,
            r#"[["r","x",null],["r","y",null],["append","y",1]]"#,
        ),
        ('o', 0, r#"[["r","x",[]],["r","y",[]],["append","x",1]]"#),
        ('o', 1, r#"[["r","x",[]],["r","y",[]],["append","y",1]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G2-item"]);
    assert_eq!(txns_of(&r, "G2-item"), vec!["T2", "T3"]);
    assert_eq!(
        six(&r),
        vec![M::StrictSerializable, M::Serializable, M::RepeatableRead]
    );
    assert_eq!(la(&h, &[M::SnapshotIsolation]).valid, Validity::Valid);
    let e = explanation(&r, "G2-item");
    assert!(
        e.contains("T2 read y = [], which does not include 1; T3 appended 1 to y"),
        "{e}"
    );
}

#[test]
fn g_single_realtime_stale_read() {
    // T1 appends and completes; T3 starts later and does not see it.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('o', 0, r#"[["append","x",1]]"#),
        ('i', 1, r#"[["r","x",null]]"#),
        ('o', 1, r#"[["r","x",[]]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.anomaly_types, vec!["G-single-realtime"]);
    assert_eq!(txns_of(&r, "G-single-realtime"), vec!["T1", "T3"]);
    assert_eq!(six(&r), vec![M::StrictSerializable]);
    assert!(r.ruled_out.contains(&M::StrongSnapshotIsolation));
    assert_eq!(la(&h, &[M::StrictSerializable]).valid, Validity::Invalid);
    let e = explanation(&r, "G-single-realtime");
    assert!(
        e.contains("T1 completed (op 1) before T3 was invoked (op 2)"),
        "{e}"
    );
}

#[test]
fn g_single_process_session_violation() {
    // Same process: T3 does not see the append its own process made in T1.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('o', 0, r#"[["append","x",1]]"#),
        ('i', 0, r#"[["r","x",null]]"#),
        ('o', 0, r#"[["r","x",[]]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.anomaly_types, vec!["G-single-process"]);
    assert_eq!(six(&r), vec![M::StrictSerializable]);
    assert!(r.ruled_out.contains(&M::StrongSessionSerializable));
    assert!(r.ruled_out.contains(&M::StrongSessionSnapshotIsolation));
    assert_eq!(
        la(&h, &[M::StrongSessionSerializable]).valid,
        Validity::Invalid
    );
}

#[test]
fn g0_realtime() {
    // T3 starts after T1 completed, yet its append lands before T1's.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('o', 0, r#"[["append","x",1]]"#),
        ('i', 1, r#"[["append","x",2]]"#),
        ('o', 1, r#"[["append","x",2]]"#),
        ('i', 2, r#"[["r","x",null]]"#),
        ('o', 2, r#"[["r","x",[2,1]]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.anomaly_types, vec!["G0-realtime"]);
    assert_eq!(txns_of(&r, "G0-realtime"), vec!["T1", "T3"]);
    assert_eq!(six(&r), vec![M::StrictSerializable]);
    assert!(r.ruled_out.contains(&M::StrongSnapshotIsolation));
    assert!(!r.ruled_out.contains(&M::StrongSessionSnapshotIsolation));
}

#[test]
fn realtime_cycle_through_several_txns() {
    // T1 appends x 1 and completes; T3 (later) appends y 1 and completes;
    // T6 (invoked after T3 completed) reads y = [1] but x = []: with real
    // time, T1 -> T3 -> T6 and T6 -rw-> T1.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('o', 0, r#"[["append","x",1]]"#),
        ('i', 1, r#"[["append","y",1]]"#),
        ('o', 1, r#"[["append","y",1]]"#),
        ('i', 2, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 2, r#"[["r","x",[]],["r","y",[1]]]"#),
    ]);
    let r = la(&h, &[M::StrictSerializable]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G-single-realtime"]);
    let a = &r.anomalies[0];
    let steps: Vec<(&str, &str, &str)> = a
        .cycle
        .iter()
        .map(|s| (s.from.as_str(), s.to.as_str(), s.kind))
        .collect();
    // The shortest: T6 -rw-> T1 -realtime-> T6 (T1 completed before T6).
    assert_eq!(steps.len(), 2, "{}", a.explanation);
    assert!(steps.contains(&("T5", "T1", "rw")), "{steps:?}");
    assert!(steps.contains(&("T1", "T5", "realtime")), "{steps:?}");
}

#[test]
fn exhausted_budget_still_reports_a_cycle_and_the_weakest_class() {
    let h = hist(&[
        (
            'i',
            0,
            r#"[["r","x",null],["r","y",null],["append","x",1]]"#,
        ),
        (
            'i',
            1,
            r#"[["r","x",null],["r","y",null],["append","y",1]]"#,
        ),
        ('o', 0, r#"[["r","x",[]],["r","y",[]],["append","x",1]]"#),
        ('o', 1, r#"[["r","x",[]],["r","y",[]],["append","y",1]]"#),
    ]);
    let opts = |m: M| Options {
        workload: Workload::ListAppend,
        consistency: vec![m],
        cycle_search_budget: 0,
        ..Options::default()
    };
    // Serializable: the fallback cycle (G2-item) proves the violation.
    let r = check(&h, &opts(M::Serializable));
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G2-item"]);
    assert!(r.anomalies[0].search_exhausted);
    assert!(!r.incomplete_searches.is_empty());
    // Snapshot isolation: G2-item is allowed, but a G-single or
    // G-nonadjacent might have been missed: unknown, with a reason.
    let r = check(&h, &opts(M::SnapshotIsolation));
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.as_deref().unwrap().contains("ran out of budget"));
}

#[test]
fn g1a_aborted_read_and_dirty_update() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('f', 0, r#"[["append","x",1]]"#),
        ('i', 1, r#"[["append","x",2]]"#),
        ('o', 1, r#"[["append","x",2]]"#),
        ('i', 2, r#"[["r","x",null]]"#),
        ('o', 2, r#"[["r","x",[1,2]]]"#),
    ]);
    let r = la(&h, &[M::ReadCommitted]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G1a", "dirty-update"]);
    assert_eq!(txns_of(&r, "G1a"), vec!["T1", "T5"]);
    assert_eq!(txns_of(&r, "dirty-update"), vec!["T1", "T3"]);
    assert_eq!(six(&r), &ALL_SIX[..5]);
}

#[test]
fn g1b_intermediate_read() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["append","x",2]]"#),
        ('i', 1, r#"[["r","x",null]]"#),
        ('o', 0, r#"[["append","x",1],["append","x",2]]"#),
        ('o', 1, r#"[["r","x",[1]]]"#),
        ('i', 2, r#"[["r","x",null]]"#),
        ('o', 2, r#"[["r","x",[1,2]]]"#),
    ]);
    let r = la(&h, &[M::ReadCommitted]);
    assert_eq!(r.valid, Validity::Invalid);
    // Seeing half of T2's appends is also a G-single: T3 read x before 2
    // (rw) but after 1 (wr).
    assert_eq!(r.anomaly_types, vec!["G-single", "G1b"]);
    assert_eq!(txns_of(&r, "G1b"), vec!["T2", "T3"]);
    assert_eq!(txns_of(&r, "G-single"), vec!["T2", "T3"]);
    assert_eq!(six(&r), &ALL_SIX[..5]);
}

#[test]
fn internal_inconsistency() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["r","x",null]]"#),
        ('o', 0, r#"[["append","x",1],["r","x",[]]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["internal"]);
    assert_eq!(txns_of(&r, "internal"), vec!["T1"]);
    assert_eq!(r.anomalies[0].form, Some("own-write-not-seen"));
    // Elle: internal inconsistency is proscribed by serializability,
    // snapshot isolation and read atomic (and what implies them), not by
    // repeatable read or read committed.
    assert_eq!(
        six(&r),
        vec![M::StrictSerializable, M::Serializable, M::SnapshotIsolation]
    );
    assert!(r.ruled_out.contains(&M::ReadAtomic));
    assert_eq!(la(&h, &[M::ReadCommitted]).valid, Validity::Valid);
    assert_eq!(la(&h, &[M::RepeatableRead]).valid, Validity::Valid);
}

#[test]
fn future_reads() {
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["append","x",1]]"#),
        ('o', 0, r#"[["r","x",[1]],["append","x",1]]"#),
    ]);
    let r = la(&h, &[M::ReadCommitted]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["future-read"]);
    assert_eq!(txns_of(&r, "future-read"), vec!["T1"]);
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["w","x",1]]"#),
        ('o', 0, r#"[["r","x",1],["w","x",1]]"#),
    ]);
    let r = reg(&h, RwAssume::default());
    assert_eq!(r.anomaly_types, vec!["future-read"]);
}

#[test]
fn info_txn_precedes_nothing_in_process_order() {
    // Process 0's info txn T1 may take effect after T3 (same process,
    // reused here against Jepsen's habit): T3 not seeing T1's append is fine.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('?', 0, r#"[["append","x",1]]"#),
        ('i', 0, r#"[["r","x",null]]"#),
        ('o', 0, r#"[["r","x",[]]]"#),
        ('i', 1, r#"[["r","x",null]]"#),
        ('o', 1, r#"[["r","x",[1]]]"#),
    ]);
    let r = la(&h, &[M::StrictSerializable]);
    assert_eq!(r.valid, Validity::Valid, "{:#?}", r.anomalies);
}

#[test]
fn malformed_txns_make_the_verdict_unknown() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('o', 0, r#"[["frobnicate","x",1]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("cannot read micro-op")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn non_repeatable_read_is_allowed_by_read_committed() {
    // T3 reads x twice and sees T2's append the second time.
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["r","x",null]]"#),
        ('i', 1, r#"[["append","x",1]]"#),
        ('o', 1, r#"[["append","x",1]]"#),
        ('o', 0, r#"[["r","x",[]],["r","x",[1]]]"#),
    ]);
    let r = la(&h, &[M::ReadCommitted]);
    // Elle's name for it, with the form spelled out.
    assert_eq!(r.anomaly_types, vec!["internal"], "{:#?}", r.anomalies);
    assert_eq!(r.anomalies[0].form, Some("non-repeatable-read"));
    assert!(r.anomalies[0].explanation.contains("non-repeatable read"));
    // No append of its own between the reads, so none is mentioned.
    assert!(
        r.anomalies[0]
            .explanation
            .starts_with("T3 read x = [], then read x = [1]: the key changed under the txn"),
        "{}",
        r.anomalies[0].explanation
    );
    assert_eq!(r.valid, Validity::Valid);
    // As in Elle, internal does not rule out repeatable read (Adya's
    // PL-2.99 forbids G2-item cycles; the graph uses external reads only).
    assert_eq!(la(&h, &[M::RepeatableRead]).valid, Validity::Valid);
    assert_eq!(la(&h, &[M::SnapshotIsolation]).valid, Validity::Invalid);
    assert_eq!(la(&h, &[M::ReadAtomic]).valid, Validity::Invalid);
}

#[test]
fn duplicate_elements_garbage_and_incompatible_order() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('o', 0, r#"[["append","x",1]]"#),
        ('i', 1, r#"[["append","x",2]]"#),
        ('o', 1, r#"[["append","x",2]]"#),
        ('i', 2, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 2, r#"[["r","x",[1,2]],["r","y",[1,1]]]"#),
        ('i', 3, r#"[["r","x",null],["r","z",null]]"#),
        ('o', 3, r#"[["r","x",[2,1]],["r","z",[7]]]"#),
    ]);
    let r = la(&h, &[M::ReadUncommitted]);
    assert_eq!(r.valid, Validity::Invalid);
    for k in ["duplicate-elements", "garbage-read", "incompatible-order"] {
        assert!(
            r.anomaly_types.contains(&k.to_string()),
            "{k} in {:?}",
            r.anomaly_types
        );
    }
    assert_eq!(txns_of(&r, "incompatible-order"), vec!["T5", "T7"]);
    // Both reads of y = [1 1] and z = [7] are garbage: nobody appended those.
    let garbage: Vec<&str> = r
        .anomalies
        .iter()
        .filter(|a| a.kind == "garbage-read")
        .map(|a| a.explanation.as_str())
        .collect();
    assert_eq!(garbage.len(), 2);
    assert!(garbage
        .iter()
        .any(|e| e.contains("T7 read z = [7], but no txn ever appended 7 to z")));
    assert!(r
        .anomalies
        .iter()
        .any(|a| a.kind == "duplicate-elements" && a.txns[0].name == "T5"));
}

#[test]
fn legal_histories_produce_no_anomaly() {
    // Concurrent appends land in either order; an info txn whose append is
    // seen committed, another that is never seen may not have; a failed txn
    // is never seen; a txn reads its own appends; keys as keywords and
    // micro-op names as keywords compare by text.
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('i', 1, r#"[["append","x",2]]"#),
        ('o', 1, r#"[["append","x",2]]"#),
        ('o', 0, r#"[["append","x",1]]"#),
        ('i', 2, r#"[["r","x",null]]"#),
        ('o', 2, r#"[["r","x",[2,1]]]"#),
        ('i', 3, r#"[["append","x",3],["append","y",1]]"#),
        ('?', 3, r#"[["append","x",3],["append","y",1]]"#),
        ('i', 4, r#"[["append","x",4]]"#),
        ('f', 4, r#"[["append","x",4]]"#),
        ('i', 5, r#"[["append","z",1]]"#),
        ('?', 5, r#"[["append","z",1]]"#),
        (
            'i',
            2,
            r#"[["r","x",null],["append","x",5],["r","x",null],["r","y",null]]"#,
        ),
        (
            'o',
            2,
            r#"[["r","x",[2,1,3]],["append","x",5],["r","x",[2,1,3,5]],["r","y",[1]]]"#,
        ),
        ('i', 6, r#"[["r","z",null]]"#),
        ('o', 6, r#"[["r","z",[]]]"#),
    ]);
    let r = la(&h, &[M::StrictSerializable]);
    assert_eq!(r.anomaly_types, Vec::<String>::new(), "{:#?}", r.anomalies);
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!((r.ok_count, r.info_count, r.fail_count), (5, 2, 1));
}

#[test]
fn unfinished_txn_counts_as_info() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1]]"#),
        ('i', 1, r#"[["r","x",null]]"#),
        ('o', 1, r#"[["r","x",[1]]]"#),
    ]);
    let r = la(&h, &[M::StrictSerializable]);
    assert_eq!(r.valid, Validity::Valid, "{:#?}", r.anomalies);
    assert_eq!(r.info_count, 1);
}

#[test]
fn register_aborted_intermediate_and_garbage_reads() {
    let h = hist(&[
        ('i', 0, r#"[["w","x",1]]"#),
        ('f', 0, r#"[["w","x",1]]"#),
        ('i', 1, r#"[["w","y",1],["w","y",2]]"#),
        ('o', 1, r#"[["w","y",1],["w","y",2]]"#),
        ('i', 2, r#"[["r","x",null],["r","y",null],["r","z",null]]"#),
        ('o', 2, r#"[["r","x",1],["r","y",1],["r","z",9]]"#),
    ]);
    let r = reg(&h, RwAssume::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G1a", "G1b", "garbage-read"]);
    assert_eq!(txns_of(&r, "G1a"), vec!["T1", "T5"]);
    assert_eq!(txns_of(&r, "G1b"), vec!["T3", "T5"]);
}

#[test]
fn register_lost_update_and_internal() {
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["w","x",1]]"#),
        ('i', 1, r#"[["r","x",null],["w","x",2]]"#),
        ('o', 0, r#"[["r","x",null],["w","x",1]]"#),
        ('o', 1, r#"[["r","x",null],["w","x",2]]"#),
        ('i', 2, r#"[["w","y",5],["r","y",null]]"#),
        ('o', 2, r#"[["w","y",5],["r","y",6]]"#),
    ]);
    let r = reg(&h, RwAssume::default());
    assert!(
        r.anomaly_types.contains(&"lost-update".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert!(r.anomaly_types.contains(&"internal".to_string()));
    assert_eq!(txns_of(&r, "lost-update"), vec!["T2", "T3"]);
    let lu = r
        .anomalies
        .iter()
        .find(|a| a.kind == "lost-update")
        .unwrap();
    assert!(lu.ruled_out.contains(&M::SnapshotIsolation));
    assert!(!lu.ruled_out.contains(&M::ReadCommitted));
}

#[test]
fn register_g_single_from_initial_nil() {
    // T2 saw T1's y but read x as the initial nil although T1 wrote x.
    let h = hist(&[
        ('i', 0, r#"[["w","x",1],["w","y",1]]"#),
        ('i', 1, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 0, r#"[["w","x",1],["w","y",1]]"#),
        ('o', 1, r#"[["r","x",null],["r","y",1]]"#),
    ]);
    let r = reg(&h, RwAssume::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G-single"]);
    assert_eq!(txns_of(&r, "G-single"), vec!["T2", "T3"]);
    assert!(explanation(&r, "G-single").contains("the initial version"));
}

#[test]
fn register_version_order_needs_an_assumption() {
    // Process 0 writes x = 1 then x = 2 (and z = 2). T5 reads z = 2 but
    // x = 1: a G-single only if x's versions follow process order.
    let h = hist(&[
        ('i', 0, r#"[["w","x",1]]"#),
        ('o', 0, r#"[["w","x",1]]"#),
        ('i', 0, r#"[["w","x",2],["w","z",2]]"#),
        ('i', 1, r#"[["r","x",null],["r","z",null]]"#),
        ('o', 0, r#"[["w","x",2],["w","z",2]]"#),
        ('o', 1, r#"[["r","x",1],["r","z",2]]"#),
    ]);
    let plain = reg(&h, RwAssume::default());
    assert_eq!(plain.valid, Validity::Valid, "{:?}", plain.anomaly_types);
    let seq = reg(
        &h,
        RwAssume {
            sequential_keys: true,
            ..RwAssume::default()
        },
    );
    assert_eq!(seq.valid, Validity::Invalid);
    assert_eq!(seq.anomaly_types, vec!["G-single"]);
    assert_eq!(txns_of(&seq, "G-single"), vec!["T4", "T5"]);
    let lin = reg(
        &h,
        RwAssume {
            linearizable_keys: true,
            ..RwAssume::default()
        },
    );
    assert_eq!(lin.anomaly_types, vec!["G-single"]);
}

#[test]
fn text_report() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('i', 1, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('o', 1, r#"[["r","x",[]],["r","y",[1]]]"#),
    ]);
    let text = la(&h, &[M::Serializable]).to_text();
    assert!(
        text.starts_with("invalid: 2 txns (2 ok, 0 info, 0 fail) checked for serializable\n"),
        "{text}"
    );
    assert!(text.contains("anomalies: G-single x1\n"), "{text}");
    assert!(
        text.contains(
            "ruled out: consistent-view, repeatable-read and every model stronger (10 in all)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("not ruled out: parallel-snapshot-isolation, prefix, cursor-stability, monotonic-view, monotonic-snapshot-read, strong-read-committed\n"),
        "{text}"
    );
    assert!(
        text.contains("T2 = [append x 1] [append y 1] (process 0, ok)"),
        "{text}"
    );
}

#[test]
fn result_serializes_to_json() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('i', 1, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('o', 1, r#"[["r","x",[]],["r","y",[1]]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["valid"], "invalid");
    assert_eq!(j["anomalies"][0]["kind"], "G-single");
    let types: Vec<&str> = j["anomalies"][0]["cycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 2);
    assert!(types.contains(&"rw") && types.contains(&"wr"));
    assert_eq!(j["ruled_out"][0], "strict-serializable");
}

// ---- histories that test nothing, and the wrong workload ---------------------

#[test]
fn a_history_without_client_operations_is_unknown_not_valid() {
    let nemesis = Op::new(
        history::OpType::Info,
        history::Process::nemesis(),
        "kill",
        Value::Nil,
    );
    for ops in [vec![], vec![nemesis]] {
        for workload in [Workload::ListAppend, Workload::RwRegister] {
            let h = History::indexed(ops.clone()).unwrap();
            let r = check(
                &h,
                &Options {
                    workload,
                    ..Options::default()
                },
            );
            assert_eq!(r.valid, Validity::Unknown, "{workload:?}");
            assert_eq!(
                r.reason.as_deref(),
                Some("no client operation in the history")
            );
        }
    }
}

/// A list-append history read as rw-register (or the reverse) is misread:
/// the checker names the first foreign micro-op and says `unknown`.
#[test]
fn the_other_workloads_history_is_refused_with_the_reason() {
    let append = History::indexed(vec![
        Op::invoke(0, "txn", mops("[[:append 3 1] [:r 3 nil]]")),
        Op::ok(0, "txn", mops("[[:append 3 1] [:r 3 [1]]]")),
    ])
    .unwrap();
    let register = History::indexed(vec![
        Op::invoke(0, "txn", mops("[[:w 3 1]]")),
        Op::ok(0, "txn", mops("[[:w 3 1]]")),
        Op::invoke(1, "txn", mops("[[:r 3 nil]]")),
        Op::ok(1, "txn", mops("[[:r 3 1]]")),
    ])
    .unwrap();
    let single = History::indexed(vec![
        Op::invoke(0, "write", 1),
        Op::ok(0, "write", 1),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 1),
    ])
    .unwrap();
    for (h, workload, reason) in [
        (
            &append,
            Workload::RwRegister,
            "op 0: txn micro-op [append 3 1] is not an rw-register op (r/w): is this a list-append history?",
        ),
        (
            &register,
            Workload::ListAppend,
            "op 0: txn micro-op [w 3 1] is not a list-append op (append/r): is this an rw-register history?",
        ),
        (
            &single,
            Workload::ListAppend,
            "none of the 2 client operations is a transaction (f = txn; found f = write, read): is this a single-object (linearizability) history?",
        ),
    ] {
        assert_eq!(
            checkers::txn::wrong_workload(h, workload).as_deref(),
            Some(reason)
        );
        let r = check(
            h,
            &Options {
                workload,
                ..Options::default()
            },
        );
        assert_eq!(r.valid, Validity::Unknown);
        assert_eq!(r.reason.as_deref(), Some(reason));
    }
    // Each history under its own workload is fine.
    assert_eq!(
        checkers::txn::wrong_workload(&append, Workload::ListAppend),
        None
    );
    assert_eq!(
        checkers::txn::wrong_workload(&register, Workload::RwRegister),
        None
    );
}

fn mops(edn: &str) -> Value {
    history::edn::parse_value(edn).unwrap()
}

/// Explanations name each txn by what it did and read, its process and
/// outcome, and the node that served it.
#[test]
fn explanations_name_the_node_that_served_each_txn() {
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('i', 1, r#"[["append","x",2],["append","y",2]]"#),
        ('o', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('o', 1, r#"[["append","x",2],["append","y",2]]"#),
        ('i', 2, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 2, r#"[["r","x",[1,2]],["r","y",[2,1]]]"#),
        // An aborted append read back: G1a, a non-cycle anomaly.
        ('i', 3, r#"[["append","z",9]]"#),
        ('f', 3, r#"[["append","z",9]]"#),
        ('i', 4, r#"[["r","z",null]]"#),
        ('o', 4, r#"[["r","z",[9]]]"#),
    ]);
    let mut ops = h.into_ops();
    for op in &mut ops {
        op.node = Some(format!(
            "n{}",
            op.process.to_string().parse::<u64>().unwrap() + 1
        ));
    }
    let h = History::new(ops).unwrap();
    let r = la(&h, &[M::ReadUncommitted]);
    let g0 = explanation(&r, "G0");
    assert!(
        g0.contains("T2 = [append x 1] [append y 1] (process 0, ok, from n1)"),
        "{g0}"
    );
    assert!(
        g0.contains("T3 = [append x 2] [append y 2] (process 1, ok, from n2)"),
        "{g0}"
    );
    let g1a = explanation(&r, "G1a");
    assert!(
        g1a.contains("\n  T9 = [r z [9]] (process 4, ok, from n5)"),
        "{g1a}"
    );
    assert!(
        g1a.contains("\n  T7 = [append z 9] (process 3, fail, from n4)"),
        "{g1a}"
    );
}

/// Elle's lost update in list-append: two committed txns read the same
/// version of x and both append to it. Elle rules out cursor stability
/// (and update atomic); read committed allows it.
#[test]
fn list_append_lost_update() {
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["append","x",1]]"#),
        ('i', 1, r#"[["r","x",null],["append","x",2]]"#),
        ('o', 0, r#"[["r","x",[]],["append","x",1]]"#),
        ('o', 1, r#"[["r","x",[]],["append","x",2]]"#),
        ('i', 2, r#"[["r","x",null]]"#),
        ('o', 2, r#"[["r","x",[1,2]]]"#),
    ]);
    let r = la(&h, &[M::ReadCommitted]);
    assert!(
        r.anomaly_types.contains(&"lost-update".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert_eq!(txns_of(&r, "lost-update"), vec!["T2", "T3"]);
    assert_eq!(r.anomaly_counts["lost-update"], 1);
    let e = explanation(&r, "lost-update");
    assert!(
        e.contains("read x = []") && e.contains("appended to x"),
        "{e}"
    );
    assert_eq!(r.valid, Validity::Valid, "{:#?}", r.anomalies);
    for m in [M::CursorStability, M::UpdateAtomic, M::RepeatableRead] {
        assert_eq!(la(&h, &[m]).valid, Validity::Invalid, "{m}");
    }
    // Each read a different version: no lost update.
    let h = hist(&[
        ('i', 0, r#"[["r","x",null],["append","x",1]]"#),
        ('o', 0, r#"[["r","x",[]],["append","x",1]]"#),
        ('i', 1, r#"[["r","x",null],["append","x",2]]"#),
        ('o', 1, r#"[["r","x",[1]],["append","x",2]]"#),
    ]);
    let r = la(&h, &[M::StrictSerializable]);
    assert_eq!(r.valid, Validity::Valid, "{:#?}", r.anomalies);
}

/// A read after the txn's first micro-op on the key that shows what the
/// txn appends only later: a future read (Elle: implies G1c, so read
/// committed is ruled out).
#[test]
fn future_read_inside_a_txn() {
    let h = hist(&[
        (
            'i',
            0,
            r#"[["append","x",1],["r","x",null],["append","x",2]]"#,
        ),
        (
            'o',
            0,
            r#"[["append","x",1],["r","x",[1,2]],["append","x",2]]"#,
        ),
    ]);
    let r = la(&h, &[M::ReadCommitted]);
    assert!(
        r.anomaly_types.contains(&"future-read".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert_eq!(txns_of(&r, "future-read"), vec!["T1"]);
    assert!(explanation(&r, "future-read").contains("appends only later"));
    assert_eq!(r.valid, Validity::Invalid);
    assert!(!r.ruled_out.contains(&M::ReadUncommitted));
}

/// Versions inferred under sequential keys that form a cycle: process 0
/// sees x = 1 then 2, process 1 sees 2 then 1. Elle's cyclic-versions,
/// which no model allows.
#[test]
fn register_cyclic_versions() {
    let h = hist(&[
        ('i', 2, r#"[["w","x",1]]"#),
        ('o', 2, r#"[["w","x",1]]"#),
        ('i', 3, r#"[["w","x",2]]"#),
        ('o', 3, r#"[["w","x",2]]"#),
        ('i', 0, r#"[["r","x",null]]"#),
        ('o', 0, r#"[["r","x",1]]"#),
        ('i', 0, r#"[["r","x",null]]"#),
        ('o', 0, r#"[["r","x",2]]"#),
        ('i', 1, r#"[["r","x",null]]"#),
        ('o', 1, r#"[["r","x",2]]"#),
        ('i', 1, r#"[["r","x",null]]"#),
        ('o', 1, r#"[["r","x",1]]"#),
    ]);
    let r = reg(
        &h,
        RwAssume {
            sequential_keys: true,
            ..RwAssume::default()
        },
    );
    assert!(
        r.anomaly_types.contains(&"cyclic-versions".to_string()),
        "{:?}",
        r.anomaly_types
    );
    assert_eq!(txns_of(&r, "cyclic-versions"), vec!["T1", "T3"]);
    let e = explanation(&r, "cyclic-versions");
    assert!(e.contains("1 < 2 < 1") || e.contains("2 < 1 < 2"), "{e}");
    assert!(r.ruled_out.contains(&M::ReadUncommitted));
    assert_eq!(r.valid, Validity::Invalid);
    // Without the assumption nothing orders the versions.
    let r = reg(&h, RwAssume::default());
    assert!(!r.anomaly_types.contains(&"cyclic-versions".to_string()));
}

/// Shakedown's G-single is Elle's G-single-item: the alias is in the
/// result, its JSON and the summary.
#[test]
fn cycle_names_carry_elles_item_alias() {
    use checkers::result::CheckerResult;
    let h = hist(&[
        ('i', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('i', 1, r#"[["r","x",null],["r","y",null]]"#),
        ('o', 0, r#"[["append","x",1],["append","y",1]]"#),
        ('o', 1, r#"[["r","x",[]],["r","y",[1]]]"#),
    ]);
    let r = la(&h, &[M::Serializable]);
    assert_eq!(r.anomalies[0].kind, "G-single");
    assert_eq!(r.anomalies[0].elle.as_deref(), Some("G-single-item"));
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["anomalies"][0]["elle"], "G-single-item");
    assert_eq!(
        r.summary()[0],
        "anomalies: G-single ×1 (Elle: G-single-item)"
    );
    assert!(r.ruled_out.contains(&M::RepeatableRead));
}

/// Examples kept are the earliest of each kind in the history, not the
/// first the analysis meets (it goes key by key: x before y here), and the
/// report says where the rest are.
#[test]
fn the_earliest_examples_are_kept_and_the_rest_counted() {
    use checkers::result::{Block, CheckerResult};
    let mut ops: Vec<(char, u64, String)> = vec![
        ('i', 0, r#"[["append","x",1],["append","y",1]]"#.to_string()),
        ('o', 0, r#"[["append","x",1],["append","y",1]]"#.to_string()),
    ];
    for (key, first) in [("y", 10), ("x", 20)] {
        for v in first..first + 3 {
            let inv = format!(r#"[["append","{key}",{v}],["r","{key}",null]]"#);
            let ok = format!(r#"[["append","{key}",{v}],["r","{key}",[]]]"#);
            ops.push(('i', 1, inv));
            ops.push(('o', 1, ok));
        }
    }
    let refs: Vec<(char, u64, &str)> = ops.iter().map(|(c, p, s)| (*c, *p, s.as_str())).collect();
    let h = hist(&refs);
    let r = check(
        &h,
        &Options {
            workload: Workload::ListAppend,
            consistency: vec![M::Serializable],
            max_reported_per_kind: 2,
            ..Options::default()
        },
    );
    assert_eq!(r.anomaly_counts["internal"], 6);
    let kept: Vec<&str> = r
        .anomalies
        .iter()
        .filter(|a| a.kind == "internal")
        .map(|a| a.txns[0].name.as_str())
        .collect();
    // y's anomalies complete at 3, 5, 7; x's at 9, 11, 13.
    assert_eq!(kept, vec!["T3", "T5"], "{:#?}", r.anomalies);
    let texts: Vec<String> = r
        .section()
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(
        texts[0].starts_with("Checked for serializable: ruled out."),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t
                .starts_with("4 more anomalies were found than kept as examples: anomalies.jsonl")),
        "{texts:?}"
    );
}

/// Of many anomalies of a kind, the examples kept are the earliest and a
/// spread over the run (the earliest of each eighth of the history), so
/// the report shows how they went on, not only how they began; and every
/// one is listed (`every_anomaly`, the run directory's anomalies.jsonl),
/// with the ops it names and its key. Same for cycles.
#[test]
fn examples_are_the_earliest_and_a_spread_and_every_anomaly_is_listed() {
    let mut ops: Vec<(char, u64, String)> = Vec::new();
    // 200 txns each append to a key of its own and read it back empty (an
    // internal anomaly: own write not seen), keys in reverse order of time
    // so the analysis (key by key) meets the latest first; between them,
    // 100 pairs forming a write-skew cycle each (G2-item).
    let n = 200;
    for i in 0..n {
        let key = format!("k{:03}", n - i);
        let inv = format!(r#"[["append","{key}",1],["r","{key}",null]]"#);
        let ok = format!(r#"[["append","{key}",1],["r","{key}",[]]]"#);
        ops.push(('i', 1, inv));
        ops.push(('o', 1, ok));
        if i % 2 == 0 {
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            for (p, (mine, other)) in [(2, (&a, &b)), (3, (&b, &a))] {
                ops.push((
                    'i',
                    p,
                    format!(r#"[["r","{other}",null],["append","{mine}",1]]"#),
                ));
            }
            for (p, (mine, other)) in [(2, (&a, &b)), (3, (&b, &a))] {
                ops.push((
                    'o',
                    p,
                    format!(r#"[["r","{other}",[]],["append","{mine}",1]]"#),
                ));
            }
        }
    }
    let refs: Vec<(char, u64, &str)> = ops.iter().map(|(c, p, s)| (*c, *p, s.as_str())).collect();
    let h = hist(&refs);
    let span = h.ops().len() as u64;
    let r = check(
        &h,
        &Options {
            workload: Workload::ListAppend,
            consistency: vec![M::Serializable],
            process_order: false,
            realtime_order: false,
            ..Options::default()
        },
    );
    assert_eq!(r.anomaly_counts["internal"], n);
    assert_eq!(r.anomaly_counts["G2-item"], n / 2);
    for kind in ["internal", "G2-item"] {
        let kept: Vec<u64> = r
            .anomalies
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.txns.iter().map(|t| t.index).min().unwrap())
            .collect();
        assert!(kept.len() <= 32 && kept.len() >= 30, "{kind}: {kept:?}");
        let mut sorted = kept.clone();
        sorted.sort_unstable();
        assert_eq!(kept, sorted, "{kind}: earliest first");
        // The earliest 24 of the kind, then one in each later eighth.
        let all: Vec<u64> = {
            let mut v: Vec<u64> = r
                .every_anomaly
                .iter()
                .filter(|a| a.kind == kind)
                .map(|a| *a.ops.iter().min().unwrap())
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(&kept[..24], &all[..24], "{kind}");
        for eighth in 1..8 {
            let (lo, hi) = (span * eighth / 8, span * (eighth + 1) / 8);
            assert!(
                kept.iter().any(|&o| o >= lo && o < hi),
                "{kind}: no example in eighth {eighth} ({lo}..{hi}): {kept:?}"
            );
        }
    }
    // Every anomaly listed, earliest first, with its ops and key.
    assert_eq!(r.every_anomaly.len(), n + n / 2);
    let firsts: Vec<u64> = r
        .every_anomaly
        .iter()
        .map(|a| *a.ops.iter().min().unwrap())
        .collect();
    assert!(firsts.windows(2).all(|w| w[0] <= w[1]));
    let internal = r
        .every_anomaly
        .iter()
        .find(|a| a.kind == "internal")
        .unwrap();
    assert_eq!(internal.form.as_deref(), Some("own-write-not-seen"));
    assert_eq!(internal.ops, vec![1]);
    assert_eq!(internal.key, Some(Value::from("k200")));
    let cycle = r
        .every_anomaly
        .iter()
        .find(|a| a.kind == "G2-item")
        .unwrap();
    assert_eq!(cycle.elle, None, "G2-item is Elle's name too");
    assert_eq!(cycle.cycle, vec!["rw", "rw"]);
    assert_eq!(cycle.ops.len(), 2);
}
