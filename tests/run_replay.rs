//! `shakedown run --replay RUN_DIR` reproduces a run's fault schedule: the
//! same nemesis steps (kind and concrete targets: the nodes killed or
//! paused, the grudge of each random partition, each clock's delta) within
//! 1 s of the original offsets, on the same cluster and, by node position,
//! on another cluster whose nodes have other names. A run directory that
//! cannot be replayed exits 3 naming the file, before any node is touched.
//!
//! The replays run a toy register store (the process target, as in
//! tests/run_process.rs) on 3-node local clusters `rp1` (10.77.100.0/24)
//! and `rp2` (10.77.101.0/24); they need root and are skipped otherwise.
//! The bad-input tests need nothing.

use harness::control::{local, Nodes};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{running_under, shakedown, TOY_DB};

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Tears the clusters down (and whatever the process target left running
/// in their node directories) when the test ends.
struct ClusterGuard(&'static [&'static str]);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        for cluster in self.0 {
            drop(common::ClusterGuard(cluster));
        }
        // Where the process target copied the toy store (shared by the
        // nodes, which see the host's file system).
        let _ = std::fs::remove_dir_all("/opt/shakedown-rp");
    }
}

/// The exec client: every client talks to its own node's store.
const TOY_CLIENT: &str = r#"
import json, os, socket, sys
sock = socket.create_connection((os.environ["SHAKEDOWN_HOST"], 7700), timeout=1)
reader = sock.makefile("rb")
for line in sys.stdin:
    op = json.loads(line)
    k, f, v = op["key"], op["f"], op["value"]
    req = {"read": "R %s" % k, "write": "W %s %s" % (k, v)}.get(f) or "C %s %s %s" % (k, v[0], v[1])
    sock.sendall((req + "\n").encode())
    got = reader.readline().split()
    if f == "read":
        reply = {"type": "ok", "value": int(got[1]) if got[0] == b"V" else None}
    elif got[0] == b"OK":
        reply = {"type": "ok"}
    else:
        reply = {"type": "fail", "error": "compare failed"}
    print(json.dumps(reply), flush=True)
"#;

/// The toy store under partitions with random grudges, kills, pauses and
/// clock bumps and strobes, a step every 0.75..2.25 s. The file says 30 s
/// on cluster rp4; the run is given `--time-limit 12s`, `--seed` and
/// `--cluster rp1`, which a replay must keep.
fn toy_test(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("toydb.py"), TOY_DB).unwrap();
    std::fs::write(dir.join("toy_client.py"), TOY_CLIENT).unwrap();
    let yaml = "name: toy-replay
target:
  name: process
  packages: [python3, netcat-openbsd]
  files:
    - {from: toydb.py, to: /opt/shakedown-rp/toydb.py}
  install: \"test -f /opt/shakedown-rp/toydb.py\"
  start: \"/usr/bin/python3 /opt/shakedown-rp/toydb.py {host} 7700\"
  ready: \"nc -z {host} 7700\"
  ready-timeout: 10s
  client:
    command: [/usr/bin/python3, toy_client.py]
cluster: {local: 3, name: rp4, subnet: 10.77.103.0}
workload: {name: register, keys: 3, values: 20}
concurrency: 3
rate: 60
time-limit: 30s
op-timeout: 1s
recovery-time: 0s
nemesis:
  faults: [partition, kill, pause, clock]
  interval: 1.5
  clock: {modes: [bump, strobe], max-offset-ms: 2000, strobe-duration-ms: 800, strobe-period-ms: 100}
