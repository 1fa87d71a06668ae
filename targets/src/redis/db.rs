//! Redis on the nodes: a `redis-server` on every node (the first starts as
//! primary, the others as its replicas) and, unless `sentinel: false`, a
//! `redis-sentinel` on every node watching them.
//!
//! Every process has its own directory, config, port, log and shakedown pid
//! file (`harness::control::daemon`), runs with `daemonize no`, and is found
//! by path, never by name: local-cluster nodes share one file system and
//! one process table.
//!
//! ```text
//! <dir>/redis.conf     redis-server's config (Sentinel rewrites it on failover)
//! <dir>/data/          appendonly file
//! <dir>/redis.pid      redis.log
//! <dir>/sentinel.conf  Sentinel's config and state (it rewrites it)
//! <dir>/sentinel.pid   sentinel.log
//! ```
//!
//! A killed server comes back through its start script, which first asks
//! the node's Sentinel who the primary is: if Sentinel has promoted another
//! node meanwhile, the server restarts as that node's replica (what Sentinel
//! would soon tell it anyway), rather than as a second primary for up to
//! Sentinel's 10 s INFO period.

use super::Options;
use crate::{log_tail, remote};
use harness::control::daemon::{self, Daemon};
use harness::control::quote::q;
use harness::control::{Cluster, Cmd, Error, ErrorKind, Node};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const SERVER_PORT: u16 = 6379;
pub const SENTINEL_PORT: u16 = 26379;
/// Debian packages: the server, Sentinel, and redis-cli (for the restart
/// script's question to Sentinel).
pub const PACKAGES: &[&str] = &["redis-server", "redis-sentinel", "redis-tools"];
pub const SERVER_BIN: &str = "/usr/bin/redis-server";
pub const SENTINEL_BIN: &str = "/usr/bin/redis-sentinel";
/// The name Sentinel monitors the primary under.
pub const MASTER_NAME: &str = "shakedown";
/// Sentinel's failover timings: short enough for a test of tens of seconds
/// (Redis's defaults are 30 s and 3 min).
pub const DOWN_AFTER_MS: u64 = 2_000;
pub const FAILOVER_TIMEOUT_MS: u64 = 6_000;
/// With `min-replicas-to-write`: a replica counts while its last ack is
/// younger than this (replicas ack every second).
pub const MIN_REPLICAS_MAX_LAG_S: u64 = 3;

/// Redis servers and Sentinels over a set of nodes.
#[derive(Clone, Debug)]
pub struct RedisDb {
    pub nodes: Vec<Node>,
    pub options: Options,
    /// Extra environment per node for both processes (libfaketime's).
    pub env: BTreeMap<String, Vec<(String, String)>>,
}

/// Which of a node's two processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Server,
    Sentinel,
}

impl Role {
    fn file(self) -> &'static str {
        match self {
            Role::Server => "redis",
            Role::Sentinel => "sentinel",
        }
    }
}

impl RedisDb {
    /// The node's directory: configs, data, logs and pid files. The same
    /// for every run, so a run finds (and stops) what an earlier one left.
    pub fn dir(&self, node: &Node) -> String {
        match &node.data_dir {
            Some(d) => format!("{d}/redis"),
            None => format!("/var/lib/shakedown/{}/redis", node.name),
        }
    }

    /// redis-server's `dir` (the append-only file).
    pub fn data_dir(&self, node: &Node) -> String {
        format!("{}/data", self.dir(node))
    }

    pub fn pid_file(&self, node: &Node, role: Role) -> String {
        format!("{}/{}.pid", self.dir(node), role.file())
    }

    pub fn log_file(&self, node: &Node, role: Role) -> String {
        format!("{}/{}.log", self.dir(node), role.file())
    }

    fn conf_file(&self, node: &Node, role: Role) -> String {
        format!("{}/{}.conf", self.dir(node), role.file())
    }

    /// The first node: the primary at start, and the fixed one without
    /// Sentinel.
    pub fn first(&self) -> &Node {
        &self.nodes[0]
    }

