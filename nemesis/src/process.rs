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
    /// Environment for `start` (e.g. [`crate::clock::faketime_env`]).
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
/// (non-zombie) process, `sig SIGNAL` = signal `$p`'s process group (a
/// daemon started under `setsid` leads its own: a database started through
/// `sh -c`, and its children, go down together), or `$p` alone when it
/// leads none.
fn prelude(pid_file: &str) -> String {
    format!(
        "pf={}\nst() {{ sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1; }}\nreadpid() {{ p=$(tr -dc 0-9 < \"$pf\" 2>/dev/null); }}\nalive() {{ [ -n \"$p\" ] && s=$(st \"$p\") && [ -n \"$s\" ] && [ \"$s\" != Z ] && [ \"$s\" != X ]; }}\nsig() {{ env kill -s \"$1\" -- -\"$p\" 2>/dev/null || kill -s \"$1\" \"$p\"; }}\nreadpid\n",
        harness::control::quote::q(pid_file)
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

/// SIGKILL the process named by the pid file and wait until it is gone.
pub async fn kill(remote: &Remote, hooks: &ProcessHooks) -> Result<Outcome> {
    let script = format!(
        "{}alive || {{ echo not-running; exit 0; }}\nsig KILL\ni=0; while [ $i -lt 200 ]; do alive || {{ echo killed \"$p\"; exit 0; }}; sleep 0.025; i=$((i+1)); done\necho \"pid $p survived SIGKILL for 5 s\" >&2; exit 1\n",
        prelude(&hooks.pid_file)
    );
    run(remote, script, Duration::from_secs(20)).await
}

/// SIGSTOP the process and wait until it is stopped (state `T`).
pub async fn pause(remote: &Remote, hooks: &ProcessHooks) -> Result<Outcome> {
    let script = format!(
        "{}alive || {{ echo not-running; exit 0; }}\nsig STOP\ni=0; while [ $i -lt 200 ]; do [ \"$(st \"$p\")\" = T ] && {{ echo paused \"$p\"; exit 0; }}; sleep 0.01; i=$((i+1)); done\necho \"pid $p did not stop\" >&2; exit 1\n",
        prelude(&hooks.pid_file)
    );
    run(remote, script, Duration::from_secs(20)).await
}

/// SIGCONT the process (a no-op for one that is not stopped).
pub async fn resume(remote: &Remote, hooks: &ProcessHooks) -> Result<Outcome> {
    let script = format!(
        "{}alive || {{ echo not-running; exit 0; }}\nsig CONT\ni=0; while [ $i -lt 200 ]; do [ \"$(st \"$p\")\" != T ] && {{ echo resumed \"$p\"; exit 0; }}; sleep 0.01; i=$((i+1)); done\necho \"pid $p did not resume\" >&2; exit 1\n",
        prelude(&hooks.pid_file)
    );
    run(remote, script, Duration::from_secs(20)).await
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
}
