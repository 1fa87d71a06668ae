//! MariaDB servers on the nodes: one server, or every node a Galera
//! member bootstrapped from the first. Each runs `mariadbd --no-defaults`
//! in the foreground under shakedown's pid file, as the `mysql` user, with
//! every setting on its command line.
//!
//! Every server keeps its files under its own directory (the node's
//! `data_dir`, else `/var/lib/shakedown/<node>`, then `mariadb/`):
//! `data/` (the datadir), `mariadb.log` (the server's output),
//! `mariadb.pid`, `mariadb.sock` (the local nodes share one file system,
//! so nothing lives in `/run/mysqld`). The tables are made by the SQL
//! client; setup makes only the database `jepsen` and the user `jepsen`
//! (password `jepsen`: a throwaway test server, wiped at teardown),
//! through the socket as root.

use super::Options;
use crate::remote;
use harness::control::daemon::{self, Daemon};
use harness::control::quote::q;
use harness::control::{Cluster, Cmd, Error, ErrorKind, Node, Remote};
use std::time::{Duration, Instant};

/// The Debian packages: the server, and Galera's provider (with rsync,
/// its state transfer) for `galera: true`.
pub const PACKAGE: &str = "mariadb-server";
pub const GALERA_PACKAGES: &[&str] = &["galera-4", "rsync"];
/// Where Debian's galera-4 puts the provider.
pub const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";
/// The OS user the servers run as.
pub const OS_USER: &str = "mysql";
/// The database, user and password the clients use.
pub const DATABASE: &str = "jepsen";
pub const USER: &str = "jepsen";
pub const PASSWORD: &str = "jepsen";

/// The servers over a set of nodes.
#[derive(Debug)]
pub struct MariaDb {
    pub nodes: Vec<Node>,
    pub options: Options,
    /// Extra environment per node for the server (the clock shim's).
    pub env: Vec<(String, Vec<(String, String)>)>,
}

impl MariaDb {
    pub fn dir(&self, node: &Node) -> String {
        match &node.data_dir {
            Some(d) => format!("{d}/mariadb"),
            None => format!("/var/lib/shakedown/{}/mariadb", node.name),
        }
    }

    pub fn data(&self, node: &Node) -> String {
        format!("{}/data", self.dir(node))
    }

    pub fn pid_file(&self, node: &Node) -> String {
        format!("{}/mariadb.pid", self.dir(node))
    }

    pub fn log_file(&self, node: &Node) -> String {
        format!("{}/mariadb.log", self.dir(node))
    }

    pub fn socket(&self, node: &Node) -> String {
        format!("{}/mariadb.sock", self.dir(node))
    }

    /// The server's command line. `bootstrap`: this node starts a new
    /// Galera cluster (the first node, at the first start only).
    pub fn daemon(&self, node: &Node, bootstrap: bool) -> Daemon {
        let o = &self.options;
        let mut args = vec![
            "--no-defaults".to_string(),
            format!("--datadir={}", self.data(node)),
            format!("--socket={}", self.socket(node)),
            format!("--pid-file={}/mariadbd.pid", self.dir(node)),
            format!("--port={}", o.port),
            format!("--bind-address={}", node.host),
            "--skip-name-resolve".into(),
            "--max-connections=300".into(),
            "--innodb-buffer-pool-size=64M".into(),
            format!(
                "--transaction-isolation={}",
                o.isolation.sql().replace(' ', "-")
            ),
            format!(
                "--innodb-snapshot-isolation={}",
                if o.snapshot_isolation { "ON" } else { "OFF" }
            ),
            format!(
                "--innodb-flush-log-at-trx-commit={}",
                o.flush_log_at_trx_commit
            ),
            // A lock wait past the op timeout would end in a timeout
            // (info at COMMIT); 1 s ends it in error 1205, a certain fail.
            "--innodb-lock-wait-timeout=1".into(),
        ];
        if o.galera {
            let hosts: Vec<&str> = self.nodes.iter().map(|n| n.host.as_str()).collect();
            args.extend([
                "--wsrep-on=ON".to_string(),
                format!("--wsrep-provider={PROVIDER}"),
                "--wsrep-cluster-name=shakedown".into(),
                format!("--wsrep-cluster-address=gcomm://{}", hosts.join(",")),
                format!("--wsrep-node-address={}", node.host),
                format!("--wsrep-node-name={}", node.name),
                format!("--wsrep-sst-receive-address={}:4444", node.host),
                "--wsrep-sst-method=rsync".into(),
                format!(
                    "--wsrep-provider-options=gmcast.listen_addr=tcp://{h}:4567;ist.recv_addr={h}:4568",
                    h = node.host
                ),
                "--binlog-format=ROW".into(),
                "--innodb-autoinc-lock-mode=2".into(),
            ]);
            if bootstrap {
                args.push("--wsrep-new-cluster".into());
            }
        }
        Daemon {
            bin: "/usr/sbin/mariadbd".into(),
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
            user: Some(OS_USER.into()),
        }
    }

