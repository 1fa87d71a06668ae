//! The models each anomaly rules out are Elle's.
//!
//! `ELLE` below was computed from Elle's `src/elle/consistency_model.clj`
//! (jepsen-io/elle, commit dda36d83): for each anomaly name, Elle's
//! `anomalies->impossible-models` (all implied anomalies, the models that
//! directly proscribe any of them, and every model stronger than those),
//! with canonical names (PL-2 ...) turned back into friendly ones. Every
//! model Elle rules out for these names is one of shakedown's, so the
//! lists are Elle's in full, in shakedown's order (`ConsistencyModel::ALL`).

use checkers::txn::models::{elle_name, elle_ruled_out, ruled_out_by, weakest_ruling_out};
use checkers::txn::ConsistencyModel;

const ELLE: &[(&str, &[&str])] = &[
    (
        "G0",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
            "strong-read-uncommitted",
            "strong-session-read-uncommitted",
            "read-uncommitted",
        ],
    ),
    (
        "G0-process",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "strong-read-committed",
            "strong-session-read-committed",
            "strong-read-uncommitted",
            "strong-session-read-uncommitted",
        ],
    ),
    (
        "G0-realtime",
        &[
            "strict-serializable",
            "strong-snapshot-isolation",
            "strong-read-committed",
            "strong-read-uncommitted",
        ],
    ),
    (
        "G1a",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
        ],
    ),
    (
        "G1b",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
        ],
    ),
    (
        "G1c",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
        ],
    ),
    (
        "G1c-process",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "strong-read-committed",
            "strong-session-read-committed",
        ],
    ),
    (
        "G1c-realtime",
        &[
            "strict-serializable",
            "strong-snapshot-isolation",
            "strong-read-committed",
        ],
    ),
    (
        "G-single",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "forward-consistent-view",
            "consistent-view",
        ],
    ),
    (
        "G-single-process",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
        ],
    ),
    (
        "G-single-realtime",
        &["strict-serializable", "strong-snapshot-isolation"],
    ),
    (
        "G-single-item",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
        ],
    ),
    (
        "G-single-item-process",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
        ],
    ),
    (
        "G-single-item-realtime",
        &["strict-serializable", "strong-snapshot-isolation"],
    ),
    (
        "G-nonadjacent",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
        ],
    ),
    (
        "G-nonadjacent-process",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
        ],
    ),
    (
        "G-nonadjacent-realtime",
        &["strict-serializable", "strong-snapshot-isolation"],
    ),
    (
        "G-nonadjacent-item",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "repeatable-read",
        ],
    ),
    (
        "G-nonadjacent-item-process",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
        ],
    ),
    (
        "G-nonadjacent-item-realtime",
        &["strict-serializable", "strong-snapshot-isolation"],
    ),
    (
        "G2-item",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "repeatable-read",
        ],
    ),
    (
        "G2-item-process",
        &["strict-serializable", "strong-session-serializable"],
    ),
    ("G2-item-realtime", &["strict-serializable"]),
    (
        "incompatible-order",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
        ],
    ),
    (
        "dirty-update",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
        ],
    ),
    (
        "future-read",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
        ],
    ),
    (
        "lost-update",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "update-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "cursor-stability",
        ],
    ),
    (
        "internal",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
        ],
    ),
    (
        "duplicate-elements",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
            "strong-read-uncommitted",
            "strong-session-read-uncommitted",
            "read-uncommitted",
        ],
    ),
    (
        "cyclic-versions",
        &[
            "strict-serializable",
            "strong-session-serializable",
            "serializable",
            "update-serializable",
            "strong-snapshot-isolation",
            "strong-session-snapshot-isolation",
            "snapshot-isolation",
            "parallel-snapshot-isolation",
            "prefix",
            "causal-cerone",
            "update-atomic",
            "read-atomic",
            "forward-consistent-view",
            "consistent-view",
            "repeatable-read",
            "monotonic-atomic-view",
            "cursor-stability",
            "monotonic-view",
            "monotonic-snapshot-read",
            "strong-read-committed",
            "strong-session-read-committed",
            "read-committed",
            "strong-read-uncommitted",
            "strong-session-read-uncommitted",
            "read-uncommitted",
        ],
    ),
];

