//! Throughput of the built-in SQL clients against a local MariaDB and a
//! local PostgreSQL, beside the exec client's figure (`benches/exec.rs`):
//! the run loop driving 10 workers through [`SqlConnect`], each op one
//! register read or write (one transaction, committed), on 10 keys. Each
//! iteration runs 5,000 ops; divan reports the time and ops/s. What is
//! measured is mostly the database (a commit per write, fsynced), which is
//! the point: beside the exec client's figure it shows the client is not
//! the bottleneck.
//!
//! The bench starts its own servers (Debian's `mariadbd` as `mysql`,
//! PostgreSQL's newest `postgres` as `postgres`) on 127.0.0.1 ports 13306
//! and 15432 in a temporary directory, and stops them at the end. Needs
//! root and both packages; a database it cannot start is skipped with a
//! message.
//!
//! `cargo bench -p targets --bench sql`

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use targets::sql::{Dialect, Isolation, Route, Server, SqlConnect};

mod common;

const OPS: usize = 5_000;
const WORKERS: usize = 10;

fn main() {
    divan::main();
}

/// A server the bench started; killed when dropped.
struct Db {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn sh(script: &str) -> bool {
    Command::new("sh")
        .args(["-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(probe: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if sh(probe) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

fn spawn(script: &str, log: &Path) -> Option<Child> {
    let log = std::fs::File::create(log).ok()?;
    Command::new("sh")
        .args(["-c", &format!("exec {script}")])
        .stdout(log.try_clone().ok()?)
        .stderr(log)
        .spawn()
        .ok()
}

fn mariadb() -> Option<Db> {
    let dir = tempfile::Builder::new()
        .prefix("sql-bench-mdb")
        .tempdir_in("/var/tmp")
        .ok()?;
    let d = dir.path().display().to_string();
    if !sh(&format!(
        "chown mysql:mysql {d} && mariadb-install-db --no-defaults --datadir={d}/db --user=mysql \
         --auth-root-authentication-method=socket --skip-test-db"
    )) {
        return None;
    }
    let init = format!("{d}/init.sql");
    std::fs::write(
        &init,
        "CREATE DATABASE IF NOT EXISTS jepsen;\nCREATE USER IF NOT EXISTS 'jepsen'@'%' IDENTIFIED BY 'jepsen';\nGRANT ALL PRIVILEGES ON *.* TO 'jepsen'@'%';\n",
    )
    .ok()?;
    sh(&format!("chmod 644 {init}"));
    let child = spawn(
        &format!(
            "mariadbd --no-defaults --user=mysql --datadir={d}/db --socket={d}/m.sock --port=13306 \
             --bind-address=127.0.0.1 --init-file={init} --innodb-lock-wait-timeout=1"
        ),
        &dir.path().join("mariadb.log"),
    )?;
    let db = Db { child, _dir: dir };
    wait_for(&format!(
        "mariadb --no-defaults -S {d}/m.sock -u root -e 'USE jepsen'"
    ))
    .then_some(db)
}

fn postgres() -> Option<Db> {
    let dir = tempfile::Builder::new()
        .prefix("sql-bench-pg")
        .tempdir_in("/var/tmp")
        .ok()?;
    let d = dir.path().display().to_string();
    let bin = "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)";
    let as_pg = "setpriv --reuid=postgres --regid=postgres --init-groups";
    if !sh(&format!(
        "chown postgres:postgres {d} && {as_pg} {bin}/initdb -D {d}/pg -U postgres --auth=trust"
    )) {
        return None;
    }
    let child = spawn(
        &format!(
            "{as_pg} {bin}/postgres -D {d}/pg -c listen_addresses=127.0.0.1 -c port=15432 \
             -c unix_socket_directories= -c dynamic_shared_memory_type=mmap"
        ),
        &dir.path().join("postgres.log"),
    )?;
    let db = Db { child, _dir: dir };
    wait_for("pg_isready -q -h 127.0.0.1 -p 15432").then_some(db)
}

#[divan::bench(args = ["mariadb", "postgres"], sample_count = 5)]
fn register_ops_5k_10_workers(bencher: divan::Bencher, db: &str) {
    let (server, port, user, password, database) = match db {
        "mariadb" => (mariadb(), 13306, "jepsen", Some("jepsen"), "jepsen"),
        _ => (postgres(), 15432, "postgres", None, "postgres"),
    };
    let Some(_server) = server else {
        eprintln!("sql bench: could not start {db} (needs root and the package); skipped");
        return;
    };
    let dialect = match db {
        "mariadb" => Dialect::Mysql,
        _ => Dialect::Postgres,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let workload = workloads::Workload::by_name("register").unwrap();
    let servers: BTreeMap<String, Server> = [(
        "n1".to_string(),
        Server::new(
            dialect,
            "127.0.0.1",
            port,
            user,
            password,
            database,
            Duration::from_secs(2),
        ),
    )]
    .into();
    bencher
        .counter(divan::counter::ItemsCount::new(OPS))
        .bench_local(|| {
            let connect = SqlConnect::new(
                dialect,
                servers.clone(),
                Route::Primary("n1".into()),
                &workload,
                Duration::from_secs(4),
            )
            .unwrap()
            .isolation(Some(Isolation::Serializable));
            let out = common::register_ops(&rt, connect, dir.path(), OPS, WORKERS);
            // Serialization failures and deadlocks are fails; none may
            // be info (a lost connection) with no faults.
            assert_eq!(
                (out.counts.ok + out.counts.fail) as usize,
                OPS,
                "{:?}",
                out.warnings
            );
        });
}
