//! Throughput and memory of the run loop itself (generator + workers +
//! recorder writing history.jsonl), with an in-memory client that answers
//! at once, so the harness is the bottleneck.
//!
//! `cargo bench -p harness --bench run` (BENCH_SECS=N sets the length of
//! each run, 5 s by default; BENCH_CONCURRENCY the worker count, 10).

use harness::run::memory::MemoryStore;
use harness::run::{self, GenCtx, NoNemesis, OpRequest, Progress, RecorderConfig, Rng, RunConfig};
use history::Value;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Counts live heap bytes, to state the memory each recorded op costs.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Register ops on 100 keys: 50% reads, 30% writes, 20% cas, values 0..5.
fn register_op(_: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
    let key = rng.below(100) as i64;
    let op = match rng.weighted(&[5, 3, 2]) {
        0 => OpRequest::new("read", Value::Nil),
        1 => OpRequest::new("write", rng.below(5) as i64),
        _ => OpRequest::new("cas", vec![rng.below(5) as i64, rng.below(5) as i64]),
    };
    Some(op.with_key(key))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("run loop, in-memory register client, {concurrency} workers, {cores} cores, {secs} s per run");
    println!(
        "  size_of::<Op>() = {} B (plus its heap: the f string, values); the History's Vec grows by doubling",
        std::mem::size_of::<history::Op>()
    );
    for keep in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let cfg = RunConfig {
            nodes: (1..=5).map(|i| format!("n{i}")).collect(),
            concurrency,
            time_limit: Duration::from_secs(secs),
            recovery_time: Duration::ZERO,
            progress: Progress::Off,
            recorder: RecorderConfig {
                path: Some(path.clone()),
                keep_in_memory: keep,
                ..RecorderConfig::default()
            },
            ..RunConfig::default()
        };
        let before = LIVE.load(Ordering::Relaxed);
        let store = Arc::new(MemoryStore::new());
        let outcome = rt
            .block_on(run::run(cfg, store, run::from_fn(register_op), NoNemesis))
            .unwrap();
        assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
        let live = LIVE.load(Ordering::Relaxed) - before;
        let ops = outcome.counts.completed();
        let entries = outcome.history.len() as u64;
        let file = std::fs::metadata(&path).unwrap().len();
        let rate = ops as f64 / outcome.main_elapsed.as_secs_f64();
        println!(
            "  keep_in_memory={keep:<5}  {rate:>9.0} ops/s  ({:.0} history entries/s)  {ops} ops, {entries} entries, file {:.1} B/entry",
            rate * entries as f64 / ops as f64,
            file as f64 / entries as f64,
        );
        println!(
            "    memory held by the returned History: {:.0} B/entry, {:.0} B/op (invoke + completion)",
            live as f64 / entries as f64,
            live as f64 / ops as f64
        );
    }
}
