//! [`Remote`]: one node over SSH (russh).
//!
//! One connection per node, opened on first use and reused. Each command is
//! a channel on it; a semaphore keeps at most `max_channels` open at once
//! (sshd refuses more than `MaxSessions`, default 10). Connect, auth and
//! every command have a timeout; keepalives detect a dead peer.
//!
//! Retry rule: a transport failure *before* the command was sent (connect
//! refused, channel open failed, connection found dead) reconnects and
//! retries, up to `retries` times. Once the exec request is on the wire the
//! command is never re-run: a broken connection then is reported as
//! "connection lost ... (the command may have run; not retried)".

use super::error::shorten;
use super::hostkeys::{self, HostKeyCheck};
use super::quote::q;
use super::{expand_home, human, Auth, Cmd, Error, ErrorKind, ExitStatus, Node, Output, SshConfig};
use russh::client::{self, Handle, Msg};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

/// One node, reached over SSH. Cheap to clone (shared connection).
#[derive(Clone)]
pub struct Remote {
    inner: Arc<Inner>,
}

struct Inner {
    node: Node,
    cfg: SshConfig,
    port: u16,
    addr: String,
    state: Mutex<ConnState>,
    channels: Arc<Semaphore>,
    key: StdMutex<Option<Arc<PrivateKey>>>,
    connects: AtomicU64,
}

#[derive(Default)]
struct ConnState {
    conn: Option<Arc<Handle<Client>>>,
    /// The last failed connect, so callers queued behind it fail fast
    /// instead of each retrying in turn.
    last_failure: Option<(Instant, Error)>,
}

/// The russh handler: only host key checking.
struct Client {
    mode: HostKeyCheck,
    known_hosts: PathBuf,
    pinned: Vec<String>,
    host: String,
    port: u16,
    refusal: Arc<StdMutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => hostkeys::verify(
                self.mode,
                &self.known_hosts,
                &self.pinned,
                &self.host,
                self.port,
                key,
            ),
            PublicKeyOrCertificate::Certificate(_) => Err(
                "the server presented a host certificate; only plain host keys are supported"
                    .into(),
            ),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(reason) => {
                *self.refusal.lock().unwrap() = Some(reason);
                Ok(false)
            }
        }
    }
}

/// How the bytes of a transfer are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub bytes: u64,
    /// Hex sha256, equal on both sides.
    pub sha256: String,
}

/// Where a command's stdin comes from.
enum Source<'a> {
    Empty,
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Where a command's stdout goes.
enum Sink {
    Buffer(Vec<u8>),
    File {
        file: tokio::fs::File,
        hash: Sha256,
        bytes: u64,
    },
}

