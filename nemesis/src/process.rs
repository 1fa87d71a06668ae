//! Process faults through target hooks: kill -9 and restart, SIGSTOP and
//! SIGCONT, always by pid file, never by name (the nodes of a local
//! cluster share one process table, so `pkill etcd` would hit every node).

use crate::Result;
use harness::control::{Cmd, Remote};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How the target's process on one node is found and started. Plain data,
/// provided by the target (e.g. etcd), and persisted in the state file so
/// `shakedown heal` can restart a killed process after a controller crash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessHooks {
    /// The file holding the pid of the process under test on this node.
    pub pid_file: String,
    /// A shell script that starts the process in the background and
    /// returns; the pid file must name the running process within
    /// `start_timeout_s` after it returns. It must not keep stdout/stderr
    /// open (redirect them to a log), or the SSH command never ends.
    pub start: String,
    /// Environment for `start` (e.g. [`crate::clock::clock_env`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Working directory for `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Run `start` as this user (through sudo); root by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default = "default_start_timeout")]
    pub start_timeout_s: f64,
}

fn default_start_timeout() -> f64 {
    20.0
}

impl ProcessHooks {
    pub fn new(pid_file: impl Into<String>, start: impl Into<String>) -> ProcessHooks {
        ProcessHooks {
            pid_file: pid_file.into(),
            start: start.into(),
            env: Vec::new(),
            cwd: None,
            user: None,
            start_timeout_s: default_start_timeout(),
        }
    }

    pub fn with_env(mut self, env: Vec<(String, String)>) -> ProcessHooks {
        self.env.extend(env);
        self
    }
}

/// What a process fault did on one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result", content = "pid")]
pub enum Outcome {
    Killed(u32),
    Started(u32),
    /// `start` found it already running.
    Running(u32),
    Paused(u32),
    Resumed(u32),
    /// There was no live process to signal.
    NotRunning,
}

impl Outcome {
    pub fn pid(&self) -> Option<u32> {
        match self {
            Outcome::Killed(p)
            | Outcome::Started(p)
            | Outcome::Running(p)
            | Outcome::Paused(p)
            | Outcome::Resumed(p) => Some(*p),
            Outcome::NotRunning => None,
        }
    }
}

/// Shell functions: `$p` = pid from the pid file (digits only), `st PID`
/// = process state letter (empty when gone), `alive` = `$p` is a live
/// (non-zombie) process, `tagged` = the live processes carrying the
/// daemon's tag (`SHAKEDOWN_DAEMON=<pid file>`, inherited by everything it
/// starts), `desc PID` = its descendants, `sig SIGNAL` = signal `$p`'s
/// process group (a daemon started under `setsid` leads its own), or `$p`
/// alone when it leads none, its descendants and every tagged process;
/// the ones signalled stay in `$d`, and `up` = any of them is alive.
///
/// The group alone is not enough: each PostgreSQL child calls `setsid`, so
/// the postmaster's group holds the postmaster alone, and PostgreSQL
/// rewrites its environment for its process titles, so its children carry
/// no readable tag. A kill of the group left a recovering startup process
/// running through a power loss, holding the shared memory every later
/// start then refused. So the leader is stopped first (it cannot fork
/// while its children are listed), then its descendants are signalled with
/// it. `each_state L` = every one still there is in state L; `none_in L`
/// = none is.
fn prelude(pid_file: &str) -> String {
    format!(
        "pf={}\nst() {{ sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1; }}\nreadpid() {{ p=$(tr -dc 0-9 < \"$pf\" 2>/dev/null); }}\nalive() {{ [ -n \"$p\" ] && s=$(st \"$p\") && [ -n \"$s\" ] && [ \"$s\" != Z ] && [ \"$s\" != X ]; }}\n{}desc() {{ ps -e -o pid=,ppid= | awk -v r=\"$1\" '{{ par[$1] = $2 }} END {{ for (c in par) {{ q = c; n = 0; while ((q in par) && q != r && n++ < 64) q = par[q]; if (q == r && c != r) print c }} }}'; }}\nlive() {{ for t in \"$@\"; do x=$(st \"$t\"); [ -n \"$x\" ] && [ \"$x\" != Z ] && [ \"$x\" != X ] && return 0; done; return 1; }}\nd=''\nup() {{ alive || [ -n \"$(tagged)\" ] || live $d; }}\nsig() {{ if alive; then kill -s STOP \"$p\" 2>/dev/null; d=\"$d $(desc \"$p\")\"; env kill -s \"$1\" -- -\"$p\" 2>/dev/null || kill -s \"$1\" \"$p\"; fi; for t in $d $(tagged); do kill -s \"$1\" \"$t\" 2>/dev/null; done; true; }}\neach_state() {{ for t in $p $d $(tagged); do x=$(st \"$t\"); [ -z \"$x\" ] || [ \"$x\" = Z ] || [ \"$x\" = X ] || [ \"$x\" = \"$1\" ] || return 1; done; }}\nnone_in() {{ for t in $p $d $(tagged); do [ \"$(st \"$t\")\" = \"$1\" ] && return 1; done; true; }}\nfirst() {{ if alive; then echo \"$p\"; else tagged | head -n 1; fi; }}\nreadpid\n",
        harness::control::quote::q(pid_file),
        harness::control::daemon::tagged_function("pf"),
    )
}