    /// What the nemesis runs (as root) to restart a killed server: as
    /// `mysql`, joining the cluster (never bootstrapping a new one).
    pub fn restart_script(&self, node: &Node) -> String {
        format!(
            "sudo -n -H -u {OS_USER} -- sh -c {} </dev/null\n",
            q(&daemon::start_script(&self.daemon(node, false)))
        )
    }

    /// The server's directory and an initialized datadir on every node.
    pub async fn install(&self, cluster: &Cluster) -> Result<(), Error> {
        for node in &self.nodes {
            let r = remote(cluster, &node.name)?;
            let script = format!(
                "mkdir -p -- {dir} {data} && chown {OS_USER}:{OS_USER} {dir} {data} && chmod 700 {dir} {data} && \
                 if [ ! -d {data}/mysql ]; then mariadb-install-db --no-defaults --datadir={data} --user={OS_USER} \
                 --auth-root-authentication-method=socket --skip-test-db >> {log} 2>&1 || {{ tail -n 5 {log} >&2; exit 1; }}; \
                 chown {OS_USER}:{OS_USER} {log}; fi",
                dir = q(&self.dir(node)),
                data = q(&self.data(node)),
                log = q(&self.log_file(node)),
            );
            r.run_ok(Cmd::new(script).timeout(Duration::from_secs(180)))
                .await
                .map_err(|mut e| {
                    e.command = Some("mariadb-install-db".into());
                    e
                })?;
        }
        Ok(())
    }

    /// Starts the first server (bootstrapping Galera), waits, makes the
    /// database and user; then starts and waits for every other member,
    /// one at a time (each joins by state transfer).
    pub async fn start_all(&self, cluster: &Cluster, within: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + within;
        let Some(first) = self.nodes.first() else {
            return Err(Error::new(
                "mariadb",
                ErrorKind::Local("no nodes to run MariaDB on".into()),
            ));
        };
        let r = remote(cluster, &first.name)?;
        daemon::start(r, &self.daemon(first, true)).await?;
        self.wait_ready(r, first, deadline).await?;
        let grants = format!(
            "CREATE DATABASE IF NOT EXISTS {DATABASE}; \
             CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%';"
        );
        r.run_ok(Cmd::new(self.cli(first, &grants)))
            .await
            .map_err(|mut e| {
                e.command = Some("creating the database and user".into());
                e
            })?;
        for node in &self.nodes[1..] {
            let r = remote(cluster, &node.name)?;
            daemon::start(r, &self.daemon(node, false)).await?;
            self.wait_ready(r, node, deadline).await?;
            self.sync_state_transfer(r, node).await?;
        }
        Ok(())
    }

    /// fsyncs every file and directory of a joiner's datadir once it is
    /// synced. Its datadir came by rsync state transfer, which never
    /// fsyncs: a real kernel writes those pages back within about 30 s,
    /// but shakedown's write-back file system keeps unsynced writes until
    /// an fsync, so a power loss at any time in the test would drop the
    /// whole transfer (all of `ibdata1`) and InnoDB would refuse to start
    /// (corruption). Without this the test would be about the state
    /// transfer, not the settings under test (see the README).
    async fn sync_state_transfer(&self, r: &Remote, node: &Node) -> Result<(), Error> {
        r.run_ok(
            Cmd::new(format!("find {} -exec sync -- {{}} +", q(&self.data(node))))
                .timeout(Duration::from_secs(120)),
        )
        .await
        .map(|_| ())
        .map_err(|mut e| {
            e.command = Some("fsyncing the state transfer".into());
            e
        })
    }

    /// The `mariadb` client on the node, as root through the socket.
    fn cli(&self, node: &Node, sql: &str) -> String {
        format!(
            "mariadb --no-defaults -S {} -u root -N -B -e {}",
            q(&self.socket(node)),
            q(sql)
        )
    }