fn expected(name: &str) -> Vec<String> {
    ELLE.iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is not in the table"))
        .1
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn names(ms: &[ConsistencyModel]) -> Vec<String> {
    ms.iter().map(|m| m.name().to_string()).collect()
}

#[test]
fn every_elle_anomaly_rules_out_what_elle_rules_out() {
    for (name, _) in ELLE {
        assert_eq!(names(&elle_ruled_out(name)), expected(name), "{name}");
    }
}

/// Shakedown's cycle names are Elle's `-item` names (its cycles are over
/// items): each rules out exactly what its Elle name does.
#[test]
fn shakedown_cycle_names_rule_out_what_their_item_names_do() {
    for (ours, elle) in [
        ("G-single", "G-single-item"),
        ("G-single-process", "G-single-item-process"),
        ("G-single-realtime", "G-single-item-realtime"),
        ("G-nonadjacent", "G-nonadjacent-item"),
        ("G-nonadjacent-process", "G-nonadjacent-item-process"),
        ("G-nonadjacent-realtime", "G-nonadjacent-item-realtime"),
        ("G2-item", "G2-item"),
        ("G0", "G0"),
        ("G1c-realtime", "G1c-realtime"),
    ] {
        assert_eq!(elle_name(ours), elle, "{ours}");
        assert_eq!(names(&ruled_out_by(ours)), expected(elle), "{ours}");
    }
}

/// Every anomaly name the checkers can report is in the table (or is one
/// of the listed deliberate differences): the names are read from the
/// analyses' source.
#[test]
fn every_reported_name_is_covered() {
    let sources = [
        include_str!("../src/txn/list_append.rs"),
        include_str!("../src/txn/rw_register.rs"),
        include_str!("../src/txn/cycles.rs"),
    ];
    let mut reported: Vec<String> = Vec::new();
    for s in sources {
        // `found.want(t, "kind", ...)`, perhaps broken over lines.
        for part in s.split("found.want(").skip(1) {
            let rest = part.trim_start().strip_prefix("t,").unwrap().trim_start();
            let name = rest.strip_prefix('"').unwrap().split('"').next().unwrap();
            reported.push(name.to_string());
        }
    }
    for class in ["G0", "G1c", "G-single", "G-nonadjacent", "G2-item"] {
        for suffix in ["", "-process", "-realtime"] {
            reported.push(format!("{class}{suffix}"));
        }
    }
    reported.sort();
    reported.dedup();
    assert!(reported.len() > 20, "{reported:?}");
    for name in [
        "duplicate-elements",
        "incompatible-order",
        "internal",
        "cyclic-versions",
    ] {
        assert!(
            reported.iter().any(|r| r == name),
            "{name} not read: {reported:?}"
        );
    }
    for name in &reported {
        if name == "garbage-read" {
            // Not an Elle anomaly: like duplicate elements, no model allows
            // reading a value nobody wrote (README: deliberate differences).
            assert_eq!(ruled_out_by(name), ruled_out_by("duplicate-elements"));
            continue;
        }
        assert!(
            ELLE.iter().any(|(n, _)| *n == elle_name(name)),
            "{name} (Elle: {}) is not in the table",
            elle_name(name)
        );
        assert_eq!(
            names(&ruled_out_by(name)),
            expected(&elle_name(name)),
            "{name}"
        );
    }
}

/// The case: `internal` (a non-repeatable read, or a txn not
/// seeing its own write) never rules out read committed or repeatable read.
#[test]
fn internal_rules_out_only_what_forbids_internal_inconsistency() {
    let out = names(&ruled_out_by("internal"));
    for allowed in [
        "read-committed",
        "read-uncommitted",
        "repeatable-read",
        "cursor-stability",
        "monotonic-atomic-view",
    ] {
        assert!(!out.contains(&allowed.to_string()), "{allowed} in {out:?}");
    }
    assert!(out.contains(&"serializable".to_string()));
    assert!(out.contains(&"snapshot-isolation".to_string()));
    assert!(out.contains(&"read-atomic".to_string()));
    assert_eq!(names(&weakest_ruling_out("internal")), vec!["read-atomic"]);
}

#[test]
fn lost_update_rules_out_cursor_stability_and_update_atomic() {
    assert_eq!(
        names(&weakest_ruling_out("lost-update")),
        vec!["update-atomic", "cursor-stability"]
    );
}

#[test]
fn the_model_names_parse_and_elles_canonical_names_too() {
    for m in ConsistencyModel::ALL {
        assert_eq!(m.name().parse::<ConsistencyModel>(), Ok(m));
        if let Some(c) = m.canonical() {
            assert_eq!(c.parse::<ConsistencyModel>(), Ok(m), "{c}");
        }
    }
    for (alias, m) in [
        ("strong-serializable", ConsistencyModel::StrictSerializable),
        ("SI", ConsistencyModel::SnapshotIsolation),
        ("pl-2", ConsistencyModel::ReadCommitted),
        ("pl-2+", ConsistencyModel::ConsistentView),
        ("read_committed", ConsistencyModel::ReadCommitted),
    ] {
        assert_eq!(alias.parse::<ConsistencyModel>(), Ok(m), "{alias}");
    }
    assert!("snapshot".parse::<ConsistencyModel>().is_err());
}

/// Each model rules out exactly what its stronger models need: a model
/// never ruled out by an anomaly is never implied by one that is.
#[test]
fn ruled_out_sets_are_closed_upwards() {
    for (name, _) in ELLE {
        let out = elle_ruled_out(name);
        for m in &out {
            for s in m.stronger_or_equal() {
                assert!(out.contains(&s), "{name}: {m} out but not {s}");
            }
        }
    }
}
