//! Transactional checker benchmark: list-append histories from the
//! simulated strict-serializable store of `checkers::txn::generate` (1-5
//! micro-ops per txn, 50 concurrent clients, 1,000 active keys rotating
//! as in Jepsen's append workload), every op completing ok.
//!
//! The history is generated outside the timed section; the timed section is
//! `checkers::txn::check`. Run the 1M case alone (and measure its memory):
//!
//! ```text
//! cargo bench -p checkers --bench txn -- list_append
//! /usr/bin/time -v target/release/deps/txn-<hash> --bench list_append 1000000
//! ```

use checkers::txn::generate::TxnGen;
use checkers::txn::{check, Options, Workload};
use history::History;

/// Counts allocations in the timed section: divan reports the peak of live
/// bytes the checker allocated (`max alloc`) besides the history itself.
#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// A list-append history of `n` txns (2n ops): valid (strict
/// serializable) when `stale` is 0, else reads may lag behind.
fn generate(n: usize, seed: u64, stale: u64) -> History {
    generate_with(n, seed, stale, false)
}

/// Like [`generate`]; `registers`: write/read single values (rw-register)
/// instead of append/read lists.
fn generate_with(n: usize, seed: u64, stale: u64, registers: bool) -> History {
    TxnGen {
        txns: n,
        stale,
        seed,
        registers,
    }
    .history()
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
