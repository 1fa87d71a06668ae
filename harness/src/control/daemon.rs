//! Daemons on a node, tracked by pid file: start (idempotent), signal
//! (pause with `STOP`, resume with `CONT`), stop (TERM, grace, KILL).
//!
//! Never by process name: the nodes of a local cluster share one process
//! table, so `pkill etcd` on n1 would kill every node's etcd. Each daemon
//! runs in its own session (`setsid`), so stop and signal reach its whole
//! process group (children included; `env kill` because dash's builtin
//! cannot signal a group).
//!
//! A process that leaves the session (a double fork, `--daemonize yes`,
//! `pg_ctl start`) escapes the group, so every daemon also carries
//! `SHAKEDOWN_DAEMON=<its pid file>` in its environment, which its
//! children inherit whatever session they move to: [`stop`] kills every
//! process carrying it, and [`strays`] names those outside the daemon's
//! session, so a target can refuse a start command that daemonizes.

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

/// The environment variable that marks a daemon's processes.
pub const TAG: &str = "SHAKEDOWN_DAEMON";

/// Shell function `tagged`: the pids of the live processes whose
/// environment carries `SHAKEDOWN_DAEMON=<pid file>`, the pid file being
/// the value of the shell variable `pid_file_var`, one a line. Read from
/// /proc, one `grep` for all of them (a zombie's environ reads empty).
pub fn tagged_function(pid_file_var: &str) -> String {
    format!(
        "tagged() {{ grep -lsxzF -- \"{TAG}=${pid_file_var}\" /proc/[0-9]*/environ 2>/dev/null | sed 's#^/proc/##; s#/environ$##'; }}\n"
    )
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
    // Inherited by everything the daemon starts, in any session.
    script.push_str(&format!("export {TAG}=\"$p\"\n"));
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

/// Stop the daemon: TERM to its process group and to every process
/// carrying its tag (and CONT, in case they are paused), up to `grace` to
/// exit, then KILL. Removes the pid file. Stopped even when the group's
/// leader is gone (a database started through `sh -c` outlives a shell
/// killed alone) or when it left the group (a database that daemonized).
/// Returns the pid it stopped, if any was running.
pub async fn stop(remote: &Remote, pidfile: &str, grace: Duration) -> Result<Option<u32>, Error> {
    let tenths = (grace.as_millis() / 100).max(1);
    let script = format!(
        "{ALIVE}{tagged}p={p}; pid=''\n\
         [ -f \"$p\" ] && pid=$(tr -dc 0-9 < \"$p\")\n\
         group() {{ [ -n \"$pid\" ] && {{ env kill -0 -- -\"$pid\" 2>/dev/null || alive \"$pid\"; }}; }}\n\
         up() {{ group || [ -n \"$(tagged)\" ]; }}\n\
         sig() {{ [ -n \"$pid\" ] && {{ env kill -s \"$1\" -- -\"$pid\" 2>/dev/null || kill -s \"$1\" \"$pid\" 2>/dev/null; }}; for t in $(tagged); do kill -s \"$1\" \"$t\" 2>/dev/null; done; }}\n\
         if up; then\n\
           first=${{pid:-$(tagged | head -n 1)}}\n\
           sig TERM; sig CONT\n\
           i=0; while up && [ $i -lt {tenths} ]; do sleep 0.1; i=$((i+1)); done\n\
           sig KILL\n\
           i=0; while up && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n\
           echo \"$first\"\n\
         fi\n\
         rm -f -- \"$p\"",
        p = q(pidfile),
        tagged = tagged_function("p"),
    );
    let cmd = Cmd::new(script).timeout(grace + Duration::from_secs(30));
    Ok(remote.stdout(cmd).await?.parse().ok())
}

/// The daemon's processes that live outside the session it was started
/// in (all of them, when its session leader is gone): what a start
/// command that daemonizes leaves. Each as `pid command line`.
pub async fn strays(remote: &Remote, pidfile: &str) -> Result<Vec<String>, Error> {
    let script = format!(
        "{ALIVE}{tagged}p={p}; lead=''\n\
         [ -f \"$p\" ] && lead=$(tr -dc 0-9 < \"$p\")\n\
         [ -n \"$lead\" ] && alive \"$lead\" || lead=''\n\
         for t in $(tagged); do\n\
           alive \"$t\" || continue\n\
           sid=$(sed 's/.*) //' /proc/\"$t\"/stat 2>/dev/null | cut -d' ' -f4)\n\
           if [ -z \"$lead\" ] || [ \"$sid\" != \"$lead\" ]; then\n\
             echo \"$t $(tr '\\0' ' ' < /proc/\"$t\"/cmdline 2>/dev/null | cut -c1-160)\"\n\
           fi\n\
         done",
        p = q(pidfile),
        tagged = tagged_function("p"),
    );
    let out = remote.stdout(script).await?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn relabel(mut e: Error, d: &Daemon) -> Error {
    e.command = Some(format!("start {}", d.bin));
    e
}