impl Remote {
    /// A remote for `node`; nothing is connected until first use. The
    /// node's own `user` and `identity-file` replace the settings' `user`
    /// and `auth` ([`Remote::config`] shows the result).
    pub fn new(node: Node, mut cfg: SshConfig) -> Remote {
        if let Some(user) = &node.user {
            cfg.user = user.clone();
        }
        if let Some(path) = &node.identity_file {
            let passphrase_env = match &cfg.auth {
                Auth::Key { passphrase_env, .. } => passphrase_env.clone(),
                _ => None,
            };
            cfg.auth = Auth::Key {
                path: path.clone(),
                passphrase_env,
            };
        }
        let port = node.port.unwrap_or(cfg.port);
        let addr = if node.host.contains(':') {
            format!("[{}]:{port}", node.host)
        } else {
            format!("{}:{port}", node.host)
        };
        let channels = Arc::new(Semaphore::new(cfg.max_channels.max(1)));
        Remote {
            inner: Arc::new(Inner {
                node,
                cfg,
                port,
                addr,
                state: Mutex::new(ConnState::default()),
                channels,
                key: StdMutex::new(None),
                connects: AtomicU64::new(0),
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.node.name
    }

    pub fn node(&self) -> &Node {
        &self.inner.node
    }

    pub fn config(&self) -> &SshConfig {
        &self.inner.cfg
    }

    /// How many SSH connections this remote has opened so far.
    pub fn connections_made(&self) -> u64 {
        self.inner.connects.load(Ordering::Relaxed)
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(&self.inner.node.name, kind)
    }

    /// Connect now (otherwise the first command does). Idempotent.
    pub async fn connect(&self) -> Result<(), Error> {
        self.conn().await.map(|_| ())
    }

    /// Close the connection; the next command reconnects.
    pub async fn disconnect(&self) {
        let conn = self.inner.state.lock().await.conn.take();
        if let Some(h) = conn {
            let _ = h
                .disconnect(russh::Disconnect::ByApplication, "bye", "en")
                .await;
        }
    }

    /// Whether a connection is open (it may still turn out dead).
    pub async fn is_connected(&self) -> bool {
        let st = self.inner.state.lock().await;
        st.conn.as_ref().is_some_and(|h| !h.is_closed())
    }

    async fn conn(&self) -> Result<Arc<Handle<Client>>, Error> {
        let asked = Instant::now();
        let mut st = self.inner.state.lock().await;
        if let Some(h) = &st.conn {
            if !h.is_closed() {
                return Ok(h.clone());
            }
            st.conn = None;
        }
        if let Some((when, e)) = &st.last_failure {
            if *when >= asked {
                return Err(e.clone());
            }
        }
        let mut attempt = 0;
        let res = loop {
            match self.connect_once().await {
                Ok(h) => break Ok(Arc::new(h)),
                Err(e) if e.is_retryable() && attempt < self.inner.cfg.retries => {
                    tracing::debug!("{e}; retrying");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    attempt += 1;
                }
                Err(e) => break Err(e),
            }
        };
        match res {
            Ok(h) => {
                st.conn = Some(h.clone());
                st.last_failure = None;
                Ok(h)
            }
            Err(e) => {
                st.last_failure = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Forget `h` if it is still the current connection.
    async fn invalidate(&self, h: &Arc<Handle<Client>>) {
        let mut st = self.inner.state.lock().await;
        if st.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, h)) {
            st.conn = None;
        }
    }

    async fn connect_once(&self) -> Result<Handle<Client>, Error> {
        let cfg = &self.inner.cfg;
        let addr = self.inner.addr.clone();
        let config = Arc::new(client::Config {
            keepalive_interval: Some(cfg.keepalive_interval),
            keepalive_max: cfg.keepalive_max,
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        });
        let refusal = Arc::new(StdMutex::new(None));
        let known_hosts = cfg
            .known_hosts_path()
            .map_err(|e| self.err(ErrorKind::Local(e)))?;
        let handler = Client {
            mode: cfg.host_key_check,
            known_hosts,
            pinned: self.inner.node.host_keys.clone(),
            host: self.inner.node.host.clone(),
            port: self.inner.port,
            refusal: refusal.clone(),
        };
        let fut = client::connect(
            config,
            (self.inner.node.host.as_str(), self.inner.port),
            handler,
        );
        let mut handle = match tokio::time::timeout(cfg.connect_timeout, fut).await {
            Err(_) => {
                return Err(self.err(ErrorKind::ConnectTimeout {
                    addr,
                    after: cfg.connect_timeout,
                }))
            }
            Ok(Err(e)) => {
                if let Some(reason) = refusal.lock().unwrap().take() {
                    return Err(self.err(ErrorKind::HostKey { addr, reason }));
                }
                return Err(self.err(ErrorKind::Connect {
                    addr,
                    reason: russh_reason(&e),
                }));
            }
            Ok(Ok(h)) => h,
        };
        let user = cfg.user.clone();
        match tokio::time::timeout(cfg.auth_timeout, self.authenticate(&mut handle)).await {
            Err(_) => {
                return Err(self.err(ErrorKind::AuthTimeout {
                    user,
                    after: cfg.auth_timeout,
                }))
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(())) => {}
        }
        self.inner.connects.fetch_add(1, Ordering::Relaxed);
        Ok(handle)
    }

    fn load_key(
        &self,
        path: &Path,
        passphrase_env: Option<&str>,
    ) -> Result<Arc<PrivateKey>, Error> {
        let mut cached = self.inner.key.lock().unwrap();
        if let Some(k) = cached.as_ref() {
            return Ok(k.clone());
        }
        let user = self.inner.cfg.user.clone();
        let pass = match passphrase_env {
            None => None,
            Some(var) => Some(std::env::var(var).map_err(|_| {
                self.err(ErrorKind::Auth {
                    user: user.clone(),
                    reason: format!(
                        "key {} needs a passphrase but environment variable {var} is not set",
                        path.display()
                    ),
                })
            })?),
        };
        let path = &expand_home(path).map_err(|e| {
            self.err(ErrorKind::Auth {
                user: user.clone(),
                reason: format!("ssh.auth.path: {e}"),
            })
        })?;
        let key = russh::keys::load_secret_key(path, pass.as_deref()).map_err(|e| {
            self.err(ErrorKind::Auth {
                user: user.clone(),
                reason: format!("cannot load private key {}: {e}", path.display()),
            })
        })?;
        let key = Arc::new(key);
        *cached = Some(key.clone());
        Ok(key)
    }

    async fn authenticate(&self, h: &mut Handle<Client>) -> Result<(), Error> {
        let cfg = &self.inner.cfg;
        let user = cfg.user.clone();
        let auth_err = |reason: String| {
            self.err(ErrorKind::Auth {
                user: user.clone(),
                reason,
            })
        };
        let (res, what) = match &cfg.auth {
            Auth::Key {
                path,
                passphrase_env,
            } => {
                let key = self.load_key(path, passphrase_env.as_deref())?;
                let hash = if key.algorithm().is_rsa() {
                    h.best_supported_rsa_hash()
                        .await
                        .map_err(|e| auth_err(russh_reason(&e)))?
                        .flatten()
                } else {
                    None
                };
                let what = format!("the server refused key {}", path.display());
                (
                    h.authenticate_publickey(&user, PrivateKeyWithHashAlg::new(key, hash))
                        .await,
                    what,
                )
            }
            Auth::Password { password } => {
                let pw = password.reveal().map_err(auth_err)?;
                (
                    h.authenticate_password(&user, pw).await,
                    "the server refused the password".to_string(),
                )
            }
            Auth::Agent {} => return self.authenticate_with_agent(h).await,
        };
        match res {
            Ok(r) if r.success() => Ok(()),
            Ok(_) => Err(auth_err(what)),
            Err(e) => Err(auth_err(russh_reason(&e))),
        }
    }

    /// Offer each key the ssh-agent at `SSH_AUTH_SOCK` holds, in its order,
    /// until the server accepts one; the agent signs, the key never leaves it.
    async fn authenticate_with_agent(&self, h: &mut Handle<Client>) -> Result<(), Error> {
        let user = self.inner.cfg.user.clone();
        let auth_err = |reason: String| {
            self.err(ErrorKind::Auth {
                user: user.clone(),
                reason,
            })
        };
        let sock = std::env::var_os("SSH_AUTH_SOCK")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                auth_err(
                    "auth method agent: SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add a key)"
                        .into(),
                )
            })?;
        let sock = PathBuf::from(sock);
        let mut agent = AgentClient::connect_uds(&sock).await.map_err(|e| {
            auth_err(format!(
                "cannot reach the ssh-agent at {} (SSH_AUTH_SOCK): {e}",
                sock.display()
            ))
        })?;
        let keys: Vec<_> = agent
            .request_identities()
            .await
            .map_err(|e| auth_err(format!("the ssh-agent did not list its keys: {e}")))?
            .into_iter()
            .filter_map(|id| match id {
                AgentIdentity::PublicKey { key, .. } => Some(key),
                // Certificates are not offered: plain keys only.
                AgentIdentity::Certificate { .. } => None,
            })
            .collect();
        if keys.is_empty() {
            return Err(auth_err(format!(
                "the ssh-agent at {} holds no keys (ssh-add one)",
                sock.display()
            )));
        }
        let mut refused = Vec::new();
        for key in keys {
            let hash = if key.algorithm().is_rsa() {
                h.best_supported_rsa_hash()
                    .await
                    .map_err(|e| auth_err(russh_reason(&e)))?
                    .flatten()
            } else {
                None
            };
            let fp = hostkeys::fingerprint(&key);
            match h
                .authenticate_publickey_with(&user, key, hash, &mut agent)
                .await
            {
                Ok(r) if r.success() => return Ok(()),
                Ok(_) => refused.push(fp),
                Err(e) => {
                    return Err(auth_err(format!(
                        "the ssh-agent could not sign with {fp}: {e}"
                    )))
                }
            }
        }
        Err(auth_err(format!(
            "the server refused every key of the ssh-agent ({})",
            refused.join(", ")
        )))
    }

    /// Open a channel, reconnecting and retrying on transport failures.
    async fn open(
        &self,
    ) -> Result<
        (
            russh::Channel<Msg>,
            Arc<Handle<Client>>,
            OwnedSemaphorePermit,
        ),
        Error,
    > {
        let permit = self
            .inner
            .channels
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        let cfg = &self.inner.cfg;
        let mut attempt = 0;
        loop {
            let h = self.conn().await?;
            let res = tokio::time::timeout(cfg.connect_timeout, h.channel_open_session()).await;
            let (reason, refused) = match res {
                Ok(Ok(ch)) => return Ok((ch, h, permit)),
                Ok(Err(e @ russh::Error::ChannelOpenFailure(_))) => {
                    (russh_reason(&e), !h.is_closed())
                }
                Ok(Err(e)) => (russh_reason(&e), false),
                Err(_) => (
                    format!(
                        "opening a channel timed out after {}",
                        human(cfg.connect_timeout)
                    ),
                    false,
                ),
            };
            tracing::debug!("{}: {reason}", self.name());
            if std::env::var_os("SHK_DEBUG_CHANNELS").is_some() {
                eprintln!("{}: channel open failed: {reason}", self.name());
            }
            // Nothing ran yet, so retrying is safe. A refused channel (sshd
            // may still count a session that just closed against
            // MaxSessions) retries on the same connection; anything else
            // means the connection is gone: start over on a fresh one.
            if !refused {
                self.invalidate(&h).await;
            }
            if attempt >= cfg.retries {
                return Err(self.err(ErrorKind::Disconnected {
                    reason,
                    maybe_ran: false,
                }));
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }

    /// Run a command. A non-zero exit or a signal is *not* an error here:
    /// look at [`Output::status`]. Errors are transport failures and
    /// timeouts.
    pub async fn run(&self, cmd: impl Into<Cmd>) -> Result<Output, Error> {
        let cmd = cmd.into();
        let (out, _) = self
            .exec(&cmd, Source::Empty, Sink::Buffer(Vec::new()))
            .await?;
        Ok(out)
    }

    /// Run a command; a non-zero exit or signal is an error carrying the
    /// last line of stderr.
    pub async fn run_ok(&self, cmd: impl Into<Cmd>) -> Result<Output, Error> {
        let cmd = cmd.into();
        let out = self.run(cmd.clone()).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(self
                .err(ErrorKind::Failed {
                    status: out.status.clone(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
                .with_command(&cmd.script()))
        }
    }

    /// Run a command and return its trimmed stdout; failure is an error.
    pub async fn stdout(&self, cmd: impl Into<Cmd>) -> Result<String, Error> {
        Ok(self.run_ok(cmd).await?.stdout_str())
    }

    async fn exec(
        &self,
        cmd: &Cmd,
        source: Source<'_>,
        sink: Sink,
    ) -> Result<(Output, Sink), Error> {
        let cfg = &self.inner.cfg;
        let label = cmd.script();
        let with_cmd = |e: Error| e.with_command(&label);
        let sudo_pw = match (cmd.sudo_user(), &cfg.sudo_password) {
            (Some(u), Some(pw)) if u != cfg.user => Some(pw.reveal().map_err(|r| {
                with_cmd(self.err(ErrorKind::Local(format!("sudo password: {r}"))))
            })?),
            _ => None,
        };
        let timeout = cmd.timeout_override().unwrap_or(cfg.command_timeout);
        let line = cmd
            .render(&cfg.user, sudo_pw.is_some(), Some(timeout))
            .map_err(|e| with_cmd(self.err(ErrorKind::Local(e.to_string()))))?;
        // The node enforces `timeout` itself (and kills the command there);
        // this local one is a backstop for a hung transport.
        let backstop = timeout + Duration::from_secs(5);
        let source = match (cmd.stdin_bytes(), source) {
            (Some(b), Source::Empty) => Source::Bytes(&b[..]),
            (_, s) => s,
        };
        let mut attempt = 0;
        let (ch, h, _permit) = loop {
            let (ch, h, permit) = self.open().await.map_err(with_cmd)?;
            match ch.exec(true, line.clone()).await {
                Ok(()) => break (ch, h, permit),
                Err(e) => {
                    // The request never left this process: safe to retry.
                    self.invalidate(&h).await;
                    if attempt >= cfg.retries {
                        return Err(with_cmd(self.err(ErrorKind::Disconnected {
                            reason: russh_reason(&e),
                            maybe_ran: false,
                        })));
                    }
                    attempt += 1;
                }
            }
        };
        let (mut rd, wr) = ch.split();
        let io = async {
            // Feed stdin while reading; once the command is done reading
            // stops mattering (a command may exit without reading stdin).
            let write = feed(&wr, sudo_pw.as_deref(), source);
            let read = drain(&mut rd, sink);
            tokio::pin!(write, read);
            let mut w = None;
            loop {
                tokio::select! {
                    res = &mut write, if w.is_none() => w = Some(res),
                    r = &mut read => break (w.unwrap_or(Ok(())), r),
                }
            }
        };
        let started = Instant::now();
        let res = tokio::time::timeout(backstop, io).await;
        match res {
            Err(_) => {
                let _ = wr.signal(Sig::KILL).await;
                let _ = wr.close().await;
                Err(with_cmd(self.err(ErrorKind::Timeout { after: backstop })))
            }
            Ok((w, r)) => {
                let (status, stderr, sink, closed) =
                    r.map_err(|e| with_cmd(self.err(ErrorKind::Local(e))))?;
                if !closed && status.is_none() {
                    let _ = wr.close().await;
                    let reason = if h.is_closed() {
                        "the SSH connection closed".to_string()
                    } else {
                        "the channel closed early".to_string()
                    };
                    self.invalidate(&h).await;
                    return Err(with_cmd(self.err(ErrorKind::Disconnected {
                        reason,
                        maybe_ran: true,
                    })));
                }
                if let Err(e) = w {
                    // Writing stdin failed but the command finished: only
                    // a problem if it failed (e.g. it exited early). Report
                    // a local read error, which is ours.
                    if e.starts_with("local:") {
                        return Err(with_cmd(self.err(ErrorKind::Local(e))));
                    }
                }
                let status = status.unwrap_or(ExitStatus::Unknown);
                // timeout(1) exits 124 after TERM, 137 (or dies of KILL)
                // when it had to KILL.
                let timed_out = matches!(&status, ExitStatus::Code(124 | 137))
                    || matches!(&status, ExitStatus::Signal { signal, .. } if signal == "KILL");
                if timed_out && started.elapsed() >= timeout {
                    return Err(with_cmd(self.err(ErrorKind::Timeout { after: timeout })));
                }
                let (stdout, sink) = match sink {
                    Sink::Buffer(b) => (b, Sink::Buffer(Vec::new())),
                    s => (Vec::new(), s),
                };
                Ok((
                    Output {
                        status,
                        stdout,
                        stderr,
                    },
                    sink,
                ))
            }
        }
    }

    /// Upload a file or a directory tree to `remote` (created or replaced).
    /// Each file is streamed, then checked with `sha256sum` on the node and
    /// moved into place only when the checksums match. Modes are kept.
    pub async fn upload(&self, local: &Path, remote: &str) -> Result<Transfer, Error> {
        let meta = std::fs::metadata(local).map_err(|e| {
            self.err(ErrorKind::Local(format!(
                "cannot read {}: {e}",
                local.display()
            )))
        })?;
        if !meta.is_dir() {
            return self.upload_file(local, remote).await;
        }
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        walk(local, Path::new(""), &mut dirs, &mut files).map_err(|e| {
            self.err(ErrorKind::Local(format!(
                "cannot read {}: {e}",
                local.display()
            )))
        })?;
        let mut mk = vec![
            "mkdir".to_string(),
            "-p".to_string(),
            "--".to_string(),
            remote.to_string(),
        ];
        mk.extend(dirs.iter().map(|d| format!("{remote}/{}", d.display())));
        self.run_ok(Cmd::argv(&mk)).await?;
        let mut total = Transfer {
            bytes: 0,
            sha256: String::new(),
        };
        let mut set = tokio::task::JoinSet::new();
        let limit = Arc::new(Semaphore::new(4));
        for f in files {
            let this = self.clone();
            let src = local.join(&f);
            let dst = format!("{remote}/{}", f.display());
            let limit = limit.clone();
            set.spawn(async move {
                let _p = limit.acquire_owned().await;
                this.upload_file(&src, &dst).await
            });
        }
        while let Some(r) = set.join_next().await {
            let t =
                r.map_err(|e| self.err(ErrorKind::Local(format!("upload task failed: {e}"))))??;
            total.bytes += t.bytes;
        }
        Ok(total)
    }

    async fn upload_file(&self, local: &Path, remote: &str) -> Result<Transfer, Error> {
        let local_err = |e: std::io::Error| {
            self.err(ErrorKind::Local(format!(
                "cannot read {}: {e}",
                local.display()
            )))
        };
        let meta = std::fs::metadata(local).map_err(local_err)?;
        let (sha, bytes) = hash_file(local).await.map_err(local_err)?;
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            meta.permissions().mode() & 0o7777
        };
        let label = format!("upload {} -> {remote}", local.display());
        self.put(Source::File(local), sha, bytes, mode, remote, &label)
            .await
    }

    /// Write `data` to the file `remote` (parent directories created), with
    /// permission bits `mode`; checked with `sha256sum` on the node and
    /// moved into place atomically.
    pub async fn write_file(
        &self,
        remote: &str,
        data: impl AsRef<[u8]>,
        mode: u32,
    ) -> Result<Transfer, Error> {
        let data = data.as_ref();
        let sha = sha256_hex(data);
        let label = format!("write {remote}");
        self.put(
            Source::Bytes(data),
            sha,
            data.len() as u64,
            mode,
            remote,
            &label,
        )
        .await
    }

    /// Stream `source` into a temporary file next to `remote`, verify its
    /// sha256 on the node, then chmod and rename it into place.
    async fn put(
        &self,
        source: Source<'_>,
        sha: String,
        bytes: u64,
        mode: u32,
        remote: &str,
        label: &str,
    ) -> Result<Transfer, Error> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = format!(
            "{remote}.shakedown-upload.{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        // On mismatch print the hash we got and exit 97.
        let script = format!(
            "set -e; mkdir -p -- \"$(dirname -- {r})\"; cat > {t}; \
             got=$(sha256sum < {t}); got=${{got%% *}}; \
             if [ \"$got\" != {sha} ]; then rm -f -- {t}; echo \"$got\"; exit 97; fi; \
             chmod {mode:o} -- {t}; mv -f -- {t} {r}",
            r = q(remote),
            t = q(&tmp),
        );
        let cmd = Cmd::new(script).timeout(self.transfer_timeout(bytes));
        let (out, _) = self
            .exec(&cmd, source, Sink::Buffer(Vec::new()))
            .await
            .map_err(|e| relabel(e, label))?;
        match out.status {
            ExitStatus::Code(0) => Ok(Transfer { bytes, sha256: sha }),
            ExitStatus::Code(97) => Err(self.err(ErrorKind::Checksum {
                path: remote.to_string(),
                expected: sha,
                got: out.stdout_str(),
            })),
            _ => Err(self
                .err(ErrorKind::Failed {
                    status: out.status,
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
                .with_command(label)),
        }
    }

    /// Read a remote file into memory (checked like [`Remote::download`]).
    pub async fn read_file(&self, remote: &str) -> Result<Vec<u8>, Error> {
        let out = self
            .run_ok(format!(
                "sha256sum < {r} | cut -d' ' -f1 >&2 && cat -- {r}",
                r = q(remote)
            ))
            .await?;
        let expected = out.stderr_str();
        let got = sha256_hex(&out.stdout);
        if got != expected {
            return Err(self.err(ErrorKind::Checksum {
                path: remote.to_string(),
                expected,
                got,
            }));
        }
        Ok(out.stdout)
    }

    /// Download a file or directory tree from `remote` to `local`. Each file
    /// is hashed on the node with `sha256sum` and while it streams here;
    /// the local file appears only when both match.
    pub async fn download(&self, remote: &str, local: &Path) -> Result<Transfer, Error> {
        let kind = self
            .stdout(format!(
                "if [ -d {r} ]; then echo dir; elif [ -f {r} ]; then echo file; else echo missing; fi",
                r = q(remote)
            ))
            .await?;
        match kind.as_str() {
            "file" => self.download_file(remote, local).await,
            "dir" => {
                let list =
                    |t: &str| Cmd::new(format!("cd -- {} && find . -type {t} -print0", q(remote)));
                let dirs = self.run_ok(list("d")).await?.stdout;
                let files = self.run_ok(list("f")).await?.stdout;
                let lerr = |e: std::io::Error| {
                    self.err(ErrorKind::Local(format!(
                        "cannot write {}: {e}",
                        local.display()
                    )))
                };
                std::fs::create_dir_all(local).map_err(lerr)?;
                for d in dirs
                    .split(|&b| b == 0)
                    .filter(|d| !d.is_empty() && *d != b".")
                {
                    std::fs::create_dir_all(local.join(bytes_path(d))).map_err(lerr)?;
                }
                let mut total = Transfer {
                    bytes: 0,
                    sha256: String::new(),
                };
                let mut set = tokio::task::JoinSet::new();
                let limit = Arc::new(Semaphore::new(4));
                for f in files.split(|&b| b == 0).filter(|f| !f.is_empty()) {
                    let rel = bytes_path(f);
                    let src = format!("{remote}/{}", rel.display());
                    let dst = local.join(&rel);
                    let this = self.clone();
                    let limit = limit.clone();
                    set.spawn(async move {
                        let _p = limit.acquire_owned().await;
                        this.download_file(&src, &dst).await
                    });
                }
                while let Some(r) = set.join_next().await {
                    let t = r.map_err(|e| {
                        self.err(ErrorKind::Local(format!("download task failed: {e}")))
                    })??;
                    total.bytes += t.bytes;
                }
                Ok(total)
            }
            _ => Err(self
                .err(ErrorKind::Local(format!("{remote} does not exist")))
                .with_command(&format!("download {remote}"))),
        }
    }

    async fn download_file(&self, remote: &str, local: &Path) -> Result<Transfer, Error> {
        let label = format!("download {remote} -> {}", local.display());
        let lerr = |e: std::io::Error| {
            self.err(ErrorKind::Local(format!(
                "cannot write {}: {e}",
                local.display()
            )))
        };
        let expected = self.stdout(format!("sha256sum < {}", q(remote))).await?;
        let expected = expected.split_whitespace().next().unwrap_or("").to_string();
        let size: u64 = self
            .stdout(format!("wc -c < {}", q(remote)))
            .await?
            .parse()
            .unwrap_or(0);
        if let Some(parent) = local.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(lerr)?;
        }
        let tmp = local.with_extension(format!("shakedown-download.{}", std::process::id()));
        let file = tokio::fs::File::create(&tmp).await.map_err(lerr)?;
        let cmd = Cmd::new(format!("cat -- {}", q(remote))).timeout(self.transfer_timeout(size));
        let sink = Sink::File {
            file,
            hash: Sha256::new(),
            bytes: 0,
        };
        let res = self.exec(&cmd, Source::Empty, sink).await;
        let (out, sink) = match res {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(relabel(e, &label));
            }
        };
        let Sink::File { file, hash, bytes } = sink else {
            unreachable!("file sink stays a file sink")
        };
        drop(file);
        if !out.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(self
                .err(ErrorKind::Failed {
                    status: out.status,
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
                .with_command(&label));
        }
        let got = hex(&hash.finalize());
        if got != expected {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.err(ErrorKind::Checksum {
                path: remote.to_string(),
                expected,
                got,
            }));
        }
        std::fs::rename(&tmp, local).map_err(lerr)?;
        Ok(Transfer { bytes, sha256: got })
    }

    /// Transfers get the command timeout plus one second per 10 MB.
    fn transfer_timeout(&self, bytes: u64) -> Duration {
        self.inner.cfg.command_timeout + Duration::from_secs(bytes / 10_000_000)
    }
}

/// Write the sudo password line (if any) and the source to the channel,
/// then EOF. Errors starting with `local:` are ours (reading a file).
async fn feed(
    wr: &ChannelWriteHalf<Msg>,
    sudo_pw: Option<&str>,
    source: Source<'_>,
) -> Result<(), String> {
    if let Some(pw) = sudo_pw {
        let mut line = pw.as_bytes().to_vec();
        line.push(b'\n');
        wr.data(&line[..]).await.map_err(|e| e.to_string())?;
    }
    match source {
        Source::Empty => {}
        Source::Bytes(b) => wr.data(b).await.map_err(|e| e.to_string())?,
        Source::File(p) => {
            let mut f = tokio::fs::File::open(p)
                .await
                .map_err(|e| format!("local: cannot read {}: {e}", p.display()))?;
            let mut w = wr.make_writer();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = f
                    .read(&mut buf)
                    .await
                    .map_err(|e| format!("local: cannot read {}: {e}", p.display()))?;
                if n == 0 {
                    break;
                }
                w.write_all(&buf[..n]).await.map_err(|e| e.to_string())?;
            }
            w.flush().await.map_err(|e| e.to_string())?;
        }
    }
    wr.eof().await.map_err(|e| e.to_string())
}

/// Read the channel to its end: (exit status, stderr, sink, closed cleanly).
async fn drain(
    rd: &mut ChannelReadHalf,
    mut sink: Sink,
) -> Result<(Option<ExitStatus>, Vec<u8>, Sink, bool), String> {
    let mut stderr = Vec::new();
    let mut status = None;
    let mut closed = false;
    while let Some(msg) = rd.wait().await {
        match msg {
            ChannelMsg::Data { data } => match &mut sink {
                Sink::Buffer(b) => b.extend_from_slice(&data),
                Sink::File { file, hash, bytes } => {
                    hash.update(&data[..]);
                    *bytes += data.len() as u64;
                    file.write_all(&data)
                        .await
                        .map_err(|e| format!("cannot write download: {e}"))?;
                }
            },
            ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(ExitStatus::Code(exit_status)),
            ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                ..
            } => {
                status = Some(ExitStatus::Signal {
                    signal: sig_name(&signal_name),
                    core_dumped,
                })
            }
            ChannelMsg::Failure => {
                stderr.extend_from_slice(b"sshd refused to run the command\n");
            }
            ChannelMsg::Close => {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    if let Sink::File { file, .. } = &mut sink {
        file.flush()
            .await
            .map_err(|e| format!("cannot write download: {e}"))?;
    }
    Ok((status, stderr, sink, closed))
}

fn sig_name(s: &Sig) -> String {
    match s {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(c) => return c.clone(),
    }
    .to_string()
}

/// A russh error as a short human reason.
fn russh_reason(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused (is sshd running?)".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
            std::io::ErrorKind::UnexpectedEof => "the server closed the connection".into(),
            _ => io.to_string(),
        },
        russh::Error::Disconnect => "the server closed the connection".into(),
        russh::Error::SendError => "the SSH connection is closed".into(),
        russh::Error::ChannelOpenFailure(f) => format!("the server refused a channel ({f:?})"),
        other => shorten(&other.to_string(), 120),
    }
}

fn relabel(mut e: Error, label: &str) -> Error {
    e.command = Some(shorten(label, 80));
    e
}

async fn hash_file(p: &Path) -> std::io::Result<(String, u64)> {
    let mut f = tokio::fs::File::open(p).await?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).await?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Sha256 of a byte slice, hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn bytes_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let b = b.strip_prefix(b"./").unwrap_or(b);
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

fn walk(
    root: &Path,
    rel: &Path,
    dirs: &mut Vec<PathBuf>,
    files: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let r = rel.join(entry.file_name());
        let ft = entry.file_type()?;
        if ft.is_dir() {
            dirs.push(r.clone());
            walk(root, &r, dirs, files)?;
        } else if ft.is_file() {
            files.push(r);
        }
    }
    Ok(())
}
