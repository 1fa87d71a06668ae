//! `target: {name: process, ...}`: any database, described in the test file.
//!
//! ```yaml
//! target:
//!   name: process
//!   packages: [python3]                  # Debian packages on every node
//!   files:                               # copied to every node before install
//!     - {from: mydb.py, to: /opt/mydb/mydb.py}
//!   install: "mkdir -p /opt/mydb"        # shell, once per node, as root
//!   start: "python3 /opt/mydb/mydb.py --port 7700 --data {data}"
//!   ready: "nc -z {host} 7700"           # retried until it exits 0
//!   ready-timeout: 30s
//!   logs: ["{data}/mydb.log"]
//!   client:
//!     command: ["python3", "mydb_client.py"]
//! ```
//!
//! or, for a database that speaks the MySQL or PostgreSQL protocol, a
//! built-in SQL client instead of a program ([`crate::sql`]):
//!
//! ```yaml
//!   client: {sql: mysql, port: 3306, user: jepsen, password: {env: DB_PASSWORD},
//!            database: jepsen, isolation: repeatable-read}
//! ```
//!
//! Each worker's SQL client connects to its own node's `{host}`.
//!
//! `start` is a foreground command: shakedown runs it in its own session
//! under a pid file, output in `process.log` beside the data directory
//! (emptied at install, so it holds that run's output only; restarts
//! append), so kill, pause and restart work as for any
//! built-in target. With `user: NAME` it runs as that user (`setpriv`,
//! its groups initialized) in a `{data}` it owns; the pid file, the log
//! and the session stay root's.
//! A start command that daemonizes (returns while what it started runs
//! on, or whose processes leave its session: `--daemonize yes`, `pg_ctl
//! start`, a double fork) is refused, and what it left is stopped: its
//! processes are found by the mark every daemon carries
//! (`harness::control::daemon`), whatever session they moved to. Before
//! anything starts, `ready` must fail on every node: a probe that already
//! succeeds is answered by a server this run did not start, which the run
//! would otherwise test.
//! Placeholders in `install`, `start`, `ready` and `logs`: `{node}`,
//! `{host}`, `{data}` (a per-node directory shakedown creates, and wipes at
//! teardown), `{nodes}` and `{hosts}` (all, comma-separated), `{index}`
//! (0-based); nowhere else (a placeholder in `files` or `client` is an
//! error). The client is any program speaking the [`exec`](crate::exec)
//! protocol, one per worker, on the controller.

use crate::exec::{braced_words, ExecConnect, ExecSpec};
use crate::sql::{self, Route, SqlConnect, SqlSpec};
use crate::{log_tail, remote, ClientCtx, Ctx, LogFile, Process, Target};
use harness::control::daemon::{self, Daemon};
use harness::control::quote::q;
use harness::control::{Cluster, Cmd, Error, ErrorKind, Node, Remote};
use harness::run::{BoxConnect, BoxFuture};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The test file's `target:` for `name: process`.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "ProcessSpec",
    example = serde_json::json!({"name": "process", "packages": ["redis-server"], "start": "redis-server --bind {host} --port 6379 --dir {data}", "ready": "redis-cli -h {host} ping | grep -q PONG", "ready-timeout": "20s", "client": {"command": ["/usr/bin/python3", "client.py"]}})
)]
pub struct Spec {
    /// Debian packages every node needs.
    #[serde(default)]
    #[schemars(example = ["redis-server"])]
    pub packages: Vec<String>,
    /// Files copied to every node before `install`.
    #[serde(default)]
    pub files: Vec<FileCopy>,
    /// Shell run once per node, as root, before start.
    #[serde(default)]
    #[schemars(with = "String", example = &"tar -xzf /opt/mydb.tar.gz -C /opt")]
    pub install: Option<String>,
    /// The database's foreground command (placeholders allowed).
    #[schemars(example = &"mydb --listen {host}:7000 --data {data}")]
    pub start: String,
    /// The Unix user the database runs as (it must exist on every node by
    /// the end of `install`): `{data}` is owned by it and `start` runs as
    /// it (`setpriv`, its groups initialized). Default: root.
    #[serde(default)]
    #[schemars(with = "String", example = &"mysql")]
    pub user: Option<String>,
    /// Shell run on the node until it exits 0 (placeholders allowed).
    #[schemars(example = &"nc -z {host} 7000")]
    pub ready: String,
    /// How long `ready` may take to pass.
    #[serde(
        default = "default_ready_timeout",
        deserialize_with = "harness::config::duration"
    )]
    #[schemars(
        schema_with = "harness::config::duration_any",
        default = "default_ready_timeout_text"
    )]
    pub ready_timeout: Duration,
    /// Files on the node to download after the run (placeholders allowed).
    #[serde(default)]
    #[schemars(example = ["{data}/server.log"])]
    pub logs: Vec<String>,
    pub client: ClientSpec,
    /// The workloads the client implements (default: every workload the
    /// client can run: all for a program, the SQL client's own list).
    #[serde(default)]
    #[schemars(
        schema_with = "workload_names",
        extend("x-default" = "every workload the client can run")
    )]
    pub workloads: Option<Vec<String>>,
}

