//! What went wrong with a request, and whether it could have taken effect.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum EtcdError {
    /// The request never left: connecting failed, or the connection broke
    /// before anything was written.
    NotSent(String),
    /// Sent, but no answer: timeout, reset, garbled response.
    Unknown(String),
    /// etcd answered with an error (a gRPC status code).
    Server {
        status: u16,
        code: i64,
        message: String,
    },
}

impl EtcdError {
    /// True when the request certainly had no effect.
    pub fn definitely_failed(&self) -> bool {
        match self {
            EtcdError::NotSent(_) => true,
            EtcdError::Unknown(_) => false,
            // gRPC codes for requests rejected before they were applied:
            // InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
            // ResourceExhausted (too many requests, no space),
            // FailedPrecondition, OutOfRange (compacted), Unimplemented,
            // Unauthenticated. Unavailable ("request timed out", "leader
            // changed", "no leader"), DeadlineExceeded, Internal and
            // Unknown may follow a proposal that still commits.
            EtcdError::Server { code, .. } => {
                matches!(code, 3 | 5 | 6 | 7 | 8 | 9 | 11 | 12 | 16)
            }
        }
    }
}

impl fmt::Display for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtcdError::NotSent(m) => write!(f, "not sent: {m}"),
            EtcdError::Unknown(m) => write!(f, "unknown outcome: {m}"),
            EtcdError::Server {
                status,
                code,
                message,
            } => write!(f, "{message} (code {code}, http {status})"),
        }
    }
}

impl std::error::Error for EtcdError {}

/// An error after the request may have left.
pub(super) fn unknown(e: impl fmt::Display) -> EtcdError {
    EtcdError::Unknown(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_errors_are_definite() {
        let server = |code| EtcdError::Server {
            status: 400,
            code,
            message: String::new(),
        };
        assert!(EtcdError::NotSent("refused".into()).definitely_failed());
        assert!(!EtcdError::Unknown("timeout".into()).definitely_failed());
        assert!(server(3).definitely_failed());
        assert!(server(8).definitely_failed());
        assert!(!server(14).definitely_failed()); // unavailable: may commit later
        assert!(!server(4).definitely_failed());
    }
}
