//! Client throughput of the run loop with and without the online
//! checkers attached: the register workload (its generator: 10 keys, each
//! retired after 200 ops) against an in-memory client that answers at
//! once, so the harness is the bottleneck, 10 workers, 100,000 ops a run
//! as fast as the clients go, 20,000 at 2,000 ops/s (ONLINE_RUN_OPS=N
//! changes both). With online checking the recorder copies every op into the
//! bounded channel (`try_send`) and the online thread checks each key's
//! prefix every 500 ms, as in a live run.
//!
//! `cargo bench -p runner --bench online`

use harness::run::memory::MemoryStore;
use harness::run::{
    self, GenCtx, Generator, NoNemesis, OpRequest, Progress, RecorderConfig, Rng, RunConfig,
};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    divan::main();
}

fn ops() -> u64 {
    std::env::var("ONLINE_RUN_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

/// The workload's generator, dry after `left` ops.
struct Limited<G> {
    inner: G,
    left: u64,
}

impl<G: Generator> Generator for Limited<G> {
    fn next(&mut self, ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.inner.next(ctx, rng)
    }

    fn final_ops(&mut self, _ctx: &GenCtx) -> Vec<OpRequest> {
        Vec::new()
    }
}

fn one_run(online: bool, rate: Option<f64>, ops: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let workload = workloads::Workload::by_name("register").unwrap();
    let (task, tap) = if online {
        let checks = workload.online(checkers::online::Ticks::Every(Duration::from_millis(500)));
        let (task, tap) = runner::online::start(checks, path.clone(), None).unwrap();
        (Some(task), Some(tap))
    } else {
        (None, None)
    };
    let cfg = RunConfig {
        nodes: (1..=5).map(|i| format!("n{i}")).collect(),
        concurrency: 10,
        rate,
        time_limit: Duration::from_secs(600),
        recovery_time: Duration::ZERO,
        progress: Progress::Off,
        recorder: RecorderConfig {
            path: Some(path.clone()),
            tap,
            ..RecorderConfig::default()
        },
        ..RunConfig::default()
    };
    let generator = Limited {
        inner: workload.generator(),
        left: ops,
    };
    let outcome = rt
        .block_on(run::run(
            cfg,
            Arc::new(MemoryStore::new()),
            generator,
            NoNemesis,
        ))
        .unwrap();
    let rate = outcome.counts.completed() as f64 / outcome.main_elapsed.as_secs_f64();
    let summary = task.map(|t| t.finish());
    eprintln!(
        "  online={online:<5} {:>9.0} ops/s{}",
        rate,
        match &summary {
            Some(s) => format!(
                ", online: {} ops checked, {} anomalies, {} read back from the file, {:.2} s checking",
                s.ops, s.anomaly_count, s.behind, s.check_s
            ),
            None => String::new(),
        }
    );
    if let Some(s) = summary {
        assert_eq!(s.anomaly_count, 0, "the in-memory store is linearizable");
        assert_eq!(s.ops as usize, outcome.history.len(), "every op checked");
    }
}

#[divan::bench(args = [false, true], sample_count = 3, sample_size = 1)]
fn unlimited(online: bool) {
    one_run(online, None, ops());
}

#[divan::bench(args = [false, true], sample_count = 3, sample_size = 1)]
fn at_2000_ops_per_s(online: bool) {
    one_run(online, Some(2000.0), ops().min(20_000));
}