    /// Sentinel's quorum: the option, else a majority of the nodes.
    pub fn quorum(&self) -> usize {
        self.options.quorum.unwrap_or(self.nodes.len() / 2 + 1)
    }

    /// redis-server's config for a node (as first written; Sentinel
    /// rewrites `replicaof` in it on failover).
    pub fn server_conf(&self, node: &Node) -> String {
        let mut c = format!(
            "# written by shakedown\n\
             bind {host}\n\
             port {SERVER_PORT}\n\
             protected-mode no\n\
             daemonize no\n\
             logfile \"\"\n\
             dir {data}\n\
             save \"\"\n\
             appendonly yes\n\
             appendfsync {fsync}\n\
             replica-read-only yes\n",
            host = node.host,
            data = self.data_dir(node),
            fsync = self.options.appendfsync.as_str(),
        );
        if self.options.min_replicas_to_write > 0 {
            c += &format!(
                "min-replicas-to-write {}\nmin-replicas-max-lag {MIN_REPLICAS_MAX_LAG_S}\n",
                self.options.min_replicas_to_write
            );
        }
        if node.name != self.first().name {
            c += &format!("replicaof {} {SERVER_PORT}\n", self.first().host);
        }
        c
    }

    /// Sentinel's config for a node: watch the first node with the quorum.
    pub fn sentinel_conf(&self, node: &Node) -> String {
        format!(
            "# written by shakedown (Sentinel adds its state below)\n\
             bind {host}\n\
             port {SENTINEL_PORT}\n\
             protected-mode no\n\
             daemonize no\n\
             logfile \"\"\n\
             dir {dir}\n\
             sentinel monitor {MASTER_NAME} {primary} {SERVER_PORT} {quorum}\n\
             sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n\
             sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            host = node.host,
            dir = self.dir(node),
            primary = self.first().host,
            quorum = self.quorum(),
        )
    }

    fn env(&self, node: &Node) -> Vec<(String, String)> {
        self.env.get(&node.name).cloned().unwrap_or_default()
    }

    /// How the node's redis-server runs (and restarts after a kill).
    pub fn server_daemon(&self, node: &Node) -> Daemon {
        let conf = self.conf_file(node, Role::Server);
        let mut script = format!("set -- {SERVER_BIN} {}\n", q(&conf));
        if self.options.sentinel {
            // After a kill: come back as the replica of whoever Sentinel
            // promoted meanwhile (no answer, or this node: as configured).
            script += &format!(
                "p=$(timeout 2 redis-cli -h {host} -p {SENTINEL_PORT} --raw SENTINEL get-master-addr-by-name {MASTER_NAME} 2>/dev/null | head -n 1)\n\
                 if [ -n \"$p\" ] && [ \"$p\" != {host} ]; then set -- \"$@\" --replicaof \"$p\" {SERVER_PORT}; fi\n",
                host = q(&node.host),
            );
        }
        script += "exec \"$@\"\n";
        Daemon {
            bin: "/bin/sh".into(),
            args: vec!["-c".into(), script],
            pidfile: self.pid_file(node, Role::Server),
            logfile: self.log_file(node, Role::Server),
            chdir: Some(self.dir(node)),
            env: self.env(node),
            user: None,
        }
    }

    pub fn sentinel_daemon(&self, node: &Node) -> Daemon {
        Daemon {
            bin: SENTINEL_BIN.into(),
            args: vec![self.conf_file(node, Role::Sentinel)],
            pidfile: self.pid_file(node, Role::Sentinel),
            logfile: self.log_file(node, Role::Sentinel),
            chdir: Some(self.dir(node)),
            env: self.env(node),
            user: None,
        }
    }

    /// `(node, host)` of every node.
    pub fn hosts(&self) -> Vec<(String, String)> {
        self.nodes
            .iter()
            .map(|n| (n.name.clone(), n.host.clone()))
            .collect()
    }