/// A file copied to every node.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileCopy {
    /// On the controller, relative to the test file.
    #[schemars(example = &"mydb.conf")]
    pub from: PathBuf,
    /// Absolute path on the node.
    #[schemars(example = &"/etc/mydb.conf")]
    pub to: String,
}

/// `client:`: a program speaking the exec protocol (`command`), or a
/// built-in SQL client (`sql`), never both.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawClient")]
pub enum ClientSpec {
    Exec(ExecSpec),
    Sql(SqlSpec),
}

/// Every key either form has, to say which form a mix was meant to be.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawClient {
    command: Option<Vec<String>>,
    env: Option<std::collections::BTreeMap<String, String>>,
    sql: Option<sql::Dialect>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<harness::control::Secret>,
    database: Option<String>,
    isolation: Option<sql::Isolation>,
    setup: Option<Vec<String>>,
}

impl TryFrom<RawClient> for ClientSpec {
    type Error = String;
    fn try_from(r: RawClient) -> Result<ClientSpec, String> {
        let sql_keys: Vec<&str> = [
            ("port", r.port.is_some()),
            ("user", r.user.is_some()),
            ("password", r.password.is_some()),
            ("database", r.database.is_some()),
            ("isolation", r.isolation.is_some()),
            ("setup", r.setup.is_some()),
        ]
        .iter()
        .filter(|(_, given)| *given)
        .map(|(k, _)| *k)
        .collect();
        match (r.command, r.sql) {
            (Some(_), Some(_)) => Err("target.client: give either `command` (a client program) or `sql` (a built-in SQL client: mysql or postgres), not both".into()),
            (None, None) => Err("target.client: expected `command` (a client program speaking the exec protocol) or `sql` (a built-in SQL client: mysql or postgres)".into()),
            (Some(command), None) => match sql_keys.first() {
                Some(k) => Err(format!("target.client.{k}: only for a built-in SQL client (`sql: mysql | postgres`), not with `command`")),
                None => Ok(ClientSpec::Exec(ExecSpec {
                    command,
                    env: r.env.unwrap_or_default(),
                })),
            },
            (None, Some(dialect)) => {
                if r.env.is_some() {
                    return Err("target.client.env: only for a client program (`command`), not with `sql`".into());
                }
                Ok(ClientSpec::Sql(SqlSpec {
                    sql: dialect,
                    port: r.port,
                    user: r.user,
                    password: r.password,
                    database: r.database,
                    isolation: r.isolation,
                    setup: r.setup.unwrap_or_default(),
                }))
            }
        }
    }
}

/// Either form, each with only its own keys.
impl schemars::JsonSchema for ClientSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ClientSpec".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`client:`: a program speaking the exec protocol (`command`), or a built-in SQL client (`sql`), never both.",
            "oneOf": [g.subschema_for::<ExecSpec>(), g.subschema_for::<SqlSpec>()],
        })
    }
}