";
    let path = dir.join("test.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The nemesis steps of a run: (time in ns, f, fault as applied), each of
/// which took effect (no `error` in its value). Heal ops (after the main
/// phase) carry no `fault` and are not steps.
fn steps(run: &Path) -> Vec<(u64, String, Value)> {
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let nemesis: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|op| op["process"] == "nemesis")
        .collect();
    let steps: Vec<&Value> = nemesis
        .iter()
        .filter(|op| op.get("fault").is_some())
        .collect();
    for op in &steps {
        assert!(op["value"].get("error").is_none(), "a step failed: {op}");
    }
    steps
        .iter()
        .map(|op| {
            (
                op["time"].as_u64().unwrap(),
                op["f"].as_str().unwrap().to_string(),
                op["fault"].clone(),
            )
        })
        .collect()
}

/// The run directory a `shakedown run` printed (`report: DIR/report.html`).
fn run_dir(out: &Output) -> PathBuf {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report line in {}", text(out)));
    Path::new(line).parent().unwrap().to_path_buf()
}

/// `replay` took the same steps as `original`, node names mapped by
/// `rename`, each within 1 s of the original's time.
fn assert_same_schedule(
    original: &[(u64, String, Value)],
    replay: &[(u64, String, Value)],
    rename: impl Fn(&str) -> String,
) {
    assert_eq!(
        original.len(),
        replay.len(),
        "different number of steps:\n{original:#?}\n{replay:#?}"
    );
    let mut worst = 0;
    for ((t1, f1, fault1), (t2, f2, fault2)) in original.iter().zip(replay) {
        assert_eq!(f1, f2);
        let renamed: Value =
            serde_json::from_str(&rename(&serde_json::to_string(fault1).unwrap())).unwrap();
        assert_eq!(&renamed, fault2, "{f1} at {t1} ns");
        let gap = t1.abs_diff(*t2);
        worst = worst.max(gap);
        eprintln!(
            "  {f1}: {:.3} s / {:.3} s",
            *t1 as f64 / 1e9,
            *t2 as f64 / 1e9
        );
        assert!(
            gap < 1_000_000_000,
            "{f1}: at {:.3} s in the run, {:.3} s in the replay",
            *t1 as f64 / 1e9,
            *t2 as f64 / 1e9
        );
    }
    eprintln!(
        "{} steps alike, the furthest {:.3} s from the original",
        original.len(),
        worst as f64 / 1e9
    );
}

fn exit_ok(out: &Output) {
    // The verdict is not what is tested here (three independent stores
    // under kills may well read stale values); the harness must not fail.
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "exit {:?}: {}",
        out.status.code(),
        text(out)
    );
}

