//! Throughput of the exec client protocol: the run loop driving 10 client
//! programs that answer `ok` at once, so the harness's side of the
//! protocol (spawn, JSON line out, JSON line in, record) is what is
//! measured. Each iteration runs 20,000 register operations through 10
//! workers; divan reports the time and ops/s.
//!
//! `cargo bench -p targets --bench exec`

use harness::control::Node;
use targets::exec::{ExecConnect, ExecSpec};

mod common;

const OPS: usize = 20_000;
const WORKERS: usize = 10;

fn main() {
    divan::main();
}

/// A client in Python, as users write them.
const PYTHON: &str = "import sys\nfor line in sys.stdin:\n    sys.stdout.write('{\"type\":\"ok\"}\\n')\n    sys.stdout.flush()\n";

#[divan::bench(args = ["python3", "sed"], sample_count = 5)]
fn ops_20k_10_workers(bencher: divan::Bencher, client: &str) {
    let dir = tempfile::tempdir().unwrap();
    let command: Vec<String> = match client {
        "python3" => {
            std::fs::write(dir.path().join("ok.py"), PYTHON).unwrap();
            vec!["/usr/bin/python3".into(), "ok.py".into()]
        }
        // The least a client can be: C, one reply per line, unbuffered.
        _ => vec!["sed".into(), "-u".into(), "s/.*/{\"type\":\"ok\"}/".into()],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = targets::Ctx {
        nodes: vec![Node::new("n1", "127.0.0.1")],
        test_dir: dir.path().to_path_buf(),
        run_id: "bench".into(),
        db_env: Default::default(),
    };
    bencher
        .counter(divan::counter::ItemsCount::new(OPS))
        .bench_local(|| {
            let connect = ExecConnect::new(
                ExecSpec {
                    command: command.clone(),
                    env: Default::default(),
                },
                &ctx,
                "register",
                dir.path(),
            )
            .unwrap();
            let out = common::register_ops(&rt, connect, dir.path(), OPS, WORKERS);
            assert_eq!(out.counts.ok as usize, OPS, "{:?}", out.warnings);
        });
}
