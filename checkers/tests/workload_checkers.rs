//! Hand-built histories for the bank, counter, queue, unique-ids and
//! long-fork checkers: each states its verdict and the evidence expected.

use checkers::verdict::Validity;
use checkers::{bank, counter, long_fork, queue, unique_ids};
use history::{Format, History, Op, Value};

fn h(ops: Vec<Op>) -> History {
    History::indexed(ops).unwrap()
}

fn edn(text: &str) -> History {
    history::read_from(text.as_bytes(), Format::Edn).unwrap()
}

fn balances(pairs: &[(i64, i64)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|&(a, b)| (Value::Int(a), Value::Int(b)))
            .collect(),
    )
}

fn transfer(from: i64, to: i64, amount: i64) -> Value {
    Value::Map(vec![
        ("from".into(), from.into()),
        ("to".into(), to.into()),
        ("amount".into(), amount.into()),
    ])
}

fn bank_opts(accounts: i64, total: i64) -> bank::Options {
    bank::Options {
        accounts: Some((0..accounts).map(|a| a.to_string()).collect()),
        total: Some(total),
        negative_balances: false,
    }
}

// ---- bank -------------------------------------------------------------------

#[test]
fn bank_concurrent_transfers_and_reads_that_keep_the_total_are_valid() {
    let ops = vec![
        Op::invoke(0, "transfer", transfer(0, 1, 5)),
        Op::invoke(1, "read", Value::Nil),
        // The read saw the transfer applied, the other saw it not yet.
        Op::ok(1, "read", balances(&[(0, 5), (1, 15), (2, 10)])),
        Op::invoke(2, "read", Value::Nil),
        Op::ok(2, "read", balances(&[(0, 10), (1, 10), (2, 10)])),
        Op::ok(0, "transfer", transfer(0, 1, 5)),
        Op::invoke(0, "transfer", transfer(2, 0, 20)),
        Op::info(0, "transfer", transfer(2, 0, 20)),
        Op::invoke(3, "transfer", transfer(1, 2, 100)),
        Op::fail(3, "transfer", transfer(1, 2, 100)),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", balances(&[(0, 25), (1, 15), (2, -10)])),
    ];
    let mut opts = bank_opts(3, 30);
    opts.negative_balances = true;
    let r = bank::check(&h(ops.clone()), &opts);
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    assert_eq!(r.read_count, 3);
    assert_eq!(
        (r.transfers_ok, r.transfers_failed, r.transfers_unknown),
        (1, 1, 1)
    );
    assert!(r.blamed.is_empty());

    // The same history without negative balances allowed: the last read.
    let r = bank::check(&h(ops), &bank_opts(3, 30));
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.blamed, vec![11]);
    let e = r.first_error.unwrap();
    assert_eq!(e.kind, bank::ErrorKind::NegativeBalance);
    assert_eq!(e.accounts, vec!["2=-10".to_string()]);
}

#[test]
fn bank_a_lost_debit_shows_as_a_wrong_total_with_the_reads_that_show_it() {
    // The transfer credited 1 but never debited 0: total 105.
    let ops = vec![
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", balances(&[(0, 50), (1, 50)])),
        Op::invoke(1, "transfer", transfer(0, 1, 5)),
        Op::ok(1, "transfer", transfer(0, 1, 5)),
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", balances(&[(0, 50), (1, 55)])),
        Op::invoke(1, "transfer", transfer(1, 0, 10)),
        Op::ok(1, "transfer", transfer(1, 0, 10)),
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", balances(&[(0, 50), (1, 45)])),
    ];
    let r = bank::check(&h(ops), &bank_opts(2, 100));
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.bad_read_count, 2);
    assert_eq!(r.blamed, vec![5, 9]);
    assert_eq!(r.error_counts[&bank::ErrorKind::WrongTotal], 2);
    let first = r.first_error.as_ref().unwrap();
    assert_eq!((first.index, first.total), (5, Some(105)));
    assert!(
        first.explanation.contains("sums to 105 instead of 100"),
        "{}",
        first.explanation
    );
    assert_eq!(r.lowest_total.unwrap().total, Some(95));
    assert_eq!(r.highest_total.unwrap().total, Some(105));
    assert!(r
        .summary
        .iter()
        .any(|l| l.contains("2 of 3 reads are wrong")));
}

