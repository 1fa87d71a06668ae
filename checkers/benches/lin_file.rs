//! The whole linearizability check of a cas-register history file, reading
//! included, as `shakedown check FILE` does it (default 4 GB memory limit):
//! held whole when that takes at most half the limit, else read once into
//! key groups spilled to files and checked group by group. The file
//! (1,000 keys, 20 clients, 1% crashed calls; 10,000 keys for 100M) is
//! generated into the temp directory before timing and removed afterwards.
//!
//! ```text
//! cargo bench -p checkers --bench lin_file                 # 1M and 10M ops
//! cargo bench -p checkers --bench lin_file -- --ignored    # 100M ops: a 10 GB file, ~4 min
//! ```
//! divan's allocation counts cover only the bench thread, so measure peak
//! memory with `/usr/bin/time -v target/release/deps/lin_file-<hash> --bench NAME`
//! (or the `shakedown check` commands in the README).

use checkers::linearizable::generate::CasRegisterGen;
use checkers::linearizable::{spill, ModelKind, Options};
use checkers::verdict::Validity;
use std::io::{BufWriter, Write};

fn main() {
    divan::main();
}

fn bench_file(bencher: divan::Bencher, ops: usize, keys: usize) {
    let path = std::env::temp_dir().join(format!("shakedown-bench-register-{ops}.jsonl"));
    let file = std::fs::File::create(&path).expect("create the history file");
    let mut out = history::jsonl::JsonlWriter::new(BufWriter::with_capacity(1 << 20, file));
    let gen = CasRegisterGen {
        ops,
        keys,
        processes: 20,
        crash_rate: 0.01,
        fail_rate: 0.01,
        values: 5,
        seed: 42,
    };
    gen.for_each(|op| out.write(&op).expect("write the history file"));
    out.flush().expect("write the history file");
    out.into_inner().flush().expect("write the history file");

    let opts = Options::new(ModelKind::CasRegister);
    let spill_dir = spill::default_dir();
    bencher.bench_local(|| {
        let checked = spill::check_file(&path, None, &opts, &spill_dir).expect("check");
        let r = &checked.result;
        eprintln!(
            "{ops} ops: {:?} in {:.1} s, {} partitions, spilled {:?}",
            r.valid,
            r.elapsed_ms / 1e3,
            r.partitions,
            r.spilled
        );
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(checked.ops, ops as u64);
        checked.ops
    });
    let _ = std::fs::remove_file(&path);
}

#[divan::bench(args = [1_000_000, 10_000_000], sample_count = 1, sample_size = 1)]
fn register_file(bencher: divan::Bencher, ops: usize) {
    bench_file(bencher, ops, 1_000);
}

/// 100,000,000 ops over 10,000 keys: a 10 GB file, checked in bounded
/// memory. Opt-in (`-- --ignored`): it takes minutes and disk.
#[divan::bench(ignore, sample_count = 1, sample_size = 1)]
fn register_file_100m(bencher: divan::Bencher) {
    bench_file(bencher, 100_000_000, 10_000);
}
