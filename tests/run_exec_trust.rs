//! What a client, a start command or a log file can do to make a verdict
//! false, through the real binary on local clusters (issue 23, items 1, 5
//! and 8):
//!
//! - a client whose answers do not fit what was asked (txn micro-ops
//!   missing, extra, reordered or changed, reads of the wrong type or
//!   without a value, an `ok` carrying a value where none belongs, a second
//!   reply line, a line printed when no request was outstanding) gives
//!   `info` for that op, a warning naming the client, the op and its
//!   stderr file, and a fresh client: the store is correct, so the run is
//!   VALID, never an anomaly;
//! - a start command that daemonizes is refused and nothing it made
//!   survives; a server already answering where the database will is
//!   refused before anything starts, and left alone; an exec client's
//!   wrapper script's children die with it;
//! - each run's copy of a log holds that run's output only, logs with the
//!   same base name are all kept, and none replaces shakedown's
//!   `process.log`; placeholders where none are expanded are errors before
//!   any node is touched.
//!
//! Needs root (network namespaces, sshd); skipped with a message
//! otherwise. Each test has its own cluster (tx1..tx7) and subnet
//! (10.77.210-216).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{live_processes, running_under, shakedown, text, ClusterGuard, TOY_DB};

/// A transactional list store over TCP: one JSON line of micro-ops in,
/// the completed micro-ops out, applied under one lock (strict
/// serializable).
const TXN_DB: &str = r#"
import json, socketserver, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
data, lock = {}, threading.Lock()

class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            out = []
            with lock:
                for f, k, v in json.loads(line):
                    if f == "append":
                        data.setdefault(k, []).append(v)
                        out.append([f, k, v])
                    else:
                        out.append([f, k, list(data.get(k, []))])
            self.wfile.write((json.dumps(out) + "\n").encode())

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
print("txndb listening on", host, port, flush=True)
socketserver.ThreadingTCPServer((host, port), Handler).serve_forever()
"#;

/// The list-append client: from its third txn on, the client of process
/// `p` changes the (correct) answer in one of six ways chosen by `p % 6`,
/// whenever that way applies to the txn, and says so on its stderr.
const TXN_CLIENT: &str = r#"
import json, os, socket, sys
sock = socket.create_connection((os.environ["SHAKEDOWN_HOST"], 7701), timeout=2)
reader = sock.makefile("rb")
mode = int(os.environ["SHAKEDOWN_PROCESS"]) % 6
done = 0
for line in sys.stdin:
    op = json.loads(line)
    sock.sendall((json.dumps(op["value"]) + "\n").encode())
    out = json.loads(reader.readline())
    reads = [i for i, m in enumerate(out) if m[0] == "r"]
    apps = [i for i, m in enumerate(out) if m[0] == "append"]
    bad, why = None, None
    if done >= 2:
        if mode == 0:
            bad, why = out[:-1], "missing"
        elif mode == 1:
            bad, why = out + [["r", 0, []]], "extra"
        elif mode == 2 and out != out[::-1]:
            bad, why = out[::-1], "reordered"
        elif mode == 3 and reads:
            bad, why = [list(m) for m in out], "read without a value"
            bad[reads[0]][2] = None
        elif mode == 4 and apps:
            bad, why = [list(m) for m in out], "append changed"
            bad[apps[0]][2] += 1000
        elif mode == 5 and reads:
            bad, why = [list(m) for m in out], "read of the wrong type"
            bad[reads[0]][2] = "abc"
    if bad is not None:
        print("corrupting:", why, file=sys.stderr, flush=True)
        out = bad
    done += 1
    print(json.dumps({"type": "ok", "value": out}), flush=True)
"#;

/// The register client: from its third op on, the client of process `p`
/// misbehaves in one of four ways chosen by `p % 4` when the op allows:
/// a write acknowledged with another value, a read of a string, a reply
/// printed twice in one write, a stray line printed 20 ms after a reply
/// (when no request is outstanding).
const REG_CLIENT: &str = r#"
import json, os, socket, sys, threading, time
sock = socket.create_connection((os.environ["SHAKEDOWN_HOST"], 7700), timeout=2)
reader = sock.makefile("rb")
mode = int(os.environ["SHAKEDOWN_PROCESS"]) % 4
lock = threading.Lock()

