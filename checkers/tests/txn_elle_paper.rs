//! The list-append example history from the Elle paper
//! (shared/corpus/transactional/elle-paper-example.edn).

use checkers::txn::{check, ConsistencyModel as M, Options};
use checkers::verdict::Validity;
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/transactional/elle-paper-example.edn");
    p.exists().then_some(p)
}

/// Expected verdict, checked by hand (T<n> = the txn completing at index n):
///
/// - T3 appended 8 to key 255 and T5 read 255 = [2 3 4 5 8]: T3 -wr-> T5.
/// - T5 appended 4 to 256 and read 256 = [1 2 4]; T7 appended 3 to 256 and
///   committed, yet no read shows 3; every read is a prefix of the list, so
///   3 lands after 4: T5 -ww-> T7.
/// - T7 read 255 = [2 3 4 5], without T3's 8, the next element: T7 -rw-> T3.
///
/// A cycle with exactly one anti-dependency: G-single, the anomaly the Elle
/// paper derives from this history. It rules out serializable and snapshot
/// isolation (and everything stronger) but not read committed.
#[test]
fn elle_paper_example_is_g_single() {
    let Some(path) = corpus() else {
        eprintln!("shared corpus not found; skipping");
        return;
    };
    let h = history::read_file(&path, None).expect("the EDN reader reads the paper's history");
    let r = check(&h, &Options::default());
    assert_eq!(r.txn_count, 4);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomaly_types, vec!["G-single"]);
    let a = &r.anomalies[0];
    let mut names: Vec<&str> = a.txns.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(names, vec!["T3", "T5", "T7"]);
    let mut steps: Vec<(&str, &str, &str)> = a
        .cycle
        .iter()
        .map(|s| (s.from.as_str(), s.to.as_str(), s.kind))
        .collect();
    steps.sort();
    assert_eq!(
        steps,
        vec![("T3", "T5", "wr"), ("T5", "T7", "ww"), ("T7", "T3", "rw")]
    );
    assert!(a
        .explanation
        .contains("T7 read 255 = [2 3 4 5], which does not include 8"));
    for m in [
        M::Serializable,
        M::SnapshotIsolation,
        M::StrictSerializable,
        M::RepeatableRead,
    ] {
        assert!(r.ruled_out.contains(&m), "{m}");
    }
    assert!(!r.ruled_out.contains(&M::ReadCommitted));
    let rc = check(
        &h,
        &Options {
            consistency: vec![M::ReadCommitted],
            ..Options::default()
        },
    );
    assert_eq!(rc.valid, Validity::Valid);
}
