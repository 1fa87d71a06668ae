//! How long from a scheduled fault to its effect on all 5 nodes of a local
//! cluster: `Injector::apply(StartPartition)` (what the runner calls when a
//! schedule step is due) until every node's rules are in place, over 20
//! rounds of random partitions, each verified from outside (TCP connects
//! between every pair of nodes, from inside their namespaces: the cut
//! pairs fail, the others succeed), then healed (also timed).
//!
//! ```text
//! sudo cargo bench -p nemesis --bench latency
//! ```
//!
//! Needs root (network namespaces); prints SKIPPED otherwise.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use nemesis::{FaultOp, Grudge, Hooks, Injector, PartitionTarget, Rng};
use std::time::{Duration, Instant};

const ROUNDS: usize = 20;

fn pct(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let Some(c) = cluster("nmbench", 5, 156) else {
        return;
    };
    let cl = c.cluster();
    let names = c.nodes.names();
    let (apply, verify, heal) = rt().block_on(async {
        let mut inj = Injector::new(&c.nodes, cl.clone(), Hooks::default(), None).unwrap();
        // Warm the SSH connections (a run's nemesis has them open already).
        harness::control::all_ok(cl.connect_all().await).unwrap();
        let mut rng = Rng::seed(2024);
        let (mut apply, mut verify, mut heal) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let g = match round % 4 {
                0 => Grudge::random_halves(&names, &mut rng),
                1 => Grudge::majorities_ring(&names, &mut rng),
                2 => Grudge::bridge(&names, &mut rng),
                _ => {
                    let n = rng.pick(&names).clone();
                    Grudge::isolate(&names, &n)
                }
            };
            let t = Instant::now();
            inj.apply(&FaultOp::StartPartition {
                target: PartitionTarget::Grudge(g.clone()),
            })
            .await
            .unwrap();
            apply.push(t.elapsed());
            let m = connectivity(&c, 22);
            verify.push(t.elapsed());
            for ((a, b), ok) in &m {
                assert_eq!(*ok, !g.cut(a, b), "round {round}: {a} -> {b}");
            }
            let t = Instant::now();
            inj.apply(&FaultOp::StopPartition).await.unwrap();
            heal.push(t.elapsed());
        }
        assert!(all_connected(&connectivity(&c, 22)));
        drop(inj);
        cl.disconnect().await;
        (apply, verify, heal)
    });
    println!("nemesis partition latency, 5-node local cluster, {ROUNDS} rounds:");
    for (what, v) in [
        ("fault -> rules in place on all 5 nodes", &apply),
        (
            "fault -> verified from outside (600 ms connect timeout)",
            &verify,
        ),
        ("heal -> rules gone on all 5 nodes", &heal),
    ] {
        println!(
            "  {what:<58} p50 {:>9}  p99 {:>9}  max {:>9}",
            ms(pct(v, 0.5)),
            ms(pct(v, 0.99)),
            ms(pct(v, 1.0))
        );
    }
}