def emit(text):
    with lock:
        sys.stdout.write(text)
        sys.stdout.flush()

def stray():
    time.sleep(0.02)
    emit(json.dumps({"type": "ok", "value": "stray"}) + "\n")

for n, line in enumerate(sys.stdin):
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
    line = json.dumps(reply) + "\n"
    if n >= 2 and reply["type"] == "ok":
        if mode == 0 and f == "write":
            print("misbehaving: another value", file=sys.stderr, flush=True)
            line = json.dumps({"type": "ok", "value": 999}) + "\n"
        elif mode == 1 and f == "read":
            print("misbehaving: a string", file=sys.stderr, flush=True)
            line = json.dumps({"type": "ok", "value": "x"}) + "\n"
        elif mode == 2:
            print("misbehaving: twice", file=sys.stderr, flush=True)
            line = line + line
        elif mode == 3:
            print("misbehaving: stray", file=sys.stderr, flush=True)
            threading.Thread(target=stray).start()
    emit(line)
"#;

/// A test file for a toy database on a one-node local cluster.
struct Toy<'a> {
    cluster: &'a str,
    subnet: &'a str,
    workload: &'a str,
    /// The database's script, copied to `/opt/shakedown-<cluster>/db.py`.
    db: &'a str,
    /// `start:` (placeholders allowed; `DB` is the script's path).
    start: &'a str,
    ready: &'a str,
    /// The client's script (`client.py`) and its command.
    client: &'a str,
    command: &'a str,
    /// More target settings (YAML lines, indented by two).
    extra: &'a str,
    concurrency: usize,
    rate: u32,
}

