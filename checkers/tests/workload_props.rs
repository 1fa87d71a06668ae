//! Property tests: histories from simulated stores, correct and buggy, for
//! the bank, counter, queue, unique-ids and long-fork checkers.
//!
//! The driver runs several clients against one store: an op is invoked,
//! takes effect at one instant, then completes. A client may crash (`info`)
//! instead: its op then takes effect at once, later, or never, and the
//! client continues as a fresh process. After the main phase every op in
//! flight completes, delayed crashed ops take effect or not, and the final
//! ops (a read, a drain) run alone.
//!
//! - Correct stores are always valid (a bank keeps its total, a counter's
//!   reads lie in their bounds, a queue gives back everything once, ids
//!   are unique, a snapshot store shows no long fork); a queue may be
//!   `unknown` only when a crashed dequeue may have taken an element.
//! - Buggy stores are caught whenever the bug must show: a bank that loses
//!   a transfer's debit, a counter that drops increments (more than the
//!   unknown adds can explain), a queue that redelivers an element already
//!   dequeued, an id generator that restarts its sequence; a store with
//!   asynchronous replication shows long forks in some runs.

use checkers::verdict::Validity;
use checkers::{bank, counter, long_fork, queue, unique_ids};
use history::{History, Op, OpType, Value};
use proptest::prelude::*;
use std::collections::{HashSet, VecDeque};

