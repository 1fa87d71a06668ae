//! Shared by the cluster tests: a local cluster with a name and subnet
//! unique to this process (test suites from several checkouts can run at
//! once), torn down when the guard drops (also when the test panics), and
//! a skip when not root.

#![allow(dead_code)]

use harness::control::local::{self, LocalCluster, Options};
use std::net::Ipv4Addr;

/// Tears the cluster down on drop, even on panic.
pub struct ClusterGuard {
    pub cluster: LocalCluster,
    pub subnet: Ipv4Addr,
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Err(e) = local::down(&self.cluster.name) {
            eprintln!("teardown of {}: {e}", self.cluster.name);
        }
    }
}

impl std::ops::Deref for ClusterGuard {
    type Target = LocalCluster;
    fn deref(&self) -> &LocalCluster {
        &self.cluster
    }
}

impl ClusterGuard {
    /// The address of node `name`.
    pub fn host(&self, name: &str) -> String {
        self.cluster.node(name).unwrap().host.clone()
    }
}

/// A cluster name: `tag` (≤ 4 chars) and this process id in base 36.
pub fn unique_name(tag: &str) -> String {
    let mut pid = std::process::id();
    let mut digits = Vec::new();
    while pid > 0 {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(pid % 36) as usize]);
        pid /= 36;
    }
    digits.reverse();
    let name = format!("{tag}{}", String::from_utf8(digits).unwrap());
    assert!(name.len() <= 8, "{name}");
    name
}

/// Build an `n`-node cluster tagged `tag` on a free 10.77.X.0/24, X in
/// 200..=249 (the harness tests' range: the nemesis tests use 150-154, the
/// benchmark 130, `cluster up` 0), or return `None` (after saying why)
/// when not root.
pub fn cluster(tag: &str, n: usize) -> Option<ClusterGuard> {
    if !local::is_root() {
        eprintln!("SKIPPED: {tag}: local cluster tests need root (network namespaces); run as root to exercise them");
        return None;
    }
    let name = unique_name(tag);
    // Leftovers of killed earlier runs of this test (their pid is gone).
    for old in local::list() {
        let Some(rest) = old.strip_prefix(tag) else {
            continue;
        };
        let pid = u32::from_str_radix(rest, 36).unwrap_or(0);
        if pid != 0 && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = local::down(&old);
        }
    }
    let t = std::time::Instant::now();
    let start = (std::process::id() as usize * 7 + tag.len() * 13) % 50;
    for i in 0..50 {
        let subnet = Ipv4Addr::new(10, 77, 200 + ((start + i) % 50) as u8, 0);
        match local::up(&Options::new(&name, n).subnet(subnet)) {
            Ok(cluster) => {
                eprintln!(
                    "cluster {name}: {n} nodes up on {subnet}/24 in {:?}",
                    t.elapsed()
                );
                return Some(ClusterGuard { cluster, subnet });
            }
            // Another test took it first: try the next one.
            Err(e) if e.0.contains("already in use") => continue,
            Err(e) => panic!("cluster up {name}: {e}"),
        }
    }
    panic!("cluster up {name}: no free /24 in 10.77.200.0-10.77.249.0");
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
