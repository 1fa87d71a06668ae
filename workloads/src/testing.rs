//! Test helpers: generator contexts, and running a workload's generator
//! against a sequential model of a correct (or deliberately broken) store.

use crate::Workload;
use harness::run::{GenCtx, Generator, OpRequest, Rng};
use history::{History, Op, Value};

/// The context of `worker` in a run on `nodes` nodes with 3 workers.
pub fn ctx(worker: usize, nodes: usize) -> GenCtx {
    GenCtx {
        worker,
        process: worker as u64,
        node: worker % nodes,
        nodes,
        concurrency: 3,
        elapsed: std::time::Duration::ZERO,
    }
}

/// Runs `ops` main-phase ops of the workload's generator, workers taking
/// turns, one op at a time, each applied by `apply` (`Err`: the op fails),
/// then every worker's final ops. Returns the history.
pub fn run_serially(
    workload: Workload,
    ops: usize,
    mut apply: impl FnMut(&OpRequest) -> Result<Value, ()>,
) -> History {
    let mut gen = workload.generator();
    let mut rng = Rng::seed(7);
    let mut history = Vec::new();
    let mut record = |worker: usize, op: OpRequest, history: &mut Vec<Op>| {
        let p = worker as u64;
        let with_key = |o: Op| match &op.key {
            Some(k) => o.with_key(k.clone()),
            None => o,
        };
        history.push(with_key(Op::invoke(p, op.f, op.value.clone())));
        history.push(with_key(match apply(&op) {
            Ok(v) => Op::ok(p, op.f, v),
            Err(()) => Op::fail(p, op.f, op.value.clone()),
        }));
    };
    for i in 0..ops {
        let worker = i % 3;
        let Some(op) = gen.next(&ctx(worker, 2), &mut rng) else {
            break;
        };
        record(worker, op, &mut history);
    }
    for worker in 0..3 {
        for op in gen.final_ops(&ctx(worker, 2)) {
            record(worker, op, &mut history);
        }
    }
    History::indexed(history).unwrap()
}