    /// Until the server answers through its socket (and, in Galera, is a
    /// synced member of the primary component); fails at once when its
    /// process has exited.
    async fn wait_ready(&self, r: &Remote, node: &Node, deadline: Instant) -> Result<(), Error> {
        let probe = if self.options.galera {
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT'"
        } else {
            "SELECT 'Synced'"
        };
        loop {
            if daemon::running(r, &self.pid_file(node)).await?.is_none() {
                return Err(self.not_up(r, node, "its server exited").await);
            }
            let last = match r
                .run(Cmd::new(self.cli(node, probe)).timeout(Duration::from_secs(10)))
                .await
            {
                Ok(out) if out.success() && out.stdout_str().trim() == "Synced" => return Ok(()),
                Ok(out) if out.success() => format!("state {}", out.stdout_str().trim()),
                Ok(out) => out.stderr_str().trim().to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                let why = format!("it did not serve in time (last: {last})");
                return Err(self.not_up(r, node, &why).await);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn not_up(&self, r: &Remote, node: &Node, why: &str) -> Error {
        crate::not_up(r, &node.name, &self.log_file(node), why).await
    }

    /// Stops every server (resuming paused ones) and, unless `keep_data`,
    /// empties the datadirs (emptied, not removed: one may be the mount
    /// point of shakedown's write-back file system).
    pub async fn teardown(&self, cluster: &Cluster, keep_data: bool) -> Result<(), Error> {
        for node in &self.nodes {
            let r = remote(cluster, &node.name)?;
            daemon::stop(r, &self.pid_file(node), Duration::from_secs(10)).await?;
            if !keep_data {
                let data = q(&self.data(node));
                r.run_ok(Cmd::new(format!(
                    "if [ -d {data} ]; then find {data} -mindepth 1 -maxdepth 1 -exec rm -rf -- {{}} +; fi; rm -f -- {}",
                    q(&self.socket(node))
                )))
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(galera: bool) -> MariaDb {
        let mut n2 = Node::new("n2", "10.0.0.2");
        n2.data_dir = Some("/d/n2".into());
        MariaDb {
            nodes: vec![Node::new("n1", "10.0.0.1"), n2],
            options: Options {
                galera,
                snapshot_isolation: true,
                flush_log_at_trx_commit: 2,
                ..Options::default()
            },
            env: vec![("n2".into(), vec![("LD_PRELOAD".into(), "/x.so".into())])],
        }
    }

    #[test]
    fn the_command_line_carries_every_setting() {
        let db = db(false);
        let d = db.daemon(&db.nodes[0].clone(), true);
        assert_eq!(d.user.as_deref(), Some("mysql"));
        assert_eq!(d.args[0], "--no-defaults");
        for a in [
            "--datadir=/var/lib/shakedown/n1/mariadb/data",
            "--bind-address=10.0.0.1",
            "--transaction-isolation=REPEATABLE-READ",
            "--innodb-snapshot-isolation=ON",
            "--innodb-flush-log-at-trx-commit=2",
        ] {
            assert!(d.args.contains(&a.to_string()), "{a}: {:?}", d.args);
        }
        assert!(
            !d.args.iter().any(|a| a.starts_with("--wsrep")),
            "{:?}",
            d.args
        );
        let d2 = db.daemon(&db.nodes[1].clone(), false);
        assert_eq!(d2.env, vec![("LD_PRELOAD".into(), "/x.so".into())]);
        assert_eq!(d2.pidfile, "/d/n2/mariadb/mariadb.pid");
    }

    #[test]
    fn galera_members_bootstrap_from_the_first_and_restarts_join() {
        let db = db(true);
        let first = db.daemon(&db.nodes[0].clone(), true);
        assert!(first.args.contains(&"--wsrep-new-cluster".to_string()));
        assert!(first
            .args
            .contains(&"--wsrep-cluster-address=gcomm://10.0.0.1,10.0.0.2".to_string()));
        let restart = db.restart_script(&db.nodes[0].clone());
        assert!(!restart.contains("--wsrep-new-cluster"), "{restart}");
        assert!(restart.contains("sudo -n -H -u mysql"), "{restart}");
        assert!(restart.contains("--wsrep-on=ON"), "{restart}");
    }
}
