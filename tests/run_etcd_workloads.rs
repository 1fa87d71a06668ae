//! `shakedown run` of Jepsen's bank, counter and unique-ids workloads
//! against real 3-node etcd clusters on this machine, under partitions,
//! process kills and pauses: each is VALID, with enough operations
//! acknowledged to mean something, and every kind of fault was injected,
//! took effect (the nemesis names what it did) and was healed.
//!
//! Needs root (CI is root); skipped with a message otherwise. Each test
//! has its own cluster name (ew1..ew3) and subnet (10.77.178-180.0/24).

use harness::control::{local, Nodes};
use history::{History, OpType, Value};
use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;

mod common;
use common::{shakedown, text, ClusterGuard};

/// What a finished run left: its history and results.json.
struct Run {
    /// Holds the test file and results; removed with the run.
    _dir: tempfile::TempDir,
    history: History,
    results: Json,
}

/// Runs `workload` (a YAML flow mapping) for 20 s on a fresh 3-node
/// cluster under partitions, kills and pauses, asserts it exits 0 (VALID),
/// and returns what it left. The nemesis seed is one whose schedule starts
/// and stops each kind within the first 12 s: partition at ~2 s, kill at
/// ~3.5, heal at ~6, restart at ~8, pause at ~9.5, resume at ~11 (then
/// more), so every test sees all three.
fn run_under_faults(name: &str, cluster: &str, subnet: &str, workload: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let test = dir.join("test.yaml");
    std::fs::write(
        &test,
        format!(
            "name: {name}
target: etcd
cluster: {{local: 3, name: {cluster}, subnet: {subnet}}}
workload: {workload}
concurrency: 6
rate: 150
time-limit: 20s
op-timeout: 3s
recovery-time: 3s
seed: 11
nemesis: {{faults: [partition, kill, pause], interval: 2.5, seed: 54}}
"
        ),
    )
    .unwrap();
    let results = dir.join("results");
    let out = shakedown()
        .arg("run")
        .arg(&test)
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{name}  VALID")), "{stdout}");
    let run = std::fs::canonicalize(results.join("latest")).unwrap();
    let history = history::read_file(&run.join("history.jsonl"), None).unwrap();
    let results: Json =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["valid"], "valid", "{results}");
    Run {
        _dir: tmp,
        history,
        results,
    }
}

impl Run {
    /// How many client ops with this `f` completed with this type.
    fn count(&self, f: &str, kind: OpType) -> usize {
        self.history
            .ops()
            .iter()
            .filter(|op| !op.process.is_nemesis() && op.f == f && op.kind == kind)
            .count()
    }

    /// Client completions that were not `ok`.
    fn not_ok(&self) -> usize {
        self.history
            .ops()
            .iter()
            .filter(|op| !op.process.is_nemesis() && matches!(op.kind, OpType::Fail | OpType::Info))
            .count()
    }

    /// The one checker result beside `stats`.
    fn checker(&self, kind: &str) -> &Json {
        self.results["checkers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} checker in {}", self.results))
    }

    /// Every fault family was injected, had an effect on a node, and was
    /// undone; nothing of ours is left in any node's firewall.
    fn assert_faults_took_effect_and_healed(&self, cluster: &str) {
        let faults = self.results["faults"].as_array().unwrap();
        for family in ["partition", "kill", "pause"] {
            let of: Vec<&Json> = faults.iter().filter(|f| f["name"] == family).collect();
            assert!(!of.is_empty(), "no {family} in {faults:?}");
            assert!(
                of.iter().all(|f| f["stop_f"].is_string()),
                "a {family} was never undone: {of:?}"
            );
        }
        // The nemesis's own account of what it did, op by op.
        let nemesis: Vec<(&str, String)> = self
            .history
            .ops()
            .iter()
            .filter(|op| op.process.is_nemesis() && op.kind == OpType::Info)
            .map(|op| (op.f.as_str(), op.value.to_string()))
            .collect();
        let did = |f: &str, word: &str| nemesis.iter().any(|(g, v)| *g == f && v.contains(word));
        assert!(did("kill", "killed"), "no process killed: {nemesis:?}");
        assert!(did("pause", "paused"), "no process paused: {nemesis:?}");
        assert!(
            nemesis
                .iter()
                .any(|(f, v)| *f == "start-partition" && v.contains('n')),
            "no partition cut: {nemesis:?}"
        );
        assert!(
            did("stop-partition", "healed"),
            "no partition healed: {nemesis:?}"
        );
        let nodes = Nodes::load(&local::nodes_file(cluster)).unwrap();
        for n in &nodes.nodes {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    n.netns.as_deref().unwrap(),
                    "iptables",
                    "-S",
                ])
                .output()
                .unwrap();
            let rules = String::from_utf8_lossy(&out.stdout);
            assert!(!rules.contains("SHAKEDOWN"), "{}: {rules}", n.name);
            let etcd = Path::new(n.data_dir.as_deref().unwrap()).join("etcd");
            assert!(!etcd.exists(), "{} left after teardown", etcd.display());
        }
    }
}

