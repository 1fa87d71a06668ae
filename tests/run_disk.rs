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
use common::{diskfs_mounts, running_under, shakedown, text, ClusterGuard};

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

// ---------------------------------------------------------------------------
// Bad input: one clear error before the clients start, nothing left behind.
// ---------------------------------------------------------------------------

/// Runs `script` inside the mount namespace of `cluster`'s node n1 (its
/// sshd's: every command the run sends there sees the change, the rest of
/// the machine does not).
fn in_node_mount_ns(cluster: &str, script: &str) {
    let pids = std::process::Command::new("ip")
        .args(["netns", "pids", &format!("shk-{cluster}-n1")])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pids.stdout)
        .split_whitespace()
        .next()
        .expect("a process in the node's namespace (its sshd)")
        .to_string();
    let st = std::process::Command::new("nsenter")
        .args(["-t", &pid, "-m", "sh", "-ec", script])
        .status()
        .unwrap();
    assert!(st.success(), "{script}");
}

fn cluster_up(cluster: &str, subnet: &str) {
    let out = shakedown()
        .args(["cluster", "up", "--nodes", "1", "--name", cluster])
        .args(["--subnet", subnet])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
}

/// The run stopped before any client op: no history, or one without a
/// client op.
fn assert_no_client_op(dir: &Path) {
    let Ok(run) = std::fs::canonicalize(dir.join("results/latest")) else {
        return;
    };
    let text = std::fs::read_to_string(run.join("history.jsonl")).unwrap_or_default();
    assert!(
        !text.lines().any(|l| l.contains("\"process\":0")
            || l.contains("\"process\":1")
            || l.contains("\"process\":2")),
        "client ops recorded:\n{text}"
    );
}

#[test]
fn a_node_without_fusermount3_or_dev_fuse_is_one_error_naming_it_before_anything_starts() {
    require_root!();
    let _guard = ClusterGuard("dk11");
    cluster_up("dk11", "10.77.220.0");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path(), "dk11", "10.77.220.0", "", POWER_LOSS);

    // fuse3 "uninstalled" on n1 only: its fusermount3 cannot run.
    in_node_mount_ns("dk11", "mount --bind /dev/null /usr/bin/fusermount3");
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("n1: disk faults: fusermount3 is not installed")
            && errors[0].contains("fuse3"),
        "{stderr}"
    );
    assert_no_client_op(dir.path());
    assert_clean("dk11");

    // /dev/fuse gone (a plain file in its place): the same, naming it.
    in_node_mount_ns(
        "dk11",
        "umount /usr/bin/fusermount3; touch /tmp/dk11-not-fuse; mount --bind /tmp/dk11-not-fuse /dev/fuse",
    );
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("n1: disk faults: /dev/fuse is absent") && stderr.contains("modprobe fuse"),
        "{stderr}"
    );
    assert_no_client_op(dir.path());
    assert_clean("dk11");
    // The rest of the machine never saw either change.
    assert!(std::process::Command::new("fusermount3")
        .arg("-V")
        .output()
        .unwrap()
        .status
        .success());
    let _ = std::fs::remove_file("/tmp/dk11-not-fuse");
}

#[test]
fn a_data_directory_that_cannot_be_a_directory_is_one_error_before_anything_starts() {
    require_root!();
    let _guard = ClusterGuard("dk12");
    cluster_up("dk12", "10.77.221.0");
    let dir = tempfile::tempdir().unwrap();
    // A file where the process target's directory (holding `{data}`) goes.
    let blocker = Path::new("/var/lib/shakedown/dk12/n1/process");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(blocker);
    std::fs::write(blocker, b"not a directory\n").unwrap();
    for (nemesis, what) in [
        (POWER_LOSS, "power-loss"),
        ("{faults: [corrupt], interval: 1.5}", "corrupt"),
    ] {
        let test = toy_test(dir.path(), "dk12", "10.77.221.0", "", nemesis);
        let out = run(&test, dir.path());
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{what}: {stdout}\n{stderr}");
        assert!(
            stderr.contains(
                "n1: disk faults: data directory /var/lib/shakedown/dk12/n1/process/data cannot be made: /var/lib/shakedown/dk12/n1/process is not a directory"
            ),
            "{what}: {stderr}"
        );
        assert_no_client_op(dir.path());
        assert!(running_under("dk12").is_empty(), "{what}: processes left");
        assert_eq!(diskfs_mounts("dk12"), Vec::<String>::new(), "{what}");
        assert!(blocker.is_file(), "{what}: the file was not touched");
    }
    std::fs::remove_file(blocker).unwrap();
}

#[test]
fn corrupt_globs_that_match_no_file_are_one_error_before_the_clients_start() {
    require_root!();
    let _guard = ClusterGuard("dk13");
    let dir = tempfile::tempdir().unwrap();
    let nemesis = "{faults: [corrupt], interval: 1.5, corrupt: {files: [set.log, \"**/*.wal\"], modes: [truncate]}}";
    let test = toy_test(dir.path(), "dk13", "10.77.222.0", "", nemesis);
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    // Only the second glob is wrong; the error shows what is there.
    assert!(
        errors[0].contains("nemesis.corrupt.files[1] \"**/*.wal\" matches no file")
            && !errors[0].contains("files[0]")
            && errors[0].contains("n1:/var/lib/shakedown/dk13/n1/process/data holds set.log"),
        "{stderr}"
    );
    assert_no_client_op(dir.path());
    assert!(running_under("dk13").is_empty(), "processes left running");
}

