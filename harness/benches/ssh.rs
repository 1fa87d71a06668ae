//! SSH control-plane benchmarks against a real 5-node local cluster.
//!
//! `cargo bench -p harness --bench ssh` (as root). Builds cluster `bench`
//! on 10.77.130.0/24, prints a latency distribution (p50/p90/p99/max) of
//! one command on all 5 nodes in parallel over warm connections, then runs
//! the divan benchmarks (warm fan-out, warm single command, connection
//! setup, 50 MB upload and download), then tears the cluster down.
//! Without root it prints why and exits.

use harness::control::local::{self, LocalCluster, Options};
use harness::control::{Cluster, Remote};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct State {
    rt: tokio::runtime::Runtime,
    local: LocalCluster,
    cluster: Cluster,
}

static STATE: OnceLock<State> = OnceLock::new();

fn state() -> &'static State {
    STATE.get().expect("cluster is up")
}

struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        if let Err(e) = local::down(&self.0) {
            eprintln!("teardown: {e}");
        }
    }
}

fn main() {
    if !local::is_root() {
        println!(
            "SKIPPED: the ssh benchmarks need root to build a local cluster (network namespaces)"
        );
        return;
    }
    let opts = Options::new("bench", 5).subnet("10.77.130.0".parse().unwrap());
    let t = Instant::now();
    let lc = local::up(&opts).unwrap_or_else(|e| panic!("cluster up: {e}"));
    let _down = Down(lc.name.clone());
    println!("cluster up (5 nodes): {:?}", t.elapsed());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cluster = lc.cluster();
    rt.block_on(async {
        for (n, r) in cluster.connect_all().await {
            r.unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    });
    let _ = STATE.set(State {
        rt,
        local: lc,
        cluster,
    });
    percentiles();
    divan::main();
    if let Some(p) = BIG.get() {
        let _ = std::fs::remove_file(p);
    }
}

/// p50/p90/p99 of `run_all("true")` on 5 warm nodes; divan reports medians
/// and means but not tail percentiles.
fn percentiles() {
    let s = state();
    let n = if std::env::args().any(|a| a == "--test") {
        10
    } else {
        1000
    };
    let mut lat: Vec<Duration> = Vec::with_capacity(n);
    s.rt.block_on(async {
        for _ in 0..n {
            let t = Instant::now();
            let res = s.cluster.run_all("true").await;
            lat.push(t.elapsed());
            assert!(res
                .iter()
                .all(|(_, r)| r.as_ref().is_ok_and(|o| o.success())));
        }
    });
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "run_all(\"true\") on 5 warm nodes, {n} samples: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        p(0.50),
        p(0.90),
        p(0.99),
        lat[lat.len() - 1]
    );
}

/// One command on all 5 nodes in parallel, warm connections.
#[divan::bench(sample_count = 300, sample_size = 1)]
fn run_all_5_nodes_warm(b: divan::Bencher) {
    let s = state();
    b.bench(|| s.rt.block_on(s.cluster.run_all("true")));
}

/// One command on one node, warm connection.
#[divan::bench(sample_count = 300, sample_size = 1)]
fn run_1_node_warm(b: divan::Bencher) {
    let s = state();
    let n1 = s.cluster.node("n1").unwrap();
    b.bench(|| s.rt.block_on(n1.run("true")));
}

/// Connection setup: TCP, key exchange, host key check, ed25519 auth.
#[divan::bench(sample_count = 50, sample_size = 1)]
fn connect_1_node(b: divan::Bencher) {
    let s = state();
    let node = s.local.node("n2").unwrap().clone();
    let ssh = s.local.nodes.ssh.clone();
    b.bench(|| {
        s.rt.block_on(async {
            let r = Remote::new(node.clone(), ssh.clone());
            r.connect().await.unwrap();
            r.disconnect().await;
        })
    });
}

/// Connection setup to all 5 nodes in parallel.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn connect_5_nodes(b: divan::Bencher) {
    let s = state();
    b.bench(|| {
        s.rt.block_on(async {
            let c = s.local.cluster();
            for (_, r) in c.connect_all().await {
                r.unwrap();
            }
            c.disconnect().await;
        })
    });
}

static BIG: OnceLock<std::path::PathBuf> = OnceLock::new();

fn big_file() -> &'static std::path::Path {
    BIG.get_or_init(|| {
        let p = std::env::temp_dir().join(format!("shk-bench-{}.bin", std::process::id()));
        let mut data = vec![0u8; 50 * 1024 * 1024];
        let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
        rand::Rng::fill_bytes(&mut rng, &mut data);
        std::fs::write(&p, data).unwrap();
        p
    })
}

/// Upload 50 MB (stream, sha256 on both sides, rename into place).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn upload_50_mb(b: divan::Bencher) {
    let s = state();
    let n3 = s.cluster.node("n3").unwrap();
    let local = big_file();
    let dir = s.local.node("n3").unwrap().data_dir.clone().unwrap();
    b.bench(|| {
        s.rt.block_on(n3.upload(local, &format!("{dir}/big.bin")))
            .unwrap()
    });
}

/// Download 50 MB (sha256 on the node, streamed and hashed here).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn download_50_mb(b: divan::Bencher) {
    let s = state();
    let n3 = s.cluster.node("n3").unwrap();
    let dir = s.local.node("n3").unwrap().data_dir.clone().unwrap();
    s.rt.block_on(n3.upload(big_file(), &format!("{dir}/big.bin")))
        .unwrap();
    let back = big_file().with_extension("back");
    b.bench(|| {
        s.rt.block_on(n3.download(&format!("{dir}/big.bin"), &back))
            .unwrap()
    });
    let _ = std::fs::remove_file(back);
}