#[test]
fn bank_under_faults_is_valid() {
    require_root!();
    let _guard = ClusterGuard("ew1");
    let run = run_under_faults(
        "etcd-bank-faults",
        "ew1",
        "10.77.178.0",
        "{name: bank, accounts: 5, total: 50}",
    );
    let (transfers, reads) = (
        run.count("transfer", OpType::Ok),
        run.count("read", OpType::Ok),
    );
    let bank = &run.checker("bank")["result"];
    eprintln!(
        "bank: {transfers} transfers ok, {reads} reads ok, {} not ok; checker: {}",
        run.not_ok(),
        bank
    );
    assert!(transfers > 300 && reads > 300, "{transfers} / {reads}");
    assert_eq!(bank["total"], 50, "{bank}");
    // Every account was read, with the right total, after the faults.
    let last_read = run
        .history
        .ops()
        .iter()
        .rev()
        .find(|op| op.f == "read" && op.kind == OpType::Ok)
        .unwrap();
    let Value::Map(balances) = &last_read.value else {
        panic!("{last_read:?}")
    };
    assert_eq!(balances.len(), 5);
    let sum: i64 = balances.iter().map(|(_, b)| b.as_int().unwrap()).sum();
    assert_eq!(sum, 50);
    // Clients noticed the faults: some ops failed or timed out.
    assert!(run.not_ok() > 0);
    run.assert_faults_took_effect_and_healed("ew1");
}

#[test]
fn counter_under_faults_is_valid() {
    require_root!();
    let _guard = ClusterGuard("ew2");
    let run = run_under_faults(
        "etcd-counter-faults",
        "ew2",
        "10.77.179.0",
        "{name: counter, max-add: 5}",
    );
    let (adds, reads) = (run.count("add", OpType::Ok), run.count("read", OpType::Ok));
    let counter = &run.checker("counter")["result"];
    eprintln!(
        "counter: {adds} adds ok, {reads} reads ok, {} not ok; checker: {}",
        run.not_ok(),
        counter
    );
    assert!(adds > 300 && reads > 300, "{adds} / {reads}");
    // The last read (a final read, after recovery) saw at least every add
    // acknowledged before it began.
    let ops = run.history.ops();
    let read_done = ops
        .iter()
        .rposition(|op| op.f == "read" && op.kind == OpType::Ok)
        .unwrap();
    let read_began = ops[..read_done]
        .iter()
        .rposition(|op| op.process == ops[read_done].process && op.kind == OpType::Invoke)
        .unwrap();
    let acknowledged: i64 = ops[..read_began]
        .iter()
        .filter(|op| op.f == "add" && op.kind == OpType::Ok)
        .map(|op| op.value.as_int().unwrap())
        .sum();
    let read = ops[read_done].value.as_int().unwrap();
    eprintln!("last read {read}, adds acknowledged before it {acknowledged}");
    assert!(
        read >= acknowledged && acknowledged > 0,
        "{read} < {acknowledged}"
    );
    assert!(run.not_ok() > 0);
    run.assert_faults_took_effect_and_healed("ew2");
}

#[test]
fn unique_ids_under_faults_are_valid() {
    require_root!();
    let _guard = ClusterGuard("ew3");
    let run = run_under_faults(
        "etcd-unique-ids-faults",
        "ew3",
        "10.77.180.0",
        "{name: unique-ids}",
    );
    let ids = run.count("generate", OpType::Ok);
    let checker = &run.checker("unique-ids")["result"];
    eprintln!(
        "unique-ids: {ids} ok, {} not ok; checker: {}",
        run.not_ok(),
        checker
    );
    assert!(ids > 1000, "{ids}");
    assert_eq!(checker["acknowledged_count"], ids, "{checker}");
    assert_eq!(checker["duplicated_count"], 0, "{checker}");
    assert!(run.not_ok() > 0);
    run.assert_faults_took_effect_and_healed("ew3");
}

/// Every `examples/etcd-*.yaml` names the etcd target and a workload it
/// has a client for.
#[test]
fn every_etcd_example_parses() {
    #[derive(serde::Deserialize)]
    struct Example {
        #[serde(deserialize_with = "targets::TargetSpec::deserialize_either")]
        target: targets::TargetSpec,
        workload: workloads::Workload,
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("etcd-") && name.ends_with(".yaml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let e: Example =
            serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(e.target.name(), "etcd", "{name}");
        e.workload
            .validate()
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        e.target
            .supports(&e.workload)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        seen.push(e.workload.name());
    }
    for w in ["bank", "counter", "unique-ids"] {
        assert!(seen.contains(&w), "no etcd example for {w}: {seen:?}");
    }
}
