//! Shared by the cluster tests: a local cluster that is torn down when the
//! guard drops (also when the test panics), and a skip when not root.

#![allow(dead_code)]

use harness::control::local::{self, LocalCluster, Options};
use std::net::Ipv4Addr;

/// Tears the cluster down on drop, even on panic.
pub struct ClusterGuard {
    pub cluster: LocalCluster,
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

/// Build cluster `name` with `n` nodes on 10.77.`octet`.0/24, or return
/// `None` (after saying why) when not root.
pub fn cluster(name: &str, n: usize, octet: u8) -> Option<ClusterGuard> {
    if !local::is_root() {
        eprintln!("SKIPPED: {name}: local cluster tests need root (network namespaces); run as root to exercise them");
        return None;
    }
    let t = std::time::Instant::now();
    let cluster = local::up(&Options::new(name, n).subnet(Ipv4Addr::new(10, 77, octet, 0)))
        .unwrap_or_else(|e| panic!("cluster up {name}: {e}"));
    eprintln!("cluster {name}: {n} nodes up in {:?}", t.elapsed());
    Some(ClusterGuard { cluster })
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
