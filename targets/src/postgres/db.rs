//! PostgreSQL servers on the nodes: the first node is the primary (initdb),
//! every other node a hot standby streaming from it (pg_basebackup). Each
//! server runs `postgres -D DIR` in the foreground under shakedown's pid
//! file, as the `postgres` user (initdb and postgres refuse root).
//!
//! Every server keeps its files under its own directory (the node's
//! `data_dir`, else `/var/lib/shakedown/<node>`, then `postgres/`):
//! `data/` (PGDATA), `postgres.log`, `postgres.pid`. The nodes of a local
//! cluster share one file system and one process table, so nothing is
//! found by name: no Unix socket (it would live in the shared
//! `/var/run/postgresql`), dynamic shared memory in the data directory
//! (not the shared `/dev/shm`), processes by pid file.
//!
//! The nemesis kills and pauses the postmaster by its pid. A killed
//! postmaster leaves its backends running for a moment, and a new one
//! refuses to start while they hold the old shared memory, so the restart
//! script ([`PgDb::restart_script`]) first kills what is left of the old
//! process group (a dead leader's group: the pid cannot have been reused
//! while the group exists).

use crate::remote;
use harness::control::daemon::{self, Daemon};
use harness::control::quote::q;
use harness::control::{Cluster, Cmd, Error, ErrorKind, Node, Remote};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio_postgres::NoTls;

/// The Debian package with the server binaries.
pub const PACKAGE: &str = "postgresql";
/// The database user the servers run as and the clients log in as.
pub const USER: &str = "postgres";

/// Who may connect: anyone, without a password. A test database is
/// throwaway; the data is wiped at teardown.
const PG_HBA: &str = "\
local all all trust
host all all 0.0.0.0/0 trust
host replication all 0.0.0.0/0 trust
";

/// A primary and its streaming replicas over a set of nodes.
#[derive(Debug)]
pub struct PgDb {
    pub nodes: Vec<Node>,
    pub port: u16,
    /// Extra environment per node for the server (libfaketime's).
    pub env: Vec<(String, Vec<(String, String)>)>,
    /// `/usr/lib/postgresql/<version>/bin` on the nodes, found at install.
    bin: OnceLock<String>,
    /// The server's `synchronous_commit`.
    pub synchronous_commit: String,
}

impl PgDb {
    pub fn new(nodes: Vec<Node>, port: u16, env: Vec<(String, Vec<(String, String)>)>) -> PgDb {
        PgDb {
            nodes,
            port,
            env,
            bin: OnceLock::new(),
            synchronous_commit: "on".into(),
        }
    }

    pub fn synchronous_commit(mut self, setting: &str) -> PgDb {
        self.synchronous_commit = setting.to_string();
        self
    }

    /// The primary: the first node.
    pub fn primary(&self) -> Option<&Node> {
        self.nodes.first()
    }

    pub fn is_primary(&self, node: &Node) -> bool {
        self.primary().is_some_and(|p| p.name == node.name)
    }

    /// The server's directory: data, log and pid file live here.
    pub fn dir(&self, node: &Node) -> String {
        match &node.data_dir {
            Some(d) => format!("{d}/postgres"),
            None => format!("/var/lib/shakedown/{}/postgres", node.name),
        }
    }

    pub fn data(&self, node: &Node) -> String {
        format!("{}/data", self.dir(node))
    }

    pub fn pid_file(&self, node: &Node) -> String {
        format!("{}/postgres.pid", self.dir(node))
    }

    pub fn log_file(&self, node: &Node) -> String {
        format!("{}/postgres.log", self.dir(node))
    }

    fn bin(&self) -> &str {
        self.bin
            .get()
            .map(String::as_str)
            .unwrap_or("/usr/lib/postgresql/15/bin")
    }

    /// Finds the server binaries on the primary (Debian installs them
    /// under `/usr/lib/postgresql/<major>/bin`; the newest wins).
    pub async fn find_bin(&self, cluster: &Cluster) -> Result<(), Error> {
        let Some(primary) = self.primary() else {
            return Ok(());
        };
        let r = remote(cluster, &primary.name)?;
        let found = r
            .stdout("ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1")
            .await?;
        let found = found.trim();
        if found.is_empty() {
            return Err(Error::new(
                &primary.name,
                ErrorKind::Local(format!(
                    "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin (Debian package {PACKAGE})"
                )),
            ));
        }
        let _ = self.bin.set(found.to_string());
        Ok(())
    }

