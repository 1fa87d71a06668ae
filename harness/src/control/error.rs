//! One-line errors: which node, which command, why.

use super::{human, ExitStatus};
use std::fmt;
use std::time::Duration;

/// Something went wrong on a node. `Display` is a single line a person can
/// act on: `n3: connect to 10.77.0.13:22 timed out after 5 s`.
#[derive(Clone, Debug)]
pub struct Error {
    /// Node name (or the cluster name for cluster-wide steps).
    pub node: String,
    /// The command, if the error happened while running one (truncated).
    pub command: Option<String>,
    pub kind: ErrorKind,
}

#[derive(Clone, Debug)]
pub enum ErrorKind {
    /// TCP connect + SSH handshake did not finish in time.
    ConnectTimeout { addr: String, after: Duration },
    /// TCP connect failed (refused, unreachable, ...).
    Connect { addr: String, reason: String },
    /// The server's host key is unknown or does not match.
    HostKey { addr: String, reason: String },
    /// Authentication did not finish in time.
    AuthTimeout { user: String, after: Duration },
    /// The server rejected our credentials, or the key could not be loaded.
    Auth { user: String, reason: String },
    /// The connection broke. `maybe_ran` says the command may have started
    /// (so it was not retried).
    Disconnected { reason: String, maybe_ran: bool },
    /// The command did not finish in time (its channel was closed).
    Timeout { after: Duration },
    /// The command ran and failed (only from `run_ok` and helpers).
    Failed { status: ExitStatus, stderr: String },
    /// An upload or download failed its integrity check.
    Checksum {
        path: String,
        expected: String,
        got: String,
    },
    /// A local problem: reading a file, bad configuration, ...
    Local(String),
}

impl Error {
    pub fn new(node: impl Into<String>, kind: ErrorKind) -> Error {
        Error {
            node: node.into(),
            command: None,
            kind,
        }
    }

    /// Attach the command being run (shown shortened).
    pub fn with_command(mut self, cmd: &str) -> Error {
        self.command = Some(shorten(cmd, 80));
        self
    }

    /// A transport failure that is safe to retry on a fresh connection: the
    /// command (if any) certainly did not start.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::Connect { .. } => true,
            ErrorKind::Disconnected { maybe_ran, .. } => !maybe_ran,
            _ => false,
        }
    }

    /// The node could not be reached at all (connect, host key, auth).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::ConnectTimeout { .. }
                | ErrorKind::Connect { .. }
                | ErrorKind::HostKey { .. }
                | ErrorKind::AuthTimeout { .. }
                | ErrorKind::Auth { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever a message from elsewhere contains.
        let mut s = String::new();
        self.write(&mut s)?;
        if s.contains(['\n', '\r']) {
            s = s.replace("\r\n", " ").replace(['\n', '\r'], " ");
        }
        f.write_str(&s)
    }
}

impl Error {
    fn write(&self, f: &mut impl fmt::Write) -> fmt::Result {
        write!(f, "{}: ", self.node)?;
        if let Some(c) = &self.command {
            write!(f, "`{c}`: ")?;
        }
        match &self.kind {
            ErrorKind::ConnectTimeout { addr, after } => {
                write!(f, "connect to {addr} timed out after {}", human(*after))
            }
            ErrorKind::Connect { addr, reason } => write!(f, "connect to {addr} failed: {reason}"),
            ErrorKind::HostKey { addr, reason } => {
                write!(f, "host key of {addr} refused: {reason}")
            }
            ErrorKind::AuthTimeout { user, after } => {
                write!(
                    f,
                    "authentication as {user} timed out after {}",
                    human(*after)
                )
            }
            ErrorKind::Auth { user, reason } => {
                write!(f, "authentication as {user} failed: {reason}")
            }
            ErrorKind::Disconnected { reason, maybe_ran } => {
                write!(f, "connection lost: {reason}")?;
                if *maybe_ran {
                    write!(f, " (the command may have run; not retried)")?;
                }
                Ok(())
            }
            ErrorKind::Timeout { after } => write!(f, "timed out after {}", human(*after)),
            ErrorKind::Failed { status, stderr } => {
                write!(f, "{status}")?;
                let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
                if let Some(l) = last {
                    write!(f, ": {}", shorten(l.trim(), 200))?;
                }
                Ok(())
            }
            ErrorKind::Checksum {
                path,
                expected,
                got,
            } => write!(
                f,
                "checksum mismatch for {path}: expected sha256 {expected}, got {got}"
            ),
            ErrorKind::Local(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

/// First line of `s`, at most `max` characters, with `…` when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    let first = s.lines().next().unwrap_or("");
    let multi = s.lines().nth(1).is_some();
    let mut out: String = first.chars().take(max).collect();
    if multi || first.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_messages() {
        let e = Error::new("n2", ErrorKind::Local("two\nlines\r\nhere".into()));
        assert_eq!(e.to_string(), "n2: two lines here");
        let e = Error::new(
            "n3",
            ErrorKind::ConnectTimeout {
                addr: "10.77.0.13:22".into(),
                after: Duration::from_secs(5),
            },
        );
        assert_eq!(
            e.to_string(),
            "n3: connect to 10.77.0.13:22 timed out after 5 s"
        );
        let e = Error::new(
            "n1",
            ErrorKind::Failed {
                status: ExitStatus::Code(2),
                stderr: "warning\nls: cannot access 'x': No such file\n".into(),
            },
        )
        .with_command("ls x\nmore");
        assert_eq!(
            e.to_string(),
            "n1: `ls x…`: exited with 2: ls: cannot access 'x': No such file"
        );
        assert!(!e.to_string().contains('\n'));
    }
}
