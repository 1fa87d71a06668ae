//! Consistency models, and which of them each anomaly rules out: Elle's
//! tables (`elle.consistency-model` in jepsen-io/elle), restricted to the
//! transactional models.
//!
//! Three relations decide it, as in Elle:
//!
//! - [`ConsistencyModel::weaker`]: the model hierarchy (a history
//!   satisfying a model satisfies every model it points to);
//! - [`ConsistencyModel::proscribes`]: the anomalies each model forbids
//!   *directly* (besides those its weaker models forbid);
//! - [`implied`]: anomalies that imply others (G1a is a G1; a G-single over
//!   items is also a G-nonadjacent over items, hence a G2-item ...).
//!
//! An anomaly rules out every model that directly proscribes it or any
//! anomaly it implies, and every model stronger than one of those
//! ([`ruled_out_by`]). `checkers/tests/txn_models.rs` checks the result for
//! every anomaly name against a table computed from Elle's own source.
//!
//! Shakedown's cycles are all over items (keys read and written by name),
//! so its `G-single`, `G-nonadjacent` and their variants are Elle's
//! `G-single-item`, `G-nonadjacent-item` ... ([`elle_name`]): they rule out
//! what those rule out (repeatable read too).
//!
//! The hierarchy, strongest first: strict-serializable implies
//! strong-session-serializable and strong-snapshot-isolation; serializable
//! implies repeatable-read, update-serializable and snapshot-isolation;
//! snapshot-isolation implies parallel-snapshot-isolation, prefix,
//! forward-consistent-view, monotonic-snapshot-read and
//! monotonic-atomic-view; down to read-committed and read-uncommitted
//! (and their `strong-session-` and `strong-` forms, which add process and
//! real-time order).

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsistencyModel {
    StrictSerializable,
    StrongSessionSerializable,
    Serializable,
    UpdateSerializable,
    StrongSnapshotIsolation,
    StrongSessionSnapshotIsolation,
    SnapshotIsolation,
    ParallelSnapshotIsolation,
    Prefix,
    CausalCerone,
    UpdateAtomic,
    ReadAtomic,
    ForwardConsistentView,
    ConsistentView,
    RepeatableRead,
    MonotonicAtomicView,
    CursorStability,
    MonotonicView,
    MonotonicSnapshotRead,
    StrongReadCommitted,
    StrongSessionReadCommitted,
    ReadCommitted,
    StrongReadUncommitted,
    StrongSessionReadUncommitted,
    ReadUncommitted,
}

use ConsistencyModel::*;

impl ConsistencyModel {
    /// Other names [`FromStr`] takes for a model (beside [`Self::name`]
    /// and [`Self::canonical`]).
    pub const ALIASES: [&'static str; 5] = [
        "strong-serializable",
        "strict-1sr",
        "si",
        "conflict-serializable",
        "psi",
    ];

    /// Every model, stronger ones before the models they imply.
    pub const ALL: [ConsistencyModel; 25] = [
        StrictSerializable,
        StrongSessionSerializable,
        Serializable,
        UpdateSerializable,
        StrongSnapshotIsolation,
        StrongSessionSnapshotIsolation,
        SnapshotIsolation,
        ParallelSnapshotIsolation,
        Prefix,
        CausalCerone,
        UpdateAtomic,
        ReadAtomic,
        ForwardConsistentView,
        ConsistentView,
        RepeatableRead,
        MonotonicAtomicView,
        CursorStability,
        MonotonicView,
        MonotonicSnapshotRead,
        StrongReadCommitted,
        StrongSessionReadCommitted,
        ReadCommitted,
        StrongReadUncommitted,
        StrongSessionReadUncommitted,
        ReadUncommitted,
    ];