    /// Writes configs and starts every server (primary first), waits until
    /// each replica's link to the primary is up, then starts the Sentinels
    /// and waits until each one can reach its quorum and authorize a
    /// failover (`SENTINEL CKQUORUM`) and has a link to every other one.
    pub async fn start_all(&self, cluster: &Cluster, within: Duration) -> Result<(), Error> {
        // Quorum, wait and min-replicas-to-write against the number of
        // nodes were checked when the test file was read (Options::validate).
        for node in &self.nodes {
            let r = remote(cluster, &node.name)?;
            let check = format!(
                "for b in {SERVER_BIN}{s}; do [ -x \"$b\" ] || {{ echo \"$b\"; exit 1; }}; done",
                s = if self.options.sentinel {
                    format!(" {SENTINEL_BIN}")
                } else {
                    String::new()
                }
            );
            let out = r.run(Cmd::new(check)).await?;
            if !out.success() {
                return Err(Error::new(
                    &node.name,
                    ErrorKind::Local(format!(
                        "{} is missing or not executable (Debian packages {}; shakedown installs them with the OS setup, so something removed it)",
                        out.stdout_str().trim(),
                        PACKAGES.join(", ")
                    )),
                ));
            }
            let dir = self.dir(node);
            r.run_ok(Cmd::new(format!(
                "mkdir -p -- {}",
                q(&format!("{dir}/data"))
            )))
            .await?;
            r.write_file(
                &self.conf_file(node, Role::Server),
                self.server_conf(node),
                0o644,
            )
            .await?;
            if self.options.sentinel {
                r.write_file(
                    &self.conf_file(node, Role::Sentinel),
                    self.sentinel_conf(node),
                    0o644,
                )
                .await?;
            }
        }
        let deadline = Instant::now() + within;
        for node in &self.nodes {
            daemon::start(remote(cluster, &node.name)?, &self.server_daemon(node)).await?;
        }
        self.wait(cluster, Role::Server, deadline, within).await?;
        if self.options.sentinel {
            for node in &self.nodes {
                daemon::start(remote(cluster, &node.name)?, &self.sentinel_daemon(node)).await?;
            }
            self.wait(cluster, Role::Sentinel, deadline, within).await?;
        }
        Ok(())
    }

