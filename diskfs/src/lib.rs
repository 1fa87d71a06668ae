//! diskfs: a write-back FUSE file system for disk faults, and a file
//! corrupter.
//!
//! [`serve`] mounts a passthrough of a backing directory whose regular files
//! keep what is written to them in memory until the file is fsync'ed, and
//! on command ([`request`] with `drop`) forgets everything not yet synced,
//! as a power failure would. Semantics follow lazyfs (Jepsen's FUSE file
//! system for the same purpose):
//!
//! **Dropped** by `drop`: per regular file, the bytes written and the size
//! changes (truncate down or up, writes past the end, `fallocate` growing
//! it, `O_TRUNC`) since that file's last `fsync`/`fdatasync`. After a drop
//! the file is exactly its backing file, i.e. what the last fsync wrote. A
//! file created and written but never fsync'ed is therefore empty after a
//! drop, not absent.
//!
//! **Not dropped**: name and metadata operations go to the backing
//! directory at once, as in lazyfs: create, mkdir, mknod, symlink, link,
//! unlink, rmdir, rename, chmod, chown, utimes. (Directory fsync is passed
//! through; there is nothing pending to make durable.) `close` does not
//! persist anything (neither do `flush`/`release`).
//!
//! **Written back without fsync** (and so no longer dropped): when the
//! dirty data of all files exceeds the cache limit (default 1 GiB), the
//! oldest-dirtied files are written to their backing files, as the
//! kernel's writeback does under memory pressure; and every file at
//! unmount (the `unmount` command, SIGTERM/SIGINT/SIGHUP), which also
//! fsyncs them.
//!
//! Renaming an open dirty file keeps its data (state is per inode, and hard
//! links share it); unlinking the last name of a dirty file discards its
//! dirty data once no descriptor has it open. Extended attributes are not
//! supported (ENOSYS), nor are `fallocate` modes that punch holes or zero
//! ranges (EOPNOTSUPP). The backing directory must be one file system.
//!
//! The control socket speaks one JSON request line and one JSON reply line
//! per connection; see [`request`]. The [`corrupt`] module damages files
//! (bit flips, truncated tails, rollback to a snapshot) for the other kind
//! of disk fault.

pub mod cache;
pub mod corrupt;
mod fs;
pub mod glob;
mod rng;

pub use fs::DroppedFile;

use fs::{DiskFs, Shared};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Default cap on dirty data held in memory: 1 GiB.
pub const DEFAULT_CACHE_LIMIT: u64 = 1 << 30;

/// The control socket's commands.
pub const COMMANDS: [&str; 4] = ["stats", "flush", "drop", "unmount"];

/// How long [`request`] waits for a reply (a flush of a full cache to a slow
/// disk can take a while).
const REPLY_TIMEOUT: Duration = Duration::from_secs(300);

/// An error of diskfs, with a message naming the path or field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub(crate) fn new(msg: impl Into<String>) -> Error {
        Error(msg.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// What [`serve`] mounts, and where it listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The directory whose files the mount shows (and where synced data goes).
    pub backing: PathBuf,
    /// An existing empty directory to mount on.
    pub mountpoint: PathBuf,
    /// The unix socket to listen on (created; removed at exit).
    pub control: PathBuf,
    /// Dirty bytes held in memory before the oldest are written back.
    pub cache_limit: u64,
}

