//! The `process` target and the exec client protocol, end to end: a toy
//! database written here (a register store over TCP, in Python) runs on a
//! local cluster under shakedown's pid file and is driven by an exec client
//! (also Python). A correct store is VALID; one that acknowledges writes
//! before applying them is INVALID with the stale read named. Clients that
//! print garbage, exit, hang or answer with an unknown type give `info`
//! operations and warnings, and the run goes on. A database that does not
//! start exits 3 with one line naming the node and its log, and nothing is
//! left running. And the README's Redis example, under kill and pause.
//!
//! Needs root (network namespaces, sshd); skipped with a message
//! otherwise. Each test has its own cluster name and subnet (10.77.160-169).

use harness::control::local;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{running_under, shakedown, text, ClusterGuard, TOY_DB};

/// The exec client for the toy store. `TOY_MISBEHAVE=1` makes the client
/// of every process misbehave on its third operation, in one of four
/// ways chosen by its process id: garbage, exit, hang, unknown type.
const TOY_CLIENT: &str = r#"
import json, os, socket, sys, time
sock = socket.create_connection((os.environ["SHAKEDOWN_HOST"], 7700), timeout=2)
reader = sock.makefile("rb")
process = int(os.environ["SHAKEDOWN_PROCESS"])
misbehave = os.environ.get("TOY_MISBEHAVE") == "1"
assert os.environ["SHAKEDOWN_WORKLOAD"] == "register"
assert os.environ["SHAKEDOWN_NODES"] and os.environ["SHAKEDOWN_HOSTS"]
for n, line in enumerate(sys.stdin):
    op = json.loads(line)
    if misbehave and n == 2:
        way = process % 4
        print("misbehaving:", ["garbage", "exit", "hang", "type"][way], file=sys.stderr, flush=True)
        if way == 0:
            print("this is not json", flush=True)
            continue
        if way == 1:
            sys.exit(3)
        if way == 2:
            time.sleep(3600)
        print(json.dumps({"type": "perhaps"}), flush=True)
        continue
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

/// Writes the toy database, its client and a test file into `dir`;
/// `client_extra` is YAML added under `client:`.
fn toy_test(dir: &Path, cluster: &str, subnet: &str, db_args: &str, client_extra: &str) -> PathBuf {
    std::fs::write(dir.join("toydb.py"), TOY_DB).unwrap();
    std::fs::write(dir.join("toy_client.py"), TOY_CLIENT).unwrap();
    let yaml = format!(
        "name: toy-{cluster}
target:
  name: process
  packages: [python3, netcat-openbsd]
  files:
    - {{from: toydb.py, to: /opt/shakedown-{cluster}/toydb.py}}
  install: \"test -f /opt/shakedown-{cluster}/toydb.py\"
  start: \"/usr/bin/python3 /opt/shakedown-{cluster}/toydb.py {{host}} 7700 {db_args}\"
  ready: \"nc -z {{host}} 7700\"
  ready-timeout: 10s
  client:
    command: [/usr/bin/python3, toy_client.py]
{client_extra}cluster: {{local: 1, name: {cluster}, subnet: {subnet}}}
workload: {{name: register, keys: 3, values: 20}}
concurrency: 4
rate: 150
time-limit: 6s
op-timeout: 1s
recovery-time: 0s
nemesis: {{faults: []}}
"
    );
    let path = dir.join("test.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `shakedown run TEST --results DIR/results`.
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

#[test]
fn a_correct_toy_database_is_valid() {
    require_root!();
    let _guard = ClusterGuard("tproc1");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path(), "tproc1", "10.77.160.0", "", "");
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("VALID"), "{stdout}");
    let run = latest_run(dir.path());
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let ok = history.matches("\"type\":\"ok\"").count();
    assert!(ok > 200, "only {ok} ok ops");
    // Each op names the node that served it; the daemon's output is kept.
    assert!(history.contains("\"node\":\"n1\""));
    let log = std::fs::read_to_string(run.join("n1/process.log")).unwrap();
    assert!(log.contains("toydb listening"), "{log}");
    assert!(
        running_under("tproc1").is_empty(),
        "the database was left running"
    );
}

