//! The online checkers on a long register run: an hour of the register
//! workload at 1,000 ops/s (3.6 million calls, 7.2 million history ops),
//! simulated: 10 clients over 10 live keys, each key retired after 200
//! calls (the workload's defaults), a correct register (every call takes
//! effect at its completion), the searches ticked every 500 simulated ms.
//! Ops are generated on the fly, so the memory measured is the checker's.
//!
//! `cargo bench -p checkers --bench online` (ONLINE_BENCH_CALLS=N
//! changes the length; 3,600,000 by default).
//!
//! Prints the peak heap held while checking (a counting allocator) and
//! the keys held at the end; divan times the whole pass.

use checkers::linearizable::{ModelKind, Options};
use checkers::online::{linearizable::PerKey, Online, Ticks};
use history::{Op, OpType, Process, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.store(now, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const CLIENTS: usize = 10;
const KEYS: usize = 10;
const OPS_PER_KEY: u64 = 200;

fn calls() -> u64 {
    std::env::var("ONLINE_BENCH_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_600_000)
}

/// xorshift: reproducible, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Feeds `calls` register calls of a correct register through `online`.
fn simulate(online: &mut Online, calls: u64) -> (usize, isize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut live: Vec<(i64, u64)> = (0..KEYS as i64).map(|k| (k, 0)).collect();
    let mut next_key = KEYS as i64;
    let mut values: std::collections::HashMap<i64, i64> = Default::default();
    // Per client: its open call (key, f, value).
    let mut open: Vec<Option<(i64, &'static str, Value)>> = vec![None; CLIENTS];
    let (mut index, mut started, mut anomalies) = (0u64, 0u64, 0usize);
    let mut peak_held = 0isize;
    let base = LIVE.load(Ordering::Relaxed);
    // 1,000 calls/s: 2,000 history ops/s, 500 µs apart.
    let push = |online: &mut Online, mut op: Op, index: &mut u64| {
        op.index = *index;
        op.time = Some(*index * 500_000);
        *index += 1;
        online.push(&op)
    };
    while started < calls || open.iter().any(Option::is_some) {
        let p = rng.below(CLIENTS as u64) as usize;
        match open[p].take() {
            None if started < calls => {
                let slot = rng.below(KEYS as u64) as usize;
                let key = live[slot].0;
                live[slot].1 += 1;
                if live[slot].1 >= OPS_PER_KEY {
                    live[slot] = (next_key, 0);
                    next_key += 1;
                }
                let (f, v) = match rng.below(4) {
                    0 | 1 => ("read", Value::Nil),
                    2 => ("write", Value::Int(rng.below(5) as i64)),
                    _ => (
                        "cas",
                        Value::from(vec![rng.below(5) as i64, rng.below(5) as i64]),
                    ),
                };
                let op =
                    Op::new(OpType::Invoke, Process::Client(p as u64), f, v.clone()).with_key(key);
                anomalies += push(online, op, &mut index);
                open[p] = Some((key, f, v));
                started += 1;
            }
            None => {}
            Some((key, f, v)) => {
                let cur = values.get(&key).copied();
                let (kind, out) = match f {
                    "read" => (OpType::Ok, cur.map_or(Value::Nil, Value::Int)),
                    "write" => {
                        values.insert(key, v.as_int().unwrap());
                        (OpType::Ok, v)
                    }
                    _ => {
                        let l = v.as_list().unwrap();
                        if cur == l[0].as_int() {
                            values.insert(key, l[1].as_int().unwrap());
                            (OpType::Ok, v)
                        } else {
                            (OpType::Fail, v)
                        }
                    }
                };
                let op = Op::new(kind, Process::Client(p as u64), f, out).with_key(key);
                anomalies += push(online, op, &mut index);
                if index % 100_000 == 0 {
                    peak_held = peak_held.max(LIVE.load(Ordering::Relaxed) - base);
                }
            }
        }
    }
    anomalies += online.finish();
    (anomalies, peak_held)
}

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn register_hour_1000_ops_per_s() {
    let calls = calls();
    let opts = Options::new(ModelKind::CasRegister);
    let mut online = Online::new(
        vec![Box::new(
            PerKey::new(opts, Duration::from_secs(2)).retire_after(OPS_PER_KEY),
        )],
        // 500 simulated ms: 1,000 history ops.
        Ticks::Ops(1_000),
    );
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    let before = LIVE.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    let (anomalies, sampled) = simulate(&mut online, calls);
    let took = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(anomalies, 0, "a correct register has no anomaly");
    eprintln!(
        "\n{calls} calls ({} history ops) in {:.1} s: {:.0} history ops/s checked online; \
         peak heap {:.1} MB (sampled every 100k ops: {:.1} MB), held at the end {} B by the checker",
        online.ops(),
        took.as_secs_f64(),
        online.ops() as f64 / took.as_secs_f64(),
        peak as f64 / 1e6,
        sampled as f64 / 1e6,
        online.retained_bytes(),
    );
}