fn parse(out: &str) -> Outcome {
    let mut w = out.split_whitespace();
    let word = w.next().unwrap_or("");
    let pid = w.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    match word {
        "killed" => Outcome::Killed(pid),
        "started" => Outcome::Started(pid),
        "running" => Outcome::Running(pid),
        "paused" => Outcome::Paused(pid),
        "resumed" => Outcome::Resumed(pid),
        _ => Outcome::NotRunning,
    }
}

async fn run(remote: &Remote, script: String, timeout: Duration) -> Result<Outcome> {
    let out = remote
        .run_ok(Cmd::new(script).sudo("root").timeout(timeout))
        .await?;
    Ok(parse(&out.stdout_str()))
}

/// SIGKILL the process named by the pid file, its group and every process
/// carrying its tag, and wait until all are gone.
pub async fn kill(remote: &Remote, hooks: &ProcessHooks) -> Result<Outcome> {
    run(
        remote,
        kill_script(&hooks.pid_file),
        Duration::from_secs(20),
    )
    .await
}

fn kill_script(pid_file: &str) -> String {
    format!(
        "{}up || {{ echo not-running; exit 0; }}\nk=$(first)\nsig KILL\ni=0; while [ $i -lt 200 ]; do up || {{ echo killed \"$k\"; exit 0; }}; sig KILL; sleep 0.025; i=$((i+1)); done\necho \"pid $k (or a process it started) survived SIGKILL for 5 s: $(tagged | tr '\\n' ' ')\" >&2; exit 1\n",
        prelude(pid_file)
    )
}

/// SIGSTOP the process, its group and its tagged processes, and wait
/// until every one is stopped (state `T`).
pub async fn pause(remote: &Remote, hooks: &ProcessHooks) -> Result<Outcome> {
    run(
        remote,
        pause_script(&hooks.pid_file),
        Duration::from_secs(20),
    )
    .await
}

fn pause_script(pid_file: &str) -> String {
    format!(
        "{}up || {{ echo not-running; exit 0; }}\nk=$(first)\nsig STOP\ni=0; while [ $i -lt 200 ]; do each_state T && {{ echo paused \"$k\"; exit 0; }}; sig STOP; sleep 0.01; i=$((i+1)); done\necho \"pid $k (or a process it started) did not stop\" >&2; exit 1\n",
        prelude(pid_file)
    )
}

/// SIGCONT the process, its group and its tagged processes (a no-op for
/// those not stopped).
pub async fn resume(remote: &Remote, hooks: &ProcessHooks) -> Result<Outcome> {
    run(
        remote,
        resume_script(&hooks.pid_file),
        Duration::from_secs(20),
    )
    .await
}

fn resume_script(pid_file: &str) -> String {
    format!(
        "{}up || {{ echo not-running; exit 0; }}\nk=$(first)\nsig CONT\ni=0; while [ $i -lt 200 ]; do none_in T && {{ echo resumed \"$k\"; exit 0; }}; sig CONT; sleep 0.01; i=$((i+1)); done\necho \"pid $k (or a process it started) did not resume\" >&2; exit 1\n",
        prelude(pid_file)
    )
}