#[test]
fn bank_unexpected_and_missing_accounts_are_named() {
    let ops = vec![
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", balances(&[(0, 50), (1, 40), (7, 10)])),
        Op::invoke(0, "read", Value::Nil),
        Op::ok(
            0,
            "read",
            Value::Map(vec![(0.into(), 100.into()), (1.into(), Value::Nil)]),
        ),
        Op::invoke(0, "read", Value::Nil),
        Op::ok(0, "read", "garbage"),
    ];
    let r = bank::check(&h(ops), &bank_opts(2, 100));
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.blamed, vec![1, 3, 5]);
    let kinds: Vec<_> = r.errors.iter().map(|e| (e.index, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (1, bank::ErrorKind::UnexpectedAccount),
            (3, bank::ErrorKind::MissingBalance),
            (5, bank::ErrorKind::Malformed),
        ]
    );
    assert_eq!(r.errors[0].accounts, vec!["7".to_string()]);
    assert_eq!(r.errors[1].accounts, vec!["1".to_string()]);
}

#[test]
fn bank_init_names_the_accounts_and_total_and_jepsen_edn_reads_match_json_names() {
    // A Jepsen-style EDN history: keyword map keys, integer account ids.
    let history = edn(r#"
{:type :invoke, :f :init, :value {0 60, 1 40}, :process 0, :index 0}
{:type :ok, :f :init, :value {0 60, 1 40}, :process 0, :index 1}
{:type :invoke, :f :transfer, :value {:from 0, :to 1, :amount 5}, :process 1, :index 2}
{:type :ok, :f :transfer, :value {:from 0, :to 1, :amount 5}, :process 1, :index 3}
{:type :invoke, :f :read, :value nil, :process 0, :index 4}
{:type :ok, :f :read, :value {0 55, 1 45}, :process 0, :index 5}
"#);
    let r = bank::check(&history, &bank::Options::default());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    assert_eq!(r.total, Some(100));
    assert_eq!(r.accounts, vec!["0", "1"]);
    assert_eq!(r.total_from, bank::Source::Init);
    // JSON account names ("0") are the same accounts as EDN's 0.
    let json = Value::Map(vec![("0".into(), 55.into()), ("1".into(), 45.into())]);
    let r = bank::check(
        &h(vec![
            Op::invoke(0, "read", Value::Nil),
            Op::ok(0, "read", json),
        ]),
        &bank_opts(2, 100),
    );
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
}

#[test]
fn bank_reads_of_no_account_before_the_init_are_not_checked_after_it_they_are() {
    let init = balances(&[(0, 50), (1, 50)]);
    let ops = vec![
        Op::invoke(0, "init", init.clone()),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", Value::Map(vec![])), // the accounts may not exist yet
        Op::ok(0, "init", init.clone()),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", init.clone()),
    ];
    let r = bank::check(&h(ops.clone()), &bank::Options::default());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    assert_eq!((r.read_count, r.reads_before_init), (1, 1));

    // After the init was acknowledged, a read of no account is wrong.
    let mut late = ops;
    late.extend([
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", Value::Map(vec![])),
    ]);
    let r = bank::check(&h(late), &bank::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.blamed, vec![7]);
    assert_eq!(r.first_error.unwrap().kind, bank::ErrorKind::MissingBalance);
}

#[test]
fn bank_without_a_read_is_unknown() {
    let r = bank::check(&h(vec![]), &bank_opts(2, 100));
    assert_eq!(r.valid, Validity::Unknown);
    let r = bank::check(
        &h(vec![
            Op::invoke(0, "transfer", transfer(0, 1, 5)),
            Op::ok(0, "transfer", transfer(0, 1, 5)),
            Op::invoke(0, "read", Value::Nil),
            Op::fail(0, "read", Value::Nil),
        ]),
        &bank_opts(2, 100),
    );
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("no successful read"));
}

