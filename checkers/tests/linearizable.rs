//! Linearizability checker: hand-built histories with known verdicts and
//! evidence, generated histories that are linearizable by construction (and
//! the same with a planted impossible read), and agreement with a
//! brute-force oracle that tries every order on small histories.

use checkers::linearizable::generate::{CasRegisterGen, Rng};
use checkers::linearizable::{check, LinResult, ModelKind, Options};
use checkers::verdict::Validity;
use history::{History, Op, OpType, Value};
use proptest::prelude::*;
use std::time::Duration;

fn run(model: ModelKind, ops: Vec<Op>) -> LinResult {
    let h = History::indexed(ops).unwrap();
    check(&h, &Options::new(model)).unwrap()
}

fn cas(a: i64, b: i64) -> Value {
    Value::from(vec![a, b])
}

// ---- registers -------------------------------------------------------------

#[test]
fn sequential_register_is_valid() {
    let r = run(
        ModelKind::Register,
        vec![
            Op::invoke(0, "write", 1),
            Op::ok(0, "write", 1),
            Op::invoke(1, "read", Value::Nil),
            Op::ok(1, "read", 1),
        ],
    );
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.calls, 2);
}

#[test]
fn stale_read_after_completed_write_is_invalid_and_named() {
    // write 1 completes, then a read *starts* and still sees nil: no order
    // respecting real time explains it.
    let r = run(
        ModelKind::Register,
        vec![
            Op::invoke(0, "write", 1),
            Op::ok(0, "write", 1),
            Op::invoke(1, "read", Value::Nil),
            Op::ok(1, "read", Value::Nil),
        ],
    );
    assert_eq!(r.valid, Validity::Invalid);
    let f = &r.failures[0];
    assert_eq!(
        f.op.index, 2,
        "the read (invoked at index 2) is the culprit"
    );
    assert_eq!(f.op.output, Some(Value::Nil));
    assert_eq!(
        f.state,
        Value::Int(1),
        "after the prefix [write 1] the register holds 1"
    );
    assert_eq!(f.prefixes[0].steps.len(), 1);
    assert_eq!(f.prefixes[0].steps[0].op.index, 0);
    assert!(
        f.explanation.contains("cannot be linearized"),
        "{}",
        f.explanation
    );
}

#[test]
fn concurrent_read_may_see_old_or_new_value() {
    for seen in [Value::Nil, Value::Int(1)] {
        let r = run(
            ModelKind::Register,
            vec![
                Op::invoke(0, "write", 1),
                Op::invoke(1, "read", Value::Nil),
                Op::ok(1, "read", seen.clone()),
                Op::ok(0, "write", 1),
            ],
        );
        assert_eq!(r.valid, Validity::Valid, "concurrent read seeing {seen}");
    }
}

#[test]
fn failed_write_never_happened() {
    let r = run(
        ModelKind::Register,
        vec![
            Op::invoke(0, "write", 3),
            Op::fail(0, "write", 3),
            Op::invoke(1, "read", Value::Nil),
            Op::ok(1, "read", 3),
        ],
    );
    assert_eq!(
        r.valid,
        Validity::Invalid,
        "a read cannot see a failed write"
    );
    assert_eq!(r.failures[0].op.index, 2);
}

#[test]
fn crashed_write_may_take_effect_much_later_or_never() {
    // The info write of 2 is seen by a read long after the crash, and a
    // read before that still sees nil: both fine.
    let ops = vec![
        Op::invoke(0, "write", 2),
        Op::info(0, "write", 2),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", Value::Nil),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 2),
    ];
    assert_eq!(run(ModelKind::Register, ops).valid, Validity::Valid);
    // ... but once seen, it cannot be unseen without another write.
    let ops = vec![
        Op::invoke(0, "write", 2),
        Op::info(0, "write", 2),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 2),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", Value::Nil),
    ];
    assert_eq!(run(ModelKind::Register, ops).valid, Validity::Invalid);
}