#[test]
fn a_toy_database_that_acknowledges_before_applying_is_invalid_with_the_stale_read() {
    require_root!();
    let _guard = ClusterGuard("tproc2");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path(), "tproc2", "10.77.161.0", "--ack-early", "");
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("INVALID"), "{stdout}");
    let results = std::fs::read_to_string(latest_run(dir.path()).join("results.json")).unwrap();
    let results: serde_json::Value = serde_json::from_str(&results).unwrap();
    let lin = &results["checkers"][0]["result"];
    let text = lin.to_string();
    // The evidence names a read that cannot be linearized.
    assert!(text.contains("cannot be linearized"), "{text}");
    assert!(text.contains("read"), "{text}");
    assert!(
        running_under("tproc2").is_empty(),
        "the database was left running"
    );
}

#[test]
fn misbehaving_clients_give_info_ops_and_warnings_and_the_run_goes_on() {
    require_root!();
    let _guard = ClusterGuard("tproc3");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(
        dir.path(),
        "tproc3",
        "10.77.162.0",
        "",
        "    env: {TOY_MISBEHAVE: \"1\"}\n",
    );
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    // The store is correct: unknown outcomes never make it invalid.
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let run = latest_run(dir.path());
    // Every way of misbehaving was met, recorded as info, and warned about
    // naming the client and its stderr file.
    for what in [
        "not a reply line",
        "the client exited (exit status: 3)",
        "no answer to",
        "unknown reply type \"perhaps\"",
    ] {
        assert!(stderr.contains(what), "no warning {what:?} in:\n{stderr}");
    }
    assert!(stderr.contains("stderr: "), "{stderr}");
    assert!(stderr.contains("/clients/process-"), "{stderr}");
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    assert!(history.contains("unknown reply type"), "info op error kept");
    // The workers went on under fresh process ids, and nothing was lost:
    // the history is complete (every invocation completed) and checks.
    let check = shakedown()
        .arg("check")
        .arg(run.join("history.jsonl"))
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{:?}", text(&check));
    let processes: std::collections::BTreeSet<u64> = history
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|op| op["process"].as_u64())
        .collect();
    assert!(processes.len() >= 8, "no fresh processes: {processes:?}");
    // A client's stderr is in the run directory.
    let stderr_files = std::fs::read_dir(run.join("clients")).unwrap().count();
    assert!(stderr_files >= 8, "{stderr_files} stderr files");
    assert!(
        running_under("tproc3").is_empty(),
        "the database was left running"
    );
}

#[test]
fn a_database_that_does_not_start_or_never_gets_ready_exits_3_naming_node_and_log() {
    require_root!();
    let _guard = ClusterGuard("tproc4");
    let dir = tempfile::tempdir().unwrap();
    // The start command fails at once.
    let test = toy_test(dir.path(), "tproc4", "10.77.166.0", "", "");
    let broken = std::fs::read_to_string(&test)
        .unwrap()
        .replace("toydb.py {host} 7700 ", "toydb.py {host} not-a-port ");
    std::fs::write(&test, broken).unwrap();
    let out = run(&test, dir.path());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("n1"), "{stderr}");
    assert!(errors[0].contains("ValueError"), "no log tail in: {stderr}");
    assert!(
        running_under("tproc4").is_empty(),
        "something was left running"
    );

    // The database runs but the ready probe never succeeds.
    let test = toy_test(dir.path(), "tproc4", "10.77.166.0", "", "");
    let never = std::fs::read_to_string(&test)
        .unwrap()
        .replace("nc -z {host} 7700", "nc -z {host} 7799")
        .replace("ready-timeout: 10s", "ready-timeout: 2s");
    std::fs::write(&test, never).unwrap();
    let out = run(&test, dir.path());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("n1"), "{stderr}");
    assert!(errors[0].contains("ready probe"), "{stderr}");
    assert!(
        errors[0].contains("toydb listening"),
        "no log tail in: {stderr}"
    );
    assert!(
        running_under("tproc4").is_empty(),
        "the database was left running"
    );
}

