//! The control plane: everything the harness does to a node goes through here.
//!
//! - [`Remote`] is one node reached over SSH (russh): one connection, reused,
//!   commands multiplexed as channels (capped below sshd's `MaxSessions`),
//!   timeouts on connect / auth / command, keepalives, reconnect-and-retry of
//!   transport failures only. A command that may have started is never re-run.
//! - [`Cmd`] is what to run: a shell script (or a quoted argv), working
//!   directory, environment, stdin, `sudo` user, timeout.
//! - [`Cluster`] is every node, with [`Cluster::run_all`] / [`Cluster::run_on`]
//!   running in parallel and returning one result per node.
//! - [`Node`] / [`SshConfig`] / [`Nodes`] are the plain data a test file or
//!   the local cluster's nodes file describes.
//! - [`local`] builds real hosts on this machine (network namespaces, a
//!   bridge, one sshd each); [`debian`] sets up a Debian node; [`daemon`]
//!   starts, pauses and stops processes by pid file.
//!
//! Every [`Error`] is one line naming the node, the command and the cause:
//! `n3: connect to 10.77.0.13:22 timed out after 5 s`.

pub mod daemon;
pub mod debian;
mod error;
mod hostkeys;
pub mod local;
pub mod lock;
mod nodes;
pub mod quote;
mod ssh;
pub mod ssh_config;

pub use error::{Error, ErrorKind};
pub use hostkeys::HostKeyCheck;
pub use nodes::{
    expand_home, home_dir, validate_nodes, Auth, Given, Node, Nodes, Secret, SshConfig, REDACTED,
};
pub use ssh::{sha256_hex, Remote, Transfer};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A command to run on a node.
///
/// The script runs as `timeout -k 2 <secs> sh -c <script>` on the node
/// (POSIX `sh`, so pipes, redirections and `&&` work; a timed-out command
/// and its process group are killed there). Use [`Cmd::argv`] to run a
/// program with arguments that are quoted for you. A process meant to
/// outlive its command must leave the process group (`setsid`, or
/// [`daemon::start`]) and close stdout/stderr, or the command will not end.
#[derive(Clone)]
pub struct Cmd {
    script: Vec<u8>,
    cwd: Option<Vec<u8>>,
    env: Vec<(String, Vec<u8>)>,
    user: Option<String>,
    stdin: Option<Arc<[u8]>>,
    timeout: Option<Duration>,
}

impl Cmd {
    /// A shell script, run as is.
    pub fn new(script: impl Into<Vec<u8>>) -> Cmd {
        Cmd {
            script: script.into(),
            cwd: None,
            env: Vec::new(),
            user: None,
            stdin: None,
            timeout: None,
        }
    }

    /// A program and its arguments, each quoted. Panics on a NUL byte
    /// (no command line can carry one); see [`quote::join`] to handle it.
    pub fn argv<I, W>(words: I) -> Cmd
    where
        I: IntoIterator<Item = W>,
        W: AsRef<[u8]>,
    {
        Cmd::new(quote::join(words).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Run in this directory (the command fails if it does not exist).
    pub fn cwd(mut self, dir: impl Into<Vec<u8>>) -> Cmd {
        self.cwd = Some(dir.into());
        self
    }

    /// Set an environment variable. Panics if `name` is not a shell
    /// identifier (`[A-Za-z_][A-Za-z0-9_]*`).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Cmd {
        let name = name.into();
        let ok = name
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        assert!(
            ok && !name.is_empty(),
            "not an environment variable name: {name:?}"
        );
        self.env.push((name, value.into()));
        self
    }

    /// Run as `user` through `sudo`. If the SSH settings carry a sudo
    /// password it is fed on stdin (never on the command line); otherwise
    /// `sudo -n` fails at once instead of waiting for a password.
    pub fn sudo(mut self, user: impl Into<String>) -> Cmd {
        self.user = Some(user.into());
        self
    }

    /// Bytes to feed on stdin (then EOF). Without this stdin is empty.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(Arc::from(data.into()));
        self
    }

    /// Override the command timeout of the SSH settings.
    pub fn timeout(mut self, t: Duration) -> Cmd {
        self.timeout = Some(t);
        self
    }

    /// The script as given, for messages (lossy UTF-8).
    pub fn script(&self) -> String {
        String::from_utf8_lossy(&self.script).into_owned()
    }

    pub(crate) fn stdin_bytes(&self) -> Option<&Arc<[u8]>> {
        self.stdin.as_ref()
    }

