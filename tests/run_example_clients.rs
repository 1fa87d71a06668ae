//! The example exec clients (`examples/clients/`, Python and Go) against
//! the toy database they are written for, on a local cluster: every client
//! on every workload it serves must be VALID, each run having recorded
//! successful operations of every kind the workload has (a run that
//! observed nothing is not VALID). The Python register run is
//! `examples/clients/test.yaml` as a user runs it.
//!
//! Needs root (network namespaces, sshd); the Go test needs `go`
//! (Debian's golang-go, which `scripts/setup` installs). Clusters cl1
//! (10.77.217.0) and cl2 (10.77.218.0).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{shakedown, text, ClusterGuard};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/clients")
}

/// Each workload and the example client that serves it.
const WORKLOADS: &[(&str, &str)] = &[
    ("register", "register"),
    ("set", "set"),
    ("list-append", "txn"),
    ("rw-register", "txn"),
    ("long-fork", "txn"),
    ("bank", "bank"),
    ("counter", "counter"),
    ("queue", "queue"),
    ("unique-ids", "unique_ids"),
];

/// A test file for `workload` driven by `client` (its command as YAML).
fn test_file(dir: &Path, cluster: &str, subnet: &str, workload: &str, client: &str) -> PathBuf {
    let toydb = examples().join("toydb.py");
    let yaml = format!(
        "name: {cluster}-{workload}
target:
  name: process
  packages: [python3, netcat-openbsd]
  files: [{{from: {toydb}, to: /opt/shakedown-{cluster}/toydb.py}}]
  start: /usr/bin/python3 /opt/shakedown-{cluster}/toydb.py {{host}} 7800
  ready: nc -z {{host}} 7800
  ready-timeout: 10s
  client:
    command: {client}
cluster: {{local: 1, name: {cluster}, subnet: {subnet}}}
workload: {{name: {workload}}}
concurrency: 3
rate: 100
time-limit: 3s
recovery-time: 0s
nemesis: {{faults: []}}
",
        toydb = toydb.display()
    );
    let path = dir.join(format!("{workload}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    shakedown().arg("run").args(args).output().unwrap()
}

/// The run's history: every `f` with at least one `ok` completion.
fn ok_functions(results: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(results.join("latest")).unwrap();
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    let mut fs: Vec<String> = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|op| op["type"] == "ok" && op["process"].is_number())
        .map(|op| op["f"].as_str().unwrap().to_string())
        .collect();
    fs.sort();
    fs.dedup();
    fs
}

/// What each workload's clients must have done successfully.
fn expected_functions(workload: &str) -> &'static [&'static str] {
    match workload {
        "register" => &["cas", "read", "write"],
        "set" => &["add", "read"],
        "list-append" | "rw-register" | "long-fork" => &["txn"],
        "bank" => &["init", "read", "transfer"],
        "counter" => &["add", "read"],
        "queue" => &["dequeue", "drain", "enqueue"],
        "unique-ids" => &["generate"],
        _ => unreachable!(),
    }
}

fn assert_valid(out: &Output, workload: &str, results: &Path) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(0), "{workload}\n{stdout}\n{stderr}");
    assert!(stdout.contains("VALID"), "{workload}\n{stdout}");
    let fs = ok_functions(results);
    for f in expected_functions(workload) {
        assert!(fs.iter().any(|x| x == f), "{workload}: no ok {f} in {fs:?}");
    }
}

fn run_every_workload(cluster: &str, subnet: &str, client: impl Fn(&str) -> String) {
    let dir = tempfile::tempdir().unwrap();
    for (workload, file) in WORKLOADS {
        let test = test_file(dir.path(), cluster, subnet, workload, &client(file));
        let results = dir.path().join(format!("results-{workload}"));
        let out = run(&[
            test.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ]);
        assert_valid(&out, workload, &results);
    }
}

#[test]
fn the_python_clients_are_valid_on_every_workload() {
    require_root!();
    let _guard = ClusterGuard("cl1");
    // The example test file as a user runs it, moved to this test's cluster.
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let test = examples().join("test.yaml");
    let out = run(&[
        test.to_str().unwrap(),
        "--cluster",
        "cl1",
        "--subnet",
        "10.77.217.0",
        "--time-limit",
        "3s",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_valid(&out, "register", &results);
    let python = examples().join("python");
    run_every_workload("cl1", "10.77.217.0", |file| {
        format!("[/usr/bin/python3, {}/{file}.py]", python.display())
    });
}

#[test]
fn the_go_clients_are_valid_on_every_workload() {
    require_root!();
    let _guard = ClusterGuard("cl2");
    let bin = tempfile::tempdir().unwrap();
    let build = Command::new("go")
        .args(["build", "-o"])
        .arg(format!("{}/", bin.path().display()))
        .arg("./...")
        .current_dir(examples().join("go"))
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .output()
        .expect("go (apt-get install golang-go)");
    assert!(build.status.success(), "go build: {:?}", text(&build));
    let bin = bin.path().to_path_buf();
    run_every_workload("cl2", "10.77.218.0", |file| {
        format!("[{}/{file}]", bin.display())
    });
}
