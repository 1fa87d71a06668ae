//! The process target's `user:` and its log, end to end on a local
//! cluster: the database (the toy register store) runs as the user, in a
//! `{data}` it owns, restarts after a kill as that user too (and without
//! faults is VALID, serving as that user); each run's
//! `<node>/process.log` holds that run's output only; a user missing on the
//! node is refused naming the node and the user, with nothing left running.
//!
//! Needs root (network namespaces, sshd); skipped with a message
//! otherwise. Cluster nc2, subnet 10.77.249.0/24.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{running_under, shakedown, text, ClusterGuard, TOY_DB};

/// The toy store started as `user`, its start command first printing who
/// it runs as and who owns `{data}` (into process.log).
fn test_file(dir: &Path, name: &str, user: &str, nemesis: &str) -> PathBuf {
    std::fs::write(dir.join("toydb.py"), TOY_DB).unwrap();
    std::fs::write(dir.join("client.py"), CLIENT).unwrap();
    let yaml = format!(
        "name: {name}
target:
  name: process
  packages: [python3, netcat-openbsd]
  files:
    - {{from: toydb.py, to: /opt/shakedown-nc2/toydb.py}}
  user: {user}
  start: \"echo started as $(id -un) in $(pwd), data owned by $(stat -c %U {{data}}); touch {{data}}/written && exec /usr/bin/python3 /opt/shakedown-nc2/toydb.py {{host}} 7700\"
  ready: \"nc -z {{host}} 7700\"
  ready-timeout: 10s
  client:
    command: [/usr/bin/python3, client.py]
cluster: {{local: 1, name: nc2, subnet: 10.77.249.0}}
workload: {{name: register, keys: 3, values: 20}}
concurrency: 3
rate: 100
time-limit: 6s
op-timeout: 1s
recovery-time: 1s
nemesis: {nemesis}
"
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    path
}

const CLIENT: &str = r#"
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

fn run(test: &Path, dir: &Path) -> Output {
    shakedown()
        .arg("run")
        .arg(test)
        .arg("--results")
        .arg(dir.join("results"))
        .output()
        .unwrap()
}

fn latest_log(dir: &Path) -> String {
    let run = std::fs::canonicalize(dir.join("results/latest")).unwrap();
    std::fs::read_to_string(run.join("n1/process.log")).unwrap()
}

#[test]
fn the_database_runs_as_its_user_and_each_run_keeps_its_own_log() {
    require_root!();
    let _guard = ClusterGuard("nc2");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // Under kills: started and restarted as `nobody`, {data} its own.
    // The toy store keeps its data in memory, so a kill loses it and the
    // verdict may be INVALID (exit 1): who the database runs as is what
    // this run is for; the run must finish and have killed it.
    let test = test_file(dir, "as-nobody", "nobody", "{faults: [kill], interval: 2}");
    let out = run(&test, dir);
    let (stdout, stderr) = text(&out);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("as-nobody  "), "{stdout}");
    let run_dir = std::fs::canonicalize(dir.join("results/latest")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("results.json")).unwrap())
            .unwrap();
    let faults: Vec<&str> = summary["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(faults.contains(&"kill"), "{faults:?}");
    let log = latest_log(dir);
    let starts: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("started as"))
        .collect();
    assert!(
        starts.len() >= 2,
        "killed and restarted at least once: {log}"
    );
    for s in &starts {
        assert!(
            s.starts_with("started as nobody in ")
                && s.ends_with("/process/data, data owned by nobody"),
            "{s}"
        );
    }
    assert!(
        running_under("nc2").is_empty(),
        "the database was left running"
    );

    // The next run on the same cluster: its log has its own start only.
    let test = test_file(dir, "again", "nobody", "{faults: []}");
    let out = run(&test, dir);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("again  VALID"), "{stdout}");
    let log = latest_log(dir);
    let starts = log.lines().filter(|l| l.starts_with("started as")).count();
    assert_eq!(starts, 1, "only this run's output: {log}");
    assert!(log.contains("toydb listening"), "{log}");

    // A user the node lacks: refused before the database starts.
    let test = test_file(dir, "no-user", "shakedown-no-such-user", "{faults: []}");
    let out = run(&test, dir);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("target.user: no user \"shakedown-no-such-user\" on node n1"),
        "{stderr}"
    );
    assert!(errors[0].contains("useradd"), "{stderr}");
    assert!(
        running_under("nc2").is_empty(),
        "something was left running"
    );
}