/// Mounts, serves the control socket, and returns after an `unmount`
/// command or SIGTERM/SIGINT/SIGHUP, once every dirty file was written
/// back and fsync'ed, the file system unmounted and the socket removed.
///
/// Run as root (it mounts with `allow_other` and `default_permissions`, and
/// creates files as root then gives them to the requesting user). It sets
/// the process umask to 0 (the kernel sends each request's own umask, which
/// it applies) and installs handlers for those three signals: run it in a
/// process of its own, as `shakedown diskfs mount` does. A lazy unmount
/// waits for files still open on the mount to be closed before returning.
pub fn serve(opts: ServeOptions) -> Result<(), Error> {
    preflight(&opts)?;
    let shared = Arc::new(Shared::new(&opts.backing, opts.cache_limit).map_err(|e| {
        Error::new(format!(
            "diskfs: opening the backing directory {}: {e}",
            opts.backing.display()
        ))
    })?);
    let listener = bind_control(&opts.control)?;
    let (tx, rx) = mpsc::channel::<Event>();
    let signals = install_signal_handlers(tx.clone())?;
    unsafe { libc::umask(0) };

    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::FSName(format!("diskfs:{}", opts.backing.display())),
        fuser::MountOption::Subtype("diskfs".into()),
        fuser::MountOption::DefaultPermissions,
        // If this process dies (SIGKILL), fusermount3 unmounts.
        fuser::MountOption::AutoUnmount,
    ];
    config.acl = fuser::SessionACL::All;
    // Requests for different files run in parallel (each inode has its own
    // lock): one slow fsync does not stall every reader.
    config.n_threads = Some(4);
    let session = match fuser::spawn_mount(DiskFs(shared.clone()), &opts.mountpoint, &config) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&opts.control);
            return Err(Error::new(format!(
                "diskfs: mounting on {}: {e}",
                opts.mountpoint.display()
            )));
        }
    };
    let _ = shared.notifier.set(session.notifier());
    tracing::info!(
        backing = %opts.backing.display(),
        mount = %opts.mountpoint.display(),
        control = %opts.control.display(),
        "diskfs: mounted"
    );

    let stopping = Arc::new(AtomicBool::new(false));
    let control = {
        let (shared, stopping, tx) = (shared.clone(), stopping.clone(), tx.clone());
        let info = (
            opts.mountpoint.display().to_string(),
            opts.backing.display().to_string(),
        );
        std::thread::Builder::new()
            .name("diskfs-control".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    match conn {
                        Ok(c) => serve_request(c, &shared, &tx, &info),
                        Err(e) => tracing::warn!("diskfs: control socket accept: {e}"),
                    }
                }
            })
            .map_err(|e| Error::new(format!("diskfs: starting the control thread: {e}")))?
    };

    match rx.recv() {
        Ok(Event::Unmount) => tracing::info!("diskfs: unmount requested"),
        Ok(Event::Signal(sig)) => tracing::info!(sig, "diskfs: signal received"),
        Err(_) => {}
    }
    stopping.store(true, Ordering::SeqCst);
    let mut result = match shared.flush_all() {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::new(format!("diskfs: flushing before unmount: {e}"))),
    };
    // Unmount ourselves: fuser's auto-unmount path only closes the socket
    // to fusermount3, which leaves a live mount in place. A busy mount
    // (files still open) is detached: it goes away when they are closed,
    // and the join below waits for that.
    if let Err(e) = unmount(&opts.mountpoint) {
        result = result.and(Err(Error::new(format!(
            "diskfs: unmounting {}: {e}",
            opts.mountpoint.display()
        ))));
    }
    if let Err(e) = session.umount_and_join() {
        result = result.and(Err(Error::new(format!(
            "diskfs: unmounting {}: {e}",
            opts.mountpoint.display()
        ))));
    }
    // Writes that raced the first flush, through files open until the
    // lazy unmount completed.
    if let Err(e) = shared.flush_all() {
        result = result.and(Err(Error::new(format!("diskfs: flushing at unmount: {e}"))));
    }
    // Wake the accept loop so its thread ends, then remove the socket: its
    // absence tells a caller the unmount is complete.
    let _ = UnixStream::connect(&opts.control);
    let _ = control.join();
    let _ = std::fs::remove_file(&opts.control);
    drop(signals);
    result
}

fn unmount(mountpoint: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let p = mountpoint.canonicalize()?;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("NUL in the mount point"))?;
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EBUSY) => {
            if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        }
        // Not mounted (any more): someone unmounted it already.
        Some(libc::EINVAL) => Ok(()),
        _ => Err(e),
    }
}

#[derive(Debug)]
enum Event {
    Unmount,
    Signal(i32),
}

fn preflight(opts: &ServeOptions) -> Result<(), Error> {
    if !Path::new("/dev/fuse").exists() {
        return Err(Error::new(
            "diskfs: /dev/fuse is missing (load the fuse module)",
        ));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("fusermount3").is_file()))
        .unwrap_or(false);
    if !on_path {
        return Err(Error::new(
            "diskfs: fusermount3 not found: install Debian's fuse3",
        ));
    }
    for (what, p) in [
        ("backing directory", &opts.backing),
        ("mount point", &opts.mountpoint),
    ] {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(format!(
                    "diskfs: {what} {} is not a directory",
                    p.display()
                )))
            }
            Err(e) => {
                return Err(Error::new(format!(
                    "diskfs: {what} {}: {e} (expected an existing directory)",
                    p.display()
                )))
            }
        }
    }
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (b, m) = (canon(&opts.backing), canon(&opts.mountpoint));
    if m.starts_with(&b) {
        return Err(Error::new(format!(
            "diskfs: mount point {} is the backing directory {} or inside it",
            opts.mountpoint.display(),
            opts.backing.display()
        )));
    }
    let non_empty = std::fs::read_dir(&opts.mountpoint)
        .map(|mut d| d.next().is_some())
        .map_err(|e| {
            Error::new(format!(
                "diskfs: reading mount point {}: {e}",
                opts.mountpoint.display()
            ))
        })?;
    if non_empty {
        return Err(Error::new(format!(
            "diskfs: mount point {} is not empty (mounting would hide its files)",
            opts.mountpoint.display()
        )));
    }
    if opts.cache_limit == 0 {
        return Err(Error::new("diskfs: cache_limit must be at least 1 byte"));
    }
    Ok(())
}