#[test]
fn unfinished_call_at_end_is_unknown_outcome() {
    let ops = vec![
        Op::invoke(0, "write", 5),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 5),
    ];
    assert_eq!(run(ModelKind::Register, ops).valid, Validity::Valid);
}

#[test]
fn cas_register_semantics() {
    let ok = vec![
        Op::invoke(0, "write", 1),
        Op::ok(0, "write", 1),
        Op::invoke(0, "cas", cas(1, 2)),
        Op::ok(0, "cas", cas(1, 2)),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 2),
    ];
    assert_eq!(run(ModelKind::CasRegister, ok).valid, Validity::Valid);
    let bad = vec![
        Op::invoke(0, "write", 1),
        Op::ok(0, "write", 1),
        Op::invoke(0, "cas", cas(3, 2)),
        Op::ok(0, "cas", cas(3, 2)),
    ];
    let r = run(ModelKind::CasRegister, bad);
    assert_eq!(r.valid, Validity::Invalid, "cas from 3 cannot succeed on 1");
    assert_eq!(r.failures[0].op.f, "cas");
    // A cas that failed is dropped: it never happened.
    let failed = vec![
        Op::invoke(0, "cas", cas(3, 2)),
        Op::fail(0, "cas", cas(3, 2)),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", Value::Nil),
    ];
    assert_eq!(run(ModelKind::CasRegister, failed).valid, Validity::Valid);
}

#[test]
fn initial_value_is_configurable() {
    let ops = vec![Op::invoke(0, "read", Value::Nil), Op::ok(0, "read", 0)];
    let h = History::indexed(ops).unwrap();
    let mut opts = Options::new(ModelKind::CasRegister);
    assert_eq!(check(&h, &opts).unwrap().valid, Validity::Invalid);
    opts.initial = Value::Int(0);
    assert_eq!(check(&h, &opts).unwrap().valid, Validity::Valid);
}

#[test]
fn keys_are_checked_independently_and_named() {
    let ops = vec![
        Op::invoke(0, "write", 1).with_key("a"),
        Op::ok(0, "write", 1).with_key("a"),
        Op::invoke(1, "write", 1).with_key("b"),
        Op::ok(1, "write", 1).with_key("b"),
        Op::invoke(0, "read", Value::Nil).with_key("a"),
        Op::ok(0, "read", 1).with_key("a"),
        Op::invoke(1, "read", Value::Nil).with_key("b"),
        Op::ok(1, "read", 2).with_key("b"),
    ];
    let r = run(ModelKind::CasRegister, ops);
    assert_eq!(r.partitions, 2);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.failures[0].key, Some(Value::from("b")));
}

#[test]
fn malformed_operation_is_an_error_naming_the_op() {
    let ops = vec![Op::invoke(0, "cas", 5), Op::ok(0, "cas", 5)];
    let h = History::indexed(ops).unwrap();
    let err = check(&h, &Options::new(ModelKind::CasRegister)).unwrap_err();
    assert!(
        err.contains("op index 0") && err.contains("[expected new]"),
        "{err}"
    );
    let ops = vec![Op::invoke(0, "frob", 5), Op::ok(0, "frob", 5)];
    let err = check(
        &History::indexed(ops).unwrap(),
        &Options::new(ModelKind::Register),
    )
    .unwrap_err();
    assert!(err.contains("unsupported f \"frob\""), "{err}");
}

// ---- other models ------------------------------------------------------------