    pub(crate) fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn sudo_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The exact command line sent to sshd. `login_user` is who we are
    /// logged in as (sudo to ourselves is skipped); `with_password` selects
    /// `sudo -S` (password on stdin) over `sudo -n`. With `deadline` the
    /// script runs under coreutils `timeout` on the node (TERM, then KILL 2 s
    /// later, to its whole process group), so a command that times out does
    /// not linger there; the script is then run by `sh` rather than the
    /// login shell.
    pub fn render(
        &self,
        login_user: &str,
        with_password: bool,
        deadline: Option<Duration>,
    ) -> Result<Vec<u8>, quote::NulByte> {
        let mut body = Vec::new();
        if let Some(dir) = &self.cwd {
            body.extend_from_slice(b"cd -- ");
            body.extend(quote::quote(dir)?);
            body.extend_from_slice(b" || exit 1\n");
        }
        for (k, v) in &self.env {
            body.extend_from_slice(b"export ");
            body.extend_from_slice(k.as_bytes());
            body.push(b'=');
            body.extend(quote::quote(v)?);
            body.push(b'\n');
        }
        if let Some(at) = self.script.iter().position(|&b| b == 0) {
            return Err(quote::NulByte { at });
        }
        body.extend_from_slice(&self.script);
        let guarded = |body: &[u8]| -> Result<Vec<u8>, quote::NulByte> {
            let mut line = match deadline {
                Some(d) => format!("timeout -k 2 {} sh -c ", secs(d)).into_bytes(),
                None => b"sh -c ".to_vec(),
            };
            line.extend(quote::quote(body)?);
            Ok(line)
        };
        match &self.user {
            Some(u) if u != login_user => {
                let mut line: Vec<u8> = if with_password {
                    b"sudo -S -k -p '' -H -u ".to_vec()
                } else {
                    b"sudo -n -H -u ".to_vec()
                };
                line.extend(quote::quote(u.as_bytes())?);
                line.extend_from_slice(b" -- ");
                line.extend(guarded(&body)?);
                Ok(line)
            }
            _ if deadline.is_some() => {
                let mut line = b"exec ".to_vec();
                line.extend(guarded(&body)?);
                Ok(line)
            }
            _ => Ok(body),
        }
    }
}

/// Seconds for `timeout(1)`: `5`, `1.5`.
fn secs(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cmd")
            .field("script", &self.script())
            .field("user", &self.user)
            .field("stdin_len", &self.stdin.as_ref().map(|s| s.len()))
            .finish()
    }
}

impl From<&str> for Cmd {
    fn from(s: &str) -> Cmd {
        Cmd::new(s)
    }
}

impl From<String> for Cmd {
    fn from(s: String) -> Cmd {
        Cmd::new(s)
    }
}

impl From<&String> for Cmd {
    fn from(s: &String) -> Cmd {
        Cmd::new(s.as_str())
    }
}

/// How a remote command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(u32),
    /// It was killed by this signal (`"KILL"`, `"TERM"`, ...).
    Signal { signal: String, core_dumped: bool },
    /// The channel closed without an exit status (sshd lost the process).
    Unknown,
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exited with {c}"),
            ExitStatus::Signal {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by SIG{signal}")?;
                if *core_dumped {
                    write!(f, " (core dumped)")?;
                }
                Ok(())
            }
            ExitStatus::Unknown => write!(f, "ended without an exit status"),
        }
    }
}

/// What a command printed and how it ended.
#[derive(Clone, Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.status == ExitStatus::Code(0)
    }

    /// Stdout as text (lossy), surrounding whitespace trimmed.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }

    /// Stderr as text (lossy), surrounding whitespace trimmed.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_string()
    }
}

/// Every node of a test, connected lazily (first use) or eagerly
/// ([`Cluster::connect_all`]).
#[derive(Clone)]
pub struct Cluster {
    remotes: Vec<Remote>,
}

/// One result per node, in the cluster's node order.
pub type PerNode<T> = Vec<(String, Result<T, Error>)>;

impl Cluster {
    /// One [`Remote`] per node; nothing is connected yet.
    pub fn new(nodes: &Nodes) -> Cluster {
        let remotes = nodes
            .nodes
            .iter()
            .map(|n| Remote::new(n.clone(), nodes.ssh.clone()))
            .collect();
        Cluster { remotes }
    }

    pub fn from_remotes(remotes: Vec<Remote>) -> Cluster {
        Cluster { remotes }
    }

    pub fn remotes(&self) -> &[Remote] {
        &self.remotes
    }

    /// Node names in order.
    pub fn names(&self) -> Vec<String> {
        self.remotes.iter().map(|r| r.name().to_string()).collect()
    }

    /// The remote for node `name`.
    pub fn node(&self, name: &str) -> Option<&Remote> {
        self.remotes.iter().find(|r| r.name() == name)
    }

