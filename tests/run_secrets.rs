//! Secrets in a test file never reach the run directory (which `serve`
//! publishes), and bad settings stop `shakedown run` before any node is
//! touched. The secrets test runs etcd on a one-node local cluster (`cfg2`
//! on 10.77.146.0/24) and needs root; it is skipped with a message
//! otherwise.

use harness::control::{local, Nodes};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

const CLUSTER: &str = "cfg2";

/// Tears the cluster down (and an etcd a failed run left) at the end.
struct ClusterGuard;

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Ok(nodes) = Nodes::load(&local::nodes_file(CLUSTER)) {
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
            .args(["cluster", "down", "--name", CLUSTER])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn no_secret_of_the_test_file_is_in_the_run_directory() {
    if !local::is_root() {
        eprintln!("SKIPPED: needs root (a local cluster running etcd)");
        return;
    }
    let _guard = ClusterGuard;
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("secret.yaml");
    // A local cluster ignores `ssh:`; the test file still carries the
    // secrets, as a file written for real machines would.
    std::fs::write(
        &test,
        "name: secrets
target: etcd
cluster: {local: 1, name: cfg2, subnet: 10.77.146.0}
ssh:
  sudo-password: {value: hunter2-sudo}
  auth:
    method: password
    password:
      value: 'hunter2-login'
workload: {name: register, keys: 2}
concurrency: 2
rate: 50
time-limit: 2s
recovery-time: 0
",
    )
    .unwrap();
    let results = dir.path().join("results");
    let out = shakedown()
        .args(["run", test.to_str().unwrap(), "--results"])
        .arg(&results)
        .env("SHAKEDOWN_LOG", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));

    let run = std::fs::canonicalize(results.join("latest")).unwrap();
    let mut all = Vec::new();
    files(&run, &mut all);
    let names: Vec<String> = all
        .iter()
        .map(|p| p.strip_prefix(&run).unwrap().display().to_string())
        .collect();
    for f in [
        "test.yaml",
        "results.json",
        "shakedown.log",
        "history.jsonl",
    ] {
        assert!(names.iter().any(|n| n == f), "{f} missing: {names:?}");
    }
    for p in &all {
        let bytes = std::fs::read(p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hunter2"), "a secret in {}", p.display());
    }
    let copy = std::fs::read_to_string(run.join("test.yaml")).unwrap();
    assert!(
        copy.contains("sudo-password: {value: \"<redacted>\"}"),
        "{copy}"
    );
    assert!(copy.contains("method: password"), "{copy}");
}

/// Settings that panicked (exit 101) or were refused only after etcd had
/// started on every node: exit 3 at once, naming the line, no cluster
/// built (the cluster name is never created).
#[test]
fn bad_settings_exit_3_before_any_node() {
    let dir = tempfile::tempdir().unwrap();
    for (setting, line, want) in [
        ("time-limit: 1e20", 5, "at most 604800 s (a week)"),
        ("time-limit: 0", 5, "more than 0"),
        ("op-timeout: 1e20", 5, "at most 604800 s (a week)"),
        ("op-timeout: 0", 5, "more than 0"),
        ("rate: 1e-300", 5, "expected ops/s from 0.001"),
        (
            "nemesis: {faults: [partition], interval: 0}",
            5,
            "from 0.01 to 86400",
        ),
        (
            "nemesis: {faults: [partition], interval: 1e300}",
            5,
            "found 1e300",
        ),
        (
            "nemesis: {faults: [partition], partition: {grudge: {n1: [n7]}}}",
            5,
            "\"n7\"",
        ),
        (
            "nemesis: {faults: [packet], packet: {loss: 3}}",
            5,
            "a fraction",
        ),
    ] {
        let test = dir.path().join("bad.yaml");
        std::fs::write(
            &test,
            format!(
                "name: bad\ntarget: etcd\ncluster: {{local: 3, name: cfgnever}}\nworkload: {{name: register}}\n{setting}\n"
            ),
        )
        .unwrap();
        let out = shakedown()
            .args(["run", test.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{setting}: {stderr}");
        assert!(stderr.contains(want), "{setting}: {stderr}");
        assert!(
            stderr.contains(&format!("line {line}")),
            "{setting}: {stderr}"
        );
        assert!(!stderr.contains("local cluster"), "{setting}: {stderr}");
    }
    // The CLI override too.
    let test = dir.path().join("ok.yaml");
    std::fs::write(
        &test,
        "name: ok\ntarget: etcd\ncluster: {local: 3, name: cfgnever}\nworkload: {name: register}\n",
    )
    .unwrap();
    for (flag, value, want) in [
        ("--time-limit", "1e20", "at most 604800 s (a week)"),
        (
            "--time-limit",
            "100000000000000000000",
            "at most 604800 s (a week)",
        ),
        ("--time-limit", "30d", "unknown unit"),
        ("--time-limit", "1e9", "at most 604800 s (a week)"),
        (
            "--time-limit",
            "0",
            "time-limit: expected more than 0 and at most 7 days",
        ),
        ("--rate", "1e-300", "rate: expected ops/s"),
    ] {
        let out = shakedown()
            .args(["run", test.to_str().unwrap(), flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(2) | Some(3)),
            "{flag} {value}: {:?} {stderr}",
            out.status
        );
        assert!(stderr.contains(want), "{flag} {value}: {stderr}");
    }
    assert!(!local::nodes_file("cfgnever").exists());
}
