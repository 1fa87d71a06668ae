//! Disk faults end to end, on local clusters: shakedown's write-back file
//! system under the database's data directory, `power-loss` (kill the
//! database, drop every write not yet fsync'ed) and the verdicts it makes
//! possible.
//!
//! The toy database here is a set that appends each element to a file in
//! `{data}` and answers from that file. Without fsync it acknowledges adds
//! that only the cache holds: power loss loses them (INVALID, with the lost
//! elements named), a kill does not (the cache survives a process, VALID).
//! With an fsync before each reply, power loss loses nothing (VALID). The
//! difference between the first two is the file system's doing.
//!
//! Needs root (network namespaces, sshd, FUSE); skipped with a message
//! otherwise. Each test has its own cluster (`dk*`) and subnet
//! (10.77.200-209).

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{running_under, shakedown, text, ClusterGuard};

/// The toy set store: `A n` appends `n` to `{data}/set.log` (fsync'ed
/// first with `--fsync`), `R` answers every element in the file.
const TOY_SET: &str = r#"
import os, socketserver, sys, threading
host, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sync = "--fsync" in sys.argv
path = os.path.join(data, "set.log")
lock = threading.Lock()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

class H(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            w = line.split()
            if not w:
                continue
            if w[0] == b"A":
                with lock:
                    os.write(fd, w[1] + b"\n")
                    if sync:
                        os.fsync(fd)
                self.wfile.write(b"OK\n")
            else:
                with open(path, "rb") as f:
                    got = [x for x in f.read().split(b"\n") if x.isdigit()]
                self.wfile.write(b"V " + b",".join(got) + b"\n")
            self.wfile.flush()

class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

print("toyset listening, fsync" if sync else "toyset listening, no fsync", flush=True)
S((host, port), H).serve_forever()
"#;

/// Its exec client: `add` and `read` of the set workload.
const TOY_SET_CLIENT: &str = r#"
import json, os, socket, sys
def connect():
    s = socket.create_connection((os.environ["SHAKEDOWN_HOST"], 7710), timeout=2)
    return s, s.makefile("rb")
sock, reader = None, None
for line in sys.stdin:
    op = json.loads(line)
    try:
        if sock is None:
            sock, reader = connect()
        if op["f"] == "add":
            sock.sendall(b"A %d\n" % op["value"])
            got = reader.readline()
            if not got.startswith(b"OK"):
                raise OSError("no reply")
            print(json.dumps({"type": "ok"}), flush=True)
        else:
            sock.sendall(b"R\n")
            got = reader.readline()
            if not got.startswith(b"V"):
                raise OSError("no reply")
            body = got[2:].strip()
            vals = [int(x) for x in body.split(b",")] if body else []
            print(json.dumps({"type": "ok", "value": vals}), flush=True)
    except OSError as e:
        sock = None
        # A read certainly changed nothing; an add may have happened.
        t = "fail" if op["f"] == "read" else "info"
        print(json.dumps({"type": t, "error": str(e)}), flush=True)
"#;

/// Writes the toy store, its client and a test file into `dir`.
fn toy_test(dir: &Path, cluster: &str, subnet: &str, db_args: &str, nemesis: &str) -> PathBuf {
    std::fs::write(dir.join("toyset.py"), TOY_SET).unwrap();
    std::fs::write(dir.join("toyset_client.py"), TOY_SET_CLIENT).unwrap();
    let yaml = format!(
        "name: disk-{cluster}
target:
  name: process
  packages: [python3, netcat-openbsd]
  files:
    - {{from: toyset.py, to: /opt/shakedown-{cluster}/toyset.py}}
  start: \"/usr/bin/python3 /opt/shakedown-{cluster}/toyset.py {{host}} 7710 {{data}} {db_args}\"
  ready: \"nc -z {{host}} 7710\"
  ready-timeout: 10s
  client:
    command: [/usr/bin/python3, toyset_client.py]
cluster: {{local: 1, name: {cluster}, subnet: {subnet}}}
workload: {{name: set}}
concurrency: 3
rate: 100
time-limit: 8s
op-timeout: 1s
recovery-time: 1s
nemesis: {nemesis}
"
    );
    let path = dir.join("test.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn run(test: &Path, dir: &Path) -> Output {
    shakedown()
        .arg("run")
        .arg(test)
        .arg("--results")
        .arg(dir.join("results"))
        .output()
        .unwrap()
}

fn latest_run(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir.join("results/latest")).expect("results/latest")
}

/// Every FUSE mount of shakedown's file system any process on this machine
/// sees (each local node's sshd has its own mount namespace, so its mounts
/// show only in its processes' `/proc/PID/mounts`), under `cluster`'s
/// directory.
fn diskfs_mounts(cluster: &str) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    let under = format!("/var/lib/shakedown/{cluster}/");
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(text) = std::fs::read_to_string(e.path().join("mounts")) else {
            continue;
        };
        for line in text.lines() {
            let mut w = line.split_whitespace();
            let (_, at, kind) = (w.next(), w.next().unwrap_or(""), w.next().unwrap_or(""));
            if kind.starts_with("fuse") && at.starts_with(&under) {
                found.insert(at.to_string());
            }
        }
    }
    found.into_iter().collect()
}