    /// Elle's friendly name.
    pub fn name(self) -> &'static str {
        match self {
            StrictSerializable => "strict-serializable",
            StrongSessionSerializable => "strong-session-serializable",
            Serializable => "serializable",
            UpdateSerializable => "update-serializable",
            StrongSnapshotIsolation => "strong-snapshot-isolation",
            StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            SnapshotIsolation => "snapshot-isolation",
            ParallelSnapshotIsolation => "parallel-snapshot-isolation",
            Prefix => "prefix",
            CausalCerone => "causal-cerone",
            UpdateAtomic => "update-atomic",
            ReadAtomic => "read-atomic",
            ForwardConsistentView => "forward-consistent-view",
            ConsistentView => "consistent-view",
            RepeatableRead => "repeatable-read",
            MonotonicAtomicView => "monotonic-atomic-view",
            CursorStability => "cursor-stability",
            MonotonicView => "monotonic-view",
            MonotonicSnapshotRead => "monotonic-snapshot-read",
            StrongReadCommitted => "strong-read-committed",
            StrongSessionReadCommitted => "strong-session-read-committed",
            ReadCommitted => "read-committed",
            StrongReadUncommitted => "strong-read-uncommitted",
            StrongSessionReadUncommitted => "strong-session-read-uncommitted",
            ReadUncommitted => "read-uncommitted",
        }
    }

    /// Adya's (or Elle's canonical) name, where there is one.
    pub fn canonical(self) -> Option<&'static str> {
        Some(match self {
            StrictSerializable => "PL-SS",
            Serializable => "PL-3",
            UpdateSerializable => "PL-3U",
            SnapshotIsolation => "PL-SI",
            ForwardConsistentView => "PL-FCV",
            ConsistentView => "PL-2+",
            RepeatableRead => "PL-2.99",
            CursorStability => "PL-CS",
            MonotonicView => "PL-2L",
            MonotonicSnapshotRead => "PL-MSR",
            ReadCommitted => "PL-2",
            ReadUncommitted => "PL-1",
            StrongSessionReadCommitted => "strong-session-PL-2",
            StrongSessionReadUncommitted => "strong-session-PL-1",
            StrongReadCommitted => "strong-PL-2",
            StrongReadUncommitted => "strong-PL-1",
            _ => return None,
        })
    }

    /// The models this one directly implies (a history satisfying `self`
    /// satisfies each of these): Elle's `models` graph.
    pub fn weaker(self) -> &'static [ConsistencyModel] {
        match self {
            StrictSerializable => &[
                Serializable,
                SnapshotIsolation,
                StrongSnapshotIsolation,
                StrongSessionSerializable,
            ],
            StrongSessionSerializable => &[Serializable, StrongSessionSnapshotIsolation],
            Serializable => &[RepeatableRead, UpdateSerializable, SnapshotIsolation],
            UpdateSerializable => &[ForwardConsistentView],
            StrongSnapshotIsolation => &[StrongSessionSnapshotIsolation, StrongReadCommitted],
            StrongSessionSnapshotIsolation => &[SnapshotIsolation, StrongSessionReadCommitted],
            SnapshotIsolation => &[
                ForwardConsistentView,
                MonotonicAtomicView,
                MonotonicSnapshotRead,
                ParallelSnapshotIsolation,
                Prefix,
            ],
            ParallelSnapshotIsolation => &[CausalCerone, UpdateAtomic],
            Prefix => &[CausalCerone],
            CausalCerone => &[ReadAtomic],
            UpdateAtomic => &[ReadAtomic],
            ReadAtomic => &[MonotonicAtomicView],
            ForwardConsistentView => &[ConsistentView],
            ConsistentView => &[CursorStability, MonotonicView],
            RepeatableRead => &[CursorStability, MonotonicAtomicView],
            MonotonicAtomicView => &[ReadCommitted],
            CursorStability => &[ReadCommitted],
            MonotonicView => &[ReadCommitted],
            MonotonicSnapshotRead => &[ReadCommitted],
            StrongReadCommitted => &[StrongSessionReadCommitted, StrongReadUncommitted],
            StrongSessionReadCommitted => &[ReadCommitted, StrongSessionReadUncommitted],
            ReadCommitted => &[ReadUncommitted],
            StrongReadUncommitted => &[StrongSessionReadUncommitted],
            StrongSessionReadUncommitted => &[ReadUncommitted],
            ReadUncommitted => &[],
        }
    }

    /// The anomalies this model forbids directly, over its weaker models:
    /// Elle's `direct-proscribed-anomalies` (the `*-cycle-exists` entries
    /// and anomalies no checker here reports are left out).
    pub fn proscribes(self) -> &'static [&'static str] {
        match self {
            StrictSerializable => &["G1", "G1c-realtime", "G2-realtime"],
            StrongSessionSerializable => &["G1-process", "G2-process"],
            Serializable => &["G1", "G2", "internal"],
            UpdateSerializable => &["G1", "G-update"],
            StrongSnapshotIsolation => &["internal", "G1-realtime", "G-nonadjacent-realtime"],
            StrongSessionSnapshotIsolation => &["internal", "G1-process", "G-nonadjacent-process"],
            SnapshotIsolation => &["internal", "G1", "G-SI", "G-nonadjacent"],
            ParallelSnapshotIsolation => &["internal", "G1a"],
            Prefix => &["internal", "G1a"],
            CausalCerone => &["internal", "G1a"],
            UpdateAtomic => &["lost-update"],
            ReadAtomic => &["internal", "G1a", "future-read"],
            ForwardConsistentView => &["G1", "G-SIb"],
            ConsistentView => &["G1", "G-single"],
            RepeatableRead => &["G1", "G2-item", "lost-update"],
            MonotonicAtomicView => &[],
            CursorStability => &["G1", "G-cursor", "lost-update"],
            MonotonicView => &["G1", "G-monotonic"],
            MonotonicSnapshotRead => &["G1", "G-MSR"],
            StrongReadCommitted => &["G1c-realtime"],
            StrongSessionReadCommitted => &["G1c-process"],
            ReadCommitted => &["G1"],
            StrongReadUncommitted => &["G0-realtime"],
            StrongSessionReadUncommitted => &["G0-process"],
            ReadUncommitted => &["G0", "duplicate-elements", "cyclic-versions"],
        }
    }

    /// Does `self` imply `other` (reflexively)?
    pub fn implies(self, other: ConsistencyModel) -> bool {
        self == other || self.weaker().iter().any(|w| w.implies(other))
    }

    /// The models that `self` is a weaker form of, itself included.
    pub fn stronger_or_equal(self) -> Vec<ConsistencyModel> {
        ConsistencyModel::ALL
            .into_iter()
            .filter(|m| m.implies(self))
            .collect()
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
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match lower.as_str() {
            "strong-serializable" | "strict-1sr" => "strict-serializable",
            "si" => "snapshot-isolation",
            "conflict-serializable" => "serializable",
            "psi" => "parallel-snapshot-isolation",
            other => other,
        };
        ConsistencyModel::ALL
            .into_iter()
            .find(|m| {
                m.name() == alias || m.canonical().is_some_and(|c| c.eq_ignore_ascii_case(alias))
            })
            .ok_or_else(|| {
                let names: Vec<&str> = ConsistencyModel::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown consistency model {lower:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The anomalies an anomaly directly implies: Elle's `implied-anomalies`.
pub fn implied(kind: &str) -> &'static [&'static str] {
    match kind {
        "G0" => &["G1c", "G0-process"],
        "G0-process" => &["G1c-process", "G0-realtime"],
        "G0-realtime" => &["G1c-realtime"],
        "G1a" | "G1b" => &["G1"],
        "G1c" => &["G1", "G1c-process"],
        "G1c-process" => &["G1c-realtime", "G1-process"],
        "G1c-realtime" => &["G1-realtime"],
        "G1" => &["G1-process"],
        "G1-process" => &["G1-realtime"],
        "G-single-item" => &["G-single", "G-single-item-process", "G-nonadjacent-item"],
        "G-single-item-process" => &[
            "G-single-process",
            "G-single-item-realtime",
            "G-nonadjacent-item-process",
        ],
        "G-single-item-realtime" => &["G-single-realtime", "G-nonadjacent-item-realtime"],
        "G-single" => &["G-nonadjacent", "GSIb", "G-single-process"],
        "G-single-process" => &["G-nonadjacent-process", "G-single-realtime"],
        "G-single-realtime" => &["G-nonadjacent-realtime"],
        "G-nonadjacent-item" => &["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
        "G-nonadjacent-item-process" => &[
            "G-nonadjacent-process",
            "G2-item-process",
            "G-nonadjacent-item-realtime",
        ],
        "G-nonadjacent-item-realtime" => &["G2-item-realtime", "G-nonadjacent-realtime"],
        "G-nonadjacent" => &["G2", "G-nonadjacent-process"],
        "G-nonadjacent-process" => &["G2-process", "G-nonadjacent-realtime"],
        "G-nonadjacent-realtime" => &["G2-realtime"],
        "G2" => &["G2-process"],
        "G2-item" => &["G2", "G2-item-process"],
        "G2-item-process" => &["G2-process", "G2-item-realtime"],
        "G2-item-realtime" => &["G2-realtime"],
        "G2-process" => &["G2-realtime"],
        "GSIa" | "GSIb" => &["GSI"],
        "incompatible-order" | "dirty-update" => &["G1a"],
        "future-read" => &["G1c"],
        "lost-update" => &["write-skew", "G2-item"],
        "write-skew" => &["G2"],
        _ => &[],
    }
}

/// The name Elle gives the anomaly shakedown reports as `kind`: cycles here
/// are all over items, so `G-single` is Elle's `G-single-item` (and so on
/// for their `-process` and `-realtime` variants). Other names are Elle's
/// already.
pub fn elle_name(kind: &str) -> String {
    for base in ["G-single", "G-nonadjacent"] {
        if let Some(rest) = kind.strip_prefix(base) {
            if !rest.starts_with("-item") && matches!(rest, "" | "-process" | "-realtime") {
                return format!("{base}-item{rest}");
            }
        }
    }
    kind.to_string()
}

/// The Elle anomaly whose ruled-out models shakedown uses for `kind`:
/// [`elle_name`], and for the two names Elle does not have, the nearest
/// one (see the README's list of deliberate differences).
fn elle_equivalent(kind: &str) -> String {
    match kind {
        // A read of a value nobody wrote: no model allows it, like
        // duplicate elements (Elle has no such anomaly).
        "garbage-read" => "duplicate-elements".to_string(),
        // Shakedown's name for it before Elle's `internal`.
        "non-repeatable-read" => "internal".to_string(),
        other => elle_name(other),
    }
}

/// Every anomaly the Elle anomaly `elle` implies, itself included (Elle's
/// `all-implied-anomalies`).
pub fn all_implied(elle: &str) -> Vec<String> {
    let mut seen = vec![elle.to_string()];
    let mut i = 0;
    while i < seen.len() {
        for &next in implied(&seen[i]) {
            if !seen.iter().any(|s| s == next) {
                seen.push(next.to_string());
            }
        }
        i += 1;
    }
    seen
}

/// The weakest models that forbid `kind` (directly or through an anomaly
/// it implies): Elle's boundary `:not`.
pub fn weakest_ruling_out(kind: &str) -> Vec<ConsistencyModel> {
    weakest(&ruled_out_by(kind))
}

/// The models of `ms` that imply no other one of `ms`.
pub fn weakest(ms: &[ConsistencyModel]) -> Vec<ConsistencyModel> {
    extremes(ms, |a, b| a.implies(b))
}

/// The models of `ms` that no other one of `ms` implies.
pub fn strongest(ms: &[ConsistencyModel]) -> Vec<ConsistencyModel> {
    extremes(ms, |a, b| b.implies(a))
}

fn extremes(
    ms: &[ConsistencyModel],
    beyond: impl Fn(ConsistencyModel, ConsistencyModel) -> bool,
) -> Vec<ConsistencyModel> {
    ms.iter()
        .copied()
        .filter(|&m| !ms.iter().any(|&o| o != m && beyond(m, o)))
        .collect()
}

/// Every model the anomaly shakedown reports as `kind` rules out, strongest
/// first: what its Elle name rules out ([`elle_ruled_out`]).
pub fn ruled_out_by(kind: &str) -> Vec<ConsistencyModel> {
    elle_ruled_out(&elle_equivalent(kind))
}

/// Every model an anomaly named as Elle names it rules out (Elle's
/// `anomalies->impossible-models`), strongest first. Unknown names rule
/// out nothing.
pub fn elle_ruled_out(elle: &str) -> Vec<ConsistencyModel> {
    let anomalies = all_implied(elle);
    let direct: Vec<ConsistencyModel> = ConsistencyModel::ALL
        .into_iter()
        .filter(|m| {
            m.proscribes()
                .iter()
                .any(|p| anomalies.iter().any(|a| a == p))
        })
        .collect();
    ConsistencyModel::ALL
        .into_iter()
        .filter(|m| direct.iter().any(|d| m.implies(*d)))
        .collect()
}
