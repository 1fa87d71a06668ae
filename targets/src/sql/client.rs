//! The run-loop client: one per worker, over either protocol.
//!
//! Connections are opened on first use (and again after one broke), so a
//! refused connection is a `fail` of the op that needed it. Before its
//! first op, a connection that may write creates the workload's tables
//! (once per run, whichever worker gets there first).
//!
//! Routing ([`Route`]): every op to one node (a primary), every op to the
//! worker's own node (multi-primary clusters such as Galera, or whatever
//! the process target runs), or writes to the primary and read-only ops to
//! the worker's own node when that is a replica (PostgreSQL's
//! `read-from: replicas`). The `node` every op records names the node the
//! worker is bound to.

use super::dialect::Dialect;
use super::ops::{Body, Broke, Phase};
use super::session::{Server, Session};
use super::Isolation;
use harness::run::{Client, Completion, Connect, OpRequest};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Which server a worker's ops go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Every op to this node.
    Primary(String),
    /// Every op to the worker's own node.
    Own,
    /// Writes to the primary; read-only ops to the worker's own node when
    /// it is not the primary (a hot standby: PostgreSQL runs its
    /// SERIALIZABLE reads at REPEATABLE READ there, the only snapshot a
    /// standby offers).
    ReplicaReads { primary: String },
}

/// Opens clients; what every client shares.
#[derive(Clone, Debug)]
pub struct SqlConnect {
    pub dialect: Dialect,
    /// Node name -> where its server listens and how to log in.
    pub servers: BTreeMap<String, Server>,
    pub route: Route,
    /// None: the server's own default level.
    pub isolation: Option<Isolation>,
    /// Run on every new connection.
    pub setup: Vec<String>,
    pub workload: &'static str,
    /// Bank: whether a transfer may overdraw an account.
    pub negative_balances: bool,
    /// Each op gives up after this (a little under the run loop's timeout).
    pub timeout: Duration,
    /// Whether the workload's tables exist (made once, under the lock).
    tables: Arc<tokio::sync::Mutex<bool>>,
}

impl SqlConnect {
    /// `workload` must be one of `dialect.workloads()`.
    pub fn new(
        dialect: Dialect,
        servers: BTreeMap<String, Server>,
        route: Route,
        workload: &workloads::Workload,
        timeout: Duration,
    ) -> Result<SqlConnect, String> {
        let name = dialect
            .workloads()
            .iter()
            .find(|w| **w == workload.name())
            .ok_or_else(|| {
                format!(
                    "the {} SQL client has no statements for workload {:?}; it supports {}",
                    dialect.name(),
                    workload.name(),
                    dialect.workloads().join(", ")
                )
            })?;
        Ok(SqlConnect {
            dialect,
            servers,
            route,
            isolation: None,
            setup: Vec::new(),
            workload: name,
            negative_balances: matches!(workload, workloads::Workload::Bank(o) if o.negative_balances),
            timeout,
            tables: Arc::new(tokio::sync::Mutex::new(false)),
        })
    }

    pub fn isolation(mut self, level: Option<Isolation>) -> SqlConnect {
        self.isolation = level;
        self
    }

    pub fn setup(mut self, statements: Vec<String>) -> SqlConnect {
        self.setup = statements;
        self
    }

    fn conn(&self, node: &str, standby: bool) -> Result<Conn, String> {
        let server = self
            .servers
            .get(node)
            .cloned()
            .ok_or_else(|| format!("node {node} is not one of the target's nodes"))?;
        let isolation = match self.isolation {
            Some(Isolation::Serializable) if standby => Some(Isolation::RepeatableRead),
            i => i,
        };
        Ok(Conn {
            server,
            isolation,
            setup: self.setup.clone(),
            makes_tables: (!standby).then(|| self.tables.clone()),
            workload: self.workload,
            live: None,
        })
    }
}

impl Connect for SqlConnect {
    type Client = SqlClient;

