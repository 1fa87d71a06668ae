//! A zipf key distribution on a real etcd cluster: `key-distribution:
//! zipf` makes a few keys hot, and the run's results.json (`ops.by_key`)
//! and report show it.
//!
//! Needs root (CI is root); skipped with a message otherwise. Cluster nc1,
//! subnet 10.77.248.0/24.

use serde_json::Value as Json;

mod common;
use common::{shakedown, text, ClusterGuard};

/// 20 keys, zipf exponent 1, none retired during the run (ops-per-key
/// above the run's length): key k gets 1/((k+1) H_20) of the operations,
/// H_20 = 3.60, so key 0 about 28% and the median key (rank 10 or 11)
/// about 2.5%: the hottest has ~11 times the median's. The test asks for
/// 4 times, and key 0 hottest.
#[test]
fn a_zipf_register_run_on_etcd_has_hot_keys() {
    require_root!();
    let _guard = ClusterGuard("nc1");
    let tmp = tempfile::tempdir().unwrap();
    let test = tmp.path().join("test.yaml");
    std::fs::write(
        &test,
        "name: zipf-register
target: etcd
cluster: {local: 3, name: nc1, subnet: 10.77.248.0}
workload: {name: register, keys: 20, ops-per-key: 100000, key-distribution: zipf, zipf-exponent: 1.0}
concurrency: 5
rate: 200
time-limit: 10s
recovery-time: 1s
seed: 3
",
    )
    .unwrap();
    let results = tmp.path().join("results");
    let out = shakedown()
        .args([
            "run",
            test.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("zipf-register  VALID"), "{stdout}");
    let run = std::fs::canonicalize(results.join("latest")).unwrap();
    let summary: Json =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let ops = &summary["ops"];
    assert_eq!(ops["keys"], 20, "{ops}");
    let by_key = ops["by_key"].as_array().expect("ops.by_key");
    assert_eq!(by_key.len(), 20);
    let calls: Vec<u64> = by_key
        .iter()
        .map(|k| k["calls"].as_u64().unwrap())
        .collect();
    let total: u64 = calls.iter().sum();
    assert!(total > 800, "only {total} keyed calls");
    assert!(
        calls.windows(2).all(|w| w[0] >= w[1]),
        "hottest first: {calls:?}"
    );
    for k in by_key {
        let n = |f: &str| k[f].as_u64().unwrap();
        assert_eq!(n("ok") + n("fail") + n("info"), n("calls"), "{k}");
    }
    assert_eq!(by_key[0]["key"], "0", "key 0 is the hottest: {by_key:?}");
    let (hottest, median) = (calls[0], calls[calls.len() / 2]);
    assert!(
        hottest >= 4 * median.max(1),
        "hottest key {hottest} calls, median {median}: {calls:?}"
    );
    let share = hottest as f64 / total as f64;
    assert!(
        (0.2..0.36).contains(&share),
        "key 0 had {share} of the calls"
    );
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(report.contains("<h2>Operations per key</h2>"));
    assert!(report.contains(&format!("<td class=\"mono\">0</td><td>{hottest}</td>")));
    eprintln!("zipf on etcd: {total} keyed calls, per key {calls:?}");
}
