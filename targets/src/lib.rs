//! Databases under test, behind one contract.
//!
//! A [`Target`] is what a database gives a run (Jepsen's DB, Kill, Pause,
//! Primary, LogFiles and Client protocols, as plain Rust):
//!
//! | step            | method                       | who calls it                         |
//! |-----------------|------------------------------|--------------------------------------|
//! | node setup      | [`Target::packages`]         | `shakedown run`, with the OS setup   |
//! | install         | [`Target::install`]          | once per run, before start           |
//! | start + ready   | [`Target::start`]            | bounded by the target's own timeout  |
//! | kill / pause    | [`Target::process`]          | the nemesis (pid file, start script) |
//! | primaries       | [`Target::primaries`]        | the nemesis (`isolate the primary`)  |
//! | watch primaries | [`Target::watch_primaries`]  | the run, recorded ([`watch`])        |
//! | logs            | [`Target::logs`]             | downloaded into `<run>/<node>/`      |
//! | data dirs       | [`Target::data_dirs`]        | disk faults (power loss, corruption) |
//! | teardown        | [`Target::teardown`]         | before start (leftovers) and at end  |
//! | clients         | [`Target::clients`]          | one per worker, for one workload     |
//!
//! The modules: [`etcd`], [`mariadb`], [`postgres`] and [`redis`] (built in), [`process`] (any database described in
//! the test file, with clients in any language through [`exec`], or the
//! built-in SQL clients of [`sql`]). The test
//! file names a target with [`TargetSpec`]; [`TargetSpec::build`] makes it.
//!
//! A new built-in target is one module that implements [`Target`] plus a
//! variant of [`TargetSpec`]; nothing in the binary changes.

pub mod etcd;
pub mod exec;
pub mod mariadb;
pub mod postgres;
pub mod process;
pub mod redis;
mod spec;
pub mod sql;
pub mod watch;

pub use spec::TargetSpec;
pub use watch::WatchPrimaries;

use harness::control::{Cluster, Error, ErrorKind, Node, Remote};
use harness::run::{BoxConnect, BoxFuture};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use workloads::Workload;

/// What the run tells a target when it builds it.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The nodes, in order (`{index}` is the position here).
    pub nodes: Vec<Node>,
    /// The test file's directory: relative paths in the target's settings
    /// are relative to it.
    pub test_dir: PathBuf,
    /// Unique per run: keys, tokens and cluster ids derive from it so two
    /// runs never see each other's data.
    pub run_id: String,
    /// Extra environment for the database process on each node (by node
    /// name): libfaketime's on local nodes, so clock faults reach it.
    pub db_env: BTreeMap<String, Vec<(String, String)>>,
}

impl Ctx {
    pub fn env_for(&self, node: &str) -> Vec<(String, String)> {
        self.db_env.get(node).cloned().unwrap_or_default()
    }
}

/// What a target's clients are opened for.
#[derive(Clone, Debug)]
pub struct ClientCtx<'a> {
    pub workload: &'a Workload,
    /// The run directory (clients may write files there, e.g. stderr).
    pub run_dir: &'a Path,
    /// The run loop's per-operation timeout; a client should give up a
    /// little earlier so it notices its own timeouts.
    pub op_timeout: Duration,
}

/// The process under test on one node, for kill, pause and restart.
#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    /// Names the running process's pid (its process group is signalled).
    pub pid_file: String,
    /// A shell script that starts the process in the background and
    /// returns (see `harness::control::daemon::start_script`).
    pub start: String,
    /// The database's log on the node, for error messages.
    pub log: String,
}

/// A log file to download: `remote` on the node, saved as `<run>/<node>/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    pub remote: String,
    pub name: String,
}

/// Which nodes are primaries now (asked during the run).
pub type PrimariesFn =
    Arc<dyn Fn(Cluster) -> BoxFuture<'static, Result<Vec<String>, String>> + Send + Sync>;

/// A database under test. See the module documentation for who calls what.
pub trait Target: Send + Sync + 'static {
    /// `etcd`, `process`, ...: in messages ("etcd did not come up").
    fn name(&self) -> &str;

    /// Debian packages every node needs (installed with the OS setup).
    fn packages(&self) -> Vec<String>;

    /// The workloads this target has clients for.
    fn workloads(&self) -> Vec<&'static str>;

    /// Whether clock faults reach the database on local nodes, where they
    /// work through shakedown's clock shim (`nemesis::clock`): true for
    /// programs reading the clock through libc, false for Go programs.
    fn sees_clock_shim(&self) -> bool {
        true
    }

    /// Copies files and runs install steps on every node; idempotent.
    fn install<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        let _ = cluster;
        Box::pin(async { Ok(()) })
    }

    /// Starts every member and waits (within the target's own bound) until
    /// the database serves. The error names the nodes that did not come up
    /// and the end of their logs.
    fn start<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>>;

    /// Stops every member (resuming paused ones) and, unless `keep_data`,
    /// deletes their data. Also run before `start`, to clear what an
    /// earlier run left.
    fn teardown<'a>(
        &'a self,
        cluster: &'a Cluster,
        keep_data: bool,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// The node's process under test, if it has one shakedown started.
    fn process(&self, node: &Node) -> Option<Process>;

    /// Asks the database which nodes are primaries, if it has such a notion.
    fn primaries(&self) -> Option<PrimariesFn> {
        None
    }

    /// Which nodes are primary, asked every half second while the run goes
    /// and recorded in the history on every change ([`WatchPrimaries`]),
    /// so the report shows failovers beside the faults. None: not watched.
    fn watch_primaries(&self) -> Option<PrimariesFn> {
        None
    }

    /// Log files to download from a node after the run.
    fn logs(&self, node: &Node) -> Vec<LogFile>;

    /// The directories on a node where the database keeps what it must
    /// not lose: disk faults act there. For power loss, shakedown mounts its
    /// write-back file system on each (before install, so even what install
    /// writes goes through it) and the target's teardown must empty, not
    /// remove, them while mounted. Empty: the target declares none, and
    /// disk faults are refused for it.
    fn data_dirs(&self, node: &Node) -> Vec<String> {
        let _ = node;
        Vec::new()
    }

    /// Opens clients for one workload (only ever asked for one of
    /// [`Target::workloads`]).
    fn clients(&self, ctx: &ClientCtx<'_>) -> Result<BoxConnect, String>;
}

/// The remote of a node, or an error naming it.
pub fn remote<'a>(cluster: &'a Cluster, name: &str) -> Result<&'a Remote, Error> {
    cluster.node(name).ok_or_else(|| {
        Error::new(
            name,
            ErrorKind::Local(format!("node {name} is not in the cluster")),
        )
    })
}

/// The last `lines` lines of a file on a node, indented for an error
/// message ("" when it cannot be read).
pub async fn log_tail(remote: &Remote, path: &str, lines: usize) -> String {
    let cmd = format!(
        "tail -n {lines} {} 2>/dev/null",
        harness::control::quote::q(path)
    );
    match remote.stdout(cmd).await {
        Ok(out) if !out.trim().is_empty() => out.trim().replace('\n', "\n    "),
        _ => String::new(),
    }
}

/// An error naming the node, why it is not up and the end of its log.
pub async fn not_up(remote: &Remote, node: &str, log: &str, why: &str) -> Error {
    let tail = log_tail(remote, log, 5).await;
    let log = if tail.is_empty() {
        format!("; its log {log} is empty")
    } else {
        format!("; end of its log:\n    {tail}")
    };
    Error::new(node, ErrorKind::Local(format!("{why}{log}")))
}
