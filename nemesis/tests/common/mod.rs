//! Shared by the nemesis integration tests: a local cluster torn down on
//! drop (also when the test panics), a skip when not root, and probes that
//! look at the effect of a fault from outside (from other namespaces, or
//! from the controller's side of the bridge).

#![allow(dead_code)]

use harness::control::local::{self, LocalCluster, Options};
use nemesis::ProcessHooks;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const TESTKIT: &str = env!("CARGO_BIN_EXE_nemesis-testkit");
pub const PORT: u16 = 7070;

/// Tears the cluster down on drop, even on panic (this also kills every
/// process started in its namespaces and removes their iptables chains).
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

/// Build cluster `name` with `n` nodes on 10.77.`octet`.0/24, or `None`
/// (after saying why) when not root.
pub fn cluster(name: &str, n: usize, octet: u8) -> Option<ClusterGuard> {
    if !local::is_root() {
        eprintln!("SKIPPED: {name}: nemesis cluster tests need root (network namespaces, iptables); run as root to exercise them");
        return None;
    }
    // Leftovers of an earlier, killed run of this test.
    let _ = local::down(name);
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

pub fn addr(c: &LocalCluster, node: &str) -> String {
    c.node(node).unwrap().host.clone()
}

/// From inside every node's namespace, TCP-connect to port `port` of every
/// other node: (from, to) -> connected.
pub fn connectivity(c: &LocalCluster, port: u16) -> BTreeMap<(String, String), bool> {
    let nodes = &c.nodes.nodes;
    let children: Vec<_> = nodes
        .iter()
        .map(|from| {
            let mut cmd = Command::new("ip");
            cmd.args([
                "netns",
                "exec",
                from.netns.as_deref().unwrap(),
                TESTKIT,
                "probe",
                "600",
            ]);
            for to in nodes.iter().filter(|t| t.name != from.name) {
                cmd.arg(format!("{}:{port}", to.host));
            }
            cmd.stdout(std::process::Stdio::piped());
            (from.name.clone(), cmd.spawn().expect("run probe"))
        })
        .collect();
    // All probes run at once: one connect timeout in all.
    let mut out = BTreeMap::new();
    for (from, child) in children {
        let o = child.wait_with_output().expect("run probe");
        assert!(o.status.success(), "probe failed: {o:?}");
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let (target, verdict) = line.split_once(' ').unwrap();
            let host = target.rsplit_once(':').unwrap().0;
            let to = nodes.iter().find(|n| n.host == host).unwrap().name.clone();
            out.insert((from.clone(), to), verdict == "ok");
        }
    }
    out
}

pub fn all_connected(m: &BTreeMap<(String, String), bool>) -> bool {
    m.values().all(|v| *v)
}

/// Hooks for the test kit's dummy server on `node` (TCP + UDP on `PORT`,
/// pid file beside the node's data directory), started under `env`.
pub fn server_hooks(c: &LocalCluster, node: &str, env: Vec<(String, String)>) -> ProcessHooks {
    let n = c.node(node).unwrap();
    let base = n.data_dir.clone().unwrap();
    let pid = format!("{base}/testkit.pid");
    let log = format!("{base}/testkit.log");
    ProcessHooks::new(
        pid.clone(),
        format!(
            "setsid {TESTKIT} serve {} {PORT} {pid} >{log} 2>&1 </dev/null &",
            n.host
        ),
    )
    .with_env(env)
}

pub fn read_pid(h: &ProcessHooks) -> u32 {
    std::fs::read_to_string(&h.pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Process state letter from /proc (None: gone or zombie).
pub fn proc_state(pid: u32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let st = s
        .rsplit(')')
        .next()?
        .split_whitespace()
        .next()?
        .chars()
        .next()?;
    (st != 'Z' && st != 'X').then_some(st)
}

/// Ask the dummy server on `host` for its clock and pid; `None` if it does
/// not answer within `timeout` (connect or read).
pub fn ask(host: &str, timeout: Duration) -> Option<(f64, u32)> {
    let a: SocketAddr = format!("{host}:{PORT}").parse().unwrap();
    let s = TcpStream::connect_timeout(&a, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    let mut w = line.split_whitespace();
    Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Fraction of 200 UDP datagrams to the dummy server on `host` that got no echo.
pub fn udp_loss(host: &str) -> f64 {
    let o = Command::new(TESTKIT)
        .args(["udp-loss", &format!("{host}:{PORT}"), "200"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&o.stdout).to_string();
    let w: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(w.len(), 4, "udp-loss printed {s:?}");
    let sent: f64 = w[1].parse().unwrap();
    let got: f64 = w[3].parse().unwrap();
    1.0 - got / sent
}