    /// How this node's server runs: settings on the command line, so the
    /// data directory holds only what initdb and pg_basebackup made.
    pub fn daemon(&self, node: &Node) -> Daemon {
        let mut settings = vec![
            format!("listen_addresses={}", node.host),
            format!("port={}", self.port),
            "unix_socket_directories=".to_string(),
            "dynamic_shared_memory_type=mmap".to_string(),
            "max_connections=200".to_string(),
            "log_line_prefix=%m [%p] ".to_string(),
            // Multi-key txns deadlock now and then; finding out after the
            // default 1 s stalls a short test.
            "deadlock_timeout=100ms".to_string(),
            format!("synchronous_commit={}", self.synchronous_commit),
        ];
        if let Some(primary) = self.primary().filter(|_| !self.is_primary(node)) {
            settings.push(format!(
                "primary_conninfo=host={} port={} user={USER} application_name={}",
                primary.host, self.port, node.name
            ));
        }
        let mut args = vec!["-D".to_string(), self.data(node)];
        for s in settings {
            args.push("-c".into());
            args.push(s);
        }
        Daemon {
            bin: format!("{}/postgres", self.bin()),
            args,
            pidfile: self.pid_file(node),
            logfile: self.log_file(node),
            chdir: Some(self.dir(node)),
            env: self
                .env
                .iter()
                .find(|(n, _)| *n == node.name)
                .map(|(_, e)| e.clone())
                .unwrap_or_default(),
            user: Some(USER.into()),
        }
    }

    /// What the nemesis runs (as root) to restart a killed server: clear
    /// what is left of the old process group, then start as `postgres`.
    pub fn restart_script(&self, node: &Node) -> String {
        format!(
            "{clear}sudo -n -H -u {USER} -- sh -c {start} </dev/null\n",
            clear = clear_dead_group(&self.pid_file(node), &self.data(node)),
            start = q(&daemon::start_script(&self.daemon(node)))
        )
    }