/// A deterministic source from the test's seed (SplitMix64, as before
/// the move to `rand`, so a failing seed still reproduces).
struct Rng(rand_xoshiro::SplitMix64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(rand_xoshiro::rand_core::SeedableRng::seed_from_u64(seed))
    }
    fn next(&mut self) -> u64 {
        rand_xoshiro::rand_core::Rng::next_u64(&mut self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A store under test: makes up the next op and applies ops.
trait Store {
    fn next_op(&mut self, rng: &mut Rng) -> (&'static str, Value);
    /// Takes effect now: `Ok(completion value)` or `Err` (certainly not done).
    fn apply(&mut self, f: &str, value: &Value, rng: &mut Rng) -> Result<Value, ()>;
}

#[derive(Clone, Debug)]
struct Params {
    clients: usize,
    ops: usize,
    crash: f64,
    seed: u64,
}

fn params(max_crash: f64) -> impl Strategy<Value = Params> {
    (1usize..6, 5usize..150, 0.0..=max_crash, any::<u64>()).prop_map(
        |(clients, ops, crash, seed)| Params {
            clients,
            ops,
            crash,
            seed,
        },
    )
}

struct InFlight {
    process: u64,
    f: &'static str,
    value: Value,
    applied: Option<Result<Value, ()>>,
}

/// Runs the store; returns the history.
fn simulate(store: &mut impl Store, p: &Params, finals: &[(&'static str, Value)]) -> History {
    let mut rng = Rng::new(p.seed);
    let mut ops = Vec::new();
    let mut clients: Vec<Option<InFlight>> = (0..p.clients).map(|_| None).collect();
    let mut processes: Vec<u64> = (0..p.clients as u64).collect();
    let mut next_process = p.clients as u64;
    // Crashed ops that will take effect later (or never).
    let mut later: Vec<(&'static str, Value)> = Vec::new();
    let mut issued = 0;
    while issued < p.ops || clients.iter().any(Option::is_some) {
        if !later.is_empty() && rng.chance(0.05) {
            let (f, v) = later.swap_remove(rng.below(later.len() as u64) as usize);
            let _ = store.apply(f, &v, &mut rng);
        }
        let c = rng.below(p.clients as u64) as usize;
        let main_phase = issued < p.ops;
        clients[c] = match clients[c].take() {
            None if main_phase => {
                let (f, value) = store.next_op(&mut rng);
                ops.push(Op::invoke(processes[c], f, value.clone()));
                issued += 1;
                Some(InFlight {
                    process: processes[c],
                    f,
                    value,
                    applied: None,
                })
            }
            None => None,
            Some(op) if op.applied.is_none() && main_phase && rng.chance(p.crash) => {
                ops.push(Op::info(op.process, op.f, op.value.clone()));
                match rng.below(3) {
                    0 => {
                        let _ = store.apply(op.f, &op.value, &mut rng);
                    }
                    1 => later.push((op.f, op.value)),
                    _ => {}
                }
                processes[c] = next_process;
                next_process += 1;
                None
            }
            Some(mut op) if op.applied.is_none() => {
                op.applied = Some(store.apply(op.f, &op.value, &mut rng));
                Some(op)
            }
            Some(op) => {
                ops.push(match op.applied.unwrap() {
                    Ok(v) => Op::ok(op.process, op.f, v),
                    Err(()) => Op::fail(op.process, op.f, op.value),
                });
                None
            }
        };
    }
    for (f, v) in later {
        if rng.chance(0.5) {
            let _ = store.apply(f, &v, &mut rng);
        }
    }
    for (f, value) in finals {
        ops.push(Op::invoke(processes[0], f, value.clone()));
        match store.apply(f, value, &mut rng) {
            Ok(v) => ops.push(Op::ok(processes[0], f, v)),
            Err(()) => ops.push(Op::fail(processes[0], f, value.clone())),
        }
    }
    History::indexed(ops).unwrap()
}

fn last_index(h: &History) -> u64 {
    h.ops().last().unwrap().index
}

// ---- bank -------------------------------------------------------------------

const ACCOUNTS: usize = 5;
const TOTAL: i64 = 50;

struct Bank {
    balances: Vec<i64>,
    lose_debit: f64,
    debits_lost: usize,
}

impl Bank {
    fn new(lose_debit: f64) -> Bank {
        Bank {
            balances: vec![TOTAL / ACCOUNTS as i64; ACCOUNTS],
            lose_debit,
            debits_lost: 0,
        }
    }
}

impl Store for Bank {
    fn next_op(&mut self, rng: &mut Rng) -> (&'static str, Value) {
        if rng.chance(0.3) {
            return ("read", Value::Nil);
        }
        let from = rng.below(ACCOUNTS as u64) as i64;
        let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS as i64;
        let t = Value::Map(vec![
            ("from".into(), from.into()),
            ("to".into(), to.into()),
            ("amount".into(), rng.between(1, 8).into()),
        ]);
        ("transfer", t)
    }

    fn apply(&mut self, f: &str, value: &Value, rng: &mut Rng) -> Result<Value, ()> {
        if f == "read" {
            return Ok(Value::Map(
                self.balances
                    .iter()
                    .enumerate()
                    .map(|(a, &b)| (Value::Int(a as i64), Value::Int(b)))
                    .collect(),
            ));
        }
        let get = |k| value.get(k).and_then(Value::as_int).unwrap();
        let (from, to, amount) = (get("from") as usize, get("to") as usize, get("amount"));
        if self.balances[from] < amount {
            return Err(()); // insufficient funds: refused
        }
        if rng.chance(self.lose_debit) {
            self.debits_lost += 1;
        } else {
            self.balances[from] -= amount;
        }
        self.balances[to] += amount;
        Ok(value.clone())
    }
}

fn bank_opts() -> bank::Options {
    bank::Options {
        accounts: Some((0..ACCOUNTS).map(|a| a.to_string()).collect()),
        total: Some(TOTAL),
        negative_balances: false,
    }
}

// ---- counter ----------------------------------------------------------------

struct Counter {
    value: i64,
    decrements: bool,
    drop: f64,
    dropped: i64,
}

impl Store for Counter {
    fn next_op(&mut self, rng: &mut Rng) -> (&'static str, Value) {
        if rng.chance(0.3) {
            ("read", Value::Nil)
        } else if self.decrements && rng.chance(0.3) {
            ("add", rng.between(-5, -1).into())
        } else {
            ("add", rng.between(1, 5).into())
        }
    }

    fn apply(&mut self, f: &str, value: &Value, rng: &mut Rng) -> Result<Value, ()> {
        if f == "read" {
            return Ok(self.value.into());
        }
        let d = value.as_int().unwrap();
        if rng.chance(0.1) {
            return Err(()); // refused
        }
        if rng.chance(self.drop) {
            self.dropped += d; // acknowledged, never applied
        } else {
            self.value += d;
        }
        Ok(value.clone())
    }
}

// ---- queue ------------------------------------------------------------------

struct Queue {
    items: VecDeque<i64>,
    next: i64,
    /// Chance that a dequeue's acknowledgement is lost and the element is
    /// delivered again later (at-least-once delivery).
    redeliver: f64,
    redelivered: usize,
}

impl Store for Queue {
    fn next_op(&mut self, rng: &mut Rng) -> (&'static str, Value) {
        if rng.chance(0.4) {
            ("dequeue", Value::Nil)
        } else {
            self.next += 1;
            ("enqueue", self.next.into())
        }
    }

    fn apply(&mut self, f: &str, value: &Value, rng: &mut Rng) -> Result<Value, ()> {
        match f {
            "enqueue" => {
                self.items.push_back(value.as_int().unwrap());
                Ok(value.clone())
            }
            "dequeue" => {
                let e = self.items.pop_front().ok_or(())?;
                if rng.chance(self.redeliver) {
                    self.redelivered += 1;
                    self.items.push_back(e);
                }
                Ok(e.into())
            }
            _ => Ok(self.items.drain(..).collect::<Vec<_>>().into()),
        }
    }
}

// ---- unique ids -------------------------------------------------------------

struct Ids {
    next: i64,
    restart: f64,
}

impl Store for Ids {
    fn next_op(&mut self, _rng: &mut Rng) -> (&'static str, Value) {
        ("generate", Value::Nil)
    }

    fn apply(&mut self, _f: &str, _value: &Value, rng: &mut Rng) -> Result<Value, ()> {
        if rng.chance(self.restart) {
            self.next = self.next.saturating_sub(3).max(0); // forgot its last ids
        }
        self.next += 1;
        Ok(self.next.into())
    }
}

// ---- long fork --------------------------------------------------------------

const GROUP: i64 = 2;

/// Writes each key once (key groups of two); reads read a random group
/// among the recent ones. `replicas > 1`: each write lands on one replica
/// and reaches the others later (a step at a time), reads go to any.
struct Forky {
    replicas: Vec<HashSet<i64>>,
    /// Writes not yet on every replica: (key, replicas missing it).
    spreading: Vec<(i64, Vec<usize>)>,
    next_key: i64,
}

impl Forky {
    fn new(replicas: usize) -> Forky {
        Forky {
            replicas: vec![HashSet::new(); replicas],
            spreading: Vec::new(),
            next_key: 0,
        }
    }
}

fn read_txn(group: i64, values: impl Fn(i64) -> Value) -> Value {
    Value::List(
        (group * GROUP..group * GROUP + GROUP)
            .map(|k| Value::List(vec!["r".into(), k.into(), values(k)]))
            .collect(),
    )
}

impl Store for Forky {
    fn next_op(&mut self, rng: &mut Rng) -> (&'static str, Value) {
        if self.next_key > 0 && rng.chance(0.6) {
            let newest = (self.next_key - 1) / GROUP;
            let group = (newest - rng.below(2) as i64).max(0);
            return ("txn", read_txn(group, |_| Value::Nil));
        }
        let k = self.next_key;
        self.next_key += 1;
        let w = Value::List(vec![Value::List(vec!["w".into(), k.into(), 1.into()])]);
        ("txn", w)
    }

    fn apply(&mut self, _f: &str, value: &Value, rng: &mut Rng) -> Result<Value, ()> {
        // Replication makes progress.
        for (k, missing) in &mut self.spreading {
            if !missing.is_empty() && rng.chance(0.5) {
                let r = missing.remove(rng.below(missing.len() as u64) as usize);
                self.replicas[r].insert(*k);
            }
        }
        self.spreading.retain(|(_, m)| !m.is_empty());
        let mops = value.as_list().unwrap();
        let first = mops[0].as_list().unwrap();
        let key = first[1].as_int().unwrap();
        let at = rng.below(self.replicas.len() as u64) as usize;
        if first[0].as_str() == Some("w") {
            self.replicas[at].insert(key);
            let others: Vec<usize> = (0..self.replicas.len()).filter(|&r| r != at).collect();
            if !others.is_empty() {
                self.spreading.push((key, others));
            }
            return Ok(value.clone());
        }
        let seen = &self.replicas[at];
        Ok(read_txn(key / GROUP, |k| {
            if seen.contains(&k) {
                Value::Int(1)
            } else {
                Value::Nil
            }
        }))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_correct_bank_keeps_its_total_under_concurrency_and_crashes(p in params(0.3)) {
        let h = simulate(&mut Bank::new(0.0), &p, &[("read", Value::Nil)]);
        let r = bank::check(&h, &bank_opts());
        prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        prop_assert!(r.read_count >= 1);
    }

    #[test]
    fn a_bank_that_loses_a_debit_is_caught(p in params(0.3)) {
        let mut store = Bank::new(0.2);
        let h = simulate(&mut store, &p, &[("read", Value::Nil)]);
        let r = bank::check(&h, &bank_opts());
        if store.debits_lost > 0 {
            // At least the final read shows the money created.
            prop_assert_eq!(r.valid, Validity::Invalid);
            prop_assert!(r.blamed.contains(&last_index(&h)), "{:?}", r.blamed);
            prop_assert!(r.error_counts.contains_key(&bank::ErrorKind::WrongTotal));
        } else {
            prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        }
    }

    #[test]
    fn a_correct_counter_is_valid_also_with_decrements(p in params(0.3), decrements in any::<bool>()) {
        let mut store = Counter { value: 0, decrements, drop: 0.0, dropped: 0 };
        let h = simulate(&mut store, &p, &[("read", Value::Nil)]);
        let r = counter::check(&h, &counter::Options::default());
        prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    }

    #[test]
    fn a_counter_that_drops_increments_is_caught(p in params(0.3)) {
        let mut store = Counter { value: 0, decrements: false, drop: 0.15, dropped: 0 };
        let h = simulate(&mut store, &p, &[("read", Value::Nil)]);
        let r = counter::check(&h, &counter::Options::default());
        // Adds of unknown outcome may explain up to their sum.
        let ops = h.ops();
        let unknown: i64 = h
            .calls()
            .filter(|c| ops[c.invoke].f == "add")
            .filter(|c| c.completion.is_none_or(|d| ops[d].kind == OpType::Info))
            .map(|c| ops[c.invoke].value.as_int().unwrap())
            .sum();
        if store.dropped > unknown {
            prop_assert_eq!(r.valid, Validity::Invalid, "dropped {} unknown {}", store.dropped, unknown);
            prop_assert!(r.blamed.contains(&last_index(&h)));
        } else if store.dropped == 0 {
            prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        } else {
            prop_assert_ne!(r.valid, Validity::Unknown);
        }
    }

    #[test]
    fn a_correct_queue_gives_everything_back_once(p in params(0.3)) {
        let mut store = Queue { items: VecDeque::new(), next: 0, redeliver: 0.0, redelivered: 0 };
        let h = simulate(&mut store, &p, &[("drain", Value::Nil)]);
        let r = queue::check(&h, &queue::Options::default());
        prop_assert_ne!(r.valid, Validity::Invalid, "{:?}", r.summary);
        if r.dequeues_unknown == 0 {
            // Unknown only when nothing at all was acknowledged.
            prop_assert!(r.valid == Validity::Valid || r.acknowledged_count == 0, "{:?}", r.summary);
        }
        prop_assert_eq!(r.duplicated_count + r.unexpected_count, 0);
    }

    #[test]
    fn a_queue_that_redelivers_is_caught(p in params(0.3)) {
        let mut store = Queue { items: VecDeque::new(), next: 0, redeliver: 0.2, redelivered: 0 };
        let h = simulate(&mut store, &p, &[("drain", Value::Nil)]);
        let r = queue::check(&h, &queue::Options::default());
        // Everything redelivered comes out again, at the latest in the
        // final drain; a crashed dequeue may hide one of the two copies.
        let crashed_dequeues = r.dequeues_unknown;
        if store.redelivered > crashed_dequeues {
            prop_assert_eq!(r.valid, Validity::Invalid, "{:?}", r.summary);
            prop_assert!(r.duplicated_count >= store.redelivered - crashed_dequeues);
            let at_least_once = queue::check(&h, &queue::Options { allow_duplicates: true });
            prop_assert_ne!(at_least_once.valid, Validity::Invalid, "{:?}", at_least_once.summary);
        }
    }

    #[test]
    fn unique_ids_are_checked_exactly(p in params(0.3), restart in prop_oneof![Just(0.0), Just(0.1)]) {
        let h = simulate(&mut Ids { next: 0, restart }, &p, &[]);
        let r = unique_ids::check(&h);
        let ops = h.ops();
        let ids: Vec<&Value> = ops.iter().filter(|o| o.kind == OpType::Ok).map(|o| &o.value).collect();
        let distinct: HashSet<&Value> = ids.iter().copied().collect();
        let expected = if ids.is_empty() {
            Validity::Unknown
        } else if distinct.len() < ids.len() {
            Validity::Invalid
        } else {
            Validity::Valid
        };
        prop_assert_eq!(r.valid, expected);
        prop_assert_eq!(r.acknowledged_count, ids.len());
        if restart == 0.0 {
            prop_assert_ne!(r.valid, Validity::Invalid);
        }
    }

    #[test]
    fn a_snapshot_store_shows_no_long_fork(p in params(0.3)) {
        let h = simulate(&mut Forky::new(1), &p, &[]);
        let r = long_fork::check(&h, &long_fork::Options { group_size: Some(GROUP as usize) });
        prop_assert_ne!(r.valid, Validity::Invalid, "{:?}", r.summary);
        if r.groups_compared > 0 {
            prop_assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
        }
    }
}

/// Asynchronous replication (parallel snapshot isolation at best) shows
/// long forks in some runs, and every fork reported is real: the two reads
/// each saw a key the other did not.
#[test]
fn an_asynchronously_replicated_store_shows_long_forks() {
    let mut caught = 0;
    for seed in 0..200 {
        let p = Params {
            clients: 4,
            ops: 120,
            crash: 0.05,
            seed,
        };
        let h = simulate(&mut Forky::new(3), &p, &[]);
        let r = long_fork::check(
            &h,
            &long_fork::Options {
                group_size: Some(2),
            },
        );
        if r.valid == Validity::Invalid {
            caught += 1;
            let ops = h.ops();
            let by_index = |i: u64| ops.iter().find(|o| o.index == i).unwrap();
            for f in &r.forks {
                let saw = |i: u64, k: &Value| {
                    by_index(i).value.as_list().unwrap().iter().any(|m| {
                        let m = m.as_list().unwrap();
                        &m[1] == k && !m[2].is_nil()
                    })
                };
                assert!(saw(f.a_index, &f.only_a) && !saw(f.b_index, &f.only_a));
                assert!(saw(f.b_index, &f.only_b) && !saw(f.a_index, &f.only_b));
            }
        }
    }
    assert!(caught >= 10, "only {caught} of 200 runs showed a long fork");
}

/// The buggy-store properties above are not vacuous: over fixed seeds the
/// bugs show, and the checkers then say invalid.
#[test]
fn the_buggy_stores_are_caught_in_most_runs() {
    let (mut bank_caught, mut counter_caught, mut queue_caught, mut ids_caught) = (0, 0, 0, 0);
    for seed in 0..100 {
        let p = Params {
            clients: 3,
            ops: 60,
            crash: 0.1,
            seed,
        };
        let h = simulate(&mut Bank::new(0.2), &p, &[("read", Value::Nil)]);
        bank_caught += (bank::check(&h, &bank_opts()).valid == Validity::Invalid) as usize;
        let mut c = Counter {
            value: 0,
            decrements: false,
            drop: 0.15,
            dropped: 0,
        };
        let h = simulate(&mut c, &p, &[("read", Value::Nil)]);
        counter_caught +=
            (counter::check(&h, &counter::Options::default()).valid == Validity::Invalid) as usize;
        let mut q = Queue {
            items: VecDeque::new(),
            next: 0,
            redeliver: 0.2,
            redelivered: 0,
        };
        let h = simulate(&mut q, &p, &[("drain", Value::Nil)]);
        queue_caught +=
            (queue::check(&h, &queue::Options::default()).valid == Validity::Invalid) as usize;
        let h = simulate(
            &mut Ids {
                next: 0,
                restart: 0.1,
            },
            &p,
            &[],
        );
        ids_caught += (unique_ids::check(&h).valid == Validity::Invalid) as usize;
    }
    let caught = [bank_caught, counter_caught, queue_caught, ids_caught];
    eprintln!("caught in 100 runs (bank, counter, queue, ids): {caught:?}");
    assert!(
        caught.iter().all(|&n| n >= 80),
        "caught in 100 runs: {caught:?}"
    );
}