/// The history's nemesis ops named `f`, as JSON.
fn nemesis_ops(run: &Path, f: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["process"] == "nemesis" && v["f"] == f)
        .collect()
}

/// Nothing left behind: no database, no diskfs daemon, no mount, no backing
/// directory.
fn assert_clean(cluster: &str) {
    assert!(
        running_under(cluster).is_empty(),
        "processes left running under {cluster}"
    );
    assert_eq!(diskfs_mounts(cluster), Vec::<String>::new(), "mounts left");
    let backing = format!("/var/lib/shakedown/{cluster}/n1/process/data.diskfs");
    assert!(!Path::new(&backing).exists(), "{backing} left");
}

const POWER_LOSS: &str = "{faults: [power-loss], interval: 1.5}";

#[test]
fn power_loss_loses_the_unsynced_appends_of_a_store_without_fsync() {
    require_root!();
    let _guard = ClusterGuard("dk1");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path(), "dk1", "10.77.200.0", "", POWER_LOSS);
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("INVALID"), "{stdout}");
    let run = latest_run(dir.path());
    let results = std::fs::read_to_string(run.join("results.json")).unwrap();
    assert!(results.contains("lost"), "{results}");
    // The fault took effect: the store was killed and bytes were dropped.
    let losses = nemesis_ops(&run, "power-loss");
    assert!(!losses.is_empty(), "no power-loss op recorded");
    let dropped: u64 = losses
        .iter()
        .filter_map(|o| o["value"]["n1"]["dropped_bytes"].as_u64())
        .sum();
    assert!(dropped > 0, "nothing was dropped: {losses:?}");
    assert!(
        losses[0]["value"]["n1"]["killed"].as_u64().is_some(),
        "{:?}",
        losses[0]
    );
    // And was healed: powered on again at the end.
    assert!(!nemesis_ops(&run, "power-on").is_empty());
    assert_clean("dk1");
}

#[test]
fn a_kill_loses_nothing_the_cache_holds() {
    require_root!();
    let _guard = ClusterGuard("dk2");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(
        dir.path(),
        "dk2",
        "10.77.201.0",
        "",
        // The file system is mounted (power loss is asked for), but only
        // kills happen: the power-loss targets nothing.
        "{faults: [kill], interval: 1.5}",
    );
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("VALID"), "{stdout}");
    let run = latest_run(dir.path());
    assert!(!nemesis_ops(&run, "kill").is_empty());
    assert_clean("dk2");
}

#[test]
fn power_loss_loses_nothing_a_store_fsyncs_before_replying() {
    require_root!();
    let _guard = ClusterGuard("dk3");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path(), "dk3", "10.77.202.0", "--fsync", POWER_LOSS);
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("VALID"), "{stdout}");
    let run = latest_run(dir.path());
    let losses = nemesis_ops(&run, "power-loss");
    assert!(!losses.is_empty(), "no power-loss op recorded");
    assert!(
        losses.iter().all(|o| o["value"].get("error").is_none()),
        "{losses:?}"
    );
    assert_clean("dk3");
}