#[test]
fn key_value_append_and_get() {
    let kv = |op: Op, k: &str| op.with_key(k);
    let ok = vec![
        kv(Op::invoke(0, "put", "a"), "x"),
        kv(Op::ok(0, "put", "a"), "x"),
        kv(Op::invoke(0, "append", "b"), "x"),
        kv(Op::invoke(1, "get", Value::Nil), "x"),
        kv(Op::ok(1, "get", "ab"), "x"),
        kv(Op::ok(0, "append", "b"), "x"),
        kv(Op::invoke(1, "get", Value::Nil), "y"),
        kv(Op::ok(1, "get", ""), "y"),
    ];
    assert_eq!(run(ModelKind::KeyValue, ok.clone()).valid, Validity::Valid);
    let mut bad = ok;
    bad[4] = kv(Op::ok(1, "get", "ba"), "x");
    assert_eq!(
        run(ModelKind::KeyValue, bad.clone()).valid,
        Validity::Invalid
    );
    // The same verdicts without partitioning by key.
    let h = History::indexed(bad).unwrap();
    let mut opts = Options::new(ModelKind::KeyValue);
    opts.partition_by_key = false;
    let r = check(&h, &opts).unwrap();
    assert_eq!((r.valid, r.partitions), (Validity::Invalid, 1));
}

#[test]
fn mutex_cannot_be_held_twice() {
    let ops = vec![
        Op::invoke(0, "acquire", Value::Nil),
        Op::ok(0, "acquire", Value::Nil),
        Op::invoke(1, "acquire", Value::Nil),
        Op::ok(1, "acquire", Value::Nil),
    ];
    let r = run(ModelKind::Mutex, ops);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.failures[0].op.index, 2);
    assert_eq!(r.failures[0].state, Value::Keyword("held".into()));
}

#[test]
fn set_reads_must_show_every_completed_add() {
    let ok = vec![
        Op::invoke(0, "add", 1),
        Op::ok(0, "add", 1),
        Op::invoke(1, "add", 2),
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", Value::Set(vec![1.into()])),
        Op::ok(1, "add", 2),
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", Value::Set(vec![2.into(), 1.into()])),
    ];
    assert_eq!(run(ModelKind::Set, ok).valid, Validity::Valid);
    let lost = vec![
        Op::invoke(0, "add", 1),
        Op::ok(0, "add", 1),
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", Value::Set(vec![])),
    ];
    assert_eq!(run(ModelKind::Set, lost).valid, Validity::Invalid);
}

#[test]
fn fifo_queue_order_and_unordered_queue() {
    let ops = vec![
        Op::invoke(0, "enqueue", 1),
        Op::ok(0, "enqueue", 1),
        Op::invoke(0, "enqueue", 2),
        Op::ok(0, "enqueue", 2),
        Op::invoke(1, "dequeue", Value::Nil),
        Op::ok(1, "dequeue", 2),
    ];
    assert_eq!(
        run(ModelKind::FifoQueue, ops.clone()).valid,
        Validity::Invalid
    );
    assert_eq!(run(ModelKind::UnorderedQueue, ops).valid, Validity::Valid);
    let dup = vec![
        Op::invoke(0, "enqueue", 1),
        Op::ok(0, "enqueue", 1),
        Op::invoke(1, "dequeue", Value::Nil),
        Op::ok(1, "dequeue", 1),
        Op::invoke(1, "dequeue", Value::Nil),
        Op::ok(1, "dequeue", 1),
    ];
    assert_eq!(run(ModelKind::UnorderedQueue, dup).valid, Validity::Invalid);
}

// ---- budget ------------------------------------------------------------------

#[test]
fn exhausted_budget_is_unknown_with_a_reason() {
    let h = CasRegisterGen {
        ops: 40_000,
        processes: 20,
        crash_rate: 0.2,
        values: 3,
        seed: 7,
        ..Default::default()
    }
    .history();
    let mut opts = Options::new(ModelKind::CasRegister);
    opts.time_limit = Some(Duration::ZERO);
    let r = check(&h, &opts).unwrap();
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.reason.as_deref().unwrap().contains("time limit"),
        "{:?}",
        r.reason
    );

    let mut opts = Options::new(ModelKind::CasRegister);
    opts.memory_limit = 1 << 10;
    let r = check(&h, &opts).unwrap();
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.reason.as_deref().unwrap().contains("memory limit"),
        "{:?}",
        r.reason
    );
}