impl ClientSpec {
    pub fn validate(&self, test_dir: &Path) -> Result<(), String> {
        match self {
            ClientSpec::Exec(e) => e.validate(test_dir),
            ClientSpec::Sql(s) => s.validate(),
        }
    }
}

/// `workloads:`: workload names.
fn workload_names(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "string", "enum": workloads::Workload::NAMES},
    })
}

fn default_ready_timeout_text() -> String {
    format!("{}s", default_ready_timeout().as_secs_f64())
}

fn default_ready_timeout() -> Duration {
    Duration::from_secs(30)
}

impl Spec {
    /// Everything that can be checked on the controller: files exist,
    /// placeholders are known, the client command is runnable.
    pub fn validate(&self, test_dir: &Path) -> Result<(), String> {
        for (i, f) in self.files.iter().enumerate() {
            // Copied as written: a `{node}` would make a directory of
            // that name on every node, not one per node.
            let from_text = f.from.to_string_lossy();
            for (field, text) in [("from", from_text.as_ref()), ("to", f.to.as_str())] {
                if let Some(word) = braced_words(text).first() {
                    return Err(format!(
                        "target.files[{i}].{field}: {{{word}}} is not expanded in files (each is copied as written to every node); placeholders work in install, start, ready and logs"
                    ));
                }
            }
            let from = test_dir.join(&f.from);
            if !from.is_file() {
                return Err(format!(
                    "target.files[{i}].from: {} is not a file (paths are relative to the test file)",
                    from.display()
                ));
            }
            if !f.to.starts_with('/') {
                return Err(format!(
                    "target.files[{i}].to: expected an absolute path on the node, found {:?}",
                    f.to
                ));
            }
        }
        if self.start.trim().is_empty() {
            return Err("target.start: expected the database's foreground command".into());
        }
        if let Some(u) = &self.user {
            let portable = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
            if u.is_empty() || u.starts_with('-') || !u.chars().all(portable) {
                return Err(format!(
                    "target.user: expected a Unix user name (letters, digits, '_', '-', '.'), found {u:?}"
                ));
            }
        }
        if self.ready.trim().is_empty() {
            return Err(
                "target.ready: expected a shell command that exits 0 once the database serves"
                    .into(),
            );
        }
        if self.ready_timeout.is_zero() {
            return Err("target.ready-timeout: expected more than 0 s".into());
        }
        let mut fields = vec![("start", &self.start), ("ready", &self.ready)];
        if let Some(i) = &self.install {
            fields.push(("install", i));
        }
        for (name, text) in fields {
            check_placeholders(text).map_err(|e| format!("target.{name}: {e}"))?;
        }
        for (i, l) in self.logs.iter().enumerate() {
            check_placeholders(l).map_err(|e| format!("target.logs[{i}]: {e}"))?;
        }
        if let Some(ws) = &self.workloads {
            for w in ws {
                if !workloads::Workload::NAMES.contains(&w.as_str()) {
                    return Err(format!(
                        "target.workloads: unknown workload {w:?}, expected one of {}",
                        workloads::Workload::NAMES.join(", ")
                    ));
                }
                if let ClientSpec::Sql(s) = &self.client {
                    if !s.sql.workloads().contains(&w.as_str()) {
                        return Err(format!(
                            "target.workloads: the built-in {} SQL client has no statements for {w:?}; it runs {}",
                            s.sql.name(),
                            s.sql.workloads().join(", ")
                        ));
                    }
                }
            }
        }
        self.client.validate(test_dir)
    }
}

impl Spec {
    /// The workloads the client implements: those listed, else all.
    pub fn workloads(&self) -> Vec<&'static str> {
        match &self.workloads {
            None => match &self.client {
                ClientSpec::Exec(_) => workloads::Workload::NAMES.to_vec(),
                ClientSpec::Sql(s) => s.sql.workloads().to_vec(),
            },
            Some(ws) => workloads::Workload::NAMES
                .iter()
                .copied()
                .filter(|n| ws.iter().any(|w| w == n))
                .collect(),
        }
    }
}