/// Start the process unless it runs; wait for its pid file to name a live
/// process.
pub async fn start(remote: &Remote, hooks: &ProcessHooks) -> Result<Outcome> {
    let wait = (hooks.start_timeout_s.max(0.1) * 20.0).ceil() as u64;
    let user = hooks.user.clone().unwrap_or_else(|| "root".into());
    let mut start = String::new();
    if let Some(cwd) = &hooks.cwd {
        start += &format!("cd {} || exit 1\n", harness::control::quote::q(cwd));
    }
    for (k, v) in &hooks.env {
        start += &format!("export {k}={}\n", harness::control::quote::q(v));
    }
    start += &hooks.start;
    let start = if user == "root" {
        format!("( {start}\n) </dev/null")
    } else {
        format!(
            "sudo -n -H -u {} -- sh -c {} </dev/null",
            harness::control::quote::q(&user),
            harness::control::quote::q(&start)
        )
    };
    let script = format!(
        "{}alive && {{ echo running \"$p\"; exit 0; }}\n{start} || {{ echo \"start script failed ($?)\" >&2; exit 1; }}\ni=0; while [ $i -lt {wait} ]; do readpid; alive && {{ echo started \"$p\"; exit 0; }}; sleep 0.05; i=$((i+1)); done\necho \"no live process in $pf {}s after start\" >&2; exit 1\n",
        prelude(&hooks.pid_file),
        hooks.start_timeout_s
    );
    run(
        remote,
        script,
        Duration::from_secs_f64(hooks.start_timeout_s + 30.0),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scripts, run by a local shell against a real child process.
    #[test]
    fn scripts_signal_by_pid_file() {
        let dir = tempfile::tempdir().unwrap();
        let pf = dir.path().join("pid");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(&pf, format!("{}\n", child.id())).unwrap();
        let sh = |body: &str| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{}{body}", prelude(pf.to_str().unwrap())))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        assert_eq!(sh("alive && echo yes"), "yes");
        assert_eq!(sh("st $p"), "S");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(sh("alive && echo yes || echo no"), "no");
        std::fs::write(&pf, "garbage").unwrap();
        assert_eq!(sh("alive && echo yes || echo no"), "no");
        assert_eq!(parse("killed 12"), Outcome::Killed(12));
        assert_eq!(parse("not-running"), Outcome::NotRunning);
    }

    /// A daemon whose child leaves its session (as each PostgreSQL child
    /// does): pause stops both, resume continues both, kill leaves neither,
    /// though a signal to the leader's group never reaches the child.
    #[test]
    fn kill_pause_and_resume_reach_children_that_left_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let pf = dir.path().join("pid");
        let pf_s = pf.to_str().unwrap().to_string();
        let child_pid = dir.path().join("child");
        let mut leader = std::process::Command::new("setsid")
            .arg("sh")
            .arg("-c")
            .arg(format!(
                "setsid sleep 300 & echo $! > {}; exec sleep 300",
                child_pid.display()
            ))
            .env(harness::control::daemon::TAG, &pf_s)
            .spawn()
            .unwrap();
        std::fs::write(&pf, format!("{}\n", leader.id())).unwrap();
        let child: u32 = loop {
            if let Some(p) = std::fs::read_to_string(&child_pid)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                break p;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let state = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit(") ").next().map(|r| r[..1].to_string()))
        };
        // Its own session: the leader's group does not hold it.
        let sid = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap()
                .rsplit(") ")
                .next()
                .unwrap()
                .split(' ')
                .nth(3)
                .unwrap()
                .to_string()
        };
        assert_eq!(sid(child), child.to_string());
        let sh = |script: String| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .unwrap();
            (
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
                out.status.success(),
            )
        };
        let leader_pid = leader.id();
        assert_eq!(
            sh(pause_script(&pf_s)),
            (format!("paused {leader_pid}"), true)
        );
        assert_eq!(state(child).as_deref(), Some("T"));
        assert_eq!(state(leader_pid).as_deref(), Some("T"));
        assert_eq!(
            sh(resume_script(&pf_s)),
            (format!("resumed {leader_pid}"), true)
        );
        assert_ne!(state(child).as_deref(), Some("T"));
        assert_eq!(
            sh(kill_script(&pf_s)),
            (format!("killed {leader_pid}"), true)
        );
        leader.wait().unwrap();
        // The child is gone too (not a zombie left to init either).
        assert!(
            state(child).is_none() || state(child).as_deref() == Some("Z"),
            "{:?}",
            state(child)
        );
        assert_eq!(sh(kill_script(&pf_s)), ("not-running".to_string(), true));
    }
}
