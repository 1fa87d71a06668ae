//! Bank, counter, queue, unique-ids and long-fork checker benchmarks:
//! `cargo bench -p checkers --bench workloads`.
//!
//! Each checks a generated, valid 1,000,000-op history (500,000 calls by
//! 10 clients whose calls overlap in rounds: all invoke, then all
//! complete); building the history is not timed.

use checkers::verdict::Validity;
use checkers::{bank, counter, long_fork, queue, unique_ids};
use history::{History, Op, Value};

fn main() {
    divan::main();
}

const CLIENTS: u64 = 10;
const CALLS: u64 = 500_000;

/// Rounds of `CLIENTS` overlapping calls: `call(i)` gives call i's
/// (f, invocation value, completion value), applied in order.
fn rounds(mut call: impl FnMut(u64) -> (&'static str, Value, Value)) -> History {
    let mut ops = Vec::with_capacity(2 * CALLS as usize);
    let mut done = Vec::with_capacity(CLIENTS as usize);
    for round in 0..CALLS / CLIENTS {
        for p in 0..CLIENTS {
            let (f, inv, ok) = call(round * CLIENTS + p);
            ops.push(Op::invoke(p, f, inv));
            done.push(Op::ok(p, f, ok));
        }
        ops.append(&mut done);
    }
    History::indexed(ops).unwrap()
}

fn bank_history() -> History {
    let mut balances = [100i64; 8];
    rounds(|i| {
        if i % 2 == 0 {
            let map = balances
                .iter()
                .enumerate()
                .map(|(a, &b)| (Value::Int(a as i64), Value::Int(b)))
                .collect();
            return ("read", Value::Nil, Value::Map(map));
        }
        let (from, to) = ((i % 8) as usize, ((i / 8 + 1 + i) % 8) as usize);
        let amount = if from != to && balances[from] > 0 {
            1
        } else {
            0
        };
        balances[from] -= amount;
        balances[to] += amount;
        let t = Value::Map(vec![
            ("from".into(), (from as i64).into()),
            ("to".into(), (to as i64).into()),
            ("amount".into(), amount.into()),
        ]);
        ("transfer", t.clone(), t)
    })
}

#[divan::bench(sample_count = 5)]
fn bank_1m_ops(bencher: divan::Bencher) {
    let h = bank_history();
    let opts = bank::Options {
        accounts: Some((0..8).map(|a| a.to_string()).collect()),
        total: Some(800),
        negative_balances: false,
    };
    bencher.bench(|| {
        let r = bank::check(&h, &opts);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    });
}

#[divan::bench(sample_count = 5)]
fn counter_1m_ops(bencher: divan::Bencher) {
    let mut value = 0;
    let h = rounds(|i| {
        if i % 2 == 0 {
            ("read", Value::Nil, value.into())
        } else {
            value += 3;
            ("add", 3.into(), 3.into())
        }
    });
    bencher.bench(|| {
        let r = counter::check(&h, &counter::Options::default());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    });
}

#[divan::bench(sample_count = 5)]
fn queue_1m_ops(bencher: divan::Bencher) {
    let mut q = std::collections::VecDeque::new();
    let mut next = 0;
    let mut h = rounds(|i| {
        if i % 3 == 2 {
            if let Some(e) = q.pop_front() {
                return ("dequeue", Value::Nil, Value::Int(e));
            }
        }
        next += 1;
        q.push_back(next);
        ("enqueue", next.into(), next.into())
    })
    .into_ops();
    let rest: Vec<i64> = q.drain(..).collect();
    let n = h.len() as u64;
    h.push(Op::invoke(0, "drain", Value::Nil).with_index(n));
    h.push(Op::ok(0, "drain", rest).with_index(n + 1));
    let h = History::new(h).unwrap();
    bencher.bench(|| {
        let r = queue::check(&h, &queue::Options::default());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    });
}

#[divan::bench(sample_count = 5)]
fn unique_ids_1m_ops(bencher: divan::Bencher) {
    let h = rounds(|i| ("generate", Value::Nil, (i as i64).into()));
    bencher.bench(|| {
        let r = unique_ids::check(&h);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    });
}

#[divan::bench(sample_count = 5)]
fn long_fork_1m_ops(bencher: divan::Bencher) {
    // Write key k, then read its group (k, k^1) twice.
    let mut written = std::collections::HashSet::new();
    let h = rounds(|i| {
        let k = (i / 3) as i64;
        let txn = |mops: Vec<(&str, i64, Value)>| {
            Value::List(
                mops.into_iter()
                    .map(|(f, k, v)| Value::List(vec![f.into(), k.into(), v]))
                    .collect(),
            )
        };
        if i % 3 == 0 {
            written.insert(k);
            let w = txn(vec![("w", k, 1.into())]);
            return ("txn", w.clone(), w);
        }
        let g = k - k % 2;
        let seen = |k: i64| {
            if written.contains(&k) {
                Value::Int(1)
            } else {
                Value::Nil
            }
        };
        (
            "txn",
            txn(vec![("r", g, Value::Nil), ("r", g + 1, Value::Nil)]),
            txn(vec![("r", g, seen(g)), ("r", g + 1, seen(g + 1))]),
        )
    });
    let opts = long_fork::Options {
        group_size: Some(2),
    };
    bencher.bench(|| {
        let r = long_fork::check(&h, &opts);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.summary);
    });
}