const PLACEHOLDERS: &[&str] = &["node", "host", "data", "nodes", "hosts", "index"];

/// Every `{word}` must be a known placeholder (a typo like `{dta}` would
/// otherwise reach the shell as text).
fn check_placeholders(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let word = &after[..close];
        if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !word.is_empty()
            && !PLACEHOLDERS.contains(&word)
        {
            return Err(format!(
                "unknown placeholder {{{word}}}; expected one of {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The database described by a [`Spec`], on the run's nodes.
pub struct ProcessTarget {
    spec: Spec,
    ctx: Ctx,
}

impl ProcessTarget {
    pub fn new(spec: Spec, ctx: Ctx) -> ProcessTarget {
        ProcessTarget { spec, ctx }
    }

    /// The node's own directory: pid file and output beside `data/`. The
    /// same for every run, so a run finds (and stops) what an earlier one
    /// left running.
    fn dir(&self, node: &Node) -> String {
        match &node.data_dir {
            Some(d) => format!("{d}/process"),
            None => format!("/var/lib/shakedown/{}/process", node.name),
        }
    }

    fn data(&self, node: &Node) -> String {
        format!("{}/data", self.dir(node))
    }

    fn pid_file(&self, node: &Node) -> String {
        format!("{}/process.pid", self.dir(node))
    }

    fn log_file(&self, node: &Node) -> String {
        format!("{}/process.log", self.dir(node))
    }

    /// Fills in the placeholders for one node.
    pub fn expand(&self, text: &str, node: &Node) -> String {
        let index = self
            .ctx
            .nodes
            .iter()
            .position(|n| n.name == node.name)
            .unwrap_or(0);
        let join =
            |f: fn(&Node) -> &str| self.ctx.nodes.iter().map(f).collect::<Vec<_>>().join(",");
        text.replace("{nodes}", &join(|n| &n.name))
            .replace("{hosts}", &join(|n| &n.host))
            .replace("{node}", &node.name)
            .replace("{host}", &node.host)
            .replace("{data}", &self.data(node))
            .replace("{index}", &index.to_string())
    }

    fn daemon(&self, node: &Node) -> Daemon {
        let start = self.expand(&self.spec.start, node);
        // As `user`: the pid file, the log and the session stay root's (the
        // shell opens the log before switching), and `setpriv` execs, so
        // the pid file names the database's own process.
        let script = match &self.spec.user {
            None => start,
            Some(u) => format!(
                "HOME=$(getent passwd {u} | cut -d: -f6) USER={u} LOGNAME={u} exec setpriv --reuid={u} --regid=\"$(id -g -- {u})\" --init-groups -- /bin/sh -c {start}",
                u = q(u),
                start = q(&start)
            ),
        };
        Daemon {
            bin: "/bin/sh".into(),
            args: vec!["-c".into(), script],
            pidfile: self.pid_file(node),
            logfile: self.log_file(node),
            chdir: Some(self.data(node)),
            env: self.ctx.env_for(&node.name),
            user: None,
        }
    }

    /// `{data}` owned by `user`, who must exist on the node and reach it.
    async fn own_data(&self, r: &Remote, node: &Node, user: &str) -> Result<(), Error> {
        let data = self.data(node);
        let refuse =
            |why: String| Error::new(&node.name, ErrorKind::Local(format!("target.user: {why}")));
        let known = r
            .run(Cmd::new(format!("id -u -- {} >/dev/null 2>&1", q(user))))
            .await?;
        if !known.success() {
            return Err(refuse(format!(
                "no user {user:?} on node {} (create it in `install`, e.g. `id -u {user} || useradd --system --no-create-home {user}`)",
                node.name
            )));
        }
        r.run_ok(Cmd::new(format!(
            "chown -R -- {u}:\"$(id -g -- {u})\" {d}",
            u = q(user),
            d = q(&data)
        )))
        .await?;
        let reach = r
            .run(Cmd::new(format!(
                "setpriv --reuid={u} --regid=\"$(id -g -- {u})\" --init-groups -- test -w {d} -a -x {d}",
                u = q(user),
                d = q(&data)
            )))
            .await?;
        if !reach.success() {
            return Err(refuse(format!(
                "user {user:?} cannot write {data} on node {} although it owns it: a directory above it is closed to that user (`chmod o+x` each one)",
                node.name
            )));
        }
        Ok(())
    }

    /// Before anything starts: `ready` must not succeed yet on any node,
    /// or what answers it is a server this run did not start (left by
    /// another run, or another program on the port), which it would test.
    async fn nothing_answers_yet(&self, cluster: &Cluster) -> Result<(), Error> {
        for node in &self.ctx.nodes {
            let r = remote(cluster, &node.name)?;
            let probe = self.expand(&self.spec.ready, node);
            let out = r
                .run(Cmd::new(probe.clone()).timeout(Duration::from_secs(10)))
                .await;
            if matches!(&out, Ok(o) if o.success()) {
                return Err(Error::new(
                    &node.name,
                    ErrorKind::Local(format!(
                        "before the database was started, its ready probe `{probe}` already succeeds: a server this run did not start answers there (left by another run, or another program on that port); stop it, or make `ready` check this database"
                    )),
                ));
            }
        }
        Ok(())
    }

    /// An error if what the start command made on `node` runs outside
    /// the session shakedown started it in (or on after it returned).
    async fn refuse_daemonized(&self, cluster: &Cluster, node: &Node) -> Result<(), Error> {
        let r = remote(cluster, &node.name)?;
        let strays = daemon::strays(r, &self.pid_file(node)).await?;
        if strays.is_empty() {
            return Ok(());
        }
        // Stopped here so the error can say so; teardown would too.
        daemon::stop(r, &self.pid_file(node), Duration::from_secs(2)).await?;
        Err(Error::new(
            &node.name,
            ErrorKind::Local(format!(
                "the start command daemonized: {} process(es) it started run outside the session shakedown started it in ({}); shakedown kills, pauses and restarts the database through that session, so `start` must run the database in the foreground (e.g. `redis-server --daemonize no`, `postgres -D DIR` instead of `pg_ctl start`); they were stopped",
                strays.len(),
                strays.join("; ")
            )),
        ))
    }

    /// Runs `ready` on every node not yet ready until all are, or the
    /// timeout passes; also fails at once when a node's process died.
    async fn wait_ready(&self, cluster: &Cluster) -> Result<(), Error> {
        let deadline = Instant::now() + self.spec.ready_timeout;
        let mut waiting: Vec<&Node> = self.ctx.nodes.iter().collect();
        let mut last: Vec<(String, String)> = Vec::new();
        loop {
            last.clear();
            let mut still = Vec::new();
            for node in waiting {
                let r = remote(cluster, &node.name)?;
                if daemon::running(r, &self.pid_file(node)).await?.is_none() {
                    // Gone, but perhaps only into the background.
                    self.refuse_daemonized(cluster, node).await?;
                    return Err(self.not_up(cluster, node, "the start command exited").await);
                }
                let probe =
                    Cmd::new(self.expand(&self.spec.ready, node)).timeout(Duration::from_secs(10));
                match r.run(probe).await {
                    Ok(out) if out.success() => {}
                    Ok(out) => {
                        last.push((node.name.clone(), out.stderr_str().trim().to_string()));
                        still.push(node);
                    }
                    Err(e) => {
                        last.push((node.name.clone(), e.to_string()));
                        still.push(node);
                    }
                }
            }
            waiting = still;
            if waiting.is_empty() {
                // Ready, and by what this run started, in its session.
                for node in &self.ctx.nodes {
                    self.refuse_daemonized(cluster, node).await?;
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                let node = waiting[0];
                let why = format!(
                    "the ready probe did not succeed within {:?}{}",
                    self.spec.ready_timeout,
                    match last.first() {
                        Some((_, e)) if !e.is_empty() => format!(" (last: {e})"),
                        _ => String::new(),
                    }
                );
                return Err(self.not_up(cluster, node, &why).await);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// An error naming the node, what happened and the end of its log.
    async fn not_up(&self, cluster: &Cluster, node: &Node, why: &str) -> Error {
        let tail = match cluster.node(&node.name) {
            Some(r) => log_tail(r, &self.log_file(node), 5).await,
            None => String::new(),
        };
        let log = if tail.is_empty() {
            format!("; its log {} is empty", self.log_file(node))
        } else {
            format!("; end of its log:\n    {tail}")
        };
        Error::new(&node.name, ErrorKind::Local(format!("{why}{log}")))
    }
}

impl Target for ProcessTarget {
    fn name(&self) -> &str {
        "process"
    }

    fn packages(&self) -> Vec<String> {
        self.spec.packages.clone()
    }

    fn workloads(&self) -> Vec<&'static str> {
        self.spec.workloads()
    }

    fn install<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            for node in &self.ctx.nodes {
                let r = remote(cluster, &node.name)?;
                for f in &self.spec.files {
                    let parent = Path::new(&f.to)
                        .parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "/".into());
                    r.run_ok(Cmd::new(format!("mkdir -p -- {}", q(&parent))))
                        .await?;
                    r.upload(&self.ctx.test_dir.join(&f.from), &f.to).await?;
                }
                // This run's output only: the log is beside the data, so
                // it outlives a run. Emptied here, at install, before the
                // run marks where each log ends (so it downloads this one
                // whole); restarts during the run append to it.
                r.run_ok(Cmd::new(format!(
                    "mkdir -p -- {} && : > {}",
                    q(&self.dir(node)),
                    q(&self.log_file(node))
                )))
                .await?;
                if let Some(install) = &self.spec.install {
                    let cmd =
                        Cmd::new(self.expand(install, node)).timeout(Duration::from_secs(600));
                    r.run_ok(cmd).await.map_err(|mut e| {
                        e.command = Some("target.install".into());
                        e
                    })?;
                }
            }
            Ok(())
        })
    }

    fn start<'a>(&'a self, cluster: &'a Cluster) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.nothing_answers_yet(cluster).await?;
            // Start every member before waiting for any: clusters elect a
            // leader only once a quorum runs.
            for node in &self.ctx.nodes {
                let r = remote(cluster, &node.name)?;
                r.run_ok(Cmd::new(format!("mkdir -p -- {}", q(&self.data(node)))))
                    .await?;
                if let Some(user) = &self.spec.user {
                    self.own_data(r, node, user).await?;
                }
                daemon::start(r, &self.daemon(node)).await?;
            }
            self.wait_ready(cluster).await
        })
    }

    fn teardown<'a>(
        &'a self,
        cluster: &'a Cluster,
        keep_data: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            for node in &self.ctx.nodes {
                let r = remote(cluster, &node.name)?;
                daemon::stop(r, &self.pid_file(node), Duration::from_secs(5)).await?;
                if !keep_data {
                    r.run_ok(Cmd::new(format!("rm -rf -- {}", q(&self.data(node)))))
                        .await?;
                }
            }
            Ok(())
        })
    }

    fn process(&self, node: &Node) -> Option<Process> {
        Some(Process {
            pid_file: self.pid_file(node),
            start: daemon::start_script(&self.daemon(node)),
            log: self.log_file(node),
        })
    }

    /// `{data}`: a contract, where the casework of database teams keeps
    /// its files.
    fn data_dirs(&self, node: &Node) -> Vec<String> {
        vec![self.data(node)]
    }

    fn logs(&self, node: &Node) -> Vec<LogFile> {
        let mut logs = vec![LogFile {
            remote: self.log_file(node),
            name: "process.log".into(),
        }];
        for l in &self.spec.logs {
            let remote = self.expand(l, node);
            let name = Path::new(&remote)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "log".into());
            logs.push(LogFile { remote, name });
        }
        logs
    }

    fn clients(&self, ctx: &ClientCtx<'_>) -> Result<BoxConnect, String> {
        match &self.spec.client {
            ClientSpec::Exec(spec) => {
                let connect =
                    ExecConnect::new(spec.clone(), &self.ctx, ctx.workload.name(), ctx.run_dir)?;
                Ok(BoxConnect::new(connect))
            }
            ClientSpec::Sql(spec) => {
                let (timeout, connect_timeout) = sql::timeouts(ctx.op_timeout);
                let servers = self
                    .ctx
                    .nodes
                    .iter()
                    .map(|n| Ok((n.name.clone(), spec.server(&n.host, connect_timeout)?)))
                    .collect::<Result<_, String>>()?;
                let connect =
                    SqlConnect::new(spec.sql, servers, Route::Own, ctx.workload, timeout)?
                        .isolation(spec.isolation)
                        .setup(spec.setup.clone());
                Ok(BoxConnect::new(connect))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> ProcessTarget {
        let spec: Spec = serde_saphyr::from_str(
            "start: \"mydb --port 7700 --data {data} --peers {hosts}\"\nready: \"nc -z {host} 7700\"\nclient: {command: [python3, c.py]}\n",
        )
        .unwrap();
        let mut n2 = Node::new("n2", "10.0.0.2");
        n2.data_dir = Some("/d/n2".into());
        let ctx = Ctx {
            nodes: vec![Node::new("n1", "10.0.0.1"), n2],
            test_dir: PathBuf::from("/t"),
            run_id: "r".into(),
            db_env: Default::default(),
        };
        ProcessTarget::new(spec, ctx)
    }

    #[test]
    fn placeholders_expand_per_node() {
        let t = target();
        let n2 = t.ctx.nodes[1].clone();
        assert_eq!(
            t.expand(&t.spec.start, &n2),
            "mydb --port 7700 --data /d/n2/process/data --peers 10.0.0.1,10.0.0.2"
        );
        assert_eq!(t.expand("{node} {index} {nodes}", &n2), "n2 1 n1,n2");
        let n1 = t.ctx.nodes[0].clone();
        assert_eq!(
            t.expand("{data}", &n1),
            "/var/lib/shakedown/n1/process/data"
        );
        // A shell's own braces are left alone.
        assert_eq!(t.expand("f() { true; }", &n1), "f() { true; }");
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        assert!(check_placeholders("run --data {data} {host}").is_ok());
        assert!(check_placeholders("awk '{print $1}'").is_ok());
        let e = check_placeholders("run --data {dta}").unwrap_err();
        assert!(e.contains("{dta}") && e.contains("{data}"), "{e}");
    }

    #[test]
    fn the_daemon_runs_the_start_command_under_a_pid_file() {
        let t = target();
        let n2 = t.ctx.nodes[1].clone();
        let p = t.process(&n2).unwrap();
        assert_eq!(p.pid_file, "/d/n2/process/process.pid");
        assert!(p.start.contains("/d/n2/process/data"), "{}", p.start);
        assert!(p.start.contains("setsid"), "{}", p.start);
    }

    /// With `user:`, the start command runs through setpriv as that user
    /// (restarts too: the nemesis runs the same script); a name that is
    /// not a user name is refused.
    #[test]
    fn a_user_runs_the_start_command_through_setpriv() {
        let mut t = target();
        t.spec.user = Some("mydb".into());
        let n2 = t.ctx.nodes[1].clone();
        let p = t.process(&n2).unwrap();
        assert!(
            p.start.contains("exec setpriv --reuid=mydb --regid=\"$(id -g -- mydb)\" --init-groups -- /bin/sh -c"),
            "{}",
            p.start
        );
        assert!(p.start.contains("/d/n2/process/data"), "{}", p.start);
        assert!(!target().process(&n2).unwrap().start.contains("setpriv"));
        for bad in ["", "-r", "my db", "a;b", "$(x)"] {
            t.spec.user = Some(bad.into());
            let e = t.spec.validate(Path::new("/")).unwrap_err();
            assert!(
                e.starts_with("target.user: expected a Unix user name"),
                "{bad:?}: {e}"
            );
        }
    }
}