#[test]
fn a_replay_reproduces_the_fault_schedule_on_the_same_and_another_cluster() {
    if !local::is_root() {
        eprintln!("SKIPPED: needs root (local clusters)");
        return;
    }
    let _guard = ClusterGuard(&["rp1", "rp2", "rp4"]);
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path());
    let results = dir.path().join("results");

    // The original run.
    let out = shakedown()
        .arg("run")
        .arg(&test)
        .args(["--seed", "54", "--time-limit", "12s"])
        .args(["--cluster", "rp1", "--subnet", "10.77.100.0", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    exit_ok(&out);
    let original_dir = run_dir(&out);
    let original = steps(&original_dir);
    let kinds: std::collections::BTreeSet<&str> = original.iter().map(|s| s.1.as_str()).collect();
    eprintln!("original steps: {original:#?}");
    assert!(original.len() >= 5, "only {} steps", original.len());
    // Seed 54 (the schedule is a pure function of the nemesis settings,
    // the node names and the seed) starts every kind within 12 s.
    for f in ["start-partition", "kill", "pause", "bump-clock"] {
        assert!(kinds.contains(f), "no {f} in {kinds:?}");
    }
    assert!(
        original.iter().all(|s| s.0 < 12_500_000_000),
        "a step after the 12 s time limit"
    );
    // The random partition's grudge is spelled out.
    let partition = original.iter().find(|s| s.1 == "start-partition").unwrap();
    assert!(
        partition.2["target"]["grudge"]
            .as_object()
            .is_some_and(|g| !g.is_empty()),
        "{}",
        partition.2
    );

    // Replayed on the same cluster.
    let out = shakedown()
        .arg("run")
        .arg("--replay")
        .arg(&original_dir)
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    exit_ok(&out);
    assert!(
        text(&out).contains(&format!("seed 54, {} fault step(s)", original.len())),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("local cluster \"rp1\" with 3 nodes"),
        "not replayed where the run ran: {}",
        text(&out)
    );
    let replay_dir = run_dir(&out);
    assert_ne!(replay_dir, original_dir);
    assert_same_schedule(&original, &steps(&replay_dir), |s| s.to_string());
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(replay_dir.join("run.json")).unwrap())
            .unwrap();
    assert_eq!(record["seed"], 54);
    assert_eq!(record["time-limit-ms"], 12_000);
    assert_eq!(
        record["replay-of"].as_str().map(PathBuf::from),
        Some(std::fs::canonicalize(&original_dir).unwrap())
    );

    // The replay follows the recording, not the seed: a copy of the run
    // whose first kill is edited to hit other nodes is replayed with the
    // edit. (This copy is the one replayed on the other cluster below.)
    let edited_dir = dir.path().join("edited");
    std::fs::create_dir(&edited_dir).unwrap();
    for f in ["test.yaml", "run.json", "results.json"] {
        std::fs::copy(original_dir.join(f), edited_dir.join(f)).unwrap();
    }
    let mut edited = original.clone();
    let first_kill = edited.iter_mut().find(|s| s.1 == "kill").unwrap();
    let killed: Vec<Value> = first_kill.2["targets"]["nodes"].as_array().unwrap().clone();
    let others: Vec<Value> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| Value::from(*n))
        .filter(|n| !killed.contains(n))
        .collect();
    let instead = if others.is_empty() {
        vec![Value::from("n1")]
    } else {
        others
    };
    let old_fault = first_kill.2.to_string();
    first_kill.2["targets"]["nodes"] = Value::Array(instead);
    let new_fault = first_kill.2.to_string();
    let history = std::fs::read_to_string(original_dir.join("history.jsonl")).unwrap();
    let mut done = false;
    let history = history
        .lines()
        .map(|l| {
            let mut op: Value = serde_json::from_str(l).unwrap();
            if !done && op.get("fault").map(|f| f.to_string()) == Some(old_fault.clone()) {
                op["fault"] = serde_json::from_str(&new_fault).unwrap();
                done = true;
            }
            op.to_string() + "\n"
        })
        .collect::<String>();
    assert!(history.contains(&new_fault));
    std::fs::write(edited_dir.join("history.jsonl"), history).unwrap();

    // Replayed on another cluster whose nodes are m1..m3: by position.
    let out = shakedown()
        .args([
            "cluster",
            "up",
            "--name",
            "rp2",
            "--nodes",
            "3",
            "--subnet",
            "10.77.101.0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut nodes = Nodes::load(&local::nodes_file("rp2")).unwrap();
    for n in &mut nodes.nodes {
        n.name = n.name.replace('n', "m");
    }
    let nodes_file = dir.path().join("m-nodes.json");
    std::fs::write(&nodes_file, serde_json::to_string(&nodes).unwrap()).unwrap();
    let out = shakedown()
        .arg("run")
        .arg("--replay")
        .arg(&edited_dir)
        .arg("--nodes-file")
        .arg(&nodes_file)
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    exit_ok(&out);
    assert!(
        text(&out).contains("nodes by position: n1->m1 n2->m2 n3->m3"),
        "{}",
        text(&out)
    );
    let other_dir = run_dir(&out);
    let rename = |s: &str| {
        s.replace("\"n1\"", "\"m1\"")
            .replace("\"n2\"", "\"m2\"")
            .replace("\"n3\"", "\"m3\"")
    };
    assert_same_schedule(&edited, &steps(&other_dir), rename);
    let history = std::fs::read_to_string(other_dir.join("history.jsonl")).unwrap();
    assert!(
        history.contains("\"node\":\"m1\""),
        "clients did not run on m1"
    );
    assert!(running_under("rp1").is_empty() && running_under("rp2").is_empty());
}

// ---- Run directories that cannot be replayed --------------------------

const STORED: &str =
    "# as run by shakedown 0.1.0 (seed 5; command-line overrides applied below the file)
name: bad-replay
target: etcd
cluster: {local: 3, name: rp3, subnet: 10.77.102.0}
workload: {name: register}
time-limit: 2s
nemesis: {faults: [kill]}

# effective: time-limit 2s, concurrency 10, rate None, faults [Kill], seed 5
";

const RECORD: &str = r#"{"shakedown": "0.1.0", "seed": 5, "test-dir": "/tmp", "nodes": ["n1", "n2", "n3"],
 "time-limit-ms": 2000, "concurrency": 10, "rate": null, "faults": ["kill"],
 "local-cluster": {"name": "rp3", "subnet": "10.77.102.0", "nodes": 3}}"#;

