//! The whole transactional check of a history file, reading included, as
//! `shakedown check --workload list-append FILE` does it: the file is
//! parsed (in parallel) straight into compact txns, checked, and the ops
//! the evidence shows are read back. The file is generated (by
//! `examples/gen_txn_history.rs`) into the temp directory before timing
//! and removed afterwards.
//!
//! ```text
//! cargo bench -p checkers --bench txn_file -- list_append_file
//! ```
//! divan's allocation counts cover only the bench thread (the parsing
//! threads allocate the ops), so measure peak memory with
//! `/usr/bin/time -v target/release/deps/txn_file-<hash> --bench NAME`.

#[path = "../examples/gen_txn_history.rs"]
#[allow(dead_code)]
mod gen;

use checkers::txn::{check_txns, Builder, Options, TxnResult, Workload};
use history::stream::TxnItem;
use std::io::BufWriter;
use std::ops::ControlFlow;
use std::path::Path;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

fn check_file(path: &Path, opts: &Options) -> TxnResult {
    let started = std::time::Instant::now();
    let mut b = Builder::new(opts.workload == Workload::ListAppend);
    let format = history::stream::for_each_txn_line(path, None, b.lists(), |item| {
        match item {
            TxnItem::Fast(line, raw) => b.push_line(line, raw)?,
            TxnItem::Op(op) => b.push_owned(*op)?,
        }
        Ok(ControlFlow::Continue(()))
    })
    .expect("read the history");
    let read_ms = started.elapsed().as_millis() as u64;
    let mut r = check_txns(b.finish(), opts, |positions| {
        history::stream::ops_at(path, format, positions).expect("read back")
    });
    r.phase_ms.insert("read", read_ms);
    r
}

fn bench_file(bencher: divan::Bencher, n: usize, stale: u64) {
    let path = std::env::temp_dir().join(format!("shakedown-bench-txn-{n}-{stale}.jsonl"));
    let file = std::fs::File::create(&path).expect("create the history file");
    gen::write_history(n, stale, 42, false, BufWriter::with_capacity(1 << 20, file))
        .expect("write the history file");
    let opts = Options {
        workload: Workload::ListAppend,
        ..Options::default()
    };
    bencher.bench_local(|| {
        let r = check_file(&path, &opts);
        eprintln!(
            "{n} txns, stale {stale}: {:?} {} ms {:?} {:?}",
            r.valid, r.elapsed_ms, r.phase_ms, r.graph
        );
        assert_eq!(r.txn_count, n);
        r
    });
    let _ = std::fs::remove_file(&path);
}

/// A valid (strict serializable) history.
#[divan::bench(args = [1_000_000, 10_000_000], sample_count = 1, sample_size = 1)]
fn list_append_file(bencher: divan::Bencher, n: usize) {
    bench_file(bencher, n, 0);
}

/// An invalid one: reads lag up to two appends behind.
#[divan::bench(args = [1_000_000], sample_count = 1, sample_size = 1)]
fn list_append_file_stale_reads(bencher: divan::Bencher, n: usize) {
    bench_file(bencher, n, 3);
}