/// A built-in target's test under disk faults: `target` and `nemesis` are
/// YAML flow maps; the workload is `set` unless `workload` says otherwise.
fn builtin_test(
    dir: &Path,
    cluster: &str,
    nodes: usize,
    subnet: &str,
    target: &str,
    workload: &str,
    nemesis: &str,
) -> PathBuf {
    let yaml = format!(
        "name: disk-{cluster}
target: {target}
cluster: {{local: {nodes}, name: {cluster}, subnet: {subnet}}}
workload: {workload}
concurrency: 4
rate: 200
time-limit: 10s
op-timeout: 1s
recovery-time: 2s
seed: 7
nemesis: {nemesis}
"
    );
    let path = dir.join("test.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The set checker's result in results.json.
fn set_result(run: &Path) -> serde_json::Value {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    fn find(v: &serde_json::Value) -> Option<serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => {
                if m.contains_key("lost_count") {
                    return Some(v.clone());
                }
                m.values().find_map(find)
            }
            serde_json::Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    find(&r).unwrap_or(serde_json::Value::Null)
}

/// No FUSE mount and no backing directory left under the cluster.
fn assert_unmounted(cluster: &str) {
    assert_eq!(diskfs_mounts(cluster), Vec::<String>::new(), "mounts left");
    let left: Vec<String> = walk_dirs(Path::new(&format!("/var/lib/shakedown/{cluster}")))
        .into_iter()
        .filter(|p| p.ends_with(".diskfs"))
        .collect();
    assert!(left.is_empty(), "backing directories left: {left:?}");
}

fn walk_dirs(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(p.display().to_string());
            if p.components().count() < 8 {
                out.extend(walk_dirs(&p));
            }
        }
    }
    out
}

const REDIS_ONE: &str = "{name: redis, sentinel: false, appendfsync: APPENDFSYNC}";

fn redis_run(
    cluster: &str,
    subnet: &str,
    appendfsync: &str,
    nemesis: &str,
) -> (Option<i32>, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let target = REDIS_ONE.replace("APPENDFSYNC", appendfsync);
    let test = builtin_test(
        dir.path(),
        cluster,
        1,
        subnet,
        &target,
        "{name: set}",
        nemesis,
    );
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    let run = latest_run(dir.path());
    // Keep the run directory past the temporary one.
    let kept = std::env::temp_dir().join(format!("shakedown-{cluster}-run"));
    let _ = std::fs::remove_dir_all(&kept);
    let _ = std::process::Command::new("cp")
        .arg("-a")
        .arg(&run)
        .arg(&kept)
        .status();
    (out.status.code(), format!("{stdout}\n{stderr}"), kept)
}

/// Redis documents that with `appendfsync everysec` a power failure may
/// lose about a second of acknowledged writes: repeated power loss shows it.
#[test]
fn redis_everysec_loses_acknowledged_adds_under_power_loss() {
    require_root!();
    let _guard = ClusterGuard("dk5");
    let (code, out, run) = redis_run(
        "dk5",
        "10.77.204.0",
        "everysec",
        "{faults: [power-loss], interval: 1.5}",
    );
    assert_eq!(code, Some(1), "{out}");
    let r = set_result(&run);
    assert!(r["lost_count"].as_u64().unwrap_or(0) > 0, "{r}");
    let dropped: u64 = nemesis_ops(&run, "power-loss")
        .iter()
        .filter_map(|o| o["value"]["n1"]["dropped_bytes"].as_u64())
        .sum();
    assert!(dropped > 0, "no unsynced bytes were dropped");
    assert_unmounted("dk5");
}

/// With `appendfsync always` Redis fsyncs before it replies: nothing
/// acknowledged is lost.
#[test]
fn redis_always_loses_nothing_under_power_loss() {
    require_root!();
    let _guard = ClusterGuard("dk6");
    let (code, out, run) = redis_run(
        "dk6",
        "10.77.205.0",
        "always",
        "{faults: [power-loss], interval: 1.5}",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!nemesis_ops(&run, "power-loss").is_empty());
    assert_unmounted("dk6");
}

/// `everysec` under kills only: the file system keeps what Redis wrote, as
/// the kernel's page cache would. So the loss above is the power loss's.
#[test]
fn redis_everysec_loses_nothing_under_kill() {
    require_root!();
    let _guard = ClusterGuard("dk7");
    let (code, out, run) = redis_run(
        "dk7",
        "10.77.206.0",
        "everysec",
        "{faults: [kill], interval: 1.5}",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!nemesis_ops(&run, "kill").is_empty());
}

