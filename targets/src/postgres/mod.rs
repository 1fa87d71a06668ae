//! PostgreSQL: a primary and streaming replicas on the nodes ([`db`]),
//! with the built-in `postgres` SQL client ([`crate::sql`]), behind the
//! [`Target`] contract.
//!
//! ```yaml
//! target:
//!   name: postgres
//!   isolation: serializable     # | repeatable-read | read-committed
//!   read-from: primary          # | replicas: read-only txns go to a hot standby
//!   synchronous-commit: on      # | off: commits acknowledged before their WAL is flushed
//! ```
//!
//! What each isolation level is expected to show is in the README
//! ("PostgreSQL").

pub mod db;

use crate::sql::{self, Dialect, Route, SqlConnect};
use crate::{ClientCtx, Ctx, LogFile, PrimariesFn, Process, Target};
use db::PgDb;
use harness::control::{Cluster, Error, Node};
use harness::run::{BoxConnect, BoxFuture};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The transaction isolation level every transaction runs at
/// (`read-uncommitted` runs as READ COMMITTED: PostgreSQL has no lower).
pub use crate::sql::Isolation;

/// Where read-only transactions go.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ReadFrom {
    /// Every transaction on the primary.
    #[default]
    Primary,
    /// The worker's own node when it is a replica (asynchronous streaming
    /// replication: stale reads are expected).
    Replicas,
}

/// `target: {name: postgres, ...}`.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "PostgresOptions",
    example = serde_json::json!({"name": "postgres", "isolation": "repeatable-read", "read-from": "replicas"})
)]
pub struct Options {
    /// The isolation level every transaction runs at
    /// (`read-uncommitted` runs as READ COMMITTED: PostgreSQL has no lower).
    #[serde(default)]
    pub isolation: Isolation,
    /// Where read-only transactions go.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// The port every server listens on (at its node's address).
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Seconds the primary and every replica get to serve and stream.
    #[serde(default = "default_ready_timeout_s")]
    #[schemars(range(min = 1, max = 3600))]
    pub ready_timeout_s: u64,
    /// The server's `synchronous_commit`: `on` (the default: a commit is
    /// acknowledged once its WAL is flushed), `off` (acknowledged before;
    /// PostgreSQL documents that a crash may lose the last commits), or
    /// `local`, `remote_write`, `remote_apply`.
    #[serde(
        default = "default_synchronous_commit",
        deserialize_with = "on_off_or_word"
    )]
    #[schemars(schema_with = "synchronous_commit_schema")]
    pub synchronous_commit: String,
}

/// A word, or YAML's bare `on` / `off` (booleans to YAML 1.1 readers).
fn synchronous_commit_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"enum": ["on", "off", "local", "remote_write", "remote_apply"]},
            {"type": "boolean"}
        ]
    })
}

fn default_synchronous_commit() -> String {
    "on".into()
}

/// YAML reads a bare `on` / `off` as a boolean: take it as the word.
fn on_off_or_word<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OnOff {
        Bool(bool),
        Word(String),
    }
    Ok(match OnOff::deserialize(d)? {
        OnOff::Bool(true) => "on".into(),
        OnOff::Bool(false) => "off".into(),
        OnOff::Word(w) => w,
    })
}

impl Default for Options {
    fn default() -> Options {
        Options {
            isolation: Isolation::default(),
            read_from: ReadFrom::default(),
            port: default_port(),
            ready_timeout_s: default_ready_timeout_s(),
            synchronous_commit: default_synchronous_commit(),
        }
    }
}

fn default_port() -> u16 {
    5432
}

fn default_ready_timeout_s() -> u64 {
    60
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if self.port == 0 {
            return Err("target.port: expected a port from 1 to 65535, found 0".into());
        }
        if !(1..=3600).contains(&self.ready_timeout_s) {
            return Err(format!(
                "target.ready-timeout-s: expected 1 to 3600 seconds, found {}",
                self.ready_timeout_s
            ));
        }
        const SYNC: [&str; 5] = ["on", "off", "local", "remote_write", "remote_apply"];
        if !SYNC.contains(&self.synchronous_commit.as_str()) {
            return Err(format!(
                "target.synchronous-commit: expected one of {}, found {:?}",
                SYNC.join(", "),
                self.synchronous_commit
            ));
        }
        Ok(())
    }
}

/// PostgreSQL on every node of the run: the first the primary, the rest
/// hot standbys.
pub struct PostgresTarget {
    db: PgDb,
    options: Options,
}

impl PostgresTarget {
    pub fn new(options: Options, ctx: Ctx) -> PostgresTarget {
        let env = ctx.db_env.clone().into_iter().collect();
        PostgresTarget {
            db: PgDb::new(ctx.nodes, options.port, env)
                .synchronous_commit(&options.synchronous_commit),
            options,
        }
    }

    pub fn db(&self) -> &PgDb {
        &self.db
    }
}

impl Target for PostgresTarget {
    fn name(&self) -> &str {
        "postgres"
    }

    fn packages(&self) -> Vec<String> {
        vec![db::PACKAGE.to_string()]
    }

    fn workloads(&self) -> Vec<&'static str> {
        Dialect::Postgres.workloads().to_vec()
    }

    fn install<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.db.find_bin(cluster))
    }

    fn start<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let within = Duration::from_secs(self.options.ready_timeout_s);
            self.db.start_all(cluster, within).await?;
            tracing::info!(
                "postgres is up: primary {}, {} streaming replica(s)",
                self.db.nodes[0].name,
                self.db.nodes.len() - 1
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

    /// The first node: replicas are never promoted, so it stays the
    /// primary for the whole run.
    fn primaries(&self) -> Option<PrimariesFn> {
        let primary = self.db.primary()?.name.clone();
        Some(Arc::new(move |_cluster| {
            let primary = primary.clone();
            Box::pin(async move { Ok(vec![primary]) })
        }))
    }

    /// The cluster directory initdb makes (WAL under `pg_wal/`).
    fn data_dirs(&self, node: &Node) -> Vec<String> {
        vec![self.db.data(node)]
    }

    fn logs(&self, node: &Node) -> Vec<LogFile> {
        vec![LogFile {
            remote: self.db.log_file(node),
            name: "postgres.log".into(),
        }]
    }

    fn clients(&self, ctx: &ClientCtx<'_>) -> Result<BoxConnect, String> {
        let primary = self
            .db
            .primary()
            .ok_or("postgres: no nodes to connect to")?
            .name
            .clone();
        let (timeout, connect_timeout) = sql::timeouts(ctx.op_timeout);
        let route = match self.options.read_from {
            ReadFrom::Primary => Route::Primary(primary),
            ReadFrom::Replicas => Route::ReplicaReads { primary },
        };
        let servers = self
            .db
            .nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    sql::Server::Postgres(Box::new(self.db.config(n, connect_timeout))),
                )
            })
            .collect();
        let connect = SqlConnect::new(Dialect::Postgres, servers, route, ctx.workload, timeout)?
            .isolation(Some(self.options.isolation));
        Ok(BoxConnect::new(connect))
    }
}