// ---- generated histories -------------------------------------------------------

/// Replaces the value of the `n`th ok read with one no write ever wrote.
fn plant_impossible_read(h: &History, n: usize) -> Option<History> {
    let mut ops = h.ops().to_vec();
    let reads: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.kind == OpType::Ok && op.f == "read")
        .map(|(i, _)| i)
        .collect();
    let target = *reads.get(n % reads.len().max(1))?;
    ops[target].value = Value::Int(1_000_000);
    Some(History::new(ops).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn generated_histories_are_linearizable(seed: u64, processes in 1usize..8, keys in 1usize..4) {
        let h = CasRegisterGen { ops: 300, keys, processes, crash_rate: 0.05, fail_rate: 0.05, values: 4, seed }.history();
        let r = check(&h, &Options::new(ModelKind::CasRegister)).unwrap();
        prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r.failures.first().map(|f| &f.explanation));
    }

    #[test]
    fn planted_impossible_read_is_caught(seed: u64, n: usize, processes in 1usize..8) {
        let h = CasRegisterGen { ops: 300, keys: 2, processes, crash_rate: 0.05, fail_rate: 0.05, values: 4, seed }.history();
        if let Some(bad) = plant_impossible_read(&h, n) {
            let r = check(&bad, &Options::new(ModelKind::CasRegister)).unwrap();
            prop_assert_eq!(r.valid, Validity::Invalid);
            prop_assert!(!r.failures.is_empty());
        }
    }

    #[test]
    fn agrees_with_brute_force_on_small_histories(seed: u64) {
        agrees_with_brute_force(random_small_history(seed))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// A third of the calls crash: the dominance rule of the search's cache
    /// (a configuration that consumed more crashed calls, to the same state,
    /// is pruned) against the oracle, which knows nothing of it.
    #[test]
    fn agrees_with_brute_force_when_many_calls_crash(seed: u64) {
        agrees_with_brute_force(random_small_history_crashing(seed, 4))?;
    }
}

/// The checker's verdict on `h` is the oracle's.
fn agrees_with_brute_force(h: History) -> Result<(), proptest::test_runner::TestCaseError> {
    let r = check(&h, &Options::new(ModelKind::CasRegister)).unwrap();
    let expected = if brute_force(&h) {
        Validity::Valid
    } else {
        Validity::Invalid
    };
    let shown = h
        .ops()
        .iter()
        .map(|o| format!("{} {} {} {}", o.process, o.kind, o.f, o.value))
        .collect::<Vec<_>>();
    if r.reason
        .as_deref()
        .is_some_and(|s| s.starts_with("no client operation") || s.starts_with("nothing observed"))
    {
        // Only failed calls and crashed reads: nothing constrains the
        // register, so nothing can be wrong, yet nothing was tested.
        prop_assert_eq!(r.valid, Validity::Unknown, "history: {:?}", shown);
        prop_assert_eq!(expected, Validity::Valid, "history: {:?}", shown);
    } else {
        prop_assert_eq!(r.valid, expected, "history: {:?}", shown);
    }
    Ok(())
}

/// Up to 8 calls by 3 processes with random (often wrong) outputs.
fn random_small_history(seed: u64) -> History {
    random_small_history_crashing(seed, 1)
}