/// etcd fsyncs its WAL before it acknowledges: power loss of one node, and
/// of all nodes at once, loses nothing.
#[test]
fn etcd_survives_power_loss_of_one_node_and_of_all() {
    require_root!();
    let _guard = ClusterGuard("dk8");
    for (targets, cut) in [("one", 1), ("all", 3)] {
        let dir = tempfile::tempdir().unwrap();
        let test = builtin_test(
            dir.path(),
            "dk8",
            3,
            "10.77.207.0",
            "etcd",
            "{name: register}",
            &format!("{{faults: [power-loss], interval: 2, power-loss: {{targets: [{targets}]}}}}"),
        );
        let out = run(&test, dir.path());
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "power loss of {targets}:\n{stdout}\n{stderr}"
        );
        let run = latest_run(dir.path());
        let losses = nemesis_ops(&run, "power-loss");
        assert!(!losses.is_empty(), "no power loss recorded");
        for o in &losses {
            let v = o["value"].as_object().expect("a value per node");
            assert_eq!(v.len(), cut, "{o}");
            assert!(v.values().all(|n| n.get("error").is_none()), "{o}");
        }
        assert_unmounted("dk8");
    }
}

/// PostgreSQL documents that `synchronous_commit = off` may lose the last
/// commits on a crash of the server (of the machine, too): power loss
/// shows it; with the default `on`, nothing is lost.
#[test]
fn postgres_synchronous_commit_off_loses_commits_under_power_loss_and_on_does_not() {
    require_root!();
    let _guard = ClusterGuard("dk9");
    for (setting, want) in [("off", 1), ("on", 0)] {
        let dir = tempfile::tempdir().unwrap();
        let test = builtin_test(
            dir.path(),
            "dk9",
            1,
            "10.77.208.0",
            &format!("{{name: postgres, synchronous-commit: {setting}}}"),
            // Lost commits show as a final read below the increments
            // acknowledged.
            "{name: counter}",
            "{faults: [power-loss], interval: 1}",
        );
        let out = run(&test, dir.path());
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(want),
            "synchronous-commit {setting}:\n{stdout}\n{stderr}"
        );
        let run = latest_run(dir.path());
        assert!(!nemesis_ops(&run, "power-loss").is_empty());
        assert_unmounted("dk9");
    }
}

/// Bit flips in one etcd member's WAL: the cluster stays VALID (a majority
/// never saw them). What the member did (refused to start, or found the
/// damage and went on) is read from its log and printed.
#[test]
fn bitflips_in_one_etcd_wal_leave_the_cluster_valid() {
    require_root!();
    let _guard = ClusterGuard("dk10");
    let dir = tempfile::tempdir().unwrap();
    let test = builtin_test(
        dir.path(),
        "dk10",
        3,
        "10.77.209.0",
        "etcd",
        "{name: register}",
        "{faults: [corrupt], interval: 3, corrupt: {files: [\"member/wal/*.wal\"], modes: [bitflip], probability: 0.01}}",
    );
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let run = latest_run(dir.path());
    let corrupts = nemesis_ops(&run, "corrupt");
    assert!(!corrupts.is_empty(), "no corruption recorded");
    let mut hit = std::collections::BTreeSet::new();
    for c in &corrupts {
        let v = c["value"].as_object().expect("a value per node");
        assert!(v.values().all(|n| n.get("error").is_none()), "{c}");
        hit.extend(v.keys().cloned());
    }
    // At most a minority (one of three) over the whole run.
    assert_eq!(hit.len(), 1, "corrupted nodes: {hit:?}");
    let node = hit.into_iter().next().unwrap();
    let flipped: usize = corrupts
        .iter()
        .flat_map(|c| {
            c["value"][&node]["dirs"]
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .map(|(_, d)| d["files"].as_array().map_or(0, |f| f.len()))
        .sum();
    assert!(flipped > 0, "no WAL file was corrupted: {corrupts:?}");
    let log = std::fs::read_to_string(run.join(&node).join("etcd.log")).unwrap_or_default();
    let refused = log
        .lines()
        .filter(|l| l.contains("\"level\":\"fatal\"") || l.contains("crc mismatch"))
        .count();
    eprintln!(
        "etcd {node} after bit flips in its WAL: {}",
        if refused > 0 {
            format!("refused to start ({refused} fatal/crc lines in its log)")
        } else {
            "started again (no fatal line in its log)".to_string()
        }
    );
}
