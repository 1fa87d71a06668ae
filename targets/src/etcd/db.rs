//! etcd on the nodes ([`PACKAGE`] is installed by the OS setup): start one cluster of
//! all nodes, wait for it to serve, and provide what the nemesis needs (pid
//! files, the start script, the leader); fetch logs, wipe data.
//!
//! Every member keeps its files under its own directory (the node's
//! `data_dir`, else `<root>/<node>`): local-cluster nodes share one file
//! system and one process table, so nothing is found by name, only by path
//! and pid file.

use super::client::EtcdClient;
use crate::remote;
use harness::control::daemon::{self, Daemon};
use harness::control::{Cluster, Cmd, Error, ErrorKind, Node};
use std::path::Path;
use std::time::{Duration, Instant};

pub const CLIENT_PORT: u16 = 2379;
pub const PEER_PORT: u16 = 2380;
/// The Debian package that provides `/usr/bin/etcd`.
pub const PACKAGE: &str = "etcd-server";

/// An etcd cluster over a set of nodes.
#[derive(Clone, Debug)]
pub struct EtcdDb {
    pub nodes: Vec<Node>,
    /// Directory under which each member keeps `<node>/etcd/`, for nodes
    /// without a `data_dir` of their own.
    pub root: String,
    /// Distinguishes this cluster's members from any other etcd.
    pub token: String,
    /// Extra environment per node for the etcd process (e.g. libfaketime's).
    pub env: Vec<(String, Vec<(String, String)>)>,
}

impl EtcdDb {
    pub fn new(nodes: Vec<Node>, root: impl Into<String>, token: impl Into<String>) -> EtcdDb {
        EtcdDb {
            nodes,
            root: root.into(),
            token: token.into(),
            env: Vec::new(),
        }
    }

    /// The member's directory: data, log and pid file live here.
    pub fn dir(&self, node: &Node) -> String {
        match &node.data_dir {
            Some(d) => format!("{d}/etcd"),
            None => format!("{}/{}/etcd", self.root, node.name),
        }
    }

    /// The member's `--data-dir`.
    pub fn data_dir(&self, node: &Node) -> String {
        format!("{}/data", self.dir(node))
    }

    pub fn pid_file(&self, node: &Node) -> String {
        format!("{}/etcd.pid", self.dir(node))
    }

    pub fn log_file(&self, node: &Node) -> String {
        format!("{}/etcd.log", self.dir(node))
    }

    /// `host:port` of the node's client endpoint.
    pub fn endpoint(node: &Node) -> String {
        format!("{}:{CLIENT_PORT}", node.host)
    }

    /// `(node, host:port)` for every member: what the client and
    /// `client::find_leader` take.
    pub fn endpoints(&self) -> Vec<(String, String)> {
        self.nodes
            .iter()
            .map(|n| (n.name.clone(), Self::endpoint(n)))
            .collect()
    }

