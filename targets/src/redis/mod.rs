//! Redis with replicas and Sentinel, behind the [`Target`] contract: the
//! setup Jepsen showed losing acknowledged writes when the primary is cut
//! off (clients keep writing to it while Sentinel promotes a replica; when
//! the partition heals it rejoins as a replica and discards those writes).
//!
//! ```yaml
//! target:
//!   name: redis
//!   sentinel: true              # false: the first node is primary for good
//!   wait: 0                     # N > 0: every write is followed by WAIT N
//!   min-replicas-to-write: 0    # the primary refuses writes without N replicas
//!   quorum: 2                   # Sentinel's quorum (default: a majority)
//!   ready-timeout-s: 30
//!   appendfsync: everysec       # always | everysec | no: when the AOF is fsync'ed
//! ```
//!
//! [`db`] runs the servers and Sentinels on the nodes, [`client`] is the
//! run-loop client. The process under test (kill, pause) is each node's
//! redis-server; the Sentinels keep running.

pub mod client;
pub mod db;

use crate::{ClientCtx, Ctx, LogFile, PrimariesFn, Process, Target};
use client::RedisConnect;
use db::{RedisDb, Role};
use harness::control::{daemon, Cluster, Error, Node};
use harness::run::{BoxConnect, BoxFuture};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// `target: {name: redis, ...}`.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "RedisOptions",
    example = serde_json::json!({"name": "redis", "wait": 1, "appendfsync": "always"})
)]
pub struct Options {
    /// Sentinel on every node, failing over when the primary is down; with
    /// `false` the first node stays primary.
    pub sentinel: bool,
    /// Follow every write with `WAIT <wait> <ms>`; a write fewer replicas
    /// acknowledged is of unknown outcome.
    pub wait: u32,
    /// The primary's `min-replicas-to-write`.
    pub min_replicas_to_write: u32,
    /// Sentinel's quorum (at most the number of nodes, only with
    /// Sentinel); default a majority of the nodes.
    #[schemars(with = "usize", range(min = 1), extend("x-default" = "a majority of the nodes"))]
    pub quorum: Option<usize>,
    /// Seconds the servers and Sentinels get to come up.
    #[schemars(range(min = 1, max = 3600))]
    pub ready_timeout_s: u64,
    /// When the append-only file is fsync'ed (a contract): `everysec`
    /// (Redis's default, documented to lose up to a second of writes on
    /// power loss), `always` (before every reply), `no` (when the kernel
    /// decides).
    pub appendfsync: Appendfsync,
}

/// redis.conf's `appendfsync`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Appendfsync {
    Always,
    #[default]
    Everysec,
    No,
}

impl Appendfsync {
    pub fn as_str(self) -> &'static str {
        match self {
            Appendfsync::Always => "always",
            Appendfsync::Everysec => "everysec",
            Appendfsync::No => "no",
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sentinel: true,
            wait: 0,
            min_replicas_to_write: 0,
            quorum: None,
            ready_timeout_s: 30,
            appendfsync: Appendfsync::default(),
        }
    }
}

impl Options {
    /// Checks the options against the number of nodes the test will have,
    /// when the test file is read: one Sentinel and one server per node,
    /// the first node's server the primary.
    pub fn validate(&self, nodes: usize) -> Result<(), String> {
        if !(1..=3600).contains(&self.ready_timeout_s) {
            return Err(format!(
                "target.ready-timeout-s: expected 1 to 3600 seconds, found {}",
                self.ready_timeout_s
            ));
        }
        if self.quorum == Some(0) {
            return Err("target.quorum: expected at least 1 Sentinel".into());
        }
        if self.quorum.is_some() && !self.sentinel {
            return Err("target.quorum: set, but `sentinel: false` runs no Sentinel".into());
        }
        let quorum = self.quorum.unwrap_or(nodes / 2 + 1);
        if self.sentinel && quorum > nodes {
            return Err(format!(
                "target.quorum: {quorum}, but there are {nodes} Sentinels (one per node): Sentinel could never agree that the primary is down"
            ));
        }
        let replicas = nodes.saturating_sub(1);
        if self.wait as usize > replicas {
            return Err(format!(
                "target.wait: {}, but there are {replicas} replicas: no write could ever be confirmed",
                self.wait
            ));
        }
        if self.min_replicas_to_write as usize > replicas {
            return Err(format!(
                "target.min-replicas-to-write: {}, but there are {replicas} replicas: the primary would refuse every write",
                self.min_replicas_to_write
            ));
        }
        Ok(())
    }
}