    /// Connect every node in parallel; per-node results.
    pub async fn connect_all(&self) -> PerNode<()> {
        self.each(&self.names(), |r| async move { r.connect().await })
            .await
    }

    /// Run `cmd` on every node in parallel.
    pub async fn run_all(&self, cmd: impl Into<Cmd>) -> PerNode<Output> {
        self.run_on(&self.names(), cmd).await
    }

    /// Run `cmd` on the named nodes in parallel. Unknown names get an error.
    pub async fn run_on<S: AsRef<str>>(&self, names: &[S], cmd: impl Into<Cmd>) -> PerNode<Output> {
        let cmd = cmd.into();
        self.each(names, move |r| {
            let cmd = cmd.clone();
            async move { r.run(cmd).await }
        })
        .await
    }

    /// Like [`Cluster::run_all`] but a non-zero exit is an error.
    pub async fn run_all_ok(&self, cmd: impl Into<Cmd>) -> PerNode<Output> {
        let cmd = cmd.into();
        self.each(&self.names(), move |r| {
            let cmd = cmd.clone();
            async move { r.run_ok(cmd).await }
        })
        .await
    }

    /// Run `f` for each named node concurrently; results in `names` order.
    pub async fn each<S, F, Fut, T>(&self, names: &[S], f: F) -> PerNode<T>
    where
        S: AsRef<str>,
        F: Fn(Remote) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
        T: Send + 'static,
    {
        let mut tasks = Vec::new();
        for name in names {
            let name = name.as_ref().to_string();
            match self.node(&name) {
                Some(r) => tasks.push((name, Some(tokio::spawn(f(r.clone()))))),
                None => tasks.push((name, None)),
            }
        }
        let mut out = Vec::with_capacity(tasks.len());
        for (name, task) in tasks {
            let res = match task {
                None => Err(Error::new(
                    &name,
                    ErrorKind::Local("no such node in this cluster".into()),
                )),
                Some(t) => match t.await {
                    Ok(r) => r,
                    Err(e) => Err(Error::new(
                        &name,
                        ErrorKind::Local(format!("task failed: {e}")),
                    )),
                },
            };
            out.push((name, res));
        }
        out
    }

    /// Close every connection.
    pub async fn disconnect(&self) {
        for r in &self.remotes {
            r.disconnect().await;
        }
    }
}

/// Turn per-node results into one result: all values by node, or the
/// first error (every error is logged).
pub fn all_ok<T>(results: PerNode<T>) -> Result<BTreeMap<String, T>, Error> {
    let mut out = BTreeMap::new();
    let mut first = None;
    for (name, r) in results {
        match r {
            Ok(v) => {
                out.insert(name, v);
            }
            Err(e) => {
                tracing::warn!("{e}");
                first.get_or_insert(e);
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// `5 s`, `1.5 s`, `200 ms`: durations the way people read them.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_plain_cwd_env_sudo() {
        let r = |c: &Cmd, user: &str, pw: bool, d: Option<Duration>| {
            String::from_utf8(c.render(user, pw, d).unwrap()).unwrap()
        };
        assert_eq!(r(&Cmd::new("echo hi"), "root", false, None), "echo hi");
        let c = Cmd::new("pwd").cwd("/tmp/a b").env("X", "1 2");
        assert_eq!(
            r(&c, "root", false, None),
            "cd -- '/tmp/a b' || exit 1\nexport X='1 2'\npwd"
        );
        let c = Cmd::new("id -u").sudo("root");
        assert_eq!(r(&c, "root", true, None), "id -u");
        assert_eq!(
            r(&c, "alice", true, None),
            "sudo -S -k -p '' -H -u root -- sh -c 'id -u'"
        );
        assert_eq!(
            r(&c, "alice", false, Some(Duration::from_millis(1500))),
            "sudo -n -H -u root -- timeout -k 2 1.5 sh -c 'id -u'"
        );
        assert_eq!(
            r(
                &Cmd::new("true"),
                "root",
                false,
                Some(Duration::from_secs(300))
            ),
            "exec timeout -k 2 300 sh -c true"
        );
    }

    #[test]
    fn rendered_commands_run_locally() {
        let c = Cmd::new("pwd; echo \"$X\"").cwd("/").env("X", "it's $HOME");
        for d in [None, Some(Duration::from_secs(10))] {
            let line = c.render("root", false, d).unwrap();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(String::from_utf8(line).unwrap())
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), "/\nit's $HOME\n");
        }
    }

    #[test]
    #[should_panic(expected = "not an environment variable name")]
    fn bad_env_name_panics() {
        let _ = Cmd::new("true").env("A-B", "x");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(200)), "200 ms");
    }
}