    fn initial_cluster(&self) -> String {
        let members: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("{}=http://{}:{PEER_PORT}", n.name, n.host))
            .collect();
        members.join(",")
    }

    /// How this node's member runs. Restarting after a kill reuses the data
    /// directory (`--initial-cluster-state` only matters for an empty one).
    pub fn daemon(&self, node: &Node) -> Daemon {
        let dir = self.dir(node);
        let client = format!("http://{}", Self::endpoint(node));
        let peer = format!("http://{}:{PEER_PORT}", node.host);
        let args = [
            ("--name", node.name.clone()),
            ("--data-dir", self.data_dir(node)),
            ("--listen-client-urls", client.clone()),
            ("--advertise-client-urls", client),
            ("--listen-peer-urls", peer.clone()),
            ("--initial-advertise-peer-urls", peer),
            ("--initial-cluster", self.initial_cluster()),
            ("--initial-cluster-state", "new".into()),
            ("--initial-cluster-token", self.token.clone()),
            ("--logger", "zap".into()),
            ("--log-outputs", "stderr".into()),
        ];
        Daemon {
            bin: "/usr/bin/etcd".into(),
            args: args
                .into_iter()
                .flat_map(|(k, v)| [k.to_string(), v])
                .collect(),
            pidfile: self.pid_file(node),
            logfile: self.log_file(node),
            chdir: Some(dir),
            env: self
                .env
                .iter()
                .find(|(n, _)| *n == node.name)
                .map(|(_, e)| e.clone())
                .unwrap_or_default(),
            user: None,
        }
    }

    /// Starts every member (a leader is elected once a majority runs, so
    /// all start before any is waited for), then waits until a leader
    /// answers and every member reports the same one.
    pub async fn start_all(
        &self,
        cluster: &Cluster,
        ready_within: Duration,
    ) -> Result<String, Error> {
        for node in &self.nodes {
            let remote = remote(cluster, &node.name)?;
            remote
                .run_ok(Cmd::new(format!(
                    "mkdir -p {}",
                    harness::control::quote::q(&self.dir(node))
                )))
                .await?;
            daemon::start(remote, &self.daemon(node)).await?;
        }
        self.wait_ready(cluster, ready_within).await
    }

    /// Waits until every member answers a status request and one of them is
    /// the leader. The error names each member that did not answer and the
    /// end of its log.
    pub async fn wait_ready(&self, cluster: &Cluster, within: Duration) -> Result<String, Error> {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        while Instant::now() < deadline {
            // One status round answers both questions: is every member up,
            // and who leads.
            let mut down = Vec::new();
            let mut leader = None;
            for (name, endpoint) in self.endpoints() {
                let mut c = EtcdClient::new(&endpoint);
                c.timeout = Duration::from_secs(1);
                match c.status().await {
                    Ok(s) if s.is_leader() => leader = Some(name),
                    Ok(_) => {}
                    Err(e) => down.push(format!("{name}: {e}")),
                }
            }
            match (down.is_empty(), leader) {
                (true, Some(leader)) => return Ok(leader),
                (true, None) => last = "every member answers, but none leads yet".into(),
                (false, _) => last = down.join("; "),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let mut logs = String::new();
        for node in &self.nodes {
            if let Some(r) = cluster.node(&node.name) {
                let tail = format!(
                    "tail -n 3 {} 2>/dev/null",
                    harness::control::quote::q(&self.log_file(node))
                );
                if let Ok(out) = r.stdout(tail).await {
                    logs.push_str(&format!(
                        "\n  {} log: {}",
                        node.name,
                        out.trim().replace('\n', "\n    ")
                    ));
                }
            }
        }
        Err(Error::new(
            "etcd",
            ErrorKind::Local(format!(
                "the cluster did not come up within {} s: {last}{logs}",
                within.as_secs()
            )),
        ))
    }

    /// Stops every member (resuming paused ones so they can die) and, unless
    /// `keep_data`, deletes their directories.
    pub async fn teardown(&self, cluster: &Cluster, keep_data: bool) -> Result<(), Error> {
        for node in &self.nodes {
            let remote = remote(cluster, &node.name)?;
            daemon::stop(remote, &self.pid_file(node), Duration::from_secs(5)).await?;
            if !keep_data {
                let dir = harness::control::quote::q(&self.dir(node));
                remote.run_ok(Cmd::new(format!("rm -rf -- {dir}"))).await?;
            }
        }
        Ok(())
    }

    /// Copies each member's log to `<into>/<node>/etcd.log`. Problems are
    /// returned, not fatal: logs are evidence, and the verdict must not
    /// depend on them.
    pub async fn download_logs(&self, cluster: &Cluster, into: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        for node in &self.nodes {
            let Ok(remote) = remote(cluster, &node.name) else {
                continue;
            };
            let dest = into.join(&node.name);
            if let Err(e) = std::fs::create_dir_all(&dest) {
                problems.push(format!("{}: {e}", dest.display()));
                continue;
            }
            if let Err(e) = remote
                .download(&self.log_file(node), &dest.join("etcd.log"))
                .await
            {
                problems.push(e.to_string());
            }
        }
        problems
    }
}
