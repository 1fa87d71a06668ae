//! The verdict every checker returns, and how verdicts compose.

use serde::{Deserialize, Serialize};

/// `false` beats `unknown` beats `true` when verdicts are combined. Stored
/// as `"valid"`, `"invalid"` or `"unknown"` (also in `results.json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    Valid,
    Invalid,
    /// Also the verdict of nothing checked.
    #[default]
    Unknown,
}

impl Validity {
    pub fn combine(self, other: Validity) -> Validity {
        use Validity::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }

    /// The verdict of a set of checkers; `unknown` when there are none
    /// (nothing was checked, so nothing is known to be valid).
    pub fn all(verdicts: impl IntoIterator<Item = Validity>) -> Validity {
        let mut it = verdicts.into_iter();
        match it.next() {
            None => Validity::Unknown,
            Some(first) => it.fold(first, Validity::combine),
        }
    }

    /// Parses `valid` / `invalid` / `unknown`, and Jepsen's `true` / `false`.
    pub fn from_json(v: &serde_json::Value) -> Option<Validity> {
        match v {
            serde_json::Value::Bool(true) => Some(Validity::Valid),
            serde_json::Value::Bool(false) => Some(Validity::Invalid),
            serde_json::Value::String(s) => match s.as_str() {
                "valid" | "true" => Some(Validity::Valid),
                "invalid" | "false" => Some(Validity::Invalid),
                "unknown" => Some(Validity::Unknown),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Validity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The reason every checker gives for a history without a single client
/// operation (empty, or only nemesis events): it tested nothing, so it is
/// never valid.
pub const NO_CLIENT_OPERATION: &str = "no client operation in the history";

/// True when the history holds at least one client invocation.
pub fn has_client_operation(history: &history::History) -> bool {
    history.calls().next().is_some()
}