impl Toy<'_> {
    fn write(&self, dir: &Path) -> PathBuf {
        std::fs::write(dir.join("db.py"), self.db).unwrap();
        std::fs::write(dir.join("client.py"), self.client).unwrap();
        let c = self.cluster;
        let db = format!("/opt/shakedown-{c}/db.py");
        let yaml = format!(
            "name: trust-{c}
target:
  name: process
  packages: [python3, netcat-openbsd]
  files:
    - {{from: db.py, to: {db}}}
  start: \"{start}\"
  ready: \"{ready}\"
  ready-timeout: 10s
{extra}  client:
    command: {command}
cluster: {{local: 1, name: {c}, subnet: {subnet}}}
workload: {workload}
concurrency: {conc}
rate: {rate}
time-limit: 4s
op-timeout: 1s
recovery-time: 0s
nemesis: {{faults: []}}
",
            start = self.start.replace("DB", &db),
            ready = self.ready,
            extra = self.extra,
            command = self.command,
            subnet = self.subnet,
            workload = self.workload,
            conc = self.concurrency,
            rate = self.rate,
        );
        let path = dir.join("test.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

fn register_toy<'a>(cluster: &'a str, subnet: &'a str) -> Toy<'a> {
    Toy {
        cluster,
        subnet,
        workload: "{name: register, keys: 3, values: 20}",
        db: TOY_DB,
        start: "/usr/bin/python3 DB {host} 7700",
        ready: "nc -z {host} 7700",
        client: REG_CLIENT,
        command: "[/usr/bin/python3, client.py]",
        extra: "",
        concurrency: 4,
        rate: 40,
    }
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

fn history(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("history.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Live processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    live_processes()
        .into_iter()
        .filter(|(_, cmd)| cmd.contains(marker))
        .map(|(pid, cmd)| format!("{pid} {cmd}"))
        .collect()
}

fn kill_processes_with(marker: &str) {
    for p in processes_with(marker) {
        let pid = p.split(' ').next().unwrap().to_string();
        let _ = Command::new("kill").args(["-9", &pid]).status();
    }
}

/// Every client's stderr, concatenated.
fn client_stderr(run: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(run.join("clients")).unwrap().flatten() {
        all += &std::fs::read_to_string(e.path()).unwrap_or_default();
    }
    all
}

#[test]
fn txn_answers_that_differ_from_the_request_are_protocol_errors_not_anomalies() {
    require_root!();
    let _guard = ClusterGuard("tx1");
    let dir = tempfile::tempdir().unwrap();
    let test = Toy {
        workload: "{name: list-append, keys: 4, min-txn-len: 2, max-txn-len: 4}",
        db: TXN_DB,
        start: "/usr/bin/python3 DB {host} 7701",
        ready: "nc -z {host} 7701",
        client: TXN_CLIENT,
        concurrency: 6,
        rate: 120,
        ..register_toy("tx1", "10.77.210.0")
    }
    .write(dir.path());
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    // The store is correct: what the clients changed is theirs, not the
    // database's, and never an anomaly.
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("VALID"), "{stdout}");
    let run = latest_run(dir.path());
    let clients = client_stderr(&run);
    for why in [
        "missing",
        "extra",
        "reordered",
        "read without a value",
        "append changed",
        "read of the wrong type",
    ] {
        assert!(
            clients.contains(&format!("corrupting: {why}")),
            "no client did {why:?}"
        );
    }
    // Warned about, naming the client, the op and its stderr file.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("protocol error"))
        .filter(|l| !l.contains("more protocol error(s)"))
        .collect();
    assert!(!warnings.is_empty(), "{stderr}");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("/clients/process-") && w.contains("txn")),
        "{warnings:#?}"
    );
    // No ok txn in the history differs in shape from its request: each
    // corrupted answer is an info op, and the client was replaced.
    let ops = history(&run);
    let mut invoked: std::collections::HashMap<u64, serde_json::Value> = Default::default();
    let mut protocol_infos = 0;
    for op in &ops {
        let Some(p) = op["process"].as_u64() else {
            continue;
        };
        match op["type"].as_str().unwrap() {
            "invoke" => {
                invoked.insert(p, op["value"].clone());
            }
            "ok" => {
                let req = invoked[&p].as_array().unwrap();
                let got = op["value"].as_array().unwrap();
                assert_eq!(req.len(), got.len(), "{op}");
                for (r, g) in req.iter().zip(got) {
                    assert_eq!(r[0], g[0], "{op}");
                    assert_eq!(r[1], g[1], "{op}");
                    if r[0] == "append" {
                        assert_eq!(r[2], g[2], "{op}");
                    } else {
                        assert!(g[2].is_array(), "{op}");
                    }
                }
            }
            "info"
                if op["error"]
                    .as_str()
                    .unwrap_or("")
                    .contains("protocol error") =>
            {
                protocol_infos += 1;
            }
            _ => {}
        }
    }
    assert!(protocol_infos >= 6, "{protocol_infos} protocol errors");
}

#[test]
fn register_answers_of_the_wrong_shape_extra_lines_and_stray_lines_are_protocol_errors() {
    require_root!();
    let _guard = ClusterGuard("tx2");
    let dir = tempfile::tempdir().unwrap();
    let test = register_toy("tx2", "10.77.211.0").write(dir.path());
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let run = latest_run(dir.path());
    let clients = client_stderr(&run);
    for way in ["another value", "a string", "twice", "stray"] {
        assert!(clients.contains(&format!("misbehaving: {way}")), "{way}");
    }
    for what in [
        "protocol error in the answer to write",
        "protocol error in the answer to read",
        "a second line after its reply",
        "when no request was outstanding",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("warning:") && l.contains(what) && l.contains("stderr: ")),
            "no warning {what:?} in:\n{stderr}"
        );
    }
    // No read is a string and no write is acknowledged with another value.
    let mut invoked: std::collections::HashMap<u64, serde_json::Value> = Default::default();
    for op in history(&run) {
        let Some(p) = op["process"].as_u64() else {
            continue;
        };
        match op["type"].as_str().unwrap() {
            "invoke" => {
                invoked.insert(p, op["value"].clone());
            }
            "ok" if op["f"] == "read" => {
                assert!(op["value"].is_i64() || op["value"].is_null(), "{op}")
            }
            "ok" => assert_eq!(op["value"], invoked[&p], "{op}"),
            _ => {}
        }
    }
}