    /// Polls every node's `role` process until all are ready; fails at once
    /// when one exited, and at the deadline naming the first not ready.
    async fn wait(
        &self,
        cluster: &Cluster,
        role: Role,
        deadline: Instant,
        within: Duration,
    ) -> Result<(), Error> {
        let mut waiting: Vec<&Node> = self.nodes.iter().collect();
        loop {
            let mut still = Vec::new();
            let mut why = String::new();
            for node in waiting {
                let r = remote(cluster, &node.name)?;
                if daemon::running(r, &self.pid_file(node, role))
                    .await?
                    .is_none()
                {
                    return Err(self
                        .not_up(cluster, node, role, "it exited after starting")
                        .await);
                }
                let probe = match role {
                    Role::Server => self.server_ready(node).await,
                    Role::Sentinel => self.sentinel_ready(node).await,
                };
                if let Err(e) = probe {
                    if why.is_empty() {
                        why = e;
                    }
                    still.push(node);
                }
            }
            waiting = still;
            let Some(node) = waiting.first() else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                let why = format!("not ready within {} s: {why}", within.as_secs());
                return Err(self.not_up(cluster, node, role, &why).await);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The primary answers PING; a replica's link to the primary is up.
    async fn server_ready(&self, node: &Node) -> Result<(), String> {
        let info = super::client::info_replication(&node.host, Duration::from_secs(1)).await?;
        if node.name == self.first().name {
            return match info.get("role").map(String::as_str) {
                Some("master") => Ok(()),
                other => Err(format!("role is {other:?}, expected master")),
            };
        }
        match info.get("master_link_status").map(String::as_str) {
            Some("up") => Ok(()),
            other => Err(format!(
                "its link to the primary {} is {}",
                self.first().name,
                other.unwrap_or("absent")
            )),
        }
    }

    /// The node's Sentinel can take part in a failover: quorum reachable
    /// and a link to every other Sentinel.
    async fn sentinel_ready(&self, node: &Node) -> Result<(), String> {
        let others = self.nodes.len() - 1;
        super::client::sentinel_ready(&node.host, others, Duration::from_secs(1)).await
    }

    /// An error naming the node and process, what happened and its log's end.
    async fn not_up(&self, cluster: &Cluster, node: &Node, role: Role, why: &str) -> Error {
        let log = self.log_file(node, role);
        let tail = match cluster.node(&node.name) {
            Some(r) => log_tail(r, &log, 5).await,
            None => String::new(),
        };
        let what = match role {
            Role::Server => "redis-server",
            Role::Sentinel => "redis-sentinel",
        };
        let tail = if tail.is_empty() {
            format!("; its log {log} is empty")
        } else {
            format!("; end of {log}:\n    {tail}")
        };
        Error::new(&node.name, ErrorKind::Local(format!("{what}: {why}{tail}")))
    }

    /// Stops every Sentinel first (so none reacts to the servers going
    /// away), then every server; unless `keep_data`, deletes the
    /// directories.
    pub async fn teardown(&self, cluster: &Cluster, keep_data: bool) -> Result<(), Error> {
        for role in [Role::Sentinel, Role::Server] {
            for node in &self.nodes {
                let r = remote(cluster, &node.name)?;
                daemon::stop(r, &self.pid_file(node, role), Duration::from_secs(5)).await?;
            }
        }
        if !keep_data {
            for node in &self.nodes {
                let r = remote(cluster, &node.name)?;
                r.run_ok(Cmd::new(format!("rm -rf -- {}", q(&self.dir(node)))))
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(opts: &str) -> RedisDb {
        let options: Options = serde_saphyr::from_str(opts).unwrap();
        let mut n2 = Node::new("n2", "10.0.0.2");
        n2.data_dir = Some("/d/n2".into());
        RedisDb {
            nodes: vec![Node::new("n1", "10.0.0.1"), n2, Node::new("n3", "10.0.0.3")],
            options,
            env: BTreeMap::new(),
        }
    }

    #[test]
    fn the_first_node_is_primary_and_the_others_replicate_it() {
        let d = db("{}");
        let n1 = d.nodes[0].clone();
        let n2 = d.nodes[1].clone();
        assert!(!d.server_conf(&n1).contains("replicaof"));
        assert!(d.server_conf(&n2).contains("replicaof 10.0.0.1 6379\n"));
        assert!(d.server_conf(&n2).contains("dir /d/n2/redis/data\n"));
        assert!(d.server_conf(&n2).contains("daemonize no\n"));
        assert!(!d.server_conf(&n2).contains("min-replicas"));
        let s = d.sentinel_conf(&n2);
        assert!(
            s.contains("sentinel monitor shakedown 10.0.0.1 6379 2\n"),
            "{s}"
        );
        assert!(s.contains("down-after-milliseconds shakedown 2000"), "{s}");
    }

    #[test]
    fn options_reach_the_configs() {
        let d = db("{min-replicas-to-write: 1, quorum: 3}");
        let n1 = d.nodes[0].clone();
        assert!(d.server_conf(&n1).contains("min-replicas-to-write 1\n"));
        assert!(d.sentinel_conf(&n1).contains(" 6379 3\n"));
    }

    #[test]
    fn a_restarted_server_asks_sentinel_for_its_primary() {
        let d = db("{}");
        let n2 = d.nodes[1].clone();
        let s = daemon::start_script(&d.server_daemon(&n2));
        assert!(s.contains("get-master-addr-by-name shakedown"), "{s}");
        assert!(s.contains("--replicaof"), "{s}");
        assert!(s.contains("/d/n2/redis/redis.pid"), "{s}");
        let d = db("{sentinel: false}");
        let s = daemon::start_script(&d.server_daemon(&n2));
        assert!(!s.contains("SENTINEL"), "{s}");
    }
}
