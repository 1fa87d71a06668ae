//! Linearizability checker benchmarks: `cargo bench -p checkers --bench linearizable`.
//!
//! - the 50 etcd logs of the reference corpus, checked one after another
//!   (cas-register, initially nil), as Porcupine's benchmark does;
//! - the 10-client key-value corpus files checked as ONE object (no
//!   partitioning by key): the search over the whole state space;
//! - a generated 1,000,000-op cas-register history over 1,000 keys, 20
//!   clients, 1% crashed calls (parsing excluded; partitioned, parallel);
//! - the same length on ONE key (no partitioning possible), no crashes;
//! - the slowest kind of history: ~170 ops on one key with many calls of
//!   unknown outcome, as partitions produce (the two slowest etcd logs, and
//!   generated ones with 15% and 30% crashed calls, 5 values, 5 clients).

use checkers::linearizable::generate::CasRegisterGen;
use checkers::linearizable::{check, ModelKind, Options};
use checkers::verdict::Validity;
use history::History;
use std::path::PathBuf;

fn main() {
    divan::main();
}

fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/linearizability")
        .join(rel)
}

fn etcd_logs() -> Vec<History> {
    (0..50)
        .map(|i| {
            let p = corpus(&format!("etcd/etcd_{i:03}.log"));
            history::read_file(&p, None).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

#[divan::bench(sample_count = 20)]
fn etcd_corpus_50_logs(bencher: divan::Bencher) {
    let logs = etcd_logs();
    let opts = Options::new(ModelKind::CasRegister);
    bencher.bench(|| {
        for h in &logs {
            let r = check(h, &opts).unwrap();
            divan::black_box(r.valid);
        }
    });
}

#[divan::bench(sample_count = 20)]
fn kv_c10_ok_unpartitioned(bencher: divan::Bencher) {
    let h = history::read_file(&corpus("kv/c10-ok.txt"), None).unwrap();
    let mut opts = Options::new(ModelKind::KeyValue);
    opts.partition_by_key = false;
    bencher.bench(|| {
        let r = check(&h, &opts).unwrap();
        assert_eq!(r.valid, Validity::Valid);
    });
}

#[divan::bench(sample_count = 20)]
fn kv_c10_bad_unpartitioned(bencher: divan::Bencher) {
    let h = history::read_file(&corpus("kv/c10-bad.txt"), None).unwrap();
    let mut opts = Options::new(ModelKind::KeyValue);
    opts.partition_by_key = false;
    bencher.bench(|| {
        let r = check(&h, &opts).unwrap();
        assert_eq!(r.valid, Validity::Invalid);
    });
}

#[divan::bench(sample_count = 3)]
fn generated_1m_ops_1000_keys_20_clients(bencher: divan::Bencher) {
    let h = CasRegisterGen {
        ops: 1_000_000,
        keys: 1000,
        processes: 20,
        crash_rate: 0.01,
        fail_rate: 0.01,
        values: 5,
        seed: 42,
    }
    .history();
    let opts = Options::new(ModelKind::CasRegister);
    bencher.bench(|| {
        let r = check(&h, &opts).unwrap();
        assert_eq!(r.valid, Validity::Valid);
    });
}

#[divan::bench(sample_count = 3)]
fn generated_1m_ops_single_key_20_clients(bencher: divan::Bencher) {
    let h = CasRegisterGen {
        ops: 1_000_000,
        keys: 1,
        processes: 20,
        crash_rate: 0.0,
        fail_rate: 0.01,
        values: 5,
        seed: 42,
    }
    .history();
    let opts = Options::new(ModelKind::CasRegister);
    bencher.bench(|| {
        let r = check(&h, &opts).unwrap();
        assert_eq!(r.valid, Validity::Valid);
    });
}

#[divan::bench(args = [2, 7], sample_count = 50)]
fn etcd_log_with_many_crashed_calls(bencher: divan::Bencher, log: usize) {
    let h = history::read_file(&corpus(&format!("etcd/etcd_{log:03}.log")), None).unwrap();
    let opts = Options::new(ModelKind::CasRegister);
    bencher.bench(|| {
        let r = check(&h, &opts).unwrap();
        divan::black_box(r.valid);
    });
}

/// Ten seeds of a 170-op single-key history with `crash_percent`% of calls
/// crashed (valid by construction), checked one after another.
#[divan::bench(args = [15, 30], sample_count = 20)]
fn generated_170_ops_crashed_percent(bencher: divan::Bencher, crash_percent: u32) {
    let histories: Vec<History> = (0..10)
        .map(|seed| {
            CasRegisterGen {
                ops: 170,
                keys: 1,
                processes: 5,
                crash_rate: crash_percent as f64 / 100.0,
                fail_rate: 0.05,
                values: 5,
                seed,
            }
            .history()
        })
        .collect();
    let opts = Options::new(ModelKind::CasRegister);
    bencher.bench(|| {
        for h in &histories {
            let r = check(h, &opts).unwrap();
            assert_eq!(r.valid, Validity::Valid);
        }
    });
}
