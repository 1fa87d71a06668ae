//! `shakedown run` end to end against real etcd clusters on this machine
//! (network namespaces, sshd, iptables): a short test under faults is valid
//! and leaves nothing behind; broken inputs and broken clusters exit 3 with
//! one clear error; a controller killed mid-partition leaves a checkable
//! history and `shakedown heal` restores the network.
//!
//! Needs root (CI is root); skipped with a message otherwise. Each test
//! uses its own cluster name and subnet so they can run in parallel.

use harness::control::{local, Nodes};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn is_root() -> bool {
    local::is_root()
}

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces, sshd, iptables, etcd)");
            return;
        }
    };
}

/// Tears the test's cluster down (and any etcd left by a killed
/// controller) when the test ends, passed or failed.
struct ClusterGuard(&'static str);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Ok(nodes) = Nodes::load(&local::nodes_file(self.0)) {
            for n in &nodes.nodes {
                if let Some(dir) = &n.data_dir {
                    let pid = Path::new(dir).join("etcd/etcd.pid");
                    if let Ok(p) = std::fs::read_to_string(&pid) {
                        let _ = Command::new("kill").args(["-9", "--", p.trim()]).status();
                    }
                }
            }
        }
        let _ = shakedown()
            .args(["cluster", "down", "--name", self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn write_test(dir: &Path, yaml: &str) -> PathBuf {
    let p = dir.join("test.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

/// The rules shakedown's nemesis adds, on every node of a cluster.
fn shakedown_rules(cluster: &str) -> Vec<String> {
    let nodes = Nodes::load(&local::nodes_file(cluster)).expect("nodes file");
    let mut found = Vec::new();
    for n in &nodes.nodes {
        let ns = n.netns.as_deref().expect("local nodes have a namespace");
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "iptables", "-S"])
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.contains("SHAKEDOWN") {
                found.push(format!("{}: {line}", n.name));
            }
        }
    }
    found
}

fn latest_run(results: &Path) -> PathBuf {
    std::fs::canonicalize(results.join("latest")).expect("results/latest")
}

#[test]
fn register_under_faults_is_valid_and_everything_is_healed() {
    require_root!();
    let _guard = ClusterGuard("e2ereg");
    let dir = tempfile::tempdir().unwrap();
    let test = write_test(
        dir.path(),
        "name: e2e-register
target: etcd
cluster: {local: 3, name: e2ereg, subnet: 10.77.181.0}
workload: {name: register, keys: 5}
concurrency: 6
rate: 100
time-limit: 15s
recovery-time: 3s
seed: 7
nemesis: {faults: [partition, kill, pause], interval: 3}
",
    );
    let results = dir.path().join("results");
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
    assert!(stdout.contains("e2e-register  VALID"), "{stdout}");

    let run = latest_run(&results);
    for f in [
        "test.yaml",
        "history.jsonl",
        "results.json",
        "report.html",
        "junit.xml",
        "shakedown.log",
        "n1/etcd.log",
    ] {
        assert!(run.join(f).is_file(), "{f} missing in {}", run.display());
    }
    let history = history::read_file(&run.join("history.jsonl"), None).unwrap();
    let nemesis_fs: Vec<&str> = history
        .ops()
        .iter()
        .filter(|op| op.process.is_nemesis())
        .map(|op| op.f.as_str())
        .collect();
    assert!(nemesis_fs.len() >= 4, "faults recorded: {nemesis_fs:?}");
    let oks = history
        .ops()
        .iter()
        .filter(|op| op.kind == history::OpType::Ok)
        .count();
    assert!(oks > 100, "only {oks} ok ops");

    // Healed: no rule of ours on any node, no etcd left, no data left.
    assert_eq!(shakedown_rules("e2ereg"), Vec::<String>::new());
    let nodes = Nodes::load(&local::nodes_file("e2ereg")).unwrap();
    for n in &nodes.nodes {
        let etcd_dir = Path::new(n.data_dir.as_ref().unwrap()).join("etcd");
        assert!(
            !etcd_dir.exists(),
            "{} still exists after teardown",
            etcd_dir.display()
        );
    }
}

#[test]
fn a_malformed_test_file_exits_3_naming_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let test = write_test(
        dir.path(),
        "name: x\ntarget: etcd\ncluster: {local: 3}\nworkload: {name: register}\ntime-limt: 10s\n",
    );
    let out = shakedown()
        .args(["run", test.to_str().unwrap()])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("test.yaml") && stderr.contains("line 5"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `time-limt`"), "{stderr}");
}

#[test]
fn an_unreachable_node_exits_3_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let test = write_test(
        dir.path(),
        "name: unreachable
target: etcd
nodes: [{name: n1, host: 127.0.0.1, port: 1}]
ssh: {user: root, host-key-check: accept-any}
workload: {name: register}
",
    );
    let started = Instant::now();
    let out = shakedown()
        .args([
            "run",
            test.to_str().unwrap(),
            "--results",
            dir.path().join("r").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("n1") && stderr.contains("127.0.0.1:1"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_database_that_does_not_come_up_exits_3_with_its_log() {
    require_root!();
    let _guard = ClusterGuard("e2ebad");
    let up = shakedown()
        .args([
            "cluster",
            "up",
            "--name",
            "e2ebad",
            "--nodes",
            "3",
            "--subnet",
            "10.77.182.0",
        ])
        .output()
        .unwrap();
    assert!(up.status.success(), "{:?}", text(&up));
    // Something else holds n1's client port, so its etcd cannot start.
    let nodes = Nodes::load(&local::nodes_file("e2ebad")).unwrap();
    let n1 = &nodes.nodes[0];
    let mut squatter = Command::new("ip")
        .args(["netns", "exec", n1.netns.as_deref().unwrap(), "python3", "-c"])
        .arg(format!(
            "import socket,time; s=socket.socket(); s.bind(('{}', 2379)); s.listen(); time.sleep(300)",
            n1.host
        ))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let test = write_test(
        dir.path(),
        "name: e2e-bad
target: etcd
cluster: {local: 3, name: e2ebad, subnet: 10.77.182.0}
workload: {name: register}
time-limit: 5s
",
    );
    let out = shakedown()
        .args([
            "run",
            test.to_str().unwrap(),
            "--results",
            dir.path().join("r").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let _ = squatter.kill();
    let _ = squatter.wait();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("etcd did not come up"), "{stderr}");
    assert!(stderr.contains("n1"), "{stderr}");
    assert!(
        stderr.contains("address already in use"),
        "the log tail names the cause: {stderr}"
    );
    // The members that did start were stopped.
    for n in &nodes.nodes[1..] {
        let pid = Path::new(n.data_dir.as_ref().unwrap()).join("etcd/etcd.pid");
        assert!(!pid.exists(), "{} left behind", pid.display());
    }
}

#[test]
fn a_controller_killed_mid_partition_leaves_a_checkable_history_and_heal_restores_the_network() {
    require_root!();
    let _guard = ClusterGuard("e2ekill");
    let dir = tempfile::tempdir().unwrap();
    let test = write_test(
        dir.path(),
        "name: e2e-kill
target: etcd
cluster: {local: 3, name: e2ekill, subnet: 10.77.183.0}
workload: {name: register, keys: 3}
concurrency: 4
rate: 100
time-limit: 60s
seed: 3
nemesis: {faults: [partition], interval: 5}
",
    );
    let results = dir.path().join("results");
    let mut child = shakedown()
        .args([
            "run",
            test.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a partition is in place, then kill the controller outright.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let cluster_ready = local::nodes_file("e2ekill").exists();
        if cluster_ready && !shakedown_rules("e2ekill").is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no partition appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before a partition"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Each fault lasts at least half an interval (2.5 s): kill well inside it.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !shakedown_rules("e2ekill").is_empty(),
        "the partition outlived the controller"
    );

    // The history on disk parses and checks.
    let run = latest_run(&results);
    let check = shakedown()
        .args(["check", run.join("history.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&check);
    assert!(
        matches!(check.status.code(), Some(0..=2)),
        "{stdout}\n{stderr}"
    );
    assert!(!stdout.contains(" 0 ops"), "{stdout}");

    // `shakedown heal` restores full connectivity.
    let heal = shakedown()
        .args(["heal", "--cluster", "e2ekill"])
        .output()
        .unwrap();
    assert!(heal.status.success(), "{:?}", text(&heal));
    assert_eq!(shakedown_rules("e2ekill"), Vec::<String>::new());
    let nodes = Nodes::load(&local::nodes_file("e2ekill")).unwrap();
    for a in &nodes.nodes {
        for b in &nodes.nodes {
            if a.name != b.name {
                let ok = Command::new("ip")
                    .args(["netns", "exec", a.netns.as_deref().unwrap(), "bash", "-c"])
                    .arg(format!("exec 3<>/dev/tcp/{}/22", b.host))
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "{} cannot reach {} after heal", a.name, b.name);
            }
        }
    }
}

#[test]
fn each_run_of_a_series_keeps_its_own_log() {
    require_root!();
    let _guard = ClusterGuard("e2elog");
    let dir = tempfile::tempdir().unwrap();
    let test = write_test(
        dir.path(),
        "name: e2e-log
target: etcd
cluster: {local: 1, name: e2elog, subnet: 10.77.184.0}
workload: {name: register, keys: 2}
concurrency: 2
rate: 50
time-limit: 2s
recovery-time: 0s
seed: 1
",
    );
    let results = dir.path().join("results");
    let out = shakedown()
        .args([
            "run",
            test.to_str().unwrap(),
            "--test-count",
            "2",
            "--results",
        ])
        .arg(&results)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let mut runs: Vec<PathBuf> = std::fs::read_dir(results.join("e2e-log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("latest"))
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        let log = std::fs::read_to_string(run.join("shakedown.log")).unwrap();
        let starts: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("run starting in"))
            .collect();
        assert_eq!(starts.len(), 1, "{}: {log}", run.display());
        assert!(
            starts[0].contains(run.to_str().unwrap()),
            "{}: {}",
            run.display(),
            starts[0]
        );
    }
}
