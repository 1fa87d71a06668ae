//! Consistency models, and which of them each anomaly rules out.
//!
//! The mapping follows Adya's isolation levels as Elle uses them: an anomaly
//! is *directly* proscribed by the weakest models listed in [`weakest_ruling_out`],
//! and every model stronger than one of those (see [`ConsistencyModel::weaker`])
//! is ruled out too. Besides the six classic models we include the session
//! and real-time flavours of serializability and snapshot isolation, because
//! that is what the `-process` and `-realtime` cycle variants speak about:
//!
//! ```text
//! strict-serializable ─┬─ strong-session-serializable ─┬─ serializable ─┬─ snapshot-isolation ── consistent-view ─┐
//!                      │                               │                └─ repeatable-read ──────── cursor-stability ── read-committed ── read-uncommitted
//!                      └─ strong-snapshot-isolation ─── strong-session-snapshot-isolation ─┘ (─ snapshot-isolation)
//! ```

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsistencyModel {
    StrictSerializable,
    StrongSessionSerializable,
    Serializable,
    StrongSnapshotIsolation,
    StrongSessionSnapshotIsolation,
    SnapshotIsolation,
    ConsistentView,
    RepeatableRead,
    CursorStability,
    ReadCommitted,
    ReadUncommitted,
}

use ConsistencyModel::*;

impl ConsistencyModel {
    pub const ALL: [ConsistencyModel; 11] = [
        StrictSerializable,
        StrongSessionSerializable,
        Serializable,
        StrongSnapshotIsolation,
        StrongSessionSnapshotIsolation,
        SnapshotIsolation,
        ConsistentView,
        RepeatableRead,
        CursorStability,
        ReadCommitted,
        ReadUncommitted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrictSerializable => "strict-serializable",
            StrongSessionSerializable => "strong-session-serializable",
            Serializable => "serializable",
            StrongSnapshotIsolation => "strong-snapshot-isolation",
            StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            SnapshotIsolation => "snapshot-isolation",
            ConsistentView => "consistent-view",
            RepeatableRead => "repeatable-read",
            CursorStability => "cursor-stability",
            ReadCommitted => "read-committed",
            ReadUncommitted => "read-uncommitted",
        }
    }

    /// The models this one directly implies (a history satisfying `self`
    /// satisfies each of these).
    pub fn weaker(self) -> &'static [ConsistencyModel] {
        match self {
            StrictSerializable => &[StrongSessionSerializable, StrongSnapshotIsolation],
            StrongSessionSerializable => &[Serializable, StrongSessionSnapshotIsolation],
            Serializable => &[SnapshotIsolation, RepeatableRead],
            StrongSnapshotIsolation => &[StrongSessionSnapshotIsolation],
            StrongSessionSnapshotIsolation => &[SnapshotIsolation],
            SnapshotIsolation => &[ConsistentView],
            ConsistentView => &[CursorStability],
            RepeatableRead => &[CursorStability],
            CursorStability => &[ReadCommitted],
            ReadCommitted => &[ReadUncommitted],
            ReadUncommitted => &[],
        }
    }

    /// Does `self` imply `other` (reflexively)?
    pub fn implies(self, other: ConsistencyModel) -> bool {
        self == other || self.weaker().iter().any(|w| w.implies(other))
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConsistencyModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match s.as_str() {
            "strong-serializable" | "strict-1sr" => "strict-serializable",
            "si" => "snapshot-isolation",
            "pl-3" | "conflict-serializable" => "serializable",
            "pl-2.99" => "repeatable-read",
            "pl-2" => "read-committed",
            "pl-1" => "read-uncommitted",
            "pl-2+" => "consistent-view",
            other => other,
        };
        ConsistencyModel::ALL
            .into_iter()
            .find(|m| m.name() == alias)
            .ok_or_else(|| {
                let names: Vec<&str> = ConsistencyModel::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown consistency model {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The weakest models that directly proscribe an anomaly (by its name, as
/// reported in `Anomaly::kind`). Unknown names rule out nothing.
pub fn weakest_ruling_out(kind: &str) -> &'static [ConsistencyModel] {
    match kind {
        // Adya PL-1 forbids G0. Duplicate elements, garbage reads (values
        // nobody wrote) and internal inconsistency (a txn not seeing its own
        // writes) are allowed by no isolation level at all. (Elle maps
        // `internal` to snapshot isolation and serializability only.)
        "G0" | "duplicate-elements" | "garbage-read" | "internal" => &[ReadUncommitted],
        // A later read of a key in the same txn that changed although the
        // txn did not write it: read committed allows that, repeatable read
        // and snapshot isolation do not. (Elle reports both cases as
        // `internal`; we keep "does not see its own writes" apart.)
        "non-repeatable-read" => &[RepeatableRead, SnapshotIsolation],
        // PL-2 forbids G1 = G1a + G1b + G1c. Elle counts incompatible orders
        // and dirty updates as dirty reads (G1a).
        // A future read (a txn reading what it writes only later) is a
        // trivial wr cycle of one txn: G1c, as in Elle.
        "G1a" | "G1b" | "G1c" | "incompatible-order" | "dirty-update" | "future-read" => {
            &[ReadCommitted]
        }
        "lost-update" => &[CursorStability],
        // A G-single over items is also a G2-item; consistent view (PL-2+)
        // and hence snapshot isolation forbid it.
        "G-single" => &[ConsistentView, RepeatableRead],
        // Generalized SI forbids every cycle whose rw edges are never adjacent.
        "G-nonadjacent" => &[SnapshotIsolation, RepeatableRead],
        "G2-item" => &[RepeatableRead],
        // Process variants: a session must observe its own past.
        "G0-process" | "G1c-process" | "G-single-process" | "G-nonadjacent-process" => {
            &[StrongSessionSnapshotIsolation]
        }
        "G2-item-process" => &[StrongSessionSerializable],
        // Real-time variants: only the real-time flavours are ruled out.
        "G0-realtime" | "G1c-realtime" | "G-single-realtime" | "G-nonadjacent-realtime" => {
            &[StrongSnapshotIsolation]
        }
        "G2-item-realtime" => &[StrictSerializable],
        _ => &[],
    }
}

/// Every model an anomaly rules out: the weakest ones and all stronger models.
pub fn ruled_out_by(kind: &str) -> Vec<ConsistencyModel> {
    let base = weakest_ruling_out(kind);
    ConsistencyModel::ALL
        .into_iter()
        .filter(|m| base.iter().any(|b| m.implies(*b)))
        .collect()
}