/// The same with `crashed` in 12 completions crashing (`info`): many calls
/// of unknown outcome, where the search's dominance pruning works.
fn random_small_history_crashing(seed: u64, crashed: u64) -> History {
    let mut rng = Rng::new(seed);
    let value = |rng: &mut Rng| match rng.below(4) {
        0 => Value::Nil,
        v => Value::Int(v as i64 - 1),
    };
    let calls = 1 + rng.below(8) as usize;
    let mut ops = Vec::new();
    let mut pending: Vec<Option<(u64, &str, Value)>> = vec![None; 3];
    let mut next_pid = [0u64, 1, 2];
    let mut invoked = 0;
    let mut unfinished = 0;
    while invoked < calls || pending.iter().flatten().count() > unfinished {
        let slot = rng.below(3) as usize;
        match pending[slot].take() {
            None if invoked < calls => {
                invoked += 1;
                let (f, v) = match rng.below(3) {
                    0 => ("read", Value::Nil),
                    1 => ("write", Value::Int(rng.below(3) as i64)),
                    _ => ("cas", cas(rng.below(3) as i64, rng.below(3) as i64)),
                };
                ops.push(Op::invoke(next_pid[slot], f, v.clone()));
                pending[slot] = Some((next_pid[slot], f, v));
            }
            None => {}
            Some((p, f, v)) => {
                let outcome = rng.below(12);
                if outcome < crashed {
                    ops.push(Op::info(p, f, v));
                    next_pid[slot] += 3;
                } else if outcome == crashed && f != "read" {
                    ops.push(Op::fail(p, f, v));
                } else if outcome == crashed + 1 && invoked >= calls {
                    // Never completes: unknown outcome at the end of the history.
                    unfinished += 1;
                    pending[slot] = Some((p, f, v));
                    if pending.iter().flatten().count() <= unfinished {
                        break;
                    }
                } else {
                    let out = if f == "read" { value(&mut rng) } else { v };
                    ops.push(Op::ok(p, f, out));
                }
            }
        }
    }
    History::indexed(ops).unwrap()
}

/// Tries every order of the calls that respects real time; calls of unknown
/// outcome may be left out. Independent of the checker's models.
fn brute_force(h: &History) -> bool {
    struct C {
        inv: usize,
        ret: usize,
        must: bool,
        f: String,
        input: Value,
        output: Value,
    }
    let ops = h.ops();
    let calls: Vec<C> = h
        .calls()
        .filter_map(|c| {
            let comp = c.completion.map(|i| &ops[i]);
            let kind = comp.map_or(OpType::Info, |o| o.kind);
            (kind != OpType::Fail).then(|| C {
                inv: c.invoke,
                ret: if kind == OpType::Ok {
                    c.completion.unwrap()
                } else {
                    usize::MAX
                },
                must: kind == OpType::Ok,
                f: ops[c.invoke].f.clone(),
                input: ops[c.invoke].value.clone(),
                output: comp.map_or(Value::Nil, |o| o.value.clone()),
            })
        })
        .collect();
    fn step(c: &C, s: &Value) -> Option<Value> {
        match c.f.as_str() {
            "read" => (!c.must || &c.output == s).then(|| s.clone()),
            "write" => Some(c.input.clone()),
            _ => {
                let l = c.input.as_list().unwrap();
                (&l[0] == s).then(|| l[1].clone())
            }
        }
    }
    fn dfs(calls: &[C], placed: &mut Vec<bool>, s: &Value) -> bool {
        if calls.iter().zip(placed.iter()).all(|(c, &p)| p || !c.must) {
            return true;
        }
        for i in 0..calls.len() {
            if placed[i] {
                continue;
            }
            // Every call that completed before this one was invoked must come first.
            let blocked = calls
                .iter()
                .enumerate()
                .any(|(j, d)| !placed[j] && j != i && d.ret < calls[i].inv);
            if blocked {
                continue;
            }
            if let Some(next) = step(&calls[i], s) {
                placed[i] = true;
                if dfs(calls, placed, &next) {
                    return true;
                }
                placed[i] = false;
            }
        }
        false
    }
    let mut placed = vec![false; calls.len()];
    dfs(&calls, &mut placed, &Value::Nil)
}

