//! Transactional checker benchmark: list-append histories from a simulated
//! strict-serializable store, 1-5 micro-ops per txn, 50 concurrent clients,
//! 1,000 active keys (Elle-style key rotation: a key retires after 32
//! appends and a fresh key takes its place, so reads stay short, as in
//! Jepsen's append workload), every op completing ok.
//!
//! The history is generated outside the timed section; the timed section is
//! `checkers::txn::check`. Run the 1M case alone (and measure its memory):
//!
//! ```text
//! cargo bench -p checkers --bench txn -- list_append
//! /usr/bin/time -v target/release/deps/txn-<hash> --bench list_append 1000000
//! ```

use checkers::txn::{check, Options, Workload};
use history::{History, Op, Value};

/// Counts allocations in the timed section: divan reports the peak of live
/// bytes the checker allocated (`max alloc`) besides the history itself.
#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CLIENTS: usize = 50;
const ACTIVE_KEYS: u64 = 1_000;
const WRITES_PER_KEY: usize = 32;

/// A list-append history of `n` txns (2n ops): valid (strict
/// serializable) when `stale` is 0, else reads may lag behind.
pub fn generate(n: usize, seed: u64, stale: u64) -> History {
    generate_with(n, seed, stale, false)
}

/// Like [`generate`]; `registers`: write/read single values (rw-register)
/// instead of append/read lists.
pub fn generate_with(n: usize, seed: u64, stale: u64, registers: bool) -> History {
    let mut rng = Rng(seed);
    // Every key's list, by key id; `active` holds the keys txns pick from.
    let mut lists: Vec<Vec<i64>> = vec![Vec::new(); ACTIVE_KEYS as usize];
    let mut active: Vec<usize> = (0..ACTIVE_KEYS as usize).collect();
    let mut running: Vec<Option<Vec<(bool, usize, i64)>>> = vec![None; CLIENTS];
    let mut ops: Vec<Op> = Vec::with_capacity(2 * n);
    let append = Value::Str(if registers { "w" } else { "append" }.into());
    let read = Value::Str("r".into());
    let (mut started, mut done, mut next_val) = (0, 0, 1i64);
    while done < n {
        let c = rng.below(CLIENTS as u64) as usize;
        match running[c].take() {
            None if started < n => {
                started += 1;
                let len = 1 + rng.below(5) as usize;
                let mut plan = Vec::with_capacity(len);
                for _ in 0..len {
                    let slot = rng.below(ACTIVE_KEYS) as usize;
                    if lists[active[slot]].len() >= WRITES_PER_KEY {
                        active[slot] = lists.len();
                        lists.push(Vec::new());
                    }
                    let is_append = rng.below(2) == 0;
                    plan.push((is_append, active[slot], next_val));
                    next_val += is_append as i64;
                }
                let mops = plan
                    .iter()
                    .map(|&(is_append, k, v)| {
                        let (f, v) = if is_append {
                            (append.clone(), Value::Int(v))
                        } else {
                            (read.clone(), Value::Nil)
                        };
                        Value::List(vec![f, Value::Int(k as i64), v])
                    })
                    .collect();
                ops.push(Op::invoke(c as u64, "txn", Value::List(mops)));
                running[c] = Some(plan);
            }
            None => {}
            Some(plan) => {
                // Apply atomically now, at completion: strict serializable.
                let mut out = Vec::with_capacity(plan.len());
                for (is_append, k, v) in plan {
                    let key = Value::Int(k as i64);
                    if is_append {
                        lists[k].push(v);
                        out.push(Value::List(vec![append.clone(), key, Value::Int(v)]));
                    } else {
                        // Stale reads miss up to `stale - 1` of the latest appends.
                        let lag = if stale > 0 {
                            rng.below(stale) as usize
                        } else {
                            0
                        };
                        let len = lists[k].len().saturating_sub(lag);
                        let seen = if registers {
                            lists[k][..len]
                                .last()
                                .map_or(Value::Nil, |&x| Value::Int(x))
                        } else {
                            Value::List(lists[k][..len].iter().map(|&x| Value::Int(x)).collect())
                        };
                        out.push(Value::List(vec![read.clone(), key, seen]));
                    }
                }
                ops.push(Op::ok(c as u64, "txn", Value::List(out)));
                done += 1;
            }
        }
    }
    History::indexed(ops).unwrap()
}

#[divan::bench(args = [10_000, 100_000, 1_000_000], sample_count = 1, sample_size = 1)]
fn list_append(bencher: divan::Bencher, n: usize) {
    let h = generate(n, 42, 0);
    let opts = Options {
        workload: Workload::ListAppend,
        ..Options::default()
    };
    let r = check(&h, &opts);
    eprintln!(
        "valid, {n} txns: {} ms {:?}, graph {:?}",
        r.elapsed_ms, r.phase_ms, r.graph
    );
    drop(r);
    bencher.bench_local(|| {
        let r = check(&h, &opts);
        assert_eq!(r.txn_count, n);
        assert!(r.anomaly_types.is_empty(), "{:?}", r.anomaly_types);
        r
    });
}

/// An invalid history: reads lag up to two appends behind, so the graph has
/// cycles everywhere (G-single, G2-item and their real-time variants) and
/// the cycle searches and explanations do real work.
#[divan::bench(args = [100_000, 1_000_000], sample_count = 1, sample_size = 1)]
fn list_append_stale_reads(bencher: divan::Bencher, n: usize) {
    let h = generate(n, 7, 3);
    let opts = Options {
        workload: Workload::ListAppend,
        ..Options::default()
    };
    let r = check(&h, &opts);
    eprintln!(
        "stale reads, {n} txns: {} ms {:?}, {:?}, graph {:?}, incomplete searches: {:?}",
        r.elapsed_ms, r.phase_ms, r.anomaly_counts, r.graph, r.incomplete_searches
    );
    drop(r);
    bencher.bench_local(|| {
        let r = check(&h, &opts);
        assert_eq!(r.valid, checkers::verdict::Validity::Invalid);
        r
    });
}

/// rw-register: the same store and shape, single-value reads; checked with
/// no version-order assumptions and with linearizable keys.
#[divan::bench(args = [100_000, 1_000_000], sample_count = 1, sample_size = 1)]
fn rw_register(bencher: divan::Bencher, n: usize) {
    let h = generate_with(n, 42, 0, true);
    let opts = Options {
        workload: Workload::RwRegister,
        rw_assume: checkers::txn::RwAssume {
            linearizable_keys: true,
            sequential_keys: false,
        },
        ..Options::default()
    };
    let r = check(&h, &opts);
    eprintln!(
        "rw-register (linearizable keys), {n} txns: {} ms {:?}, graph {:?}",
        r.elapsed_ms, r.phase_ms, r.graph
    );
    drop(r);
    bencher.bench_local(|| {
        let r = check(&h, &opts);
        assert!(r.anomaly_types.is_empty(), "{:?}", r.anomaly_types);
        r
    });
}