    async fn open(&self, node: &str, _process: u64) -> Result<SqlClient, String> {
        let (main, replica) = match &self.route {
            Route::Primary(p) => (self.conn(p, false)?, None),
            Route::Own => (self.conn(node, false)?, None),
            Route::ReplicaReads { primary } if primary != node => {
                (self.conn(primary, false)?, Some(self.conn(node, true)?))
            }
            Route::ReplicaReads { primary } => (self.conn(primary, false)?, None),
        };
        Ok(SqlClient {
            dialect: self.dialect,
            main,
            replica,
            negative_balances: self.negative_balances,
            workload: self.workload,
            timeout: self.timeout,
        })
    }
}

/// One server, connected lazily and again after the connection broke.
struct Conn {
    server: Server,
    isolation: Option<Isolation>,
    setup: Vec<String>,
    /// Shared with every client: set once the tables exist. None on a
    /// standby, which cannot make them.
    makes_tables: Option<Arc<tokio::sync::Mutex<bool>>>,
    workload: &'static str,
    live: Option<Session>,
}

impl Conn {
    /// The connection, opened (and the tables made, once) if there is none
    /// or it broke. An error here means nothing of the op was sent.
    async fn get(&mut self) -> Result<&mut Session, String> {
        if self.live.as_ref().is_some_and(Session::is_closed) {
            self.live = None;
        }
        if self.live.is_none() {
            let mut s = Session::open(&self.server, self.isolation, &self.setup).await?;
            if let Some(made) = &self.makes_tables {
                let mut made = made.lock().await;
                if !*made {
                    for ddl in self.server.dialect().tables(self.workload) {
                        s.batch(ddl)
                            .await
                            .map_err(|e| format!("creating the tables: {}", e.error))?;
                    }
                    *made = true;
                }
            }
            self.live = Some(s);
        }
        Ok(self.live.as_mut().expect("connected above"))
    }
}

/// A worker's client: its main server, and its own node's replica if it
/// reads from one.
pub struct SqlClient {
    dialect: Dialect,
    main: Conn,
    replica: Option<Conn>,
    negative_balances: bool,
    workload: &'static str,
    timeout: Duration,
}

impl SqlClient {
    /// Runs one op on `conn` within the client's timeout and maps how it
    /// ended.
    async fn run(dialect: Dialect, conn: &mut Conn, timeout: Duration, body: &Body) -> Completion {
        let level = conn.isolation;
        let mut phase = Phase::Connecting;
        let outcome = tokio::time::timeout(timeout, async {
            let session = conn.get().await.map_err(|error| Broke {
                phase: Phase::Connecting,
                error,
                code: None,
            })?;
            phase = Phase::Running;
            body.exec(session, dialect, level, &mut phase).await
        })
        .await;
        let broke = match outcome {
            Ok(Ok(value)) => return Completion::Ok(value),
            Ok(Err(b)) => b,
            Err(_) => Broke {
                phase,
                error: format!("timed out after {timeout:?}"),
                code: None,
            },
        };
        // A connection in an unknown state is not reused: the next op
        // opens a fresh one.
        if broke.code.is_none() || broke.phase == Phase::Committing {
            conn.live = None;
        } else if let (true, Some(s)) = (body.in_txn(), conn.live.as_mut()) {
            // Leave the transaction (the server may have rolled back only
            // the statement: MySQL's lock wait timeout), so nothing of it
            // can commit and the next op can begin.
            if s.batch("ROLLBACK").await.is_err() {
                conn.live = None;
            }
        }
        if broke.phase == Phase::Connecting {
            // Refused or unreachable: give the server a moment rather than
            // spin through fails.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        broke.completion(dialect, body.writes())
    }

    async fn perform(&mut self, body: Body) -> Completion {
        let conn = match &mut self.replica {
            Some(r) if !body.writes() => r,
            _ => &mut self.main,
        };
        Self::run(self.dialect, conn, self.timeout, &body).await
    }
}

impl Client for SqlClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        let body = match Body::of(self.workload, self.negative_balances, op) {
            Ok(b) => b,
            Err(e) => return Completion::fail(e),
        };
        match self.perform(body).await {
            // Writes complete with the request's value.
            Completion::Ok(_)
                if matches!(
                    op.f,
                    "write" | "cas" | "init" | "transfer" | "add" | "enqueue"
                ) =>
            {
                Completion::Ok(op.value.clone())
            }
            c => c,
        }
    }
}
