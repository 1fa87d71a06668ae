//! What the binary's cluster tests share: the binary, root detection, and
//! a guard that leaves no database or cluster behind, whatever the test
//! did before it failed.
//!
//! Each test file includes this module (`mod common;`) and uses part of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use harness::control::{local, Nodes};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shakedown binary under test.
pub fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

/// A finished command's stdout and stderr, as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Skips the test (with a message) unless it runs as root: local clusters
/// need network namespaces, sshd and iptables.
#[macro_export]
macro_rules! require_root {
    () => {
        if !harness::control::local::is_root() {
            eprintln!("skipped: needs root (network namespaces, sshd, iptables)");
            return;
        }
    };
}

/// Tears a local cluster down when dropped: first every process a pid
/// file under a node's data directory names (etcd, postgres, redis,
/// process targets: shakedown's daemons lead their own process group, so
/// the group is killed too), then the cluster itself.
pub struct ClusterGuard(pub &'static str);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        kill_daemons(self.0);
        let _ = shakedown()
            .args(["cluster", "down", "--name", self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Kills (-9), each with its process group, what every pid file under
/// the cluster's data directories names and every process working inside
/// them (what a process target started, pid file or not).
pub fn kill_daemons(cluster: &str) {
    for pid in running_under(cluster) {
        let _ = Command::new("kill")
            .args(["-9", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
    }
    let Ok(nodes) = Nodes::load(&local::nodes_file(cluster)) else {
        return;
    };
    for n in &nodes.nodes {
        let Some(dir) = &n.data_dir else { continue };
        for pid_file in pid_files(Path::new(dir), 3) {
            let Ok(text) = std::fs::read_to_string(&pid_file) else {
                continue;
            };
            let Ok(pid) = text.trim().parse::<u32>() else {
                continue;
            };
            for target in [format!("-{pid}"), pid.to_string()] {
                let _ = Command::new("kill")
                    .args(["-9", "--", &target])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// `*.pid` files under `dir`, at most `depth` levels down.
fn pid_files(dir: &Path, depth: usize) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && depth > 0 && !p.is_symlink() {
            found.extend(pid_files(&p, depth - 1));
        } else if p.extension().is_some_and(|x| x == "pid") {
            found.push(p);
        }
    }
    found
}

/// Processes (by pid) whose working directory is inside the cluster's
/// node directories: what the process target started there.
pub fn running_under(cluster: &str) -> Vec<u32> {
    let root = format!("/var/lib/shakedown/{cluster}/");
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) {
            if cwd.to_string_lossy().starts_with(&root) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// The cluster's nodes, from its nodes file.
pub fn nodes(cluster: &str) -> Nodes {
    Nodes::load(&local::nodes_file(cluster)).expect("nodes file")
}

/// The rules shakedown's nemesis adds, on every node of a cluster.
pub fn shakedown_rules(cluster: &str) -> Vec<String> {
    let mut found = Vec::new();
    for n in &nodes(cluster).nodes {
        let ns = n.netns.as_deref().expect("local nodes have a namespace");
        for table in ["filter", "raw", "mangle"] {
            let out = Command::new("ip")
                .args(["netns", "exec", ns, "iptables", "-t", table, "-S"])
                .output()
                .unwrap();
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if line.contains("SHAKEDOWN") {
                    found.push(format!("{} ({table}): {line}", n.name));
                }
            }
        }
    }
    found
}

/// Pairs of nodes that cannot open a TCP connection to each other's sshd.
pub fn unreachable_pairs(cluster: &str) -> Vec<String> {
    let nodes = nodes(cluster);
    let mut bad = Vec::new();
    for a in &nodes.nodes {
        for b in &nodes.nodes {
            if a.name == b.name {
                continue;
            }
            let ok = Command::new("ip")
                .args(["netns", "exec", a.netns.as_deref().unwrap()])
                .args(["timeout", "3", "bash", "-c"])
                .arg(format!("exec 3<>/dev/tcp/{}/22", b.host))
                .status()
                .unwrap()
                .success();
            if !ok {
                bad.push(format!("{} -> {}", a.name, b.name));
            }
        }
    }
    bad
}

/// Every live etcd process whose command line names a data directory of
/// the cluster's nodes (read from /proc: the nodes share one process table).
pub fn etcd_pids(cluster: &str) -> Vec<String> {
    let Ok(nodes) = Nodes::load(&local::nodes_file(cluster)) else {
        return Vec::new();
    };
    let dirs: Vec<String> = nodes
        .nodes
        .iter()
        .filter_map(|n| n.data_dir.clone())
        .collect();
    live_processes()
        .into_iter()
        .filter(|(_, cmdline)| {
            let argv0 = cmdline.split(' ').next().unwrap_or_default();
            argv0.ends_with("etcd") && dirs.iter().any(|d| cmdline.contains(d.as_str()))
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Every live (not zombie) process: its pid and its command line, the
/// arguments joined by spaces (read from /proc).
pub fn live_processes() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
    }
    found
}

/// A register store over TCP, one thread per connection: `R k` answers
/// `V v` or `N`; `W k v` answers `OK`; `C k old new` answers `OK` or `NO`.
/// With `--ack-early`, a write is acknowledged at once and applied 300 ms
/// later: a read in between misses an acknowledged write.
pub const TOY_DB: &str = r#"
import socketserver, sys, threading
host, port, ack_early = sys.argv[1], int(sys.argv[2]), "--ack-early" in sys.argv
data, lock = {}, threading.Lock()

def apply(k, v):
    with lock:
        data[k] = v

class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            w = line.split()
            if w[0] == b"R":
                with lock:
                    v = data.get(w[1])
                out = b"N" if v is None else b"V " + v
            elif w[0] == b"W":
                if ack_early:
                    threading.Timer(0.3, apply, (w[1], w[2])).start()
                else:
                    apply(w[1], w[2])
                out = b"OK"
            else:
                with lock:
                    ok = data.get(w[1]) == w[2]
                    if ok:
                        data[w[1]] = w[3]
                out = b"OK" if ok else b"NO"
            self.wfile.write(out + b"\n")

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
print("toydb listening on", host, port, flush=True)
socketserver.ThreadingTCPServer((host, port), Handler).serve_forever()
"#;

/// A shakedown command running in the background (a run, a campaign), its
/// stderr collected as it comes, for tests that signal it midway.
pub struct Background {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Background {
    pub fn spawn(mut command: Command) -> Background {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Background { child, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends signal `name` (`TERM`, `HUP`, ...) to the command.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), "--", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Waits for `cond`, failing if the command ends first or 4 minutes pass.
    pub fn wait_until(&mut self, what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(240);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("it ended ({status}) before {what}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the command has written `text` to stderr.
    pub fn wait_for_stderr(&mut self, text: &str) {
        let stderr = self.stderr.clone();
        self.wait_until(&format!("{text:?} on stderr"), || {
            stderr.lock().unwrap().contains(text)
        });
    }

    /// The exit code, once the command ends (within `limit`).
    pub fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(200));
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("it did not end within {limit:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A finished `shakedown run` of a test file, in a temporary directory
/// (kept while this lives).
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn run_dir(&self) -> std::path::PathBuf {
        std::fs::canonicalize(self.dir.path().join("results/latest")).expect("results/latest")
    }

    pub fn results(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.run_dir().join("results.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn txn(&self) -> serde_json::Value {
        self.results()["checkers"][0]["result"].clone()
    }

    pub fn anomaly_types(&self) -> Vec<String> {
        self.txn()["anomaly_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    pub fn history(&self) -> history::History {
        history::read_file(&self.run_dir().join("history.jsonl"), None).unwrap()
    }

    /// `shakedown check` of this run's history for one model.
    pub fn check_as(&self, model: &str) -> (Option<i32>, String) {
        let out = shakedown()
            .args(["check"])
            .arg(self.run_dir().join("history.jsonl"))
            .args(["--workload", "list-append", "--consistency", model])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        (out.status.code(), format!("{stdout}{stderr}"))
    }

    pub fn says(&self, name: &str, verdict: &str) {
        assert!(
            self.stdout.contains(&format!("{name}  {verdict}")),
            "{name}: expected {verdict}\n{}\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// Runs `yaml` as `test.yaml` beside `files`, with extra environment.
pub fn run_test(yaml: &str, files: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("test.yaml");
    std::fs::write(&test, yaml).unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let mut cmd = shakedown();
    cmd.arg("run")
        .arg(&test)
        .arg("--results")
        .arg(dir.path().join("results"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    Run {
        code: out.status.code(),
        stdout,
        stderr,
        dir,
    }
}

/// Every FUSE mount of shakedown's file system any process on this machine
/// sees (each local node's sshd has its own mount namespace, so its mounts
/// show only in its processes' `/proc/PID/mounts`), under `cluster`'s
/// directory.
pub fn diskfs_mounts(cluster: &str) -> Vec<String> {
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