// ---------------------------------------------------------------------------
// By hand: `shakedown fault power-loss|corrupt --cluster NAME`, and heal.
// ---------------------------------------------------------------------------

/// Sends `lines` to the toy store on `host` and returns its replies.
fn toy_request(host: &str, lines: &str) -> std::io::Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::net::TcpStream::connect((host, 7710))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    s.write_all(lines.as_bytes())?;
    let mut r = BufReader::new(s);
    let mut out = String::new();
    for _ in 0..lines.lines().count() {
        r.read_line(&mut out)?;
    }
    Ok(out)
}

/// The elements the toy store answers, retrying while it (re)starts.
fn toy_elements(host: &str) -> Vec<u64> {
    for _ in 0..50 {
        if let Ok(reply) = toy_request(host, "R\n") {
            let body = reply.trim().trim_start_matches('V').trim();
            return body
                .split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().unwrap())
                .collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the toy store on {host} does not answer");
}

#[test]
fn power_loss_and_corrupt_by_hand_take_effect_and_heal() {
    require_root!();
    let _guard = ClusterGuard("dk14");
    let dir = tempfile::tempdir().unwrap();
    // A short run that mounts the file system and leaves the store running
    // on it (a schedule too slow to fire in two seconds).
    let test = toy_test(
        dir.path(),
        "dk14",
        "10.77.223.0",
        "",
        "{faults: [power-loss], interval: 600}",
    );
    let yaml = std::fs::read_to_string(&test)
        .unwrap()
        .replace("time-limit: 8s", "time-limit: 2s");
    std::fs::write(&test, yaml).unwrap();
    let out = shakedown()
        .arg("run")
        .arg(&test)
        .arg("--results")
        .arg(dir.path().join("results"))
        .arg("--leave-db-running")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        stderr.contains("leaving process running"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(
        diskfs_mounts("dk14").len(),
        1,
        "the data directory is mounted"
    );

    let host = "10.77.223.11";
    let data = "/var/lib/shakedown/dk14/n1/process/data";
    let pid_file = "/var/lib/shakedown/dk14/n1/process/process.pid";
    let start = format!(
        "cd /tmp && setsid /usr/bin/python3 /opt/shakedown-dk14/toyset.py {host} 7710 {data} >>/var/lib/shakedown/dk14/n1/process/process.log 2>&1 < /dev/null & echo $! > {pid_file}"
    );
    let before = toy_elements(host).len();
    let adds: String = (1_000_000..1_000_050).map(|i| format!("A {i}\n")).collect();
    assert_eq!(toy_request(host, &adds).unwrap().matches("OK").count(), 50);
    assert_eq!(
        toy_elements(host).len(),
        before + 50,
        "acknowledged and readable"
    );

    // Power loss: the store dies, the 50 unsynced appends are dropped.
    let out = shakedown()
        .args([
            "fault",
            "power-loss",
            "--cluster",
            "dk14",
            "--pid-file",
            pid_file,
        ])
        .args(["--start", &start])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("dropped"), "{stdout}");
    assert!(toy_request(host, "R\n").is_err(), "the store still answers");
    let on_disk = std::fs::read_to_string(format!("{data}.diskfs/set.log")).unwrap_or_default();
    assert!(
        !on_disk.contains("1000000"),
        "unsynced bytes reached the disk"
    );

    // Heal: unmounted, the store restarted on the plain directory, without
    // the 50 elements.
    let out = shakedown()
        .args(["heal", "--cluster", "dk14"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(diskfs_mounts("dk14"), Vec::<String>::new(), "mount left");
    let after = toy_elements(host);
    assert!(
        !after.contains(&1_000_000) && after.len() <= before,
        "{} elements after power loss, {before} before the adds",
        after.len()
    );

    // Corrupt by hand: the store's file truncated, the store restarted.
    assert_eq!(toy_request(host, &adds).unwrap().matches("OK").count(), 50);
    let size = std::fs::metadata(format!("{data}/set.log")).unwrap().len();
    let out = shakedown()
        .args([
            "fault",
            "corrupt",
            "--cluster",
            "dk14",
            "--pid-file",
            pid_file,
        ])
        .args(["--start", &start, "--dirs", data, "--files", "set.log"])
        .args(["--mode", "truncate", "--seed", "7"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("set.log"), "{stdout}");
    let cut = std::fs::metadata(format!("{data}/set.log")).unwrap().len();
    assert!(cut < size, "set.log not truncated ({size} -> {cut} bytes)");
    assert!(
        toy_elements(host).len() < after.len() + 50,
        "restarted on the cut file"
    );
    let out = shakedown()
        .args(["heal", "--cluster", "dk14"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
}