/// A kill of n3 as a replayable run records it.
const KILL_N3: &str = r#"{"index":0,"time":1500000000,"type":"info","process":"nemesis","f":"kill","value":{"n3":"killed"},"fault":{"op":"kill","targets":{"nodes":["n3"]}},"started":1400000000}"#;

/// A run directory with every file a replay reads; `history` is the
/// history.jsonl text, `None` for no history file.
fn stored_run(root: &Path, history: Option<&str>) -> PathBuf {
    let run = root.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("test.yaml"), STORED).unwrap();
    std::fs::write(run.join("run.json"), RECORD).unwrap();
    let info = results::RunInfo {
        test: "bad-replay".into(),
        target: Some("etcd".into()),
        workload: Some("register".into()),
        nodes: vec!["n1".into(), "n2".into(), "n3".into()],
        start_unix_ms: None,
        end_unix_ms: None,
        source: None,
        interrupted: false,
        online: None,
    };
    let summary = results::RunSummary::new(&info, &history::History::default(), Vec::new());
    std::fs::write(
        run.join("results.json"),
        serde_json::to_string(&summary).unwrap(),
    )
    .unwrap();
    if let Some(h) = history {
        std::fs::write(run.join("history.jsonl"), format!("{h}\n")).unwrap();
    }
    run
}

/// `shakedown run --replay RUN [extra]`: exit 3, and the error line names
/// `file` and says `want`.
fn refused(run: &Path, extra: &[&str], file: &str, want: &str) {
    let out = shakedown()
        .arg("run")
        .arg("--replay")
        .arg(run)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(line.contains(file), "{file} not named: {line}");
    assert!(line.contains(want), "{want:?} not in: {line}");
    assert!(
        !stderr.contains("shakedown: local cluster"),
        "a node was reached: {stderr}"
    );
}

