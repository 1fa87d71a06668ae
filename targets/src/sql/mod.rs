//! Built-in SQL clients: one per wire protocol, shared by every target
//! that speaks SQL (the `postgres` and `mariadb` targets) and by the
//! process target's `client: {sql: ...}`.
//!
//! ```yaml
//! client:
//!   sql: mysql                 # or postgres
//!   port: 3306                 # default: 3306 | 5432
//!   user: jepsen               # default: root | postgres
//!   password: {env: DB_PASSWORD}   # or {value: ...}; default: none
//!   database: jepsen           # default: jepsen | postgres
//!   isolation: repeatable-read # serializable | repeatable-read | read-committed | read-uncommitted
//!                              # default: the server's own
//!   setup: ["SET SESSION innodb_snapshot_isolation = ON"]   # per connection, optional
//! ```
//!
//! - [`dialect`]: everything that differs between the two dialects, in one
//!   place: the tables each workload creates, the statements each op runs,
//!   how a transaction begins, which server errors mean "certainly not
//!   applied".
//! - [`session`]: one connection on `tokio-postgres` or `mysql_async`,
//!   behind the same few calls (run a statement, read integers, read a list).
//! - [`ops`]: what each workload's operations do, written once over a
//!   session.
//! - [`client`]: the run loop's client (lazy connections, routing to the
//!   primary or the worker's own node, `ok` / `fail` / `info`).
//!
//! The SQL each workload runs is listed in `docs/sql.md`.

pub mod client;
pub mod dialect;
pub mod ops;
pub mod session;

pub use client::{Route, SqlConnect};
pub use dialect::Dialect;
pub use session::Server;

use harness::control::Secret;
use serde::Deserialize;
use std::time::Duration;

/// A transaction isolation level.
/// A transaction isolation level.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    #[default]
    Serializable,
    RepeatableRead,
    ReadCommitted,
    ReadUncommitted,
}

impl Isolation {
    /// As SQL writes it (`ISOLATION LEVEL ...`).
    pub fn sql(self) -> &'static str {
        match self {
            Isolation::Serializable => "SERIALIZABLE",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::ReadUncommitted => "READ UNCOMMITTED",
        }
    }
}

/// `client: {sql: ...}` in a process target.
/// `client: {sql: ...}`: the built-in SQL client.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SqlSpec {
    /// The protocol and dialect.
    pub sql: Dialect,
    /// The server's port.
    #[serde(default)]
    #[schemars(with = "u16", range(min = 1), extend("x-default" = "the dialect's: 3306, 5432"))]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default)]
    #[schemars(
        with = "String",
        length(min = 1),
        example = &"shakedown",
        extend("x-default" = "the dialect's: root, postgres")
    )]
    pub user: Option<String>,
    /// The user's password, if it has one.
    #[serde(default)]
    #[schemars(with = "Secret")]
    pub password: Option<Secret>,
    /// The database.
    #[serde(default)]
    #[schemars(
        with = "String",
        length(min = 1),
        example = &"jepsen",
        extend("x-default" = "the dialect's: test, postgres")
    )]
    pub database: Option<String>,
    /// The isolation level of every transaction; absent: the server's
    /// default level (nothing is set).
    #[serde(default)]
    #[schemars(with = "Isolation", extend("x-default" = "the server's"))]
    pub isolation: Option<Isolation>,
    /// Statements run on every new connection, in order.
    #[serde(default)]
    #[schemars(example = ["SET SESSION innodb_snapshot_isolation = ON"])]
    pub setup: Vec<String>,
}

impl SqlSpec {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.sql.default_port())
    }

    pub fn user(&self) -> &str {
        self.user.as_deref().unwrap_or(self.sql.default_user())
    }

    pub fn database(&self) -> &str {
        self.database
            .as_deref()
            .unwrap_or(self.sql.default_database())
    }

    /// Checked before any node is touched; the password's variable must be
    /// set (its value is never shown).
    pub fn validate(&self) -> Result<(), String> {
        if self.port == Some(0) {
            return Err("target.client.port: expected a port from 1 to 65535, found 0".into());
        }
        if self.user.as_deref().is_some_and(|u| u.trim().is_empty()) {
            return Err("target.client.user: expected a user name, found an empty one".into());
        }
        if self
            .database
            .as_deref()
            .is_some_and(|d| d.trim().is_empty())
        {
            return Err(
                "target.client.database: expected a database name, found an empty one".into(),
            );
        }
        if let Some(p) = &self.password {
            p.reveal()
                .map_err(|e| format!("target.client.password: {e}"))?;
        }
        for (i, s) in self.setup.iter().enumerate() {
            if s.trim().is_empty() {
                return Err(format!(
                    "target.client.setup[{i}]: expected an SQL statement, found an empty one"
                ));
            }
        }
        Ok(())
    }

    /// The server on `host`, for a session (the password revealed here,
    /// kept out of every `Debug`).
    pub fn server(&self, host: &str, connect_timeout: Duration) -> Result<Server, String> {
        let password = match &self.password {
            Some(p) => Some(
                p.reveal()
                    .map_err(|e| format!("target.client.password: {e}"))?,
            ),
            None => None,
        };
        Ok(Server::new(
            self.sql,
            host,
            self.port(),
            self.user(),
            password.as_deref(),
            self.database(),
            connect_timeout,
        ))
    }
}

/// A client's own timeout: a little under the run loop's, so it notices
/// first; connections get at most 2 s.
pub fn timeouts(op_timeout: Duration) -> (Duration, Duration) {
    let timeout = op_timeout
        .saturating_sub(Duration::from_millis(500))
        .max(Duration::from_millis(500));
    (timeout, timeout.min(Duration::from_secs(2)))
}