#[test]
fn a_start_command_that_daemonizes_is_refused_and_nothing_it_made_survives() {
    require_root!();
    let _guard = ClusterGuard("tx3");
    let marker = "/opt/shakedown-tx3/db.py";
    for start in [
        // The start command returns at once, its database in a session of
        // its own (what `--daemonize yes` and `pg_ctl start` do).
        "setsid /usr/bin/python3 DB {host} 7700 > /dev/null 2>&1 &",
        // The start command stays, but its database left its session.
        "setsid /usr/bin/python3 DB {host} 7700 > /dev/null 2>&1 & exec sleep 600",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let test = Toy {
            start,
            client: REG_CLIENT_PLAIN,
            ..register_toy("tx3", "10.77.212.0")
        }
        .write(dir.path());
        let out = run(&test, dir.path());
        let (stdout, stderr) = text(&out);
        let left = processes_with(marker);
        kill_processes_with(marker);
        assert_eq!(out.status.code(), Some(3), "{start}: {stdout}\n{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains("n1"), "{stderr}");
        assert!(errors[0].contains("foreground"), "{stderr}");
        assert!(left.is_empty(), "{start}: left running: {left:?}");
        assert!(running_under("tx3").is_empty());
    }
}

/// The register client without misbehaviour.
const REG_CLIENT_PLAIN: &str = r#"
import json, os, socket, sys
sock = socket.create_connection((os.environ["SHAKEDOWN_HOST"], 7700), timeout=2)
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

/// Kills the child when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_this_run_did_not_start_is_never_tested() {
    require_root!();
    let _guard = ClusterGuard("tx4");
    let dir = tempfile::tempdir().unwrap();
    let up = shakedown()
        .args(["cluster", "up", "--name", "tx4", "--nodes", "1", "--subnet"])
        .arg("10.77.213.0")
        .output()
        .unwrap();
    assert!(up.status.success(), "{:?}", text(&up));
    let node = common::nodes("tx4").nodes[0].clone();
    // Another program already serves on the node's port.
    std::fs::write(dir.path().join("foreign.py"), TOY_DB).unwrap();
    let foreign = KillOnDrop(
        Command::new("ip")
            .args(["netns", "exec", node.netns.as_deref().unwrap()])
            .arg("/usr/bin/python3")
            .arg(dir.path().join("foreign.py"))
            .args([&node.host, "7700", "tx4-foreign"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let probe = format!("nc -z {} 7700", node.host);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !Command::new("ip")
        .args([
            "netns",
            "exec",
            node.netns.as_deref().unwrap(),
            "sh",
            "-c",
            &probe,
        ])
        .status()
        .unwrap()
        .success()
    {
        assert!(std::time::Instant::now() < deadline, "foreign server up");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The database cannot bind, but its start command lives on: without the
    // check the ready probe is answered by the foreign server and the run
    // tests it.
    let test = Toy {
        start: "/usr/bin/python3 DB {host} 7700; exec sleep 600",
        client: REG_CLIENT_PLAIN,
        ..register_toy("tx4", "10.77.213.0")
    }
    .write(dir.path());
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("n1"), "{stderr}");
    assert!(errors[0].contains("already"), "{stderr}");
    assert!(errors[0].contains("7700"), "{stderr}");
    // Nothing was started, and the foreign server was left alone.
    assert!(
        !processes_with("tx4-foreign").is_empty(),
        "the foreign server was killed"
    );
    assert!(processes_with("/opt/shakedown-tx4/db.py").is_empty());
    drop(foreign);
}

#[test]
fn an_exec_client_dies_with_its_whole_process_group() {
    require_root!();
    let _guard = ClusterGuard("tx5");
    let dir = tempfile::tempdir().unwrap();
    // A wrapper script that leaves a child of its own behind, and does not
    // exec the client (so the client is its child too).
    std::fs::write(
        dir.path().join("wrapper.sh"),
        "/usr/bin/python3 -c 'import time; time.sleep(600)' tx5-leftover &\n/usr/bin/python3 client.py\n",
    )
    .unwrap();
    let test = Toy {
        client: REG_CLIENT_PLAIN,
        command: "[/bin/sh, wrapper.sh]",
        concurrency: 2,
        ..register_toy("tx5", "10.77.214.0")
    }
    .write(dir.path());
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    let left = processes_with("tx5-leftover");
    kill_processes_with("tx5-leftover");
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
fn each_run_keeps_its_own_logs_all_of_them_and_never_over_process_log() {
    require_root!();
    let _guard = ClusterGuard("tx6");
    let ext = "/var/lib/shakedown/tx6-outside.log";
    let _ = std::fs::remove_file(ext);
    let dir = tempfile::tempdir().unwrap();
    let test = Toy {
        start: "echo run-$$ >> /var/lib/shakedown/tx6-outside.log; mkdir -p a b; echo from-a > a/out.log; echo from-b > b/out.log; echo user-process-log > process.log; exec /usr/bin/python3 DB {host} 7700",
        client: REG_CLIENT_PLAIN,
        extra: "  logs: [\"{data}/a/out.log\", \"{data}/b/out.log\", \"{data}/process.log\", /var/lib/shakedown/tx6-outside.log]\n",
        concurrency: 2,
        ..register_toy("tx6", "10.77.215.0")
    }
    .write(dir.path());
    for round in 0..2 {
        let out = run(&test, dir.path());
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{round}: {stdout}\n{stderr}");
        std::thread::sleep(std::time::Duration::from_millis(1100)); // a new run directory
    }
    let _ = std::fs::remove_file(ext);
    let node_dir = latest_run(dir.path()).join("n1");
    let read = |name: &str| std::fs::read_to_string(node_dir.join(name)).unwrap_or_default();
    // shakedown's own copy of the database's output: this run's only.
    let own = read("process.log");
    assert_eq!(own.matches("toydb listening").count(), 1, "{own}");
    assert!(!own.contains("user-process-log"), "{own}");
    assert_eq!(read("tx6-outside.log").matches("run-").count(), 1);
    // Every log kept, each under its own name.
    let mut all = String::new();
    for e in std::fs::read_dir(&node_dir).unwrap().flatten() {
        all += &std::fs::read_to_string(e.path()).unwrap_or_default();
    }
    for want in ["from-a", "from-b", "user-process-log"] {
        assert!(
            all.contains(want),
            "{want} not kept in {}",
            node_dir.display()
        );
    }
}

#[test]
fn placeholders_where_none_are_expanded_are_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let test = Toy {
        client: REG_CLIENT_PLAIN,
        ..register_toy("tx7", "10.77.216.0")
    }
    .write(dir.path());
    let yaml = std::fs::read_to_string(&test).unwrap();
    for (from, to, field, word) in [
        (
            "to: /opt/shakedown-tx7/db.py",
            "to: \"/opt/shakedown-tx7/{node}/db.py\"",
            "target.files[0].to",
            "{node}",
        ),
        (
            "{from: db.py",
            "{from: \"{node}.py\"",
            "target.files[0].from",
            "{node}",
        ),
        (
            "client.py]",
            "client.py, \"{host}\"]",
            "target.client.command",
            "{host}",
        ),
        (
            "client.py]",
            "client.py, \"--port={prot}\"]",
            "target.client.command",
            "{prot}",
        ),
        (
            "client.py]",
            "client.py]\n    env: {DB_HOST: \"{host}\"}",
            "target.client.env.DB_HOST",
            "{host}",
        ),
    ] {
        assert!(yaml.contains(from), "{from}");
        std::fs::write(&test, yaml.replace(from, to)).unwrap();
        if to.contains("{node}.py") {
            std::fs::write(dir.path().join("{node}.py"), "").unwrap();
        }
        let out = run(&test, dir.path());
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{to}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(word),
            "{to}: expected {field} and {word} in {stderr}"
        );
    }
    assert!(!Path::new(&harness::control::local::nodes_file("tx7")).exists());
}