/// Binds the control socket, replacing a stale one (no daemon answers).
fn bind_control(path: &Path) -> Result<UnixListener, Error> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(Error::new(format!(
                "diskfs: control socket {} is in use by a running daemon",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(|e| {
            Error::new(format!(
                "diskfs: removing the stale control socket {}: {e}",
                path.display()
            ))
        })?;
    }
    UnixListener::bind(path).map_err(|e| {
        Error::new(format!(
            "diskfs: listening on the control socket {}: {e}",
            path.display()
        ))
    })
}

/// Reads one request line, runs it, writes one reply line.
fn serve_request(
    conn: UnixStream,
    shared: &Shared,
    tx: &mpsc::Sender<Event>,
    (mount, backing): &(String, String),
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    let read = BufReader::new((&conn).take(64 * 1024)).read_line(&mut line);
    if read.is_err() || line.trim().is_empty() {
        return; // the wake-up connection at exit, or a client that left
    }
    let mut unmount = false;
    let reply = match serde_json::from_str::<Value>(&line) {
        Err(e) => json!({"ok": false, "error": format!("request is not JSON: {e}")}),
        Ok(req) => match req.get("cmd").and_then(Value::as_str) {
            Some("stats") => {
                let (files, bytes) = shared.stats();
                json!({"ok": true, "dirty_files": files, "dirty_bytes": bytes,
                       "mount": mount, "backing": backing})
            }
            Some("flush") => flush_reply(shared),
            Some("drop") => {
                let files = shared.drop_all();
                let bytes: u64 = files.iter().map(|f| f.bytes).sum();
                tracing::info!(files = files.len(), bytes, "diskfs: dropped unsynced data");
                json!({"ok": true, "files": files, "bytes": bytes})
            }
            Some("unmount") => {
                let r = flush_reply(shared);
                // Unmounting after a failed flush would lose that data
                // silently: the caller decides (drop, then unmount).
                unmount = r["ok"] == true;
                r
            }
            Some(other) => json!({"ok": false, "error": format!(
                "unknown cmd {other:?} (one of {})", COMMANDS.join(", "))}),
            None => json!({"ok": false, "error": "request has no \"cmd\" string field"}),
        },
    };
    let _ = writeln!(&conn, "{reply}");
    if unmount {
        let _ = tx.send(Event::Unmount);
    }
}

fn flush_reply(shared: &Shared) -> Value {
    match shared.flush_all() {
        Ok((files, bytes)) => json!({"ok": true, "files": files, "bytes": bytes}),
        Err(e) => json!({"ok": false, "error": format!("flush failed: {e}")}),
    }
}

/// Sends `{"cmd": cmd}` to the daemon's control socket and returns its
/// reply when it says `"ok": true`; a reply with `"ok": false` becomes an
/// [`Error`] carrying the daemon's `error`.
pub fn request(control: &Path, cmd: &str) -> Result<Value, Error> {
    let conn = UnixStream::connect(control).map_err(|e| {
        Error::new(format!(
            "diskfs: connecting to the control socket {}: {e} (is `shakedown diskfs mount` running?)",
            control.display()
        ))
    })?;
    let io_err = |e: std::io::Error| {
        Error::new(format!(
            "diskfs: {cmd} on the control socket {}: {e}",
            control.display()
        ))
    };
    conn.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(io_err)?;
    writeln!(&conn, "{}", json!({ "cmd": cmd })).map_err(io_err)?;
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line).map_err(io_err)?;
    let reply: Value = serde_json::from_str(&line).map_err(|e| {
        Error::new(format!(
            "diskfs: {cmd}: the daemon's reply is not JSON ({e}): {line:?}"
        ))
    })?;
    if reply["ok"] == true {
        Ok(reply)
    } else {
        let msg = reply["error"].as_str().unwrap_or("no error message");
        Err(Error::new(format!("diskfs: {cmd}: {msg}")))
    }
}

// ---- signals: a self-pipe, so the handler only writes one byte ----

static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);
const STOP_SIGNALS: [i32; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // write(2) is async-signal-safe; a full pipe just loses a duplicate.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

/// Restores the default dispositions when dropped.
struct SignalGuard;

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for sig in STOP_SIGNALS {
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
}

fn install_signal_handlers(tx: mpsc::Sender<Event>) -> Result<SignalGuard, Error> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::new(format!(
            "diskfs: creating the signal pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
    let read_fd = fds[0];
    std::thread::Builder::new()
        .name("diskfs-signals".into())
        .spawn(move || {
            let mut b = 0u8;
            loop {
                let n = unsafe { libc::read(read_fd, (&mut b as *mut u8).cast(), 1) };
                if n == 1 {
                    let _ = tx.send(Event::Signal(b as i32));
                } else if n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                } else {
                    return;
                }
            }
        })
        .map_err(|e| Error::new(format!("diskfs: starting the signal thread: {e}")))?;
    for sig in STOP_SIGNALS {
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        unsafe {
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    Ok(SignalGuard)
}