    /// `host=... port=...` for a node, for tokio-postgres.
    pub fn config(&self, node: &Node, timeout: Duration) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host(&node.host)
            .port(self.port)
            .user(USER)
            .dbname("postgres")
            .application_name("shakedown")
            .connect_timeout(timeout);
        c
    }

    /// Starts the primary, waits for it, creates the tables; then makes and
    /// starts every replica and waits until each accepts connections and
    /// streams from the primary.
    pub async fn start_all(&self, cluster: &Cluster, within: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + within;
        let Some(primary) = self.primary() else {
            return Err(Error::new(
                "postgres",
                ErrorKind::Local("no nodes to run PostgreSQL on".into()),
            ));
        };
        let r = remote(cluster, &primary.name)?;
        self.make_dir(r, primary).await?;
        let init = format!(
            "cd {dir} && if [ ! -f {data}/PG_VERSION ]; then {bin}/initdb -D {data} -U {USER} --auth=trust -E UTF8 --no-locale >> {log} 2>&1 || {{ tail -n 5 {log} >&2; exit 1; }}; printf %s {hba} > {data}/pg_hba.conf && sync -- {data}/pg_hba.conf; fi",
            dir = q(&self.dir(primary)),
            data = q(&self.data(primary)),
            bin = self.bin(),
            log = q(&self.log_file(primary)),
            hba = q(PG_HBA),
        );
        r.run_ok(Cmd::new(init).sudo(USER).timeout(Duration::from_secs(120)))
            .await
            .map_err(|mut e| {
                e.command = Some("initdb".into());
                e
            })?;
        daemon::start(r, &self.daemon(primary)).await?;
        let client = self.wait_accepting(cluster, primary, deadline).await?;
        // Every workload's tables, before the replicas copy the primary:
        // reads on a standby find them from the first op.
        for ddl in crate::sql::Dialect::Postgres.all_tables() {
            client.batch_execute(ddl).await.map_err(|e| {
                Error::new(
                    &primary.name,
                    ErrorKind::Local(format!("creating the tables: {}", describe(&e))),
                )
            })?;
        }

        for node in &self.nodes[1..] {
            let r = remote(cluster, &node.name)?;
            self.make_dir(r, node).await?;
            let backup = format!(
                "cd {dir} && if [ ! -f {data}/PG_VERSION ]; then mkdir -p {data} && find {data} -mindepth 1 -maxdepth 1 -exec rm -rf -- {{}} + && {bin}/pg_basebackup -h {host} -p {port} -U {USER} -D {data} -X stream -c fast >> {log} 2>&1 && touch {data}/standby.signal || {{ tail -n 5 {log} >&2; exit 1; }}; fi",
                dir = q(&self.dir(node)),
                data = q(&self.data(node)),
                bin = self.bin(),
                host = q(&primary.host),
                port = self.port,
                log = q(&self.log_file(node)),
            );
            r.run_ok(Cmd::new(backup).sudo(USER).timeout(within))
                .await
                .map_err(|mut e| {
                    e.command = Some("pg_basebackup".into());
                    e
                })?;
            daemon::start(r, &self.daemon(node)).await?;
        }
        for node in &self.nodes[1..] {
            self.wait_accepting(cluster, node, deadline).await?;
        }
        self.wait_streaming(cluster, &client, deadline).await
    }

    /// The server's directory, owned by `postgres` (which runs in it).
    async fn make_dir(&self, r: &Remote, node: &Node) -> Result<(), Error> {
        // The data directory too: it may be the mount point of shakedown's
        // write-back file system, made by root before install.
        let dir = q(&self.dir(node));
        let data = q(&self.data(node));
        r.run_ok(Cmd::new(format!(
            "mkdir -p -- {dir} {data} && chown {USER}:{USER} {dir} {data} && chmod 700 {dir} {data}"
        )))
        .await
        .map(|_| ())
    }

    /// Connects until the server answers `SELECT 1`; fails at once when
    /// its process has exited.
    async fn wait_accepting(
        &self,
        cluster: &Cluster,
        node: &Node,
        deadline: Instant,
    ) -> Result<tokio_postgres::Client, Error> {
        let r = remote(cluster, &node.name)?;
        loop {
            if daemon::running(r, &self.pid_file(node)).await?.is_none() {
                return Err(self.not_up(r, node, "its server exited").await);
            }
            let last = match connect(&self.config(node, Duration::from_secs(2))).await {
                Ok(c) => match c.simple_query("SELECT 1").await {
                    Ok(_) => return Ok(c),
                    Err(e) => describe(&e),
                },
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let why = format!("it did not accept connections in time (last: {last})");
                return Err(self.not_up(r, node, &why).await);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the primary's `pg_stat_replication` shows every replica
    /// streaming.
    async fn wait_streaming(
        &self,
        cluster: &Cluster,
        primary: &tokio_postgres::Client,
        deadline: Instant,
    ) -> Result<(), Error> {
        let want: Vec<&str> = self.nodes[1..].iter().map(|n| n.name.as_str()).collect();
        loop {
            let rows = primary
                .query(
                    "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'",
                    &[],
                )
                .await
                .map_err(|e| {
                    Error::new(
                        &self.nodes[0].name,
                        ErrorKind::Local(format!("pg_stat_replication: {}", describe(&e))),
                    )
                })?;
            let streaming: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let missing: Vec<&&str> = want
                .iter()
                .filter(|w| !streaming.iter().any(|s| s == **w))
                .collect();
            let Some(first) = missing.first() else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                let node = self.nodes.iter().find(|n| n.name == **first).unwrap();
                let r = remote(cluster, &node.name)?;
                let why = format!(
                    "the primary {} does not see it streaming (streaming: {})",
                    self.nodes[0].name,
                    if streaming.is_empty() {
                        "none".to_string()
                    } else {
                        streaming.join(", ")
                    }
                );
                return Err(self.not_up(r, node, &why).await);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn not_up(&self, r: &Remote, node: &Node, why: &str) -> Error {
        crate::not_up(r, &node.name, &self.log_file(node), why).await
    }

    /// Stops every server (resuming paused ones), kills what is left of a
    /// dead server's process group, and unless `keep_data` deletes the
    /// data directories (logs stay until the next run's teardown).
    pub async fn teardown(&self, cluster: &Cluster, keep_data: bool) -> Result<(), Error> {
        for node in &self.nodes {
            let r = remote(cluster, &node.name)?;
            r.run_ok(Cmd::new(clear_dead_group(
                &self.pid_file(node),
                &self.data(node),
            )))
            .await?;
            daemon::stop(r, &self.pid_file(node), Duration::from_secs(5)).await?;
            if !keep_data {
                r.run_ok(Cmd::new(format!("rm -rf -- {}", q(&self.data(node)))))
                    .await?;
            }
        }
        Ok(())
    }
}

/// Shell: when the pid file names a dead (or zombie) process, SIGKILL the
/// process group it led (orphaned backends), wait (up to 5 s) until no
/// live member is left, and remove the server's own `postmaster.pid` if
/// it names that dead process (postgres takes a zombie for a live server
/// and would refuse to start).
fn clear_dead_group(pid_file: &str, data: &str) -> String {
    format!(
        "pf={}\nlf={}/postmaster.pid\npid=$(tr -dc 0-9 < \"$pf\" 2>/dev/null)\n\
         st=$(sed 's/.*) //' /proc/\"$pid\"/stat 2>/dev/null | cut -d' ' -f1)\n\
         members() {{ ps -e -o pgid=,stat= | awk -v g=\"$pid\" '$1 == g && $2 !~ /^Z/' | grep -q .; }}\n\
         if [ -n \"$pid\" ] && {{ [ -z \"$st\" ] || [ \"$st\" = Z ] || [ \"$st\" = X ]; }}; then\n\
           env kill -s KILL -- -\"$pid\" 2>/dev/null\n\
           i=0; while members && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n\
           [ \"$(head -n 1 \"$lf\" 2>/dev/null)\" = \"$pid\" ] && rm -f -- \"$lf\"\n\
         fi\n\
         true\n",
        q(pid_file),
        q(data)
    )
}

/// Opens a connection (its driver task spawned); the error in words.
pub async fn connect(config: &tokio_postgres::Config) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = config.connect(NoTls).await.map_err(|e| describe(&e))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A driver error in words: the server's SQLSTATE and message, or the
/// driver's error with its cause ("db error" alone says nothing).
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> PgDb {
        let mut n2 = Node::new("n2", "10.0.0.2");
        n2.data_dir = Some("/d/n2".into());
        PgDb::new(
            vec![Node::new("n1", "10.0.0.1"), n2],
            5432,
            vec![("n2".into(), vec![("LD_PRELOAD".into(), "/x.so".into())])],
        )
    }

    #[test]
    fn the_first_node_is_the_primary_and_replicas_stream_from_it() {
        let db = db();
        let n1 = db.nodes[0].clone();
        let n2 = db.nodes[1].clone();
        assert!(db.is_primary(&n1) && !db.is_primary(&n2));
        let d1 = db.daemon(&n1);
        assert_eq!(d1.user.as_deref(), Some("postgres"));
        assert!(d1.args.contains(&"listen_addresses=10.0.0.1".to_string()));
        assert!(!d1.args.iter().any(|a| a.starts_with("primary_conninfo")));
        assert_eq!(d1.pidfile, "/var/lib/shakedown/n1/postgres/postgres.pid");
        let d2 = db.daemon(&n2);
        assert_eq!(d2.args[..2], ["-D", "/d/n2/postgres/data"]);
        assert!(d2.args.contains(
            &"primary_conninfo=host=10.0.0.1 port=5432 user=postgres application_name=n2"
                .to_string()
        ));
        assert_eq!(d2.env, vec![("LD_PRELOAD".into(), "/x.so".into())]);
        assert!(d1.env.is_empty());
    }

    #[test]
    fn the_restart_script_clears_a_dead_group_then_starts_as_postgres() {
        let db = db();
        let s = db.restart_script(&db.nodes[1].clone());
        let clear = s.find("kill -s KILL").unwrap();
        let start = s.find("sudo -n -H -u postgres").unwrap();
        assert!(clear < start, "{s}");
        assert!(s.contains("/d/n2/postgres/postgres.pid"), "{s}");
        assert!(s.contains("LD_PRELOAD"), "{s}");
    }

    /// The group-clearing script, run by a local shell: a dead leader's
    /// group is killed and its lock file removed; a live leader is left alone.
    #[test]
    fn clearing_kills_only_the_group_of_a_dead_leader() {
        let dir = tempfile::tempdir().unwrap();
        let pf = dir.path().join("pid");
        // A group whose leader exits at once and whose member lingers.
        let out = std::process::Command::new("setsid")
            .args(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $$ $!"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let pids: Vec<i32> = text
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        let (leader, member) = (pids[0], pids[1]);
        std::fs::write(&pf, format!("{leader}\n")).unwrap();
        std::fs::write(
            dir.path().join("postmaster.pid"),
            format!("{leader}\n/data\n"),
        )
        .unwrap();
        let alive = |p: i32| std::path::Path::new(&format!("/proc/{p}")).exists();
        std::thread::sleep(Duration::from_millis(100));
        assert!(alive(member), "the orphan lingers");
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(clear_dead_group(
                pf.to_str().unwrap(),
                dir.path().to_str().unwrap(),
            ))
            .status()
            .unwrap();
        assert!(st.success());
        // The orphan's parent is init (or a subreaper); give it a moment.
        let t = Instant::now();
        while alive(member) && t.elapsed() < Duration::from_secs(2) {
            let st = std::fs::read_to_string(format!("/proc/{member}/stat")).unwrap_or_default();
            if st.contains(") Z ") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let st = std::fs::read_to_string(format!("/proc/{member}/stat")).unwrap_or_default();
        assert!(st.is_empty() || st.contains(") Z "), "{st}");
        assert!(
            !dir.path().join("postmaster.pid").exists(),
            "the dead server's lock file is gone"
        );

        // A live leader is left alone, and so is its lock file.
        let mut live = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        std::fs::write(&pf, format!("{}\n", live.id())).unwrap();
        std::fs::write(
            dir.path().join("postmaster.pid"),
            format!("{}\n", live.id()),
        )
        .unwrap();
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(clear_dead_group(
                pf.to_str().unwrap(),
                dir.path().to_str().unwrap(),
            ))
            .status()
            .unwrap();
        assert!(st.success());
        assert!(live.try_wait().unwrap().is_none(), "a live server survives");
        assert!(dir.path().join("postmaster.pid").exists());
        live.kill().unwrap();
        live.wait().unwrap();
    }
}
