//! Daemons on a node, tracked by pid file: start (idempotent), signal
//! (pause with `STOP`, resume with `CONT`), stop (TERM, grace, KILL).
//!
//! Never by process name: the nodes of a local cluster share one process
//! table, so `pkill etcd` on n1 would kill every node's etcd. Each daemon
//! runs in its own session (`setsid`), so stop and signal reach its whole
//! process group (children included; `env kill` because dash's builtin
//! cannot signal a group).

use super::quote::q;
use super::{Cmd, Error, ErrorKind, Remote};
use std::time::Duration;

/// How to start a daemon.
#[derive(Clone, Debug, Default)]
pub struct Daemon {
    /// Program to run (absolute path or in `PATH`).
    pub bin: String,
    pub args: Vec<String>,
    pub pidfile: String,
    /// stdout and stderr are appended here.
    pub logfile: String,
    pub chdir: Option<String>,
    pub env: Vec<(String, String)>,
    /// Run as this user (through sudo).
    pub user: Option<String>,
}

/// What [`start`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started {
    Started(u32),
    AlreadyRunning(u32),
}

impl Started {
    pub fn pid(&self) -> u32 {
        match self {
            Started::Started(p) | Started::AlreadyRunning(p) => *p,
        }
    }
}

/// Shell function: is pid $1 alive and not a zombie?
const ALIVE: &str = "alive() { kill -0 \"$1\" 2>/dev/null || return 1; \
     st=$(sed 's/.*) //' /proc/\"$1\"/stat 2>/dev/null | cut -d' ' -f1); [ \"$st\" != Z ]; }\n";

/// The shell script [`start`] runs: starts the daemon in its own session
/// unless its pid file names a live process, and prints `started PID` or
/// `running PID`. Also what a nemesis runs to restart a killed daemon.
pub fn start_script(d: &Daemon) -> String {
    let mut argv = vec![q(&d.bin)];
    argv.extend(d.args.iter().map(|a| q(a)));
    let mut script = String::from(ALIVE);
    script.push_str(&format!(
        "p={p}\n\
         if [ -f \"$p\" ] && pid=$(cat \"$p\") && [ -n \"$pid\" ] && alive \"$pid\"; then echo \"running $pid\"; exit 0; fi\n\
         mkdir -p -- \"$(dirname -- \"$p\")\" \"$(dirname -- {log})\"\n",
        p = q(&d.pidfile),
        log = q(&d.logfile),
    ));
    if let Some(dir) = &d.chdir {
        script.push_str(&format!("cd -- {} || exit 1\n", q(dir)));
    }
    for (k, v) in &d.env {
        script.push_str(&format!("export {k}={}\n", q(v)));
    }
    script.push_str(&format!(
        "setsid {} >> {log} 2>&1 < /dev/null &\n\
         echo $! > \"$p\"\n\
         echo \"started $!\"\n",
        argv.join(" "),
        log = q(&d.logfile),
    ));
    script
}

/// Start the daemon unless its pid file names a live process.
pub async fn start(remote: &Remote, d: &Daemon) -> Result<Started, Error> {
    let mut cmd = Cmd::new(start_script(d));
    if let Some(u) = &d.user {
        cmd = cmd.sudo(u.clone());
    }
    let out = remote.run_ok(cmd).await.map_err(|e| relabel(e, d))?;
    let text = out.stdout_str();
    let mut words = text.split_whitespace();
    let (what, pid) = (words.next(), words.next().and_then(|p| p.parse().ok()));
    match (what, pid) {
        (Some("started"), Some(p)) => Ok(Started::Started(p)),
        (Some("running"), Some(p)) => Ok(Started::AlreadyRunning(p)),
        _ => Err(Error::new(
            remote.name(),
            ErrorKind::Local(format!(
                "unexpected output from starting {}: {text:?}",
                d.bin
            )),
        )),
    }
}

/// The pid in `pidfile` if that process is alive.
pub async fn running(remote: &Remote, pidfile: &str) -> Result<Option<u32>, Error> {
    let script = format!(
        "{ALIVE}p={p}; if [ -f \"$p\" ] && pid=$(cat \"$p\") && [ -n \"$pid\" ] && alive \"$pid\"; then echo \"$pid\"; fi",
        p = q(pidfile)
    );
    Ok(remote.stdout(script).await?.parse().ok())
}

/// Send `signal` (`STOP`, `CONT`, `KILL`, ...) to the daemon's process
/// group. Returns the pid, or `None` if it was not running.
pub async fn signal(remote: &Remote, pidfile: &str, signal: &str) -> Result<Option<u32>, Error> {
    if !signal.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::new(
            remote.name(),
            ErrorKind::Local(format!("not a signal name: {signal:?}")),
        ));
    }
    let script = format!(
        "{ALIVE}p={p}; if [ -f \"$p\" ] && pid=$(cat \"$p\") && [ -n \"$pid\" ] && alive \"$pid\"; then \
         env kill -s {signal} -- -\"$pid\" 2>/dev/null || kill -s {signal} \"$pid\"; echo \"$pid\"; fi",
        p = q(pidfile)
    );
    Ok(remote.stdout(script).await?.parse().ok())
}

/// Stop the daemon: TERM to its process group (and CONT, in case it is
/// paused), up to `grace` to exit, then KILL. Removes the pid file. The
/// group is stopped even when its leader is gone: a database started
/// through `sh -c` outlives a shell killed alone.
/// Returns the pid it stopped, if any was running.
pub async fn stop(remote: &Remote, pidfile: &str, grace: Duration) -> Result<Option<u32>, Error> {
    let tenths = (grace.as_millis() / 100).max(1);
    let script = format!(
        "{ALIVE}p={p}; pid=''\n\
         up() {{ env kill -0 -- -\"$pid\" 2>/dev/null || alive \"$pid\"; }}\n\
         if [ -f \"$p\" ] && pid=$(cat \"$p\") && [ -n \"$pid\" ] && up; then\n\
           env kill -s TERM -- -\"$pid\" 2>/dev/null || kill -s TERM \"$pid\" 2>/dev/null\n\
           env kill -s CONT -- -\"$pid\" 2>/dev/null\n\
           i=0; while up && [ $i -lt {tenths} ]; do sleep 0.1; i=$((i+1)); done\n\
           env kill -s KILL -- -\"$pid\" 2>/dev/null || kill -s KILL \"$pid\" 2>/dev/null\n\
           i=0; while up && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n\
           echo \"$pid\"\n\
         fi\n\
         rm -f -- \"$p\"",
        p = q(pidfile)
    );
    let cmd = Cmd::new(script).timeout(grace + Duration::from_secs(30));
    Ok(remote.stdout(cmd).await?.parse().ok())
}

fn relabel(mut e: Error, d: &Daemon) -> Error {
    e.command = Some(format!("start {}", d.bin));
    e
}