/// Redis servers and Sentinels on every node of the run.
pub struct RedisTarget {
    db: RedisDb,
    run_id: String,
}

impl RedisTarget {
    pub fn new(options: Options, ctx: Ctx) -> RedisTarget {
        RedisTarget {
            db: RedisDb {
                nodes: ctx.nodes.clone(),
                options,
                // The clock shim's, when clock faults are asked for: Redis
                // reads the wall clock through libc (gettimeofday), for
                // expiry and for Sentinel's timers and TILT mode.
                env: ctx.db_env.clone().into_iter().collect(),
            },
            run_id: ctx.run_id,
        }
    }
}

impl Target for RedisTarget {
    fn name(&self) -> &str {
        "redis"
    }

    fn packages(&self) -> Vec<String> {
        db::PACKAGES.iter().map(|p| p.to_string()).collect()
    }

    fn workloads(&self) -> Vec<&'static str> {
        client::WORKLOADS.to_vec()
    }

    fn start<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let within = Duration::from_secs(self.db.options.ready_timeout_s);
            self.db.start_all(cluster, within).await?;
            tracing::info!(
                "redis is up; primary {}, sentinel {}",
                self.db.first().name,
                self.db.options.sentinel
            );
            Ok(())
        })
    }

    fn teardown<'a>(
        &'a self,
        cluster: &'a Cluster,
        keep_data: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.db.teardown(cluster, keep_data))
    }

    /// The node's redis-server (Sentinels are not faulted).
    fn process(&self, node: &Node) -> Option<Process> {
        Some(Process {
            pid_file: self.db.pid_file(node, Role::Server),
            start: daemon::start_script(&self.db.server_daemon(node)),
            log: self.db.log_file(node, Role::Server),
        })
    }

    /// Asks the Sentinels (the newest answer wins); the first node without
    /// Sentinel.
    fn primaries(&self) -> Option<PrimariesFn> {
        let hosts = self.db.hosts();
        let sentinel = self.db.options.sentinel;
        Some(Arc::new(move |_cluster| {
            let hosts = hosts.clone();
            Box::pin(async move {
                if sentinel {
                    client::sentinel_primary(&hosts, Duration::from_secs(2))
                        .await
                        .map(|p| vec![p])
                } else {
                    Ok(vec![hosts[0].0.clone()])
                }
            })
        }))
    }

    /// The servers that say they are primary, recorded as the run goes:
    /// during a split brain, two.
    fn watch_primaries(&self) -> Option<PrimariesFn> {
        let hosts = self.db.hosts();
        Some(Arc::new(move |_cluster| {
            let hosts = hosts.clone();
            Box::pin(async move {
                Ok(client::self_declared_primaries(&hosts, Duration::from_millis(500)).await)
            })
        }))
    }

    /// redis.conf's `dir`: the append-only file lives there.
    fn data_dirs(&self, node: &Node) -> Vec<String> {
        vec![self.db.data_dir(node)]
    }

    fn logs(&self, node: &Node) -> Vec<LogFile> {
        let mut logs = vec![LogFile {
            remote: self.db.log_file(node, Role::Server),
            name: "redis.log".into(),
        }];
        if self.db.options.sentinel {
            logs.push(LogFile {
                remote: self.db.log_file(node, Role::Sentinel),
                name: "sentinel.log".into(),
            });
        }
        logs
    }

    fn clients(&self, ctx: &ClientCtx<'_>) -> Result<BoxConnect, String> {
        let workload = client::WORKLOADS
            .iter()
            .find(|w| **w == ctx.workload.name())
            .ok_or_else(|| format!("redis has no client for {}", ctx.workload.name()))?;
        Ok(BoxConnect::new(RedisConnect {
            hosts: self.db.hosts(),
            sentinel: self.db.options.sentinel,
            wait: self.db.options.wait,
            prefix: self.run_id.clone(),
            workload,
            local_reads: ctx.workload.read_mode() == workloads::ReadMode::Serializable,
            timeout: ctx
                .op_timeout
                .saturating_sub(Duration::from_millis(500))
                .max(Duration::from_millis(500)),
        }))
    }
}