#[test]
fn run_dirs_that_cannot_be_replayed_exit_3_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    // No such directory.
    refused(
        &root.join("nowhere"),
        &[],
        "nowhere",
        "no such run directory",
    );

    // A good run directory but no history.
    let run = stored_run(&root.join("a"), None);
    refused(&run, &[], "run/history.jsonl", "missing: no history");

    // A history from before --replay: the kill does not say what it did.
    let old = r#"{"index":0,"time":1500000000,"type":"info","process":"nemesis","f":"kill","value":{"n3":"killed"}}"#;
    let run = stored_run(&root.join("b"), Some(old));
    refused(
        &run,
        &[],
        "run/history.jsonl",
        "op 0 (kill) does not record its fault",
    );

    // Faults were asked for, none recorded.
    let client = r#"{"index":0,"time":5,"type":"invoke","process":0,"f":"read","value":null}"#;
    let run = stored_run(&root.join("c"), Some(client));
    refused(
        &run,
        &[],
        "run/history.jsonl",
        "the test asked for faults (kill) but no nemesis step is recorded",
    );

    // A run made before run.json existed.
    let run = stored_run(&root.join("d"), Some(KILL_N3));
    std::fs::remove_file(run.join("run.json")).unwrap();
    refused(&run, &[], "run/run.json", "missing");

    // An interrupted run, and one that never finished.
    let run = stored_run(&root.join("e"), Some(KILL_N3));
    let mut summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    summary["interrupted"] = Value::Bool(true);
    std::fs::write(run.join("results.json"), summary.to_string()).unwrap();
    refused(&run, &[], "run/results.json", "the run was interrupted");
    std::fs::remove_file(run.join("results.json")).unwrap();
    refused(&run, &[], "run/results.json", "the run did not finish");

    // Secrets were redacted and no test file gives them back; a test file
    // that differs from the stored one is refused too.
    let run = stored_run(&root.join("f"), Some(KILL_N3));
    let with_secret = STORED.replace(
        "workload:",
        "ssh:\n  sudo-password: {value: \"<redacted>\"}\nworkload:",
    );
    std::fs::write(run.join("test.yaml"), &with_secret).unwrap();
    refused(&run, &[], "run/test.yaml", "its secrets were redacted");
    let other = root.join("other.yaml");
    std::fs::write(
        &other,
        "name: something-else\ntarget: etcd\ncluster: {local: 3}\nworkload: {name: register}\n",
    )
    .unwrap();
    refused(
        &run,
        &[other.to_str().unwrap()],
        "other.yaml",
        "differs from the test file the run stored",
    );
    // The file it was made from (the stored copy between its header and
    // its last line, with the secret) is accepted: the replay goes on to
    // the schedule, which a 2-node cluster cannot take.
    let body = &with_secret
        [with_secret.find('\n').unwrap() + 1..with_secret.rfind("\n# effective: ").unwrap()];
    let original = root.join("original.yaml");
    std::fs::write(&original, body.replace("\"<redacted>\"", "hunter2")).unwrap();
    refused(
        &run,
        &[original.to_str().unwrap(), "--nodes", "2"],
        "run/history.jsonl",
        "names node \"n3\", node 3 of the run, but this cluster has 2 node(s)",
    );

    // A recorded kill of n3 cannot happen on a 2-node cluster: refused
    // before the cluster is built.
    let run = stored_run(&root.join("g"), Some(KILL_N3));
    refused(
        &run,
        &["--nodes", "2"],
        "run/history.jsonl",
        "op 0 (kill) names node \"n3\", node 3 of the run, but this cluster has 2 node(s) (n1, n2)",
    );

    // The same on another local cluster, and a nodes file that is not there.
    refused(
        &run,
        &[
            "--cluster",
            "rp4",
            "--subnet",
            "10.77.103.0",
            "--nodes",
            "2",
        ],
        "run/history.jsonl",
        "names node \"n3\", node 3 of the run, but this cluster has 2 node(s)",
    );
    refused(
        &run,
        &["--nodes-file", root.join("none.json").to_str().unwrap()],
        "none.json",
        "cannot read nodes file",
    );

    // A run on the machines of a nodes file: where to replay it must be said.
    let record = RECORD.replace(
        r#""local-cluster": {"name": "rp3", "subnet": "10.77.102.0", "nodes": 3}"#,
        r#""local-cluster": null"#,
    );
    std::fs::write(run.join("run.json"), record).unwrap();
    refused(
        &run,
        &[],
        "run/run.json",
        "the run ran on the machines of a nodes file (--nodes-file)",
    );
    std::fs::write(run.join("run.json"), RECORD).unwrap();

    // Settings a replay must keep.
    refused(
        &run,
        &["--seed", "9"],
        "--seed",
        "--replay runs the test as it was run",
    );

    // Not a stored test file.
    std::fs::write(run.join("test.yaml"), "name: x\n").unwrap();
    refused(
        &run,
        &[],
        "run/test.yaml",
        "not a test file as shakedown run stores it",
    );
}
