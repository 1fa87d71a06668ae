//! MariaDB: one server, or a Galera cluster of every node ([`db`]), with
//! the built-in `mysql` SQL client ([`crate::sql`]), behind the
//! [`Target`] contract.
//!
//! ```yaml
//! target:
//!   name: mariadb
//!   isolation: repeatable-read   # (MariaDB's default) | serializable | read-committed | read-uncommitted
//!   snapshot-isolation: false    # innodb_snapshot_isolation: a write to a row changed
//!                                # since the txn's snapshot fails with error 1020
//!   galera: false                # true: every node a Galera member (galera-4)
//!   flush-log-at-trx-commit: 1   # innodb_flush_log_at_trx_commit: 0 | 1 | 2
//! ```
//!
//! Without Galera the test has one node. With it, each worker's client
//! talks to its own node (Galera is multi-primary); without, to the one
//! server. What each setting is expected to show is in the README
//! ("MariaDB").

pub mod db;

use crate::sql::{self, Dialect, Isolation, Route, SqlConnect};
use crate::{ClientCtx, Ctx, LogFile, Process, Target};
use db::MariaDb;
use harness::control::{Cluster, Error, Node};
use harness::run::{BoxConnect, BoxFuture};
use serde::Deserialize;
use std::time::Duration;

/// `target: {name: mariadb, ...}`.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "MariadbOptions",
    example = serde_json::json!({"name": "mariadb", "galera": true, "isolation": "serializable"})
)]
pub struct Options {
    /// The isolation level every transaction runs at.
    #[serde(default = "default_isolation")]
    pub isolation: Isolation,
    /// The server's `innodb_snapshot_isolation`: a write to a row changed
    /// since the transaction's snapshot fails with error 1020.
    #[serde(default)]
    pub snapshot_isolation: bool,
    /// A Galera cluster of every node; `false`: one server (the test
    /// then has one node).
    #[serde(default)]
    pub galera: bool,
    /// The server's `innodb_flush_log_at_trx_commit`: 0, 1 or 2.
    #[serde(default = "default_flush")]
    #[schemars(range(max = 2))]
    pub flush_log_at_trx_commit: u8,
    /// The port every server listens on (at its node's address).
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Seconds every server gets to serve (and join, in Galera).
    #[serde(default = "default_ready_timeout_s")]
    #[schemars(range(min = 1, max = 3600))]
    pub ready_timeout_s: u64,
}

fn default_isolation() -> Isolation {
    Isolation::RepeatableRead
}

fn default_flush() -> u8 {
    1
}

fn default_port() -> u16 {
    3306
}

fn default_ready_timeout_s() -> u64 {
    120
}

impl Default for Options {
    fn default() -> Options {
        Options {
            isolation: default_isolation(),
            snapshot_isolation: false,
            galera: false,
            flush_log_at_trx_commit: default_flush(),
            port: default_port(),
            ready_timeout_s: default_ready_timeout_s(),
        }
    }
}

impl Options {
    /// Checked before any node is touched; `nodes`: how many the test has.
    pub fn validate(&self, nodes: usize) -> Result<(), String> {
        if self.flush_log_at_trx_commit > 2 {
            return Err(format!(
                "target.flush-log-at-trx-commit: expected 0, 1 or 2, found {}",
                self.flush_log_at_trx_commit
            ));
        }
        if self.port == 0 {
            return Err("target.port: expected a port from 1 to 65535, found 0".into());
        }
        if !(1..=3600).contains(&self.ready_timeout_s) {
            return Err(format!(
                "target.ready-timeout-s: expected 1 to 3600 seconds, found {}",
                self.ready_timeout_s
            ));
        }
        if !self.galera && nodes > 1 {
            return Err(format!(
                "target.galera: false runs one MariaDB server, but the test has {nodes} nodes; give one node, or `galera: true` for a cluster of all of them"
            ));
        }
        Ok(())
    }
}

/// MariaDB on the run's nodes.
pub struct MariaDbTarget {
    db: MariaDb,
}

impl MariaDbTarget {
    pub fn new(options: Options, ctx: Ctx) -> MariaDbTarget {
        MariaDbTarget {
            db: MariaDb {
                nodes: ctx.nodes,
                options,
                env: ctx.db_env.into_iter().collect(),
            },
        }
    }
}

impl Target for MariaDbTarget {
    fn name(&self) -> &str {
        "mariadb"
    }

    fn packages(&self) -> Vec<String> {
        let mut p = vec![db::PACKAGE.to_string()];
        if self.db.options.galera {
            p.extend(db::GALERA_PACKAGES.iter().map(|s| s.to_string()));
        }
        p
    }

    fn workloads(&self) -> Vec<&'static str> {
        Dialect::Mysql.workloads().to_vec()
    }

    fn install<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.db.install(cluster))
    }

    fn start<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let within = Duration::from_secs(self.db.options.ready_timeout_s);
            self.db.start_all(cluster, within).await?;
            tracing::info!(
                "mariadb is up: {} server(s){}",
                self.db.nodes.len(),
                if self.db.options.galera {
                    " in one Galera cluster"
                } else {
                    ""
                }
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

    fn process(&self, node: &Node) -> Option<Process> {
        Some(Process {
            pid_file: self.db.pid_file(node),
            start: self.db.restart_script(node),
            log: self.db.log_file(node),
        })
    }

    /// The datadir (the redo log and every table in it).
    fn data_dirs(&self, node: &Node) -> Vec<String> {
        vec![self.db.data(node)]
    }

    fn logs(&self, node: &Node) -> Vec<LogFile> {
        vec![LogFile {
            remote: self.db.log_file(node),
            name: "mariadb.log".into(),
        }]
    }

    fn clients(&self, ctx: &ClientCtx<'_>) -> Result<BoxConnect, String> {
        let first = self
            .db
            .nodes
            .first()
            .ok_or("mariadb: no nodes to connect to")?
            .name
            .clone();
        let (timeout, connect_timeout) = sql::timeouts(ctx.op_timeout);
        let servers = self
            .db
            .nodes
            .iter()
            .map(|n| {
                let server = sql::Server::new(
                    Dialect::Mysql,
                    &n.host,
                    self.db.options.port,
                    db::USER,
                    Some(db::PASSWORD),
                    db::DATABASE,
                    connect_timeout,
                );
                (n.name.clone(), server)
            })
            .collect();
        let route = if self.db.options.galera {
            Route::Own
        } else {
            Route::Primary(first)
        };
        let connect = SqlConnect::new(Dialect::Mysql, servers, route, ctx.workload, timeout)?
            .isolation(Some(self.db.options.isolation));
        Ok(BoxConnect::new(connect))
    }
}