/// The oracle comparison only means something if the random histories are
/// a real mix of linearizable and not.
#[test]
fn random_small_histories_mix_both_verdicts() {
    let valid = (0..1000u64)
        .filter(|&s| brute_force(&random_small_history(s)))
        .count();
    assert!((200..800).contains(&valid), "{valid} of 1000 valid");
    let valid = (0..1000u64)
        .filter(|&s| brute_force(&random_small_history_crashing(s, 4)))
        .count();
    assert!(
        (200..800).contains(&valid),
        "{valid} of 1000 valid with many crashes"
    );
}

/// A long single-key history fits a small budget: cache keys hold only the
/// window near the frontier, not a bit per call of the whole history
/// (which needed ~3 KB per cached configuration here and ran out).
#[test]
fn long_single_key_history_fits_a_small_memory_budget() {
    let h = CasRegisterGen {
        ops: 50_000,
        keys: 1,
        processes: 20,
        crash_rate: 0.001,
        fail_rate: 0.01,
        values: 5,
        seed: 11,
    }
    .history();
    let mut opts = Options::new(ModelKind::CasRegister);
    opts.memory_limit = 64 << 20;
    let r = check(&h, &opts).unwrap();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.reason);
    assert_eq!(r.partitions, 1);
}

// ---- histories that test nothing ---------------------------------------------

/// An empty history, one with only nemesis events, and one whose every
/// call failed constrain nothing: `unknown` with the reason, never valid.
#[test]
fn a_history_that_tested_nothing_is_unknown_not_valid() {
    let nemesis = Op::new(
        OpType::Info,
        history::Process::nemesis(),
        "start-partition",
        Value::Nil,
    );
    let all_failed = vec![
        Op::invoke(0, "write", 1),
        Op::fail(0, "write", 1),
        Op::invoke(1, "cas", cas(1, 2)),
        Op::fail(1, "cas", cas(1, 2)),
    ];
    let crashed_read = vec![
        Op::invoke(0, "read", Value::Nil).with_key("k"),
        Op::info(0, "read", Value::Nil).with_key("k"),
    ];
    let reads = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::KeyValue,
        ModelKind::Set,
    ];
    for (ops, reason, models) in [
        (vec![], "no client operation in the history", &ModelKind::ALL[..]),
        (vec![nemesis], "no client operation in the history", &ModelKind::ALL[..]),
        (
            all_failed,
            "no client operation to check: of 2 client operations, 2 failed and the rest have unknown results",
            &ModelKind::ALL[..],
        ),
        (
            crashed_read,
            "no client operation to check: of 1 client operations, 0 failed and the rest have unknown results",
            &reads[..],
        ),
    ] {
        for &model in models {
            let r = run(model, ops.clone());
            assert_eq!(r.valid, Validity::Unknown, "{model:?}: {ops:?}");
            assert_eq!(r.reason.as_deref(), Some(reason), "{model:?}");
        }
    }
}

/// The blamed call is named by what it did, returned and where: its key,
/// its result and the node that served it.
#[test]
fn explanation_says_what_the_blamed_read_returned_and_from_which_node() {
    let on = |op: Op, node: &str| {
        let mut op = op.with_key(11);
        op.node = Some(node.to_string());
        op
    };
    let ops = vec![
        on(Op::invoke(3, "write", 4), "n2"),
        on(Op::ok(3, "write", 4), "n2"),
        on(Op::invoke(10, "read", Value::Nil), "n1"),
        on(Op::ok(10, "read", Value::Nil), "n1"),
    ];
    let r = run(ModelKind::Register, ops);
    assert_eq!(r.valid, Validity::Invalid);
    let f = &r.failures[0];
    assert_eq!(f.op.node.as_deref(), Some("n1"));
    assert_eq!(f.op.key, Some(Value::Int(11)));
    assert!(
        f.explanation
            .starts_with("process 10 read key 11 -> nil from n1 (index 2) cannot be linearized."),
        "{}",
        f.explanation
    );
    // A write echoes its value only once; the prefix step names its node.
    assert_eq!(
        f.prefixes[0].steps[0].op.to_string(),
        "process 3 write key 11 4 from n2 (index 0)"
    );
}
