//! Throughput of the exec client protocol: the run loop driving 10 client
//! programs that answer `ok` at once, so the harness's side of the
//! protocol (spawn, JSON line out, JSON line in, record) is what is
//! measured. Each iteration runs 20,000 register operations through 10
//! workers; divan reports the time and ops/s.
//!
//! `cargo bench -p targets --bench exec`

use harness::control::Node;
use harness::run::{self, GenCtx, NoNemesis, OpRequest, Progress, RecorderConfig, Rng, RunConfig};
use history::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use targets::exec::{ExecConnect, ExecSpec};

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
            let left = Arc::new(AtomicUsize::new(OPS));
            let generator = run::from_fn(move |_: &GenCtx, rng: &mut Rng| {
                left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .ok()?;
                let op = match rng.below(2) {
                    0 => OpRequest::new("read", Value::Nil),
                    _ => OpRequest::new("write", rng.below(5) as i64),
                };
                Some(op.with_key(rng.below(10) as i64))
            });
            let cfg = RunConfig {
                nodes: vec!["n1".into()],
                concurrency: WORKERS,
                time_limit: Duration::from_secs(600),
                op_timeout: Duration::from_secs(5),
                recovery_time: Duration::ZERO,
                progress: Progress::Off,
                recorder: RecorderConfig {
                    path: Some(dir.path().join("history.jsonl")),
                    keep_in_memory: false,
                    flush_interval: Duration::from_millis(500),
                },
                ..RunConfig::default()
            };
            let out = rt
                .block_on(run::run(cfg, Arc::new(connect), generator, NoNemesis))
                .unwrap();
            assert_eq!(out.counts.ok as usize, OPS, "{:?}", out.warnings);
        });
}