// ---- counter ----------------------------------------------------------------

#[test]
fn counter_reads_within_their_bounds_are_valid() {
    let ops = vec![
        Op::invoke(0, "add", 1),
        Op::ok(0, "add", 1),
        Op::invoke(1, "add", 2),
        Op::invoke(2, "read", Value::Nil),
        // 1 certain, 2 possible: 1..=3.
        Op::ok(2, "read", 3),
        Op::info(1, "add", 2),
        Op::invoke(0, "add", 10),
        Op::fail(0, "add", 10),
        Op::invoke(2, "read", Value::Nil),
        // The info add may never happen: 1 is still fine.
        Op::ok(2, "read", 1),
        Op::invoke(3, "add", 4),
        Op::invoke(2, "read", Value::Nil),
        Op::ok(2, "read", 7),
    ];
    let r = counter::check(&h(ops), &counter::Options::default());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    assert_eq!(r.read_count, 3);
    assert_eq!((r.adds_ok, r.adds_failed, r.adds_unknown), (1, 1, 2));
    assert_eq!((r.final_lower, r.final_upper), (1, 7));
}

#[test]
fn counter_a_read_below_the_acknowledged_adds_is_the_first_bad_read() {
    let ops = vec![
        Op::invoke(0, "add", 5),
        Op::ok(0, "add", 5),
        Op::invoke(0, "add", 3),
        Op::ok(0, "add", 3),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 5), // lost the 3: below 8
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 8),
        Op::invoke(0, "add", 1),
        Op::fail(0, "add", 1),
        Op::invoke(1, "read", Value::Nil),
        Op::ok(1, "read", 9), // the failed add happened: above 8
    ];
    let r = counter::check(&h(ops), &counter::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.bad_read_count, 2);
    assert_eq!(r.blamed, vec![5, 11]);
    let first = r.first_bad_read.as_ref().unwrap();
    assert_eq!(
        (first.invoke_index, first.lower, first.value, first.upper),
        (4, 8, Some(5), 8)
    );
    assert!(
        first.explanation.contains("at least 8"),
        "{}",
        first.explanation
    );
    let second = &r.bad_reads[1];
    assert_eq!((second.lower, second.value, second.upper), (8, Some(9), 8));
    assert!(
        second.explanation.contains("at most 8"),
        "{}",
        second.explanation
    );
}

