//! What the client benches share: `ops` register ops (half reads, half
//! writes of 0-4, on 10 keys) through `workers` workers of the run loop,
//! recorded to `dir/history.jsonl`.

use harness::run::{
    self, Connect, GenCtx, NoNemesis, OpRequest, Outcome, Progress, RecorderConfig, Rng, RunConfig,
};
use history::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn register_ops<C: Connect>(
    rt: &tokio::runtime::Runtime,
    connect: C,
    dir: &Path,
    ops: usize,
    workers: usize,
) -> Outcome {
    let left = Arc::new(AtomicUsize::new(ops));
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
        concurrency: workers,
        time_limit: Duration::from_secs(600),
        op_timeout: Duration::from_secs(5),
        recovery_time: Duration::ZERO,
        progress: Progress::Off,
        recorder: RecorderConfig {
            path: Some(dir.join("history.jsonl")),
            keep_in_memory: false,
            flush_interval: Duration::from_millis(500),
            tap: None,
        },
        ..RunConfig::default()
    };
    rt.block_on(run::run(cfg, Arc::new(connect), generator, NoNemesis))
        .unwrap()
}