#[test]
fn bad_process_settings_are_refused_before_any_node_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path(), "tproc5", "10.77.167.0", "", "");
    let yaml = std::fs::read_to_string(&test).unwrap();
    for (from, to, expect) in [
        (
            "toydb.py {host}",
            "toydb.py {hots}",
            "unknown placeholder {hots}",
        ),
        (
            "{from: toydb.py",
            "{from: missing.py",
            "missing.py is not a file",
        ),
        (
            "toy_client.py]",
            "toy_client.py]\n    comand: x",
            "unknown field",
        ),
        ("[/usr/bin/python3", "[./no-such-client", "does not exist"),
        ("ready-timeout: 10s", "ready-timeout: 1e20", "at most"),
        (
            "  ready-timeout: 10s",
            "  workloads: [set]\n  ready-timeout: 10s",
            "has no client",
        ),
    ] {
        std::fs::write(&test, yaml.replace(from, to)).unwrap();
        let out = run(&test, dir.path());
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{to}: {stderr}");
        assert!(
            stderr.contains(expect),
            "{to}: expected {expect:?} in {stderr}"
        );
        assert!(stderr.contains("test.yaml"), "{stderr}");
    }
    // Nothing was built: the cluster was never asked for.
    assert!(!Path::new(&local::nodes_file("tproc5")).exists());
}

#[test]
fn the_readme_redis_example_is_valid_under_kill_and_pause() {
    require_root!();
    for (example, cluster) in [("register", "redisreg"), ("set", "redisset")] {
        let _guard = ClusterGuard(cluster);
        let dir = tempfile::tempdir().unwrap();
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/redis-process")
            .join(format!("{example}.yaml"));
        let out = shakedown()
            .args(["run", "--time-limit", "15s", "--results"])
            .arg(dir.path())
            .arg(&file)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{example}: {stdout}\n{stderr}");
        let run = std::fs::canonicalize(dir.path().join("latest")).unwrap();
        let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
        // The faults really happened: a kill or a pause took effect.
        let injected = history.lines().any(|l| {
            l.contains("\"process\":\"nemesis\"")
                && (l.contains("\"result\":\"killed\"") || l.contains("\"result\":\"paused\""))
        });
        assert!(injected, "{example}: no fault took effect");
        assert!(running_under(cluster).is_empty(), "redis was left running");
    }
}

#[test]
fn a_run_that_asked_for_faults_and_injected_none_is_unknown_not_valid() {
    require_root!();
    let _guard = ClusterGuard("tproc6");
    let dir = tempfile::tempdir().unwrap();
    let test = toy_test(dir.path(), "tproc6", "10.77.169.0", "", "");
    // The process target names no primaries, so every "partition the
    // primary" step fails: the database is fine, but nothing was tested
    // under faults.
    let yaml = std::fs::read_to_string(&test).unwrap().replace(
        "nemesis: {faults: []}",
        "nemesis: {faults: [partition], interval: 1, partition: {modes: [primaries]}}",
    );
    assert!(yaml.contains("primaries"));
    std::fs::write(&test, yaml).unwrap();
    let out = run(&test, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("UNKNOWN"), "{stdout}");
    assert!(
        stderr.contains("asked for faults (partition) but none took effect"),
        "{stderr}"
    );
    let results = std::fs::read_to_string(latest_run(dir.path()).join("results.json")).unwrap();
    assert!(
        results.contains("none took effect"),
        "the reason is in results.json"
    );
}