#[test]
fn counter_initial_value_and_nothing_read_is_unknown() {
    let ops = vec![Op::invoke(0, "read", Value::Nil), Op::ok(0, "read", 100)];
    let r = counter::check(&h(ops.clone()), &counter::Options { initial: 100 });
    assert_eq!(r.valid, Validity::Valid);
    let r = counter::check(&h(ops), &counter::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    let r = counter::check(&h(vec![]), &counter::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
    let only_adds = vec![Op::invoke(0, "add", 1), Op::ok(0, "add", 1)];
    let r = counter::check(&h(only_adds), &counter::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("no successful read"));
}

#[test]
fn counter_reads_jepsen_edn() {
    let history = edn(r#"
{:type :invoke, :f :add, :value 1, :process 0}
{:type :invoke, :f :read, :value nil, :process 1}
{:type :ok, :f :add, :value 1, :process 0}
{:type :ok, :f :read, :value 2, :process 1}
"#);
    let r = counter::check(&history, &counter::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    let b = r.first_bad_read.unwrap();
    assert_eq!((b.lower, b.value, b.upper), (0, Some(2), 1));
}

// ---- queue ------------------------------------------------------------------

#[test]
fn queue_everything_out_once_is_valid_and_unknown_enqueues_may_come_out() {
    let ops = vec![
        Op::invoke(0, "enqueue", 1),
        Op::ok(0, "enqueue", 1),
        Op::invoke(1, "enqueue", 2),
        Op::invoke(0, "dequeue", Value::Nil),
        Op::ok(0, "dequeue", 1),
        Op::info(1, "enqueue", 2),
        Op::invoke(0, "enqueue", 3),
        Op::fail(0, "enqueue", 3),
        Op::invoke(0, "enqueue", 4),
        Op::ok(0, "enqueue", 4),
        Op::invoke(0, "drain", Value::Nil),
        Op::ok(0, "drain", vec![2, 4]),
    ];
    let r = queue::check(&h(ops), &queue::Options::default());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    assert!(r.drained);
    assert_eq!(
        (
            r.attempt_count,
            r.acknowledged_count,
            r.failed_count,
            r.unknown_count
        ),
        (4, 2, 1, 1)
    );
    assert_eq!((r.dequeued_count, r.recovered_count), (3, 1));
}

#[test]
fn queue_lost_duplicated_and_unexpected_elements_are_named() {
    let ops = vec![
        Op::invoke(0, "enqueue", 1),
        Op::ok(0, "enqueue", 1),
        Op::invoke(0, "enqueue", 2),
        Op::ok(0, "enqueue", 2),
        Op::invoke(0, "enqueue", 3),
        Op::fail(0, "enqueue", 3),
        Op::invoke(1, "dequeue", Value::Nil),
        Op::ok(1, "dequeue", 2),
        Op::invoke(1, "dequeue", Value::Nil),
        Op::ok(1, "dequeue", 3), // its enqueue failed
        Op::invoke(0, "drain", Value::Nil),
        Op::ok(0, "drain", vec![2]), // 2 again; 1 never
    ];
    let r = queue::check(&h(ops.clone()), &queue::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.lost_count, 1);
    assert_eq!(r.lost[0].value, Value::Int(1));
    assert_eq!(r.lost[0].indices, vec![1]);
    assert_eq!(r.duplicated_count, 1);
    assert_eq!(r.duplicated[0].value, Value::Int(2));
    assert_eq!(r.duplicated[0].indices, vec![7, 11]);
    assert_eq!(r.unexpected_count, 1);
    assert_eq!(r.unexpected[0].indices, vec![9]);
    assert_eq!(r.blamed, vec![1, 7, 9, 11]);

    // At-least-once: the duplicate is allowed, the rest is not.
    let r = queue::check(
        &h(ops),
        &queue::Options {
            allow_duplicates: true,
        },
    );
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.blamed, vec![1, 9]);
}

#[test]
fn queue_a_loss_that_unknown_dequeues_or_a_missing_drain_explain_is_unknown() {
    let mut ops = vec![
        Op::invoke(0, "enqueue", 1),
        Op::ok(0, "enqueue", 1),
        Op::invoke(1, "dequeue", Value::Nil),
        Op::info(1, "dequeue", Value::Nil),
    ];
    let r = queue::check(&h(ops.clone()), &queue::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("not drained"));

    ops.extend([
        Op::invoke(0, "drain", Value::Nil),
        Op::ok(0, "drain", Vec::<i64>::new()),
    ]);
    let r = queue::check(&h(ops.clone()), &queue::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("dequeues of unknown outcome"));

    // Two lost, one unknown dequeue: at least one is certainly lost.
    ops.splice(0..0, [Op::invoke(3, "enqueue", 2), Op::ok(3, "enqueue", 2)]);
    let r = queue::check(&h(ops), &queue::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.lost_count, 2);

    // A dequeue that found the queue empty after the last enqueue drains it too.
    let ops = vec![
        Op::invoke(0, "enqueue", 1),
        Op::ok(0, "enqueue", 1),
        Op::invoke(0, "dequeue", Value::Nil),
        Op::fail(0, "dequeue", Value::Nil),
    ];
    let r = queue::check(&h(ops), &queue::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert!(r.drained);
}

#[test]
fn queue_a_value_out_before_its_enqueue_began_is_premature() {
    let ops = vec![
        Op::invoke(1, "dequeue", Value::Nil),
        Op::ok(1, "dequeue", 5),
        Op::invoke(0, "enqueue", 5),
        Op::ok(0, "enqueue", 5),
        Op::invoke(0, "drain", Value::Nil),
        Op::ok(0, "drain", Vec::<i64>::new()),
    ];
    let r = queue::check(&h(ops), &queue::Options::default());
    assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
    assert_eq!(r.premature_count, 1);
    assert_eq!(r.premature[0].indices, vec![1]);
    assert_eq!(r.blamed, vec![1]);
    assert!(r
        .summary
        .iter()
        .any(|l| l.contains("before any enqueue of them began")));
    // Concurrent with its enqueue, it may come out early.
    let ops = vec![
        Op::invoke(0, "enqueue", 5),
        Op::invoke(1, "dequeue", Value::Nil),
        Op::ok(1, "dequeue", 5),
        Op::ok(0, "enqueue", 5),
        Op::invoke(0, "drain", Value::Nil),
        Op::ok(0, "drain", Vec::<i64>::new()),
    ];
    let r = queue::check(&h(ops), &queue::Options::default());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
}

#[test]
fn queue_with_nothing_enqueued_is_unknown() {
    let r = queue::check(&h(vec![]), &queue::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
    let r = queue::check(
        &h(vec![
            Op::invoke(0, "enqueue", 1),
            Op::info(0, "enqueue", 1),
            Op::invoke(1, "drain", Value::Nil),
            Op::ok(1, "drain", Vec::<i64>::new()),
        ]),
        &queue::Options::default(),
    );
    assert_eq!(r.valid, Validity::Unknown, "{:?}", r.summary);
}

// ---- unique ids -------------------------------------------------------------

#[test]
fn unique_ids_duplicates_are_blamed_on_the_repeats() {
    let ops = vec![
        Op::invoke(0, "generate", Value::Nil),
        Op::ok(0, "generate", 7),
        Op::invoke(1, "generate", Value::Nil),
        Op::ok(1, "generate", 8),
        Op::invoke(0, "generate", Value::Nil),
        Op::info(0, "generate", Value::Nil),
        Op::invoke(2, "generate", Value::Nil),
        Op::ok(2, "generate", 7),
    ];
    let r = unique_ids::check(&h(ops[..4].to_vec()));
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.range, Some((Value::Int(7), Value::Int(8))));
    let r = unique_ids::check(&h(ops));
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!((r.attempted_count, r.acknowledged_count), (4, 3));
    assert_eq!(r.duplicated_count, 1);
    assert_eq!(r.duplicated[0].id, Value::Int(7));
    assert_eq!(r.duplicated[0].indices, vec![1, 7]);
    assert_eq!(r.blamed, vec![7]);
    let r = unique_ids::check(&h(vec![]));
    assert_eq!(r.valid, Validity::Unknown);
}

// ---- long fork --------------------------------------------------------------

fn w(k: i64) -> Value {
    Value::List(vec![Value::List(vec!["w".into(), k.into(), 1.into()])])
}

fn r(seen: &[(i64, Option<i64>)]) -> Value {
    Value::List(
        seen.iter()
            .map(|&(k, v)| Value::List(vec!["r".into(), k.into(), v.into()]))
            .collect(),
    )
}

fn read_op(p: u64, keys: &[(i64, Option<i64>)]) -> [Op; 2] {
    let blank: Vec<(i64, Option<i64>)> = keys.iter().map(|&(k, _)| (k, None)).collect();
    [Op::invoke(p, "txn", r(&blank)), Op::ok(p, "txn", r(keys))]
}

#[test]
fn long_fork_two_reads_that_order_two_writes_oppositely() {
    // Jepsen's example: T1 w x, T2 w y, T3 sees y not x, T4 sees x not y.
    let mut ops = vec![Op::invoke(0, "txn", w(0)), Op::invoke(1, "txn", w(1))];
    ops.extend(read_op(2, &[(0, None), (1, Some(1))]));
    ops.extend(read_op(3, &[(1, None), (0, Some(1))]));
    ops.push(Op::ok(0, "txn", w(0)));
    ops.push(Op::ok(1, "txn", w(1)));
    let r = long_fork::check(
        &h(ops),
        &long_fork::Options {
            group_size: Some(2),
        },
    );
    assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
    assert_eq!(r.fork_count, 1);
    let f = &r.forks[0];
    assert_eq!((f.a_index, f.b_index), (3, 5));
    assert_eq!(
        (f.only_a.clone(), f.only_b.clone()),
        (Value::Int(1), Value::Int(0))
    );
    assert!(
        f.explanation.contains("opposite orders"),
        "{}",
        f.explanation
    );
    assert_eq!(r.blamed, vec![3, 5]);
}

#[test]
fn long_fork_ordered_reads_are_valid_and_bad_inputs_are_not() {
    let mut ops = vec![Op::invoke(0, "txn", w(0)), Op::ok(0, "txn", w(0))];
    ops.extend(read_op(1, &[(0, None), (1, None)]));
    ops.extend(read_op(1, &[(0, Some(1)), (1, None)]));
    ops.push(Op::invoke(0, "txn", w(1)));
    ops.extend(read_op(2, &[(0, Some(1)), (1, Some(1))]));
    ops.push(Op::ok(0, "txn", w(1)));
    let r = long_fork::check(
        &h(ops.clone()),
        &long_fork::Options {
            group_size: Some(2),
        },
    );
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    assert_eq!((r.write_count, r.read_count, r.groups_compared), (2, 3, 1));

    // A read of a value never written.
    let mut bad = ops.clone();
    bad.extend(read_op(3, &[(0, Some(2)), (1, Some(1))]));
    let r = long_fork::check(&h(bad), &long_fork::Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.bad_values[0].index, 11);
    assert_eq!(r.bad_values[0].written, Some(Value::Int(1)));

    // A key written twice: the check does not apply.
    let mut twice = ops.clone();
    twice.extend([Op::invoke(4, "txn", w(0)), Op::ok(4, "txn", w(0))]);
    let r = long_fork::check(&h(twice), &long_fork::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
    assert_eq!(r.multiply_written, vec![Value::Int(0)]);

    // A group of the wrong size.
    let r = long_fork::check(
        &h(ops),
        &long_fork::Options {
            group_size: Some(3),
        },
    );
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("group of 3"));

    // Nothing read twice.
    let mut once = vec![Op::invoke(0, "txn", w(0)), Op::ok(0, "txn", w(0))];
    once.extend(read_op(1, &[(0, Some(1)), (1, None)]));
    let r = long_fork::check(&h(once), &long_fork::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
    let r = long_fork::check(&h(vec![]), &long_fork::Options::default());
    assert_eq!(r.valid, Validity::Unknown);
}

#[test]
fn long_fork_reads_jepsen_edn() {
    let history = edn(r#"
{:type :invoke, :f :txn, :value [[:w 0 1]], :process 0}
{:type :invoke, :f :txn, :value [[:w 1 1]], :process 1}
{:type :invoke, :f :txn, :value [[:r 0 nil] [:r 1 nil]], :process 2}
{:type :ok, :f :txn, :value [[:r 0 1] [:r 1 nil]], :process 2}
{:type :invoke, :f :txn, :value [[:r 1 nil] [:r 0 nil]], :process 3}
{:type :ok, :f :txn, :value [[:r 1 1] [:r 0 nil]], :process 3}
{:type :ok, :f :txn, :value [[:w 0 1]], :process 0}
{:type :ok, :f :txn, :value [[:w 1 1]], :process 1}
"#);
    let r = long_fork::check(
        &history,
        &long_fork::Options {
            group_size: Some(2),
        },
    );
    assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
    assert_eq!(r.fork_count, 1);
}
